/*
 * Writable points (drivers/profile_writable.c): the shipped chargers' current
 * limits, encoding and decoding at and around their bounds, and one bad
 * profile per loader rule with its exact one-line message. Profiles are
 * parsed from memory (profile_parse), named w.json.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/profile.h"

#define PROFILES WG_SOURCE_DIR "/drivers/profiles"

static void
load(const char *name, struct profile *p)
{
	char err[512];
	int rc = profile_load_named(PROFILES, name, p, err, sizeof(err));

	if (rc != 0)
		fail_msg("%s", err);
}

/* value encodes to want[0 .. n-1] and reads back (same registers) as value. */
static void
expect_encode(const struct writable *w, double value, const uint16_t *want,
    int n)
{
	uint16_t regs[4] = { 0 };
	char why[128] = "";
	struct dec back;
	int k = 0, i;

	assert_int_equal(writable_encode(w, value, regs, &k, why, sizeof(why)),
	    0);
	assert_int_equal(k, n);
	for (i = 0; i < n; i++)
		assert_int_equal(regs[i], want[i]);
	assert_int_equal(writable_decode(w, regs, &back), 0);
	assert_true(fabs(dec_to_double(back) - value) < 1e-9);
}

static void
expect_refused(const struct writable *w, double value, int rc,
    const char *msg)
{
	uint16_t regs[4] = { 0xAAAA, 0xAAAA, 0xAAAA, 0xAAAA };
	char why[128] = "";
	int k = 99;

	assert_int_equal(writable_encode(w, value, regs, &k, why, sizeof(why)),
	    rc);
	assert_string_equal(why, msg);
	assert_int_equal(k, 99);
	assert_int_equal(regs[0], 0xAAAA);
}

static void
test_keba(void **state)
{
	const struct writable *w;
	const uint16_t rb[2] = { 0, 16000 };
	struct profile p;
	struct dec v;

	(void)state;
	load("keba_p30", &p);
	assert_int_equal(p.n_writable, 1);
	assert_null(profile_writable(&p, "current"));
	w = profile_writable(&p, "current_limit");
	assert_non_null(w);
	assert_int_equal(w->fc, 6);
	assert_int_equal(w->addr, 5004);
	assert_int_equal(w->type, RT_U16);
	assert_string_equal(w->unit, "A");
	assert_int_equal(w->rb_fc, 3);
	assert_int_equal(w->rb_addr, 1100);
	assert_int_equal(w->rb_type, RT_U32);
	assert_int_equal(w->n_measured, 3);
	assert_string_equal(p.points[w->measured[0]].name, "current_l1");
	assert_string_equal(p.points[w->measured[2]].name, "current_l3");
	expect_encode(w, 6, (const uint16_t[]){ 6000 }, 1);
	expect_encode(w, 12.5, (const uint16_t[]){ 12500 }, 1);
	expect_encode(w, 32, (const uint16_t[]){ 32000 }, 1);
	expect_encode(w, 6.001, (const uint16_t[]){ 6001 }, 1);
	expect_refused(w, 5.999, -ERANGE, "5.999 A below the minimum 6 A");
	expect_refused(w, 32.001, -ERANGE, "32.001 A above the maximum 32 A");
	expect_refused(w, 40, -ERANGE, "40 A above the maximum 32 A");
	expect_refused(w, 12.0005, -ERANGE, "12.0005 A is not a multiple of "
	    "the 0.001 A step from 6 A");
	expect_refused(w, NAN, -EDOM, "not a number");
	expect_refused(w, INFINITY, -EDOM, "not a number");
	/* read back: u32 mA at 1100 */
	assert_int_equal(writable_decode_readback(w, rb, &v), 0);
	assert_true(dec_equal(v, dec_from_int(16)));
	profile_free(&p);
}

