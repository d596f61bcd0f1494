/*
 * The console's own commands and those that only look (docs/console.md,
 * "Commands"): hello, help, cancel, and the read-only views of the daemon's
 * state. status, devices and uplink are console_status.c's; the rest is
 * here. Each answers at once from what the daemon holds in memory or one
 * small store query: nothing here waits on a bus or the network.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/base/log.h"
#include "firmware/core/console_info.h"
#include "firmware/core/console_srv.h"
#include "firmware/core/gateway_internal.h"

static const char *const class_names[] = { "none", "read", "write" };

static int
run_hello(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	const struct cfg_console *cc = &cs->g->cfg->console;
	json_t *open = json_array();
	size_t i;

	for (i = 0; i < cc->n_open; i++)
		json_array_append_new(open, json_string(cc->open[i]));
	console_ok(cl, rq->id, json_pack("{s:i, s:s, s:s, s:b, s:o}", "protocol",
	    CONSOLE_PROTOCOL, "gateway", cs->g->cfg->gateway, "version", WG_VERSION,
	    "login", console_client_who(cl) != NULL, "open", open));
	return CCMD_DONE;
}

static json_t *
describe(const struct console_cmd *c)
{
	return json_pack("{s:s, s:s, s:s, s:s}", "name", c->name, "usage",
	    c->usage ? c->usage : c->name, "help", c->help ? c->help : "",
	    "class", class_names[c->cls <= CCLASS_WRITE ? c->cls : CCLASS_WRITE]);
}

/*
 * help: every command of the three tables; help CMD: that one, or, for a
 * group like "login", its members ("login.challenge", ...).
 */
static int
run_help(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	const struct console_cmd *const tables[] = { console_cmds_info,
		console_cmds_auth, console_cmds_act };
	const char *want = rq->argc > 0 ? rq->argv[0] : NULL;
	json_t *list = json_array();
	const struct console_cmd *c;
	size_t i, n;

	(void)cs;
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		for (c = tables[i]; c->name != NULL; c++) {
			n = want != NULL ? strlen(want) : 0;
			if (want == NULL || strcmp(c->name, want) == 0 ||
			    (strncmp(c->name, want, n) == 0 && c->name[n] == '.'))
				json_array_append_new(list, describe(c));
		}
	if (want != NULL && json_array_size(list) == 0) {
		json_decref(list);
		console_err(cl, rq->id, "help: no command '%.64s'", want);
		return CCMD_DONE;
	}
	console_ok(cl, rq->id, json_pack("{s:o}", "commands", list));
	return CCMD_DONE;
}

/* A number argument of 1..max, or def when absent: 0 or -EINVAL (answered). */
int
console_arg_count(struct console_client *cl, const struct console_req *rq,
    size_t i, unsigned def, unsigned max, unsigned *out)
{
	const char *s = rq->argc > i ? rq->argv[i] : NULL;
	unsigned long v;
	char *end;

	*out = def;
	if (s == NULL)
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < 1 ||
	    v > max) {
		console_err(cl, rq->id, "%s: '%.32s' is not a number 1..%u", rq->cmd,
		    s, max);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

static int
run_cancel(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	const char *s = rq->argv[0];
	unsigned long long n;
	char *end;

	errno = 0;
	n = strtoull(s, &end, 10);
	if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || n < 1 ||
	    n > CONSOLE_ID_MAX) {
		console_err(cl, rq->id, "cancel: '%.32s' is not a request id", s);
		return CCMD_DONE;
	}
	console_cancel(cs, cl, rq->id, n);
	return CCMD_DONE;
}

struct lines {
	json_t *a;
};

static void
add_line(const char *line, void *arg)
{
	struct lines *l = arg;

	json_array_append_new(l->a, console_json_text(line));
}

static int
run_log(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	struct lines l;
	unsigned n;

	(void)cs;
	if (console_arg_count(cl, rq, 0, 20, LOG_RING_LINES, &n) < 0)
		return CCMD_DONE;
	if ((l.a = json_array()) == NULL) {
		console_err(cl, rq->id, "log: out of memory");
		return CCMD_DONE;
	}
	log_recent(n, add_line, &l);
	console_ok(cl, rq->id, json_pack("{s:o}", "lines", l.a));
	return CCMD_DONE;
}

const struct console_cmd console_cmds_info[] = {
	{ "hello", "hello", "the gateway, the protocol, whether logged in",
	  CCLASS_NONE, 0, 0, 0, run_hello, NULL },
	{ "help", "help [CMD]", "the commands, or one command (help login: "
	  "how to log in)", CCLASS_NONE, 0, 1, 0, run_help, NULL },
	{ "cancel", "cancel N", "stop request N (a watch, a read, a scan)",
	  CCLASS_NONE, 1, 1, 0, run_cancel, NULL },
	{ "status", "status", "version, slot, uptime, clock, uplink, store depth, "
	  "drops", CCLASS_READ, 0, 0, 0, console_run_status, NULL },
	{ "devices", "devices", "every device: answering, polls, timeouts, last "
	  "result", CCLASS_READ, 0, 0, 0, console_run_devices, NULL },
	{ "uplink", "uplink", "the uplink: kind, server, connected, in flight",
	  CCLASS_READ, 0, 0, 0, console_run_uplink, NULL },
	{ "commands", "commands [N | id=ID]", "the journal of fleet and console "
	  "commands, newest first", CCLASS_READ, 0, 1, 0, console_run_commands,
	  NULL },
	{ "update", "update", "the running slot and image, the update under way",
	  CCLASS_READ, 0, 0, 0, console_run_update, NULL },
	{ "identity", "identity", "the gateway's key fingerprint and its CSR",
	  CCLASS_READ, 0, 0, 0, console_run_identity, console_cancel_identity },
	{ "log", "log [N]", "the daemon's last N log lines (default 20, at most "
	  "256)", CCLASS_READ, 0, 1, 0, run_log, NULL },
	{ NULL, NULL, NULL, CCLASS_NONE, 0, 0, 0, NULL, NULL },
};
