/*
 * Wall-clock alignment (the arithmetic behind "a 30 s interval fires at :00 and
 * :30") and the tick policy across clock steps and before the clock is valid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "firmware/core/sched.h"

/* 2026-11-22T16:00:00Z */
#define T0 INT64_C(1795363200000)

static void
test_aligned_to_interval(void **state)
{
	(void)state;
	assert_int_equal(sched_next(T0, 30000), T0 + 30000);
	assert_int_equal(sched_next(T0 + 1, 30000), T0 + 30000);
	assert_int_equal(sched_next(T0 + 29999, 30000), T0 + 30000);
	assert_int_equal(sched_next(T0 + 30000, 30000), T0 + 60000);
	assert_int_equal(sched_tick(T0 + 29999, 30000), T0);
	assert_int_equal(sched_tick(T0 + 30000, 30000), T0 + 30000);
}

static void
test_seconds_and_minutes(void **state)
{
	(void)state;
	/* :00 and :30 of every minute, whatever second we start in */
	for (int64_t s = 0; s < 3600; s++) {
		int64_t n = sched_next(T0 + s * 1000 + 123, 30000);

		assert_int_equal(n % 30000, 0);
		assert_true(n > T0 + s * 1000 + 123);
		assert_true(n - (T0 + s * 1000 + 123) <= 30000);
	}
	assert_int_equal(sched_next(T0 + 500, 1000), T0 + 1000);
	assert_int_equal(sched_next(T0 + 1000 * 59, 60000), T0 + 60000);
	assert_int_equal(sched_next(T0 + 1, 3600000), T0 + 3600000);
}

static void
test_before_clock_sync(void **state)
{
	(void)state;
	/* A board without RTC boots in 1970 (or before, with a bad RTC): still aligned. */
	assert_int_equal(sched_next(0, 30000), 30000);
	assert_int_equal(sched_next(-1, 30000), 0);
	assert_int_equal(sched_tick(-1, 30000), -30000);
	assert_int_equal(sched_next(-30000, 30000), 0);
}

/*
 * The policy across clock steps, on a simulated pair of clocks: the boot clock
 * only moves forward by the wait the scheduler asked for (plus a little timer
 * latency), the wall clock is boot + offset and the offset is stepped.
 */
/* A valid wall time: a whole hour, a day after the build (clock_valid_from_ms). */
static int64_t V0;

struct world {
	struct sched_state st;
	struct clock_pair p;
	int64_t off;
	int64_t ticks[20000];
	int held[20000];
	size_t n;
	uint64_t missed, skipped, ahead;
	int64_t valid_offset;
	int64_t fire_boot[20000];
};

static void
world_init(struct world *w, int64_t wall, int64_t boot, int64_t iv)
{
	memset(w, 0, sizeof(*w));
	w->off = wall - boot;
	w->p.boot = boot;
	w->p.wall = wall;
	sched_init(&w->st, iv, &w->p);
}

/* One wake after the wait asked for (plus latency); returns the wait. */
static int64_t
world_wake(struct world *w, int64_t latency)
{
	struct sched_wake k;

	w->p.wall = w->p.boot + w->off;
	sched_decide(&w->st, &w->p, &k);
	if (k.became_valid)
		w->valid_offset = k.offset;
	if (k.fire) {
		assert_true(w->n < 20000);
		w->fire_boot[w->n] = w->p.boot;
		w->held[w->n] = k.held;
		w->ticks[w->n++] = k.tick;
		w->missed += k.missed;
		w->skipped += k.skipped;
		w->ahead += (uint64_t)k.ahead;
	}
	assert_true(k.wait >= 0);
	w->p.boot += k.wait + latency;
	return k.wait;
}

static void
world_run(struct world *w, int64_t until_boot)
{
	while (w->p.boot < until_boot)
		world_wake(w, 2);
}

/*
 * Stamps of one domain strictly increase, and polls keep happening: two are at
 * most `most` intervals apart on the boot clock (a step back of less than an
 * interval delays the next tick by the step; the return to the grid after a
 * catch-up by less than an interval).
 */
static void
assert_strict(const struct world *w, int64_t iv, int64_t most)
{
	size_t i;

	for (i = 1; i < w->n; i++) {
		if (w->held[i] == w->held[i - 1])
			assert_true(w->ticks[i] > w->ticks[i - 1]);
		assert_true(w->fire_boot[i] - w->fire_boot[i - 1] <= most * iv + 10);
	}
}

static void
test_steady(void **state)
{
	static struct world w;

	(void)state;
	world_init(&w, V0 + 123, 50000, 1000);
	world_run(&w, 50000 + 10 * 1000);
	assert_int_equal(w.n, 10);
	for (size_t i = 0; i < w.n; i++)
		assert_int_equal(w.ticks[i], V0 + 1000 * (int64_t)(i + 1));
	assert_int_equal(w.missed + w.skipped + w.ahead, 0);
}

