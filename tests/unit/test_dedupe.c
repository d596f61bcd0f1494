/*
 * Receiver dedupe: the seen set must drop exactly the repeats, report the gaps
 * from the lowest seq seen, stay compact in order and bounded out of order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tools/recv/dedupe.h"

static void
gaps_are(const struct dedupe *d, const char *want)
{
	char buf[512];

	dedupe_format_gaps(d, buf, sizeof(buf));
	assert_string_equal(buf, want);
}

static void
test_in_order(void **state)
{
	struct dedupe d;
	uint64_t s;

	(void)state;
	dedupe_init(&d, 0);
	assert_int_equal(dedupe_check(&d, 1), DEDUPE_NEW);
	for (s = 1; s <= 10000; s++)
		assert_int_equal(dedupe_mark(&d, s), DEDUPE_NEW);
	/* In order stays one range: the floor, and nothing else. */
	assert_int_equal(d.n, 1);
	assert_int_equal(dedupe_holes(&d), 0);
	assert_int_equal(d.seen, 10000);
	assert_int_equal(dedupe_lowest(&d), 1);
	assert_int_equal(dedupe_highest(&d), 10000);
	assert_int_equal(dedupe_missing(&d), 0);
	assert_int_equal(dedupe_check(&d, 5000), DEDUPE_DUP);
	assert_int_equal(dedupe_check(&d, 10001), DEDUPE_NEW);
	assert_int_equal(dedupe_check(&d, 0), DEDUPE_NEW);
	gaps_are(&d, "");
	dedupe_free(&d);
}

