/*
 * The store budget (firmware/store/budget.c) on a real store: over the byte
 * budget the oldest batch is thinned first (every 4th cycle, plus each energy
 * counter's last value per 4-cycle window), then batches are evicted oldest
 * first; the age budget evicts; everything is counted.
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
#include "firmware/codec/schema.h"
#include "firmware/store/budget.h"
#include "firmware/store/store.h"
#include "tests/unit/store_tmp.h"

#define T0	INT64_C(1763827200000)
#define CYCLES	64
#define POINTS	3	/* V, A, kWh */

static uint32_t sid;


static int
setup(void **state)
{
	(void)state;
	return store_tmp_setup("store.db");
}

static struct store *
open_with_schema(void)
{
	struct schema_point pt[POINTS] = { { "voltage", "V" }, { "current", "A" },
	    { "import", "kWh" } };
	struct schema_device dev = { "meter", "test", POINTS, pt };
	struct schema s = { "gw-1", 1, &dev };
	struct store *st = NULL;
	char err[256], *json;

	assert_int_equal(store_open("sqlite", store_tmp_path, &st, err, sizeof(err)), 0);
	assert_int_equal(schema_to_json(&s, &json, &sid), 0);
	assert_int_equal(store_put_schema(st, sid, json), 0);
	free(json);
	return st;
}

/* The store's drop ledger says what the budget's counts say. */
static void
assert_ledger(struct store *st, const struct budget_counts *c)
{
	struct store_drops d;

	store_drops(st, &d);
	assert_int_equal(d.c[STORE_DROP_THINNED].batches, c->thinned_batches);
	assert_int_equal(d.c[STORE_DROP_THINNED].readings, c->thinned_readings);
	assert_int_equal(d.c[STORE_DROP_EVICTED].batches, c->evicted_batches);
	assert_int_equal(d.c[STORE_DROP_EVICTED].readings, c->evicted_readings);
}

/* Batch k: CYCLES cycles from T0 + k * CYCLES * 30 s. */
static uint64_t
append_batch(struct store *st, int k)
{
	struct reading r[CYCLES * POINTS];
	uint8_t body[8192];
	struct store_batch b = { .schema_id = sid };
	size_t len, raw_len, n = 0;
	int c, p;

	for (c = 0; c < CYCLES; c++)
		for (p = 0; p < POINTS; p++, n++) {
			r[n].ts_ms = T0 + (int64_t)(k * CYCLES + c) * 30000;
			r[n].dev = 0;
			r[n].point = (uint16_t)p;
			r[n].quality = Q_OK;
			/* the counter rises; the others wander (do not compress away) */
			r[n].v.m = p == 2 ? 1000 + k * CYCLES + c :
			    2000 + (int64_t)((uint32_t)(n * 2654435761u + (unsigned)k) % 997);
			r[n].v.e = 0;
		}
	assert_int_equal(batch_encode_body(r, n, body, sizeof(body), &len, &b.flags,
	    &raw_len), 0);
	b.t_first = r[0].ts_ms;
	b.n_readings = (uint32_t)n;
	b.raw_len = raw_len;
	b.body = body;
	b.body_len = len;
	assert_int_equal(store_append(st, &b), 0);
	return b.seq;
}

static void
test_thin_then_evict(void **state)
{
	struct store *st = open_with_schema();
	struct budget_counts c = { 0 };
	struct store_stats ss;
	struct store_batch b;
	struct reading r[CYCLES * POINTS];
	uint64_t first;
	size_t n, i;

	(void)state;
	first = append_batch(st, 0);
	append_batch(st, 1);
	append_batch(st, 2);
	assert_int_equal(store_stats(st, &ss), 0);

	/* Just over: the oldest batch is thinned, nothing evicted. */
	assert_int_equal(budget_apply(st, ss.bytes - 1, 0, 0, &c), 0);
	assert_int_equal(c.thinned_batches, 1);
	assert_int_equal(c.evicted_batches, 0);
	assert_int_equal(store_peek(st, 0, &b), 0);
	assert_int_equal(b.seq, first);
	assert_true(b.thinned);
	assert_int_equal(batch_decode_body(b.body, b.body_len, b.raw_len, b.flags, r,
	    CYCLES * POINTS, &n, NULL), 0);
	/* every 4th cycle of every point, and the counter's last of each window */
	assert_int_equal(n, CYCLES / 4 * POINTS + CYCLES / 4);
	assert_int_equal(c.thinned_readings, CYCLES * POINTS - n);
	for (i = 0; i < n; i++) {
		int cyc = (int)((r[i].ts_ms - T0) / 30000);

		if (r[i].point == 2)
			assert_true(cyc % 4 == 0 || cyc % 4 == 3);
		else
			assert_true(cyc % 4 == 0);
		if (r[i].point == 2) {	/* decoded values are normalized */
			int64_t v = r[i].v.m;
			int e;

			for (e = 0; e < r[i].v.e; e++)
				v *= 10;
			assert_int_equal(v, 1000 + cyc);
		}
	}

	/* A budget nothing fits in: all thinned first, then evicted oldest first. */
	assert_int_equal(budget_apply(st, 1, 0, 0, &c), 0);
	assert_int_equal(store_stats(st, &ss), 0);
	assert_int_equal(ss.batches, 0);
	assert_int_equal(c.thinned_batches, 3);
	assert_int_equal(c.evicted_batches, 3);
	assert_int_equal(c.evicted_readings + c.thinned_readings + ss.readings,
	    3 * CYCLES * POINTS);
	store_close(st);
	/* What this run counted is what the store's ledger holds after a restart. */
	st = open_with_schema();
	assert_ledger(st, &c);
	store_close(st);
}

static void
test_age(void **state)
{
	struct store *st = open_with_schema();
	struct budget_counts c = { 0 };
	struct store_stats ss;

	(void)state;
	append_batch(st, 0);
	append_batch(st, 1);
	/* batch 0 is older than 5 min at T0 + 37 min, batch 1 (from T0 + 32 min) not */
	assert_int_equal(budget_apply(st, UINT64_MAX, 300000, T0 + 37 * 60000, &c), 0);
	assert_int_equal(c.evicted_batches, 1);
	assert_int_equal(c.evicted_readings, CYCLES * POINTS);
	assert_int_equal(c.thinned_batches, 0);
	assert_int_equal(store_stats(st, &ss), 0);
	assert_int_equal(ss.batches, 1);
	/* no clock: no age check */
	assert_int_equal(budget_apply(st, UINT64_MAX, 1, 0, &c), 0);
	assert_int_equal(c.evicted_batches, 1);
	store_close(st);
	st = open_with_schema();
	assert_ledger(st, &c);
	store_close(st);
}

static void
test_counter_units(void **state)
{
	(void)state;
	assert_true(budget_is_counter("kWh"));
	assert_true(budget_is_counter("kvarh"));
	assert_false(budget_is_counter("kW"));
	assert_false(budget_is_counter("V"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_thin_then_evict, setup, store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_age, setup, store_tmp_teardown),
		cmocka_unit_test(test_counter_units),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
