/*
 * Splitting a stored span (firmware/store/split.c) on a real SQLite store: the
 * halves partition the span's seqs and its readings (older readings with the
 * lower seqs), keep the thinned mark, survive a reopen; a batch of one seq
 * cannot be split, nor one acknowledged meanwhile.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/codec/batch.h"
#include "firmware/store/merge.h"
#include "firmware/store/split.h"
#include "firmware/store/store.h"
#include "tests/unit/store_tmp.h"

#define T0	INT64_C(1763827200000)
#define POINTS	10

static int
setup(void **state)
{
	(void)state;
	return store_tmp_setup("store.db");
}

/* One pending cycle of POINTS readings at T0 + cycle * 30 s. */
static uint64_t
append_cycle(struct store *s, int cycle)
{
	struct reading r[POINTS];
	uint8_t body[4096];
	struct store_batch b = { .schema_id = 7, .pending = 1 };
	size_t len, raw_len;
	int i;

	for (i = 0; i < POINTS; i++) {
		r[i].ts_ms = T0 + (int64_t)cycle * 30000;
		r[i].dev = 0;
		r[i].point = (uint16_t)i;
		r[i].quality = Q_OK;
		r[i].v.m = 1 + 10 * (100 * cycle + i);	/* normalized: not a multiple of 10 */
		r[i].v.e = -1;
	}
	assert_int_equal(batch_encode_body(r, POINTS, body, sizeof(body), &len,
	    &b.flags, &raw_len), 0);
	b.t_first = r[0].ts_ms;
	b.n_readings = POINTS;
	b.raw_len = raw_len;
	b.body = body;
	b.body_len = len;
	assert_int_equal(store_append(s, &b), 0);
	return b.seq;
}

/* The batch stored at seq: seqs first..last, holding exactly cycles c0..c1. */
static void
holds(struct store *s, uint64_t first, uint64_t last, int c0, int c1)
{
	struct store_batch b;
	struct reading r[64 * POINTS];
	size_t n, i;

	assert_int_equal(store_peek(s, first - 1, &b), 0);
	assert_int_equal(b.seq, first);
	assert_int_equal(b.seq_last, last);
	assert_int_equal(b.pending, 0);
	assert_int_equal(b.n_readings, (c1 - c0 + 1) * POINTS);
	assert_int_equal(b.t_first, T0 + (int64_t)c0 * 30000);
	assert_int_equal(batch_decode_body(b.body, b.body_len, b.raw_len, b.flags,
	    r, 64 * POINTS, &n, NULL), 0);
	assert_int_equal(n, b.n_readings);
	for (i = 0; i < n; i++) {
		int c = c0 + (int)(i / POINTS);

		assert_int_equal(r[i].ts_ms, T0 + (int64_t)c * 30000);
		assert_int_equal(r[i].v.m, 1 + 10 * (100 * c + (int)(i % POINTS)));
	}
}

static struct store *
ten_cycle_span(uint64_t *first)
{
	struct store *s = NULL;
	struct merge_result mr;
	char err[256];
	int i;

	assert_int_equal(store_open("sqlite", store_tmp_path, &s, err, sizeof(err)), 0);
	*first = append_cycle(s, 0);
	for (i = 1; i < 10; i++)
		append_cycle(s, i);
	assert_int_equal(merge_pending(s, 1, &mr), 0);
	assert_int_equal(mr.made, 1);
	holds(s, *first, *first + 9, 0, 9);
	return s;
}

