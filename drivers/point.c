/*
 * A profile point's registers <-> its reading.
 *
 * Order of the steps, and why:
 *   1. the raw bits of the whole value, gathered in the point's word/byte order;
 *   2. "not available" markers compare against those raw bits, before anything
 *      else: 0xFFFF means "no value" whatever field or scale the point has, and
 *      a marker such as 0x7FFFFFFF must never become 2147483647 W;
 *   3. a bit field takes its bits out of the raw value (unsigned);
 *   4. an enum maps the (field's) raw value to the value wattgate reports, or
 *      the reading is invalid: an undocumented state is not a number to plot;
 *   5. otherwise the raw value becomes a number (NaN/inf: invalid) and
 *      value = number * scale + offset, exactly (struct dec).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "drivers/profile.h"

static uint64_t
field_mask(unsigned n)
{
	return n >= 64 ? UINT64_MAX : ((uint64_t)1 << n) - 1;
}

/* 10^k as int64, or 0 if it does not fit. */
static int64_t
pow10_i64(unsigned k)
{
	int64_t p = 1;

	while (k-- > 0) {
		if (__builtin_mul_overflow(p, 10, &p))
			return 0;
	}
	return p;
}

int
profile_point_decode(const struct profile *p, const struct profile_point *pp,
    const uint16_t *regs, struct dec *out)
{
	const struct profile_enum *en;
	uint64_t raw;
	struct dec v;
	size_t i;
	int rc;

	if (regmap_words(pp->type) == 0 || regs == NULL || out == NULL)
		return -EINVAL;
	raw = regmap_gather(regs, pp->type, pp->order);
	for (i = 0; i < pp->n_na; i++) {
		if (raw == pp->na[i])
			return -ENODATA;
	}
	if (pp->bit_n != 0)
		raw = (raw >> pp->bit_lo) & field_mask(pp->bit_n);
	if (pp->n_enum != 0 || pp->has_enum_other) {
		for (i = 0; i < pp->n_enum; i++) {
			en = &p->enums[pp->enum_first + i];
			if (en->raw == raw) {
				*out = dec_from_int(en->val);
				return 0;
			}
		}
		if (!pp->has_enum_other)
			return -ENOENT;
		*out = dec_from_int(pp->enum_other);
		return 0;
	}
	if (pp->bit_n != 0)
		v = dec_from_int((int64_t)raw);	/* bit_n <= 63 by the loader */
	else if ((rc = regmap_interpret(raw, pp->type, &v)) < 0)
		return rc;
	if ((rc = dec_mul(v, pp->scale, &v)) < 0)
		return rc;
	return dec_add(v, pp->offset, out);
}

/* The integer value of v, if it is one. */
static int
dec_to_int(struct dec v, int64_t *out)
{
	int64_t f;

	v = dec_normalize(v);
	if (v.e < 0)
		return -EINVAL;
	if ((f = pow10_i64((unsigned)v.e)) == 0 ||
	    __builtin_mul_overflow(v.m, f, out))
		return -ERANGE;
	return 0;
}

int
profile_point_encode(const struct profile *p, const struct profile_point *pp,
    struct dec v, uint16_t *regs)
{
	const struct profile_enum *en = NULL;
	uint16_t tmp[4];
	struct dec w, neg_off = pp->offset;
	uint64_t raw, cur, mask;
	int64_t iv;
	size_t i;
	int rc;

	if (regmap_words(pp->type) == 0 || regs == NULL)
		return -EINVAL;
	if (pp->n_enum != 0 || pp->has_enum_other) {
		if ((rc = dec_to_int(v, &iv)) < 0)
			return rc;
		for (i = 0; i < pp->n_enum && en == NULL; i++) {
			if (p->enums[pp->enum_first + i].val == iv)
				en = &p->enums[pp->enum_first + i];
		}
		if (en == NULL)
			return -EINVAL;
		raw = en->raw;
	} else {
		/* Checked before negating: -INT64_MIN is undefined. */
		if (neg_off.m == INT64_MIN)
			return -ERANGE;
		neg_off.m = -neg_off.m;
		if ((rc = dec_add(v, neg_off, &w)) < 0)
			return -ERANGE;
		if (pp->bit_n == 0)
			return regmap_encode(w, pp->type, pp->order, pp->scale,
			    regs);
		/* The field's unsigned value, through the u64 encoder. */
		if ((rc = regmap_encode(w, RT_U64, RO_ABCD, pp->scale, tmp)) < 0)
			return rc;
		raw = regmap_gather(tmp, RT_U64, RO_ABCD);
	}
	if (pp->bit_n == 0) {
		regmap_scatter(raw, pp->type, pp->order, regs);
		return 0;
	}
	mask = field_mask(pp->bit_n);
	if (raw > mask)
		return -ERANGE;
	cur = regmap_gather(regs, pp->type, pp->order);
	cur = (cur & ~(mask << pp->bit_lo)) | (raw << pp->bit_lo);
	regmap_scatter(cur, pp->type, pp->order, regs);
	return 0;
}

int
profile_point_encode_na(const struct profile_point *pp, uint16_t *regs)
{
	if (pp->n_na > 0) {
		regmap_scatter(pp->na[0], pp->type, pp->order, regs);
		return 0;
	}
	if (pp->type == RT_F32) {
		regmap_put_f32(NAN, pp->order, regs);
		return 0;
	}
	if (pp->type == RT_F64) {
		regmap_put_f64(NAN, pp->order, regs);
		return 0;
	}
	return -ENOENT;
}

int
profile_read_allowed(const struct profile *p, uint8_t fc, uint16_t addr,
    uint16_t count)
{
	const struct profile_range *r;
	uint32_t last = (uint32_t)addr + count - 1;
	size_t i;

	if (count == 0)
		return 1;
	for (i = 0; i < p->n_forbidden; i++) {
		r = &p->forbidden[i];
		if (r->fc == fc && addr <= r->to && last >= r->from)
			return 0;
	}
	return 1;
}
