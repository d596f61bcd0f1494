/*
 * Stand-ins for the console's actions (H3: console_act.c), so the server
 * builds and is tested on its own branch. DELETE THIS FILE when
 * console_act.c is merged (and take it out of firmware/core/CMakeLists.txt).
 * The logins' stand-ins are gone: console_auth.c (H2) is here.
 */
#include "firmware/core/console_internal.h"

const struct console_cmd console_cmds_act[] = { { .name = NULL } };

int
console_act_start(struct console *cs)
{
	cs->act = NULL;
	return 0;
}

void
console_act_reading(struct console *cs, const struct reading *r)
{
	(void)cs;
	(void)r;
}

void
console_act_stop(struct console *cs)
{
	(void)cs;
}
