/*
 * config.set: a whole new site config from the fleet, on trial until it
 * proves itself, rolled back by itself when it does not (docs/commands.md).
 *
 * Each fleet config is one file in the state directory (beside the store,
 * which a fleet config may not move), so that every change of its state is
 * one rename, synced with its directory:
 *   config.trial    a config on trial
 *   config.active   the fleet's config in force
 *   config.failed   the last one rolled back
 * A file is a few header lines ("id ID", "boots N", "why TEXT"), an empty
 * line, then the site config's JSON. The file given with -c stays the base:
 * used when the state directory holds no fleet config, and it names the
 * state directory.
 *
 * A trial ends "applied" when, within trial_cycles cycles, at least one
 * device answered and the uplink acknowledged a batch; otherwise it is
 * rolled back: the file moves to config.failed, the daemon restarts on the
 * config before (exec, as a SIGHUP reload does) and the journal says
 * "failed" with what was missing. A config that makes the daemon fail to
 * start is rolled back after TRIAL_BOOTS starts (a reload, SIGHUP or a
 * config.set, is not a start that counts). The file moves before the
 * journal says so, and a start reconciles what a crash left between the two:
 * readings are never lost on the way, the restart commits the open cycle.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/base/log.h"
#include "firmware/base/rfile.h"
#include "firmware/base/wfile.h"
#include "firmware/core/control_config.h"
#include "firmware/core/control_internal.h"

#define TRIAL_BOOTS	3	/* starts a config on trial gets */
#define RELOAD_ENV	"WATTGATE_RELOAD"

struct config_trial {
	struct store_cmd sc;
	unsigned cycles;
	int polled, acked;
	uint64_t acked_base;
};

/* A fleet config file as read: its headers and where its JSON starts. */
struct cfgfile {
	char id[STORE_CMD_ID_MAX + 1];
	unsigned boots;
	char why[STORE_CMD_WHY_MAX + 1];
	char *text;			/* the whole file, malloc'd */
	const char *json;		/* into text */
};

