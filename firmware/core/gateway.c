#include "firmware/core/gateway.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "firmware/codec/batch.h"
#include "firmware/core/clock.h"
#include "firmware/core/forward.h"
#include "firmware/core/health.h"
#include "firmware/core/hold.h"
#include "firmware/core/log.h"
#include "firmware/core/poller.h"
#include "firmware/core/presync.h"
#include "firmware/core/sched.h"
#include "firmware/store/budget.h"
#include "firmware/store/merge.h"
#include "firmware/store/store.h"
#include "firmware/store/store_fs.h"
#include "firmware/uplink/uplink.h"

/*
 * The collector gathers one cycle's readings from all buses and commits them as
 * one batch, in one transaction, when the last bus reports done. A bus that has
 * not finished by the next tick does not hold the cycle back: what has arrived is
 * committed then, and its late readings go with the next commit, timestamps intact.
 *
 * Until the wall clock is valid, cycles are stamped on the boot clock and their
 * readings go to the presync hold instead of the store; when it becomes valid
 * they are repaired and stored first, oldest first, before any later cycle
 * (docs/clock.md). A store that refuses writes is another matter: its cycles
 * are held by hold.c and sent live meanwhile.
 */
#define PRESYNC_CHUNK	1024	/* repaired readings per stored batch */

struct collector {
	struct reading *r;
	size_t n, cap;
	uint8_t *body;
	size_t body_cap;
	int64_t ts;		/* open cycle */
	size_t pending;		/* buses of the open cycle not done yet */
	uint64_t cycles, readings, overruns, missed;
	uint64_t dropped;	/* encode failures and a full buffer: counted */
	uint64_t dropped_logged;
	uint64_t unmerged;	/* readings in pending (never sent) batches */
	struct budget_counts budget;	/* what the store budget removed */
	/* Of this run's outside drops, how many the store's ledger has been
	 * handed (hand_over_drops). */
	uint64_t fed_dropped, fed_presync, fed_memory_full;
	/* wall clock */
	int held;		/* the buffered readings carry boot-clock stamps */
	int valid;		/* the wall clock became valid in this run */
	int64_t offset;		/* wall - boot then */
	int64_t held_last;	/* last held cycle (boot ms): later stamps are wall */
	struct presync presync;
	uint64_t presync_dropped_logged, skipped, ahead;
	struct reading *chunk;	/* scratch for storing the repaired presync hold */
	uint8_t *chunk_body;
	size_t chunk_body_cap;
};

struct gateway {
	const struct site_config *cfg;
	struct loop *loop;
	struct store *store;
	struct forward *fwd;
	struct hold *hold;	/* cycles the store refused */
	struct pollers *pollers;
	struct sched *sched;
	struct device *devs;
	struct health health;	/* device health and store budget: metrics */
	struct store_drops drops_sent;	/* the ledger's totals last in the metrics */
	uint32_t schema_id;
	struct collector col;
	enum gateway_exit exit;
	int sigfd;
};

/*
 * Merge what the link-down cycles left pending into large batches: a full run
 * now and then during an outage (one extra transaction per ~80 min), all of it
 * when the link comes back (forward.c).
 */
static void
merge_backlog(struct gateway *g)
{
	struct merge_result res;

	if (merge_pending(g->store, 0, &res) < 0) {
		log_warnx("%s; the backlog stays unmerged for now", g->store->err);
		return;
	}
	g->col.unmerged = res.left;
	if (res.made > 0 || res.sealed > 0)
		log_debug("merge: %llu batches into %llu, %llu left as they were, "
		    "%llu readings still pending", (unsigned long long)res.merged,
		    (unsigned long long)res.made, (unsigned long long)res.sealed,
		    (unsigned long long)res.left);
}

/*
 * The store budget after each commit; what it removed is logged there, and
 * counted in the store's drop ledger by the transaction that removed it.
 */
static void
apply_budget(struct gateway *g)
{
	struct clock_pair now;

	clock_read(&now);
	/* No age limit while the clock cannot be trusted (no RTC, before NTP). */
	if (budget_apply(g->store, (uint64_t)g->cfg->store_max_mb << 20,
	    (int64_t)g->cfg->store_max_days * 86400000, clock_wall_valid(now.wall) ?
	    now.wall : 0, &g->col.budget) < 0)
		log_warnx("%s; store budget not applied", g->store->err);
}

