/*
 * A point's registers -> reading (profile_point_decode) and back: every type in
 * every word/byte order, "not available" markers, NaN/inf, scale and offset,
 * bit fields, enums, coils, and strings. Register images are written by hand
 * from the byte layout, never produced by the code under test, except where a
 * test is explicitly a round trip.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/profile.h"

static const enum reg_order orders[4] = { RO_ABCD, RO_CDAB, RO_BADC, RO_DCBA };
static const enum reg_type types[] = {
	RT_U16, RT_I16, RT_U32, RT_I32, RT_U64, RT_I64, RT_F32, RT_F64,
};

static struct dec
D(int64_t m, int16_t e)
{
	return (struct dec){ m, e };
}

static void
assert_dec(struct dec got, int64_t m, int16_t e)
{
	if (!dec_equal(got, D(m, e)))
		fail_msg("got %lld e%d, expected %lld e%d", (long long)got.m,
		    got.e, (long long)m, e);
}

static struct profile_point
point(enum reg_type t, enum reg_order o)
{
	struct profile_point pp;

	memset(&pp, 0, sizeof(pp));
	pp.fc = t == RT_BOOL ? 1 : 3;
	pp.type = t;
	pp.order = o;
	pp.scale = dec_from_int(1);
	pp.offset = dec_from_int(0);
	return pp;
}

/* Every type in every order: a value goes out and comes back exactly. */
static void
test_types_orders_roundtrip(void **state)
{
	static const struct dec vals[] = {
		{ 0, 0 }, { 1, 0 }, { 12345, 0 }, { -2, 0 }, { 2304, -1 },
	};
	struct profile p;
	struct profile_point pp;
	uint16_t regs[4];
	struct dec v, want;
	size_t t, o, i;
	int rc;

	(void)state;
	memset(&p, 0, sizeof(p));
	for (t = 0; t < sizeof(types) / sizeof(types[0]); t++) {
		for (o = 0; o < 4; o++) {
			pp = point(types[t], orders[o]);
			for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
				want = vals[i];
				/* Integers hold 230.4 only with scale 0.1. */
				pp.scale = want.e < 0 && !regmap_is_float(
				    types[t]) ? D(1, -1) : dec_from_int(1);
				rc = profile_point_encode(&p, &pp, want, regs);
				if (want.m < 0 && (types[t] == RT_U16 ||
				    types[t] == RT_U32 || types[t] == RT_U64)) {
					assert_int_equal(rc, -ERANGE);
					continue;
				}
				assert_int_equal(rc, 0);
				assert_int_equal(profile_point_decode(&p, &pp,
				    regs, &v), 0);
				assert_true(dec_equal(v, want));
			}
		}
	}
}

/* The same i32 -123 image as test_regmap, through the point decoder. */
static void
test_orders_by_hand(void **state)
{
	static const uint16_t img[4][2] = {
		{ 0xFFFF, 0xFF85 }, { 0xFF85, 0xFFFF }, { 0xFFFF, 0x85FF },
		{ 0x85FF, 0xFFFF },
	};
	struct profile p;
	struct profile_point pp;
	struct dec v;
	size_t o;

	(void)state;
	memset(&p, 0, sizeof(p));
	for (o = 0; o < 4; o++) {
		pp = point(RT_I32, orders[o]);
		assert_int_equal(profile_point_decode(&p, &pp, img[o], &v), 0);
		assert_dec(v, -123, 0);
	}
}

