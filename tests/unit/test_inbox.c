/* Command frames kept across a stop (firmware/core/inbox.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "firmware/codec/command.h"
#include "firmware/core/inbox.h"
#include "store_tmp.h"

struct got {
	char frames[INBOX_MAX + 1][32];
	size_t n;
};

static void
collect(void *arg, const uint8_t *frame, size_t len)
{
	struct got *g = arg;

	assert_true(len < sizeof(g->frames[0]));
	memcpy(g->frames[g->n], frame, len);
	g->frames[g->n++][len] = '\0';
}

static void
test_keeps_order_and_bound(void **state)
{
	struct got g = { 0 };
	char f[32], path[400];
	int i;

	(void)state;
	assert_int_equal(store_tmp_setup("store.db"), 0);
	assert_int_equal(inbox_take(store_tmp_path, collect, &g), 0);
	for (i = 0; i < INBOX_MAX; i++) {
		snprintf(f, sizeof(f), "frame %d", i);
		assert_int_equal(inbox_keep(store_tmp_path, (uint8_t *)f, strlen(f)), 0);
	}
	/* full: the ninth is refused, the eight stay */
	assert_int_equal(inbox_keep(store_tmp_path, (uint8_t *)"x", 1), -ENOSPC);
	assert_int_equal(inbox_take(store_tmp_path, collect, &g), INBOX_MAX);
	for (i = 0; i < INBOX_MAX; i++) {
		snprintf(f, sizeof(f), "frame %d", i);
		assert_string_equal(g.frames[i], f);
	}
	/* taken means gone: nothing the second time, and room again */
	g.n = 0;
	assert_int_equal(inbox_take(store_tmp_path, collect, &g), 0);
	snprintf(path, sizeof(path), "%s/cmd.inbox.0", store_tmp_dir);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_int_equal(inbox_keep(store_tmp_path, (uint8_t *)"y", 1), 0);
	assert_int_equal(access(path, F_OK), 0);
	store_tmp_teardown(NULL);
}

/* A gap (a file removed by hand) never puts a newer frame before an older. */
static void
test_after_the_last(void **state)
{
	struct got g = { 0 };
	char path[400];

	(void)state;
	assert_int_equal(store_tmp_setup("store.db"), 0);
	assert_int_equal(inbox_keep(store_tmp_path, (uint8_t *)"a", 1), 0);
	assert_int_equal(inbox_keep(store_tmp_path, (uint8_t *)"b", 1), 0);
	snprintf(path, sizeof(path), "%s/cmd.inbox.0", store_tmp_dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(inbox_keep(store_tmp_path, (uint8_t *)"c", 1), 0);
	assert_int_equal(inbox_take(store_tmp_path, collect, &g), 2);
	assert_string_equal(g.frames[0], "b");
	assert_string_equal(g.frames[1], "c");
	store_tmp_teardown(NULL);
}

static void
test_oversized(void **state)
{
	static uint8_t big[CMD_FRAME_MAX + 1];

	(void)state;
	assert_int_equal(store_tmp_setup("store.db"), 0);
	assert_int_equal(inbox_keep(store_tmp_path, big, sizeof(big)), -EMSGSIZE);
	assert_int_equal(inbox_keep(store_tmp_path, big, sizeof(big) - 1), 0);
	store_tmp_teardown(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keeps_order_and_bound),
		cmocka_unit_test(test_after_the_last),
		cmocka_unit_test(test_oversized),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