static void
test_alfen(void **state)
{
	const struct writable *w;
	struct profile p;
	struct dec v;

	(void)state;
	load("alfen_ng9xx", &p);
	w = profile_writable(&p, "current_limit");
	assert_non_null(w);
	assert_int_equal(w->fc, 16);
	assert_int_equal(w->addr, 1210);
	assert_int_equal(w->type, RT_F32);
	/* default read-back: the same registers with FC3 */
	assert_int_equal(w->rb_fc, 3);
	assert_int_equal(w->rb_addr, 1210);
	assert_int_equal(w->rb_type, RT_F32);
	expect_encode(w, 12.5, (const uint16_t[]){ 0x4148, 0x0000 }, 2);
	expect_encode(w, 6, (const uint16_t[]){ 0x40C0, 0x0000 }, 2);
	expect_encode(w, 32, (const uint16_t[]){ 0x4200, 0x0000 }, 2);
	expect_refused(w, 40, -ERANGE, "40 A above the maximum 32 A");
	expect_refused(w, 0, -ERANGE, "0 A below the minimum 6 A");
	expect_refused(w, 12.55, -ERANGE, "12.55 A is not a multiple of the "
	    "0.1 A step from 6 A");
	/* 6.1 is on the step although no double is exactly 6.1 */
	{
		uint16_t regs[4];
		char why[128];
		int n;

		assert_int_equal(writable_encode(w, 6.1, regs, &n, why,
		    sizeof(why)), 0);
		assert_int_equal(writable_decode_readback(w, regs, &v), 0);
		assert_true(dec_equal(v, (struct dec){ 61, -1 }));
	}
	profile_free(&p);
}

static void
test_heidelberg(void **state)
{
	const struct writable *w;
	const uint16_t rb[1] = { 123 };
	struct profile p;
	struct dec v;

	(void)state;
	load("heidelberg_ec", &p);
	w = profile_writable(&p, "current_limit");
	assert_non_null(w);
	assert_int_equal(w->fc, 16);
	assert_int_equal(w->addr, 261);
	assert_int_equal(w->type, RT_U16);
	assert_int_equal(w->rb_fc, 3);
	assert_int_equal(w->rb_addr, 261);
	expect_encode(w, 6, (const uint16_t[]){ 60 }, 1);
	expect_encode(w, 6.1, (const uint16_t[]){ 61 }, 1);
	expect_encode(w, 16, (const uint16_t[]){ 160 }, 1);
	expect_refused(w, 16.1, -ERANGE, "16.1 A above the maximum 16 A");
	expect_refused(w, 5.9, -ERANGE, "5.9 A below the minimum 6 A");
	expect_refused(w, 6.05, -ERANGE, "6.05 A is not a multiple of the "
	    "0.1 A step from 6 A");
	assert_int_equal(writable_decode_readback(w, rb, &v), 0);
	assert_true(dec_equal(v, (struct dec){ 123, -1 }));
	profile_free(&p);
}

/* A profile with u16 holding points a (0), b (1) and an enum s (2). */
static int
parse(const char *writable, struct profile *p, char *err, size_t errlen)
{
	char doc[2048];

	snprintf(doc, sizeof(doc), "{\"name\": \"w\", \"model\": \"M\", "
	    "\"source\": \"S\", \"defaults\": {\"fc\": 3, \"type\": \"u16\"}, "
	    "\"forbidden\": [{\"fc\": 4, \"from\": 100, \"to\": 199}], "
	    "\"points\": [{\"name\": \"a\", \"address\": 0, \"unit\": \"A\"}, "
	    "{\"name\": \"b\", \"address\": 1}, {\"name\": \"s\", "
	    "\"address\": 2, \"enum\": {\"1\": 1}}], \"writable\": %s}",
	    writable);
	return profile_parse("w.json", doc, strlen(doc), p, err, errlen);
}

/* A good entry: u16 at 10, FC6, 0.1 A, 6..16 A in 0.5 A; extra appended. */
#define GOOD(extra) "[{\"name\": \"lim\", \"address\": 10, \"fc\": 6, " \
	"\"type\": \"u16\", \"unit\": \"A\", \"scale\": 0.1, \"min\": 6, " \
	"\"max\": 16, \"step\": 0.5" extra "}]"

