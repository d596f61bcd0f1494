/*
 * dec: exact decimals. Round trips of random f32/f64 bit patterns through the
 * shortest decimal, known conversions, exact multiplication and its overflow,
 * and the text forms (parse rejects, format is parseable JSON number text).
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/base/dec.h"

#define N_RANDOM 100000

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* xorshift64*: fixed seed, so every run checks the same values. */
static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static float
f32_bits(uint32_t u)
{
	float f;

	memcpy(&f, &u, sizeof(f));
	return f;
}

static double
f64_bits(uint64_t u)
{
	double d;

	memcpy(&d, &u, sizeof(d));
	return d;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? : RFC 8259 number grammar. */
static int
json_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return 0;
	if (*s == '.') {
		s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

/* Format, check the text is a JSON number, parse it back, compare. */
static void
check_text_round_trip(struct dec v)
{
	char buf[DEC_STRLEN];
	struct dec w;
	int n;

	n = dec_format(v, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal((size_t)n, strlen(buf));
	if (!json_number(buf))
		fail_msg("not a JSON number: \"%s\"", buf);
	assert_int_equal(dec_parse(buf, &w), 0);
	if (!dec_equal(v, w))
		fail_msg("\"%s\" parsed back as %lld e %d", buf, (long long)w.m, w.e);
}

static void
assert_format(struct dec v, const char *want)
{
	char buf[DEC_STRLEN];

	assert_int_equal(dec_format(v, buf, sizeof(buf)), (int)strlen(want));
	assert_string_equal(buf, want);
}

static void
assert_f32(float f, const char *want)
{
	struct dec v;

	assert_int_equal(dec_from_f32(f, &v), 0);
	assert_format(v, want);
	assert_true(dec_equal(v, dec_normalize(v)));
}

static void
assert_f64(double d, const char *want)
{
	struct dec v;

	assert_int_equal(dec_from_f64(d, &v), 0);
	assert_format(v, want);
}

static void
test_f32_known(void **state)
{
	struct dec v;

	(void)state;
	assert_f32(230.4f, "230.4");
	assert_f32(0.1f, "0.1");
	assert_f32(-0.0f, "0");
	assert_f32(0.0f, "0");
	assert_f32(1e-45f, "1e-45");
	assert_f32(FLT_MAX, "3.4028235e38");
	assert_f32(-FLT_MAX, "-3.4028235e38");
	assert_f32(FLT_MIN, "1.1754944e-38");
	assert_f32(1.0f, "1");
	assert_f32(-0.015f, "-0.015");
	assert_f32(12000.0f, "12000");
	assert_f32(16777216.0f, "16777216");
	assert_f32(49.99f, "49.99");
	/* Normalized: 2304e-1, not 23040e-2. */
	assert_int_equal(dec_from_f32(230.4f, &v), 0);
	assert_int_equal(v.m, 2304);
	assert_int_equal(v.e, -1);
	assert_int_equal(dec_from_f32(-0.0f, &v), 0);
	assert_int_equal(v.m, 0);
	assert_int_equal(v.e, 0);
}

static void
test_f64_known(void **state)
{
	(void)state;
	assert_f64(0.1, "0.1");
	assert_f64(230.4, "230.4");
	assert_f64((double)230.4f, "230.39999389648438");
	assert_f64(-0.0, "0");
	assert_f64(5e-324, "5e-324");
	assert_f64(DBL_MAX, "1.7976931348623157e308");
	assert_f64(DBL_MIN, "2.2250738585072014e-308");
	assert_f64(1e20, "100000000000000000000");
	assert_f64(1e21, "1e21");
	assert_f64(-1.5e22, "-1.5e22");
	assert_f64(1e-21, "0.000000000000000000001");
	assert_f64(1.5e-22, "1.5e-22");
	assert_f64(9007199254740993.0, "9007199254740992");
	assert_f64(123456789012345678.0, "123456789012345680");
}

static void
test_nan_inf(void **state)
{
	struct dec v = { .m = 77, .e = 3 };

	(void)state;
	assert_int_equal(dec_from_f32(NAN, &v), -EDOM);
	assert_int_equal(dec_from_f32(INFINITY, &v), -EDOM);
	assert_int_equal(dec_from_f32(-INFINITY, &v), -EDOM);
	assert_int_equal(dec_from_f64(NAN, &v), -EDOM);
	assert_int_equal(dec_from_f64(-NAN, &v), -EDOM);
	assert_int_equal(dec_from_f64(INFINITY, &v), -EDOM);
	assert_int_equal(dec_from_f64(-INFINITY, &v), -EDOM);
	assert_int_equal(v.m, 77);
	assert_int_equal(v.e, 3);
}

/*
 * Random bit patterns cover every exponent, subnormals included. The value goes
 * through the decimal and back through dec_to_double: exactly the path a
 * receiver takes to rebuild the register's f32.
 */
static void
test_f32_random_round_trip(void **state)
{
	int i, finite = 0;

	(void)state;
	for (i = 0; i < N_RANDOM; i++) {
		uint32_t u = (uint32_t)(rng() >> 32), back_u;
		float f = f32_bits(u), back;
		struct dec v;

		if (isnan(f) || isinf(f)) {
			assert_int_equal(dec_from_f32(f, &v), -EDOM);
			continue;
		}
		finite++;
		assert_int_equal(dec_from_f32(f, &v), 0);
		/* At most 9 significant digits: the f32 bound. */
		assert_true(v.m > -1000000000 && v.m < 1000000000);
		back = (float)dec_to_double(v);
		memcpy(&back_u, &back, sizeof(back_u));
		if (back_u != u && !(f == 0 && back == 0))
			fail_msg("f32 0x%08x -> %lld e %d -> 0x%08x", (unsigned)u,
			    (long long)v.m, v.e, (unsigned)back_u);
		check_text_round_trip(v);
	}
	assert_true(finite > N_RANDOM * 9 / 10);
}

static void
test_f64_random_round_trip(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < N_RANDOM; i++) {
		uint64_t u = rng(), back_u;
		double d = f64_bits(u), back;
		struct dec v;

		if (isnan(d) || isinf(d)) {
			assert_int_equal(dec_from_f64(d, &v), -EDOM);
			continue;
		}
		assert_int_equal(dec_from_f64(d, &v), 0);
		back = dec_to_double(v);
		memcpy(&back_u, &back, sizeof(back_u));
		if (back_u != u && !(d == 0 && back == 0))
			fail_msg("f64 0x%016llx -> %lld e %d", (unsigned long long)u,
			    (long long)v.m, v.e);
		check_text_round_trip(v);
	}
}

static void
test_mul(void **state)
{
	struct dec r = { .m = 5, .e = 5 }, a, b;

	(void)state;
	a = (struct dec){ .m = 2304, .e = -1 };
	b = (struct dec){ .m = 1, .e = -1 };
	assert_int_equal(dec_mul(a, b, &r), 0);
	assert_int_equal(r.m, 2304);
	assert_int_equal(r.e, -2);
	/* 1000 * 0.001 == 1, normalized. */
	a = (struct dec){ .m = 1000, .e = 0 };
	b = (struct dec){ .m = 1, .e = -3 };
	assert_int_equal(dec_mul(a, b, &r), 0);
	assert_int_equal(r.m, 1);
	assert_int_equal(r.e, 0);
	/* 2 * 5 == 10 -> 1e1. */
	assert_int_equal(dec_mul(dec_from_int(2), dec_from_int(5), &r), 0);
	assert_int_equal(r.m, 1);
	assert_int_equal(r.e, 1);
	/* Register scale: raw 65535 * 0.01 */
	assert_int_equal(dec_mul(dec_from_int(-65535), (struct dec){ 1, -2 }, &r), 0);
	assert_true(dec_equal(r, (struct dec){ -65535, -2 }));
	assert_int_equal(dec_mul(dec_from_int(0), (struct dec){ 7, 300 }, &r), 0);
	assert_int_equal(r.m, 0);
	assert_int_equal(r.e, 0);
	/* Scaling trailing zeros away keeps a product exact: 9e18 * 1 fits. */
	assert_int_equal(dec_mul((struct dec){ 9000000000000000000LL, 0 },
	    dec_from_int(1), &r), 0);
	assert_int_equal(r.m, 9);
	assert_int_equal(r.e, 18);

	r = (struct dec){ .m = 42, .e = 1 };
	assert_int_equal(dec_mul(dec_from_int(INT64_MAX), dec_from_int(3), &r),
	    -ERANGE);
	assert_int_equal(dec_mul(dec_from_int(3037000501LL),
	    dec_from_int(3037000503LL), &r), -ERANGE);
	assert_int_equal(dec_mul(dec_from_int(INT64_MIN), dec_from_int(-1), &r),
	    -ERANGE);
	assert_int_equal(dec_mul((struct dec){ 3, 300 }, (struct dec){ 3, 300 }, &r),
	    -ERANGE);
	assert_int_equal(dec_mul((struct dec){ 3, -300 }, (struct dec){ 3, -300 },
	    &r), -ERANGE);
	assert_int_equal(r.m, 42);
	assert_int_equal(r.e, 1);
	/* Exactly at the bound is fine. */
	assert_int_equal(dec_mul((struct dec){ 3, 200 }, (struct dec){ 3, 200 }, &r),
	    0);
	assert_int_equal(r.m, 9);
	assert_int_equal(r.e, DEC_EXP_MAX);
}

static void
test_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"", "-", "1.", ".5", "1e", "1x", " 1", "1 ", "+1", "--1", "1..2",
		"1.2.3", "0x10", "1e+", "1e-", "e5", "-.5", "NaN", "inf", "1,5",
		"1.5e2.0", "١",
	};
	struct dec v = { .m = 11, .e = 11 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (dec_parse(bad[i], &v) != -EINVAL)
			fail_msg("dec_parse(\"%s\") accepted or wrong error", bad[i]);
	assert_int_equal(dec_parse("1e99999", &v), -ERANGE);
	assert_int_equal(dec_parse("1e-99999999999999999999999", &v), -ERANGE);
	assert_int_equal(dec_parse("1e401", &v), -ERANGE);
	assert_int_equal(dec_parse("1e-401", &v), -ERANGE);
	assert_int_equal(dec_parse("9223372036854775808", &v), -ERANGE);
	assert_int_equal(dec_parse("-9223372036854775809", &v), -ERANGE);
	assert_int_equal(dec_parse("12345678901234567890123", &v), -ERANGE);
	assert_int_equal(v.m, 11);
	assert_int_equal(v.e, 11);
}

static void
assert_parse(const char *s, int64_t m, int e)
{
	struct dec v;

	if (dec_parse(s, &v) != 0)
		fail_msg("dec_parse(\"%s\") failed", s);
	assert_int_equal(v.m, m);
	assert_int_equal(v.e, e);
}

static void
test_parse_accepts(void **state)
{
	char big[512];

	(void)state;
	assert_parse("0", 0, 0);
	assert_parse("-0", 0, 0);
	assert_parse("0.000", 0, 0);
	assert_parse("0e99999", 0, 0);
	assert_parse("1.50", 15, -1);
	assert_parse("12000", 12, 3);
	assert_parse("-0.015", -15, -3);
	assert_parse("2.304e+02", 2304, -1);
	assert_parse("1E5", 1, 5);
	assert_parse("1e-5", 1, -5);
	assert_parse("007", 7, 0);
	assert_parse("1e400", 1, 400);
	assert_parse("10e399", 1, 400);
	assert_parse("9223372036854775807", INT64_MAX, 0);
	assert_parse("-9223372036854775808", INT64_MIN, 0);
	/* More digits than an int64 holds, but only zeros beyond: still exact. */
	memset(big, '0', sizeof(big));
	big[0] = '1';
	big[301] = '\0';
	assert_parse(big, 1, 300);
	memcpy(big, "0.", 2);
	memset(big + 2, '0', 399);
	big[401] = '7';
	big[402] = '\0';
	assert_parse(big, 7, -400);
	big[401] = '0';
	big[402] = '7';
	big[403] = '\0';
	assert_int_equal(dec_parse(big, &(struct dec){ 0, 0 }), -ERANGE);
}

static void
test_format(void **state)
{
	char buf[DEC_STRLEN];
	int i;

	(void)state;
	assert_format((struct dec){ 0, 7 }, "0");
	assert_format((struct dec){ 12300, -2 }, "123");
	assert_format((struct dec){ 5, -1 }, "0.5");
	assert_format((struct dec){ -5, -1 }, "-0.5");
	assert_format((struct dec){ 15, -31 }, "1.5e-30");
	assert_format((struct dec){ 12, 3 }, "12000");
	assert_format((struct dec){ 1, 21 }, "1e21");
	assert_format((struct dec){ 1, 20 }, "100000000000000000000");
	assert_format((struct dec){ 123456, -3 }, "123.456");
	assert_format((struct dec){ INT64_MIN, 0 }, "-9223372036854775808");
	assert_format((struct dec){ INT64_MIN, -400 },
	    "-9.223372036854775808e-382");
	assert_format((struct dec){ INT64_MAX, INT16_MAX },
	    "9.223372036854775807e32785");
	assert_int_equal(dec_format((struct dec){ 2304, -1 }, buf, 5), -ENOSPC);
	assert_int_equal(dec_format((struct dec){ 2304, -1 }, buf, 6), 5);
	assert_string_equal(buf, "230.4");

	/* Mantissas of every length at exponents across the whole range. */
	for (i = 0; i < N_RANDOM; i++) {
		struct dec v;
		int digits = (int)(rng() % 19);

		v.m = (int64_t)(rng() >> (rng() % 64));
		if (digits < 18) {
			int64_t p = 1;

			while (digits-- > 0)
				p *= 10;
			v.m %= p * 10;
		}
		if (rng() & 1)
			v.m = -v.m;
		v.e = (int16_t)((int)(rng() % (2 * DEC_EXP_MAX - 17)) - DEC_EXP_MAX);
		check_text_round_trip(v);
	}
}

static void
test_equal_normalize(void **state)
{
	struct dec v;

	(void)state;
	assert_true(dec_equal((struct dec){ 150, -2 }, (struct dec){ 15, -1 }));
	assert_true(dec_equal((struct dec){ 0, 5 }, (struct dec){ 0, -3 }));
	assert_true(dec_equal((struct dec){ 10, -1 }, dec_from_int(1)));
	assert_false(dec_equal((struct dec){ 1, 0 }, (struct dec){ 1, 1 }));
	assert_false(dec_equal((struct dec){ 1, 0 }, (struct dec){ -1, 0 }));
	v = dec_normalize((struct dec){ 12300, -2 });
	assert_int_equal(v.m, 123);
	assert_int_equal(v.e, 0);
	v = dec_normalize((struct dec){ 0, 9 });
	assert_int_equal(v.m, 0);
	assert_int_equal(v.e, 0);
	v = dec_normalize((struct dec){ 10, INT16_MAX });
	assert_int_equal(v.m, 10);
	assert_int_equal(v.e, INT16_MAX);
	assert_false(dec_in_range((struct dec){ 10, INT16_MAX }));
	assert_true(dec_in_range((struct dec){ 1000, 397 }));
	assert_false(dec_in_range((struct dec){ 1000, 398 }));
	assert_true(dec_to_double((struct dec){ 2304, -1 }) == 230.4);
	assert_true(dec_to_double((struct dec){ 5, -324 }) == 5e-324);
	assert_true(dec_to_double((struct dec){ 0, 0 }) == 0.0);
	assert_true((float)dec_to_double((struct dec){ 34028235, 31 }) == FLT_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_f32_known),
		cmocka_unit_test(test_f64_known),
		cmocka_unit_test(test_nan_inf),
		cmocka_unit_test(test_f32_random_round_trip),
		cmocka_unit_test(test_f64_random_round_trip),
		cmocka_unit_test(test_mul),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_parse_accepts),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_equal_normalize),
	};

	return cmocka_run_group_tests_name("dec", tests, NULL, NULL);
}
