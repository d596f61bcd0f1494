/* The SQLite store: append/peek/ack, sequence numbers never reused, survives reopen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/store/store.h"

static char dir[256], path[300];

static int
setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/wg-store-XXXXXX", t ? t : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	/* A directory that does not exist yet: the store makes it. */
	snprintf(path, sizeof(path), "%s/state/sub/store.db", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[400];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static struct store *
open_store(void)
{
	struct store *s = NULL;
	char err[256];

	assert_int_equal(store_open("sqlite", path, &s, err, sizeof(err)), 0);
	return s;
}

static uint64_t
append(struct store *s, const char *body, uint32_t n)
{
	struct store_batch b = { .schema_id = 0xabcdef01u, .flags = 1, .t_first = 1000,
		.n_readings = n, .raw_len = strlen(body) + 5,
		.body = (const uint8_t *)body, .body_len = strlen(body) };

	assert_int_equal(store_append(s, &b), 0);
	return b.seq;
}

static void
test_append_peek_ack(void **state)
{
	struct store *s = open_store();
	struct store_batch b;
	struct store_stats st;
	uint64_t a, c;

	(void)state;
	assert_int_equal(store_peek(s, 0, &b), -ENOENT);
	a = append(s, "first", 13);
	c = append(s, "second", 13);
	assert_true(c > a);
	assert_int_equal(store_peek(s, 0, &b), 0);
	assert_int_equal(b.seq, a);
	assert_int_equal(b.schema_id, 0xabcdef01u);
	assert_int_equal(b.flags, 1);
	assert_int_equal(b.n_readings, 13);
	assert_int_equal(b.raw_len, 10);
	assert_memory_equal(b.body, "first", 5);
	assert_int_equal(store_peek(s, a, &b), 0);
	assert_int_equal(b.seq, c);
	assert_int_equal(store_peek(s, c, &b), -ENOENT);
	assert_int_equal(store_stats(s, &st), 0);
	assert_int_equal(st.batches, 2);
	assert_int_equal(st.readings, 26);
	assert_int_equal(store_ack(s, a), 0);
	assert_int_equal(store_ack(s, a), 0);	/* twice is fine */
	assert_int_equal(store_peek(s, 0, &b), 0);
	assert_int_equal(b.seq, c);
	store_close(s);
}

static void
test_seq_survives_restart_and_empty_store(void **state)
{
	struct store *s = open_store();
	struct store_batch b;
	uint64_t last, again;

	(void)state;
	last = append(s, "x", 1);
	assert_int_equal(store_ack(s, last), 0);
	while (store_peek(s, 0, &b) == 0)
		assert_int_equal(store_ack(s, b.seq), 0);
	store_close(s);

	/* Reopened and empty: the next number is still new (receivers dedupe on it). */
	s = open_store();
	again = append(s, "y", 1);
	assert_true(again > last);
	store_close(s);
}

static void
test_new_store_does_not_restart_at_one(void **state)
{
	struct store *s = open_store();
	uint64_t first, second;

	(void)state;
	/* A store made anew (replaced card, deleted file) must not reuse the numbers
	 * an earlier store gave the receiver: it starts from the wall clock. */
	first = append(s, "a", 1);
	store_close(s);
	assert_int_equal(remove(path), 0);
	s = open_store();
	second = append(s, "b", 1);
	store_close(s);
	assert_true(first > UINT64_C(1577836800000));	/* 2020 in ms */
	assert_true(second >= first);
}

static void
test_unacked_batches_survive_reopen(void **state)
{
	struct store *s = open_store();
	struct store_batch b;
	uint64_t a;

	(void)state;
	a = append(s, "kept", 3);
	store_close(s);
	s = open_store();
	assert_int_equal(store_peek(s, a - 1, &b), 0);
	assert_int_equal(b.seq, a);
	assert_memory_equal(b.body, "kept", 4);
	store_close(s);
}

static void
test_schemas(void **state)
{
	struct store *s = open_store();
	char *json = NULL;

	(void)state;
	assert_int_equal(store_put_schema(s, 7, "{\"a\":1}"), 0);
	assert_int_equal(store_get_schema(s, 7, &json), 0);
	assert_string_equal(json, "{\"a\":1}");
	free(json);
	assert_int_equal(store_get_schema(s, 8, &json), -ENOENT);
	store_close(s);
}

static void
test_bad_path(void **state)
{
	struct store *s = NULL;
	char err[256];

	(void)state;
	assert_true(store_open("sqlite", "/proc/no/such/dir/store.db", &s, err,
	    sizeof(err)) < 0);
	assert_non_null(strstr(err, "/proc/no/such/dir/store.db"));
	assert_true(store_open("tape", path, &s, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "tape"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_peek_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_seq_survives_restart_and_empty_store,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_store_does_not_restart_at_one,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_unacked_batches_survive_reopen, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_schemas, setup, teardown),
		cmocka_unit_test(test_bad_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