static void
test_out_of_order(void **state)
{
	static const uint64_t seq[] = { 5, 3, 4, 1, 2, 9, 7, 8, 6, 10 };
	struct dedupe d;
	size_t i;

	(void)state;
	dedupe_init(&d, 0);
	for (i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
		assert_int_equal(dedupe_mark(&d, seq[i]), DEDUPE_NEW);
	assert_int_equal(d.n, 1);
	assert_int_equal(dedupe_lowest(&d), 1);
	assert_int_equal(dedupe_highest(&d), 10);
	assert_int_equal(dedupe_missing(&d), 0);
	for (i = 1; i <= 10; i++)
		assert_int_equal(dedupe_check(&d, i), DEDUPE_DUP);
	dedupe_free(&d);
}

static void
test_duplicates(void **state)
{
	struct dedupe d;

	(void)state;
	dedupe_init(&d, 0);
	assert_int_equal(dedupe_mark(&d, 17), DEDUPE_NEW);
	assert_int_equal(dedupe_mark(&d, 17), DEDUPE_DUP);
	assert_int_equal(dedupe_mark(&d, 20), DEDUPE_NEW);
	assert_int_equal(dedupe_mark(&d, 20), DEDUPE_DUP);
	assert_int_equal(dedupe_mark(&d, 17), DEDUPE_DUP);
	assert_int_equal(d.seen, 2);
	/* A repeat changes nothing: same ranges, same gaps. */
	assert_int_equal(d.n, 2);
	assert_int_equal(dedupe_missing(&d), 2);
	dedupe_free(&d);
}

static void
test_gaps(void **state)
{
	struct dedupe d;
	uint64_t s;

	(void)state;
	dedupe_init(&d, 0);
	for (s = 1; s <= 50; s++)
		if (!(s >= 17 && s <= 19) && s != 40)
			assert_int_equal(dedupe_mark(&d, s), DEDUPE_NEW);
	assert_int_equal(dedupe_missing(&d), 4);
	assert_int_equal(dedupe_holes(&d), 2);
	gaps_are(&d, "17-19, 40");
	/* Filling a hole closes it. */
	assert_int_equal(dedupe_mark(&d, 40), DEDUPE_NEW);
	gaps_are(&d, "17-19");
	assert_int_equal(dedupe_mark(&d, 18), DEDUPE_NEW);
	gaps_are(&d, "17, 19");
	assert_int_equal(dedupe_missing(&d), 2);
	dedupe_free(&d);

	/* Gaps count from the lowest seq seen, not from 0 or 1. */
	dedupe_init(&d, 0);
	assert_int_equal(dedupe_mark(&d, 1000), DEDUPE_NEW);
	assert_int_equal(dedupe_mark(&d, 1002), DEDUPE_NEW);
	gaps_are(&d, "1001");
	assert_int_equal(dedupe_missing(&d), 1);
	/* A late batch below the first one seen is new, and moves the start. */
	assert_int_equal(dedupe_mark(&d, 998), DEDUPE_NEW);
	assert_int_equal(dedupe_lowest(&d), 998);
	gaps_are(&d, "999, 1001");
	dedupe_free(&d);
}

static void
test_huge_jumps(void **state)
{
	struct dedupe d;

	(void)state;
	dedupe_init(&d, 0);
	assert_int_equal(dedupe_mark(&d, 0), DEDUPE_NEW);
	assert_int_equal(dedupe_mark(&d, UINT64_MAX), DEDUPE_NEW);
	assert_int_equal(dedupe_mark(&d, UINT64_MAX), DEDUPE_DUP);
	assert_true(dedupe_missing(&d) == UINT64_MAX - 1);
	gaps_are(&d, "1-18446744073709551614");
	assert_int_equal(dedupe_mark(&d, 1ULL << 63), DEDUPE_NEW);
	assert_true(dedupe_missing(&d) == UINT64_MAX - 2);
	assert_int_equal(dedupe_check(&d, (1ULL << 63) + 1), DEDUPE_NEW);
	assert_int_equal(dedupe_mark(&d, UINT64_MAX - 1), DEDUPE_NEW);
	assert_int_equal(dedupe_mark(&d, 1), DEDUPE_NEW);
	assert_int_equal(d.n, 3);
	/* Every seq from 0 to UINT64_MAX: 2^64 counts must not wrap. */
	dedupe_free(&d);
	dedupe_init(&d, 0);
	assert_int_equal(dedupe_mark(&d, UINT64_MAX), DEDUPE_NEW);
	assert_int_equal(dedupe_mark(&d, UINT64_MAX - 1), DEDUPE_NEW);
	assert_int_equal(d.n, 1);
	assert_int_equal(dedupe_missing(&d), 0);
	dedupe_free(&d);
}

static void
test_floor_compaction(void **state)
{
	struct dedupe d;
	uint64_t s;

	(void)state;
	dedupe_init(&d, 0);
	/* Every other seq first: 500 separate ranges... */
	for (s = 1; s <= 1000; s += 2)
		assert_int_equal(dedupe_mark(&d, s), DEDUPE_NEW);
	assert_int_equal(d.n, 500);
	assert_int_equal(dedupe_missing(&d), 499);
	/* ...and as the holes fill, they fold into the floor. */
	for (s = 2; s < 1000; s += 2) {
		assert_int_equal(dedupe_mark(&d, s), DEDUPE_NEW);
		assert_int_equal(d.n, 500 - s / 2);
	}
	assert_int_equal(d.n, 1);
	assert_int_equal(dedupe_missing(&d), 0);
	assert_int_equal(d.seen, 999);
	gaps_are(&d, "");
	dedupe_free(&d);
}

static void
test_memory_bound(void **state)
{
	struct dedupe d;
	uint64_t s;

	(void)state;
	dedupe_init(&d, 8);
	/* 100 isolated seqs: 99 holes, but never more than 8 ranges. */
	for (s = 10; s <= 1000; s += 10) {
		assert_int_equal(dedupe_mark(&d, s), DEDUPE_NEW);
		assert_true(d.n <= 8);
		assert_true(d.cap <= 9);
	}
	assert_int_equal(d.n, 8);
	assert_int_equal(d.seen, 100);
	/* Missing still counts the holes given up: 990 - 99 seen in between. */
	assert_int_equal(dedupe_missing(&d), 891);
	assert_int_equal(d.given_up, 891 - 7 * 9);
	assert_int_equal(d.horizon, 929);
	gaps_are(&d, "828 at or below 929 (not listed), 931-939, 941-949, "
	    "951-959, 961-969, 971-979, 981-989, 991-999");
	/* At or below the horizon: cannot tell a repeat from a given-up hole. */
	assert_int_equal(dedupe_check(&d, 15), DEDUPE_STALE);
	assert_int_equal(dedupe_mark(&d, 20), DEDUPE_STALE);
	assert_int_equal(dedupe_check(&d, 929), DEDUPE_STALE);
	/* Above it, exact as before. */
	assert_int_equal(dedupe_check(&d, 930), DEDUPE_DUP);
	assert_int_equal(dedupe_check(&d, 940), DEDUPE_DUP);
	assert_int_equal(dedupe_check(&d, 935), DEDUPE_NEW);
	assert_int_equal(dedupe_mark(&d, 935), DEDUPE_NEW);
	assert_true(d.n <= 8);
	/* Below the lowest seen is new (never seen), and bounded too. */
	assert_int_equal(dedupe_mark(&d, 3), DEDUPE_NEW);
	assert_true(d.n <= 8);
	assert_int_equal(dedupe_lowest(&d), 3);
	/* The horizon never moves down: 931 was never seen, still stale. */
	assert_int_equal(d.horizon, 934);
	assert_int_equal(dedupe_check(&d, 931), DEDUPE_STALE);
	assert_int_equal(d.seen, 102);
	assert_int_equal(dedupe_missing(&d), 1000 - 3 + 1 - 102);
	dedupe_free(&d);
}

static void
test_format_truncates(void **state)
{
	struct dedupe d;
	char buf[16];
	size_t n;
	uint64_t s;

	(void)state;
	dedupe_init(&d, 0);
	for (s = 100; s <= 200; s += 2)
		dedupe_mark(&d, s);
	n = dedupe_format_gaps(&d, buf, sizeof(buf));
	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "101, 103, ...");
	n = dedupe_format_gaps(&d, buf, 6);
	assert_string_equal(buf, "...");
	assert_int_equal(n, 3);
	n = dedupe_format_gaps(&d, buf, 5);
	assert_string_equal(buf, "");
	assert_int_equal(n, 0);
	dedupe_free(&d);
}