static void
test_halves_partition_seqs_and_readings(void **state)
{
	struct split_result res;
	struct store_stats st;
	struct store *s;
	char err[256];
	uint64_t a;

	(void)state;
	s = ten_cycle_span(&a);
	assert_int_equal(split_batch(s, a, &res), 0);
	assert_int_equal(res.lo, a);
	assert_int_equal(res.lo_last, a + 4);
	assert_int_equal(res.hi, a + 5);
	assert_int_equal(res.hi_last, a + 9);
	assert_int_equal(res.lo_readings, 5 * POINTS);
	holds(s, a, a + 4, 0, 4);
	holds(s, a + 5, a + 9, 5, 9);
	/* Again, an odd span: 3 seqs and 2 seqs; the readings cut between polls. */
	assert_int_equal(split_batch(s, a, &res), 0);
	assert_int_equal(res.lo_last, a + 2);
	assert_int_equal(res.hi, a + 3);
	assert_int_equal((res.lo_readings + res.hi_readings), 5 * POINTS);
	assert_int_equal(res.lo_readings % POINTS, 0);
	/* Down to single seqs, which cannot be split. */
	assert_int_equal(split_batch(s, a + 3, &res), 0);
	assert_int_equal(res.lo_last, a + 3);
	assert_int_equal(res.hi_last, a + 4);
	assert_int_equal(split_batch(s, a + 3, &res), -EMSGSIZE);
	assert_int_equal(split_batch(s, a + 4, &res), -EMSGSIZE);
	/* Nothing lost or doubled; all survives a reopen. */
	assert_int_equal(store_stats(s, &st), 0);
	assert_int_equal(st.readings, 10 * POINTS);
	assert_int_equal(st.batches, 4);
	store_close(s);
	assert_int_equal(store_open("sqlite", store_tmp_path, &s, err, sizeof(err)), 0);
	holds(s, a + 5, a + 9, 5, 9);
	assert_int_equal(store_stats(s, &st), 0);
	assert_int_equal(st.readings, 10 * POINTS);
	/* New seqs still continue after the highest one handed out. */
	assert_int_equal(append_cycle(s, 10), a + 10);
	store_close(s);
}

/* Acknowledged (delete pending) or not stored: -ENOENT, nothing inserted. */
static void
test_acked_is_not_split(void **state)
{
	struct split_result res;
	struct store_stats st;
	struct store_batch lo = { 0 }, hi = { 0 };
	struct store *s;
	uint64_t a;

	(void)state;
	s = ten_cycle_span(&a);
	assert_int_equal(split_batch(s, a + 1, &res), -ENOENT);
	/* seqs that do not match the stored span exactly */
	lo.seq = a, lo.seq_last = a + 3, hi.seq = a + 4, hi.seq_last = a + 8;
	lo.body = hi.body = (const uint8_t *)"";
	assert_int_equal(store_split(s, &lo, &hi), -ENOENT);
	hi.seq = a + 5;
	assert_int_equal(store_split(s, &lo, &hi), -EINVAL);
	assert_int_equal(store_ack(s, a), 0);
	assert_int_equal(split_batch(s, a, &res), -ENOENT);
	assert_int_equal(store_stats(s, &st), 0);
	assert_int_equal(st.readings, 10 * POINTS);	/* its delete not committed yet */
	append_cycle(s, 10);				/* ... now it is */
	assert_int_equal(store_stats(s, &st), 0);
	assert_int_equal(st.readings, POINTS);
	store_close(s);
}

/* A span the budget thinned: both halves stay thinned (never thinned twice). */
static void
test_thinned_stays_thinned(void **state)
{
	struct split_result res;
	struct store_batch b;
	struct store *s;
	uint64_t a;

	(void)state;
	s = ten_cycle_span(&a);
	assert_int_equal(store_peek(s, a - 1, &b), 0);
	assert_int_equal(store_rewrite(s, a, &b), 0);
	assert_int_equal(split_batch(s, a, &res), 0);
	assert_int_equal(store_peek(s, a - 1, &b), 0);
	assert_int_equal(b.thinned, 1);
	assert_int_equal(store_peek(s, b.seq_last, &b), 0);
	assert_int_equal(b.seq, a + 5);
	assert_int_equal(b.thinned, 1);
	holds(s, a + 5, a + 9, 5, 9);
	store_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_halves_partition_seqs_and_readings,
		    setup, store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_acked_is_not_split, setup,
		    store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_thinned_stays_thinned, setup,
		    store_tmp_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
