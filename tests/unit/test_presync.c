/* The presync hold: readings kept with boot-clock stamps until the wall clock is valid. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "firmware/base/clock.h"
#include "firmware/core/presync.h"

static struct reading
rd(int64_t ts, uint16_t point)
{
	struct reading r = { .ts_ms = ts, .point = point, .quality = Q_OK };

	r.v = dec_from_int(point);
	return r;
}

/* Cycles of 3 readings each, stamped on the boot clock. */
static void
put_cycles(struct presync *h, int64_t from, int cycles)
{
	struct reading r[3];
	int c, i;

	for (c = 0; c < cycles; c++) {
		for (i = 0; i < 3; i++)
			r[i] = rd(from + c * 1000, (uint16_t)i);
		assert_int_equal(presync_put(h, r, 3), 0);
	}
}

static void
test_repair_keeps_order(void **state)
{
	struct presync h;
	struct reading out[64];
	int64_t off = INT64_C(1795363200000) - 5000;
	size_t n, i;

	(void)state;
	presync_init(&h, 0);
	put_cycles(&h, 5000, 20);	/* boot 5 s .. 24 s */
	assert_int_equal(h.n, 60);
	presync_repair(&h, off);
	n = presync_peek(&h, out, 64);
	assert_int_equal(n, 60);
	for (i = 0; i < n; i++) {
		/* ts = boot stamp + (wall - boot) at the moment of validity */
		assert_int_equal(out[i].ts_ms, 5000 + (int64_t)(i / 3) * 1000 + off);
		assert_int_equal(out[i].point, i % 3);
	}
	presync_pop(&h, 45);
	assert_int_equal(presync_peek(&h, out, 64), 15);
	assert_int_equal(out[0].ts_ms, 20000 + off);
	presync_pop(&h, 15);
	assert_int_equal(h.n, 0);
	assert_null(h.r);	/* a repaired, emptied hold gives its memory back */
	assert_int_equal(h.dropped, 0);
	presync_free(&h);
}

/* The bound: the oldest readings go, counted; the newest stay, in order. */
static void
test_bound_drops_oldest(void **state)
{
	struct presync h;
	struct reading out[4000];
	size_t n, i;

	(void)state;
	presync_init(&h, 3000);
	put_cycles(&h, 0, 1500);	/* 4500 readings */
	assert_int_equal(h.n, 3000);
	assert_int_equal(h.dropped, 1500);
	n = presync_peek(&h, out, 4000);
	assert_int_equal(n, 3000);
	assert_int_equal(out[0].ts_ms, 500 * 1000);
	for (i = 1; i < n; i++)
		assert_true(out[i].ts_ms >= out[i - 1].ts_ms);
	assert_int_equal(out[n - 1].ts_ms, 1499 * 1000);
	presync_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_repair_keeps_order),
		cmocka_unit_test(test_bound_drops_oldest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
