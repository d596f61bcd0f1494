/*
 * Wall-clock aligned polling: a 30 s interval fires at :00 and :30 of every minute,
 * on every gateway of the fleet, so readings of different homes line up.
 *
 * The wall clock can be wrong (1970 before NTP on a board without RTC) and can
 * step either way, so it never drives the timer itself: the timer is a
 * CLOCK_BOOTTIME timerfd armed for "next aligned wall time - now", recomputed
 * at every wake (docs/clock.md). What a wake does is decided by sched_decide(),
 * pure and unit-tested:
 *
 * - Ticks strictly increase: never the same tick twice, never an earlier one.
 * - Before the wall clock is valid, ticks are aligned boot-clock times and are
 *   marked held: the collector keeps those readings until the clock is valid
 *   and then repairs their stamps (clock_repair).
 * - A forward step re-aligns at once; the ticks stepped over are counted as
 *   skipped (not as missed, which is a stall of ours).
 * - A backward step: while the next aligned time is not after the last tick,
 *   polls go on every interval on the boot clock, stamped last + interval/2
 *   (counted as ahead): the stamps converge on the wall clock and meet it
 *   after twice the step, then alignment resumes. No cycle is lost and no
 *   series reorders; the price is stamps up to the step's size ahead of the
 *   (new) wall clock, shrinking, for twice the step. (Stamping last + interval
 *   would never catch up: stamps and wall clock advance at the same rate.)
 */
#ifndef WG_SCHED_H
#define WG_SCHED_H

#include <stdint.h>

#include "firmware/base/clock.h"
#include "firmware/base/loop.h"

/* First tick strictly after now_ms. interval_ms > 0. Works for negative now. */
int64_t sched_next(int64_t now_ms, int64_t interval_ms);

/* The tick at or before now_ms (the cycle a timer firing at now_ms belongs to). */
int64_t sched_tick(int64_t now_ms, int64_t interval_ms);

/* What a wake decided. */
struct sched_wake {
	int fire;		/* a cycle starts now, stamped tick */
	int64_t tick;		/* wall ms; boot ms if held */
	int held;		/* wall clock not valid yet: tick is a boot-clock time */
	int ahead;		/* stamped last + interval, ahead of a stepped-back clock */
	uint64_t missed;	/* ticks that passed on the boot clock without a wake */
	uint64_t skipped;	/* ticks a forward step jumped over */
	int64_t step;		/* wall-clock step seen at this wake, ms (0: none) */
	int became_valid;	/* the wall clock is valid from this wake on */
	int64_t offset;		/* with became_valid: wall - boot, for clock_repair */
	int64_t wait;		/* ms on the boot clock until the next wake */
};

/* The policy's state; the fields are private to sched.c and its tests. */
struct sched_state {
	int64_t interval;
	int valid;		/* ticks are wall times (latched: the first valid wake) */
	int64_t last;		/* the last tick (or, at start, the one before the first) */
	int64_t last_due;	/* boot ms at which `last` was due */
	int aligned;		/* last is on the wall-clock grid (not a repaired stamp) */
	struct clock_watch watch;
};

void sched_init(struct sched_state *st, int64_t interval_ms, const struct clock_pair *p);
void sched_decide(struct sched_state *st, const struct clock_pair *p,
    struct sched_wake *w);

struct sched_events {
	/* Once per cycle, on the loop thread, with its stamp. */
	void (*tick)(void *arg, const struct sched_wake *w);
	/* Once, when the wall clock becomes valid, before that wake's tick. */
	void (*valid)(void *arg, int64_t offset_ms);
	void *arg;
};

struct sched;

/* 0 or -errno. The first tick is the next aligned time after now. */
int sched_start(struct loop *l, int64_t interval_ms, const struct sched_events *ev,
    struct sched **out);
void sched_stop(struct sched *s);

#endif
