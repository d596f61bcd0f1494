/*
 * commands and update (docs/console.md, "Commands"): the control plane's
 * journal, newest first, and the update under way. One small indexed
 * store query each.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/core/console_info.h"
#include "firmware/core/control_ota.h"
#include "firmware/core/gateway_internal.h"
#include "firmware/store/store_journal.h"

#define COMMANDS_DEFAULT	20
#define COMMANDS_MAX		200

static json_t *
row_json(const struct store_cmd *c)
{
	return json_pack("{s:o, s:s, s:I, s:s, s:o, s:I, s:b}",
	    "id", console_json_text(c->id), "type", c->type,
	    "seq", (json_int_t)c->seq, "state", c->state,
	    "why", console_json_text(c->why), "t_ms", (json_int_t)c->at_ms,
	    "verified", c->verified);
}

/* commands id=ID: that command's row (verified commands only, as the
 * control plane finds them). */
static void
one_command(struct console *cs, struct console_client *cl,
    const struct console_req *rq, const char *id)
{
	struct store_cmd c;
	int rc;

	if (id[0] == '\0' || strlen(id) > STORE_CMD_ID_MAX) {
		console_err(cl, rq->id, "commands: id=ID with 1..%d characters",
		    STORE_CMD_ID_MAX);
		return;
	}
	if ((rc = store_cmd_get(cs->g->store, id, &c, NULL)) == -ENOENT) {
		console_err(cl, rq->id, "commands: no command '%s' in the journal", id);
		return;
	}
	if (rc < 0) {
		console_err(cl, rq->id, "commands: %s", cs->g->store->err);
		return;
	}
	console_ok(cl, rq->id, json_pack("{s:[o]}", "commands", row_json(&c)));
}

int
console_run_commands(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	struct store_cmd *rows;
	json_t *list;
	size_t i, found;
	unsigned n;
	int rc;

	/* The journal's tables exist only with the control plane on. */
	if (cs->g->ctl == NULL) {
		console_err(cl, rq->id, "commands: the control plane is off (no "
		    "\"control\" section): no journal");
		return CCMD_DONE;
	}
	if (rq->argc > 0 && strncmp(rq->argv[0], "id=", 3) == 0) {
		one_command(cs, cl, rq, rq->argv[0] + 3);
		return CCMD_DONE;
	}
	if (console_arg_count(cl, rq, 0, COMMANDS_DEFAULT, COMMANDS_MAX, &n) < 0)
		return CCMD_DONE;
	if ((rows = calloc(n, sizeof(*rows))) == NULL ||
	    (list = json_array()) == NULL) {
		free(rows);
		console_err(cl, rq->id, "commands: out of memory");
		return CCMD_DONE;
	}
	if ((rc = store_cmd_recent(cs->g->store, rows, n, &found)) < 0) {
		console_err(cl, rq->id, "commands: %s", cs->g->store->err);
		json_decref(list);
		free(rows);
		return CCMD_DONE;
	}
	for (i = 0; i < found; i++)
		json_array_append_new(list, row_json(&rows[i]));
	free(rows);
	console_ok(cl, rq->id, json_pack("{s:o}", "commands", list));
	return CCMD_DONE;
}

static json_t *
env_or_null(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? console_json_text(v) : json_null();
}

int
console_run_update(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	json_t *o = control_ota_describe(cs->g->ctl);

	/* Updates off: what the bootloader said, and no job. */
	if (o == NULL)
		o = json_pack("{s:o, s:o, s:n, s:b}", "slot",
		    env_or_null("WATTGATE_SLOT"), "image_version",
		    env_or_null("WATTGATE_IMAGE_VERSION"), "job", "updates", 0);
	else
		json_object_set_new(o, "updates", json_true());
	console_ok(cl, rq->id, o);
	return CCMD_DONE;
}
