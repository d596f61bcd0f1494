/*
 * The boot environment through libubootenv (firmware/ota/bootenv.c) on two
 * plain files, as the host board has it. The copies are written here by an
 * independent writer of U-Boot's redundant format (CRC32, flags byte,
 * "name=value" strings), so the test also pins the format down; Debian's
 * fw_printenv/fw_setenv must read what the C API wrote, and the other way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "firmware/ota/bootenv.h"

#define ENV_SIZE	4096

static char dir[256], cfg[300], err[512];
static struct board board;

static int
setup(void **state)
{
	const char *t = getenv("TMPDIR");
	size_t i;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/wg-bootenv-XXXXXX", t ? t : "/tmp");
	if (mkdtemp(dir) == NULL || chmod(dir, 0755) < 0)
		return -1;
	memset(&board, 0, sizeof(board));
	snprintf(board.name, sizeof(board.name), "host");
	board.n_env = 2;
	for (i = 0; i < 2; i++) {
		snprintf(board.env[i].path, sizeof(board.env[i].path), "%s/%s",
		    dir, i ? "uboot-redund.env" : "uboot.env");
		board.env[i].size = ENV_SIZE;
	}
	snprintf(cfg, sizeof(cfg), "%s/fw_env.config", dir);
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

/* Copy i: CRC32 (little-endian) of the data area, flags, "k=v\0k=v\0\0". */
static void
put_copy(int i, unsigned flags, const char *const *vars, int corrupt)
{
	unsigned char buf[ENV_SIZE];
	size_t off = 5;
	uint32_t crc;
	FILE *f;

	memset(buf, 0, sizeof(buf));
	for (; *vars != NULL; vars++) {
		size_t n = strlen(*vars) + 1;

		memcpy(buf + off, *vars, n);
		off += n;
	}
	crc = (uint32_t)crc32(0, buf + 5, ENV_SIZE - 5);
	buf[0] = crc & 0xff;
	buf[1] = (crc >> 8) & 0xff;
	buf[2] = (crc >> 16) & 0xff;
	buf[3] = crc >> 24;
	buf[4] = (unsigned char)flags;
	if (corrupt)
		buf[6] ^= 0x01;
	assert_non_null(f = fopen(board.env[i].path, "w"));
	assert_int_equal(fwrite(buf, 1, sizeof(buf), f), sizeof(buf));
	assert_int_equal(fclose(f), 0);
}

static void
read_copy(int i, unsigned char *buf)
{
	FILE *f = fopen(board.env[i].path, "r");

	assert_non_null(f);
	assert_int_equal(fread(buf, 1, ENV_SIZE, f), ENV_SIZE);
	fclose(f);
}

static const char *const old_env[] = { "boot_slot=a", "bootcount=0",
	"bootlimit=3", "upgrade_available=0", NULL };
static const char *const new_env[] = { "boot_slot=b", "bootcount=1",
	"bootlimit=3", "upgrade_available=1", NULL };

static void
expect_var(struct bootenv *e, const char *name, const char *want)
{
	char v[BOOTENV_VALUE_MAX];

	assert_int_equal(bootenv_get(e, name, v, sizeof(v)), 0);
	assert_string_equal(v, want);
}

/* Both good: the higher counter is current; 255 is older than 0. */
static void
test_both_good(void **state)
{
	struct bootenv *e;
	char v[4];

	(void)state;
	put_copy(0, 7, old_env, 0);
	put_copy(1, 8, new_env, 0);
	assert_int_equal(bootenv_open(&board, &e, err, sizeof(err)), 0);
	expect_var(e, "boot_slot", "b");
	expect_var(e, "upgrade_available", "1");
	assert_int_equal(bootenv_get(e, "nonesuch", v, sizeof(v)), -ENOENT);
	assert_int_equal(bootenv_get(e, "boot_slot", v, 1), -ERANGE);
	assert_int_equal(bootenv_get(e, "a=b", v, sizeof(v)), -EINVAL);
	bootenv_close(e);

	put_copy(0, 0, new_env, 0);
	put_copy(1, 255, old_env, 0);
	assert_int_equal(bootenv_open(&board, &e, err, sizeof(err)), 0);
	expect_var(e, "boot_slot", "b");
	bootenv_close(e);
}

/* The newer copy corrupt (a write cut half-way): the older one is read. */
static void
test_one_corrupt(void **state)
{
	struct bootenv *e;

	(void)state;
	put_copy(0, 7, old_env, 0);
	put_copy(1, 8, new_env, 1);
	assert_int_equal(bootenv_open(&board, &e, err, sizeof(err)), 0);
	expect_var(e, "boot_slot", "a");
	bootenv_close(e);
	put_copy(0, 9, old_env, 1);
	put_copy(1, 8, new_env, 0);
	assert_int_equal(bootenv_open(&board, &e, err, sizeof(err)), 0);
	expect_var(e, "boot_slot", "b");
	bootenv_close(e);
}

