/*
 * "scan" {"bus": NAME, "from": 1, "to": 247}: a bus scan (docs/scan.md) on
 * one of the site's buses, run by that bus's own worker as a job, its config
 * snippet the result. Polling on that bus pauses meanwhile: the cycles that
 * come during the scan are skipped there (no readings from its devices for
 * them, a gap, not INVALID values; counted as bus overruns), and resume
 * after it. Other buses poll on. Each absent id costs the bus's timeout, so
 * a whole RTU bus at 1 s takes minutes: "from"/"to" narrow it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/base/log.h"
#include "firmware/core/control_internal.h"
#include "firmware/core/scan.h"

struct scan_job {
	struct control *c;
	struct store_cmd sc;
	struct poller_job job;
	size_t bus;
	int from, to, found;
	json_t *snippet;
	char err[256];
};

static int
cancelled(void *arg)
{
	return pollers_stopping(((struct scan_job *)arg)->c->g->pollers);
}

static int
parse(struct control *c, const struct cmd *k, size_t *bus, int *from, int *to,
    char *why, size_t len)
{
	const struct site_config *cfg = c->g->cfg;
	json_t *b = json_object_get(k->args, "bus");
	json_t *f = json_object_get(k->args, "from");
	json_t *t = json_object_get(k->args, "to");
	size_t i, n = 1 + (f != NULL) + (t != NULL);

	if (!json_is_string(b) || json_object_size(k->args) != n ||
	    (f != NULL && !json_is_integer(f)) || (t != NULL && !json_is_integer(t))) {
		snprintf(why, len, "args: {\"bus\": NAME[, \"from\": ID, \"to\": ID]}");
		return -EINVAL;
	}
	for (i = 0; i < cfg->n_buses; i++)
		if (strcmp(cfg->buses[i].name, json_string_value(b)) == 0)
			break;
	if (i == cfg->n_buses) {
		snprintf(why, len, "args: bus: '%.64s' is not a bus of this site",
		    json_string_value(b));
		return -ENOENT;
	}
	*bus = i;
	*from = f != NULL ? (int)json_integer_value(f) : 1;
	*to = t != NULL ? (int)json_integer_value(t) : 247;
	if (*from < (cfg->buses[i].bus.kind == BUS_TCP ? 0 : 1) || *to > 255 ||
	    *from > *to || (cfg->buses[i].bus.kind != BUS_TCP && *to > 247)) {
		snprintf(why, len, "args: from..to: %d..%d is not a range of unit ids "
		    "of this bus", *from, *to);
		return -ERANGE;
	}
	if (c->scan != NULL) {
		snprintf(why, len, "a scan is under way (command %s)", c->scan->sc.id);
		return -EBUSY;
	}
	return 0;
}

static int
check_scan(struct control *c, const struct cmd *k, char *why, size_t len)
{
	size_t bus;
	int from, to;

	return parse(c, k, &bus, &from, &to, why, len);
}

/* In the bus worker. */
static int
scan_run(struct bus *b, void *arg)
{
	struct scan_job *s = arg;
	const struct site_config *cfg = s->c->g->cfg;
	struct profile *ps = calloc(SCAN_PROFILES_MAX, sizeof(*ps));
	size_t n = 0, i;
	int rc;

	if (ps == NULL)
		return -ENOMEM;
	if ((rc = scan_load_profiles(cfg->profiles_dir, ps, &n, s->err,
	    sizeof(s->err))) < 0)
		rc = -EINVAL;
	else if ((rc = scan_bus_until(b, &cfg->buses[s->bus].bus, s->from, s->to,
	    ps, n, NULL, &s->snippet, &s->found, cancelled, s)) < 0)
		snprintf(s->err, sizeof(s->err), "scan: %s", rc == -ECANCELED ?
		    "the daemon stopped before it was done" : strerror(-rc));
	for (i = 0; i < n; i++)
		profile_free(&ps[i]);
	free(ps);
	return rc;
}

static void
scan_done(void *arg, int rc)
{
	struct scan_job *s = arg;
	char why[64];

	s->c->scan = NULL;
	if (rc < 0)
		control_record(s->c, &s->sc, "failed", s->err, NULL, 0);
	else {
		snprintf(why, sizeof(why), "%d device(s) identified", s->found);
		control_record(s->c, &s->sc, "applied", why, s->snippet, 0);
		s->snippet = NULL;
	}
	json_decref(s->snippet);
	free(s);
}

static int
apply_scan(struct control *c, const struct cmd *k, struct store_cmd *sc,
    const char **state, char *why, size_t len, json_t **result)
{
	struct scan_job *s;
	int rc;

	(void)result;
	*state = "failed";
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(why, len, "out of memory");
		return CMD_DONE;
	}
	if (parse(c, k, &s->bus, &s->from, &s->to, why, len) < 0) {
		free(s);
		return CMD_DONE;
	}
	s->c = c;
	s->sc = *sc;
	s->job = (struct poller_job){ scan_run, scan_done, s, 0, 1 };
	if ((rc = pollers_job(c->g->pollers, s->bus, &s->job)) < 0) {
		snprintf(why, len, "the bus worker cannot take it now: %s",
		    strerror(-rc));
		free(s);
		return CMD_DONE;
	}
	c->scan = s;
	log_info("scan: command %s: bus %s, units %d..%d; polling on it pauses",
	    sc->id, c->g->cfg->buses[s->bus].name, s->from, s->to);
	return CMD_LATER;
}

/* At stop, after the workers: a scan whose job never ran. */
void
scan_ctl_stop(struct control *c)
{
	if (c->scan == NULL)
		return;
	json_decref(c->scan->snippet);
	free(c->scan);
	c->scan = NULL;
}

const struct cmd_type cmd_scan = {
	.name = "scan", .check = check_scan, .apply = apply_scan,
};
