/*
 * The console's failed-login brake (firmware/core/console_lock.c) on a fake
 * clock: the growing wait, the lockout after N, a success that resets,
 * restarts with and without a synchronised clock, a clock stepped back,
 * and which refusals are the first of their wait.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/core/console_lock.h"

#define T0	1796515200000LL	/* 2026-12-06T00:00:00Z */

static struct lock_now now;
static char why[256];

static int
reset(void **state)
{
	(void)state;
	now = (struct lock_now){ 1000000, T0, 1 };
	return 0;
}

static void
pass(int64_t ms)
{
	now.mono += ms;
	now.wall += ms;
}

static void
test_delays(void **state)
{
	struct console_lock l;
	int64_t k;

	(void)state;
	assert_int_equal(console_lock_delay_ms(0), 0);
	assert_int_equal(console_lock_delay_ms(1), 1000);
	assert_int_equal(console_lock_delay_ms(3), 4000);
	assert_int_equal(console_lock_delay_ms(5), 16000);
	assert_int_equal(console_lock_delay_ms(6), 30000);
	assert_int_equal(console_lock_delay_ms(1000), 30000);
	console_lock_init(&l, 100, 300, 0, 0, &now);
	assert_int_equal(console_lock_check(&l, &now, why, sizeof(why)), 0);
	for (k = 1; k <= 8; k++) {
		assert_int_equal(console_lock_result(&l, 0, &now), 0);
		assert_true(l.dirty);
		l.dirty = 0;
		pass(console_lock_delay_ms(k) - 1);
		assert_int_equal(console_lock_check(&l, &now, why, sizeof(why)),
		    -EAGAIN);
		pass(1);
		assert_int_equal(console_lock_check(&l, &now, why, sizeof(why)), 0);
	}
	console_lock_result(&l, 0, &now);
	pass(2500);
	assert_int_equal(console_lock_check(&l, &now, why, sizeof(why)), -EAGAIN);
	assert_string_equal(why, "wait 28 s (9 failed logins in a row)");
	/* A success resets. */
	pass(30000);
	assert_int_equal(console_lock_result(&l, 1, &now), 0);
	assert_int_equal(l.fails, 0);
	console_lock_result(&l, 0, &now);
	assert_int_equal(console_lock_check(&l, &now, why, sizeof(why)), -EAGAIN);
	assert_string_equal(why, "wait 1 s (1 failed login in a row)");
}

static void
test_lockout(void **state)
{
	struct console_lock l, r;
	int i;

	(void)state;
	console_lock_init(&l, 3, 300, 0, 0, &now);
	assert_int_equal(console_lock_result(&l, 0, &now), 0);
	pass(1000);
	assert_int_equal(console_lock_result(&l, 0, &now), 0);
	pass(2000);
	assert_int_equal(console_lock_result(&l, 0, &now), 1);
	assert_int_equal(l.locked_wall, now.wall + 300000);
	assert_int_equal(console_lock_check(&l, &now, why, sizeof(why)), -EACCES);
	assert_string_equal(why, "locked out until 2026-12-06T00:05:03Z (3 failed "
	    "logins in a row)");
	assert_int_equal(l.first_refusal, 1);
	/* Later refusals of the same lock are counted, not reported. */
	for (i = 0; i < 5; i++) {
		assert_int_equal(console_lock_check(&l, &now, why, sizeof(why)),
		    -EACCES);
		assert_int_equal(l.first_refusal, 0);
	}
	assert_int_equal(l.unnoted, 5);
	/* A restart with a synchronised clock: what was left. */
	pass(100000);
	console_lock_init(&r, 3, 300, l.fails, l.locked_wall, &now);
	pass(199999);
	assert_int_equal(console_lock_check(&r, &now, why, sizeof(why)), -EACCES);
	pass(1);
	l.dirty = 0;
	assert_int_equal(console_lock_check(&l, &now, why, sizeof(why)), 0);
	assert_int_equal(console_lock_check(&r, &now, why, sizeof(why)), 0);
	assert_true(r.dirty);
	assert_int_equal(r.locked_wall, 0);
	/* Over: the next failure in the row locks again at once. */
	assert_int_equal(console_lock_result(&r, 0, &now), 1);
	assert_int_equal(r.fails, 4);
}

/* Unsynchronised, the end cannot be judged: a whole lockout, never less. */
static void
test_restart_unsynced(void **state)
{
	struct lock_now cold = { 5000, 3600000, 0 };	/* 1970 */
	struct console_lock l;

	(void)state;
	console_lock_init(&l, 3, 300, 3, now.wall + 10000, &cold);
	assert_int_equal(console_lock_check(&l, &cold, why, sizeof(why)), -EACCES);
	assert_string_equal(why, "locked out for 300 s more (3 failed logins in "
	    "a row)");
	/* Locked while unsynced: kept as -1, again a whole one at a restart. */
	console_lock_init(&l, 3, 300, 2, 0, &cold);
	cold.mono += 2000;
	assert_int_equal(console_lock_result(&l, 0, &cold), 1);
	assert_int_equal(l.locked_wall, -1);
	console_lock_init(&l, 3, 300, l.fails, l.locked_wall, &cold);
	cold.mono += 299999;
	assert_int_equal(console_lock_check(&l, &cold, why, sizeof(why)), -EACCES);
	/* A clock stepped back by a year does not make it last a year. */
	console_lock_init(&l, 3, 300, 3, now.wall + 100000, &now);
	now.wall -= 365LL * 86400000;
	pass(300000);
	assert_int_equal(console_lock_check(&l, &now, why, sizeof(why)), 0);
	now.wall += 365LL * 86400000;
	/* A restart after failures: the wait starts again; it is not skipped. */
	console_lock_init(&l, 5, 300, 4, 0, &now);
	pass(7999);
	assert_int_equal(console_lock_check(&l, &now, why, sizeof(why)), -EAGAIN);
	pass(1);
	assert_int_equal(console_lock_check(&l, &now, why, sizeof(why)), 0);
}

static void
test_cred_window(void **state)
{
	struct lock_now cold = { 5000, 3600000, 0 };
	int64_t t = T0 / 1000;

	(void)state;
	assert_int_equal(console_cred_window(t - 10, t + 10, &now, 0, why,
	    sizeof(why)), 0);
	assert_int_equal(console_cred_window(t + 60, t + 100, &now, 0, why,
	    sizeof(why)), 0);
	assert_int_equal(console_cred_window(t + 61, t + 100, &now, 0, why,
	    sizeof(why)), -EACCES);
	assert_string_equal(why, "valid only from 2026-12-06T00:01:01Z (the "
	    "gateway's clock says 2026-12-06T00:00:00Z)");
	assert_int_equal(console_cred_window(t - 100, t, &now, 0, why,
	    sizeof(why)), -EACCES);
	assert_string_equal(why, "expired at 2026-12-06T00:00:00Z");
	/* Unsynchronised: only an end before the latest known time refuses. */
	assert_int_equal(console_cred_window(t + 3600, t + 7200, &cold, T0, why,
	    sizeof(why)), 0);
	assert_int_equal(console_cred_window(t - 7200, t, &cold, T0, why,
	    sizeof(why)), -EACCES);
	assert_string_equal(why, "expired at 2026-12-06T00:00:00Z, before "
	    "2026-12-06T00:00:00Z, the latest time this gateway has known (its "
	    "clock is not synchronised)");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_delays, reset),
		cmocka_unit_test_setup(test_lockout, reset),
		cmocka_unit_test_setup(test_restart_unsynced, reset),
		cmocka_unit_test_setup(test_cred_window, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
