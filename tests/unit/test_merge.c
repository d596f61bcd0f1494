/*
 * Backlog merging (firmware/store/merge.c) on a real SQLite store: runs of
 * pending batches become spans holding exactly their readings; batches that
 * may have been sent (not pending) are never merged; the open run waits.
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
#include "firmware/store/store.h"
#include "tests/unit/store_tmp.h"

#define T0	INT64_C(1763827200000)


static int
setup(void **state)
{
	(void)state;
	return store_tmp_setup("store.db");
}

/* One cycle of npoints readings of device 0 at T0 + cycle * 30 s. */
static uint64_t
append_cycle(struct store *s, int cycle, int npoints, int pending)
{
	struct reading r[64];
	uint8_t body[4096];
	struct store_batch b = { .schema_id = 7, .pending = (uint8_t)pending };
	size_t len, raw_len;
	int i;

	for (i = 0; i < npoints; i++) {
		r[i].ts_ms = T0 + (int64_t)cycle * 30000;
		r[i].dev = 0;
		r[i].point = (uint16_t)i;
		r[i].quality = Q_OK;
		r[i].v.m = 2301 + 100 * (cycle % 7) + 10 * i;	/* normalized */
		r[i].v.e = -1;
	}
	assert_int_equal(batch_encode_body(r, (size_t)npoints, body, sizeof(body),
	    &len, &b.flags, &raw_len), 0);
	b.t_first = r[0].ts_ms;
	b.n_readings = (uint32_t)npoints;
	b.raw_len = raw_len;
	b.body = body;
	b.body_len = len;
	assert_int_equal(store_append(s, &b), 0);
	return b.seq;
}

/* Decode a stored batch and check it holds cycles c0..c1 of npoints each. */
static void
holds_cycles(const struct store_batch *b, int c0, int c1, int npoints)
{
	size_t cap = (size_t)(c1 - c0 + 1) * (size_t)npoints, n, i;
	struct reading *r = calloc(cap, sizeof(*r));

	assert_non_null(r);
	assert_int_equal(b->n_readings, cap);
	assert_int_equal(batch_decode_body(b->body, b->body_len, b->raw_len, b->flags,
	    r, cap, &n, NULL), 0);
	assert_int_equal(n, cap);
	for (i = 0; i < n; i++) {
		int c = c0 + (int)(i / (size_t)npoints);

		assert_int_equal(r[i].ts_ms, T0 + (int64_t)c * 30000);
		assert_int_equal(r[i].v.m, 2301 + 100 * (c % 7) +
		    10 * (int)(i % (size_t)npoints));
	}
	assert_int_equal(b->t_first, T0 + (int64_t)c0 * 30000);
	free(r);
}

