/*
 * Register decoding: Modbus register images <-> exact decimals.
 *
 * Every type is first gathered into a 64-bit big-endian integer (byte A most
 * significant), whatever its width, and only then interpreted. The four orders
 * are two independent swaps, so one loop serves every width:
 *   word swap (CDAB, DCBA): the registers come least significant first; for
 *     64-bit types the whole sequence of four registers is reversed (GH EF CD AB),
 *     the usual "little-endian word order" of meters that store u64 counters;
 *   byte swap (BADC, DCBA): the two bytes inside each register are exchanged.
 * A 16-bit value has a single register, so only the byte swap applies to it.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "drivers/regmap.h"

static const char *const type_names[] = {
	[RT_U16] = "u16", [RT_I16] = "i16", [RT_U32] = "u32", [RT_I32] = "i32",
	[RT_U64] = "u64", [RT_I64] = "i64", [RT_F32] = "f32", [RT_F64] = "f64",
	[RT_BOOL] = "bool",
};

static const char *const order_names[] = {
	[RO_ABCD] = "ABCD", [RO_CDAB] = "CDAB", [RO_BADC] = "BADC",
	[RO_DCBA] = "DCBA",
};

#define N_TYPES (sizeof(type_names) / sizeof(type_names[0]))
#define N_ORDERS (sizeof(order_names) / sizeof(order_names[0]))

unsigned
regmap_words(enum reg_type t)
{
	switch (t) {
	case RT_U16:
	case RT_I16:
	case RT_BOOL:
		return 1;
	case RT_U32:
	case RT_I32:
	case RT_F32:
		return 2;
	case RT_U64:
	case RT_I64:
	case RT_F64:
		return 4;
	}
	return 0;
}

int
regmap_type_parse(const char *s, enum reg_type *t)
{
	size_t i;

	for (i = 0; s != NULL && i < N_TYPES; i++) {
		if (strcmp(s, type_names[i]) == 0) {
			*t = (enum reg_type)i;
			return 0;
		}
	}
	return -EINVAL;
}

int
regmap_order_parse(const char *s, enum reg_order *o)
{
	size_t i;

	for (i = 0; s != NULL && i < N_ORDERS; i++) {
		if (strcmp(s, order_names[i]) == 0) {
			*o = (enum reg_order)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *
regmap_type_name(enum reg_type t)
{
	return (unsigned)t < N_TYPES ? type_names[t] : "?";
}

const char *
regmap_order_name(enum reg_order o)
{
	return (unsigned)o < N_ORDERS ? order_names[o] : "?";
}

static int
word_swapped(enum reg_order o)
{
	return o == RO_CDAB || o == RO_DCBA;
}

static int
byte_swapped(enum reg_order o)
{
	return o == RO_BADC || o == RO_DCBA;
}

static uint16_t
swap16(uint16_t w)
{
	return (uint16_t)((w << 8) | (w >> 8));
}

/* Registers -> big-endian integer of n words (n = 1, 2 or 4). */
static uint64_t
gather(const uint16_t *regs, unsigned n, enum reg_order o)
{
	uint64_t raw = 0;
	unsigned i;
	uint16_t w;

	for (i = 0; i < n; i++) {
		w = regs[word_swapped(o) ? n - 1 - i : i];
		if (byte_swapped(o))
			w = swap16(w);
		raw = (raw << 16) | w;
	}
	return raw;
}

/* The inverse of gather(). */
static void
scatter(uint64_t raw, unsigned n, enum reg_order o, uint16_t *regs)
{
	unsigned i;
	uint16_t w;

	for (i = 0; i < n; i++) {
		w = (uint16_t)(raw >> (16 * (n - 1 - i)));
		if (byte_swapped(o))
			w = swap16(w);
		regs[word_swapped(o) ? n - 1 - i : i] = w;
	}
}

/*
 * A u64 above INT64_MAX does not fit the int64 mantissa of struct dec. It is
 * still exact when it ends in decimal zeros (18446744073709551610 is
 * 1844674407370955161e1); otherwise -ERANGE rather than a rounded value, since
 * every value wattgate forwards is exact by contract.
 */
static int
u64_to_dec(uint64_t u, struct dec *out)
{
	int16_t e = 0;

	while (u > (uint64_t)INT64_MAX) {
		if (u % 10 != 0)
			return -ERANGE;
		u /= 10;
		e++;
	}
	out->m = (int64_t)u;
	out->e = e;
	return 0;
}

int
regmap_is_signed(enum reg_type t)
{
	return t == RT_I16 || t == RT_I32 || t == RT_I64;
}

