/*
 * Register decoding against register images written by hand from the byte
 * layout of each order (A = most significant byte), never produced by the
 * encoder under test; then the encoder against the same images and round trips.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/regmap.h"

static const enum reg_order orders[4] = { RO_ABCD, RO_CDAB, RO_BADC, RO_DCBA };

/* One value in the four orders: img[order][register]. */
struct image {
	enum reg_type t;
	uint16_t img[4][4];
	int64_t m;		/* expected value m * 10^e (scale 1) */
	int16_t e;
};

static const struct image images[] = {
	/* u16 0x1234 = 4660: AB for ABCD/CDAB, BA for BADC/DCBA */
	{ RT_U16, { {0x1234}, {0x1234}, {0x3412}, {0x3412} }, 4660, 0 },
	{ RT_U16, { {0xFFFF}, {0xFFFF}, {0xFFFF}, {0xFFFF} }, 65535, 0 },
	/* i16 0xFFFE = -2, 0x8000 = -32768, 0x7FFF = 32767 */
	{ RT_I16, { {0xFFFE}, {0xFFFE}, {0xFEFF}, {0xFEFF} }, -2, 0 },
	{ RT_I16, { {0x8000}, {0x8000}, {0x0080}, {0x0080} }, -32768, 0 },
	{ RT_I16, { {0x7FFF}, {0x7FFF}, {0xFF7F}, {0xFF7F} }, 32767, 0 },
	/* u32 0x12345678 = 305419896 */
	{ RT_U32, { {0x1234, 0x5678}, {0x5678, 0x1234}, {0x3412, 0x7856},
	    {0x7856, 0x3412} }, 305419896, 0 },
	/* u32 0xFFFFFFFF: no sign extension */
	{ RT_U32, { {0xFFFF, 0xFFFF}, {0xFFFF, 0xFFFF}, {0xFFFF, 0xFFFF},
	    {0xFFFF, 0xFFFF} }, 4294967295, 0 },
	/* i32 0xFFFFFF85 = -123 */
	{ RT_I32, { {0xFFFF, 0xFF85}, {0xFF85, 0xFFFF}, {0xFFFF, 0x85FF},
	    {0x85FF, 0xFFFF} }, -123, 0 },
	/* i32 0x80000000 = INT32_MIN */
	{ RT_I32, { {0x8000, 0x0000}, {0x0000, 0x8000}, {0x0080, 0x0000},
	    {0x0000, 0x0080} }, INT32_MIN, 0 },
	/* u64 0x0123456789ABCDEF = 81985529216486895 */
	{ RT_U64, { {0x0123, 0x4567, 0x89AB, 0xCDEF},
	    {0xCDEF, 0x89AB, 0x4567, 0x0123},
	    {0x2301, 0x6745, 0xAB89, 0xEFCD},
	    {0xEFCD, 0xAB89, 0x6745, 0x2301} }, 81985529216486895, 0 },
	/* u64 0xFFFFFFFFFFFFFFFA = 18446744073709551610 > INT64_MAX, exact */
	{ RT_U64, { {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFA},
	    {0xFFFA, 0xFFFF, 0xFFFF, 0xFFFF},
	    {0xFFFF, 0xFFFF, 0xFFFF, 0xFAFF},
	    {0xFAFF, 0xFFFF, 0xFFFF, 0xFFFF} }, 1844674407370955161, 1 },
	/* u64 0x8AC7230489E80000 = 10^19 */
	{ RT_U64, { {0x8AC7, 0x2304, 0x89E8, 0x0000},
	    {0x0000, 0x89E8, 0x2304, 0x8AC7},
	    {0xC78A, 0x0423, 0xE889, 0x0000},
	    {0x0000, 0xE889, 0x0423, 0xC78A} }, 1, 19 },
	/* i64 0xFEDCBA9876543210 = -81985529216486896 */
	{ RT_I64, { {0xFEDC, 0xBA98, 0x7654, 0x3210},
	    {0x3210, 0x7654, 0xBA98, 0xFEDC},
	    {0xDCFE, 0x98BA, 0x5476, 0x1032},
	    {0x1032, 0x5476, 0x98BA, 0xDCFE} }, -81985529216486896, 0 },
	/* i64 0x8000000000000000 = INT64_MIN */
	{ RT_I64, { {0x8000, 0, 0, 0}, {0, 0, 0, 0x8000}, {0x0080, 0, 0, 0},
	    {0, 0, 0, 0x0080} }, INT64_MIN, 0 },
	/* f32 49.95 = 0x4247CCCD -> shortest decimal 49.95 */
	{ RT_F32, { {0x4247, 0xCCCD}, {0xCCCD, 0x4247}, {0x4742, 0xCDCC},
	    {0xCDCC, 0x4742} }, 4995, -2 },
	/* f32 0xC49A522B: written as -1234.5678, shortest f32 text -1234.5677 */
	{ RT_F32, { {0xC49A, 0x522B}, {0x522B, 0xC49A}, {0x9AC4, 0x2B52},
	    {0x2B52, 0x9AC4} }, -12345677, -4 },
	/* f32 -0.0 = 0x80000000 -> 0 */
	{ RT_F32, { {0x8000, 0x0000}, {0x0000, 0x8000}, {0x0080, 0x0000},
	    {0x0000, 0x0080} }, 0, 0 },
	/* f64 -1234.5678 = 0xC0934A456D5CFAAD */
	{ RT_F64, { {0xC093, 0x4A45, 0x6D5C, 0xFAAD},
	    {0xFAAD, 0x6D5C, 0x4A45, 0xC093},
	    {0x93C0, 0x454A, 0x5C6D, 0xADFA},
	    {0xADFA, 0x5C6D, 0x454A, 0x93C0} }, -12345678, -4 },
	/* f64 0.001 = 0x3F50624DD2F1A9FC */
	{ RT_F64, { {0x3F50, 0x624D, 0xD2F1, 0xA9FC},
	    {0xA9FC, 0xD2F1, 0x624D, 0x3F50},
	    {0x503F, 0x4D62, 0xF1D2, 0xFCA9},
	    {0xFCA9, 0xF1D2, 0x4D62, 0x503F} }, 1, -3 },
};