/* Causes that drop readings one by one, not batches: no "_batches" field. */
static int
counts_batches(enum store_drop_cause cause)
{
	return cause <= STORE_DROP_DISK_FULL;
}

/*
 * The ledger's lifetime totals as "name":n pairs (json) or name=n words (the
 * state line), in the same names: <cause>_batches, <cause>_readings.
 */
static void
format_drops(const struct store_drops *d, int json, char *buf, size_t len)
{
	size_t at = 0;
	int i, n;

	buf[0] = '\0';
	for (i = 0; i < STORE_DROP_CAUSES && at < len; i++) {
		const char *name = store_drop_name(i);

		if (counts_batches(i)) {
			n = snprintf(buf + at, len - at, json ? "%s\"%s_batches\":%llu" :
			    "%s%s_batches=%llu", at > 0 ? (json ? "," : " ") : "", name,
			    (unsigned long long)d->c[i].batches);
			at += n > 0 ? (size_t)n : 0;
		}
		if (at < len) {
			n = snprintf(buf + at, len - at, json ? "%s\"%s_readings\":%llu" :
			    "%s%s_readings=%llu", at > 0 ? (json ? "," : " ") : "", name,
			    (unsigned long long)d->c[i].readings);
			at += n > 0 ? (size_t)n : 0;
		}
	}
}

/*
 * Drops made outside the store (memory full while it refused, encode failure
 * or a full cycle buffer, the presync hold full) go to its ledger as deltas;
 * the store writes them with the next transaction it commits (the next
 * cycle's append, or whatever comes first), not in one of their own: a cycle
 * costs no extra transaction, and a cycle without drops no extra write.
 */
static void
hand_over(struct store *s, enum store_drop_cause cause, uint64_t now,
    uint64_t *fed)
{
	if (now > *fed)
		store_count_drop(s, cause, 0, now - *fed);
	*fed = now;
}

static void
hand_over_drops(struct gateway *g)
{
	struct collector *c = &g->col;
	struct hold_counts hc;

	if (g->store == NULL || g->hold == NULL)
		return;
	hold_counts(g->hold, &hc);
	hand_over(g->store, STORE_DROP_MEMORY_FULL, hc.dropped, &c->fed_memory_full);
	hand_over(g->store, STORE_DROP_COLLECTOR, c->dropped, &c->fed_dropped);
	hand_over(g->store, STORE_DROP_PRESYNC, c->presync.dropped, &c->fed_presync);
}

/*
 * The retained metrics message's "store" object: the ledger's lifetime
 * totals (docs/mqtt.md), sent when they changed. The first cycle after a
 * start sends them if any is not 0, so a restart does not make the retained
 * message forget them.
 */
static void
report_drops(struct gateway *g)
{
	struct store_drops d;
	char fields[400];
	const char *json;

	store_drops(g->store, &d);
	if (memcmp(&d, &g->drops_sent, sizeof(d)) == 0)
		return;
	g->drops_sent = d;
	format_drops(&d, 1, fields, sizeof(fields));
	snprintf(g->health.store, sizeof(g->health.store), "\"store\":{%s,"
	    "\"max_mb\":%u,\"max_days\":%u}", fields, g->cfg->store_max_mb,
	    g->cfg->store_max_days);
	if ((json = health_json(&g->health)) != NULL)
		forward_metrics(g->fwd, json);
}

/* After each cycle: device health, when something changed (health.c). */
static void
send_health(struct gateway *g)
{
	struct clock_pair now;
	const char *json;

	if (g->pollers == NULL || g->health.now == NULL)
		return;
	clock_read(&now);
	if ((json = health_due(&g->health, g->pollers, now.boot, 0)) != NULL)
		forward_metrics(g->fwd, json);
}

/*
 * Encode and commit n readings as one batch: stored, or held in memory and sent
 * live while the store refuses (hold.c). 0, or -EINVAL if they cannot be
 * encoded (a broken invariant: duplicate reading, undersized buffer); then
 * they are counted as dropped.
 */
