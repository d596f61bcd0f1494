/* Wall-clock alignment: the arithmetic behind "a 30 s interval fires at :00 and :30". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aligned_to_interval),
		cmocka_unit_test(test_seconds_and_minutes),
		cmocka_unit_test(test_before_clock_sync),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
