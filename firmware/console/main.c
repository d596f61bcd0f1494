/*
 * wattgate-console: the technician's console (docs/console.md).
 *
 *   wattgate-console [-s SOCKET] [--timeout S]            interactive
 *   wattgate-console [-s SOCKET] -c 'CMD ARGS' [--json]   one command
 *
 * A separate process that talks to the daemon over its console socket, so
 * that nothing here can stop the daemon's polling: a crash of this
 * program, a hung terminal or a pulled cable only ends this program.
 *
 * Exit: 0 done (also: the terminal went away: getty or systemd starts us
 * again), 1 error, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/console/app.h"
#include "firmware/console/out.h"

#define SOCKET_DEFAULT	"/run/wattgate/console.sock"
#define TIMEOUT_S	10
#define HISTORY_NAME	".wattgate_console_history"

static void
usage(FILE *f)
{
	fputs("usage: wattgate-console [-s SOCKET] [--timeout S]\n"
	    "       wattgate-console [-s SOCKET] [--timeout S] -c 'CMD ARGS' "
	    "[--json]\n"
	    "  SOCKET: $WATTGATE_CONSOLE or " SOCKET_DEFAULT "\n"
	    "  -c: a session from $WATTGATE_CONSOLE_SESSION, if set\n", f);
}

/* Leaving: a session we opened is closed, so the token dies with us. */
static void
leave(struct app *a)
{
	struct call k;

	if (a->own_session && a->conn.fd >= 0) {
		memset(&k, 0, sizeof(k));
		k.cmd = "logout";
		k.timeout_ms = 1000;
		out_sighup = out_sigterm = 0;	/* one more request, quietly */
		conn_call(&a->conn, &k);
		json_decref(k.data);
	}
	conn_close(&a->conn);
}

static void
banner(struct app *a)
{
	json_t *o;
	size_t i;
	char name[64];

	out_printf("%s: wattgate %s. ", a->gw, a->version);
	if (a->logged_in)
		out_printf("Logged in.\n");
	else
		out_printf("Not logged in: 'login' or 'login password'.\n");
	if (!a->logged_in && json_array_size(a->open) > 0) {
		out_printf("Open without a login:");
		json_array_foreach(a->open, i, o)
			if (json_is_string(o))
				out_printf("%s %s", i ? "," : "", out_clean(name,
				    sizeof(name), json_string_value(o)));
		out_printf(".\n");
	}
	out_printf("'help' lists the commands.\n");
}

/* Lines with a secret in them stay out of the history. */
static int
secret_line(const char *line)
{
	line += strspn(line, " \t");
	return strncmp(line, "login.", 6) == 0 || strncmp(line, "resume", 6) == 0;
}

static int
interactive(struct app *a)
{
	struct term_hooks h = { app_fd, app_wait_ms, app_tick, cmds_candidates,
		a };
	const char *term = getenv("TERM"), *home = getenv("HOME");
	char hist[512], err[512], *line;
	int edit, rc;

	edit = isatty(0) && isatty(1) && term != NULL && term[0] != '\0' &&
	    strcmp(term, "dumb") != 0;
	hist[0] = '\0';
	if (home != NULL && home[0] == '/' && access(home, W_OK) == 0)
		snprintf(hist, sizeof(hist), "%.400s/%s", home, HISTORY_NAME);
	if ((rc = term_open(&a->term, &h, edit, hist[0] ? hist : NULL)) != 0) {
		out_err("terminal: %s", strerror(-rc));
		return 1;
	}
	if (app_connect(a, err, sizeof(err)) != 0 &&
	    app_reconnect(a, "connecting") != 0) {
		term_close(a->term);
		return out_gone() ? 0 : 1;
	}
	banner(a);
	for (;;) {
		if (out_gone())
			break;
		out_flush();
		rc = term_read(a->term, isatty(0) ? app_prompt(a) : NULL, &line);
		if (rc == 0)
			break;
		if (rc < 0)
			continue;
		if (!secret_line(line))
			term_history_add(a->term, line);
		if (cmds_run(a, line) < 0)
			break;
	}
	if (!out_gone() && isatty(0))
		out_printf("\n");
	leave(a);
	term_close(a->term);
	return 0;
}

static int
one_command(struct app *a, const char *cmd)
{
	const char *tok = getenv("WATTGATE_CONSOLE_SESSION");
	char err[512], line[CONN_ARG_MAX * 4];
	int rc;

	if (tok != NULL && tok[0] != '\0') {
		if (strlen(tok) > TOKEN_MAX ||
		    strspn(tok, "0123456789abcdefABCDEF") != strlen(tok)) {
			out_err("WATTGATE_CONSOLE_SESSION: not a session token");
			return EXIT_USAGE;
		}
		snprintf(a->token, sizeof(a->token), "%s", tok);
	}
	if (strlen(cmd) >= sizeof(line)) {
		out_err("-c: command longer than %zu bytes", sizeof(line) - 1);
		return EXIT_USAGE;
	}
	snprintf(line, sizeof(line), "%s", cmd);
	if ((rc = app_connect(a, err, sizeof(err))) != 0) {
		out_err("%s", err);
		return 1;
	}
	rc = cmds_run(a, line);
	conn_close(&a->conn);
	out_flush();
	return rc < 0 ? 0 : rc;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", 1, NULL, 's' }, { "json", 0, NULL, 'j' },
		{ "timeout", 1, NULL, 't' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = getenv("WATTGATE_CONSOLE"), *cmd = NULL;
	struct app a;
	char *end;
	long t;
	int ch, rc;

	memset(&a, 0, sizeof(a));
	a.timeout_ms = TIMEOUT_S * 1000;
	while ((ch = getopt_long(argc, argv, "s:c:h", lo, NULL)) != -1) {
		switch (ch) {
		case 's': path = optarg; break;
		case 'c': cmd = optarg; break;
		case 'j': a.json = 1; break;
		case 't':
			t = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || t < 1 || t > 3600) {
				out_err("--timeout: 1..3600 seconds, not '%.100s'",
				    optarg);
				return EXIT_USAGE;
			}
			a.timeout_ms = (int)t * 1000;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc || (a.json && cmd == NULL)) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (path == NULL || path[0] == '\0')
		path = SOCKET_DEFAULT;
	out_signals();
	conn_init(&a.conn, path, app_notice, &a);
	rc = cmd != NULL ? one_command(&a, cmd) : interactive(&a);
	json_decref(a.open);
	json_decref(a.help);
	json_decref(a.devs);
	free(a.conn.buf);
	return rc;
}