static int
store_readings(struct gateway *g, const struct reading *r, size_t n, uint8_t *body,
    size_t body_cap)
{
	struct collector *c = &g->col;
	struct store_batch b = { 0 };
	size_t len, raw_len;
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
	b.t_first = batch_t_first(r, n);
	b.n_readings = (uint32_t)n;
	b.raw_len = raw_len;
	b.body = body;
	b.body_len = len;
	/* Committed while the link is down: a backlog batch, to be merged. */
	b.pending = !forward_connected(g->fwd);
	c->readings += n;
	hand_over_drops(g);	/* this append writes them */
	if (hold_commit(g->hold, g->store, g->fwd, &b) != 1)
		return 0;
	log_debug("cycle %lld: %zu readings stored as batch %llu (%zu bytes)",
	    (long long)r[0].ts_ms, n, (unsigned long long)b.seq, len);
	if (b.pending && (c->unmerged += n) >= MERGE_READINGS)
		merge_backlog(g);
	apply_budget(g);
	forward_kick(g->fwd);
	return 0;
}

static void
log_presync_drops(struct collector *c)
{
	if (c->presync.dropped == c->presync_dropped_logged)
		return;
	log_warnx("collector: %llu held readings dropped so far: the wall clock is "
	    "not valid yet and the hold is full (%zu readings); the oldest go",
	    (unsigned long long)c->presync.dropped, c->presync.max);
	c->presync_dropped_logged = c->presync.dropped;
}

/*
 * The repaired presync hold goes to the store before anything newer, in
 * batches of PRESYNC_CHUNK readings. 0 when it is empty, -ENOMEM if there is
 * no memory to do it now (the rest stays held, newer readings wait).
 */
static int
flush_presync(struct gateway *g)
{
	struct collector *c = &g->col;
	size_t n;

	if (c->presync.n == 0 || !c->presync.repaired)
		return 0;
	if (c->chunk == NULL) {
		c->chunk_body_cap = batch_body_bound(PRESYNC_CHUNK);
		c->chunk = calloc(PRESYNC_CHUNK, sizeof(*c->chunk));
		c->chunk_body = malloc(c->chunk_body_cap);
		if (c->chunk == NULL || c->chunk_body == NULL) {
			log_warnx("collector: no memory to store %zu held readings; kept",
			    c->presync.n);
			return -ENOMEM;
		}
	}
	while ((n = presync_peek(&c->presync, c->chunk, PRESYNC_CHUNK)) > 0) {
		store_readings(g, c->chunk, n, c->chunk_body, c->chunk_body_cap);
		presync_pop(&c->presync, n);
	}
	free(c->chunk);
	free(c->chunk_body);
	c->chunk = NULL;
	c->chunk_body = NULL;
	return 0;
}

static void
commit_cycle(struct gateway *g)
{
	struct collector *c = &g->col;

	if (c->dropped != c->dropped_logged) {
		log_warnx("collector: %llu readings dropped so far: cycle buffer full",
		    (unsigned long long)c->dropped);
		c->dropped_logged = c->dropped;
	}
	if (c->held) {
		if (presync_put(&c->presync, c->r, c->n) < 0)
			log_warnx("collector: no memory to grow the presync hold");
		c->n = 0;
		log_presync_drops(c);
		return;
	}
	if (flush_presync(g) < 0) {
		if (c->n > 0)
			log_warnx("collector: %zu readings wait behind the held ones", c->n);
		return;
	}
	if (c->n > 0)
		store_readings(g, c->r, c->n, c->body, c->body_cap);
	c->n = 0;
	send_health(g);
}

/* A cycle, and the drop ledger's totals in the metrics if they changed. */
static void
commit(struct gateway *g)
{
	commit_cycle(g);
	hand_over_drops(g);
	report_drops(g);
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
		/* Only if held readings wait for memory and the buffer is full: counted. */
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
	    c->presync.n + c->n, (long long)offset, c->presync.dropped > 0 ?
	    "; the oldest were dropped while held" : "");
	presync_repair(&c->presync, offset);
	if (c->pending == 0)
		commit(g);
}

/*
 * SIGUSR1: one line with what the store holds. The store is opened with an
 * exclusive lock (flash wear: no -shm index file to write back every cycle), so
 * nobody else can open it while the daemon runs; this line is how a technician,
 * a script or a test sees inside it.
 */
