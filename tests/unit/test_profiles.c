/*
 * The shipped profiles (every file in drivers/profiles loads, plans, cites a
 * source; every charger speaks the one charger model) and the loader's rules
 * for bit fields, enums, markers, offsets, coils and forbidden ranges, each bad
 * profile checked for its exact one-line message.
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
#include <unistd.h>

#include <cmocka.h>

#include "drivers/profile.h"

#define PROFILES WG_SOURCE_DIR "/drivers/profiles"

static char tmpdir[PATH_MAX];

static int
setup(void **state)
{
	const char *base = getenv("TMPDIR");

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/wg-profiles-XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char path[PATH_MAX + 32];

	(void)state;
	snprintf(path, sizeof(path), "%s/bad.json", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

static const struct profile_point *
find(const struct profile *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n_points; i++) {
		if (strcmp(p->points[i].name, name) == 0)
			return &p->points[i];
	}
	return NULL;
}

/* The charger model: these names, and no profile invents other meanings. */
static const char *const charger_points[] = {
	"state", "current_l1", "current_l2", "current_l3", "power",
	"energy_total", "error", NULL,
};

static void
test_shipped(void **state)
{
	struct plan_req reqs[PROFILE_POINTS_MAX];
	const struct profile_point *pp;
	char err[512], name[64];
	struct profile p;
	struct dirent *de;
	size_t n, i, k, chargers = 0, meters = 0;
	DIR *d;
	int nreq;

	(void)state;
	assert_non_null(d = opendir(PROFILES));
	while ((de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0)
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(n - 5), de->d_name);
		if (profile_load_named(PROFILES, name, &p, err,
		    sizeof(err)) != 0)
			fail_msg("%s", err);
		assert_true(strstr(p.source, "http") != NULL);
		nreq = plan_build(&p, reqs, PROFILE_POINTS_MAX);
		assert_true(nreq >= 1);
		for (k = 0; k < (size_t)nreq; k++) {
			assert_true(reqs[k].count <= p.max_read);
			assert_true(profile_read_allowed(&p, reqs[k].fc,
			    reqs[k].addr, reqs[k].count));
		}
		if (find(&p, "state") != NULL) {
			chargers++;
			for (i = 0; charger_points[i] != NULL; i++) {
				if (find(&p, charger_points[i]) == NULL)
					fail_msg("%s: no %s", name,
					    charger_points[i]);
			}
			/* The state maps onto IEC 61851 A..F = 1..6. */
			pp = find(&p, "state");
			assert_true(pp->n_enum > 0);
			for (k = 0; k < pp->n_enum; k++) {
				assert_true(p.enums[pp->enum_first + k].val >= 1);
				assert_true(p.enums[pp->enum_first + k].val <= 6);
			}
			pp = find(&p, "energy_session");
			if (pp != NULL)
				assert_string_equal(pp->unit, "kWh");
		} else {
			meters++;
		}
		profile_free(&p);
	}
	closedir(d);
	assert_true(chargers >= 3);
	assert_true(meters >= 5);
}

/* Values through the shipped maps, against hand-made register images. */
static void
test_shipped_decoding(void **state)
{
	struct profile p;
	const struct profile_point *pp;
	uint16_t r[4];
	char err[512];
	struct dec v;

	(void)state;
	assert_int_equal(profile_load_named(PROFILES, "alfen_ng9xx", &p, err,
	    sizeof(err)), 0);
	r[0] = 0x4332;				/* "C2" */
	assert_int_equal(profile_point_decode(&p, find(&p, "state"), r, &v), 0);
	assert_true(dec_equal(v, dec_from_int(3)));
	assert_int_equal(profile_point_decode(&p, find(&p, "error"), r, &v), 0);
	assert_true(dec_equal(v, dec_from_int(0)));
	r[0] = 0x4600;				/* "F" */
	assert_int_equal(profile_point_decode(&p, find(&p, "error"), r, &v), 0);
	assert_true(dec_equal(v, dec_from_int(1)));
	r[0] = 0xFFFF;				/* unavailable */
	assert_int_equal(profile_point_decode(&p, find(&p, "state"), r, &v),
	    -ENODATA);
	profile_free(&p);

	assert_int_equal(profile_load_named(PROFILES, "abb_b23", &p, err,
	    sizeof(err)), 0);
	pp = find(&p, "power_total");		/* i32, 0.01 W */
	r[0] = 0xFFFF;
	r[1] = 0xFF85;
	assert_int_equal(profile_point_decode(&p, pp, r, &v), 0);
	assert_true(dec_equal(v, (struct dec){ -123, -2 }));
	r[0] = 0x7FFF;
	r[1] = 0xFFFF;
	assert_int_equal(profile_point_decode(&p, pp, r, &v), -ENODATA);
	pp = find(&p, "energy_import");		/* u64, 0.01 kWh */
	memset(r, 0xFF, sizeof(r));
	assert_int_equal(profile_point_decode(&p, pp, r, &v), -ENODATA);
	profile_free(&p);

	assert_int_equal(profile_load_named(PROFILES, "em24", &p, err,
	    sizeof(err)), 0);
	r[0] = 0x0903;				/* CDAB: 0x00000903 = 2307 */
	r[1] = 0x0000;
	assert_int_equal(profile_point_decode(&p, find(&p, "voltage_l1"), r,
	    &v), 0);
	assert_true(dec_equal(v, (struct dec){ 2307, -1 }));
	profile_free(&p);

	assert_int_equal(profile_load_named(PROFILES, "keba_p30", &p, err,
	    sizeof(err)), 0);
	r[0] = 0;
	r[1] = 0;				/* start-up: no IEC state */
	assert_int_equal(profile_point_decode(&p, find(&p, "state"), r, &v),
	    -ENOENT);
	r[1] = 4;				/* error -> F */
	assert_int_equal(profile_point_decode(&p, find(&p, "state"), r, &v), 0);
	assert_true(dec_equal(v, dec_from_int(6)));
	profile_free(&p);
}

