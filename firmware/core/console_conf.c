/*
 * config show | check | apply (docs/console.md "config"): the site config
 * in effect, a config judged by the very checker `wattgate --check` runs
 * (and by config.set's own rules, so a technician learns before applying
 * that a config would move the store or drop the control section), and a
 * config applied through the control plane's config.set: on trial, rolled
 * back by itself if it does not poll and deliver, journaled and reported
 * like a fleet command.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/base/rfile.h"
#include "firmware/core/console_act.h"
#include "firmware/core/control.h"
#include "firmware/store/store_journal.h"

/* The file's JSON: a fleet config file (control_config.c) has header lines,
 * an empty line, then the JSON; the site file is JSON from its first byte. */
static const char *
file_json(const char *text, int fleet)
{
	const char *p;

	if (!fleet)
		return text;
	if ((p = strstr(text, "\n\n")) != NULL)
		return p + 2;
	return text[0] == '\n' ? text + 1 : NULL;
}

/*
 * Where the config in effect is now: the file the daemon loaded, except
 * that a trial that has been kept since moved config.trial to
 * config.active (control_config.c) without a restart. path gets the file.
 */
static const char *
source_of(const struct site_config *cfg, char *path, size_t len)
{
	size_t n = strlen(cfg->path), t = strlen("config.trial");

	snprintf(path, len, "%s", cfg->path);
	if (cfg->base[0] == '\0')
		return "site";
	if (n < t || strcmp(cfg->path + n - t, "config.trial") != 0)
		return "fleet";
	if (access(cfg->path, F_OK) == 0)
		return "trial";
	snprintf(path, len, "%.*sconfig.active", (int)(n - t), cfg->path);
	return "fleet";
}

/* The file the daemon loaded at start, as it is on disk now. */
static int
config_show(struct console *cs, struct console_client *cl, uint64_t id)
{
	const struct site_config *cfg = cs->g->cfg;
	char path[CFG_PATH_MAX + 16], err[300], *text = NULL;
	const char *src = source_of(cfg, path, sizeof(path)), *json;
	json_error_t je;
	json_t *doc = NULL;
	size_t len;

	if (rfile_read(path, CFG_FILE_MAX + 1024, &text, &len, NULL, err,
	    sizeof(err)) < 0) {
		console_err(cl, id, "config show: %s", err);
		return CCMD_DONE;
	}
	if ((json = file_json(text, strcmp(src, "site") != 0)) == NULL ||
	    (doc = json_loads(json, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		console_err(cl, id, "config show: %.200s: no longer JSON (changed "
		    "since the daemon loaded it?): line %d: %.100s", path,
		    json != NULL ? je.line : 0, json != NULL ? je.text : "no "
		    "header end");
		free(text);
		return CCMD_DONE;
	}
	free(text);
	console_ok(cl, id, json_pack("{s:s,s:s,s:o,s:o}", "path", path,
	    "source", src, "base", cfg->base[0] ? json_string(cfg->base) :
	    json_null(), "config", doc));
	return CCMD_DONE;
}

/*
 * The checker's verdict on the body, and config.set's (whether apply
 * would take it). Nothing is written, nothing changes: config_parse only
 * reads the files the config names (profiles, keys).
 */
static int
config_check(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	char err[512], why[STORE_CMD_WHY_MAX + 1] = "", sum[200];
	struct site_config next;
	json_t *doc, *o;
	int apply;

	if (config_parse("config", rq->body, rq->body_len, &next, err,
	    sizeof(err)) < 0) {
		console_err(cl, rq->id, "config check: %s", err);
		return CCMD_DONE;
	}
	snprintf(sum, sizeof(sum), "gateway %s: %zu device(s) on %zu bus(es), "
	    "every %u s", next.gateway, next.n_devices, next.n_buses,
	    next.interval_s);
	o = json_pack("{s:s,s:s,s:I,s:I,s:I}", "summary", sum, "gateway",
	    next.gateway, "devices", (json_int_t)next.n_devices, "buses",
	    (json_int_t)next.n_buses, "interval_s", (json_int_t)next.interval_s);
	config_free(&next);
	doc = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, NULL);
	if (cs->g->ctl == NULL) {
		json_decref(doc);
		apply = 0;
		snprintf(why, sizeof(why), "the control plane is off: the site "
		    "config has no \"control\" section");
	} else
		apply = control_local_check(cs->g->ctl, "config.set",
		    json_pack("{s:o}", "config", doc), why, sizeof(why)) == 0;
	json_object_set_new(o, "apply_ok", json_boolean(apply));
	json_object_set_new(o, "apply_why", apply ? json_null() : json_string(why));
	console_ok(cl, rq->id, o);
	return CCMD_DONE;
}

static int
config_apply(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	json_error_t je;
	json_t *doc;

	if (console_client_who(cl) == NULL) {
		console_err(cl, rq->id, "login required: 'config apply' (see 'help "
		    "login')");
		return CCMD_DONE;
	}
	if ((doc = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES,
	    &je)) == NULL) {
		console_err(cl, rq->id, "config apply: config: line %d column %d: "
		    "%.120s", je.line, je.column, je.text);
		return CCMD_DONE;
	}
	return act_control(cs, cl, rq->id, "config apply", "config.set",
	    json_pack("{s:o}", "config", doc), "the daemon restarts on it now, "
	    "on trial: kept once a cycle polls and the uplink takes a batch, "
	    "else rolled back; its end is in 'commands id=ID'");
}

int
act_config(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	const char *sub = rq->argv[0];
	int show = strcmp(sub, "show") == 0;

	if (!show && strcmp(sub, "check") != 0 && strcmp(sub, "apply") != 0) {
		console_err(cl, rq->id, "config: '%.32s': not show, check or apply",
		    sub);
		return CCMD_DONE;
	}
	if (show != (rq->body == NULL)) {
		console_err(cl, rq->id, "config %s: %s", sub, show ? "takes no "
		    "body" : "the config goes in the request's body");
		return CCMD_DONE;
	}
	if (show)
		return config_show(cs, cl, rq->id);
	if (strcmp(sub, "check") == 0)
		return config_check(cs, cl, rq);
	return config_apply(cs, cl, rq);
}
