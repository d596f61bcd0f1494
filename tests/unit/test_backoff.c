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
		cmocka_unit_test(test_jitter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