int
regmap_is_float(enum reg_type t)
{
	return t == RT_F32 || t == RT_F64;
}

uint64_t
regmap_gather(const uint16_t *regs, enum reg_type t, enum reg_order o)
{
	if (t == RT_BOOL)
		return regs[0] != 0;
	return gather(regs, regmap_words(t), o);
}

void
regmap_scatter(uint64_t raw, enum reg_type t, enum reg_order o, uint16_t *regs)
{
	if (t == RT_BOOL) {
		regs[0] = raw != 0;
		return;
	}
	scatter(raw, regmap_words(t), o, regs);
}

int
regmap_interpret(uint64_t raw, enum reg_type t, struct dec *out)
{
	uint32_t u32;
	float f;
	double d;

	switch (t) {
	case RT_BOOL:
	case RT_U16:
	case RT_U32:
		*out = dec_from_int((int64_t)raw);
		return 0;
	case RT_I16:
		*out = dec_from_int((int16_t)raw);
		return 0;
	case RT_I32:
		*out = dec_from_int((int32_t)raw);
		return 0;
	case RT_I64:
		*out = dec_from_int((int64_t)raw);
		return 0;
	case RT_U64:
		return u64_to_dec(raw, out);
	case RT_F32:
		u32 = (uint32_t)raw;
		memcpy(&f, &u32, sizeof(f));
		return dec_from_f32(f, out);
	case RT_F64:
		memcpy(&d, &raw, sizeof(d));
		return dec_from_f64(d, out);
	}
	return -EINVAL;
}

int
regmap_decode(const uint16_t *regs, enum reg_type t, enum reg_order o,
    struct dec scale, struct dec *out)
{
	struct dec v;
	int rc;

	if (regmap_words(t) == 0 || (unsigned)o >= N_ORDERS || regs == NULL ||
	    out == NULL)
		return -EINVAL;
	if ((rc = regmap_interpret(regmap_gather(regs, t, o), t, &v)) < 0)
		return rc;
	return dec_mul(v, scale, out);
}

int
regmap_string(const uint16_t *regs, unsigned n, enum reg_order o, char *out,
    size_t outlen)
{
	size_t len = 0;
	unsigned i;
	uint16_t w;
	char ch[2];
	int k, done = 0;

	if (regs == NULL || out == NULL || n == 0 || (unsigned)o >= N_ORDERS)
		return -EINVAL;
	if (outlen < 2 * (size_t)n + 1)
		return -ENOSPC;
	for (i = 0; i < n && !done; i++) {
		w = regs[word_swapped(o) ? n - 1 - i : i];
		if (byte_swapped(o))
			w = swap16(w);
		ch[0] = (char)(w >> 8);
		ch[1] = (char)(w & 0xff);
		for (k = 0; k < 2; k++) {
			if (ch[k] == '\0') {
				done = 1;
				break;
			}
			if (ch[k] < 0x20 || ch[k] > 0x7e)
				return -EILSEQ;
			out[len++] = ch[k];
		}
	}
	while (len > 0 && out[len - 1] == ' ')
		len--;
	out[len] = '\0';
	return (int)len;
}

static uint64_t
gcd_u64(uint64_t a, uint64_t b)
{
	uint64_t t;

	while (b != 0) {
		t = a % b;
		a = b;
		b = t;
	}
	return a;
}

static uint64_t
abs_u64(int64_t m)
{
	return m < 0 ? (uint64_t)0 - (uint64_t)m : (uint64_t)m;
}

/*
 * v / scale as an exact integer, given as magnitude and sign: the simulator must
 * serve the very register value a meter would hold, so a quotient that is not
 * integral is an error (-EINVAL), not something to round. Magnitudes beyond
 * 2^64 - 1 are -ERANGE. Only 64-bit arithmetic, so it builds for 32-bit ARM too
 * (no __int128 there).
 *
 * With v = a * 10^ve and scale = b * 10^be (both normalized):
 *   ve >= be: q = a * 10^(ve-be) / b. After removing gcd(a, b), b must divide
 *     10^(ve-be); c = 10^(ve-be) / b is built one factor of ten at a time,
 *     dividing out what b still shares with it, so c only grows and can be
 *     checked against overflow as it goes. q = a * c.
 *   ve < be:  q = a / (b * 10^(be-ve)); a denominator beyond 2^64 is larger
 *     than any non-zero a, so the quotient cannot be integral.
 */
