#include "firmware/core/gateway.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "firmware/codec/batch.h"
#include "firmware/core/forward.h"
#include "firmware/core/log.h"
#include "firmware/core/poller.h"
#include "firmware/core/sched.h"
#include "firmware/store/store.h"
#include "firmware/uplink/uplink.h"

/*
 * The collector gathers one cycle's readings from all buses and commits them as
 * one batch, in one transaction, when the last bus reports done. A bus that has
 * not finished by the next tick does not hold the cycle back: what has arrived is
 * committed then, and its late readings go with the next commit, timestamps intact.
 */
struct collector {
	struct reading *r;
	size_t n, cap;
	uint8_t *body;
	size_t body_cap;
	int64_t ts;		/* open cycle */
	size_t pending;		/* buses of the open cycle not done yet */
	uint64_t cycles, readings, overruns, missed;
	uint64_t dropped;	/* buffer full while the store refused: counted */
	uint64_t dropped_logged;
};

struct gateway {
	const struct site_config *cfg;
	struct loop *loop;
	struct store *store;
	struct forward *fwd;
	struct pollers *pollers;
	struct sched *sched;
	struct device *devs;
	uint32_t schema_id;
	struct collector col;
	enum gateway_exit exit;
	int sigfd;
};

static void
commit(struct gateway *g)
{
	struct collector *c = &g->col;
	struct store_batch b = { 0 };
	size_t len, raw_len, i;
	uint8_t flags = 0;
	int rc;

	if (c->dropped != c->dropped_logged) {
		log_warnx("collector: %llu readings dropped so far: store failing and "
		    "memory buffer full", (unsigned long long)c->dropped);
		c->dropped_logged = c->dropped;
	}
	if (c->n == 0)
		return;
	rc = batch_encode_body(c->r, c->n, c->body, c->body_cap, &len, &flags, &raw_len);
	if (rc < 0) {
		/* A broken invariant (duplicate reading, undersized buffer): say so loudly. */
		log_warnx("collector: cannot encode %zu readings: %s; they are dropped",
		    c->n, strerror(-rc));
		c->dropped += c->n;
		c->dropped_logged = c->dropped;
		c->n = 0;
		return;
	}
	b.schema_id = g->schema_id;
	b.flags = flags;
	b.t_first = c->r[0].ts_ms;
	for (i = 1; i < c->n; i++)
		if (c->r[i].ts_ms < b.t_first)
			b.t_first = c->r[i].ts_ms;
	b.n_readings = (uint32_t)c->n;
	b.raw_len = raw_len;
	b.body = c->body;
	b.body_len = len;
	if ((rc = store_append(g->store, &b)) < 0) {
		/* Kept in memory and retried with the next commit. */
		log_warnx("%s; %zu readings kept in memory", g->store->err, c->n);
		return;
	}
	log_debug("cycle %lld: %zu readings stored as batch %llu (%zu bytes)",
	    (long long)c->ts, c->n, (unsigned long long)b.seq, len);
	c->readings += c->n;
	c->n = 0;
	forward_kick(g->fwd);
}

static void
on_reading(void *arg, const struct reading *r)
{
	struct gateway *g = arg;
	struct collector *c = &g->col;

	if (c->n == c->cap)
		commit(g);
	if (c->n == c->cap) {
		/* Only if the store refuses and the buffer is full: counted, logged per commit. */
		c->dropped++;
		return;
	}
	c->r[c->n++] = *r;
}

static void
on_done(void *arg, size_t bus, int64_t ts)
{
	struct gateway *g = arg;
	struct collector *c = &g->col;

	(void)bus;
	if (ts != c->ts || c->pending == 0)
		return;		/* a late bus of an already committed cycle */
	if (--c->pending == 0) {
		c->cycles++;
		commit(g);
	}
}

static void
on_tick(int64_t tick, uint64_t missed, void *arg)
{
	struct gateway *g = arg;
	struct collector *c = &g->col;
	size_t overruns;

	if (missed > 0) {
		log_warnx("scheduler: %llu cycles missed (clock step or stall)",
		    (unsigned long long)missed);
		c->missed += missed;
	}
	if (c->pending > 0)
		commit(g);
	c->ts = tick;
	c->pending = pollers_trigger(g->pollers, tick, &overruns);
	if (overruns > 0) {
		c->overruns += overruns;
		log_warnx("cycle %lld: %zu bus(es) still busy with the previous cycle",
		    (long long)tick, overruns);
	}
}

/*
 * SIGHUP re-reads the config: if it is valid the loop ends with RELOAD and main()
 * re-executes the daemon with it (everything stored survives, nothing in memory is
 * lost: the collector commits first); if not, the error is logged and we go on.
 */
static void
on_signal(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct gateway *g = arg;
	struct signalfd_siginfo si;
	struct site_config next;
	char err[512];

	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGHUP) {
		if (config_load(g->cfg->path, &next, err, sizeof(err)) < 0) {
			log_warnx("SIGHUP: %s; keeping the running configuration", err);
			return;
		}
		config_free(&next);
		log_info("SIGHUP: %s is valid; restarting with it", g->cfg->path);
		g->exit = GW_EXIT_RELOAD;
	} else {
		log_info("%s: stopping", strsignal((int)si.ssi_signo));
		g->exit = GW_EXIT_STOP;
	}
	loop_stop(l);
}

