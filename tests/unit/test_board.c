/*
 * The board description's update part (firmware/ota/board.c): a good file,
 * relative paths made absolute against its directory, and every field
 * wrong in turn, each refused with one line naming the file and the member.
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
#include <unistd.h>

#include "firmware/ota/board.h"

static char dir[256], file[300], err[512];

#define GOOD \
	"{ \"board\": \"host\", \"description\": \"d\", \"arch\": \"any\",\n" \
	"  \"serial_ports\": [], \"state_dir\": \"/tmp/wattgate\",\n" \
	"  \"slots\": [ { \"name\": \"a\", \"path\": \"slot-a.img\", \"size\": 67108864 },\n" \
	"             { \"name\": \"b\", \"path\": \"/abs/slot-b.img\", \"size\": 1099511627776 } ],\n" \
	"  \"bootenv\": { \"copies\": [ { \"path\": \"uboot.env\", \"offset\": 0, \"size\": 16384 },\n" \
	"                             { \"path\": \"uboot-redund.env\", \"offset\": 0, \"size\": 16384 } ] },\n" \
	"  \"release_key\": \"release.pub\",\n" \
	"  \"hooks\": { \"reboot\": \"reboot-hook\" },\n" \
	"  \"console\": { \"tty\": \"/dev/ttyUSB0\", \"baud\": 9600 } }\n"

static int
setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/wg-board-XXXXXX", t ? t : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(file, sizeof(file), "%s/board.json", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(file);
	return rmdir(dir);
}

static void
put(const char *text)
{
	FILE *f = fopen(file, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* GOOD with the first `from` replaced by `to`. */
static void
put_edited(const char *from, const char *to)
{
	char text[4096];
	const char *at = strstr(GOOD, from);

	assert_non_null(at);
	assert_true(snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - GOOD),
	    GOOD, to, at + strlen(from)) < (int)sizeof(text));
	put(text);
}

static void
test_good(void **state)
{
	struct board b;
	char want[400];

	(void)state;
	put(GOOD);
	assert_int_equal(board_load(file, &b, err, sizeof(err)), 0);
	assert_string_equal(b.name, "host");
	assert_int_equal(b.n_slots, 2);
	assert_string_equal(b.slot[0].name, "a");
	snprintf(want, sizeof(want), "%s/slot-a.img", dir);
	assert_string_equal(b.slot[0].path, want);
	assert_true(b.slot[0].size == 67108864);
	assert_string_equal(b.slot[1].path, "/abs/slot-b.img");
	assert_true(b.slot[1].size == UINT64_C(1) << 40);
	assert_int_equal(b.n_env, 2);
	snprintf(want, sizeof(want), "%s/uboot-redund.env", dir);
	assert_string_equal(b.env[1].path, want);
	assert_true(b.env[1].offset == 0 && b.env[1].size == 16384);
	snprintf(want, sizeof(want), "%s/release.pub", dir);
	assert_string_equal(b.release_key, want);
	assert_string_equal(b.console_tty, "/dev/ttyUSB0");
	assert_int_equal(b.console_baud, 9600);
	snprintf(want, sizeof(want), "%s/reboot-hook", dir);
	assert_string_equal(b.reboot_hook, want);

	assert_ptr_equal(board_slot_find(&b, "b"), &b.slot[1]);
	assert_null(board_slot_find(&b, "c"));
	assert_ptr_equal(board_slot_other(&b, "a"), &b.slot[1]);
	assert_ptr_equal(board_slot_other(&b, "b"), &b.slot[0]);
	assert_null(board_slot_other(&b, "c"));
}

/* A board without updates (generic-armhf today) still loads. */
static void
test_no_slots(void **state)
{
	struct board b;

	(void)state;
	put("{ \"board\": \"generic-armhf\", \"arch\": \"arm\", "
	    "\"state_fs\": { \"type\": \"ext4\" } }");
	assert_int_equal(board_load(file, &b, err, sizeof(err)), 0);
	assert_int_equal(b.n_slots, 0);
	assert_int_equal(b.n_env, 0);
	assert_string_equal(b.release_key, "");
	assert_string_equal(b.reboot_hook, "");
	assert_null(board_slot_other(&b, "a"));
}