static const char *
write_bad(const char *extra, const char *points)
{
	static char path[PATH_MAX + 32];
	char text[8192];
	FILE *f;

	snprintf(text, sizeof(text), "{\"name\": \"bad\", \"model\": \"M\", "
	    "\"source\": \"S\", %s \"points\": %s}", extra, points);
	snprintf(path, sizeof(path), "%s/bad.json", tmpdir);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void
expect(const char *extra, const char *points, const char *msg)
{
	char err[512], want[PATH_MAX + 512];
	const char *path = write_bad(extra, points);
	struct profile p;

	memset(err, 'X', sizeof(err));
	assert_int_equal(profile_load(path, &p, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: %s", path, msg);
	assert_string_equal(err, want);
	assert_null(p.points);
	assert_null(p.enums);
}

#define U16 "\"defaults\": {\"fc\": 3, \"type\": \"u16\"},"

static void
test_bad_bits_enum_na(void **state)
{
	(void)state;
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"bits\": [4, 16]}]",
	    "points[0].bits: [4, 16] is not within 0..15, first <= last");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"bits\": [5, 4]}]",
	    "points[0].bits: [5, 4] is not within 0..15, first <= last");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"bits\": 4}]",
	    "points[0].bits: expected [first, last] bit numbers");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"type\": \"i16\", "
	    "\"bits\": [0, 3]}]",
	    "points[0].bits: bit fields need type u16, u32 or u64, not i16");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"type\": \"u64\", "
	    "\"bits\": [0, 63]}]",
	    "points[0].bits: a field of 64 bits; at most 63");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"enum\": {}}]",
	    "points[0].enum: expected an object of 1..32 \"raw\": value "
	    "entries");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"enum\": {\"x\": 1}}]",
	    "points[0].enum.x: an enum key is a raw value: decimal or "
	    "\"0x...\"");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, "
	    "\"enum\": {\"65536\": 1}}]",
	    "points[0].enum.65536: 65536 does not fit 16 bits");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, "
	    "\"enum\": {\"65\": 1, \"0x41\": 2}}]",
	    "points[0].enum.0x41: raw value 65 given twice");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, "
	    "\"enum\": {\"1\": 1.5}}]",
	    "points[0].enum.1: expected an integer");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"scale\": 0.1, "
	    "\"enum\": {\"1\": 1}}]",
	    "points[0].enum: an enum reports its own values: no scale or "
	    "offset");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"type\": \"f32\", "
	    "\"enum\": {\"1\": 1}}]",
	    "points[0].enum: an enum needs an integer type, not f32");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"enum_other\": 0}]",
	    "points[0].enum_other: only with \"enum\"");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"bits\": [8, 11], "
	    "\"enum\": {\"16\": 1}}]",
	    "points[0].enum.16: 16 does not fit 4 bits");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"na\": [65536]}]",
	    "points[0].na[0]: 65536 does not fit 16 bits");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"na\": [-1]}]",
	    "points[0].na[0]: -1 does not fit 16 bits");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"type\": \"i16\", "
	    "\"na\": [-32769]}]",
	    "points[0].na[0]: -32769 does not fit signed 16 bits");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"na\": [\"0xG\"]}]",
	    "points[0].na[0]: expected an integer or \"0x\" and 1..16 hex "
	    "digits");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"na\": [1,2,3,4,5]}]",
	    "points[0].na: 5 markers, at most 4");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"type\": \"f32\", "
	    "\"na\": [1]}]",
	    "points[0].na: a f32 marker is a bit pattern: write it as "
	    "\"0x...\"");
	/* Every marker, not just the first: 1 would be a denormal, not 1.0. */
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"type\": \"f32\", "
	    "\"na\": [\"0x7FC00000\", 1]}]",
	    "points[0].na: a f32 marker is a bit pattern: write it as "
	    "\"0x...\"");
	expect(U16 "\"na\": {\"f64\": [\"0x7FF8000000000000\", 0]},",
	    "[{\"name\": \"a\", \"address\": 0}]",
	    "na.f64: a f64 marker is a bit pattern: write it as \"0x...\"");
	expect(U16 "\"na\": {\"u17\": [1]},",
	    "[{\"name\": \"a\", \"address\": 0}]",
	    "na.u17: not an integer or float type");
	expect(U16 "\"na\": {\"u16\": [\"0x10000\"]},",
	    "[{\"name\": \"a\", \"address\": 0}]",
	    "na.u16[0]: 65536 does not fit 16 bits");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"offset\": \"1\"}]",
	    "points[0].offset: expected a number");
}

