#include "firmware/base/clock.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* 2020-01-01T00:00:00Z */
#define CLOCK_FLOOR_MS	INT64_C(1577836800000)

#ifndef WG_BUILD_EPOCH
#define WG_BUILD_EPOCH	0
#endif

static int64_t
ms_of(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The two clocks are read one after the other, so a thread preempted in
 * between (a loaded board, or a wall clock that is slow to read) pairs a
 * wall time with a boot time taken milliseconds later, and every stamp
 * repaired by that pair (presync.c) is off by as much. So the wall clock is
 * read between two boot clock reads, up to 3 times, and the tightest
 * bracket is kept, with the boot time at its middle.
 */
void
clock_read(struct clock_pair *p)
{
	int64_t b0, w, b1, best = INT64_MAX;
	int i;

	for (i = 0; i < 3 && best > 0; i++) {
		b0 = ms_of(CLOCK_BOOTTIME);
		w = ms_of(CLOCK_REALTIME);
		b1 = ms_of(CLOCK_BOOTTIME);
		if (b1 - b0 < best) {
			best = b1 - b0;
			p->wall = w;
			p->boot = b0 + (b1 - b0) / 2;
		}
	}
}

int64_t
clock_mono_ms(void)
{
	return ms_of(CLOCK_MONOTONIC);
}

/*
 * WG_BUILD_EPOCH is the configure time (or SOURCE_DATE_EPOCH for reproducible
 * builds): no image runs before it was built, so an earlier clock is unset.
 */
int64_t
clock_valid_from_ms(void)
{
	int64_t built = (int64_t)WG_BUILD_EPOCH * 1000;

	return built > CLOCK_FLOOR_MS ? built : CLOCK_FLOOR_MS;
}

int
clock_wall_valid(int64_t wall_ms)
{
	return wall_ms >= clock_valid_from_ms();
}

int64_t
clock_watch(struct clock_watch *w, const struct clock_pair *p)
{
	int64_t off = p->wall - p->boot, step = 0;

	if (w->primed && (off - w->offset > CLOCK_STEP_MS ||
	    w->offset - off > CLOCK_STEP_MS))
		step = off - w->offset;
	/* Follow small drift too, so that slow changes never add up to a "step". */
	w->offset = off;
	w->primed = 1;
	return step;
}

void
clock_boot_id(char *buf, size_t len)
{
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");

	buf[0] = '\0';
	if (f != NULL) {
		if (fgets(buf, (int)len, f) == NULL)
			buf[0] = '\0';
		fclose(f);
	}
	buf[strcspn(buf, "\n")] = '\0';
}

const char *
clock_utc(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(buf, len, "%" PRId64, t);
	return buf;
}
