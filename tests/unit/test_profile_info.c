/*
 * The "info" section of a profile (drivers/profile_info.c) through the real
 * loader: accepted entries, one bad file per rule with its exact one-line
 * message, the string checks of "identify", and the decoder's handling of
 * padding and bytes that are not printable. Files go to a private directory
 * under TMPDIR.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "drivers/profile.h"
#include "tests/unit/store_tmp.h"

static char *const path = store_tmp_path;

static int
setup(void **state)
{
	(void)state;
	return store_tmp_setup("inf.json");
}

/* Profile "inf": one u16 point at 0, max_read 20, registers 100..109 forbidden. */
static const char *
inf_profile(const char *extra)
{
	FILE *f;

	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "{\"name\": \"inf\", \"model\": \"M\", \"source\": \"S\", "
	    "\"max_read\": 20, \"forbidden\": [{\"fc\": 3, \"from\": 100, "
	    "\"to\": 109}], %s \"points\": [{\"name\": \"v\", \"address\": 0, "
	    "\"fc\": 3, \"type\": \"u16\"}]}", extra);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void
expect_error(const char *extra, const char *msg)
{
	char err[512], want[PATH_MAX + 512];
	struct profile p;

	memset(err, 'X', sizeof(err));
	assert_int_equal(profile_load(inf_profile(extra), &p, err,
	    sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: %s", path, msg);
	assert_string_equal(err, want);
	assert_null(p.points);
}

static void
test_info_ok(void **state)
{
	struct profile p;
	char err[512] = "";

	(void)state;
	assert_int_equal(profile_load(inf_profile("\"info\": ["
	    "{\"name\": \"serial\", \"fc\": 3, \"address\": 64512, "
	    "\"type\": \"string\", \"length\": 8},"
	    "{\"name\": \"fw\", \"fc\": 4, \"address\": 10, \"type\": "
	    "\"string\", \"length\": 20, \"order\": \"BADC\", \"note\": \"x\"}],"),
	    &p, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(p.n_points, 1);	/* not points */
	assert_int_equal(p.n_info, 2);
	assert_string_equal(p.info[0].name, "serial");
	assert_int_equal(p.info[0].fc, 3);
	assert_int_equal(p.info[0].addr, 64512);
	assert_int_equal(p.info[0].len, 8);
	assert_int_equal(p.info[0].order, RO_ABCD);
	assert_int_equal(p.info[1].order, RO_BADC);
	assert_int_equal(p.info[1].len, 20);
	profile_free(&p);
}

static void
test_info_errors(void **state)
{
	(void)state;
	expect_error("\"info\": [],", "info: expected an array of 1..8 strings");
	expect_error("\"info\": {},", "info: expected an array of 1..8 strings");
	expect_error("\"info\": [1],", "info[0]: expected an object {\"name\", "
	    "\"fc\", \"address\", \"type\", \"length\"}");
	expect_error("\"info\": [{\"name\": \"s\", \"fc\": 3, \"address\": 0, "
	    "\"type\": \"string\", \"length\": 2, \"len\": 2}],",
	    "info[0].len: unknown key");
	expect_error("\"info\": [{\"fc\": 3, \"address\": 0, "
	    "\"type\": \"string\", \"length\": 2}],", "info[0].name: missing");
	expect_error("\"info\": [{\"name\": \"Serial\", \"fc\": 3, "
	    "\"address\": 0, \"type\": \"string\", \"length\": 2}],",
	    "info[0].name: 'Serial': expected 1..31 of [a-z0-9_]");
	expect_error("\"info\": [{\"name\": \"s\", \"fc\": 3, \"address\": 0, "
	    "\"type\": \"string\", \"length\": 2}, {\"name\": \"s\", \"fc\": 3, "
	    "\"address\": 4, \"type\": \"string\", \"length\": 2}],",
	    "info[1].name: 's' given twice");
	expect_error("\"info\": [{\"name\": \"s\", \"fc\": 3, \"address\": 0, "
	    "\"type\": \"u16\", \"length\": 2}],", "info[0].type: 'u16': info "
	    "entries are strings; expected \"string\"");
	expect_error("\"info\": [{\"name\": \"s\", \"fc\": 3, \"address\": 0, "
	    "\"length\": 2}],", "info[0].type: missing");
	expect_error("\"info\": [{\"name\": \"s\", \"fc\": 3, \"address\": 0, "
	    "\"type\": \"string\", \"length\": 2, \"order\": \"CDAB\"}],",
	    "info[0].order: 'CDAB': expected \"ABCD\" (first byte in the high "
	    "half) or \"BADC\"");
	expect_error("\"info\": [{\"name\": \"s\", \"fc\": 1, \"address\": 0, "
	    "\"type\": \"string\", \"length\": 2}],",
	    "info[0].fc: 1 out of range 3..4");
	expect_error("\"info\": [{\"name\": \"s\", \"fc\": 3, \"address\": 0, "
	    "\"type\": \"string\", \"length\": 0}],",
	    "info[0].length: 0 out of range 1..32");
	expect_error("\"info\": [{\"name\": \"s\", \"fc\": 3, \"address\": 0, "
	    "\"type\": \"string\"}],", "info[0].length: missing");
	expect_error("\"info\": [{\"name\": \"s\", \"fc\": 3, \"address\": 65530, "
	    "\"type\": \"string\", \"length\": 8}],",
	    "info[0].length: 8 registers from 65530 run past 65535");
	expect_error("\"info\": [{\"name\": \"s\", \"fc\": 3, \"address\": 0, "
	    "\"type\": \"string\", \"length\": 21}],", "info[0].length: 21 "
	    "registers: more than max_read (20); one string is one request");
	expect_error("\"info\": [{\"name\": \"s\", \"fc\": 3, \"address\": 95, "
	    "\"type\": \"string\", \"length\": 8}],", "info[0]: registers "
	    "95..102 (fc 3) touch a forbidden range");
}

/* Info entries are not points: a "point" check cannot name one, and back. */
static void
test_identify_strings(void **state)
{
	static const char info[] = "\"info\": [{\"name\": \"model\", \"fc\": 3, "
	    "\"address\": 50, \"type\": \"string\", \"length\": 4}],";
	char extra[1024], err[512];
	struct profile p;

	(void)state;
	snprintf(extra, sizeof(extra), "%s \"identify\": [{\"info\": \"model\", "
	    "\"equals\": \"P30 x\"}, {\"point\": \"v\", \"min\": 0, \"max\": 9}],",
	    info);
	assert_int_equal(profile_load(inf_profile(extra), &p, err, sizeof(err)),
	    0);
	assert_int_equal(p.n_identify, 2);
	assert_int_equal(p.identify[0].info, 0);
	assert_string_equal(p.identify[0].equals, "P30 x");
	assert_int_equal(p.identify[1].info, -1);
	profile_free(&p);

	snprintf(extra, sizeof(extra), "%s \"identify\": [{\"info\": \"serial\", "
	    "\"equals\": \"x\"}],", info);
	expect_error(extra, "identify[0].info: no info 'serial' in this profile");
	snprintf(extra, sizeof(extra), "%s \"identify\": [{\"info\": \"model\", "
	    "\"equals\": \"123456789\"}],", info);
	expect_error(extra, "identify[0].equals: expected 1..8 characters (the "
	    "info's 4 registers)");
	snprintf(extra, sizeof(extra), "%s \"identify\": [{\"info\": \"model\", "
	    "\"equals\": \"P30 \"}],", info);
	expect_error(extra, "identify[0].equals: ends in a blank (strings are "
	    "compared with trailing blanks dropped)");
	snprintf(extra, sizeof(extra), "%s \"identify\": [{\"info\": \"model\", "
	    "\"equals\": \"P\\u00e930\"}],", info);
	expect_error(extra, "identify[0].equals: not printable ASCII");
	snprintf(extra, sizeof(extra), "%s \"identify\": [{\"info\": \"model\", "
	    "\"min\": 1}],", info);
	expect_error(extra, "identify[0].min: unknown key");
	snprintf(extra, sizeof(extra), "%s \"identify\": [{\"info\": \"model\"}],",
	    info);
	expect_error(extra, "identify[0].equals: missing");
	expect_error("\"identify\": [{\"point\": \"model\", \"min\": 1, "
	    "\"max\": 2}],", "identify[0].point: no point 'model' in this "
	    "profile");
}

static void
test_decode(void **state)
{
	struct profile_info pi = { .fc = 3, .addr = 0, .len = 4,
	    .order = RO_ABCD };
	uint16_t regs[4];
	char out[PROFILE_INFO_CHARS + 1];

	(void)state;
	/* "AB" "C\0" then junk after the NUL: it ends there. */
	regs[0] = 0x4142; regs[1] = 0x4300; regs[2] = 0x4444; regs[3] = 0x4545;
	assert_int_equal(profile_info_decode(&pi, regs, out, sizeof(out)), 3);
	assert_string_equal(out, "ABC");
	/* Space padding is dropped; inner blanks stay. */
	regs[0] = 0x4120; regs[1] = 0x4220; regs[2] = 0x2020; regs[3] = 0x2020;
	assert_int_equal(profile_info_decode(&pi, regs, out, sizeof(out)), 3);
	assert_string_equal(out, "A B");
	/* Bytes that are not printable ASCII show as '?', never raw. */
	regs[0] = 0x41ff; regs[1] = 0x0a42; regs[2] = 0x227f; regs[3] = 0x5c43;
	assert_int_equal(profile_info_decode(&pi, regs, out, sizeof(out)), 8);
	assert_string_equal(out, "A??B\"?\\C");
	/* BADC: the first byte in the low half. */
	pi.order = RO_BADC;
	regs[0] = 0x3133; regs[1] = 0x0032; regs[2] = 0; regs[3] = 0;
	assert_int_equal(profile_info_decode(&pi, regs, out, sizeof(out)), 3);
	assert_string_equal(out, "312");
	/* A short buffer truncates, terminated. */
	pi.order = RO_ABCD;
	regs[0] = 0x4142; regs[1] = 0x4344;
	assert_int_equal(profile_info_decode(&pi, regs, out, 3), 2);
	assert_string_equal(out, "AB");
	/* All NUL: empty. */
	memset(regs, 0, sizeof(regs));
	assert_int_equal(profile_info_decode(&pi, regs, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

/* encode then decode gives the text back, in both byte orders, padded. */
static void
test_round_trip(void **state)
{
	struct profile_info pi = { .fc = 4, .addr = 0, .len = 5 };
	uint16_t regs[5];
	char out[PROFILE_INFO_CHARS + 1];

	(void)state;
	pi.order = RO_ABCD;
	profile_info_encode(&pi, "SN12345", regs);
	assert_int_equal(regs[0], 0x534e);
	assert_int_equal(regs[3], 0x3500);
	assert_int_equal(regs[4], 0);
	profile_info_decode(&pi, regs, out, sizeof(out));
	assert_string_equal(out, "SN12345");
	pi.order = RO_BADC;
	profile_info_encode(&pi, "SN12345", regs);
	assert_int_equal(regs[0], 0x4e53);
	profile_info_decode(&pi, regs, out, sizeof(out));
	assert_string_equal(out, "SN12345");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_ok),
		cmocka_unit_test(test_info_errors),
		cmocka_unit_test(test_identify_strings),
		cmocka_unit_test(test_decode),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, setup, store_tmp_teardown);
}