static void
test_bad_coils_forbidden(void **state)
{
	(void)state;
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"fc\": 1}]",
	    "points[0].type: fc 1 reads bits: type must be bool");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"type\": \"bool\"}]",
	    "points[0].type: bool needs fc 1 (coils) or 2 (discrete inputs), "
	    "not 3");
	expect(U16, "[{\"name\": \"a\", \"address\": 0, \"fc\": 2, "
	    "\"type\": \"bool\", \"na\": [1]}]",
	    "points[0].na: a bit has no not-available marker");
	expect(U16 "\"forbidden\": [{\"fc\": 3, \"from\": 10, \"to\": 5}],",
	    "[{\"name\": \"a\", \"address\": 0}]",
	    "forbidden[0].to: 5 is below from (10)");
	expect(U16 "\"forbidden\": [{\"fc\": 5, \"from\": 1, \"to\": 5}],",
	    "[{\"name\": \"a\", \"address\": 0}]",
	    "forbidden[0].fc: 5 out of range 1..4");
	expect(U16 "\"forbidden\": [{\"fc\": 3, \"from\": 1}],",
	    "[{\"name\": \"a\", \"address\": 0}]",
	    "forbidden[0].to: missing");
	expect(U16 "\"forbidden\": [{\"fc\": 3, \"from\": 1, \"to\": 2, "
	    "\"why\": 1}],", "[{\"name\": \"a\", \"address\": 0}]",
	    "forbidden[0].why: unknown key");
	expect(U16 "\"forbidden\": {},", "[{\"name\": \"a\", \"address\": 0}]",
	    "forbidden: expected an array");
	expect(U16 "\"forbidden\": [{\"fc\": 3, \"from\": 5, \"to\": 9}],",
	    "[{\"name\": \"a\", \"address\": 0}, "
	    "{\"name\": \"b\", \"address\": 4, \"type\": \"u32\"}]",
	    "forbidden[0]: covers points[1] ('b')");
}

/* A good profile using all of it loads with the values it says. */
static void
test_good_ext(void **state)
{
	struct profile p;
	const struct profile_point *pp;
	char err[512];
	const char *path;

	(void)state;
	path = write_bad(U16 "\"na\": {\"u16\": [\"0xFFFF\"], \"i32\": "
	    "[\"0x80000000\"]}, \"forbidden\": [{\"fc\": 3, \"from\": 10, "
	    "\"to\": 19}],",
	    "[{\"name\": \"st\", \"address\": 0, \"bits\": [8, 15], "
	    "\"enum\": {\"0x41\": 1, \"66\": 2}, \"na\": []}, "
	    "{\"name\": \"t\", \"address\": 1, \"scale\": 0.1, \"offset\": -40},"
	    " {\"name\": \"p\", \"address\": 2, \"type\": \"i32\", "
	    "\"na\": [-1]},"
	    " {\"name\": \"q\", \"address\": 4, \"type\": \"i32\"},"
	    " {\"name\": \"c\", \"address\": 7, \"fc\": 1, \"type\": \"bool\"}]");
	assert_int_equal(profile_load(path, &p, err, sizeof(err)), 0);
	pp = find(&p, "st");
	assert_int_equal(pp->n_na, 0);		/* [] overrides the default */
	assert_int_equal(pp->bit_lo, 8);
	assert_int_equal(pp->bit_n, 8);
	assert_int_equal(pp->n_enum, 2);
	assert_int_equal(p.enums[pp->enum_first].raw, 0x41);
	pp = find(&p, "t");
	assert_int_equal(pp->n_na, 1);
	assert_int_equal(pp->na[0], 0xFFFF);
	assert_true(dec_equal(pp->offset, dec_from_int(-40)));
	assert_int_equal(find(&p, "p")->na[0], 0xFFFFFFFF);
	assert_int_equal(find(&p, "q")->na[0], 0x80000000);
	assert_int_equal(find(&p, "c")->type, RT_BOOL);
	assert_int_equal(p.n_forbidden, 1);
	assert_false(profile_read_allowed(&p, 3, 0, 11));
	profile_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shipped),
		cmocka_unit_test(test_shipped_decoding),
		cmocka_unit_test(test_bad_bits_enum_na),
		cmocka_unit_test(test_bad_coils_forbidden),
		cmocka_unit_test(test_good_ext),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
