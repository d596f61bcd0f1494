/*
 * Exact decimals: m * 10^e with a 64-bit mantissa. See dec.h for why.
 *
 * Binary to decimal goes through the C library's correctly rounded printf and
 * strtod/strtof rather than a hand-written Ryu or Grisu: a meter cycle converts a
 * few hundred values every 30 s, so clarity wins over speed here.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/base/dec.h"

/* Plain notation up to this many integer digits or fraction digits. */
#define PLAIN_DIGITS_MAX 21

/* Saturation bound for digit and exponent counters while parsing. */
#define PARSE_COUNT_MAX 1000000000LL

/*
 * Magnitude of a mantissa as unsigned: INT64_MIN has no positive int64, so
 * negate in unsigned arithmetic.
 */
static uint64_t
mag(int64_t m)
{
	return m < 0 ? (uint64_t)0 - (uint64_t)m : (uint64_t)m;
}

struct dec
dec_from_int(int64_t i)
{
	struct dec v = { .m = i, .e = 0 };

	return v;
}

struct dec
dec_normalize(struct dec v)
{
	if (v.m == 0) {
		v.e = 0;
		return v;
	}
	/* The exponent saturates rather than wraps; such values are out of range anyway. */
	while (v.m % 10 == 0 && v.e < INT16_MAX) {
		v.m /= 10;
		v.e++;
	}
	return v;
}

int
dec_equal(struct dec a, struct dec b)
{
	a = dec_normalize(a);
	b = dec_normalize(b);
	return a.m == b.m && a.e == b.e;
}

int
dec_in_range(struct dec v)
{
	v = dec_normalize(v);
	return v.e >= -DEC_EXP_MAX && v.e <= DEC_EXP_MAX;
}

/*
 * Multiply the mantissas with an overflow check; normalizing both operands first
 * keeps products like 1000 * 0.001 from overflowing needlessly.
 */
int
dec_mul(struct dec a, struct dec b, struct dec *out)
{
	struct dec r;
	int64_t m;
	int e;

	a = dec_normalize(a);
	b = dec_normalize(b);
	if (__builtin_mul_overflow(a.m, b.m, &m))
		return -ERANGE;
	if (m == 0) {
		*out = dec_from_int(0);
		return 0;
	}
	e = (int)a.e + (int)b.e;
	/* A product of normalized mantissas may still end in zeros (2 * 5). */
	while (m % 10 == 0) {
		m /= 10;
		e++;
	}
	if (e < -DEC_EXP_MAX || e > DEC_EXP_MAX)
		return -ERANGE;
	r.m = m;
	r.e = (int16_t)e;
	*out = r;
	return 0;
}

int
dec_add(struct dec a, struct dec b, struct dec *out)
{
	struct dec hi, lo;
	int64_t m;
	int d;

	a = dec_normalize(a);
	b = dec_normalize(b);
	if (a.m == 0 || b.m == 0) {
		*out = a.m == 0 ? b : a;
		return 0;
	}
	hi = a.e >= b.e ? a : b;
	lo = a.e >= b.e ? b : a;
	/* Bring hi down to lo's exponent, one factor of ten at a time. */
	m = hi.m;
	for (d = hi.e - lo.e; d > 0; d--) {
		if (__builtin_mul_overflow(m, 10, &m))
			return -ERANGE;
	}
	if (__builtin_add_overflow(m, lo.m, &m))
		return -ERANGE;
	hi.m = m;
	hi.e = lo.e;
	hi = dec_normalize(hi);
	if (!dec_in_range(hi))
		return -ERANGE;
	*out = hi;
	return 0;
}

/*
 * Accumulate one nonzero digit d after `zeros` pending zero digits: mag =
 * mag * 10^(zeros + 1) + d, failing on overflow. Zeros are held back so that
 * "1000...0" with more digits than fit still parses exactly as 1e<n>.
 */
static int
parse_digit(uint64_t *mg, int64_t *zeros, unsigned d)
{
	uint64_t v = *mg;
	int64_t i;

	for (i = 0; i <= *zeros; i++)
		if (__builtin_mul_overflow(v, 10, &v))
			return -ERANGE;
	if (__builtin_add_overflow(v, d, &v))
		return -ERANGE;
	*mg = v;
	*zeros = 0;
	return 0;
}

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * One pass over the text; the mantissa stays exact (never goes through a
 * double), the exponent is tracked in int64 with saturated counters so that a
 * megabyte of digits cannot overflow it.
 */
