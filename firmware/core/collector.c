#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/codec/batch.h"
#include "firmware/core/control.h"
#include "firmware/core/gateway_internal.h"
#include "firmware/store/merge.h"

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

/*
 * Merge what the link-down cycles left pending into large batches: a full run
 * now and then during an outage (one extra transaction per ~80 min), all of it
 * when the link comes back (forward.c).
 */
void
collector_merge_backlog(struct gateway *g)
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

/*
 * Encode and commit n readings as one batch: stored, or held in memory and sent
 * live while the store refuses (hold.c). 0, or -EINVAL if they cannot be
 * encoded (a broken invariant: duplicate reading, undersized buffer); then
 * they are counted as dropped. A cycle goes through the encoder kept for
 * cycles; anything bigger (the presync hold's chunks of PRESYNC_CHUNK) through
 * a temporary one, or the kept one would grow to it and keep its deflate state
 * (~150 KiB) for good.
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

	if (n <= c->cap)
		rc = batch_enc_body(c->enc, r, n, body, body_cap, &len, &flags,
		    &raw_len);
	else
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
	report_hand_over_drops(g);	/* this append writes them */
	if (hold_commit(g->hold, g->store, g->fwd, &b) != 1)
		return 0;
	log_debug("cycle %lld: %zu readings stored as batch %llu (%zu bytes)",
	    (long long)r[0].ts_ms, n, (unsigned long long)b.seq, len);
	if (b.pending && (c->unmerged += n) >= MERGE_READINGS)
		collector_merge_backlog(g);
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

/* How many devices delivered at least one good reading: a config on trial
 * proves it polls (control_config.c). */
static size_t
devices_ok(const struct reading *r, size_t n)
{
	uint8_t seen[256 / 8] = { 0 };	/* devices are at most 247 */
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (r[i].quality == Q_OK && r[i].dev < 256 &&
		    !(seen[r[i].dev / 8] & (1u << (r[i].dev % 8)))) {
			seen[r[i].dev / 8] |= (uint8_t)(1u << (r[i].dev % 8));
			k++;
		}
	return k;
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
	report_health(g);
}

/* A cycle, and the drop ledger's totals in the metrics if they changed. */
void
collector_commit(struct gateway *g)
{
	commit_cycle(g);
	report_hand_over_drops(g);
	report_drops(g);
}

/* A late reading of a cycle held before the clock became valid: repair it. */
static int64_t
repair_late(const struct collector *c, int64_t ts)
{
	return c->valid && ts <= c->held_last ? clock_repair(ts, c->offset) : ts;
}

void
collector_reading(void *arg, const struct reading *in)
{
	struct gateway *g = arg;
	struct collector *c = &g->col;
	struct reading rr = *in, *r = &rr;

	r->ts_ms = repair_late(c, r->ts_ms);
	control_reading(g->ctl, r);
	console_reading(g->con, r);

	if (c->n == c->cap)
		collector_commit(g);
	if (c->n == c->cap) {
		/* Only if held readings wait for memory and the buffer is full: counted. */
		c->dropped++;
		return;
	}
	c->r[c->n++] = *r;
}

void
collector_done(void *arg, size_t bus, int64_t ts)
{
	struct gateway *g = arg;
	struct collector *c = &g->col;

	(void)bus;
	ts = repair_late(c, ts);
	if (ts != c->ts || c->pending == 0)
		return;		/* a late bus of an already committed cycle */
	if (--c->pending == 0) {
		size_t ok = g->ctl != NULL ? devices_ok(c->r, c->n) : 0;

		c->cycles++;
		collector_commit(g);
		/* Every whole cycle, also one that got nothing (a config on
		 * trial that polls nobody must be seen failing). */
		control_cycle(g->ctl, ok);
	}
}

void
collector_tick(void *arg, const struct sched_wake *w)
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
	if (c->pending > 0) {
		/* A bus still busy: the cycle is over for the control plane too
		 * (a trial on an overrunning bus must still end). */
		size_t ok = g->ctl != NULL ? devices_ok(c->r, c->n) : 0;

		collector_commit(g);
		control_cycle(g->ctl, ok);
	}
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
void
collector_clock_valid(void *arg, int64_t offset)
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
		collector_commit(g);
}


int
collector_setup(struct collector *c, size_t n)
{
	/* Two cycles' worth: a late bus's readings plus the current cycle's. */
	c->cap = 2 * n;
	c->r = calloc(c->cap, sizeof(*c->r));
	c->body_cap = batch_body_bound(c->cap);
	c->body = malloc(c->body_cap);
	if (c->r == NULL || c->body == NULL)
		return -ENOMEM;
	/* Encoded every cycle for years: its state is made once, here. */
	return batch_enc_new(c->cap, &c->enc);
}

void
collector_free(struct collector *c)
{
	batch_enc_free(c->enc);
	free(c->r);
	free(c->body);
	presync_free(&c->presync);
	free(c->chunk);
	free(c->chunk_body);
}