#define N_IMAGES (sizeof(images) / sizeof(images[0]))

static struct dec
D(int64_t m, int16_t e)
{
	return (struct dec){ m, e };
}

static void
assert_dec(struct dec got, int64_t m, int16_t e)
{
	struct dec g = dec_normalize(got), x = dec_normalize(D(m, e));

	if (g.m != x.m || g.e != x.e)
		fail_msg("got %lld e%d, expected %lld e%d", (long long)g.m, g.e,
		    (long long)x.m, x.e);
}

static void
test_words_and_names(void **state)
{
	enum reg_type t;
	enum reg_order o;

	(void)state;
	assert_int_equal(regmap_words(RT_U16), 1);
	assert_int_equal(regmap_words(RT_I16), 1);
	assert_int_equal(regmap_words(RT_U32), 2);
	assert_int_equal(regmap_words(RT_F32), 2);
	assert_int_equal(regmap_words(RT_I64), 4);
	assert_int_equal(regmap_words(RT_F64), 4);

	assert_int_equal(regmap_type_parse("i32", &t), 0);
	assert_int_equal(t, RT_I32);
	assert_int_equal(regmap_type_parse("f64", &t), 0);
	assert_int_equal(t, RT_F64);
	assert_int_equal(regmap_type_parse("f31", &t), -EINVAL);
	assert_int_equal(regmap_type_parse("U16", &t), -EINVAL);
	assert_int_equal(regmap_type_parse("", &t), -EINVAL);
	assert_int_equal(regmap_order_parse("BADC", &o), 0);
	assert_int_equal(o, RO_BADC);
	assert_int_equal(regmap_order_parse("DCBA", &o), 0);
	assert_int_equal(o, RO_DCBA);
	assert_int_equal(regmap_order_parse("abcd", &o), -EINVAL);
	assert_int_equal(regmap_order_parse("ABDC", &o), -EINVAL);
	assert_string_equal(regmap_type_name(RT_U64), "u64");
	assert_string_equal(regmap_order_name(RO_CDAB), "CDAB");
}

