/*
 * The two clocks of the gateway and how they relate (docs/clock.md).
 *
 * Wall clock (CLOCK_REALTIME): what readings are stamped with. On a board without
 * an RTC it reads 1970 until NTP syncs, and it can be stepped at any time.
 * Boot clock (CLOCK_BOOTTIME): never steps, counts suspend too, so wall - boot (the
 * offset) is constant except when the wall clock is set. Watching the offset
 * finds every step, also where TFD_TIMER_CANCEL_ON_SET is never delivered
 * (qemu-user, an LD_PRELOAD fake clock) or a step happened while we slept.
 */
#ifndef WG_CLOCK_H
#define WG_CLOCK_H

#include <stddef.h>
#include <stdint.h>

/* An offset change smaller than this is read jitter or a slew, not a step. */
#define CLOCK_STEP_MS	500

/* Wall and boot time in ms, read back to back. */
struct clock_pair {
	int64_t wall;
	int64_t boot;
};

void clock_read(struct clock_pair *p);

/*
 * CLOCK_MONOTONIC in ms: the clock of the loop's timers (loop_timer_new), for
 * measuring how long something lasted against them.
 */
int64_t clock_mono_ms(void);
/* This boot's id (the kernel's boot_id: a reboot changes it, a restart of
 * the daemon does not) into buf; "" if it cannot be read. */
void clock_boot_id(char *buf, size_t len);
/* Unix time t as "YYYY-MM-DDTHH:MM:SSZ" in buf (the number if it cannot be
 * written so); returns buf. */
const char *clock_utc(int64_t t, char *buf, size_t len);
/* Unix time in ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" (floor: -1 is
 * 1969-12-31T23:59:59.999Z), in int64_t whatever time_t is; 0, or -ERANGE
 * outside the years 0..9999 or if buf is too short. */
int clock_utc_ms(int64_t ts_ms, char *buf, size_t len);

/*
 * The earliest wall time that can be true: 2020-01-01 or the build date,
 * whichever is later. A clock before it was never set (or set from a flat RTC).
 */
int64_t clock_valid_from_ms(void);
int clock_wall_valid(int64_t wall_ms);

/* Step detection: the last offset seen. */
struct clock_watch {
	int64_t offset;
	int primed;
};

/*
 * Returns the size of the wall-clock step since the previous call (positive:
 * forwards), 0 if none; the first call only primes the watch.
 */
int64_t clock_watch(struct clock_watch *w, const struct clock_pair *p);

/*
 * A reading held with a boot-clock stamp, repaired once the wall clock is valid:
 * offset is wall - boot at that moment. Exact as long as the wall clock did not
 * step between the reading and the repair, which is the point: the first valid
 * wall time is the first one we trust.
 */
static inline int64_t
clock_repair(int64_t boot_ms, int64_t offset_ms)
{
	return boot_ms + offset_ms;
}

#endif
