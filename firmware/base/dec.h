/*
 * Exact decimal values: every reading wattgate carries is m * 10^e.
 *
 * Why not double: a meter's f32 register holding 230.4 is 230.399993896484375 as a
 * double, and a platform wants "230.4". Converting each register value once, at poll
 * time, to the shortest decimal that reads back to the same register bits keeps the
 * value lossless (the receiver can rebuild the exact f32) while making it both
 * readable and compact on the wire (23041 * 10^-2 is a 3-byte varint).
 *
 * Pure functions, no I/O, no allocation.
 */
#ifndef WG_DEC_H
#define WG_DEC_H

#include <stddef.h>
#include <stdint.h>

struct dec {
	int64_t m;	/* mantissa */
	int16_t e;	/* decimal exponent */
};

/* Longest text dec_format() writes, with its NUL. */
#define DEC_STRLEN 48

/*
 * Exponent range of a normalized value that the codec produces and accepts:
 * |e| <= DEC_EXP_MAX covers every f64 (4.9e-324 .. 1.8e308) with room to spare.
 * dec_parse() and dec_mul() return -ERANGE beyond it; batch_encode_body()
 * refuses such readings (-EINVAL) and batch_decode() such values (-EBADMSG).
 */
#define DEC_EXP_MAX 400

/*
 * Shortest decimal that converts back (round to nearest) to exactly f / d,
 * normalized; -0.0 gives 0. -EDOM for NaN or infinity (*out untouched).
 */
int dec_from_f32(float f, struct dec *out);
int dec_from_f64(double d, struct dec *out);

/* Exact integer, as {i, 0} (not normalized). */
struct dec dec_from_int(int64_t i);

/*
 * Exact product, normalized; -ERANGE if the mantissa would not fit in int64 or
 * the exponent leaves [-DEC_EXP_MAX, DEC_EXP_MAX] (*out untouched then).
 */
int dec_mul(struct dec a, struct dec b, struct dec *out);

/*
 * Exact sum, normalized; -ERANGE if the mantissa would not fit in int64 at the
 * smaller exponent or the result leaves the exponent range (*out untouched).
 */
int dec_add(struct dec a, struct dec b, struct dec *out);
/* a - b exactly; -ERANGE if it does not fit. */
int dec_sub(struct dec a, struct dec b, struct dec *out);

/* Strip trailing zeros of the mantissa (12300e-2 -> 123e0); 0 becomes 0e0. */
struct dec dec_normalize(struct dec v);

/* Nearest double (for display and comparisons, not for the wire). */
double dec_to_double(struct dec v);

/*
 * Plain decimal text, no exponent notation where it stays short ("230.4",
 * "-0.015", "12000"); exponent notation ("1.5e-30", "1e25") beyond 21 integer
 * or 21 fraction digits. Always valid JSON number text that dec_parse() reads
 * back; 0 is "0" (never "-0"). Returns the length written (without the NUL),
 * or -ENOSPC if len is too small; DEC_STRLEN is always enough.
 */
int dec_format(struct dec v, char *buf, size_t len);

/*
 * Parse "[-]digits[.digits][e[+-]digits]" exactly ('E' accepted too, as in
 * JSON), into a normalized value. -EINVAL on anything else (including leading
 * blanks and trailing bytes), -ERANGE if the mantissa does not fit in int64 or
 * the exponent leaves [-DEC_EXP_MAX, DEC_EXP_MAX].
 */
int dec_parse(const char *s, struct dec *out);

/* a == b as numbers (1.50 == 1.5). */
int dec_equal(struct dec a, struct dec b);

/* 1 if the normalized exponent of v is within [-DEC_EXP_MAX, DEC_EXP_MAX]. */
int dec_in_range(struct dec v);

#endif
