/*
 * Stand-ins for the console's logins (H2: console_auth.c), so the server
 * builds and is tested on its own branch. DELETE THIS FILE when
 * console_auth.c is merged (and take it out of firmware/core/CMakeLists.txt).
 * The actions' stand-ins left with console_act.c (H3).
 */
#include "firmware/core/console_internal.h"

const struct console_cmd console_cmds_auth[] = { { .name = NULL } };

int
console_auth_start(struct console *cs)
{
	cs->auth = NULL;
	return 0;
}

void
console_auth_stop(struct console *cs)
{
	(void)cs;
}