static void
test_runs_merge_into_spans(void **state)
{
	struct store *s = NULL;
	struct store_batch b;
	struct merge_result res;
	struct store_stats st;
	uint64_t seq[12];
	char err[256], cmd[400];
	int i;

	(void)state;
	assert_int_equal(store_open("sqlite", store_tmp_path, &s, err, sizeof(err)), 0);
	/* 0..4 pending, 5 sent live (not pending), 6..11 pending */
	for (i = 0; i < 12; i++)
		seq[i] = append_cycle(s, i, 10, i != 5);
	assert_int_equal(store_stats(s, &st), 0);
	assert_int_equal(st.pending_readings, 110);

	/* Not all: the run 0..4 is closed (5 is not pending), 6..11 stays open. */
	assert_int_equal(merge_pending(s, 0, &res), 0);
	assert_int_equal(res.made, 1);
	assert_int_equal(res.merged, 5);
	assert_int_equal(res.left, 60);
	assert_int_equal(store_peek(s, 0, &b), 0);
	assert_int_equal(b.seq, seq[0]);
	assert_int_equal(b.seq_last, seq[4]);
	assert_int_equal(b.pending, 0);
	holds_cycles(&b, 0, 4, 10);
	assert_int_equal(store_peek(s, b.seq_last, &b), 0);
	assert_int_equal(b.seq, seq[5]);
	assert_int_equal(b.seq_last, seq[5]);
	assert_int_equal(store_peek(s, b.seq, &b), 0);
	assert_int_equal(b.seq, seq[6]);
	assert_int_equal(b.pending, 1);

	/* All: the open run too; nothing pending is left. */
	assert_int_equal(merge_pending(s, 1, &res), 0);
	assert_int_equal(res.made, 1);
	assert_int_equal(res.left, 0);
	assert_int_equal(store_peek(s, seq[5], &b), 0);
	assert_int_equal(b.seq, seq[6]);
	assert_int_equal(b.seq_last, seq[11]);
	holds_cycles(&b, 6, 11, 10);
	assert_int_equal(store_peek_pending(s, 0, &b), -ENOENT);
	assert_int_equal(store_stats(s, &st), 0);
	assert_int_equal(st.batches, 3);
	assert_int_equal(st.readings, 120);
	assert_int_equal(st.pending_readings, 0);

	/*
	 * Spans survive a reopen; new seqs continue after the last one, from the
	 * span's seq_last alone (the recorded floor is cleared to make sure).
	 */
	store_close(s);
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'UPDATE store_state SET seq_floor = 0'",
	    store_tmp_path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(store_open("sqlite", store_tmp_path, &s, err, sizeof(err)), 0);
	assert_int_equal(store_peek(s, seq[5], &b), 0);
	assert_int_equal(b.seq_last, seq[11]);
	assert_int_equal(append_cycle(s, 12, 10, 1), seq[11] + 1);
	/* a lone pending batch is sealed, not re-encoded */
	assert_int_equal(merge_pending(s, 1, &res), 0);
	assert_int_equal(res.made, 0);
	assert_int_equal(res.sealed, 1);
	assert_int_equal(store_ack(s, seq[0]), 0);
	store_close(s);
}

/* Runs end at MERGE_READINGS readings; a merged batch is never merged again. */
static void
test_runs_are_bounded(void **state)
{
	struct store *s = NULL;
	struct store_batch b;
	struct merge_result res;
	char err[256];
	int i, per_run = MERGE_READINGS / 50;	/* cycles of 50 points per run */
	uint64_t first;

	(void)state;
	assert_int_equal(store_open("sqlite", store_tmp_path, &s, err, sizeof(err)), 0);
	first = append_cycle(s, 0, 50, 1);
	for (i = 1; i < 4 * per_run + 3; i++)
		append_cycle(s, i, 50, 1);
	assert_int_equal(merge_pending(s, 0, &res), 0);
	assert_int_equal(res.made, 4);
	assert_int_equal(res.left, 3 * 50);
	assert_int_equal(store_peek(s, 0, &b), 0);
	assert_int_equal(b.seq, first);
	assert_true(b.n_readings <= MERGE_READINGS);
	assert_true(b.n_readings > MERGE_READINGS - 50);
	holds_cycles(&b, 0, (int)(b.seq_last - b.seq), 50);
	/* again: the merged ones are not pending, only the open run is */
	assert_int_equal(merge_pending(s, 0, &res), 0);
	assert_int_equal(res.made, 0);
	assert_int_equal(res.left, 3 * 50);
	store_close(s);
}

/* A pending batch that does not decode: its run is sealed unmerged, not lost. */
static void
test_undecodable_run_is_sealed(void **state)
{
	struct store *s = NULL;
	struct store_batch b = { .schema_id = 7, .pending = 1, .n_readings = 3,
	    .raw_len = 4, .body = (const uint8_t *)"junk", .body_len = 4 };
	struct merge_result res;
	char err[256];

	(void)state;
	assert_int_equal(store_open("sqlite", store_tmp_path, &s, err, sizeof(err)), 0);
	append_cycle(s, 0, 10, 1);
	assert_int_equal(store_append(s, &b), 0);
	append_cycle(s, 2, 10, 1);
	assert_int_equal(merge_pending(s, 1, &res), 0);
	assert_int_equal(res.made, 0);
	assert_int_equal(res.sealed, 3);
	assert_int_equal(store_peek_pending(s, 0, &b), -ENOENT);
	store_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_runs_merge_into_spans, setup,
		    store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_runs_are_bounded, setup, store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_undecodable_run_is_sealed, setup,
		    store_tmp_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