static int
state_path(const char *store, const char *name, char *out, size_t len)
{
	const char *slash = strrchr(store, '/');
	int n = slash == NULL ? snprintf(out, len, "%s", name) :
	    snprintf(out, len, "%.*s/%s", (int)(slash - store), store, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* The whole file written durably (wfile_replace): headers, then the JSON. */
static int
write_cfgfile(const char *path, const char *id, unsigned boots, const char *why,
    const char *json)
{
	char head[STORE_CMD_ID_MAX + STORE_CMD_WHY_MAX + 64], *text;
	size_t hl, jl = strlen(json);
	int rc;

	hl = (size_t)snprintf(head, sizeof(head), "id %s\nboots %u\n%s%s%s\n", id,
	    boots, why != NULL ? "why " : "", why != NULL ? why : "",
	    why != NULL ? "\n" : "");
	if ((text = malloc(hl + jl)) == NULL)
		return -ENOMEM;
	memcpy(text, head, hl);
	memcpy(text + hl, json, jl);
	rc = wfile_replace(path, text, hl + jl);
	free(text);
	return rc;
}

static void
cfgfile_free(struct cfgfile *f)
{
	free(f->text);
	f->text = NULL;
}

/* 0, -ENOENT (no such file), -EINVAL (not one of ours), -errno. */
static int
read_cfgfile(const char *path, struct cfgfile *f)
{
	char err[256], *line, *end;
	size_t len;
	int rc;

	memset(f, 0, sizeof(*f));
	if (access(path, F_OK) < 0)
		return -ENOENT;
	if ((rc = rfile_read(path, CFG_FILE_MAX + 1024, &f->text, &len, NULL, err,
	    sizeof(err))) < 0)
		return rc;
	for (line = f->text; *line != '\0' && *line != '\n'; line = end + 1) {
		if ((end = strchr(line, '\n')) == NULL)
			break;
		*end = '\0';
		if (strncmp(line, "id ", 3) == 0)
			snprintf(f->id, sizeof(f->id), "%s", line + 3);
		else if (strncmp(line, "boots ", 6) == 0)
			f->boots = (unsigned)strtoul(line + 6, NULL, 10);
		else if (strncmp(line, "why ", 4) == 0)
			snprintf(f->why, sizeof(f->why), "%s", line + 4);
	}
	if (*line != '\n' || f->id[0] == '\0') {
		cfgfile_free(f);
		return -EINVAL;
	}
	f->json = line + 1;
	return 0;
}

/* One rename, synced: the state a fleet config is in. */
static int
move(const char *store, const char *from, const char *to)
{
	char a[PATH_MAX], b[PATH_MAX];

	if (state_path(store, from, a, sizeof(a)) < 0 ||
	    state_path(store, to, b, sizeof(b)) < 0)
		return -ENAMETOOLONG;
	if (rename(a, b) < 0) {
		log_warn("config: %s -> %s", a, b);
		return -errno;
	}
	wfile_sync_dir(b);
	return 0;
}

/* The file as it is, with why (a rollback), then moved to failed. */
static void
roll_back(const char *store, const char *path, struct cfgfile *f, const char *why)
{
	if (write_cfgfile(path, f->id, f->boots, why, f->json) < 0)
		log_warn("config: %s", path);
	move(store, "config.trial", "config.failed");
}

/*
 * Which config this start runs: the trial one while it has starts left,
 * else the fleet's active one, else the base. A fleet file that no longer
 * loads (a profile it names was removed) is logged and passed over. dry: a
 * check only (SIGHUP), nothing written.
 */
int
control_config_pick(const char *base, struct site_config *cfg, int *trial,
    int dry, char *err, size_t errlen)
{
	char tp[PATH_MAX], ap[PATH_MAX], store[CFG_PATH_MAX], e2[512] = "";
	int reload = getenv(RELOAD_ENV) != NULL;
	struct site_config next;
	struct cfgfile f;
	int rc;

	*trial = 0;
	if (!dry)
		unsetenv(RELOAD_ENV);
	if ((rc = config_load(base, cfg, err, errlen)) < 0 || !cfg->control.enabled)
		return rc;
	snprintf(store, sizeof(store), "%s", cfg->store);
	if (state_path(store, "config.trial", tp, sizeof(tp)) < 0 ||
	    state_path(store, "config.active", ap, sizeof(ap)) < 0)
		return 0;
	if ((rc = read_cfgfile(tp, &f)) == 0) {
		if (f.boots >= TRIAL_BOOTS) {
			log_warnx("config: the config on trial (command %s) did not "
			    "start %u times; rolled back", f.id, TRIAL_BOOTS);
			if (!dry)
				roll_back(store, tp, &f, "rolled back: the daemon did "
				    "not start with it");
		} else if ((dry || reload || (rc = write_cfgfile(tp, f.id, f.boots + 1,
		    NULL, f.json)) == 0) && (rc = config_parse(tp, f.json,
		    strlen(f.json), &next, e2, sizeof(e2))) == 0) {
			config_free(cfg);
			*cfg = next;
			snprintf(cfg->base, sizeof(cfg->base), "%s", base);
			*trial = 1;
			log_info("config: %s on trial (command %s, start %u of %u)", tp,
			    f.id, f.boots + (reload ? 0 : 1), TRIAL_BOOTS);
			cfgfile_free(&f);
			return 0;
		} else {
			log_warnx("config: the config on trial (command %s) %s: %s; "
			    "rolled back", f.id, e2[0] ? "does not load" :
			    "cannot be counted", e2[0] ? e2 : strerror(-rc));
			if (!dry)
				roll_back(store, tp, &f, "rolled back: it no longer loads");
		}
		cfgfile_free(&f);
	} else if (rc != -ENOENT)
		log_warnx("config: %s: %s; not used", tp, strerror(-rc));
	if (read_cfgfile(ap, &f) == 0) {
		if (config_parse(ap, f.json, strlen(f.json), &next, e2, sizeof(e2)) == 0) {
			config_free(cfg);
			*cfg = next;
			snprintf(cfg->base, sizeof(cfg->base), "%s", base);
		} else
			log_warnx("config: the fleet's config does not load (%s); "
			    "running %s", e2, base);
		cfgfile_free(&f);
	}
	return 0;
}

void
control_config_reloading(void)
{
	setenv(RELOAD_ENV, "1", 1);
}

/*
 * The same rules as --check, and more: the store stays, the control plane
 * and its key stay (a config that cuts the gateway off the fleet for good
 * would pass its trial), the gateway id stays, and one trial at a time.
 */
static int
check_config(struct control *c, const struct cmd *k, char *why, size_t len)
{
	const struct site_config *run = c->g->cfg;
	json_t *doc = json_object_get(k->args, "config");
	struct site_config next;
	char err[512], *text;
	int rc;

	if (json_object_size(k->args) != 1 || !json_is_object(doc)) {
		snprintf(why, len, "args: exactly {\"config\": {...}}, a whole site config");
		return -EINVAL;
	}
	if (c->trial != NULL) {
		snprintf(why, len, "command %s's config is on trial", c->trial->sc.id);
		return -EBUSY;
	}
	if ((text = json_dumps(doc, JSON_COMPACT)) == NULL) {
		snprintf(why, len, "out of memory");
		return -ENOMEM;
	}
	rc = config_parse("config", text, strlen(text), &next, err, sizeof(err));
	free(text);
	if (rc < 0) {
		snprintf(why, len, "%s", err);
		return rc;
	}
	if (strcmp(next.store, run->store) != 0) {
		snprintf(why, len, "config: store: %s, not where the store is (%s): a "
		    "fleet config cannot move the store", next.store, run->store);
		rc = -EINVAL;
	} else if (!next.control.enabled) {
		snprintf(why, len, "config: control: missing: the gateway would never "
		    "hear from the fleet again");
		rc = -EINVAL;
	} else if (next.control.key_len != run->control.key_len ||
	    memcmp(next.control.key_pem, run->control.key_pem, run->control.key_len)) {
		snprintf(why, len, "config: control.key: another key than the one in "
		    "force: the fleet's key changes by its own procedure, not here");
		rc = -EINVAL;
	} else if (strcmp(next.gateway, run->gateway) != 0) {
		snprintf(why, len, "config: gateway: '%s', this is '%s'", next.gateway,
		    run->gateway);
		rc = -EINVAL;
	}
	config_free(&next);
	return rc;
}

static int
apply_config(struct control *c, const struct cmd *k, struct store_cmd *sc,
    const char **state, char *why, size_t len, json_t **result)
{
	const char *store = c->g->cfg->store;
	char tp[PATH_MAX], *text;
	int rc;

	(void)result;
	*state = "failed";
	if (state_path(store, "config.trial", tp, sizeof(tp)) < 0) {
		snprintf(why, len, "state directory path too long");
		return CMD_DONE;
	}
	if ((text = json_dumps(json_object_get(k->args, "config"),
	    JSON_INDENT(2))) == NULL) {
		snprintf(why, len, "out of memory");
		return CMD_DONE;
	}
	rc = write_cfgfile(tp, k->id, 0, NULL, text);
	free(text);
	if (rc < 0) {
		snprintf(why, len, "cannot write %s: %s", tp, strerror(-rc));
		return CMD_DONE;
	}
	if (control_record(c, sc, "trial", NULL, NULL, 0) < 0) {
		unlink(tp);
		snprintf(why, len, "not journaled, not applied");
		return CMD_DONE;
	}
	log_info("config: command %s: restarting on the new config, on trial for "
	    "%u cycles", k->id, c->g->cfg->control.trial_cycles);
	c->g->exit = GW_EXIT_RELOAD;
	loop_stop(c->g->loop);
	return CMD_LATER;
}

/* The end of a trial: applied (kept) or rolled back (and restarted). */
static void
trial_end(struct control *c, int ok, const char *why)
{
	const char *store = c->g->cfg->store;
	struct store_cmd sc = c->trial->sc;
	json_t *res = json_pack("{s:i,s:b,s:b}", "cycles", (int)c->trial->cycles,
	    "polled", c->trial->polled, "acknowledged", c->trial->acked);
	struct cfgfile f;

	if (ok) {
		move(store, "config.trial", "config.active");
		control_record(c, &sc, "applied", NULL, res, 0);
	} else {
		if (read_cfgfile(c->g->cfg->path, &f) == 0) {
			roll_back(store, c->g->cfg->path, &f, why);
			cfgfile_free(&f);
		} else
			move(store, "config.trial", "config.failed");
		control_record(c, &sc, "failed", why, res, 0);
		log_warnx("config: command %s: %s; restarting on the previous config",
		    sc.id, why);
		c->g->exit = GW_EXIT_RELOAD;
		loop_stop(c->g->loop);
	}
	free(c->trial);
	c->trial = NULL;
}

void
config_trial_cycle(struct control *c, size_t devices_ok)
{
	struct config_trial *t = c->trial;
	struct forward_counts fc;
	char why[STORE_CMD_WHY_MAX + 1];

	if (t == NULL || c->g->exit != GW_EXIT_ERROR)
		return;
	t->cycles++;
	forward_counts(c->g->fwd, &fc);
	t->polled |= devices_ok > 0;
	t->acked |= fc.acked > t->acked_base;
	if (t->polled && t->acked) {
		trial_end(c, 1, NULL);
		return;
	}
	if (t->cycles < c->g->cfg->control.trial_cycles)
		return;
	snprintf(why, sizeof(why), "rolled back: in %u cycles %s", t->cycles,
	    !t->polled && !t->acked ? "no device answered and the uplink "
	    "acknowledged no batch" : !t->polled ? "no device answered" :
	    "the uplink acknowledged no batch");
	trial_end(c, 0, why);
}

/*
 * Running on a trial config: follow its command. If the journal already
 * has that command's end (a crash between the journal and the file's
 * move, whichever came first), the file is moved as the journal says, and
 * a rollback restarts on the previous config (at the first second of the
 * loop: control.c's timer).
 */
int
config_trial_start(struct control *c)
{
	const char *store = c->g->cfg->store;
	char tp[PATH_MAX];
	struct config_trial *t;
	struct cfgfile f;

	if (state_path(store, "config.trial", tp, sizeof(tp)) < 0 ||
	    strcmp(c->g->cfg->path, tp) != 0 || read_cfgfile(tp, &f) < 0)
		return 0;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		cfgfile_free(&f);
		return -ENOMEM;
	}
	if (store_cmd_get(c->g->store, f.id, &t->sc, NULL) < 0) {
		/* Journal lost with the file kept: the trial runs, reported as a
		 * command of unknown seq. */
		snprintf(t->sc.id, sizeof(t->sc.id), "%s", f.id);
		snprintf(t->sc.type, sizeof(t->sc.type), "config.set");
		t->sc.verified = 1;
	} else if (strcmp(t->sc.state, "applied") == 0) {
		move(store, "config.trial", "config.active");
		free(t);
		t = NULL;
	} else if (strcmp(t->sc.state, "failed") == 0) {
		roll_back(store, tp, &f, t->sc.why);
		c->reload_pending = 1;
		free(t);
		t = NULL;
	}
	cfgfile_free(&f);
	c->trial = t;
	return 0;
}

void
config_trial_stop(struct control *c)
{
	free(c->trial);
	c->trial = NULL;
}

static int
file_is(const char *store, const char *name, const char *id, char *why,
    size_t len)
{
	char p[PATH_MAX];
	struct cfgfile f;
	int is;

	if (state_path(store, name, p, sizeof(p)) < 0 || read_cfgfile(p, &f) < 0)
		return 0;
	if ((is = strcmp(f.id, id) == 0) && why != NULL)
		snprintf(why, len, "%s", f.why[0] ? f.why : "rolled back");
	cfgfile_free(&f);
	return is;
}

/* A config.set found open at start (control.c's resume_open). */
static void
resume_config(struct control *c, struct store_cmd *sc)
{
	const char *store = c->g->cfg->store;
	char why[STORE_CMD_WHY_MAX + 1];

	if (c->trial != NULL && strcmp(c->trial->sc.id, sc->id) == 0)
		return;		/* on trial now: config_trial_cycle ends it */
	if (file_is(store, "config.active", sc->id, NULL, 0))
		control_record(c, sc, "applied", NULL, NULL, 0);
	else if (file_is(store, "config.failed", sc->id, why, sizeof(why)))
		control_record(c, sc, "failed", why, NULL, 0);
	else
		control_record(c, sc, "failed", "interrupted by a restart before the "
		    "new config was in place", NULL, 0);
}

const struct cmd_type cmd_config_set = {
	.name = "config.set", .check = check_config, .apply = apply_config,
	.resume = resume_config,
};