static void
test_step_forward(void **state)
{
	static struct world w;
	size_t before;

	(void)state;
	world_init(&w, V0 + 5, 50000, 1000);
	world_run(&w, 50000 + 5500);
	before = w.n;
	w.off += 3600 * 1000 + 300;	/* +1 h 0.3 s */
	world_run(&w, 50000 + 10500);
	assert_strict(&w, 1000, 2);
	/* re-aligned at once: the first tick after the step is on the new grid */
	assert_int_equal(w.ticks[before] % 1000, 0);
	assert_true(w.ticks[before] > V0 + 3600 * 1000);
	assert_int_equal(w.skipped, 3600);
	assert_int_equal(w.missed, 0);
	assert_int_equal(w.n, 10);	/* one cycle a second all along */
}

static void
test_step_back(void **state)
{
	static struct world w;
	size_t before, i;

	(void)state;
	world_init(&w, V0 + 5, 50000, 1000);
	world_run(&w, 50000 + 5500);
	before = w.n;
	w.off -= 30 * 1000 + 400;	/* back 30.4 s */
	world_run(&w, 50000 + 100500);
	assert_strict(&w, 1000, 2);
	/* no cycle lost: one per second of the boot clock */
	assert_int_equal(w.n, 100);
	/* stamped half an interval after the last one until the wall clock caught
	 * up (twice the step), then aligned again */
	assert_int_equal(w.ticks[before], w.ticks[before - 1] + 500);
	assert_true(w.ahead >= 59 && w.ahead <= 63);
	assert_int_equal(w.ticks[w.n - 1] % 1000, 0);
	assert_true(w.ticks[w.n - 1] <= w.p.wall);
	for (i = 0; i < w.n; i++)
		assert_false(w.held[i]);
}

static void
test_small_step_back(void **state)
{
	static struct world w;

	(void)state;
	world_init(&w, V0 + 5, 50000, 1000);
	world_run(&w, 50000 + 3500);
	w.off -= 400;		/* within an interval: the tick just comes later */
	world_run(&w, 50000 + 10500);
	assert_strict(&w, 1000, 2);
	assert_int_equal(w.ahead, 0);
	assert_int_equal(w.ticks[w.n - 1], V0 + 10000);
}

static void
test_invalid_then_valid(void **state)
{
	static struct world w;
	size_t held = 0, i;
	int64_t last_repaired = 0;

	(void)state;
	/* 1970 at boot: ticks on the boot clock, held */
	world_init(&w, 100000, 7000, 1000);
	world_run(&w, 7000 + 5500);
	for (i = 0; i < w.n; i++) {
		assert_true(w.held[i]);
		assert_int_equal(w.ticks[i] % 1000, 0);
		assert_true(w.ticks[i] <= w.p.boot);
	}
	held = w.n;
	/* NTP: the wall clock becomes valid, between two ticks */
	w.off = V0 + 250 - w.p.boot;
	world_run(&w, 7000 + 12500);
	assert_int_equal(w.valid_offset, w.off);
	last_repaired = clock_repair(w.ticks[held - 1], w.valid_offset);
	assert_true(w.n > held);
	assert_false(w.held[held]);
	/* the first valid tick is after every repaired one, and aligned */
	assert_true(w.ticks[held] > last_repaired);
	assert_int_equal(w.ticks[held] % 1000, 0);
	assert_strict(&w, 1000, 2);
	/* no cycle lost at the switch: one per second of the boot clock, +-1 */
	assert_true(w.n >= 11 && w.n <= 12);
}

/* Random steps both ways, valid or not: ticks never repeat or go back. */
static void
test_random_steps(void **state)
{
	static struct world w;
	unsigned seed = 7;
	int round;

	(void)state;
	world_init(&w, 100000, 1000, 1000);
	for (round = 0; round < 400; round++) {
		seed = seed * 1103515245u + 12345u;
		world_run(&w, w.p.boot + 1000 + (seed >> 16) % 5000);
		seed = seed * 1103515245u + 12345u;
		if (round == 3)
			w.off = V0 - w.p.boot;
		else if (round > 3)
			w.off += (int64_t)((seed >> 8) % 20001) - 10000;
	}
	assert_strict(&w, 1000, 3);
}

int
main(void)
{
	V0 = sched_tick(clock_valid_from_ms(), 3600000) + 86400000;

	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aligned_to_interval),
		cmocka_unit_test(test_seconds_and_minutes),
		cmocka_unit_test(test_before_clock_sync),
		cmocka_unit_test(test_steady),
		cmocka_unit_test(test_step_forward),
		cmocka_unit_test(test_step_back),
		cmocka_unit_test(test_small_step_back),
		cmocka_unit_test(test_invalid_then_valid),
		cmocka_unit_test(test_random_steps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
