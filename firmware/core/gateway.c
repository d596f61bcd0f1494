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
#include "firmware/core/hold.h"
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
 *
 * Until the wall clock is valid, cycles are stamped on the boot clock and their
 * readings go to the hold instead of the store; when it becomes valid they are
 * repaired and stored first, oldest first, before any later cycle
 * (docs/clock.md).
 */
#define HOLD_CHUNK	1024	/* repaired readings per stored batch */

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
	/* wall clock */
	int held;		/* the buffered readings carry boot-clock stamps */
	int valid;		/* the wall clock became valid in this run */
	int64_t offset;		/* wall - boot then */
	int64_t held_last;	/* last held cycle (boot ms): later stamps are wall */
	struct hold hold;
	uint64_t hold_dropped_logged, skipped, ahead;
	struct reading *chunk;	/* scratch for storing the repaired hold */
	uint8_t *chunk_body;
	size_t chunk_body_cap;
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

/*
 * Encode and store n readings as one batch: 0; -EIO if the store refused (the
 * caller keeps them); -EINVAL if they cannot be encoded (a broken invariant:
 * duplicate reading, undersized buffer), then they are counted as dropped.
 */
static int
store_readings(struct gateway *g, const struct reading *r, size_t n, uint8_t *body,
    size_t body_cap)
{
	struct collector *c = &g->col;
	struct store_batch b = { 0 };
	size_t len, raw_len, i;
	uint8_t flags = 0;
	int rc;

	rc = batch_encode_body(r, n, body, body_cap, &len, &flags, &raw_len);
	if (rc < 0) {
		/* A broken invariant (duplicate reading, undersized buffer): say so loudly. */
		log_warnx("collector: cannot encode %zu readings: %s; they are dropped",
		    n, strerror(-rc));
		c->dropped += n;
		c->dropped_logged = c->dropped;
		return -EINVAL;
	}
	b.schema_id = g->schema_id;
	b.flags = flags;
	b.t_first = r[0].ts_ms;
	for (i = 1; i < n; i++)
		if (r[i].ts_ms < b.t_first)
			b.t_first = r[i].ts_ms;
	b.n_readings = (uint32_t)n;
	b.raw_len = raw_len;
	b.body = body;
	b.body_len = len;
	if ((rc = store_append(g->store, &b)) < 0) {
		log_warnx("%s; %zu readings kept in memory", g->store->err, n);
		return -EIO;
	}
	log_debug("cycle %lld: %zu readings stored as batch %llu (%zu bytes)",
	    (long long)r[0].ts_ms, n, (unsigned long long)b.seq, len);
	c->readings += n;
	return 0;
}

static void
log_hold_drops(struct collector *c)
{
	if (c->hold.dropped == c->hold_dropped_logged)
		return;
	log_warnx("collector: %llu held readings dropped so far: the wall clock is "
	    "not valid yet and the hold is full (%zu readings); the oldest go",
	    (unsigned long long)c->hold.dropped, c->hold.max);
	c->hold_dropped_logged = c->hold.dropped;
}

/*
 * The repaired hold goes to the store before anything newer, in batches of
 * HOLD_CHUNK readings. 0 when the hold is empty, -EIO if the store refused (the
 * rest stays held and is retried with the next commit, newer readings wait).
 */
static int
flush_hold(struct gateway *g)
{
	struct collector *c = &g->col;
	size_t n;
	int rc;

	if (c->hold.n == 0 || !c->hold.repaired)
		return 0;
	if (c->chunk == NULL) {
		c->chunk_body_cap = batch_body_bound(HOLD_CHUNK);
		c->chunk = calloc(HOLD_CHUNK, sizeof(*c->chunk));
		c->chunk_body = malloc(c->chunk_body_cap);
		if (c->chunk == NULL || c->chunk_body == NULL) {
			log_warnx("collector: no memory to store %zu held readings; kept",
			    c->hold.n);
			return -EIO;
		}
	}
	while ((n = hold_peek(&c->hold, c->chunk, HOLD_CHUNK)) > 0) {
		if ((rc = store_readings(g, c->chunk, n, c->chunk_body,
		    c->chunk_body_cap)) == -EIO)
			return rc;
		hold_pop(&c->hold, n);
	}
	free(c->chunk);
	free(c->chunk_body);
	c->chunk = NULL;
	c->chunk_body = NULL;
	return 0;
}

static void
commit(struct gateway *g)
{
	struct collector *c = &g->col;
	int rc, flushed;

	if (c->dropped != c->dropped_logged) {
		log_warnx("collector: %llu readings dropped so far: store failing and "
		    "memory buffer full", (unsigned long long)c->dropped);
		c->dropped_logged = c->dropped;
	}
	if (c->held) {
		if (hold_put(&c->hold, c->r, c->n) < 0)
			log_warnx("collector: no memory to grow the hold");
		c->n = 0;
		log_hold_drops(c);
		return;
	}
	flushed = c->hold.n > 0;
	if (flush_hold(g) < 0) {
		if (c->n > 0)
			log_warnx("collector: %zu readings wait behind the held ones", c->n);
		return;
	}
	if (c->n == 0) {
		if (flushed)
			forward_kick(g->fwd);
		return;
	}
	/* Kept in memory and retried with the next commit if the store refuses. */
	if ((rc = store_readings(g, c->r, c->n, c->body, c->body_cap)) == -EIO)
		return;
	c->n = 0;
	forward_kick(g->fwd);
}

