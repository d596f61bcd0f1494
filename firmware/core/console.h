/*
 * STUB of H1's header (issue 16 spec): the gateway's hooks of the
 * technician console. The merge takes H1's file.
 */
#ifndef WG_CONSOLE_H
#define WG_CONSOLE_H

#include "firmware/base/reading.h"

struct gateway;
struct console;

int console_start(struct gateway *g, struct console **out);
void console_reading(struct console *cs, const struct reading *r);
void console_stop(struct console *cs);

#endif
