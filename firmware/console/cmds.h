/*
 * wattgate-console's table of commands, shared by the dispatcher (cmds.c)
 * and by help and completion (help.c).
 */
#ifndef WG_CONSOLE_CMDS_H
#define WG_CONSOLE_CMDS_H

#include <jansson.h>

struct app;

enum wait { W_SHORT, W_BUS, W_NONE };
enum comp { C_NONE, C_CMD, C_DEVICE, C_BUS, C_CONFIG, C_LOGIN };

struct ccmd {
	const char *name, *usage, *help;
	int min, max;		/* words after the name */
	enum wait wait;
	enum comp comp;		/* what the first argument completes to */
	void (*show)(struct app *a, json_t *d);	/* simple: request = name */
	int (*run)(struct app *a, int argc, char **argv);	/* or its own */
};

extern const struct ccmd cmds_table[];	/* ends with a NULL name */
const struct ccmd *cmds_find(const char *name);
/* The daemon's help entry for name (from hello time), or NULL. */
json_t *cmds_daemon(struct app *a, const char *name);
/* Protocol commands the console runs itself (hello, resume, login.*). */
int cmds_internal(const char *name);
int cmds_help(struct app *a, int argc, char **argv);

#endif