/* Both corrupt: an error, never an environment made up by the daemon. */
static void
test_both_corrupt(void **state)
{
	struct bootenv *e = (struct bootenv *)1;
	char want[700];

	(void)state;
	put_copy(0, 7, old_env, 1);
	put_copy(1, 8, new_env, 1);
	assert_int_equal(bootenv_open(&board, &e, err, sizeof(err)), -ENODATA);
	assert_null(e);
	snprintf(want, sizeof(want), "bootenv: %.300s, %.300s: no copy with a good CRC",
	    board.env[0].path, board.env[1].path);
	assert_string_equal(err, want);
}

static void
test_missing_and_short(void **state)
{
	struct bootenv *e;
	char want[700];
	struct board none;

	(void)state;
	put_copy(0, 7, old_env, 0);
	unlink(board.env[1].path);
	assert_int_equal(bootenv_open(&board, &e, err, sizeof(err)), -ENOENT);
	snprintf(want, sizeof(want), "bootenv: %.300s: No such file or directory",
	    board.env[1].path);
	assert_string_equal(err, want);

	assert_int_equal(truncate(board.env[0].path, 100), 0);
	assert_int_equal(bootenv_open(&board, &e, err, sizeof(err)), -EIO);
	snprintf(want, sizeof(want), "bootenv: %.300s: 100 bytes, the copy needs "
	    "4096 (offset 0 + size 4096)", board.env[0].path);
	assert_string_equal(err, want);

	memset(&none, 0, sizeof(none));
	snprintf(none.name, sizeof(none.name), "generic-armhf");
	assert_int_equal(bootenv_open(&none, &e, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bootenv: board generic-armhf has no boot "
	    "environment (\"bootenv\" in board.json)");
}

/*
 * One store per change, into the copy that is not current: the current one
 * stays byte for byte, so a cut write leaves it to boot from.
 */
static void
test_set(void **state)
{
	static const char *const kv[] = { "boot_slot", "b", "upgrade_available",
		"1", "bootcount", "0", "altbootcmd", "run switch; reset" };
	static const char *const del[] = { "altbootcmd", NULL, "nonesuch", NULL };
	unsigned char before[ENV_SIZE], after[ENV_SIZE];
	struct bootenv *e;
	char v[8];

	(void)state;
	put_copy(0, 7, old_env, 0);
	put_copy(1, 6, new_env, 0);
	read_copy(0, before);
	assert_int_equal(bootenv_open(&board, &e, err, sizeof(err)), 0);
	assert_int_equal(bootenv_set(e, kv, 4, err, sizeof(err)), 0);
	expect_var(e, "altbootcmd", "run switch; reset");
	bootenv_close(e);
	read_copy(0, after);
	assert_memory_equal(before, after, ENV_SIZE);
	read_copy(1, after);
	assert_int_equal(after[4], 8);
	assert_memory_equal(after + 5, "altbootcmd=run switch; reset\0"
	    "boot_slot=b\0", 41);

	assert_int_equal(bootenv_open(&board, &e, err, sizeof(err)), 0);
	expect_var(e, "boot_slot", "b");
	expect_var(e, "bootlimit", "3");
	assert_int_equal(bootenv_set(e, del, 2, err, sizeof(err)), 0);
	assert_int_equal(bootenv_get(e, "altbootcmd", v, sizeof(v)), -ENOENT);
	bootenv_close(e);
	read_copy(0, after);
	assert_int_equal(after[4], 9);
}

/* Refused before anything is set: the files stay as they were. */
static void
test_set_bad(void **state)
{
	static const char *const noname[] = { "", "1" };
	static const char *const eq[] = { "a=b", "1" };
	static const char *const empty[] = { "bootcount", "" };
	static const char *const nl[] = { "bootcount", "1\n2" };
	static const char *const twice[] = { "bootcount", "1", "bootcount", "2" };
	unsigned char b0[ENV_SIZE], b1[ENV_SIZE], a[ENV_SIZE];
	struct bootenv *e;

	(void)state;
	put_copy(0, 7, old_env, 0);
	put_copy(1, 6, new_env, 0);
	read_copy(0, b0);
	read_copy(1, b1);
	assert_int_equal(bootenv_open(&board, &e, err, sizeof(err)), 0);
	assert_int_equal(bootenv_set(e, noname, 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bootenv: pair 0: not a variable name");
	assert_int_equal(bootenv_set(e, eq, 1, err, sizeof(err)), -EINVAL);
	assert_int_equal(bootenv_set(e, empty, 1, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bootenv: bootcount: empty or unprintable "
	    "value (NULL deletes)");
	assert_int_equal(bootenv_set(e, nl, 1, err, sizeof(err)), -EINVAL);
	assert_int_equal(bootenv_set(e, twice, 2, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "bootenv: bootcount: set twice");
	expect_var(e, "bootcount", "0");
	bootenv_close(e);
	read_copy(0, a);
	assert_memory_equal(a, b0, ENV_SIZE);
	read_copy(1, a);
	assert_memory_equal(a, b1, ENV_SIZE);
}

/*
 * A store that fails is an error naming the files and why, and the handle
 * then holds what the device holds. /dev/full takes the write even for
 * root (who may write a read-only file) and fails it with ENOSPC.
 */
static void
test_store_fails(void **state)
{
	static const char *const kv[] = { "boot_slot", "b" };
	struct board full = board;
	struct bootenv *e;
	char want[700], v[8];
	int v_ok;

	(void)state;
	put_copy(0, 7, old_env, 0);
	snprintf(full.env[1].path, sizeof(full.env[1].path), "/dev/full");
	assert_int_equal(bootenv_open(&full, &e, err, sizeof(err)), 0);
	assert_int_equal(bootenv_set(e, kv, 1, err, sizeof(err)), -EIO);
	snprintf(want, sizeof(want), "bootenv: %.300s, /dev/full: "
	    "libuboot_env_store -1", board.env[0].path);
	v_ok = strcmp(err, want) == 0 &&
	    bootenv_get(e, "boot_slot", v, sizeof(v)) == 0 && strcmp(v, "a") == 0;
	bootenv_close(e);	/* before any assert: it holds libubootenv's lock */
	assert_string_equal(err, want);
	assert_true(v_ok);
}

/* A copy the process may not write (not root: a 0444 file). */
static void
test_store_readonly(void **state)
{
	static const char *const kv[] = { "boot_slot", "b" };
	struct bootenv *e;
	int status;
	pid_t pid;

	(void)state;
	put_copy(0, 7, old_env, 0);
	put_copy(1, 6, new_env, 0);
	assert_int_equal(chmod(board.env[1].path, 0444), 0);
	assert_int_equal(chmod(board.env[0].path, 0444), 0);
	if ((pid = fork()) == 0) {
		if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
			_exit(77);
		if (bootenv_open(&board, &e, err, sizeof(err)) < 0)
			_exit(2);
		if (bootenv_set(e, kv, 1, err, sizeof(err)) != -EIO)
			_exit(3);
		if (strstr(err, "libuboot_env_store") == NULL ||
		    strstr(err, ": Permission denied)") == NULL)
			_exit(4);
		if (bootenv_get(e, "boot_slot", err, sizeof(err)) < 0 ||
		    strcmp(err, "a") != 0)
			_exit(5);
		bootenv_close(e);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(chmod(board.env[0].path, 0644), 0);
	assert_int_equal(chmod(board.env[1].path, 0644), 0);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) == 77)
		skip();
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* Run a shell command, its stdout into out. */
static int
run(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	size_t n;

	assert_non_null(p);
	n = fread(out, 1, len - 1, p);
	out[n] = '\0';
	return pclose(p);
}

/*
 * The C API and Debian's tools agree about the same two files. (timeout: a
 * handle a failed assert left open holds the lock fw_printenv waits for.)
 */
static void
test_tools(void **state)
{
	static const char *const kv[] = { "boot_slot", "b", "bootcount", "2" };
	char cmd[700], out[1024], want[700];
	struct bootenv *e;
	FILE *f;

	(void)state;
	if (access("/usr/bin/fw_printenv", X_OK) < 0)
		skip();
	put_copy(0, 7, old_env, 0);
	put_copy(1, 6, new_env, 0);
	assert_int_equal(bootenv_write_config(&board, cfg), 0);
	assert_non_null(f = fopen(cfg, "r"));
	assert_int_equal(fread(out, 1, sizeof(out) - 1, f) > 0, 1);
	fclose(f);
	snprintf(want, sizeof(want), "%.300s 0x0 0x1000\n%.300s 0x0 0x1000\n",
	    board.env[0].path, board.env[1].path);
	assert_non_null(strstr(out, want));

	assert_int_equal(bootenv_open(&board, &e, err, sizeof(err)), 0);
	assert_int_equal(bootenv_set(e, kv, 2, err, sizeof(err)), 0);
	bootenv_close(e);
	snprintf(cmd, sizeof(cmd), "timeout 20 fw_printenv -c '%s'", cfg);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	assert_string_equal(out, "boot_slot=b\nbootcount=2\nbootlimit=3\n"
	    "upgrade_available=0\n");

	snprintf(cmd, sizeof(cmd), "timeout 20 fw_setenv -c '%s' upgrade_available 1 && "
	    "timeout 20 fw_setenv -c '%s' bootlimit", cfg, cfg);
	assert_int_equal(run(cmd, out, sizeof(out)), 0);
	assert_int_equal(bootenv_open(&board, &e, err, sizeof(err)), 0);
	expect_var(e, "upgrade_available", "1");
	expect_var(e, "boot_slot", "b");
	assert_int_equal(bootenv_get(e, "bootlimit", out, sizeof(out)), -ENOENT);
	bootenv_close(e);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_good),
		cmocka_unit_test(test_one_corrupt),
		cmocka_unit_test(test_both_corrupt),
		cmocka_unit_test(test_missing_and_short),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_set_bad),
		cmocka_unit_test(test_store_fails),
		cmocka_unit_test(test_store_readonly),
		cmocka_unit_test(test_tools),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