/* The same file through a relative path: still absolute paths out. */
static void
test_relative_file(void **state)
{
	char cwd[512], want[400], real[PATH_MAX];
	struct board b;

	(void)state;
	put(GOOD);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(dir), 0);
	assert_int_equal(board_load("board.json", &b, err, sizeof(err)), 0);
	assert_int_equal(chdir(cwd), 0);
	/* mkdtemp's dir may sit under a symlink: compare the real one. */
	assert_non_null(realpath(dir, real));
	snprintf(want, sizeof(want), "%.300s/uboot.env", real);
	assert_string_equal(b.env[0].path, want);
}

static const struct bad {
	const char *from, *to, *err;	/* err: after "FILE: " */
} bad[] = {
	{ "\"board\": \"host\"", "\"board\": \"Host\"",
	    "board: 'Host': 1..32 of [a-z0-9-]" },
	{ "\"board\": \"host\", ", "",
	    "board: missing" },
	{ "\"arch\"", "\"arc\"", "arc: unknown key" },
	{ "\"slots\": [", "\"slots\": [ { \"name\": \"c\", \"path\": \"c\", "
	    "\"size\": 1 }, ", "slots: 3 slots, an A/B board has 2" },
	{ "\"slots\": [", "\"slots\": 1, \"state_fs\": [", "slots: expected an array" },
	{ "{ \"name\": \"a\",", "{ \"name\": \"a\", \"nme\": 1,",
	    "slots[0].nme: unknown key" },
	{ "\"name\": \"a\"", "\"name\": \"A\"",
	    "slots[0]: name 'A': 1..15 of [a-z0-9_-]" },
	{ "\"name\": \"b\"", "\"name\": \"a\"", "slots[1].name: 'a' twice" },
	{ "\"/abs/slot-b.img\"", "\"slot-a.img\"",
	    "slots[1].path: the same as slots[0]'s" },
	{ "\"path\": \"slot-a.img\", ", "", "slots[0].path: missing" },
	{ "\"size\": 67108864", "\"size\": 0",
	    "slots[0].size: 0 out of range 1..1099511627776" },
	{ "\"size\": 67108864", "\"size\": \"64M\"",
	    "slots[0].size: expected an integer" },
	{ "\"size\": 1099511627776", "\"size\": 1099511627777",
	    "slots[1].size: 1099511627777 out of range 1..1099511627776" },
	{ "\"bootenv\": { \"copies\"", "\"bootenv\": { \"copie\"",
	    "bootenv.copie: unknown key" },
	{ "},\n                             { \"path\": \"uboot-redund.env\", "
	    "\"offset\": 0, \"size\": 16384 }", "}", "bootenv.copies: 1 copies, the environment needs 2 (redundant: "
	    "a cut write leaves the other)" },
	{ "\"uboot.env\"", "\"u boot.env\"", "bootenv.copies[0].path: a blank "
	    "or '#' in the path (fw_env.config splits its fields at blanks)" },
	{ "\"offset\": 0, \"size\": 16384 } ]", "\"offset\": -1, \"size\": 16384 } ]",
	    "bootenv.copies[1].offset: -1 out of range 0..281474976710656" },
	{ "\"offset\": 0, \"size\": 16384 } ]", "\"offset\": 0, \"size\": 8192 } ]",
	    "bootenv.copies[1].size: 8192, copies[0] has 16384: both copies have "
	    "one size" },
	{ "\"size\": 16384 }", "\"size\": 100 }",
	    "bootenv.copies[0].size: 100 out of range 256..16777216" },
	{ "\"uboot-redund.env\", \"offset\": 0", "\"uboot.env\", \"offset\": 8192",
	    "bootenv.copies[1]: overlaps copies[0]" },
	{ "\"bootenv\"", "\"bootenvx\"", "bootenvx: unknown key" },
	{ "\"release_key\": \"release.pub\"", "\"release_key\": 7",
	    "release_key: expected a string" },
	{ "\"release_key\": \"release.pub\"", "\"release_key\": \"\"",
	    "release_key: empty" },
	{ "\"hooks\": { \"reboot\"", "\"hooks\": { \"reboot!\"",
	    "hooks.reboot!: unknown key" },
	{ "\"hooks\": {", "\"hooks\": [ ], \"state_fs\": {", "hooks: expected an object" },
	{ "\"/dev/ttyUSB0\"", "\"ttyUSB0\"",
	    "console.tty: 'ttyUSB0': a device path, /dev/..." },
	{ "\"baud\": 9600", "\"baud\": 9601",
	    "console.baud: 9601 is not a standard rate (9600, 115200, ...)" },
	{ "\"baud\": 9600", "\"bauds\": 9600", "console.bauds: unknown key" },
	{ "\"tty\": \"/dev/ttyUSB0\", ", "", "console.tty: missing" },
};

