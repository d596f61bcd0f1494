/*
 * Private to the daemon's wiring (gateway.c), its collector (collector.c)
 * and its drop and metrics reporting (report.c): the state they share.
 */
#ifndef WG_GATEWAY_INTERNAL_H
#define WG_GATEWAY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/base/loop.h"
#include "firmware/core/console.h"
#include "firmware/core/config.h"
#include "firmware/core/forward.h"
#include "firmware/core/gateway.h"
#include "firmware/core/health.h"
#include "firmware/core/hold.h"
#include "firmware/core/poller.h"
#include "firmware/core/presync.h"
#include "firmware/core/sched.h"
#include "firmware/codec/batch.h"
#include "firmware/store/budget.h"
#include "firmware/store/store.h"

struct collector {
	struct reading *r;
	size_t n, cap;
	uint8_t *body;
	size_t body_cap;
	struct batch_enc *enc;	/* zlib's state and scratch, made at start */
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
	struct resolver *resolver;	/* the uplinks' names, off the loop */
	struct store *store;
	struct forward *fwd;
	struct control *ctl;	/* the fleet's commands; NULL: off */
	struct console *con;	/* the technician console; NULL: off */
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
	int wdfd;	/* the service manager's watchdog timer; -1: none */
};

/* collector.c: the poller's and the scheduler's events. */
void collector_reading(void *arg, const struct reading *r);
void collector_done(void *arg, size_t bus, int64_t ts);
void collector_tick(void *arg, const struct sched_wake *w);
void collector_clock_valid(void *arg, int64_t offset);
/* Commit what the open cycle has, and report the drop ledger's totals. */
void collector_commit(struct gateway *g);
/* Merge what the link-down cycles left pending (merge.h). */
void collector_merge_backlog(struct gateway *g);
/* Buffers for two cycles of n readings: 0 or -ENOMEM. */
int collector_setup(struct collector *c, size_t n);
void collector_free(struct collector *c);

/* report.c: what was dropped and why, the metrics, the state lines. */
void report_hand_over_drops(struct gateway *g);
void report_drops(struct gateway *g);
void report_health(struct gateway *g);
void report_state(struct gateway *g);
void report_summary(struct gateway *g);

#endif
