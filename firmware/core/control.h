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

#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "firmware/base/kconfig.h"
#include "firmware/base/reading.h"

struct gateway;
struct control;

/*
 * Compiled only with CONFIG_CONTROL, so a build without it carries no
 * signature code (mbedtls); without it these do nothing.
 */
#ifdef CONFIG_CONTROL
/* After the store and the forwarder are up. 0 (also with control off) or -errno. */
int control_start(struct gateway *g, struct control **out);
void control_stop(struct control *c);
/* Every reading the collector takes (cheap when nothing is watched). */
void control_reading(struct control *c, const struct reading *r);
/* A cycle is committed; devices_ok of its devices answered. */
void control_cycle(struct control *c, size_t devices_ok);
/* The fleet's key in PEM: 0, or -EINVAL with one line in err. */
int control_key_check(const char *pem, size_t len, char *err, size_t errlen);

/*
 * The technician's console (control_local.c, docs/console.md). Only the
 * console calls these, and it is built only with the control plane, so
 * there are no stand-ins below.
 *
 * control_local: runs a command type the console asked for (config.set,
 * reboot) through the same check, journal and apply as a fleet frame,
 * without signature or sequence (none is spent or raised); its id
 * "console-<wall ms>-<n>" is written to id (idlen >= CMD_ID_MAX + 1, also
 * when it is refused: the refusal is journaled). Its journal row and result
 * records say "source": "console" and "who". 0 (its state is in the
 * journal: store_cmd_get), or -errno with why: the type's check line
 * (rejected), what failed (failed), or why it was not journaled at all.
 * args (a JSON object, or NULL for none) is taken. c NULL: -ENOTSUP.
 *
 * control_note: a result record for something that is not a command (a
 * console login attempt): journaled with id "<type's prefix>-<wall ms>-<n>"
 * ("console-..." for "console.login"), type, state ("applied" success,
 * "rejected" failure), why and result (taken, may be NULL). 0, -EBUSY (more
 * than a burst of them: dropped and counted, so a hammering client cannot
 * wear the card out with synced rows), or -errno.
 */
struct json_t;
int control_local(struct control *c, const char *type, struct json_t *args,
    const char *who, char *id, size_t idlen, char *why, size_t whylen);
int control_note(struct control *c, const char *type, const char *state,
    const char *why, struct json_t *result);
/*
 * Only the type's check of control_local, nothing journaled or run (the
 * console's "config check": would apply take it?). 0, or -errno with why.
 * args is taken.
 */
int control_local_check(struct control *c, const char *type,
    struct json_t *args, char *why, size_t whylen);
#else
static inline int
control_start(struct gateway *g, struct control **out)
{
	(void)g;
	*out = NULL;
	return 0;
}

static inline void control_stop(struct control *c) { (void)c; }

static inline void
control_reading(struct control *c, const struct reading *r)
{
	(void)c;
	(void)r;
}

static inline void
control_cycle(struct control *c, size_t devices_ok)
{
	(void)c;
	(void)devices_ok;
}

static inline int
control_key_check(const char *pem, size_t len, char *err, size_t errlen)
{
	(void)pem;
	(void)len;
	snprintf(err, errlen, "the control plane is not built into this image");
	return -ENOTSUP;
}
#endif

#endif
