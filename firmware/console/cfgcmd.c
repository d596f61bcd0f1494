/*
 * config show | check FILE | apply FILE (docs/console.md).
 *
 * apply goes through the control plane's config.set: the daemon journals
 * it, restarts on the new config as a trial and keeps it or rolls back.
 * The console follows the command by its id ("commands id=ID") across that
 * restart (reconnecting and resuming the session) until it has a final
 * state, since "sent" is not what the technician needs to know: whether
 * the gateway runs on it is.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/base/rfile.h"
#include "firmware/console/app.h"
#include "firmware/console/out.h"
#include "firmware/console/show.h"

#define FOLLOW_MAX_MS	(10 * 60 * 1000)

static const char *const final_states[] = { "applied", "rejected", "expired",
	"deviated", "failed", NULL };

static int
is_final(const char *state)
{
	const char *const *p;

	for (p = final_states; *p != NULL; p++)
		if (strcmp(*p, state) == 0)
			return 1;
	return 0;
}

static void
print_json(json_t *d, int indent)
{
	char *s = json_dumps(d, JSON_ENSURE_ASCII | (indent ? JSON_INDENT(2) :
	    JSON_COMPACT));

	if (s != NULL)
		show_block(s, "");
	free(s);
}

/* One look at the command: 1 final (state in buf), 0 not yet, -1 give up. */
static int
look(struct app *a, const char *arg, char *state, size_t cap, char *why,
    size_t whycap)
{
	struct call k;
	json_t *e;
	int rc;

	memset(&k, 0, sizeof(k));
	k.cmd = "commands";
	k.argv[0] = arg;
	k.argc = 1;
	k.timeout_ms = a->timeout_ms;
	rc = conn_call(&a->conn, &k);
	if (rc == -EPIPE || rc == -ETIMEDOUT || rc == -ENOTCONN)
		return 0;	/* restarting: the next look reconnects */
	if (rc != 0) {
		if (rc != -EINTR && rc != -ECANCELED)
			app_fail(a, "commands %s: %s", arg, k.err);
		return -1;
	}
	e = json_array_get(json_object_get(k.data, "commands"), 0);
	show_val(e, "state", state, cap);
	show_val(e, "why", why, whycap);
	json_decref(k.data);
	return is_final(state);
}

static int
follow(struct app *a, const char *id)
{
	char arg[160], state[64] = "", last[64] = "trial", why[512], err[512];
	char now[16];
	int64_t until = app_now_ms() + FOLLOW_MAX_MS;
	int rc, said = 0;

	snprintf(arg, sizeof(arg), "id=%s", id);
	if (!a->json)
		out_printf("following %s until it ends (Ctrl-C stops following)\n",
		    id);
	for (;;) {
		out_flush();
		poll(NULL, 0, RECONNECT_MS);
		if (out_gone())
			return 1;
		if (out_sigint) {
			out_sigint = 0;
			app_fail(a, "stopped following; 'commands %s' shows how "
			    "it ends", arg);
			return 1;
		}
		if (app_now_ms() > until) {
			app_fail(a, "%s: no final state in %d min; 'commands %s' "
			    "shows how it ends", id, FOLLOW_MAX_MS / 60000, arg);
			return 1;
		}
		if (a->conn.fd < 0) {
			if (app_connect(a, err, sizeof(err)) != 0) {
				if (!said && !a->json)
					out_printf("the daemon is restarting on it; "
					    "waiting for it\n");
				said = 1;
				continue;
			}
			if (!a->json)
				out_printf("connected to %s again%s\n", a->gw,
				    a->logged_in ? " (session resumed)" : "");
		}
		rc = look(a, arg, state, sizeof(state), why, sizeof(why));
		if (rc < 0)
			return 1;
		if (strcmp(state, last) != 0 && state[0] != '\0' && !a->json) {
			int has_why = why[0] != '\0' && strcmp(why, "-") != 0;

			out_printf("%s %s%s%s\n", show_hms(app_wall_ms(), now,
			    sizeof(now)), state, has_why ? ": " : "",
			    has_why ? why : "");
			snprintf(last, sizeof(last), "%s", state);
		}
		if (rc == 1)
			break;
	}
	if (a->json) {
		json_t *o = json_pack("{s:s,s:s}", "command", id, "state", state);

		print_json(o, 0);
		json_decref(o);
	}
	a->lost = a->conn.fd < 0;
	return strcmp(state, "applied") == 0 ? 0 : 1;
}

/* The file, and check or apply it. */
static int
send_file(struct app *a, const char *sub, const char *path)
{
	char err[512], id[128], note[512], sum[512];
	struct call k;
	size_t len;
	char *buf;
	int rc;

	if (rfile_read(path, CONN_BODY_MAX, &buf, &len, NULL, err,
	    sizeof(err)) != 0) {
		app_fail(a, "%s", err);
		return 1;
	}
	memset(&k, 0, sizeof(k));
	k.cmd = "config";
	k.argv[0] = sub;
	k.argc = 1;
	k.body = buf;
	k.body_len = len;
	k.timeout_ms = a->timeout_ms * 3;
	rc = app_call(a, &k, 1);
	free(buf);
	if (rc != 0) {
		if (rc == -EINVAL)
			app_fail(a, "%s: not UTF-8 text", path);
		else if (rc != -EINTR)
			app_fail(a, "%s: %s", path, k.err);
		return 1;
	}
	if (strcmp(sub, "check") == 0) {
		if (a->json)
			print_json(k.data, 0);
		else
			out_printf("%s: ok: %s\n", path, show_val(k.data, "summary",
			    sum, sizeof(sum)));
		json_decref(k.data);
		return 0;
	}
	show_val(k.data, "command", id, sizeof(id));
	if (!a->json)
		out_printf("%s: sent as command %s, state %s\n%s\n", path, id,
		    show_val(k.data, "state", sum, sizeof(sum)),
		    show_val(k.data, "note", note, sizeof(note)));
	json_decref(k.data);
	return follow(a, id);
}

int
config_run(struct app *a, int argc, char **argv)
{
	char path[256], src[64];
	json_t *d;

	if (strcmp(argv[0], "show") == 0 && argc == 1) {
		if (app_req(a, "config", 1, argv, &d) != 0)
			return 1;
		if (a->json) {
			print_json(d, 0);
		} else {
			out_printf("%s (%s)\n", show_val(d, "path", path,
			    sizeof(path)), show_val(d, "source", src, sizeof(src)));
			print_json(json_object_get(d, "config"), 1);
		}
		json_decref(d);
		return 0;
	}
	if ((strcmp(argv[0], "check") == 0 || strcmp(argv[0], "apply") == 0) &&
	    argc == 2)
		return send_file(a, argv[0], argv[1]);
	app_fail(a, "usage: config show | check FILE | apply FILE");
	return EXIT_USAGE;
}