static void
expect_error(const char *writable, const char *msg)
{
	char err[512], want[600];
	struct profile p;

	memset(err, 'X', sizeof(err));
	assert_int_equal(parse(writable, &p, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "w.json: %s", msg);
	assert_string_equal(err, want);
	assert_null(p.points);
	assert_int_equal(p.n_writable, 0);
}

static void
test_accepted(void **state)
{
	const struct writable *w;
	struct profile p;
	char err[512];

	(void)state;
	assert_int_equal(parse(GOOD(", \"measured\": [\"a\", \"b\"], "
	    "\"readback\": {\"address\": 20, \"fc\": 4, \"type\": \"u32\", "
	    "\"order\": \"CDAB\", \"scale\": 0.01}, \"note\": \"n\""), &p, err,
	    sizeof(err)), 0);
	w = profile_writable(&p, "lim");
	assert_non_null(w);
	assert_int_equal(w->n_measured, 2);
	assert_int_equal(w->measured[1], 1);
	assert_int_equal(w->rb_fc, 4);
	assert_int_equal(w->rb_addr, 20);
	assert_int_equal(w->rb_type, RT_U32);
	assert_int_equal(w->rb_order, RO_CDAB);
	assert_true(dec_equal(w->rb_scale, (struct dec){ 1, -2 }));
	profile_free(&p);
	/* fc 16 takes a 16-bit type too; no measured points, no unit */
	assert_int_equal(parse("[{\"name\": \"x\", \"address\": 0, \"fc\": 16, "
	    "\"type\": \"i16\", \"min\": -5, \"max\": 5, \"step\": 1}, "
	    "{\"name\": \"y\", \"address\": 65534, \"fc\": 16, \"type\": "
	    "\"f32\", \"min\": 0, \"max\": 1, \"step\": 0.25}]", &p, err,
	    sizeof(err)), 0);
	assert_int_equal(p.n_writable, 2);
	assert_int_equal(p.writable[0].n_measured, 0);
	assert_string_equal(p.writable[0].unit, "");
	profile_free(&p);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("{}", "writable: expected an array of 1..4 writable "
	    "points");
	expect_error("[]", "writable: expected an array of 1..4 writable "
	    "points");
	expect_error("[1]", "writable[0]: expected an object");
	expect_error(GOOD(", \"adress\": 1"), "writable[0].adress: unknown key");
	expect_error("[{\"name\": \"Lim\"}]", "writable[0].name: 'Lim' is not "
	    "[a-z0-9_]{1,31}");
	expect_error("[{\"name\": \"lim\", \"address\": 0, \"fc\": 3}]",
	    "writable[0].fc: 3 is not 6 (write single register) or 16 (write "
	    "multiple registers)");
	expect_error("[{\"name\": \"lim\", \"address\": 0, \"fc\": 6}]",
	    "writable[0].type: missing");
	expect_error("[{\"name\": \"lim\", \"address\": 0, \"fc\": 6, \"type\": "
	    "\"u32\"}]", "writable[0].type: u32 is 2 registers; fc 6 writes "
	    "one (use fc 16)");
	expect_error("[{\"name\": \"lim\", \"address\": 0, \"fc\": 6, \"type\": "
	    "\"bool\"}]", "writable[0].type: unknown type 'bool' (u16 i16 u32 "
	    "i32 u64 i64 f32 f64)");
	expect_error("[{\"name\": \"lim\", \"address\": 65535, \"fc\": 16, "
	    "\"type\": \"f32\"}]", "writable[0].address: f32 at 65535 runs past "
	    "register 65535");
	expect_error("[{\"name\": \"lim\", \"address\": 0, \"fc\": 16, "
	    "\"type\": \"f32\", \"max\": 1, \"step\": 1}]",
	    "writable[0].min: missing");
	expect_error("[{\"name\": \"lim\", \"address\": 0, \"fc\": 6, \"type\": "
	    "\"u16\", \"scale\": 0, \"min\": 1, \"max\": 2, \"step\": 1}]",
	    "writable[0].scale: must not be 0");
	expect_error("[{\"name\": \"lim\", \"address\": 0, \"fc\": 6, \"type\": "
	    "\"u16\", \"min\": \"6\", \"max\": 16, \"step\": 1}]",
	    "writable[0].min: expected a number");
	expect_error("[{\"name\": \"lim\", \"address\": 0, \"fc\": 6, \"type\": "
	    "\"u16\", \"unit\": \"A\", \"min\": 16, \"max\": 16, \"step\": 1}]",
	    "writable[0].max: 16 A is not above min (16 A)");
	expect_error("[{\"name\": \"lim\", \"address\": 0, \"fc\": 6, \"type\": "
	    "\"u16\", \"min\": 6, \"max\": 16, \"step\": 0}]",
	    "writable[0].step: must be above 0");
	expect_error("[{\"name\": \"lim\", \"address\": 0, \"fc\": 6, \"type\": "
	    "\"u16\", \"unit\": \"A\", \"scale\": 0.1, \"min\": 6, \"max\": 16, "
	    "\"step\": 3}]", "writable[0].step: max - min (10 A) is not a "
	    "multiple of 3 A");
	expect_error("[{\"name\": \"lim\", \"address\": 0, \"fc\": 6, \"type\": "
	    "\"u16\", \"unit\": \"A\", \"scale\": 0.1, \"min\": 6, \"max\": 16, "
	    "\"step\": 0.05}]", "writable[0].step: 0.05 A cannot be written as "
	    "u16 with scale 0.1");
	expect_error("[{\"name\": \"lim\", \"address\": 0, \"fc\": 6, \"type\": "
	    "\"u16\", \"unit\": \"A\", \"min\": 6, \"max\": 70000, "
	    "\"step\": 1}]", "writable[0].max: 70000 A cannot be written as "
	    "u16 with scale 1");
	expect_error("[{\"name\": \"lim\", \"address\": 0, \"fc\": 6, \"type\": "
	    "\"u16\", \"unit\": \"A\", \"min\": -1, \"max\": 1, "
	    "\"step\": 1}]", "writable[0].min: -1 A cannot be written as "
	    "u16 with scale 1");
	expect_error(GOOD(", \"readback\": 3"), "writable[0].readback: "
	    "expected an object");
	expect_error(GOOD(", \"readback\": {\"fc\": 3}"),
	    "writable[0].readback.address: missing");
	expect_error(GOOD(", \"readback\": {\"address\": 1, \"fc\": 6}"),
	    "writable[0].readback.fc: 6 out of range 3..4");
	expect_error(GOOD(", \"readback\": {\"address\": 1, \"adr\": 6}"),
	    "writable[0].readback.adr: unknown key");
	expect_error(GOOD(", \"readback\": {\"address\": 150, \"fc\": 4}"),
	    "writable[0].readback.address: in a forbidden range");
	expect_error(GOOD(", \"readback\": {\"address\": 1, \"type\": \"f31\"}"),
	    "writable[0].readback.type: unknown type 'f31' (u16 i16 u32 i32 "
	    "u64 i64 f32 f64)");
	expect_error(GOOD(", \"measured\": []"), "writable[0].measured: "
	    "expected an array of 1..3 point names");
	expect_error(GOOD(", \"measured\": [\"a\", \"b\", \"a\", \"b\"]"),
	    "writable[0].measured: expected an array of 1..3 point names");
	expect_error(GOOD(", \"measured\": [\"a\", \"c\"]"),
	    "writable[0].measured[1]: no point 'c' in this profile");
	expect_error(GOOD(", \"measured\": [\"s\"]"), "writable[0].measured[0]: "
	    "'s' is not a number (an enum or a bit)");
	expect_error(GOOD(", \"measured\": [1]"), "writable[0].measured[0]: "
	    "expected a point name");
	expect_error("[{\"name\": \"lim\", \"address\": 0, \"fc\": 6, \"type\": "
	    "\"u16\", \"min\": 1, \"max\": 2, \"step\": 1}, {\"name\": \"lim\"}]",
	    "writable[1].name: duplicate name 'lim' (writable[0])");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keba),
		cmocka_unit_test(test_alfen),
		cmocka_unit_test(test_heidelberg),
		cmocka_unit_test(test_accepted),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