/* Markers are raw patterns: they win over any scale and never become numbers. */
static void
test_na_markers(void **state)
{
	struct profile p;
	struct profile_point pp;
	uint16_t u16 = 0xFFFF, i16 = 0x8000, r32[2], r64[4];
	struct dec v;

	(void)state;
	memset(&p, 0, sizeof(p));
	pp = point(RT_U16, RO_ABCD);
	pp.scale = D(1, -2);
	pp.na[pp.n_na++] = 0xFFFF;
	assert_int_equal(profile_point_decode(&p, &pp, &u16, &v), -ENODATA);
	u16 = 0xFFFE;
	assert_int_equal(profile_point_decode(&p, &pp, &u16, &v), 0);
	assert_dec(v, 65534, -2);

	pp = point(RT_I16, RO_ABCD);
	pp.na[pp.n_na++] = 0x8000;
	assert_int_equal(profile_point_decode(&p, &pp, &i16, &v), -ENODATA);
	i16 = 0x8001;
	assert_int_equal(profile_point_decode(&p, &pp, &i16, &v), 0);
	assert_dec(v, -32767, 0);

	/* 0x7FFFFFFF in CDAB order: the marker is the value, not the image. */
	pp = point(RT_I32, RO_CDAB);
	pp.na[pp.n_na++] = 0x7FFFFFFF;
	r32[0] = 0xFFFF;
	r32[1] = 0x7FFF;
	assert_int_equal(profile_point_decode(&p, &pp, r32, &v), -ENODATA);
	r32[0] = 0x7FFF;
	r32[1] = 0xFFFF;	/* 0xFFFF7FFF = -32769, a real value */
	assert_int_equal(profile_point_decode(&p, &pp, r32, &v), 0);
	assert_dec(v, -32769, 0);

	pp = point(RT_U64, RO_ABCD);
	pp.na[pp.n_na++] = UINT64_MAX;
	memset(r64, 0xFF, sizeof(r64));
	assert_int_equal(profile_point_decode(&p, &pp, r64, &v), -ENODATA);

	/* A marker on a float: the meter's own "no value" pattern. */
	pp = point(RT_F32, RO_ABCD);
	pp.na[pp.n_na++] = 0xFF7FFFFF;	/* -FLT_MAX */
	r32[0] = 0xFF7F;
	r32[1] = 0xFFFF;
	assert_int_equal(profile_point_decode(&p, &pp, r32, &v), -ENODATA);

	/* The simulator serves the first marker, or NaN for a float. */
	pp = point(RT_U32, RO_DCBA);
	pp.na[pp.n_na++] = 0x7FFFFFFF;
	assert_int_equal(profile_point_encode_na(&pp, r32), 0);
	assert_int_equal(r32[0], 0xFFFF);
	assert_int_equal(r32[1], 0xFF7F);
	assert_int_equal(profile_point_decode(&p, &pp, r32, &v), -ENODATA);
	pp = point(RT_F64, RO_CDAB);
	assert_int_equal(profile_point_encode_na(&pp, r64), 0);
	assert_int_equal(profile_point_decode(&p, &pp, r64, &v), -EDOM);
	pp = point(RT_U16, RO_ABCD);
	assert_int_equal(profile_point_encode_na(&pp, r64), -ENOENT);
}

static void
test_nan_inf(void **state)
{
	static const float f32s[] = { NAN, INFINITY, -INFINITY };
	static const double f64s[] = { NAN, INFINITY, -INFINITY };
	struct profile p;
	struct profile_point pp;
	uint16_t regs[4];
	struct dec v;
	size_t i, o;

	(void)state;
	memset(&p, 0, sizeof(p));
	for (o = 0; o < 4; o++) {
		for (i = 0; i < 3; i++) {
			pp = point(RT_F32, orders[o]);
			regmap_put_f32(f32s[i], orders[o], regs);
			assert_int_equal(profile_point_decode(&p, &pp, regs,
			    &v), -EDOM);
			pp = point(RT_F64, orders[o]);
			regmap_put_f64(f64s[i], orders[o], regs);
			assert_int_equal(profile_point_decode(&p, &pp, regs,
			    &v), -EDOM);
		}
	}
	/* Signalling NaN and a NaN with payload, by hand: 0x7F800001, 0xFFC12345 */
	pp = point(RT_F32, RO_ABCD);
	regs[0] = 0x7F80;
	regs[1] = 0x0001;
	assert_int_equal(profile_point_decode(&p, &pp, regs, &v), -EDOM);
	regs[0] = 0xFFC1;
	regs[1] = 0x2345;
	assert_int_equal(profile_point_decode(&p, &pp, regs, &v), -EDOM);
}

