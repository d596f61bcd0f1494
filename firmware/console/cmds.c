/*
 * wattgate-console's commands: what the technician types, checked here
 * for its number of words (a usage line at once, no round trip), sent as
 * the protocol's request, and its reply shown (show_cmds.c) or, with -c
 * --json, printed as the reply's data.
 *
 * A command the daemon lists in its help but this table does not know is
 * still sent as typed and its reply listed key by key: a newer daemon's
 * command works from an older console.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/console/app.h"
#include "firmware/console/cmds.h"
#include "firmware/console/out.h"
#include "firmware/console/show.h"

#define WORDS_MAX	(CONN_ARGS_MAX + 2)

static int run_watch(struct app *a, int argc, char **argv);
static int run_scan(struct app *a, int argc, char **argv);
static int run_reboot(struct app *a, int argc, char **argv);

const struct ccmd cmds_table[] = {
	{ "help", "help [CMD]", "what each command does", 0, 1, W_SHORT, C_CMD,
	  NULL, cmds_help },
	{ "status", "status", "version, uptime, clock, uplink, queue, drops",
	  0, 0, W_SHORT, C_NONE, show_status, NULL },
	{ "devices", "devices", "every device: answering, polls, errors", 0, 0,
	  W_SHORT, C_NONE, show_devices, NULL },
	{ "device", "device NAME", "one device's last values, timings, errors",
	  1, 1, W_SHORT, C_DEVICE, show_device, NULL },
	{ "watch", "watch [DEVICE]", "live readings until a key is pressed",
	  0, 1, W_NONE, C_DEVICE, NULL, run_watch },
	{ "read", "read DEVICE REG [COUNT] [TYPE]", "raw registers through the "
	  "bus ('help read')",
	  2, 4, W_BUS, C_DEVICE, show_read, NULL },
	{ "scan", "scan BUS [FROM TO]", "look for devices on a bus (Ctrl-C stops)",
	  1, 3, W_NONE, C_BUS, NULL, run_scan },
	{ "config", "config show | check FILE | apply FILE", "the site config; apply "
	  "restarts the daemon on it",
	  1, 2, W_SHORT, C_CONFIG, NULL, config_run },
	{ "uplink", "uplink", "the uplink's state", 0, 0, W_SHORT, C_NONE,
	  show_uplink, NULL },
	{ "commands", "commands [N | id=ID]", "the journal of commands, newest "
	  "first", 0, 1, W_SHORT, C_NONE, show_commands, NULL },
	{ "update", "update", "the slots and a running update", 0, 0, W_SHORT,
	  C_NONE, show_update, NULL },
	{ "identity", "identity", "the gateway's key fingerprint and CSR", 0, 0,
	  W_SHORT, C_NONE, show_identity, NULL },
	{ "log", "log [N]", "the daemon's last log lines", 0, 1, W_SHORT, C_NONE,
	  show_log, NULL },
	{ "reboot", "reboot", "reboot the gateway", 0, 0, W_SHORT, C_NONE, NULL,
	  run_reboot },
	{ "login", "login [password]", "log in: technician key, or "
	  "the gateway's password", 0, 1, W_SHORT, C_LOGIN,
	  NULL, login_run },
	{ "logout", "logout", "end the session", 0, 0, W_SHORT, C_NONE, NULL,
	  logout_run },
	{ "quit", "quit", "leave the console (also: exit, Ctrl-D)", 0, 0, W_SHORT,
	  C_NONE, NULL, NULL },
	{ "exit", "exit", "leave the console", 0, 0, W_SHORT, C_NONE, NULL, NULL },
	{ NULL, NULL, NULL, 0, 0, W_SHORT, C_NONE, NULL, NULL },
};

/* Protocol commands the console runs itself, never offered as typed. */
static const char *const internal[] = { "hello", "cancel", "resume",
	"login.challenge", "login.response", "login.password", NULL };

