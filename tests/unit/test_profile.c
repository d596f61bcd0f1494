/*
 * Profile loading: the shipped SDM630 profile, then one bad profile per rule,
 * each checked for its exact one-line message. Bad files go to a private
 * directory under TMPDIR.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "drivers/profile.h"

static char tmpdir[PATH_MAX];

static int
setup(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/wg-profile-XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char path[PATH_MAX + 256];
	struct dirent *de;
	DIR *d;

	(void)state;
	if ((d = opendir(tmpdir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", tmpdir, de->d_name);
		unlink(path);
	}
	closedir(d);
	return rmdir(tmpdir);
}

static const char *
write_file(const char *name, const char *text)
{
	static char path[PATH_MAX + 64];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	return path;
}

/* A profile "bad" with the given points array text and extra top-level keys. */
static const char *
bad_profile(const char *extra, const char *points)
{
	static char text[32768];

	snprintf(text, sizeof(text), "{\"name\": \"bad\", \"model\": \"M\", "
	    "\"source\": \"S\", %s \"points\": %s}", extra, points);
	return write_file("bad.json", text);
}

/* Load path, expect rc and exactly "PATH: <msg>". */
static void
expect_error(const char *path, int rc, const char *msg)
{
	char err[512], want[PATH_MAX + 512];
	struct profile p;

	memset(err, 'X', sizeof(err));
	assert_int_equal(profile_load(path, &p, err, sizeof(err)), rc);
	/* "FILE: PATH: WHAT", or "FILE:LINE:COL: WHAT" for JSON syntax */
	snprintf(want, sizeof(want), msg[0] == ':' ? "%s%s" : "%s: %s", path, msg);
	assert_string_equal(err, want);
	assert_null(p.points);
	assert_int_equal(p.n_points, 0);
}

static void
expect_points_error(const char *points, const char *msg)
{
	expect_error(bad_profile("\"defaults\": {\"fc\": 4, \"type\": \"f32\"},",
	    points), -EINVAL, msg);
}