/* value = raw * scale + offset, exactly; and its inverse. */
static void
test_scale_offset(void **state)
{
	struct profile p;
	struct profile_point pp;
	uint16_t reg, r32[2];
	struct dec v;

	(void)state;
	memset(&p, 0, sizeof(p));
	/* A temperature: 0.1 degC steps from -40: 0x01F4 = 500 -> 10.0 */
	pp = point(RT_U16, RO_ABCD);
	pp.scale = D(1, -1);
	pp.offset = D(-40, 0);
	reg = 0x01F4;
	assert_int_equal(profile_point_decode(&p, &pp, &reg, &v), 0);
	assert_dec(v, 10, 0);
	reg = 0;
	assert_int_equal(profile_point_decode(&p, &pp, &reg, &v), 0);
	assert_dec(v, -40, 0);
	assert_int_equal(profile_point_encode(&p, &pp, D(-255, -1), &reg), 0);
	assert_int_equal(reg, 145);
	/* Not a multiple of the scale: the simulator must not round. */
	assert_int_equal(profile_point_encode(&p, &pp, D(-2555, -2), &reg),
	    -EINVAL);
	/* Negative scale with offset on an i32: raw 1000 * -0.01 + 0.5 = -9.5 */
	pp = point(RT_I32, RO_ABCD);
	pp.scale = D(-1, -2);
	pp.offset = D(5, -1);
	r32[0] = 0;
	r32[1] = 1000;
	assert_int_equal(profile_point_decode(&p, &pp, r32, &v), 0);
	assert_dec(v, -95, -1);
	/* An offset that cannot be added exactly is out of range, not rounded. */
	pp = point(RT_I64, RO_ABCD);
	pp.offset = D(1, -30);
	r32[0] = 0x7FFF;
	r32[1] = 0xFFFF;
	{
		uint16_t r64[4] = { 0x7FFF, 0xFFFF, 0xFFFF, 0xFFFF };

		assert_int_equal(profile_point_decode(&p, &pp, r64, &v),
		    -ERANGE);
	}
	/* Scaling itself overflowing is out of range too. */
	pp = point(RT_U32, RO_ABCD);
	pp.scale = D(INT64_MAX, 0);
	r32[0] = 0;
	r32[1] = 3;
	assert_int_equal(profile_point_decode(&p, &pp, r32, &v), -ERANGE);
	/* The encoder cannot subtract the most negative offset: -ERANGE. */
	pp = point(RT_I32, RO_ABCD);
	pp.offset = D(INT64_MIN, 0);
	assert_int_equal(profile_point_encode(&p, &pp, D(1, 0), r32), -ERANGE);
}

/* Two fields in one register; writing one keeps the other. */
static void
test_bitfields(void **state)
{
	struct profile p;
	struct profile_point hi, lo, flag;
	uint16_t reg = 0xA5C3, r32[2] = { 0x8000, 0x0001 };
	struct dec v;

	(void)state;
	memset(&p, 0, sizeof(p));
	hi = point(RT_U16, RO_ABCD);
	hi.bit_lo = 8;
	hi.bit_n = 8;
	lo = point(RT_U16, RO_ABCD);
	lo.bit_lo = 0;
	lo.bit_n = 4;
	assert_int_equal(profile_point_decode(&p, &hi, &reg, &v), 0);
	assert_dec(v, 0xA5, 0);
	assert_int_equal(profile_point_decode(&p, &lo, &reg, &v), 0);
	assert_dec(v, 0x3, 0);
	assert_int_equal(profile_point_encode(&p, &lo, D(9, 0), &reg), 0);
	assert_int_equal(reg, 0xA5C9);
	assert_int_equal(profile_point_encode(&p, &lo, D(16, 0), &reg), -ERANGE);
	assert_int_equal(reg, 0xA5C9);
	/* Byte order applies before the field is taken: BADC swaps the bytes. */
	hi.order = RO_BADC;
	assert_int_equal(profile_point_decode(&p, &hi, &reg, &v), 0);
	assert_dec(v, 0xC9, 0);
	/* Bit 31 and bit 0 of a CDAB u32 (0x00018000): bits 15 and 16. */
	flag = point(RT_U32, RO_CDAB);
	flag.bit_lo = 15;
	flag.bit_n = 2;
	assert_int_equal(profile_point_decode(&p, &flag, r32, &v), 0);
	assert_dec(v, 3, 0);
	/* A field with a scale: 4 bits of 0.5 A. */
	lo.scale = D(5, -1);
	reg = 0x0007;
	assert_int_equal(profile_point_decode(&p, &lo, &reg, &v), 0);
	assert_dec(v, 35, -1);
}