/* A late reading of a cycle held before the clock became valid: repair it. */
static int64_t
repair_late(const struct collector *c, int64_t ts)
{
	return c->valid && ts <= c->held_last ? clock_repair(ts, c->offset) : ts;
}

static void
on_reading(void *arg, const struct reading *in)
{
	struct gateway *g = arg;
	struct collector *c = &g->col;
	struct reading rr = *in, *r = &rr;

	r->ts_ms = repair_late(c, r->ts_ms);

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
	ts = repair_late(c, ts);
	if (ts != c->ts || c->pending == 0)
		return;		/* a late bus of an already committed cycle */
	if (--c->pending == 0) {
		c->cycles++;
		commit(g);
	}
}

static void
on_tick(void *arg, const struct sched_wake *w)
{
	struct gateway *g = arg;
	struct collector *c = &g->col;
	int64_t tick = w->tick;
	size_t overruns;

	if (w->missed > 0) {
		log_warnx("scheduler: %llu cycles missed (stall or suspend)",
		    (unsigned long long)w->missed);
		c->missed += w->missed;
	}
	if (w->skipped > 0) {
		log_info("scheduler: %llu cycles skipped by a forward clock step",
		    (unsigned long long)w->skipped);
		c->skipped += w->skipped;
	}
	c->ahead += (uint64_t)w->ahead;
	if (c->pending > 0)
		commit(g);
	c->held = w->held;
	if (w->held)
		c->held_last = tick;
	c->ts = tick;
	c->pending = pollers_trigger(g->pollers, tick, &overruns);
	if (overruns > 0) {
		c->overruns += overruns;
		log_warnx("cycle %lld: %zu bus(es) still busy with the previous cycle",
		    (long long)tick, overruns);
	}
}

/*
 * The wall clock is valid: what is held (and what is buffered of the cycle
 * under way) gets wall stamps, and is stored before anything newer. The
 * cycle under way is committed when its buses are done, as usual; late
 * readings of held cycles are repaired as they come (repair_late).
 */
static void
on_clock_valid(void *arg, int64_t offset)
{
	struct gateway *g = arg;
	struct collector *c = &g->col;
	size_t i;

	c->valid = 1;
	c->offset = offset;
	if (!c->held)
		return;
	c->held = 0;
	for (i = 0; i < c->n; i++)
		c->r[i].ts_ms = clock_repair(c->r[i].ts_ms, offset);
	if (c->pending > 0)
		c->ts = clock_repair(c->ts, offset);
	log_info("collector: %zu held readings get wall-clock stamps (%+lld ms)%s",
	    c->hold.n + c->n, (long long)offset, c->hold.dropped > 0 ?
	    "; the oldest were dropped while held" : "");
	hold_repair(&c->hold, offset);
	if (c->pending == 0)
		commit(g);
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
	if (c->skipped || c->ahead || c->hold.dropped || c->hold.n)
		log_info("this run's clock: %llu ticks skipped by forward steps, %llu "
		    "stamped ahead after backward steps; %llu held readings dropped "
		    "(hold full), %zu lost at stop (the wall clock never became valid)",
		    (unsigned long long)c->skipped, (unsigned long long)c->ahead,
		    (unsigned long long)c->hold.dropped, c->hold.n);
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
	hold_free(&g->col.hold);
	free(g->col.chunk);
	free(g->col.chunk_body);
	if (g->sigfd >= 0)
		close(g->sigfd);
	loop_free(g->loop);
}

enum gateway_exit
gateway_run(const struct site_config *cfg)
{
	struct gateway g = { .cfg = cfg, .exit = GW_EXIT_ERROR, .sigfd = -1 };
	struct poller_events pev = { on_reading, on_done, &g };
	struct sched_events sev = { on_tick, on_clock_valid, &g };
	const struct uplink_ops *up;
	char err[512];
	int rc;

	if ((g.loop = loop_new()) == NULL)
		fatal("event loop");
	hold_init(&g.col.hold, 0);
	if ((rc = setup_signals(&g)) < 0) {
		log_warnx("signals: %s", strerror(-rc));
		goto out;
	}
	if ((rc = store_open("sqlite", cfg->store, &g.store, err, sizeof(err))) < 0) {
		log_warnx("%s", err);
		goto out;
	}
	if (g.store->alarm[0] != '\0')
		log_warnx("ALARM: %s", g.store->alarm);
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
	    (rc = sched_start(g.loop, (int64_t)cfg->interval_s * 1000, &sev,
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