static int
quotient_int(struct dec v, struct dec scale, uint64_t *mag, int *neg)
{
	uint64_t a, b, g, c, den;
	int32_t de;

	v = dec_normalize(v);
	scale = dec_normalize(scale);
	if (scale.m == 0)
		return -EINVAL;
	*neg = 0;
	if (v.m == 0) {
		*mag = 0;
		return 0;
	}
	*neg = (v.m < 0) != (scale.m < 0);
	a = abs_u64(v.m);
	b = abs_u64(scale.m);
	de = (int32_t)v.e - (int32_t)scale.e;
	if (de >= 0) {
		g = gcd_u64(a, b);
		a /= g;
		b /= g;
		c = 1;
		for (; de > 0; de--) {
			if (__builtin_mul_overflow(c, 10, &c))
				return -ERANGE;
			g = gcd_u64(c, b);
			c /= g;
			b /= g;
		}
		if (b != 1)
			return -EINVAL;
		if (__builtin_mul_overflow(a, c, mag))
			return -ERANGE;
		return 0;
	}
	den = b;
	for (; de < 0; de++) {
		if (__builtin_mul_overflow(den, 10, &den))
			return -EINVAL;
	}
	if (a % den != 0)
		return -EINVAL;
	*mag = a / den;
	return 0;
}

/* Two's complement bit pattern of a signed magnitude, if it fits in bits. */
static int
fit_signed(uint64_t mag, int neg, unsigned bits, uint64_t *raw)
{
	uint64_t lim = (uint64_t)1 << (bits - 1);

	if (neg ? mag > lim : mag >= lim)
		return -ERANGE;
	*raw = neg ? (uint64_t)0 - mag : mag;
	if (bits < 64)
		*raw &= ((uint64_t)1 << bits) - 1;
	return 0;
}

static int
fit_unsigned(uint64_t mag, int neg, unsigned bits, uint64_t *raw)
{
	if (neg && mag != 0)
		return -ERANGE;
	if (bits < 64 && mag >> bits != 0)
		return -ERANGE;
	*raw = mag;
	return 0;
}

/*
 * v / scale as a double for the float types. A scale that is a power of ten
 * (the usual 0.1, 0.01, 1000) only moves the exponent, which keeps the quotient
 * exact until the single rounding in dec_to_double(); other scales divide two
 * doubles.
 */
static double
quotient_real(struct dec v, struct dec scale)
{
	struct dec s = dec_normalize(scale);
	int32_t e;

	v = dec_normalize(v);
	e = (int32_t)v.e - (int32_t)s.e;
	if ((s.m == 1 || (s.m == -1 && v.m != INT64_MIN)) && e >= INT16_MIN &&
	    e <= INT16_MAX) {
		v.e = (int16_t)e;
		v.m = s.m < 0 ? -v.m : v.m;
		return dec_to_double(v);
	}
	return dec_to_double(v) / dec_to_double(s);
}

int
regmap_encode(struct dec v, enum reg_type t, enum reg_order o,
    struct dec scale, uint16_t *regs)
{
	unsigned n = regmap_words(t);
	uint64_t mag, raw;
	double d;
	float f;
	uint32_t u32;
	int neg, rc;

	if (n == 0 || (unsigned)o >= N_ORDERS || regs == NULL || scale.m == 0)
		return -EINVAL;
	if (regmap_is_float(t)) {
		d = quotient_real(v, scale);
		if (t == RT_F32) {
			f = (float)d;
			if (!isfinite(f))
				return -ERANGE;
			memcpy(&u32, &f, sizeof(u32));
			raw = u32;
		} else {
			if (!isfinite(d))
				return -ERANGE;
			memcpy(&raw, &d, sizeof(raw));
		}
		scatter(raw, n, o, regs);
		return 0;
	}
	if ((rc = quotient_int(v, scale, &mag, &neg)) < 0)
		return rc;
	switch (t) {
	case RT_BOOL:
		rc = fit_unsigned(mag, neg, 1, &raw);
		break;
	case RT_U16:
	case RT_U32:
	case RT_U64:
		rc = fit_unsigned(mag, neg, 16 * n, &raw);
		break;
	default:
		rc = fit_signed(mag, neg, 16 * n, &raw);
		break;
	}
	if (rc < 0)
		return rc;
	regmap_scatter(raw, t, o, regs);
	return 0;
}

void
regmap_put_f32(float f, enum reg_order o, uint16_t *regs)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	scatter(u, 2, o, regs);
}

void
regmap_put_f64(double d, enum reg_order o, uint16_t *regs)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	scatter(u, 4, o, regs);
}