static void
test_sdm630(void **state)
{
	struct profile p;
	char err[256] = "";
	size_t i;

	(void)state;
	assert_int_equal(profile_load(WG_SOURCE_DIR
	    "/drivers/profiles/sdm630.json", &p, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_string_equal(p.name, "sdm630");
	assert_string_equal(p.model, "Eastron SDM630-Modbus V2");
	assert_true(strlen(p.source) > 20);
	assert_int_equal(p.max_read, 80);
	assert_int_equal(p.max_gap, 16);
	assert_true(p.n_points >= 20);
	for (i = 0; i < p.n_points; i++) {
		assert_int_equal(p.points[i].fc, 4);
		assert_int_equal(p.points[i].type, RT_F32);
		assert_int_equal(p.points[i].order, RO_ABCD);
		assert_true(dec_equal(p.points[i].scale, dec_from_int(1)));
	}
	assert_string_equal(p.points[0].name, "voltage_l1");
	assert_string_equal(p.points[0].unit, "V");
	assert_int_equal(p.points[0].addr, 0);
	assert_string_equal(p.points[2].name, "voltage_l3");
	assert_int_equal(p.points[2].addr, 4);
	assert_string_equal(p.points[5].name, "current_l3");
	assert_int_equal(p.points[5].addr, 10);
	assert_string_equal(p.points[6].name, "power_l1");
	assert_int_equal(p.points[6].addr, 12);
	for (i = 0; i < p.n_points; i++) {
		if (strcmp(p.points[i].name, "power_total") == 0)
			assert_int_equal(p.points[i].addr, 52);
		if (strcmp(p.points[i].name, "frequency") == 0)
			assert_int_equal(p.points[i].addr, 70);
		if (strcmp(p.points[i].name, "energy_import") == 0)
			assert_int_equal(p.points[i].addr, 72);
		if (strcmp(p.points[i].name, "energy_export") == 0)
			assert_int_equal(p.points[i].addr, 74);
		if (strcmp(p.points[i].name, "energy_total") == 0)
			assert_int_equal(p.points[i].addr, 342);
	}
	profile_free(&p);
	assert_null(p.points);

	assert_int_equal(profile_load_named(WG_SOURCE_DIR "/drivers/profiles",
	    "sdm630", &p, err, sizeof(err)), 0);
	assert_string_equal(p.name, "sdm630");
	profile_free(&p);
}

/* Everything optional spelled out, scales as written, identical overlaps. */
static void
test_full_profile(void **state)
{
	const char *path = write_file("full-1.json", "{\n"
	    "  \"name\": \"full-1\", \"model\": \"Model\", \"source\": \"doc\",\n"
	    "  \"note\": \"any\\ntext\", \"max_read\": 10, \"max_gap\": 3,\n"
	    "  \"points\": [\n"
	    "    {\"name\": \"a\", \"address\": 100, \"fc\": 3, \"type\": \"u16\","
	    " \"scale\": 0.1, \"unit\": \"V\", \"note\": \"x\"},\n"
	    "    {\"name\": \"b\", \"address\": 0, \"fc\": 4, \"type\": \"i64\","
	    " \"order\": \"DCBA\", \"scale\": 0.001, \"unit\": \"kWh\"},\n"
	    "    {\"name\": \"b_wh\", \"address\": 0, \"fc\": 4, \"type\": \"i64\","
	    " \"order\": \"CDAB\", \"scale\": 1000},\n"
	    "    {\"name\": \"c\", \"address\": 0, \"fc\": 3, \"type\": \"f64\","
	    " \"scale\": -2.5, \"unit\": \"\\u00b0C\"},\n"
	    "    {\"name\": \"d\", \"address\": 65534, \"fc\": 3, \"type\": \"u32\"}\n"
	    "  ]\n}\n");
	struct profile p;
	char err[256];

	(void)state;
	assert_int_equal(profile_load(path, &p, err, sizeof(err)), 0);
	assert_int_equal(p.n_points, 5);
	assert_int_equal(p.max_read, 10);
	assert_int_equal(p.max_gap, 3);
	assert_int_equal(p.points[0].fc, 3);
	assert_int_equal(p.points[0].addr, 100);
	assert_int_equal(p.points[0].order, RO_ABCD);
	assert_int_equal(p.points[0].scale.m, 1);
	assert_int_equal(p.points[0].scale.e, -1);
	assert_int_equal(p.points[1].type, RT_I64);
	assert_int_equal(p.points[1].order, RO_DCBA);
	assert_int_equal(p.points[1].scale.m, 1);
	assert_int_equal(p.points[1].scale.e, -3);
	assert_true(dec_equal(p.points[2].scale, dec_from_int(1000)));
	assert_int_equal(p.points[3].scale.m, -25);
	assert_int_equal(p.points[3].scale.e, -1);
	assert_string_equal(p.points[3].unit, "\xc2\xb0" "C");
	assert_string_equal(p.points[4].unit, "");
	assert_int_equal(p.points[4].addr, 65534);
	profile_free(&p);

	/* defaults: 125 registers, no gap */
	path = write_file("min.json", "{\"name\": \"min\", \"model\": \"M\", "
	    "\"source\": \"S\", \"points\": [{\"name\": \"x\", \"address\": 1, "
	    "\"fc\": 3, \"type\": \"u16\"}]}");
	assert_int_equal(profile_load(path, &p, err, sizeof(err)), 0);
	assert_int_equal(p.max_read, 125);
	assert_int_equal(p.max_gap, 0);
	assert_true(dec_equal(p.points[0].scale, dec_from_int(1)));
	profile_free(&p);
}

static void
test_unknown_keys(void **state)
{
	(void)state;
	expect_points_error("[{\"name\": \"a\", \"adress\": 0}]",
	    "points[0].adress: unknown key");
	expect_error(bad_profile("\"maxread\": 10,", "[]"), -EINVAL,
	    "maxread: unknown key");
	expect_error(bad_profile("\"defaults\": {\"scale\": 1},", "[]"),
	    -EINVAL, "defaults.scale: unknown key");
}

/* The "identify" section wattgate scan checks (profile_identify.c). */
static void
test_identify(void **state)
{
	static const char pts[] = "[{\"name\": \"v\", \"address\": 0, "
	    "\"fc\": 4, \"type\": \"f32\"}]";
	char err[512];
	struct profile p;

	(void)state;
	assert_int_equal(profile_load(bad_profile("\"identify\": [{\"point\": "
	    "\"v\", \"min\": 80, \"max\": 300.5}],", pts), &p, err,
	    sizeof(err)), 0);
	assert_int_equal(p.n_identify, 1);
	assert_int_equal(p.identify[0].point, 0);
	assert_true(p.identify[0].min == 80 && p.identify[0].max == 300.5);
	profile_free(&p);
	expect_error(bad_profile("\"identify\": [{\"point\": \"w\", "
	    "\"min\": 1, \"max\": 2}],", pts), -EINVAL,
	    "identify[0].point: no point 'w' in this profile");
	expect_error(bad_profile("\"identify\": [{\"point\": \"v\", "
	    "\"min\": 3, \"max\": 2}],", pts), -EINVAL,
	    "identify[0]: max is below min");
	expect_error(bad_profile("\"identify\": [{\"point\": \"v\", "
	    "\"min\": 1}],", pts), -EINVAL, "identify[0].max: missing");
	expect_error(bad_profile("\"identify\": [{\"point\": \"v\", "
	    "\"min\": \"1\", \"max\": 2}],", pts), -EINVAL,
	    "identify[0].min: expected a number");
	expect_error(bad_profile("\"identify\": [{\"point\": \"v\", "
	    "\"min\": 1, \"max\": 2, \"mx\": 3}],", pts), -EINVAL,
	    "identify[0].mx: unknown key");
	expect_error(bad_profile("\"identify\": [],", pts), -EINVAL,
	    "identify: expected an array of 1..8 checks");
}

static void
test_names(void **state)
{
	(void)state;
	expect_points_error("[{\"name\": \"Voltage\", \"address\": 0}]",
	    "points[0].name: 'Voltage' is not [a-z0-9_]{1,31}");
	expect_points_error("[{\"name\": \"volt-l1\", \"address\": 0}]",
	    "points[0].name: 'volt-l1' is not [a-z0-9_]{1,31}");
	expect_points_error("[{\"name\": \"\", \"address\": 0}]",
	    "points[0].name: '' is not [a-z0-9_]{1,31}");
	expect_points_error("[{\"name\": \"a23456789012345678901234567890_2\","
	    " \"address\": 0}]", "points[0].name: longer than 31 bytes");
	expect_points_error("[{\"address\": 0}]", "points[0].name: missing");
	expect_points_error("[{\"name\": 7, \"address\": 0}]",
	    "points[0].name: expected a string");
	expect_points_error("[{\"name\": \"a\", \"address\": 0}, "
	    "{\"name\": \"b\", \"address\": 2}, {\"name\": \"a\", \"address\": 4}]",
	    "points[2].name: duplicate name 'a' (points[0])");
	expect_points_error("[{\"name\": \"a\", \"address\": 0, "
	    "\"unit\": \"0123456789abcdef\"}]",
	    "points[0].unit: longer than 15 bytes");
	expect_points_error("[{\"name\": \"a\", \"address\": 0, "
	    "\"unit\": \"k\\nWh\"}]", "points[0].unit: control character");
}

static void
test_values(void **state)
{
	(void)state;
	expect_points_error("[{\"name\": \"a\", \"address\": 0, \"fc\": 5}]",
	    "points[0].fc: 5 is not 1 (coils), 2 (discrete inputs), 3 (holding) "
	    "or 4 (input registers)");
	expect_points_error("[{\"name\": \"a\", \"address\": 0, \"fc\": \"4\"}]",
	    "points[0].fc: expected an integer");
	expect_points_error("[{\"name\": \"a\", \"address\": 65536}]",
	    "points[0].address: 65536 out of range 0..65535");
	expect_points_error("[{\"name\": \"a\", \"address\": -1}]",
	    "points[0].address: -1 out of range 0..65535");
	expect_points_error("[{\"name\": \"a\", \"address\": 1.0}]",
	    "points[0].address: expected an integer");
	expect_points_error("[{\"name\": \"a\"}]", "points[0].address: missing");
	expect_points_error("[{\"name\": \"a\", \"address\": 65535}]",
	    "points[0].address: f32 at 65535 runs past register 65535");
	expect_points_error("[{\"name\": \"a\", \"address\": 0, \"scale\": 0}]",
	    "points[0].scale: must not be 0");
	expect_points_error("[{\"name\": \"a\", \"address\": 0, \"scale\": 0.0}]",
	    "points[0].scale: must not be 0");
	expect_points_error("[{\"name\": \"a\", \"address\": 0, \"scale\": \"1\"}]",
	    "points[0].scale: expected a number");
	expect_points_error("[{\"name\": \"a\", \"address\": 0}, "
	    "{\"name\": \"b\", \"address\": 2}, {\"name\": \"c\", \"address\": 4}, "
	    "{\"name\": \"d\", \"address\": 6, \"type\": \"f31\"}]",
	    "points[3].type: unknown type 'f31'");
	expect_points_error("[{\"name\": \"a\", \"address\": 0, "
	    "\"order\": \"ABDC\"}]", "points[0].order: unknown order 'ABDC'");
	expect_error(bad_profile("\"defaults\": {\"fc\": 3},",
	    "[{\"name\": \"a\", \"address\": 0}]"), -EINVAL,
	    "points[0].type: missing (and no defaults.type)");
	expect_error(bad_profile("\"defaults\": {\"type\": \"u16\"},",
	    "[{\"name\": \"a\", \"address\": 0}]"), -EINVAL,
	    "points[0].fc: missing (and no defaults.fc)");
	expect_error(bad_profile("\"max_read\": 126,", "[]"), -EINVAL,
	    "max_read: 126 out of range 1..125");
	expect_error(bad_profile("\"max_read\": 0,", "[]"), -EINVAL,
	    "max_read: 0 out of range 1..125");
	expect_error(bad_profile("\"max_gap\": 125,", "[]"), -EINVAL,
	    "max_gap: 125 out of range 0..124");
	expect_error(bad_profile("\"max_read\": 2, \"defaults\": {\"fc\": 3},",
	    "[{\"name\": \"a\", \"address\": 0, \"type\": \"f64\"}]"), -EINVAL,
	    "points[0].address: f64 needs 4 registers, max_read is 2");
}

static void
test_overlap(void **state)
{
	struct profile p;
	const char *path;
	char err[256];

	(void)state;
	expect_points_error("[{\"name\": \"a\", \"address\": 0}, "
	    "{\"name\": \"b\", \"address\": 1, \"type\": \"u16\"}]",
	    "points[1].address: registers overlap points[0] ('a')");
	expect_points_error("[{\"name\": \"a\", \"address\": 4}, "
	    "{\"name\": \"b\", \"address\": 3}]",
	    "points[1].address: registers overlap points[0] ('a')");
	/* same address, different type */
	expect_points_error("[{\"name\": \"a\", \"address\": 4}, "
	    "{\"name\": \"b\", \"address\": 4, \"type\": \"i32\"}]",
	    "points[1].address: registers overlap points[0] ('a')");
	/* identical (fc, address, type) or another function code: fine */
	path = bad_profile("\"defaults\": {\"fc\": 4, \"type\": \"f32\"},",
	    "[{\"name\": \"a\", \"address\": 4}, {\"name\": \"b\", "
	    "\"address\": 4, \"scale\": 1000}, {\"name\": \"c\", "
	    "\"address\": 5, \"fc\": 3}, {\"name\": \"d\", \"address\": 6}]");
	assert_int_equal(profile_load(path, &p, err, sizeof(err)), 0);
	assert_int_equal(p.n_points, 4);
	profile_free(&p);
}

static void
test_counts_and_structure(void **state)
{
	char *points;
	size_t i, off = 0, cap = 64 * 300;

	(void)state;
	expect_error(bad_profile("", "[]"), -EINVAL,
	    "points: 0 points, allowed 1..256");
	expect_error(bad_profile("", "{}"), -EINVAL,
	    "points: expected an array");
	expect_error(write_file("bad.json", "{\"name\": \"bad\", \"model\": \"M\","
	    " \"source\": \"S\"}"), -EINVAL, "points: missing");
	expect_error(write_file("bad.json", "{\"name\": \"bad\", \"model\": \"M\","
	    " \"points\": []}"), -EINVAL, "source: missing");
	expect_error(write_file("bad.json", "[1, 2]"), -EINVAL,
	    "(top): expected an object");
	expect_error(bad_profile("", "[1]"), -EINVAL,
	    "points[0]: expected an object");

	points = malloc(cap);
	assert_non_null(points);
	off += (size_t)snprintf(points + off, cap - off, "[");
	for (i = 0; i < PROFILE_POINTS_MAX + 1; i++)
		off += (size_t)snprintf(points + off, cap - off,
		    "%s{\"name\": \"p%zu\", \"address\": %zu}", i ? "," : "", i,
		    2 * i);
	snprintf(points + off, cap - off, "]");
	expect_points_error(points, "points: 257 points, allowed 1..256");
	free(points);
}

static void
test_file_level(void **state)
{
	char *big;
	const char *path;
	char want[PATH_MAX + 64];
	struct profile p;

	(void)state;
	/* file name and "name" must agree */
	path = write_file("meter.json", "{\"name\": \"other\", \"model\": \"M\", "
	    "\"source\": \"S\", \"points\": []}");
	expect_error(path, -EINVAL, "name: 'other' does not match the file name");
	path = write_file("meter2.json", "{\"name\": \"Meter2\", \"model\": \"M\", "
	    "\"source\": \"S\", \"points\": []}");
	expect_error(path, -EINVAL, "name: 'Meter2' is not [a-z0-9_-]{1,31}");

	/* JSON syntax: jansson's line:column, as a compiler says it */
	path = write_file("syntax.json", "{\n  \"name\": \"syntax\",\n}\n");
	expect_error(path, -EINVAL, ":3:1: string or '}' expected near '}'");
	path = write_file("dup.json", "{\"name\": \"dup\", \"name\": \"dup\"}");
	expect_error(path, -EINVAL, ":1:22: duplicate object key near '\"name\"'");
	path = write_file("empty.json", "");
	expect_error(path, -EINVAL, ":1:0: '[' or '{' expected near end of file");

	/* size bound: just over 1 MiB of valid JSON whitespace */
	big = malloc(1024 * 1024 + 2);
	assert_non_null(big);
	memset(big, ' ', 1024 * 1024 + 1);
	big[0] = '{';
	big[1024 * 1024] = '}';
	big[1024 * 1024 + 1] = '\0';
	path = write_file("big.json", big);
	expect_error(path, -EFBIG, ": larger than 1048576 bytes");
	free(big);

	/* not there, not a file */
	snprintf(want, sizeof(want), "%s/none.json", tmpdir);
	expect_error(want, -ENOENT, ": No such file or directory");
	expect_error(tmpdir, -EINVAL, ": a directory, not a regular file");
	/* a FIFO used to block the load for ever */
	snprintf(want, sizeof(want), "%s/fifo.json", tmpdir);
	assert_int_equal(mkfifo(want, 0600), 0);
	expect_error(want, -EINVAL, ": a FIFO, not a regular file");
	unlink(want);

	/* err may be omitted */
	assert_int_equal(profile_load(want, &p, NULL, 0), -ENOENT);
}

static void
test_named(void **state)
{
	static const char *const bad[] = {
		"../sdm630", "..", "a/b", "/etc/passwd", "", "SDM630",
		"sdm630.json", "a b", "x\n", ".hidden",
		"a23456789012345678901234567890_2",
	};
	struct profile p;
	char err[256], want[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(profile_load_named(WG_SOURCE_DIR
		    "/drivers/profiles", bad[i], &p, err, sizeof(err)), -EINVAL);
		snprintf(want, sizeof(want), "'%s': not a profile name "
		    "([a-z0-9_-]{1,31})", strcmp(bad[i], "x\n") ? bad[i] : "x?");
		assert_string_equal(err, want);
		assert_null(p.points);
	}
	err[0] = '\0';
	assert_int_equal(profile_load_named(tmpdir, "nonexistent", &p, err,
	    sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "/nonexistent.json: No such file"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sdm630),
		cmocka_unit_test(test_full_profile),
		cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_identify),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_overlap),
		cmocka_unit_test(test_counts_and_structure),
		cmocka_unit_test(test_file_level),
		cmocka_unit_test(test_named),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
