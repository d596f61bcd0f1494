/* The store's file system check: which mount holds the store, and lazytime. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/store/store_fs.h"
#include "tests/unit/store_tmp.h"

static char dir[PATH_MAX], mounts[PATH_MAX + 16], db[PATH_MAX + 16];

static int
setup(void **state)
{
	(void)state;
	if (store_tmp_setup("store.db") < 0 || realpath(store_tmp_dir, dir) == NULL)
		return -1;
	snprintf(mounts, sizeof(mounts), "%s/mounts", dir);
	snprintf(db, sizeof(db), "%s/store.db", dir);
	return 0;
}

/* A mounts file: "/" on ext4 without lazytime, then the given lines. */
static void
put(const char *fmt, ...)
{
	FILE *f = fopen(mounts, "w");
	va_list ap;

	assert_non_null(f);
	fputs("/dev/sda1 / ext4 rw,relatime 0 0\n", f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static int
check(char *msg)
{
	msg[0] = '\0';
	return store_fs_check(mounts, db, msg, 512);
}

static void
test_root_without_lazytime_is_noted(void **state)
{
	char msg[512];

	(void)state;
	put("");
	assert_int_equal(check(msg), 1);
	assert_non_null(strstr(msg, "without lazytime"));
	assert_non_null(strstr(msg, "ext4 / (rw,relatime)"));
	assert_non_null(strstr(msg, dir));
}

static void
test_lazytime_partition_is_fine(void **state)
{
	char msg[512];

	(void)state;
	put("/dev/mmcblk0p3 %s ext4 rw,noatime,lazytime 0 0\n", dir);
	assert_int_equal(check(msg), 0);
	assert_string_equal(msg, "");
}

static void
test_tmpfs_is_not_flash(void **state)
{
	char msg[512];

	(void)state;
	put("tmpfs %s tmpfs rw,nosuid 0 0\n", dir);
	assert_int_equal(check(msg), 0);
}

/* Mounted twice on the same directory: the later mount is the one in use. */
static void
test_later_mount_wins(void **state)
{
	char msg[512];

	(void)state;
	put("/dev/sdb1 %s ext4 rw,lazytime 0 0\n/dev/sdc1 %s f2fs rw,noatime 0 0\n",
	    dir, dir);
	assert_int_equal(check(msg), 1);
	assert_non_null(strstr(msg, "f2fs"));
	put("/dev/sdc1 %s f2fs rw,noatime 0 0\n/dev/sdb1 %s ext4 rw,lazytime 0 0\n",
	    dir, dir);
	assert_int_equal(check(msg), 0);
}

/* A mount on a name that is a prefix of the store's directory is not its mount. */
static void
test_prefix_is_not_a_parent(void **state)
{
	char msg[512], shorter[PATH_MAX];

	(void)state;
	snprintf(shorter, sizeof(shorter), "%s", dir);
	shorter[strlen(shorter) - 1] = '\0';
	put("tmpfs %s tmpfs rw 0 0\n", shorter);
	assert_int_equal(check(msg), 1);
	assert_non_null(strstr(msg, "ext4 /"));
}

static void
test_missing_directory_or_mounts(void **state)
{
	char msg[512];

	(void)state;
	put("");
	assert_int_equal(store_fs_check(mounts, "/nonexistent-wg/x/store.db", msg,
	    sizeof(msg)), -ENOENT);
	assert_int_equal(store_fs_check("/nonexistent-wg/mounts", db, msg,
	    sizeof(msg)), -ENOENT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root_without_lazytime_is_noted),
		cmocka_unit_test(test_lazytime_partition_is_fine),
		cmocka_unit_test(test_tmpfs_is_not_flash),
		cmocka_unit_test(test_later_mount_wins),
		cmocka_unit_test(test_prefix_is_not_a_parent),
		cmocka_unit_test(test_missing_directory_or_mounts),
	};

	return cmocka_run_group_tests(tests, setup, store_tmp_teardown);
}