static int
setup_schema(struct gateway *g)
{
	struct schema s;
	char *json;
	int rc;

	if ((rc = config_schema(g->cfg, &s)) < 0)
		return rc;
	rc = schema_to_json(&s, &json, &g->schema_id);
	config_schema_free(&s);
	if (rc < 0)
		return rc;
	rc = store_put_schema(g->store, g->schema_id, json);
	free(json);
	return rc;
}

static int
setup_devices(struct gateway *g)
{
	const struct site_config *cfg = g->cfg;
	size_t i, total = 0;
	char err[256];
	int rc;

	if ((g->devs = calloc(cfg->n_devices, sizeof(*g->devs))) == NULL)
		return -ENOMEM;
	for (i = 0; i < cfg->n_devices; i++) {
		struct device *d = &g->devs[i];

		d->ops = cfg->devices[i].driver;
		memcpy(d->name, cfg->devices[i].name, sizeof(d->name));
		d->index = (uint16_t)i;
		d->unit = cfg->devices[i].unit;
		d->profile = cfg->devices[i].profile;
		if ((rc = d->ops->probe(d, err, sizeof(err))) < 0) {
			log_warnx("device %s: %s", d->name, err);
			return rc;
		}
		total += d->profile->n_points;
	}
	/* Two cycles' worth: a late bus's readings plus the current cycle's. */
	g->col.cap = 2 * total;
	g->col.r = calloc(g->col.cap, sizeof(*g->col.r));
	g->col.body_cap = batch_body_bound(g->col.cap);
	g->col.body = malloc(g->col.body_cap);
	return g->col.r && g->col.body ? 0 : -ENOMEM;
}

static int
setup_signals(struct gateway *g)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	/* Blocked before any thread starts, so the workers inherit the mask. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	if ((g->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		return -errno;
	return loop_add(g->loop, g->sigfd, EPOLLIN, on_signal, g);
}

/* What this run did, once at stop: the counted drops and errors in one place. */
static void
log_summary(struct gateway *g)
{
	const struct collector *c = &g->col;
	struct forward_counts fc;

	forward_counts(g->fwd, &fc);
	log_info("this run: %llu cycles, %llu readings stored, %llu dropped; %llu "
	    "batches sent, %llu acknowledged, %llu set aside; %llu bus overruns, "
	    "%llu ticks missed", (unsigned long long)c->cycles,
	    (unsigned long long)c->readings, (unsigned long long)c->dropped,
	    (unsigned long long)fc.sent, (unsigned long long)fc.acked,
	    (unsigned long long)fc.errors, (unsigned long long)c->overruns,
	    (unsigned long long)c->missed);
}

static void
teardown(struct gateway *g)
{
	size_t i;

	sched_stop(g->sched);
	pollers_stop(g->pollers);	/* hands over what is still queued */
	if (g->store != NULL)
		commit(g);
	if (g->fwd != NULL)
		log_summary(g);
	forward_stop(g->fwd);
	store_close(g->store);
	for (i = 0; g->devs != NULL && i < g->cfg->n_devices; i++)
		if (g->devs[i].ops != NULL)
			g->devs[i].ops->close(&g->devs[i]);
	free(g->devs);
	free(g->col.r);
	free(g->col.body);
	if (g->sigfd >= 0)
		close(g->sigfd);
	loop_free(g->loop);
}

enum gateway_exit
gateway_run(const struct site_config *cfg)
{
	struct gateway g = { .cfg = cfg, .exit = GW_EXIT_ERROR, .sigfd = -1 };
	struct poller_events pev = { on_reading, on_done, &g };
	const struct uplink_ops *up;
	char err[512];
	int rc;

	if ((g.loop = loop_new()) == NULL)
		fatal("event loop");
	if ((rc = setup_signals(&g)) < 0) {
		log_warnx("signals: %s", strerror(-rc));
		goto out;
	}
	if ((rc = store_open_opts("sqlite", cfg->store, &(struct store_opts){
	    .sync = cfg->store_sync }, &g.store, err, sizeof(err))) < 0) {
		log_warnx("%s", err);
		goto out;
	}
	if (g.store->alarm[0] != '\0')
		log_warnx("ALARM: %s", g.store->alarm);
	if (g.store->notice[0] != '\0')
		log_info("%s", g.store->notice);
	if ((rc = setup_schema(&g)) < 0 || (rc = setup_devices(&g)) < 0) {
		log_warnx("startup: %s", strerror(-rc));
		goto out;
	}
	if ((up = uplink_find("mqtt")) == NULL) {
		log_warnx("no uplink is built into this image");
		goto out;
	}
	if ((rc = forward_start(g.loop, cfg, g.store, up, &g.fwd)) < 0 ||
	    (rc = pollers_start(g.loop, cfg, g.devs, &pev, &g.pollers)) < 0 ||
	    (rc = sched_start(g.loop, (int64_t)cfg->interval_s * 1000, on_tick, &g,
	    &g.sched)) < 0) {
		log_warnx("startup: %s", strerror(-rc));
		goto out;
	}
	log_info("gateway %s: %zu device(s) on %zu bus(es), every %u s, store %s",
	    cfg->gateway, cfg->n_devices, cfg->n_buses, cfg->interval_s, cfg->store);
	if ((rc = loop_run(g.loop)) < 0) {
		log_warnx("event loop: %s", strerror(-rc));
		g.exit = GW_EXIT_ERROR;
	}
out:
	teardown(&g);
	return g.exit;
}