static void
test_decode_images(void **state)
{
	struct dec v;
	size_t i, k;

	(void)state;
	for (i = 0; i < N_IMAGES; i++) {
		for (k = 0; k < 4; k++) {
			v = D(77, 7);
			assert_int_equal(regmap_decode(images[i].img[k],
			    images[i].t, orders[k], D(1, 0), &v), 0);
			assert_dec(v, images[i].m, images[i].e);
		}
	}
}

/* The encoder must produce exactly the hand-written images. */
static void
test_encode_images(void **state)
{
	uint16_t regs[4];
	size_t i, k;
	unsigned n;

	(void)state;
	for (i = 0; i < N_IMAGES; i++) {
		if (images[i].t == RT_F32 && images[i].m == 0)
			continue;	/* -0.0 decodes to 0, which encodes as +0 */
		n = regmap_words(images[i].t);
		for (k = 0; k < 4; k++) {
			memset(regs, 0xAA, sizeof(regs));
			assert_int_equal(regmap_encode(D(images[i].m,
			    images[i].e), images[i].t, orders[k], D(1, 0),
			    regs), 0);
			assert_memory_equal(regs, images[i].img[k],
			    n * sizeof(uint16_t));
		}
	}
}

static void
test_u64_not_representable(void **state)
{
	/* 0xFFFFFFFFFFFFFFFF and 2^63 end in 5 and 8: no exact int64 mantissa */
	static const uint16_t max[4] = { 0xFFFF, 0xFFFF, 0xFFFF, 0xFFFF };
	static const uint16_t two63[4] = { 0x8000, 0, 0, 0 };
	static const uint16_t two63_dcba[4] = { 0, 0, 0, 0x0080 };
	struct dec v = D(5, 5);

	(void)state;
	assert_int_equal(regmap_decode(max, RT_U64, RO_ABCD, D(1, 0), &v),
	    -ERANGE);
	assert_int_equal(regmap_decode(two63, RT_U64, RO_ABCD, D(1, 0), &v),
	    -ERANGE);
	assert_int_equal(regmap_decode(two63_dcba, RT_U64, RO_DCBA, D(1, 0),
	    &v), -ERANGE);
	/* the same bits as i64 are fine */
	assert_int_equal(regmap_decode(max, RT_I64, RO_ABCD, D(1, 0), &v), 0);
	assert_dec(v, -1, 0);
}

static void
test_nan_inf(void **state)
{
	/* f32 NaN 0x7FC00000, sNaN 0x7F800001, +inf 0x7F800000, -inf 0xFF800000 */
	static const uint16_t f32[4][4][2] = {
		{ {0x7FC0, 0x0000}, {0x0000, 0x7FC0}, {0xC07F, 0x0000},
		  {0x0000, 0xC07F} },
		{ {0x7F80, 0x0001}, {0x0001, 0x7F80}, {0x807F, 0x0100},
		  {0x0100, 0x807F} },
		{ {0x7F80, 0x0000}, {0x0000, 0x7F80}, {0x807F, 0x0000},
		  {0x0000, 0x807F} },
		{ {0xFF80, 0x0000}, {0x0000, 0xFF80}, {0x80FF, 0x0000},
		  {0x0000, 0x80FF} },
	};
	/* f64 NaN 0x7FF8000000000000, -inf 0xFFF0000000000000 */
	static const uint16_t f64[2][4][4] = {
		{ {0x7FF8, 0, 0, 0}, {0, 0, 0, 0x7FF8}, {0xF87F, 0, 0, 0},
		  {0, 0, 0, 0xF87F} },
		{ {0xFFF0, 0, 0, 0}, {0, 0, 0, 0xFFF0}, {0xF0FF, 0, 0, 0},
		  {0, 0, 0, 0xF0FF} },
	};
	struct dec v = D(42, 0);
	size_t i, k;

	(void)state;
	for (i = 0; i < 4; i++) {
		for (k = 0; k < 4; k++)
			assert_int_equal(regmap_decode(f32[i][k], RT_F32,
			    orders[k], D(1, 0), &v), -EDOM);
	}
	for (i = 0; i < 2; i++) {
		for (k = 0; k < 4; k++)
			assert_int_equal(regmap_decode(f64[i][k], RT_F64,
			    orders[k], D(1, 0), &v), -EDOM);
	}
	assert_int_equal(v.m, 42);
}

