/*
 * The profile loader, continued: bit fields, offsets, "not available" markers,
 * enums and forbidden ranges (format in docs/profiles.md). Same rules as
 * profile.c: strict, every value range-checked, one line per failure.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/profile_json.h"

/* Bits in a raw value of type t: 1 for bool, else 16 per register. */
static unsigned
type_bits(enum reg_type t)
{
	return t == RT_BOOL ? 1 : 16 * regmap_words(t);
}

static uint64_t
mask_bits(unsigned n)
{
	return n >= 64 ? UINT64_MAX : ((uint64_t)1 << n) - 1;
}

/*
 * A raw value as JSON: an integer (negative ones only for signed types, as
 * their two's complement) or a "0x..." string giving the bit pattern. bits is
 * the width it must fit; is_signed allows negatives. -EINVAL with the reason.
 */
static int
get_raw(struct jc *c, json_t *v, const char *w, unsigned bits, int is_signed,
    uint64_t *out)
{
	const char *s;
	char *end;
	long long x;
	unsigned long long u;
	size_t n;

	if (json_is_integer(v)) {
		x = json_integer_value(v);
		if (x < 0) {
			if (!is_signed || bits > 64 ||
			    (bits < 64 && x < -((long long)1 << (bits - 1))))
				return jc_fail(c, w, "%lld does not fit "
				    "%s%u bits", x, is_signed ? "signed " : "",
				    bits);
			*out = (uint64_t)x & mask_bits(bits);
			return 0;
		}
		u = (unsigned long long)x;
	} else if (json_is_string(v)) {
		s = json_string_value(v);
		n = strlen(s);
		if (n < 3 || n > 18 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
			return jc_fail(c, w, "expected an integer or "
			    "\"0x\" and 1..16 hex digits");
		errno = 0;
		u = strtoull(s + 2, &end, 16);
		if (errno != 0 || *end != '\0' || s[2] == '-' || s[2] == '+' ||
		    s[2] == ' ')
			return jc_fail(c, w, "expected an integer or "
			    "\"0x\" and 1..16 hex digits");
	} else {
		return jc_fail(c, w, "expected an integer or a \"0x\" "
		    "string");
	}
	if (bits < 64 && u > mask_bits(bits))
		return jc_fail(c, w, "%llu does not fit %u bits", u,
		    bits);
	*out = u;
	return 0;
}

/* A list of not-available markers for type t into pp (or just checked). */
static int
parse_na_list(struct jc *c, json_t *arr, const char *where, enum reg_type t,
    struct profile_point *pp)
{
	char w[JC_PATH_MAX];
	uint64_t raw;
	size_t i;
	int rc;

	if (!json_is_array(arr))
		return jc_fail(c, where, "expected an array");
	if (json_array_size(arr) > PROFILE_NA_MAX)
		return jc_fail(c, where, "%zu markers, at most %d",
		    json_array_size(arr), PROFILE_NA_MAX);
	/*
	 * Every marker: an integer taken as a float's bit pattern (1 is a
	 * denormal, not 1.0) would never match what the author meant.
	 */
	for (i = 0; regmap_is_float(t) && i < json_array_size(arr); i++) {
		if (json_is_integer(json_array_get(arr, i)))
			return jc_fail(c, where, "a %s marker is a bit "
			    "pattern: write it as \"0x...\"",
			    regmap_type_name(t));
	}
	if (pp != NULL)
		pp->n_na = 0;
	for (i = 0; i < json_array_size(arr); i++) {
		snprintf(w, sizeof(w), "%s[%zu]", where, i);
		rc = get_raw(c, json_array_get(arr, i), w, type_bits(t),
		    regmap_is_signed(t), &raw);
		if (rc < 0)
			return rc;
		if (pp != NULL)
			pp->na[pp->n_na++] = raw;
	}
	return 0;
}

int
profile_parse_na_defaults(struct jc *c, json_t *root, json_t **out)
{
	char w[JC_PATH_MAX], buf[41];
	json_t *jna = json_object_get(root, "na"), *v;
	enum reg_type t;
	const char *key;
	int rc;

	*out = NULL;
	if (jna == NULL)
		return 0;
	if (!json_is_object(jna))
		return jc_fail(c, "na", "expected an object of type "
		    "names");
	json_object_foreach(jna, key, v) {
		jc_path(w, "na", jc_shown(key, buf, sizeof(buf)));
		if (regmap_type_parse(key, &t) < 0 || t == RT_BOOL)
			return jc_fail(c, w, "not an integer or float "
			    "type");
		if ((rc = parse_na_list(c, v, w, t, NULL)) < 0)
			return rc;
	}
	*out = jna;
	return 0;
}

/* "bits": [first, last], inclusive, within an unsigned integer type. */
static int
parse_bits(struct jc *c, json_t *jp, const char *where,
    struct profile_point *pp)
{
	char w[JC_PATH_MAX];
	json_t *v = json_object_get(jp, "bits"), *a, *b;
	long long lo, hi;
	unsigned width = type_bits(pp->type);

	if (v == NULL)
		return 0;
	jc_path(w, where, "bits");
	if (pp->type != RT_U16 && pp->type != RT_U32 && pp->type != RT_U64)
		return jc_fail(c, w, "bit fields need type u16, u32 or "
		    "u64, not %s", regmap_type_name(pp->type));
	a = json_array_get(v, 0);
	b = json_array_get(v, 1);
	if (!json_is_array(v) || json_array_size(v) != 2 ||
	    !json_is_integer(a) || !json_is_integer(b))
		return jc_fail(c, w, "expected [first, last] bit "
		    "numbers");
	lo = json_integer_value(a);
	hi = json_integer_value(b);
	if (lo < 0 || lo > hi || hi >= (long long)width)
		return jc_fail(c, w, "[%lld, %lld] is not within "
		    "0..%u, first <= last", lo, hi, width - 1);
	if (hi - lo + 1 > 63)
		return jc_fail(c, w, "a field of %lld bits; at most 63",
		    hi - lo + 1);
	pp->bit_lo = (uint8_t)lo;
	pp->bit_n = (uint8_t)(hi - lo + 1);
	return 0;
}

static int
parse_offset(struct jc *c, json_t *jp, const char *where,
    struct profile_point *pp)
{
	char w[JC_PATH_MAX];
	json_t *v = json_object_get(jp, "offset");

	pp->offset = dec_from_int(0);
	if (v == NULL)
		return 0;
	jc_path(w, where, "offset");
	if (json_is_integer(v))
		pp->offset = dec_from_int(json_integer_value(v));
	else if (!json_is_real(v) ||
	    dec_from_f64(json_real_value(v), &pp->offset) < 0)
		return jc_fail(c, w, "expected a number");
	return 0;
}

/* A decimal ("-3", "65") or "0x41" enum key as a raw value. */
static int
enum_key(struct jc *c, const char *key, const char *w, unsigned bits,
    int is_signed, uint64_t *raw)
{
	json_t *tmp;
	char *end;
	long long x;
	int rc;

	if (key[0] == '0' && (key[1] == 'x' || key[1] == 'X')) {
		if ((tmp = json_string(key)) == NULL)
			return jc_fail_rc(c, -ENOMEM, w, "out of memory");
	} else {
		errno = 0;
		x = strtoll(key, &end, 10);
		if (key[0] == '\0' || *end != '\0' || errno != 0 ||
		    key[0] == ' ' || key[0] == '+')
			return jc_fail(c, w, "an enum key is a raw "
			    "value: decimal or \"0x...\"");
		if ((tmp = json_integer(x)) == NULL)
			return jc_fail_rc(c, -ENOMEM, w, "out of memory");
	}
	rc = get_raw(c, tmp, w, bits, is_signed, raw);
	json_decref(tmp);
	return rc;
}

static int
parse_enum(struct jc *c, json_t *jp, const char *where, struct profile *p,
    struct profile_point *pp)
{
	char w[JC_PATH_MAX], buf[41];
	json_t *v = json_object_get(jp, "enum"), *jo, *val;
	struct profile_enum *en;
	const char *key;
	unsigned bits = pp->bit_n != 0 ? pp->bit_n : type_bits(pp->type);
	int is_signed = pp->bit_n == 0 && regmap_is_signed(pp->type);
	size_t n, i, k;
	uint64_t raw;
	int rc;

	jo = json_object_get(jp, "enum_other");
	jc_path(w, where, "enum_other");
	if (jo != NULL && v == NULL)
		return jc_fail(c, w, "only with \"enum\"");
	if (v == NULL)
		return 0;
	if (jo != NULL) {
		if (!json_is_integer(jo))
			return jc_fail(c, w, "expected an integer");
		pp->has_enum_other = 1;
		pp->enum_other = json_integer_value(jo);
	}
	jc_path(w, where, "enum");
	if (regmap_is_float(pp->type))
		return jc_fail(c, w, "an enum needs an integer type, "
		    "not %s", regmap_type_name(pp->type));
	if (!dec_equal(pp->scale, dec_from_int(1)) ||
	    !dec_equal(pp->offset, dec_from_int(0)))
		return jc_fail(c, w, "an enum reports its own values: "
		    "no scale or offset");
	if (!json_is_object(v) || (n = json_object_size(v)) == 0 ||
	    n > PROFILE_ENUM_MAX)
		return jc_fail(c, w, "expected an object of 1..%d "
		    "\"raw\": value entries", PROFILE_ENUM_MAX);
	if (p->n_enums + n > PROFILE_ENUMS_MAX)
		return jc_fail(c, w, "more than %d enum entries in the "
		    "profile", PROFILE_ENUMS_MAX);
	en = realloc(p->enums, (p->n_enums + n) * sizeof(*en));
	if (en == NULL)
		return jc_fail_rc(c, -ENOMEM, w, "out of memory");
	p->enums = en;
	pp->enum_first = (uint16_t)p->n_enums;
	i = 0;
	json_object_foreach(v, key, val) {
		jc_path(w, where, "enum");
		snprintf(w + strlen(w), sizeof(w) - strlen(w), ".%s",
		    jc_shown(key, buf, 21));
		if ((rc = enum_key(c, key, w, bits, is_signed, &raw)) < 0)
			return rc;
		if (!json_is_integer(val))
			return jc_fail(c, w, "expected an integer");
		for (k = 0; k < i; k++) {
			if (en[p->n_enums + k].raw == raw)
				return jc_fail(c, w, "raw value %llu "
				    "given twice", (unsigned long long)raw);
		}
		en[p->n_enums + i].raw = raw;
		en[p->n_enums + i].val = json_integer_value(val);
		i++;
	}
	pp->n_enum = (uint16_t)n;
	p->n_enums += n;
	return 0;
}

int
profile_parse_point_ext(struct jc *c, json_t *jp, const char *where,
    json_t *na_default, struct profile *p, struct profile_point *pp)
{
	char w[JC_PATH_MAX];
	json_t *jna = json_object_get(jp, "na");
	int rc;

	if ((rc = parse_bits(c, jp, where, pp)) < 0 ||
	    (rc = parse_offset(c, jp, where, pp)) < 0)
		return rc;
	jc_path(w, where, "na");
	if (jna != NULL && pp->type == RT_BOOL)
		return jc_fail(c, w, "a bit has no not-available "
		    "marker");
	if (jna != NULL)
		rc = parse_na_list(c, jna, w, pp->type, pp);
	else if (na_default != NULL)
		rc = parse_na_list(c, na_default, w, pp->type, pp);
	if (rc < 0)
		return rc;
	return parse_enum(c, jp, where, p, pp);
}
