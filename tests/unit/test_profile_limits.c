/*
 * The request-limit keys of a profile (drivers/profile_limits.c) through the
 * real loader: defaults, accepted values, one bad file per rule with its exact
 * one-line message, and a forbidden range changing the plan. Files go to a
 * private directory under TMPDIR.
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

#define SDM630 WG_SOURCE_DIR "/drivers/profiles/sdm630.json"

static char *const path = store_tmp_path;

static int
setup(void **state)
{
	(void)state;
	return store_tmp_setup("lim.json");
}

/*
 * Profile "lim": u16 holding registers at 0, 1, 5 and 9, plus the extra
 * top-level keys given.
 */
static const char *
lim_profile(const char *extra)
{
	FILE *f;

	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "{\"name\": \"lim\", \"model\": \"M\", \"source\": \"S\", "
	    "\"max_gap\": 10, %s \"defaults\": {\"fc\": 3, \"type\": \"u16\"}, "
	    "\"points\": [{\"name\": \"a\", \"address\": 0}, "
	    "{\"name\": \"b\", \"address\": 1}, {\"name\": \"c\", \"address\": 5}, "
	    "{\"name\": \"d\", \"address\": 9}]}", extra);
	assert_int_equal(fclose(f), 0);
	return path;
}

static void
expect_error(const char *extra, const char *msg)
{
	char err[512], want[PATH_MAX + 512];
	struct profile p;

	memset(err, 'X', sizeof(err));
	assert_int_equal(profile_load(lim_profile(extra), &p, err, sizeof(err)),
	    -EINVAL);
	snprintf(want, sizeof(want), "%s: %s", path, msg);
	assert_string_equal(err, want);
	assert_null(p.points);
	assert_int_equal(p.n_forbidden, 0);
}

static void
test_defaults(void **state)
{
	struct profile p;
	char err[256];

	(void)state;
	assert_int_equal(profile_load(SDM630, &p, err, sizeof(err)), 0);
	assert_int_equal(p.max_read_bits, PROFILE_BITS_MAX);
	assert_int_equal(p.turnaround_ms, 0);
	assert_int_equal(p.n_forbidden, 0);
	profile_free(&p);
}

static void
test_accepted(void **state)
{
	struct plan_req reqs[8];
	struct profile p;
	char err[256];

	(void)state;
	assert_int_equal(profile_load(lim_profile(""), &p, err, sizeof(err)), 0);
	/* gaps of 3: one read 0..9 is cheaper than three */
	assert_int_equal(plan_build(&p, reqs, 8), 1);
	assert_int_equal(reqs[0].addr, 0);
	assert_int_equal(reqs[0].count, 10);
	profile_free(&p);

	assert_int_equal(profile_load(lim_profile("\"max_read_bits\": 16, "
	    "\"turnaround_ms\": 50, \"forbidden\": [{\"fc\": 3, \"from\": 7, "
	    "\"to\": 7, \"note\": \"answers exception 2\"}, {\"fc\": 4, "
	    "\"from\": 0, \"to\": 65535}, {\"fc\": 3, \"from\": 2, \"to\": 2}],"),
	    &p, err, sizeof(err)), 0);
	assert_int_equal(p.max_read_bits, 16);
	assert_int_equal(p.turnaround_ms, 50);
	assert_int_equal(p.n_forbidden, 3);
	assert_int_equal(p.forbidden[0].fc, 3);
	assert_int_equal(p.forbidden[0].from, 7);
	assert_int_equal(p.forbidden[0].to, 7);
	assert_int_equal(p.forbidden[1].fc, 4);
	assert_int_equal(p.forbidden[1].to, 65535);
	/* register 7 may not be read, nor 2: reads 0..1 and 9 stay apart from
	 * 5, which can go with neither */
	assert_int_equal(plan_build(&p, reqs, 8), 3);
	assert_int_equal(reqs[0].addr, 0);
	assert_int_equal(reqs[0].count, 2);
	assert_int_equal(reqs[1].addr, 5);
	assert_int_equal(reqs[1].count, 1);
	assert_int_equal(reqs[2].addr, 9);
	assert_int_equal(reqs[2].count, 1);
	profile_free(&p);
	assert_int_equal(p.n_forbidden, 0);
}

static void
test_errors(void **state)
{
	char many[64 * 40 + 64];
	struct profile p;
	size_t i, n;

	(void)state;
	expect_error("\"max_read_bits\": 0,",
	    "max_read_bits: 0 out of range 1..2000");
	expect_error("\"max_read_bits\": 2001,",
	    "max_read_bits: 2001 out of range 1..2000");
	expect_error("\"max_read_bits\": \"8\",",
	    "max_read_bits: expected an integer");
	expect_error("\"turnaround_ms\": 0,",
	    "turnaround_ms: 0 out of range 1..1000");
	expect_error("\"turnaround_ms\": 1.5,",
	    "turnaround_ms: expected an integer");
	expect_error("\"forbidden\": {},", "forbidden: expected an array");
	expect_error("\"forbidden\": [3],", "forbidden[0]: expected an object");
	expect_error("\"forbidden\": [{\"fc\": 3, \"from\": 20}],",
	    "forbidden[0].to: missing");
	expect_error("\"forbidden\": [{\"from\": 20, \"to\": 30}],",
	    "forbidden[0].fc: missing");
	expect_error("\"forbidden\": [{\"fc\": 3, \"to\": 30}],",
	    "forbidden[0].from: missing");
	expect_error("\"forbidden\": [{\"fc\": 5, \"from\": 20, \"to\": 30}],",
	    "forbidden[0].fc: 5 out of range 1..4");
	expect_error("\"forbidden\": [{\"fc\": 3, \"from\": 20, \"to\": 65536}],",
	    "forbidden[0].to: 65536 out of range 0..65535");
	expect_error("\"forbidden\": [{\"fc\": 3, \"from\": 30, \"to\": 20}],",
	    "forbidden[0].to: 20 is below from (30)");
	expect_error("\"forbidden\": [{\"fc\": 3, \"from\": 20, \"to\": 30, "
	    "\"form\": 1}],", "forbidden[0].form: unknown key");
	expect_error("\"forbidden\": [{\"fc\": 3, \"from\": 20, \"to\": 30, "
	    "\"a_very_long_key_name\": 1}],",
	    "forbidden[0].a_very_long_key_name: unknown key");
	expect_error("\"forbidden\": [{\"fc\": 3, \"from\": 20, \"to\": 30}, "
	    "{\"fc\": 3, \"from\": 4, \"to\": 5}],",
	    "forbidden[1]: covers points[2] ('c')");
	/* input registers are another address space: no clash */
	assert_int_equal(profile_load(lim_profile("\"forbidden\": [{\"fc\": 4, "
	    "\"from\": 0, \"to\": 9}],"), &p, NULL, 0), 0);
	profile_free(&p);

	n = (size_t)snprintf(many, sizeof(many), "\"forbidden\": [");
	for (i = 0; i <= PROFILE_FORBIDDEN_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n,
		    "%s{\"fc\": 3, \"from\": %zu, \"to\": %zu}", i > 0 ? ", " : "",
		    100 + i, 100 + i);
	snprintf(many + n, sizeof(many) - n, "],");
	expect_error(many, "forbidden: 65 ranges, at most 64");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, store_tmp_teardown);
}
