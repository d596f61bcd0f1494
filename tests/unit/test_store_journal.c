/*
 * The command journal and result outbox (firmware/store/store_journal.h):
 * states by id, verified and unverified rows apart, the accepted sequence
 * never going down, records numbered once and kept until acknowledged,
 * everything across a reopen, and the bounds.
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

#include "firmware/store/store.h"
#include "firmware/store/store_journal.h"
#include "tests/unit/store_tmp.h"

static int
setup(void **state)
{
	(void)state;
	return store_tmp_setup("state/store.db");
}

static struct store *
open_store(void)
{
	struct store *s = NULL;
	char err[256];

	assert_int_equal(store_open("sqlite", store_tmp_path, &s, err, sizeof(err)), 0);
	return s;
}

static struct store_cmd
cmd(const char *id, uint64_t seq, const char *state, int verified)
{
	struct store_cmd c = { .seq = seq, .verified = verified, .at_ms = 1000 };

	snprintf(c.id, sizeof(c.id), "%s", id);
	snprintf(c.type, sizeof(c.type), "state");
	snprintf(c.state, sizeof(c.state), "%s", state);
	return c;
}

static void
test_states_and_results(void **state)
{
	struct store *s = open_store();
	struct store_cmd c = cmd("a1", 5, "received", 1), got;
	uint64_t r1, r2, r, seq, n;
	char *json, *res;

	(void)state;
	assert_int_equal(store_cmd_get(s, "a1", &got, NULL), -ENOENT);
	assert_int_equal(store_cmd_record(s, &c, "{\"state\":\"received\"}", 1, &r1), 0);
	snprintf(c.state, sizeof(c.state), "applied");
	assert_int_equal(store_cmd_record(s, &c, "{\"state\":\"applied\"}", 0, &r2), 0);
	assert_true(r2 > r1);
	assert_int_equal(store_cmd_get(s, "a1", &got, &res), 0);
	assert_string_equal(got.state, "applied");
	assert_string_equal(res, "{\"state\":\"applied\"}");
	free(res);
	assert_int_equal(store_cmd_last_seq(s, &seq), 0);
	assert_int_equal(seq, 5);
	/* the records, numbered in front, oldest first */
	assert_int_equal(store_result_peek(s, 0, &r, &json), 0);
	assert_int_equal(r, r1);
	assert_non_null(strstr(json, "\"received\""));
	assert_int_equal(strncmp(json, "{\"r\":", 5), 0);
	free(json);
	assert_int_equal(store_result_ack(s, r1), 0);
	assert_int_equal(store_result_count(s, &n), 0);
	assert_int_equal(n, 1);
	store_close(s);
	/* across a reopen: the second record, the seq, the row */
	s = open_store();
	assert_int_equal(store_result_peek(s, 0, &r, &json), 0);
	assert_int_equal(r, r2);
	free(json);
	assert_int_equal(store_result_ack(s, r2), 0);
	assert_int_equal(store_result_peek(s, 0, &r, &json), -ENOENT);
	assert_int_equal(store_cmd_last_seq(s, &seq), 0);
	assert_int_equal(seq, 5);
	/* a number is never handed out again, even with the outbox empty */
	c = cmd("a2", 3, "rejected", 1);
	assert_int_equal(store_cmd_record(s, &c, "{}", 1, &r), 0);
	assert_true(r > r2);
	/* the accepted seq never goes down */
	assert_int_equal(store_cmd_last_seq(s, &seq), 0);
	assert_int_equal(seq, 5);
	assert_int_equal(store_result_peek(s, 0, &r, &json), 0);
	assert_string_equal(strchr(json, '}') + 1, "");	/* {"r":N} alone */
	free(json);
	store_close(s);
}

