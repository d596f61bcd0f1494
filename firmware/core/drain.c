#include "firmware/core/drain.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firmware/base/clock.h"
#include "firmware/base/log.h"

int64_t
drain_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
drain_start(struct drain *d, int has_backlog, int64_t t0)
{
	memset(d, 0, sizeof(*d));
	d->active = has_backlog;
	d->started = t0;
	d->started_wall = drain_wall_ms();
}

void
drain_sent(struct drain *d, size_t len)
{
	d->bytes += len;
}

void
drain_backlog_acked(struct drain *d, uint32_t n)
{
	d->readings += n;
	d->batches++;
}

void
drain_end(struct drain *d)
{
	if (!d->active)
		return;
	d->active = 0;
	if (d->batches == 0)
		return;
	d->ended_wall = drain_wall_ms();
	d->watch = 1;
	log_info("backlog drained: %llu readings in %llu batches, %llu bytes, %lld "
	    "ms", (unsigned long long)d->readings, (unsigned long long)d->batches,
	    (unsigned long long)d->bytes, (long long)(clock_mono_ms() - d->started));
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* A live batch polled at t_first was acknowledged ms later. */
void
drain_live_acked(struct drain *d, int64_t t_first, int64_t ms)
{
	int64_t p50 = 0, p99 = 0;
	size_t n;

	if (d->active || (d->watch && t_first <= d->ended_wall)) {
		if (d->live < 64)
			d->live_ms[d->live] = ms;
		if (ms > d->live_max_ms)
			d->live_max_ms = ms;
		d->live++;
		return;
	}
	if (!d->watch)
		return;
	d->watch = 0;
	n = d->live < 64 ? (size_t)d->live : 64;
	if (n > 0) {
		qsort(d->live_ms, n, sizeof(d->live_ms[0]), cmp_i64);
		p50 = d->live_ms[n / 2];
		p99 = d->live_ms[(n * 99) / 100];
	}
	log_info("live during the drain: %llu batches, poll to PUBACK p50 %lld ms, "
	    "p99 %lld ms, max %lld ms", (unsigned long long)d->live, (long long)p50,
	    (long long)p99, (long long)d->live_max_ms);
}
