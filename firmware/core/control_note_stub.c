/*
 * STAND-IN for H3's control_note (firmware/core/control_local.c), so that
 * the console's logins (console_auth.c) are journaled and reported on this
 * branch. DELETE THIS FILE when control_local.c is merged (and take it out
 * of firmware/core/CMakeLists.txt); the signature is the spec's.
 *
 * A result record the platform receives for something that was not a
 * fleet command: journaled as its own row with the id
 * "console-<wall ms>-<n>", type, state, why and result (taken).
 */
#include <errno.h>
#include <stdio.h>

#include "firmware/base/clock.h"
#include "firmware/core/control_internal.h"

int
control_note(struct control *c, const char *type, const char *state,
    const char *why, json_t *result)
{
	static unsigned n;
	struct store_cmd sc = { 0 };
	struct clock_pair now;

	if (c == NULL) {
		json_decref(result);
		return -ENOTCONN;
	}
	clock_read(&now);
	snprintf(sc.id, sizeof(sc.id), "console-%lld-%u", (long long)now.wall, ++n);
	snprintf(sc.type, sizeof(sc.type), "%s", type);
	sc.verified = 1;
	return control_record(c, &sc, state, why, result, 0);
}
