/*
 * The technician console's control socket (issue 16, docs/console.md): the
 * gateway's hooks. Built with Kconfig CONSOLE; served when the site config
 * has a "console" section. Nothing of the daemon depends on it: a console
 * that cannot start is logged and the daemon polls on without it.
 */
#ifndef WG_CONSOLE_H
#define WG_CONSOLE_H

#include "firmware/base/kconfig.h"
#include "firmware/base/reading.h"

struct gateway;
struct console;

#ifdef CONFIG_CONSOLE
/*
 * After control_start (it needs g->ctl). *out NULL when the section is
 * absent or the socket could not be served (logged); 0, or -ENOMEM.
 */
int console_start(struct gateway *g, struct console **out);
/* Every reading the collector takes (cheap when nobody watches). */
void console_reading(struct console *cs, const struct reading *r);
/* Cancels what runs, says "stopping", closes; after pollers_stop. */
void console_stop(struct console *cs);
#else
static inline int
console_start(struct gateway *g, struct console **out)
{
	(void)g;
	*out = NULL;
	return 0;
}

static inline void
console_reading(struct console *cs, const struct reading *r)
{
	(void)cs;
	(void)r;
}

static inline void console_stop(struct console *cs) { (void)cs; }
#endif

#endif