/* Merged batches: spans join, fill holes, and a partial overlap is told apart. */
static void
test_spans(void **state)
{
	struct dedupe d;

	(void)state;
	dedupe_init(&d, 0);
	assert_int_equal(dedupe_mark_range(&d, 100, 219), DEDUPE_NEW);
	assert_int_equal(dedupe_mark(&d, 220), DEDUPE_NEW);
	assert_int_equal(d.n, 1);
	assert_int_equal(dedupe_mark_range(&d, 100, 219), DEDUPE_DUP);
	/* inside a seen span but not it: not provably the same batch */
	assert_int_equal(dedupe_check_range(&d, 150, 160), DEDUPE_OVERLAP);
	assert_int_equal(dedupe_check(&d, 219), DEDUPE_OVERLAP);
	/* live seqs after a hole, then the span that fills it */
	assert_int_equal(dedupe_mark(&d, 300), DEDUPE_NEW);
	gaps_are(&d, "221-299");
	assert_int_equal(dedupe_mark_range(&d, 230, 239), DEDUPE_NEW);
	gaps_are(&d, "221-229, 240-299");
	assert_int_equal(dedupe_mark_range(&d, 240, 299), DEDUPE_NEW);
	gaps_are(&d, "221-229");
	assert_int_equal(d.n, 2);
	assert_int_equal(dedupe_missing(&d), 9);
	/* partly seen: its new seqs are marked, the old not counted twice */
	assert_int_equal(dedupe_check_range(&d, 225, 235), DEDUPE_OVERLAP);
	assert_int_equal(dedupe_mark_range(&d, 215, 305), DEDUPE_OVERLAP);
	assert_int_equal(d.n, 1);
	assert_int_equal(dedupe_missing(&d), 0);
	assert_int_equal(d.seen, 305 - 100 + 1);
	assert_int_equal(dedupe_mark_range(&d, 0, 99), DEDUPE_NEW);
	assert_int_equal(dedupe_mark_range(&d, UINT64_MAX - 5, UINT64_MAX),
	    DEDUPE_NEW);
	assert_int_equal(dedupe_check_range(&d, UINT64_MAX - 5, UINT64_MAX),
	    DEDUPE_DUP);
	assert_int_equal(dedupe_check_range(&d, UINT64_MAX - 1, UINT64_MAX),
	    DEDUPE_OVERLAP);
	assert_int_equal(d.n, 2);
	dedupe_free(&d);
}

/*
 * One span that claims the gateway's future (forged, or a bit flip that the
 * check missed) cannot make the real batches duplicates: they are printed
 * as overlaps, and only their own redelivery is dropped.
 */
