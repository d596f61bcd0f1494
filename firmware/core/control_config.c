/*
 * config.set: a whole new site config from the fleet, on trial until it
 * proves itself, rolled back by itself when it does not (docs/commands.md).
 *
 * The files, all in the state directory (beside the store, which a fleet
 * config may not move):
 *   config.trial.json + .meta   a config on trial ("ID BOOTS\n" in .meta)
 *   config.active.json + .meta  the fleet's config in force
 *   config.failed.json + .meta  the last one rolled back ("ID BOOTS\nWHY\n")
 * The file given with -c stays the base: it is used when the state
 * directory holds no fleet config, and it names the state directory.
 *
 * A trial ends "applied" when, within trial_cycles cycles, at least one
 * device answered and the uplink acknowledged a batch; otherwise it is
 * rolled back: the files move to config.failed.*, the daemon restarts on
 * the previous config (exec, as a SIGHUP reload does) and the journal says
 * "failed" with what was missing. A config that makes the daemon fail to
 * start at all is rolled back after TRIAL_BOOTS starts. Readings are never
 * lost on the way: the restart commits the open cycle, the store stays.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/base/log.h"
#include "firmware/core/control_config.h"
#include "firmware/core/control_internal.h"

#define TRIAL_BOOTS	3	/* starts a config on trial gets */

struct config_trial {
	struct store_cmd sc;
	unsigned cycles;
	int polled, acked;
	uint64_t acked_base;
};

static int
state_path(const char *store, const char *name, char *out, size_t len)
{
	const char *slash = strrchr(store, '/');
	int n = slash == NULL ? snprintf(out, len, "%s", name) :
	    snprintf(out, len, "%.*s/%s", (int)(slash - store), store, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Write a whole file durably: temp, fsync, rename, fsync of the directory. */
static int
write_file(const char *path, const char *data, size_t len)
{
	char tmp[PATH_MAX + 8], dir[PATH_MAX], *slash;
	int fd, rc = 0;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return -errno;
	if (write(fd, data, len) != (ssize_t)len || fsync(fd) < 0)
		rc = -errno ? -errno : -EIO;
	close(fd);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) != NULL) {
		*slash = '\0';
		if ((fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY)) >= 0) {
			fsync(fd);
			close(fd);
		}
	}
	return 0;
}

/* A .meta file: "ID BOOTS\n[WHY\n]". 0 or -errno. */
static int
read_meta(const char *path, char *id, size_t idlen, unsigned *boots, char *why,
    size_t whylen)
{
	char line[STORE_CMD_WHY_MAX + 2], *sp, *end;
	FILE *f = fopen(path, "re");
	int rc = -ENOENT;

	if (f == NULL)
		return -errno;
	if (fgets(line, sizeof(line), f) != NULL && (sp = strchr(line, ' ')) != NULL &&
	    (size_t)(sp - line) < idlen) {
		unsigned long b = strtoul(sp + 1, &end, 10);

		memcpy(id, line, (size_t)(sp - line));
		id[sp - line] = '\0';
		*boots = (unsigned)b;
		rc = end != sp + 1 && b < 1000 ? 0 : -EINVAL;
	}
	if (why != NULL) {
		why[0] = '\0';
		if (fgets(line, sizeof(line), f) != NULL) {
			size_t n = strcspn(line, "\n");

			n = n < whylen ? n : whylen - 1;
			memcpy(why, line, n);
			why[n] = '\0';
		}
	}
	fclose(f);
	return rc;
}

static int
write_meta(const char *path, const char *id, unsigned boots, const char *why)
{
	char buf[STORE_CMD_ID_MAX + STORE_CMD_WHY_MAX + 32];
	int n = snprintf(buf, sizeof(buf), "%s %u\n%s%s", id, boots,
	    why != NULL ? why : "", why != NULL ? "\n" : "");

	return write_file(path, buf, (size_t)n < sizeof(buf) ? (size_t)n :
	    sizeof(buf) - 1);
}

static void
move(const char *store, const char *from, const char *to)
{
	static const char *const ext[] = { ".json", ".meta" };
	char a[PATH_MAX], b[PATH_MAX], fa[PATH_MAX], fb[PATH_MAX];
	size_t i;

	for (i = 0; i < 2; i++) {
		snprintf(fa, sizeof(fa), "%s%s", from, ext[i]);
		snprintf(fb, sizeof(fb), "%s%s", to, ext[i]);
		if (state_path(store, fa, a, sizeof(a)) < 0 ||
		    state_path(store, fb, b, sizeof(b)) < 0)
			return;
		if (rename(a, b) < 0 && errno != ENOENT)
			log_warn("config: %s -> %s", a, b);
	}
}

/*
 * Which config this start runs: the trial one while it has starts left,
 * else the fleet's active one, else the base. A fleet file that no longer
 * loads (a profile it names was removed) is logged and passed over.
 */
