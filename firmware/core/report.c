/*
 * What the daemon reports besides readings: the drop ledger's totals and the
 * device health in the retained metrics message, the SIGUSR1 state line, the
 * summary of a run at stop. Split from gateway.c.
 */
#include <stdio.h>
#include <string.h>

#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/core/gateway_internal.h"

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

void
report_hand_over_drops(struct gateway *g)
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
void
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
void
report_health(struct gateway *g)
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
 * SIGUSR1: one line with what the store holds. The store is opened with an
 * exclusive lock (flash wear: no -shm index file to write back every cycle), so
 * nobody else can open it while the daemon runs; this line is how a technician,
 * a script or a test sees inside it.
 */
void
report_state(struct gateway *g)
{
	struct store_stats st;
	struct store_drops d;
	char drops[400];

	if (g->store == NULL || store_stats(g->store, &st) < 0) {
		log_warnx("state: store unavailable");
		return;
	}
	report_hand_over_drops(g);
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

/* What this run did, once at stop: the counted drops and errors in one place. */
void
report_summary(struct gateway *g)
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