static void
test_one_span_cannot_blind(void **state)
{
	struct dedupe d;
	uint64_t s;

	(void)state;
	dedupe_init(&d, 0);
	assert_int_equal(dedupe_mark(&d, 9), DEDUPE_NEW);
	assert_int_equal(dedupe_mark_range(&d, 10, 10 + (1 << 20)), DEDUPE_NEW);
	for (s = 11; s < 20; s++) {
		assert_int_equal(dedupe_check(&d, s), DEDUPE_OVERLAP);
		assert_int_equal(dedupe_mark(&d, s), DEDUPE_OVERLAP);
		assert_int_equal(dedupe_check(&d, s), DEDUPE_DUP);
	}
	/* the span itself again, and the seq before it, are duplicates */
	assert_int_equal(dedupe_check_range(&d, 10, 10 + (1 << 20)), DEDUPE_DUP);
	assert_int_equal(dedupe_check(&d, 9), DEDUPE_DUP);
	assert_int_equal(dedupe_check(&d, 20), DEDUPE_OVERLAP);
	/*
	 * a span printed as an overlap: its own redelivery is a duplicate too,
	 * as is anything inside what was printed as overlaps (by range)
	 */
	assert_int_equal(dedupe_mark_range(&d, 30, 39), DEDUPE_OVERLAP);
	assert_int_equal(dedupe_check_range(&d, 30, 39), DEDUPE_DUP);
	assert_int_equal(dedupe_check_range(&d, 31, 39), DEDUPE_DUP);
	assert_int_equal(dedupe_check_range(&d, 11, 19), DEDUPE_DUP);
	assert_int_equal(dedupe_check_range(&d, 19, 30), DEDUPE_OVERLAP);
	dedupe_free(&d);
}

/*
 * Nor one that reaches back over seqs printed before: what it claims anew
 * stays an overlap, what was printed before stays a duplicate.
 */
static void
test_overlapping_span_cannot_blind(void **state)
{
	struct dedupe d;
	uint64_t s;

	(void)state;
	dedupe_init(&d, 0);
	for (s = 1; s <= 20; s++)
		assert_int_equal(dedupe_mark(&d, s), DEDUPE_NEW);
	assert_int_equal(dedupe_mark_range(&d, 15, 15 + (1 << 20)),
	    DEDUPE_OVERLAP);
	assert_int_equal(dedupe_check(&d, 16), DEDUPE_DUP);
	assert_int_equal(dedupe_check(&d, 20), DEDUPE_DUP);
	for (s = 21; s < 30; s++) {
		assert_int_equal(dedupe_check(&d, s), DEDUPE_OVERLAP);
		assert_int_equal(dedupe_mark(&d, s), DEDUPE_OVERLAP);
		assert_int_equal(dedupe_check(&d, s), DEDUPE_DUP);
	}
	assert_int_equal(dedupe_check_range(&d, 15, 15 + (1 << 20)), DEDUPE_DUP);
	assert_int_equal(dedupe_check(&d, 5), DEDUPE_DUP);
	dedupe_free(&d);
}

/* Only the newest DEDUPE_SPANS_MAX spans keep their bounds. */
static void
test_spans_bounded(void **state)
{
	struct dedupe d;
	uint64_t i;

	(void)state;
	dedupe_init(&d, 0);
	for (i = 0; i < DEDUPE_SPANS_MAX + 10; i++)
		assert_int_equal(dedupe_mark_range(&d, 10 * i, 10 * i + 9),
		    DEDUPE_NEW);
	assert_int_equal(d.n_spans, DEDUPE_SPANS_MAX);
	/* the oldest forgot their bounds: by range, a duplicate, whole or not */
	assert_int_equal(dedupe_check(&d, 5), DEDUPE_DUP);
	assert_int_equal(dedupe_check_range(&d, 0, 9), DEDUPE_DUP);
	assert_int_equal(dedupe_check_range(&d, 2, 5), DEDUPE_DUP);
	/* the newest kept theirs */
	assert_int_equal(dedupe_check(&d, 10 * (DEDUPE_SPANS_MAX + 9) + 5),
	    DEDUPE_OVERLAP);
	assert_int_equal(d.spans[0].first, 100);
	for (i = 1; i < d.n_spans; i++)
		assert_true(d.spans[i].first == d.spans[i - 1].last + 1);
	dedupe_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_gaps),
		cmocka_unit_test(test_huge_jumps),
		cmocka_unit_test(test_floor_compaction),
		cmocka_unit_test(test_memory_bound),
		cmocka_unit_test(test_format_truncates),
		cmocka_unit_test(test_spans),
		cmocka_unit_test(test_one_span_cannot_blind),
		cmocka_unit_test(test_overlapping_span_cannot_blind),
		cmocka_unit_test(test_spans_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