/* Raw states map to reported values; an unlisted raw value is invalid. */
static void
test_enums(void **state)
{
	struct profile_enum en[] = {
		{ 0x41, 1 }, { 0x42, 2 }, { 0x43, 3 }, { 0x46, 6 }, { 5, 2 },
	};
	struct profile p;
	struct profile_point st, err;
	uint16_t reg;
	struct dec v;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.enums = en;
	p.n_enums = 5;
	/* The first character of an Alfen-style "C2" string register. */
	st = point(RT_U16, RO_ABCD);
	st.bit_lo = 8;
	st.bit_n = 8;
	st.enum_first = 0;
	st.n_enum = 4;
	reg = 0x4332;	/* "C2" */
	assert_int_equal(profile_point_decode(&p, &st, &reg, &v), 0);
	assert_dec(v, 3, 0);
	reg = 0x4500;	/* "E": not listed */
	assert_int_equal(profile_point_decode(&p, &st, &reg, &v), -ENOENT);
	/* With enum_other every unlisted value reports it. */
	err = st;
	err.enum_first = 3;
	err.n_enum = 1;
	err.has_enum_other = 1;
	err.enum_other = 0;
	assert_int_equal(profile_point_decode(&p, &err, &reg, &v), 0);
	assert_dec(v, 0, 0);
	reg = 0x4600;
	assert_int_equal(profile_point_decode(&p, &err, &reg, &v), 0);
	assert_dec(v, 1 * 6, 0);
	/* Encoding picks the first raw value that reports the value. */
	reg = 0x00FF;
	assert_int_equal(profile_point_encode(&p, &st, D(2, 0), &reg), 0);
	assert_int_equal(reg, 0x42FF);
	assert_int_equal(profile_point_encode(&p, &st, D(4, 0), &reg), -EINVAL);
	assert_int_equal(profile_point_encode(&p, &st, D(25, -1), &reg),
	    -EINVAL);
	/* A not-available marker is checked before the enum. */
	st.na[st.n_na++] = 0xFFFF;
	reg = 0xFFFF;
	assert_int_equal(profile_point_decode(&p, &st, &reg, &v), -ENODATA);
}

/* Coils and discrete inputs arrive as one 0/1 element per bit. */
static void
test_bool(void **state)
{
	struct profile p;
	struct profile_point pp;
	uint16_t bit;
	struct dec v;

	(void)state;
	memset(&p, 0, sizeof(p));
	pp = point(RT_BOOL, RO_ABCD);
	assert_int_equal(regmap_words(RT_BOOL), 1);
	bit = 1;
	assert_int_equal(profile_point_decode(&p, &pp, &bit, &v), 0);
	assert_dec(v, 1, 0);
	bit = 0;
	assert_int_equal(profile_point_decode(&p, &pp, &bit, &v), 0);
	assert_dec(v, 0, 0);
	assert_int_equal(profile_point_encode(&p, &pp, D(1, 0), &bit), 0);
	assert_int_equal(bit, 1);
	assert_int_equal(profile_point_encode(&p, &pp, D(2, 0), &bit), -ERANGE);
	assert_int_equal(regmap_type_parse("bool", &pp.type), 0);
	assert_int_equal(pp.type, RT_BOOL);
}

static void
test_strings(void **state)
{
	/* "KC-P30" padded with blanks; "NG910" NUL-terminated. */
	static const uint16_t keba[4] = { 0x4B43, 0x2D50, 0x3330, 0x2020 };
	static const uint16_t ng[4] = { 0x4E47, 0x3931, 0x3000, 0x4141 };
	static const uint16_t swapped[2] = { 0x4241, 0x0043 };	/* "ABC" BADC */
	static const uint16_t rev[2] = { 0x4300, 0x4142 };	/* "ABC" CDAB */
	static const uint16_t bad[1] = { 0x41C3 };
	char out[16];

	(void)state;
	assert_int_equal(regmap_string(keba, 4, RO_ABCD, out, sizeof(out)), 6);
	assert_string_equal(out, "KC-P30");
	assert_int_equal(regmap_string(ng, 4, RO_ABCD, out, sizeof(out)), 5);
	assert_string_equal(out, "NG910");
	assert_int_equal(regmap_string(swapped, 2, RO_BADC, out, sizeof(out)),
	    3);
	assert_string_equal(out, "ABC");
	assert_int_equal(regmap_string(rev, 2, RO_CDAB, out, sizeof(out)), 3);
	assert_string_equal(out, "ABC");
	assert_int_equal(regmap_string(bad, 1, RO_ABCD, out, sizeof(out)),
	    -EILSEQ);
	assert_int_equal(regmap_string(keba, 4, RO_ABCD, out, 8), -ENOSPC);
}

static void
test_forbidden(void **state)
{
	struct profile p;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.forbidden[0] = (struct profile_range){ 3, 100, 199 };
	p.n_forbidden = 1;
	assert_true(profile_read_allowed(&p, 3, 0, 100));
	assert_false(profile_read_allowed(&p, 3, 0, 101));
	assert_false(profile_read_allowed(&p, 3, 150, 1));
	assert_false(profile_read_allowed(&p, 3, 199, 2));
	assert_true(profile_read_allowed(&p, 3, 200, 125));
	assert_true(profile_read_allowed(&p, 4, 100, 100));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_types_orders_roundtrip),
		cmocka_unit_test(test_orders_by_hand),
		cmocka_unit_test(test_na_markers),
		cmocka_unit_test(test_nan_inf),
		cmocka_unit_test(test_scale_offset),
		cmocka_unit_test(test_bitfields),
		cmocka_unit_test(test_enums),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_forbidden),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