/* The raw float writers serve the same NaN/inf patterns the decoder refuses. */
static void
test_put_raw(void **state)
{
	static const uint16_t inf_badc[2] = { 0x807F, 0x0000 };
	static const uint16_t nan_cdab[4] = { 0, 0, 0, 0x7FF8 };
	uint16_t regs[4];
	struct dec v;

	(void)state;
	regmap_put_f32(INFINITY, RO_BADC, regs);
	assert_memory_equal(regs, inf_badc, sizeof(inf_badc));
	regmap_put_f64(NAN, RO_CDAB, regs);
	assert_memory_equal(regs, nan_cdab, sizeof(nan_cdab));
	regmap_put_f32(230.4f, RO_DCBA, regs);
	assert_int_equal(regmap_decode(regs, RT_F32, RO_DCBA, D(1, 0), &v), 0);
	assert_dec(v, 2304, -1);
}

static void
test_scale(void **state)
{
	/* u16 2304 * 0.1, i16 -12345 * 0.01, u32 1234 * 1000 */
	static const uint16_t u16[1] = { 0x0900 };
	static const uint16_t i16[1] = { 0xCFC7 };
	static const uint16_t u32[2] = { 0x0000, 0x04D2 };
	static const uint16_t f32[2] = { 0x4247, 0xCCCD };	/* 49.95 */
	struct dec v;

	(void)state;
	assert_int_equal(regmap_decode(u16, RT_U16, RO_ABCD, D(1, -1), &v), 0);
	assert_dec(v, 2304, -1);
	assert_int_equal(regmap_decode(i16, RT_I16, RO_ABCD, D(1, -2), &v), 0);
	assert_dec(v, -12345, -2);
	assert_int_equal(regmap_decode(u32, RT_U32, RO_ABCD, D(1, 3), &v), 0);
	assert_dec(v, 1234000, 0);
	assert_int_equal(regmap_decode(u32, RT_U32, RO_ABCD, D(-1, 0), &v), 0);
	assert_dec(v, -1234, 0);
	assert_int_equal(regmap_decode(f32, RT_F32, RO_ABCD, D(1, 3), &v), 0);
	assert_dec(v, 49950, 0);
	/* a scale the product cannot carry */
	assert_int_equal(regmap_decode(u32, RT_U32, RO_ABCD,
	    D(INT64_MAX / 10, 0), &v), -ERANGE);
}

static void
test_encode_errors(void **state)
{
	uint16_t regs[4] = { 0x5555, 0x5555, 0x5555, 0x5555 };

	(void)state;
	/* out of range */
	assert_int_equal(regmap_encode(D(65536, 0), RT_U16, RO_ABCD, D(1, 0),
	    regs), -ERANGE);
	assert_int_equal(regmap_encode(D(-1, 0), RT_U32, RO_ABCD, D(1, 0),
	    regs), -ERANGE);
	assert_int_equal(regmap_encode(D(32768, 0), RT_I16, RO_ABCD, D(1, 0),
	    regs), -ERANGE);
	assert_int_equal(regmap_encode(D(-32769, 0), RT_I16, RO_ABCD, D(1, 0),
	    regs), -ERANGE);
	assert_int_equal(regmap_encode(D(1, 20), RT_U64, RO_ABCD, D(1, 0),
	    regs), -ERANGE);
	assert_int_equal(regmap_encode(D(INT64_MAX, 1), RT_I64, RO_ABCD,
	    D(1, 0), regs), -ERANGE);
	assert_int_equal(regmap_encode(D(1, 39), RT_F32, RO_ABCD, D(1, 0),
	    regs), -ERANGE);
	/* not integral: 230.45 / 0.1, 1 / 2.5, 1e-30 */
	assert_int_equal(regmap_encode(D(23045, -2), RT_U16, RO_ABCD, D(1, -1),
	    regs), -EINVAL);
	assert_int_equal(regmap_encode(D(1, 0), RT_U16, RO_ABCD, D(25, -1),
	    regs), -EINVAL);
	assert_int_equal(regmap_encode(D(1, -30), RT_I64, RO_ABCD, D(1, 0),
	    regs), -EINVAL);
	/* a zero scale has no inverse */
	assert_int_equal(regmap_encode(D(1, 0), RT_U16, RO_ABCD, D(0, 0),
	    regs), -EINVAL);
	assert_int_equal(regs[0], 0x5555);
}