static void
test_bad(void **state)
{
	char want[600];
	struct board b;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put_edited(bad[i].from, bad[i].to);
		err[0] = '\0';
		rc = board_load(file, &b, err, sizeof(err));
		snprintf(want, sizeof(want), "%s: %s", file, bad[i].err);
		if (rc != -EINVAL || strcmp(err, want) != 0)
			fail_msg("case %zu: rc %d, err '%s', wanted '%s'", i, rc,
			    err, want);
	}
}

/* slots without bootenv (or the reverse), a long env path, the file itself. */
static void
test_bad_whole(void **state)
{
	char text[4096], want[600], longname[300];
	struct board b;
	const char *at;

	(void)state;
	at = strstr(GOOD, "  \"bootenv\"");
	snprintf(text, sizeof(text), "%.*s \"release_key\": \"k\" }",
	    (int)(at - GOOD), GOOD);
	put(text);
	assert_int_equal(board_load(file, &b, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: bootenv: missing: slots and a boot "
	    "environment come together (or neither)", file);
	assert_string_equal(err, want);

	memset(longname, 'x', 250);
	longname[250] = '\0';
	snprintf(text, sizeof(text), "\"%s\"", longname);
	put_edited("\"uboot.env\"", text);
	assert_int_equal(board_load(file, &b, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: bootenv.copies[0].path: longer than "
	    "255 bytes with the board's directory", file);
	assert_string_equal(err, want);

	put("{ \"board\": \"host\", ");
	assert_int_equal(board_load(file, &b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "board.json:1:"));

	put("{ \"board\": \"host\", \"board\": \"x\" }");
	assert_int_equal(board_load(file, &b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "duplicate"));

	unlink(file);
	assert_int_equal(board_load(file, &b, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "board.json"));
}

/* The shipped descriptions load: every board's board.json. */
static void
test_shipped(void **state)
{
	static const char *const boards[] = { "host", "generic-arm64",
		"generic-armhf" };
	char path[512], want[600], real[PATH_MAX];
	struct board b;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/board/%s/board.json",
		    WG_SOURCE_DIR, boards[i]);
		if (board_load(path, &b, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		assert_string_equal(b.name, boards[i]);
	}
	snprintf(path, sizeof(path), "%s/board/host/board.json", WG_SOURCE_DIR);
	assert_int_equal(board_load(path, &b, err, sizeof(err)), 0);
	assert_string_equal(b.slot[1].path, "/tmp/wattgate/slot-b.img");
	assert_string_equal(b.env[0].path, "/tmp/wattgate/uboot.env");
	assert_non_null(realpath(WG_SOURCE_DIR "/board/host", real));
	snprintf(want, sizeof(want), "%.500s/reboot-hook", real);
	assert_string_equal(b.reboot_hook, want);
	snprintf(path, sizeof(path), "%s/board/generic-arm64/board.json",
	    WG_SOURCE_DIR);
	assert_int_equal(board_load(path, &b, err, sizeof(err)), 0);
	assert_string_equal(b.slot[0].path, "/dev/disk/by-partlabel/wg-slot-a");
	assert_string_equal(b.env[1].path, "/dev/disk/by-partlabel/wg-env");
	assert_true(b.env[1].offset == 0x4000 && b.env[1].size == 0x4000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_no_slots),
		cmocka_unit_test(test_relative_file),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_bad_whole),
		cmocka_unit_test(test_shipped),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
