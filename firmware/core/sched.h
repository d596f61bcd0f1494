/*
 * Wall-clock aligned polling: a 30 s interval fires at :00 and :30 of every minute,
 * on every gateway of the fleet, so readings of different homes line up.
 *
 * The arithmetic is pure (sched_next, sched_tick) and unit-tested; sched.c adds a
 * CLOCK_REALTIME timerfd armed at absolute tick times with TFD_TIMER_CANCEL_ON_SET,
 * so a step of the wall clock (NTP sync) re-aligns at once instead of firing late.
 */
#ifndef WG_SCHED_H
#define WG_SCHED_H

#include <stdint.h>

#include "firmware/core/loop.h"

/* First tick strictly after now_ms. interval_ms > 0. Works for negative now. */
int64_t sched_next(int64_t now_ms, int64_t interval_ms);

/* The tick at or before now_ms (the cycle a timer firing at now_ms belongs to). */
int64_t sched_tick(int64_t now_ms, int64_t interval_ms);

/* Called on the loop thread once per cycle with the cycle's aligned time. */
typedef void (*sched_cb)(int64_t tick_ms, uint64_t missed, void *arg);

struct sched;

/* 0 or -errno. The first tick is the next aligned time after now. */
int sched_start(struct loop *l, int64_t interval_ms, sched_cb cb, void *arg,
    struct sched **out);
void sched_stop(struct sched *s);

/* Current wall-clock time in ms. */
int64_t sched_now_ms(void);

#endif
