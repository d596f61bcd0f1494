/*
 * The fleet's control plane on the gateway (issue 14, docs/commands.md):
 * signed commands in, each journaled in the store with its state, applied at
 * most once, ever; every state change a result record that leaves like a
 * batch (stored, sent, deleted on acknowledgement).
 *
 * On when the site config has a "control" section. The uplink brings the
 * frames (forward_control); the collector tells it about readings and
 * committed cycles, which is how setpoints and new configs are verified.
 */
#ifndef WG_CONTROL_H
#define WG_CONTROL_H

#include <stddef.h>

#include "firmware/base/reading.h"

struct gateway;
struct control;

/* After the store and the forwarder are up. 0 (also with control off) or -errno. */
int control_start(struct gateway *g, struct control **out);
void control_stop(struct control *c);
/* Every reading the collector takes (cheap when nothing is watched). */
void control_reading(struct control *c, const struct reading *r);
/* A cycle is committed; devices_ok of its devices answered. */
void control_cycle(struct control *c, size_t devices_ok);

#endif