/* A forged frame naming a real id is journaled apart and never found by id. */
static void
test_unverified_apart(void **state)
{
	struct store *s = open_store();
	struct store_cmd c = cmd("b1", 0, "rejected", 0), got;
	struct store_cmd open[4];
	size_t found;
	int i;

	(void)state;
	assert_int_equal(store_cmd_record(s, &c, "{}", 0, NULL), 0);
	assert_int_equal(store_cmd_get(s, "b1", &got, NULL), -ENOENT);
	c = cmd("b1", 7, "received", 1);
	assert_int_equal(store_cmd_record(s, &c, "{}", 1, NULL), 0);
	assert_int_equal(store_cmd_get(s, "b1", &got, NULL), 0);
	assert_int_equal(got.seq, 7);
	assert_int_equal(store_cmd_open(s, open, 4, &found), 0);
	assert_int_equal(found, 1);
	assert_string_equal(open[0].id, "b1");
	/* the unverified rows are bounded */
	for (i = 0; i < STORE_CMD_UNVERIFIED_MAX + 20; i++) {
		c = cmd("", 0, "rejected", 0);
		assert_int_equal(store_cmd_record(s, &c, "{}", 0, NULL), 0);
	}
	/* and so are their records: 277 made, 256 kept, the verified one too */
	assert_int_equal(s->results_dropped, 21);
	{
		uint64_t n;

		assert_int_equal(store_result_count(s, &n), 0);
		assert_int_equal(n, STORE_CMD_UNVERIFIED_MAX + 1);
	}
	store_close(s);
}

/* The control plane's own values, across a reopen; the journal's birth. */
/* The console's "commands": the newest rows first, a row keeping its
 * place through its states; unverified rejections among them. */
static void
test_recent(void **state)
{
	struct store *s = open_store();
	struct store_cmd c, rows[8];
	size_t found;

	(void)state;
	assert_int_equal(store_cmd_recent(s, rows, 8, &found), 0);
	assert_int_equal(found, 0);
	c = cmd("a", 1, "received", 1);
	assert_int_equal(store_cmd_record(s, &c, "{}", 1, NULL), 0);
	c = cmd("b", 2, "received", 1);
	assert_int_equal(store_cmd_record(s, &c, "{}", 1, NULL), 0);
	c = cmd("", 0, "rejected", 0);
	assert_int_equal(store_cmd_record(s, &c, "{}", 0, NULL), 0);
	c = cmd("a", 1, "applied", 1);
	assert_int_equal(store_cmd_record(s, &c, "{}", 0, NULL), 0);
	assert_int_equal(store_cmd_recent(s, rows, 8, &found), 0);
	assert_int_equal(found, 3);
	assert_string_equal(rows[0].id, "");
	assert_int_equal(rows[0].verified, 0);
	assert_string_equal(rows[1].id, "b");
	assert_string_equal(rows[2].id, "a");
	assert_string_equal(rows[2].state, "applied");
	assert_int_equal(store_cmd_recent(s, rows, 2, &found), 0);
	assert_int_equal(found, 2);
	assert_string_equal(rows[1].id, "b");
	assert_int_equal(store_cmd_recent(s, rows, 0, &found), 0);
	assert_int_equal(found, 0);
	store_close(s);
}

static void
test_ctl_values(void **state)
{
	struct store *s = open_store();
	int64_t v;

	(void)state;
	assert_int_equal(store_ctl_get(s, "failsafe:wallbox", &v), -ENOENT);
	assert_int_equal(store_ctl_put(s, "failsafe:wallbox", 1), 0);
	assert_int_equal(store_ctl_put(s, "limit_ma:wallbox", 16000), 0);
	assert_int_equal(store_ctl_put(s, "failsafe:wallbox", 0), 0);
	store_close(s);
	s = open_store();
	assert_int_equal(store_ctl_get(s, "failsafe:wallbox", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(store_ctl_get(s, "limit_ma:wallbox", &v), 0);
	assert_int_equal(v, 16000);
	/* born with a valid clock: now, and the record numbers start there */
	assert_int_equal(store_ctl_get(s, "created", &v), 0);
	assert_true(v > 1600000000000LL);
	store_close(s);
}

/* Anything but a JSON object is refused: the record's "r" goes in front. */
static void
test_bad_record(void **state)
{
	struct store *s = open_store();
	struct store_cmd c = cmd("c1", 1, "received", 1);

	(void)state;
	assert_int_equal(store_cmd_record(s, &c, "[]", 1, NULL), -EINVAL);
	assert_int_equal(store_cmd_record(s, &c, NULL, 1, NULL), -EINVAL);
	store_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_states_and_results, setup,
		    store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_unverified_apart, setup,
		    store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_bad_record, setup,
		    store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_recent, setup, store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_ctl_values, setup,
		    store_tmp_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