const struct ccmd *
cmds_find(const char *name)
{
	const struct ccmd *c;

	for (c = cmds_table; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int
cmds_internal(const char *name)
{
	const char *const *p;

	for (p = internal; *p != NULL; p++)
		if (strcmp(*p, name) == 0)
			return 1;
	return 0;
}

json_t *
cmds_daemon(struct app *a, const char *name)
{
	json_t *e;
	size_t i;

	json_array_foreach(a->help, i, e)
		if (json_is_string(json_object_get(e, "name")) && strcmp(name,
		    json_string_value(json_object_get(e, "name"))) == 0)
			return e;
	return NULL;
}

int
cmds_split(char *line, char **w, int max)
{
	char *p = line, *o;
	int n = 0;
	char q;

	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			return n;
		if (n == max)
			return -1;
		w[n++] = o = p;
		while (*p != '\0' && *p != ' ' && *p != '\t') {
			if (*p == '\'' || *p == '"') {
				q = *p++;
				while (*p != '\0' && *p != q)
					*o++ = *p++;
				if (*p != q)
					return -1;	/* unclosed quote */
				p++;
			} else {
				*o++ = *p++;
			}
		}
		if (*p != '\0')
			p++;
		*o = '\0';
	}
}

static void
print_json(json_t *d)
{
	char *s = json_dumps(d, JSON_COMPACT | JSON_ENSURE_ASCII);

	out_printf("%s\n", s ? s : "{}");
	free(s);
}

static int
timeout_of(struct app *a, enum wait w)
{
	return w == W_NONE ? -1 : w == W_BUS ? a->timeout_ms * 3 : a->timeout_ms;
}

/* A request whose reply is shown whole: the table's simple commands and
 * the daemon's commands this console does not know. */
static int
simple(struct app *a, const char *cmd, enum wait w,
    void (*show)(struct app *, json_t *), int argc, char **argv)
{
	struct call k;
	int i, rc;

	memset(&k, 0, sizeof(k));
	k.cmd = cmd;
	for (i = 0; i < argc; i++)
		k.argv[i] = argv[i];
	k.argc = (size_t)argc;
	k.timeout_ms = timeout_of(a, w);
	if ((rc = app_call(a, &k, 0)) != 0)
		return 1;
	if (a->json)
		print_json(k.data);
	else
		show(a, k.data);
	json_decref(k.data);
	return 0;
}

static void
watch_event(void *arg, json_t *ev)
{
	struct app *a = arg;
	char *s;

	if (a->json) {
		s = json_dumps(ev, JSON_COMPACT | JSON_ENSURE_ASCII);
		out_printf("%s\n", s ? s : "{}");
		out_flush();
		free(s);
	} else {
		show_watch_event(a, ev);
	}
}

static int
run_watch(struct app *a, int argc, char **argv)
{
	struct call k;
	int rc;

	memset(&k, 0, sizeof(k));
	k.cmd = "watch";
	k.argv[0] = argc > 0 ? argv[0] : NULL;
	k.argc = (size_t)argc;
	k.timeout_ms = -1;
	k.event = watch_event;
	k.arg = a;
	/* Any key ends it; without a terminal (-c) only Ctrl-C does. */
	k.key_ends = a->term != NULL;
	if (!a->json)
		out_printf("watching %s (%s ends it)\n", argc > 0 ? argv[0] :
		    "all devices", a->term ? "any key" : "Ctrl-C");
	if (a->term)
		term_keys_raw(a->term, 1);
	rc = app_call(a, &k, 1);
	if (a->term)
		term_keys_raw(a->term, 0);
	json_decref(k.data);
	if (rc == -ECANCELED || rc == -EINTR)
		return 0;		/* the way a watch ends */
	if (rc != 0)
		app_fail(a, "watch: %s", k.err);
	return rc == 0 ? 0 : 1;
}

static void
scan_event(void *arg, json_t *ev)
{
	struct app *a = arg;

	if (!a->json)
		show_scan_event(a, ev);
}

static int
run_scan(struct app *a, int argc, char **argv)
{
	struct call k;
	int i, rc;

	if (argc == 2) {
		app_fail(a, "usage: scan BUS [FROM TO]");
		return EXIT_USAGE;
	}
	memset(&k, 0, sizeof(k));
	k.cmd = "scan";
	for (i = 0; i < argc; i++)
		k.argv[i] = argv[i];
	k.argc = (size_t)argc;
	k.timeout_ms = -1;
	k.event = scan_event;
	k.arg = a;
	if (!a->json)
		out_printf("scanning %s (Ctrl-C stops)\n", argv[0]);
	if ((rc = app_call(a, &k, 0)) != 0)
		return 1;
	if (a->json)
		print_json(k.data);
	else
		show_scan(a, k.data);
	json_decref(k.data);
	return 0;
}

static int
run_reboot(struct app *a, int argc, char **argv)
{
	char yes[16], id[128];
	json_t *d;

	if (a->term != NULL) {
		if (term_ask(a->term, "reboot the gateway? [y/N] ", 1, yes,
		    sizeof(yes)) != 1 || (yes[0] != 'y' && yes[0] != 'Y')) {
			out_printf("not rebooted\n");
			return 0;
		}
	}
	if (app_req(a, "reboot", argc, argv, &d) != 0)
		return 1;
	if (a->json)
		print_json(d);
	else
		out_printf("rebooting (command %s)\n", show_val(d, "command", id,
		    sizeof(id)));
	json_decref(d);
	return 0;
}

int
cmds_run(struct app *a, char *line)
{
	char *w[WORDS_MAX];
	const struct ccmd *c;
	int n;

	n = cmds_split(line, w, WORDS_MAX);
	if (n < 0) {
		app_fail(a, "too many words or an unclosed quote");
		return EXIT_USAGE;
	}
	if (n == 0)
		return 0;
	for (int i = 0; i < n; i++)
		if (strlen(w[i]) > CONN_ARG_MAX) {
			app_fail(a, "word %d is longer than %d bytes", i + 1,
			    CONN_ARG_MAX);
			return EXIT_USAGE;
		}
	c = cmds_find(w[0]);
	if (c == NULL) {
		if (cmds_daemon(a, w[0]) == NULL || cmds_internal(w[0])) {
			app_fail(a, "unknown command '%s' ('help' lists them)", w[0]);
			return EXIT_USAGE;
		}
		if (n - 1 > CONN_ARGS_MAX) {
			app_fail(a, "%s: too many arguments", w[0]);
			return EXIT_USAGE;
		}
		return simple(a, w[0], W_BUS, show_any, n - 1, w + 1);
	}
	if (c->show == NULL && c->run == NULL)
		return -1;		/* quit, exit */
	if (n - 1 < c->min || n - 1 > c->max) {
		app_fail(a, "usage: %s", c->usage);
		return EXIT_USAGE;
	}
	if (c->run != NULL)
		return c->run(a, n - 1, w + 1);
	return simple(a, c->name, c->wait, c->show, n - 1, w + 1);
}