static void
test_encode_scaled(void **state)
{
	uint16_t regs[4];

	(void)state;
	/* 230.4 / 0.1 = 2304 = 0x0900 */
	assert_int_equal(regmap_encode(D(2304, -1), RT_U16, RO_ABCD, D(1, -1),
	    regs), 0);
	assert_int_equal(regs[0], 0x0900);
	/* 10 / 2.5 = 4, in BADC */
	assert_int_equal(regmap_encode(D(1, 1), RT_I16, RO_BADC, D(25, -1),
	    regs), 0);
	assert_int_equal(regs[0], 0x0400);
	/* -12.5 / -0.5 = 25 */
	assert_int_equal(regmap_encode(D(-125, -1), RT_U32, RO_ABCD, D(-5, -1),
	    regs), 0);
	assert_int_equal(regs[0], 0);
	assert_int_equal(regs[1], 25);
	/* 1234000 / 1000 = 1234 = 0x04D2 */
	assert_int_equal(regmap_encode(D(1234, 3), RT_U32, RO_CDAB, D(1, 3),
	    regs), 0);
	assert_int_equal(regs[0], 0x04D2);
	assert_int_equal(regs[1], 0);
	/* 4995e-2 Hz as f32 with scale 0.01 is 4995.0 = 0x459C1800 */
	assert_int_equal(regmap_encode(D(4995, -2), RT_F32, RO_ABCD, D(1, -2),
	    regs), 0);
	assert_int_equal(regs[0], 0x459C);
	assert_int_equal(regs[1], 0x1800);
}

/* Values the simulator serves come back as the same decimal. */
static void
test_round_trip(void **state)
{
	static const struct { enum reg_type t; int64_t m; int16_t e; int64_t sm;
	    int16_t se; } cases[] = {
		{ RT_U16, 2304, -1, 1, -1 },
		{ RT_I16, -12345, -3, 1, -3 },
		{ RT_U32, 4294967295, 0, 1, 0 },
		{ RT_I32, -2147483648, -2, 1, -2 },
		{ RT_U64, 1844674407370955161, 1, 1, 0 },
		{ RT_I64, INT64_MAX, 0, 1, 0 },
		{ RT_I64, 15, 0, 25, -1 },
		{ RT_F32, 2304, -1, 1, 0 },
		{ RT_F32, 4995, -2, 1, 0 },
		{ RT_F32, 123456, 0, 1, -3 },
		{ RT_F32, -1, -45, 1, 0 },	/* near the smallest subnormal */
		{ RT_F32, 34028235, 31, 1, 0 },	/* FLT_MAX */
		{ RT_F64, -12345678, -4, 1, 0 },
		{ RT_F64, 17976931348623157, 292, 1, 0 },	/* DBL_MAX */
		{ RT_F64, 5, -324, 1, 0 },	/* smallest subnormal */
		{ RT_F64, 1, -1, 1, -2 },
	};
	uint16_t regs[4];
	struct dec v;
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		for (k = 0; k < 4; k++) {
			assert_int_equal(regmap_encode(D(cases[i].m, cases[i].e),
			    cases[i].t, orders[k], D(cases[i].sm, cases[i].se),
			    regs), 0);
			assert_int_equal(regmap_decode(regs, cases[i].t,
			    orders[k], D(cases[i].sm, cases[i].se), &v), 0);
			assert_dec(v, cases[i].m, cases[i].e);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words_and_names),
		cmocka_unit_test(test_decode_images),
		cmocka_unit_test(test_encode_images),
		cmocka_unit_test(test_u64_not_representable),
		cmocka_unit_test(test_nan_inf),
		cmocka_unit_test(test_put_raw),
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_encode_scaled),
		cmocka_unit_test(test_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
