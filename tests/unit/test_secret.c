/* Secrets files: loose modes and non-files refused with the reason; reads whole. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firmware/base/secret.h"
#include "tests/unit/store_tmp.h"

static int
setup(void **state)
{
	(void)state;
	return store_tmp_setup("psk");
}

static void
put(const char *text, mode_t mode)
{
	FILE *f = fopen(store_tmp_path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(store_tmp_path, mode), 0);
}

static void
test_owner_only_is_read(void **state)
{
	char err[256], *buf;
	size_t len;

	(void)state;
	put("gw-1:0011223344556677\n", 0600);
	assert_int_equal(secret_check(store_tmp_path, err, sizeof(err)), 0);
	assert_int_equal(secret_read(store_tmp_path, &buf, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 22);
	assert_string_equal(buf, "gw-1:0011223344556677\n");
	secret_free(buf, len);
	put("k", 0400);
	assert_int_equal(secret_check(store_tmp_path, err, sizeof(err)), 0);
}

static void
test_loose_modes_are_refused(void **state)
{
	static const mode_t loose[] = { 0640, 0604, 0660, 0644, 0601, 0610, 0700 | 0001 };
	char err[256], *buf = (char *)1;
	size_t i, len = 1;

	(void)state;
	for (i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
		put("secret", loose[i]);
		assert_int_equal(secret_check(store_tmp_path, err, sizeof(err)), -EPERM);
		assert_non_null(strstr(err, store_tmp_path));
		assert_non_null(strstr(err, "chmod 600"));
		assert_null(strstr(err, "secret\n"));
		assert_int_equal(secret_read(store_tmp_path, &buf, &len, err, sizeof(err)),
		    -EPERM);
		assert_null(buf);
		assert_int_equal(len, 0);
	}
}

static void
test_missing_and_non_files(void **state)
{
	char err[256], *buf;
	size_t len;

	(void)state;
	assert_int_equal(secret_check(store_tmp_path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(secret_check(store_tmp_dir, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "regular file"));
	assert_true(secret_read("/dev/null", &buf, &len, err, sizeof(err)) < 0);
	/* A FIFO named as a key file used to block secret_read in open(). */
	assert_int_equal(mkfifo(store_tmp_path, 0600), 0);
	assert_int_equal(secret_read(store_tmp_path, &buf, &len, err,
	    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "a FIFO, not a regular file"));
	assert_null(buf);
	unlink(store_tmp_path);
}

static void
test_oversized_is_refused(void **state)
{
	static char big[SECRET_MAX + 2];
	char err[256], *buf;
	size_t len;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	put(big, 0600);
	assert_int_equal(secret_read(store_tmp_path, &buf, &len, err, sizeof(err)),
	    -EFBIG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_owner_only_is_read, setup,
		    store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_loose_modes_are_refused, setup,
		    store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_non_files, setup,
		    store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_oversized_is_refused, setup,
		    store_tmp_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
