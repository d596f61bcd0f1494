/*
 * The "console" section of the site config (docs/console.md, "Site
 * config"): the technician console's socket is served when it is present.
 *
 *   "console": {
 *     "socket": "/run/wattgate/console.sock",  the Unix socket's path
 *     "mode": "0660",           its permission bits (octal string)
 *     "group": "wattgate",      its group; members may connect
 *     "open": ["status"],       read commands that need no login
 *     "idle_s": 600,            a session, or a silent connection, ends
 *     "max_clients": 8,
 *     "lockout_after": 5,       failed logins in a row before a lockout
 *     "lockout_s": 300
 *   }
 *
 * Everything that can be known before the socket is bound is checked here,
 * so --check (and a config.set's check) refuses it: the group must exist, a
 * file in the socket's place that is not a socket is never unlinked, and a
 * world-writable socket has to be asked for by its exact mode.
 */
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "firmware/base/kconfig.h"
#include "firmware/core/config_internal.h"
#ifdef CONFIG_CONSOLE
#include "firmware/core/console_internal.h"
#endif

#define MODE_TEXT_MAX	8

static int
parse_mode(struct jc *x, json_t *o, struct cfg_console *cc)
{
	char text[MODE_TEXT_MAX + 1] = "0660", *end;
	size_t len;
	long v;
	int rc;

	if ((rc = jc_get_str(x, o, "console", "mode", 0, text, sizeof(text))) < 0)
		return rc;
	len = strlen(text);
	v = strtol(text, &end, 8);
	if (len < 3 || len > 4 || *end != '\0' || text[0] == '-' || text[0] == '+')
		return jc_fail(x, "console.mode", "'%s' is not an octal mode like "
		    "\"0660\"", text);
	if (v & ~0777L)
		return jc_fail(x, "console.mode", "%s: only permission bits (at most "
		    "0777) mean something for a socket", text);
	/* Anyone on the system could then connect: only when asked exactly. */
	if ((v & 0002) && v != 0666)
		return jc_fail(x, "console.mode", "%s is world-writable: anyone on "
		    "the system could connect; say \"0666\" if that is meant", text);
	cc->mode = (unsigned)v;
	return 0;
}

static int
parse_socket(struct jc *x, json_t *o, struct cfg_console *cc)
{
	struct stat st;
	int rc;

	snprintf(cc->socket, sizeof(cc->socket), "/run/wattgate/console.sock");
	if ((rc = jc_get_str(x, o, "console", "socket", 0, cc->socket,
	    sizeof(cc->socket))) < 0)
		return rc;
	if (cc->socket[0] != '/')
		return jc_fail(x, "console.socket", "'%s' is not an absolute path",
		    cc->socket);
	/* A stale socket is unlinked at start; anything else is never touched. */
	if (lstat(cc->socket, &st) == 0 && !S_ISSOCK(st.st_mode))
		return jc_fail(x, "console.socket", "%s exists and is not a socket",
		    cc->socket);
	return 0;
}

static int
parse_group(struct jc *x, json_t *o, struct cfg_console *cc)
{
	struct group *gr;
	int rc;

	if ((rc = jc_get_str(x, o, "console", "group", 0, cc->group,
	    sizeof(cc->group))) != 0)
		return rc < 0 ? rc : 0;
	errno = 0;
	if ((gr = getgrnam(cc->group)) == NULL)
		return jc_fail(x, "console.group", "no group '%s' on this system%s%s",
		    cc->group, errno ? ": " : "", errno ? strerror(errno) : "");
	cc->gid = gr->gr_gid;
	return 0;
}

/* Only read-only commands may run without a login (console_internal.h). */
static int
open_allowed(struct jc *x, const char *path, const char *name)
{
#ifdef CONFIG_CONSOLE
	const struct console_cmd *cmd = console_cmd_find(name);

	if (cmd == NULL)
		return jc_fail(x, path, "'%s' is not a console command", name);
	if (cmd->cls == CCLASS_WRITE)
		return jc_fail(x, path, "'%s' changes the gateway: it always needs "
		    "a login; only read commands may be open", name);
	return 0;
#else
	(void)name;
	return jc_fail(x, path, "the console is not built into this image");
#endif
}

static int
parse_open(struct jc *x, json_t *o, struct cfg_console *cc)
{
	json_t *a = json_object_get(o, "open"), *v;
	char path[JC_PATH_MAX];
	size_t i, j;
	int rc;

	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return jc_fail(x, "console.open", "expected an array of command names");
	if (json_array_size(a) > CFG_CONSOLE_OPEN_MAX)
		return jc_fail(x, "console.open", "%zu commands, at most %d",
		    json_array_size(a), CFG_CONSOLE_OPEN_MAX);
	json_array_foreach(a, i, v) {
		char *name = cc->open[i];

		snprintf(path, sizeof(path), "console.open[%zu]", i);
		if (!json_is_string(v) || json_string_length(v) < 1 ||
		    json_string_length(v) > CFG_CONSOLE_NAME_MAX ||
		    strspn(json_string_value(v), "abcdefghijklmnopqrstuvwxyz.") !=
		    json_string_length(v))
			return jc_fail(x, path, "expected a command name (1..%d of "
			    "[a-z.])", CFG_CONSOLE_NAME_MAX);
		snprintf(name, sizeof(cc->open[i]), "%s", json_string_value(v));
		for (j = 0; j < i; j++)
			if (strcmp(cc->open[j], name) == 0)
				return jc_fail(x, path, "'%s' is listed twice", name);
		if ((rc = open_allowed(x, path, name)) < 0)
			return rc;
		cc->n_open = i + 1;
	}
	return 0;
}

int
config_parse_console(struct jc *x, json_t *root, struct site_config *c)
{
	static const char *const keys[] = { "socket", "mode", "group", "open",
		"idle_s", "max_clients", "lockout_after", "lockout_s", NULL };
	struct cfg_console *cc = &c->console;
	json_t *o = json_object_get(root, "console");
	int rc;

	if (o == NULL)
		return 0;
	if (!IS_ENABLED(CONFIG_CONSOLE))
		return jc_fail(x, "console", "the technician console is not built "
		    "into this image");
	cc->enabled = 1;
	cc->idle_s = 600;
	cc->max_clients = 8;
	cc->lockout_after = 5;
	cc->lockout_s = 300;
	if ((rc = jc_object(x, o, "console")) < 0 ||
	    (rc = jc_check_keys(x, o, "console", keys)) < 0 ||
	    (rc = parse_socket(x, o, cc)) < 0 ||
	    (rc = parse_mode(x, o, cc)) < 0 ||
	    (rc = parse_group(x, o, cc)) < 0 ||
	    (rc = parse_open(x, o, cc)) < 0 ||
	    (rc = jc_get_uint(x, o, "console", "idle_s", 0, 1, 86400,
	    &cc->idle_s)) < 0 ||
	    (rc = jc_get_uint(x, o, "console", "max_clients", 0, 1, 64,
	    &cc->max_clients)) < 0 ||
	    (rc = jc_get_uint(x, o, "console", "lockout_after", 0, 1, 100,
	    &cc->lockout_after)) < 0 ||
	    (rc = jc_get_uint(x, o, "console", "lockout_s", 0, 1, 86400,
	    &cc->lockout_s)) < 0)
		return rc;
	return 0;
}
