#include "firmware/base/clock.h"

#include <errno.h>
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

/*
 * The civil date of a day count from 1970-01-01 (H. Hinnant's
 * civil_from_days), in int64_t: gmtime_r's time_t is 32 bits on Debian 12's
 * armhf, where every time after 2038 would not be written.
 */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

int
clock_utc_ms(int64_t ts_ms, char *buf, size_t len)
{
	int64_t sec = ts_ms / 1000, ms = ts_ms % 1000, days, sod, y;
	int m, d;

	/* Floor division: -1 ms is 1969-12-31T23:59:59.999Z. */
	if (ms < 0) {
		ms += 1000;
		sec--;
	}
	/* Years 0..9999 keep the fixed-width format. */
	if (sec < -62167219200LL || sec > 253402300799LL)
		return -ERANGE;
	days = sec / 86400;
	sod = sec % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	if (snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, m,
	    d, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60),
	    (int)ms) >= (int)len)
		return -ERANGE;
	return 0;
}

const char *
clock_utc(int64_t t, char *buf, size_t len)
{
	char ms[32];

	/* The same text without its milliseconds (".000"). */
	if (t < INT64_MIN / 1000 || t > INT64_MAX / 1000 ||
	    clock_utc_ms(t * 1000, ms, sizeof(ms)) < 0 || len < 21)
		snprintf(buf, len, "%" PRId64, t);
	else
		snprintf(buf, len, "%.19sZ", ms);
	return buf;
}