int
dec_parse(const char *s, struct dec *out)
{
	uint64_t mg = 0;
	int64_t zeros = 0, frac = 0, ex = 0, e;
	int neg = 0, eneg = 0, rc;
	struct dec v;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (!is_digit(*s))
		return -EINVAL;
	for (; is_digit(*s); s++) {
		if (*s != '0') {
			if ((rc = parse_digit(&mg, &zeros, (unsigned)(*s - '0'))) < 0)
				return rc;
		} else if (mg != 0 && zeros < PARSE_COUNT_MAX)
			zeros++;
	}
	if (*s == '.') {
		s++;
		if (!is_digit(*s))
			return -EINVAL;
		for (; is_digit(*s); s++) {
			if (frac < PARSE_COUNT_MAX)
				frac++;
			if (*s != '0') {
				if ((rc = parse_digit(&mg, &zeros, (unsigned)(*s - '0'))) < 0)
					return rc;
			} else if (mg != 0 && zeros < PARSE_COUNT_MAX)
				zeros++;
		}
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '-' || *s == '+')
			eneg = *s++ == '-';
		if (!is_digit(*s))
			return -EINVAL;
		for (; is_digit(*s); s++)
			if (ex < PARSE_COUNT_MAX)
				ex = ex * 10 + (*s - '0');
	}
	if (*s != '\0')
		return -EINVAL;
	if (mg == 0) {
		*out = dec_from_int(0);
		return 0;
	}
	if (mg > (neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX))
		return -ERANGE;
	e = (eneg ? -ex : ex) - frac + zeros;
	if (e < -DEC_EXP_MAX || e > DEC_EXP_MAX)
		return -ERANGE;
	/* mg ends in a nonzero digit (zeros are pending), so this is normalized. */
	v.m = neg ? (int64_t)((uint64_t)0 - mg) : (int64_t)mg;
	v.e = (int16_t)e;
	*out = v;
	return 0;
}

/*
 * Shortest of the correctly rounded n-digit forms that reads back to the same
 * binary value. printf and strtod are both correctly rounded in glibc and musl,
 * so the first precision that round-trips is the answer.
 */
static int
from_binary(double d, int is_f32, struct dec *out)
{
	char buf[64];
	int p, maxp = is_f32 ? 9 : 17;

	if (isnan(d) || isinf(d))
		return -EDOM;
	if (d == 0) {
		*out = dec_from_int(0);	/* -0.0 too: there is no decimal -0 */
		return 0;
	}
	for (p = 1; p <= maxp; p++) {
		snprintf(buf, sizeof(buf), "%.*e", p - 1, d);
		if (is_f32) {
			float f = (float)d, g = strtof(buf, NULL);

			if (memcmp(&f, &g, sizeof(f)) == 0)
				break;
		} else {
			double g = strtod(buf, NULL);

			if (memcmp(&d, &g, sizeof(d)) == 0)
				break;
		}
	}
	/* maxp digits always round-trip; the loop can only end by break. */
	return dec_parse(buf, out) < 0 ? -EDOM : 0;
}

int
dec_from_f32(float f, struct dec *out)
{
	return from_binary((double)f, 1, out);
}

int
dec_from_f64(double d, struct dec *out)
{
	return from_binary(d, 0, out);
}

/*
 * Plain text while it stays short (at most PLAIN_DIGITS_MAX integer digits or
 * fraction digits), else d.ddde<x>. Both forms are valid JSON numbers and are
 * accepted by dec_parse(); the longest output is well under DEC_STRLEN.
 */
int
dec_format(struct dec v, char *buf, size_t len)
{
	char dig[24], tmp[DEC_STRLEN + 16];
	int nd, x, n = 0, i;
	size_t tl;

	v = dec_normalize(v);
	nd = snprintf(dig, sizeof(dig), "%" PRIu64, mag(v.m));
	x = nd - 1 + v.e;	/* exponent of the leading digit */
	if (v.m < 0)
		tmp[n++] = '-';
	if (v.m == 0) {
		tmp[n++] = '0';
	} else if (v.e >= 0 && nd + v.e <= PLAIN_DIGITS_MAX) {
		memcpy(tmp + n, dig, (size_t)nd);
		n += nd;
		for (i = 0; i < v.e; i++)
			tmp[n++] = '0';
	} else if (v.e < 0 && -v.e <= PLAIN_DIGITS_MAX) {
		if (x >= 0) {
			memcpy(tmp + n, dig, (size_t)x + 1);
			n += x + 1;
			tmp[n++] = '.';
			memcpy(tmp + n, dig + x + 1, (size_t)(nd - x - 1));
			n += nd - x - 1;
		} else {
			tmp[n++] = '0';
			tmp[n++] = '.';
			for (i = 0; i < -x - 1; i++)
				tmp[n++] = '0';
			memcpy(tmp + n, dig, (size_t)nd);
			n += nd;
		}
	} else {
		tmp[n++] = dig[0];
		if (nd > 1) {
			tmp[n++] = '.';
			memcpy(tmp + n, dig + 1, (size_t)nd - 1);
			n += nd - 1;
		}
		n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, "e%d", x);
	}
	tmp[n] = '\0';
	tl = (size_t)n;
	if (tl + 1 > len)
		return -ENOSPC;
	memcpy(buf, tmp, tl + 1);
	return n;
}

/* Through the text: strtod is correctly rounded, so the result is too. */
double
dec_to_double(struct dec v)
{
	char buf[DEC_STRLEN];

	dec_format(v, buf, sizeof(buf));
	return strtod(buf, NULL);
}

int
dec_sub(struct dec a, struct dec b, struct dec *out)
{
	if (b.m == INT64_MIN)
		return -ERANGE;
	b.m = -b.m;
	return dec_add(a, b, out);
}