int
control_config_pick(const char *base, struct site_config *cfg, int *trial,
    char *err, size_t errlen)
{
	char tp[PATH_MAX], mp[PATH_MAX], ap[PATH_MAX], id[STORE_CMD_ID_MAX + 1];
	char store[CFG_PATH_MAX], e2[512];
	struct site_config next;
	unsigned boots = 0;
	int rc;

	*trial = 0;
	if ((rc = config_load(base, cfg, err, errlen)) < 0 || !cfg->control.enabled)
		return rc;
	snprintf(store, sizeof(store), "%s", cfg->store);
	if (state_path(store, "config.trial.json", tp, sizeof(tp)) < 0 ||
	    state_path(store, "config.trial.meta", mp, sizeof(mp)) < 0 ||
	    state_path(store, "config.active.json", ap, sizeof(ap)) < 0)
		return 0;
	if (access(tp, F_OK) == 0) {
		if (read_meta(mp, id, sizeof(id), &boots, NULL, 0) < 0 ||
		    boots >= TRIAL_BOOTS) {
			log_warnx("config: the config on trial did not start %u times; "
			    "rolled back", TRIAL_BOOTS);
			write_meta(mp, id, boots, "rolled back: the daemon did not "
			    "start with it");
			move(store, "config.trial", "config.failed");
		} else if (write_meta(mp, id, boots + 1, NULL) == 0 &&
		    config_load(tp, &next, e2, sizeof(e2)) == 0) {
			config_free(cfg);
			*cfg = next;
			*trial = 1;
			log_info("config: %s on trial (command %s, start %u of %u)", tp,
			    id, boots + 1, TRIAL_BOOTS);
			return 0;
		} else {
			log_warnx("config: the config on trial does not load (%s); "
			    "rolled back", e2);
			write_meta(mp, id, boots, "rolled back: it no longer loads");
			move(store, "config.trial", "config.failed");
		}
	}
	if (access(ap, F_OK) == 0) {
		if (config_load(ap, &next, e2, sizeof(e2)) == 0) {
			config_free(cfg);
			*cfg = next;
		} else
			log_warnx("config: the fleet's config does not load (%s); "
			    "running %s", e2, base);
	}
	return 0;
}

/* The same rules as --check, and two more: the store stays, control stays. */
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
	char tp[PATH_MAX], mp[PATH_MAX], *text;
	int rc;

	(void)result;
	*state = "failed";
	if (state_path(store, "config.trial.json", tp, sizeof(tp)) < 0 ||
	    state_path(store, "config.trial.meta", mp, sizeof(mp)) < 0) {
		snprintf(why, len, "state directory path too long");
		return CMD_DONE;
	}
	if ((text = json_dumps(json_object_get(k->args, "config"),
	    JSON_INDENT(2))) == NULL) {
		snprintf(why, len, "out of memory");
		return CMD_DONE;
	}
	/* The meta first: a trial file is never without its command's id. */
	if ((rc = write_meta(mp, k->id, 0, NULL)) < 0 ||
	    (rc = write_file(tp, text, strlen(text))) < 0) {
		free(text);
		snprintf(why, len, "cannot write %s: %s", tp, strerror(-rc));
		unlink(mp);
		return CMD_DONE;
	}
	free(text);
	if (control_record(c, sc, "trial", NULL, NULL, 0) < 0) {
		unlink(tp);
		unlink(mp);
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
	char mp[PATH_MAX];
	struct store_cmd sc = c->trial->sc;
	json_t *res = json_pack("{s:i,s:b,s:b}", "cycles", (int)c->trial->cycles,
	    "polled", c->trial->polled, "acknowledged", c->trial->acked);

	if (ok) {
		move(store, "config.trial", "config.active");
		control_record(c, &sc, "applied", NULL, res, 0);
	} else {
		if (state_path(store, "config.trial.meta", mp, sizeof(mp)) == 0)
			write_meta(mp, sc.id, 0, why);
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

	if (t == NULL)
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

/* Running on a trial config: follow its command. */
int
config_trial_start(struct control *c)
{
	const char *store = c->g->cfg->store;
	char tp[PATH_MAX], mp[PATH_MAX], id[STORE_CMD_ID_MAX + 1];
	struct config_trial *t;
	unsigned boots;

	if (state_path(store, "config.trial.json", tp, sizeof(tp)) < 0 ||
	    state_path(store, "config.trial.meta", mp, sizeof(mp)) < 0 ||
	    strcmp(c->g->cfg->path, tp) != 0 ||
	    read_meta(mp, id, sizeof(id), &boots, NULL, 0) < 0)
		return 0;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -ENOMEM;
	if (store_cmd_get(c->g->store, id, &t->sc, NULL) < 0) {
		/* Journal lost with the files kept: the trial runs, reported as a
		 * command of unknown seq. */
		snprintf(t->sc.id, sizeof(t->sc.id), "%s", id);
		snprintf(t->sc.type, sizeof(t->sc.type), "config.set");
		t->sc.verified = 1;
	}
	c->trial = t;
	return 0;
}

void
config_trial_stop(struct control *c)
{
	free(c->trial);
	c->trial = NULL;
}

/* A config.set found open at start (control.c's resume_open). */
static void
resume_config(struct control *c, struct store_cmd *sc)
{
	const char *store = c->g->cfg->store;
	char p[PATH_MAX], id[STORE_CMD_ID_MAX + 1], why[STORE_CMD_WHY_MAX + 1];
	unsigned boots;

	if (c->trial != NULL && strcmp(c->trial->sc.id, sc->id) == 0)
		return;		/* on trial now: config_trial_cycle ends it */
	if (state_path(store, "config.active.meta", p, sizeof(p)) == 0 &&
	    read_meta(p, id, sizeof(id), &boots, NULL, 0) == 0 &&
	    strcmp(id, sc->id) == 0) {
		control_record(c, sc, "applied", NULL, NULL, 0);
		return;
	}
	if (state_path(store, "config.failed.meta", p, sizeof(p)) == 0 &&
	    read_meta(p, id, sizeof(id), &boots, why, sizeof(why)) == 0 &&
	    strcmp(id, sc->id) == 0) {
		control_record(c, sc, "failed", why[0] ? why : "rolled back", NULL, 0);
		return;
	}
	control_record(c, sc, "failed", "interrupted by a restart before the new "
	    "config was in place", NULL, 0);
}

const struct cmd_type cmd_config_set = {
	.name = "config.set", .check = check_config, .apply = apply_config,
	.resume = resume_config,
};