static void
log_state(struct gateway *g)
{
	struct store_stats st;
	struct store_drops d;
	char drops[400];

	if (g->store == NULL || store_stats(g->store, &st) < 0) {
		log_warnx("state: store unavailable");
		return;
	}
	hand_over_drops(g);
	store_drops(g->store, &d);
	format_drops(&d, 0, drops, sizeof(drops));
	/* The drops: lifetime totals from the store's ledger (store.h). */
	log_info("state: store batches=%llu readings=%llu merged_readings=%llu "
	    "pending_readings=%llu bytes=%llu last_seq=%llu %s",
	    (unsigned long long)st.batches, (unsigned long long)st.readings,
	    (unsigned long long)st.merged_readings,
	    (unsigned long long)st.pending_readings, (unsigned long long)st.bytes,
	    (unsigned long long)st.last_seq, drops);
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
	if (si.ssi_signo == SIGUSR1) {
		log_state(g);
		return;
	}
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
		d->timeout_ms = cfg->devices[i].timeout_ms;
		d->retries = cfg->devices[i].retries;
		d->backoff_max = cfg->devices[i].backoff_max;
		d->bus = &cfg->buses[cfg->devices[i].bus].bus;
		if ((rc = d->ops->probe(d, err, sizeof(err))) < 0) {
			log_warnx("device %s: %s", d->name, err);
			return rc;
		}
		total += d->profile->n_points + d->profile->n_derived;
	}
	/* Two cycles' worth: a late bus's readings plus the current cycle's. */
	if (health_init(&g->health, g->devs, cfg->n_devices) < 0)
		return -ENOMEM;
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
	sigaddset(&set, SIGUSR1);
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
	struct hold_counts hc;

	forward_counts(g->fwd, &fc);
	hold_counts(g->hold, &hc);
	log_info("this run: %llu cycles, %llu readings stored, %llu dropped; %llu "
	    "batches sent, %llu acknowledged, %llu set aside, %llu split; %llu bus "
	    "overruns, %llu ticks missed; store budget: %llu readings thinned, %llu "
	    "evicted",
	    (unsigned long long)c->cycles,
	    (unsigned long long)c->readings, (unsigned long long)c->dropped,
	    (unsigned long long)fc.sent, (unsigned long long)fc.acked,
	    (unsigned long long)fc.errors, (unsigned long long)fc.splits,
	    (unsigned long long)c->overruns,
	    (unsigned long long)c->missed,
	    (unsigned long long)c->budget.thinned_readings,
	    (unsigned long long)c->budget.evicted_readings);
	log_info("store outages: %llu, %llu cycles held in memory, %llu readings "
	    "dropped (memory full), %llu evicted (disk full)%s",
	    (unsigned long long)hc.outages, (unsigned long long)hc.held,
	    (unsigned long long)hc.dropped, (unsigned long long)hc.evicted,
	    hc.active ? "; the cycles still held are lost now" : "");
	if (c->skipped || c->ahead || c->presync.dropped || c->presync.n)
		log_info("this run's clock: %llu ticks skipped by forward steps, %llu "
		    "stamped ahead after backward steps; %llu held readings dropped "
		    "(hold full), %zu lost at stop (the wall clock never became valid)",
		    (unsigned long long)c->skipped, (unsigned long long)c->ahead,
		    (unsigned long long)c->presync.dropped, c->presync.n);
}

static void
teardown(struct gateway *g)
{
	size_t i;

	sched_stop(g->sched);
	pollers_stop(g->pollers);	/* hands over what is still queued */
	g->pollers = NULL;
	if (g->store != NULL)
		commit(g);
	if (g->fwd != NULL)
		log_summary(g);
	forward_stop(g->fwd);
	hold_free(g->hold);
	store_close(g->store);
	for (i = 0; g->devs != NULL && i < g->cfg->n_devices; i++)
		if (g->devs[i].ops != NULL)
			g->devs[i].ops->close(&g->devs[i]);
	free(g->devs);
	health_free(&g->health);
	free(g->col.r);
	free(g->col.body);
	presync_free(&g->col.presync);
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
	presync_init(&g.col.presync, 0);
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
	if (store_fs_check("/proc/self/mounts", cfg->store, err, sizeof(err)) == 1)
		log_info("%s", err);
	if ((rc = setup_schema(&g)) < 0 || (rc = setup_devices(&g)) < 0 ||
	    (rc = hold_new(0, &g.hold)) < 0) {
		log_warnx("startup: %s", strerror(-rc));
		goto out;
	}
	if ((up = uplink_find(cfg->uplink)) == NULL) {
		log_warnx("uplink '%s' is not built into this image", cfg->uplink);
		goto out;
	}
	merge_backlog(&g);
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
