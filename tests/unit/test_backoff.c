/*
 * The uplinks' reconnect backoff (firmware/uplink/backoff.c): each delay lies
 * in [bound/2, bound], the bound doubles up to the maximum, and only a link
 * that stayed up BACKOFF_STABLE_MS starts it over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "firmware/uplink/backoff.h"

static void
test_doubles_to_max(void **state)
{
	struct backoff b;
	int64_t bound = BACKOFF_MIN_MS, d;
	int i;

	(void)state;
	backoff_init(&b);
	for (i = 0; i < 20; i++) {
		d = backoff_next(&b, 0);
		assert_true(d >= bound / 2 && d <= bound);
		bound = bound * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : bound * 2;
	}
	assert_int_equal(b.ms, BACKOFF_MAX_MS);
}

static void
test_stable_link_resets(void **state)
{
	struct backoff b;
	int i;

	(void)state;
	backoff_init(&b);
	for (i = 0; i < 10; i++)
		backoff_next(&b, 0);
	/* Up, but not for long: a server that accepts and drops is not hammered. */
	assert_true(backoff_next(&b, BACKOFF_STABLE_MS - 1) >= BACKOFF_MAX_MS / 2);
	assert_true(backoff_next(&b, BACKOFF_STABLE_MS) <= BACKOFF_MIN_MS);
	assert_int_equal(b.ms, 2 * BACKOFF_MIN_MS);
}

/*
 * A stable link lost: for the quick window no wait is longer than
 * BACKOFF_QUICK_MS (a platform that restarts is rejoined within that), after
 * it the bound doubles on to the maximum (a platform that is gone is not
 * hammered for ever).
 */
static void
test_quick_after_stable_link(void **state)
{
	struct backoff b;
	int64_t waited = 0, d, longest = 0;
	int i;

	(void)state;
	backoff_init(&b);
	for (i = 0; i < 10; i++)
		backoff_next(&b, 0);		/* deep in the backoff */
	d = backoff_next(&b, BACKOFF_STABLE_MS);
	assert_true(d <= BACKOFF_MIN_MS);
	for (waited = d; waited < BACKOFF_QUICK_WINDOW_MS; waited += d) {
		d = backoff_next(&b, 0);
		assert_true(d <= BACKOFF_QUICK_MS);
		if (d > longest)
			longest = d;
	}
	assert_true(longest >= BACKOFF_QUICK_MS / 2);	/* it did reach the cap */
	for (i = 0; i < 10; i++)
		d = backoff_next(&b, 0);
	assert_true(d >= BACKOFF_MAX_MS / 2);
	assert_int_equal(b.ms, BACKOFF_MAX_MS);
	/* A link that was up only briefly gives no new quick window. */
	assert_true(backoff_next(&b, BACKOFF_STABLE_MS - 1) >= BACKOFF_MAX_MS / 2);
	/* Nor keeps one: up and dropped at once during it ends it. */
	backoff_next(&b, BACKOFF_STABLE_MS);
	backoff_next(&b, 0);
	backoff_next(&b, 2000);		/* up 2 s, dropped */
	for (i = 0; i < 10; i++)
		d = backoff_next(&b, 0);
	assert_true(d >= BACKOFF_MAX_MS / 2);
}

/* Jitter: not every gateway waits the same. */
static void
test_jitter(void **state)
{
	struct backoff b;
	int64_t first = -1, d;
	int i, differ = 0;

	(void)state;
	for (i = 0; i < 50; i++) {
		backoff_init(&b);
		b.ms = BACKOFF_MAX_MS;
		d = backoff_next(&b, 0);
		if (first < 0)
			first = d;
		differ |= d != first;
	}
	assert_true(differ);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_doubles_to_max),
		cmocka_unit_test(test_stable_link_resets),
		cmocka_unit_test(test_quick_after_stable_link),
		cmocka_unit_test(test_jitter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
