/*
 * The optional "writable" section of a profile: setpoints the gateway may
 * write, such as a charger's current limit (format in docs/profiles.md).
 *
 *   "writable": [{"name": "current_limit", "address": 261, "fc": 16,
 *                 "type": "u16", "scale": 0.1, "unit": "A",
 *                 "min": 6, "max": 16, "step": 0.1,
 *                 "readback": {"address": 261, "fc": 3},
 *                 "measured": ["current_l1", "current_l2", "current_l3"]}]
 *
 * A wrong number here does not give a wrong reading but a wrong current on a
 * real car's cable, so the loader refuses more than it does for points: the
 * bounds must be exact multiples of the step and encodable in the register,
 * FC6 (one register) only for 16-bit types, and the points that show whether
 * the device follows must exist and be numbers. Values are exact decimals
 * throughout (firmware/base/dec.h): 6.1 A with a 0.1 A step is on the step,
 * which a double could not promise.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "drivers/profile.h"
#include "drivers/profile_json.h"

static const char *const writable_keys[] = {
	"name", "address", "fc", "type", "order", "unit", "scale", "min", "max",
	"step", "readback", "measured", "refresh_s", "note", NULL
};
static const char *const readback_keys[] = {
	"address", "fc", "type", "order", "scale", "note", NULL
};

/* A number as an exact decimal: integers exactly, others shortest. 1 absent. */
static int
get_dec(struct jc *c, json_t *o, const char *where, const char *key,
    int required, struct dec *out)
{
	char w[JC_PATH_MAX];
	json_t *v = json_object_get(o, key);

	jc_path(w, where, key);
	if (v == NULL)
		return required ? jc_fail(c, w, "missing") : 1;
	if (json_is_integer(v))
		*out = dec_normalize(dec_from_int(json_integer_value(v)));
	else if (!json_is_real(v) || dec_from_f64(json_real_value(v), out) < 0)
		return jc_fail(c, w, "expected a number");
	return 0;
}

/* "type" and "order" by regmap's names; 1 if absent. */
static int
get_type(struct jc *c, json_t *o, const char *where, enum reg_type *t)
{
	char w[JC_PATH_MAX], s[8], shown[41];
	int rc;

	rc = jc_get_str(c, o, where, "type", 0, s, sizeof(s));
	if (rc != 0)
		return rc;
	jc_path(w, where, "type");
	if (regmap_type_parse(s, t) < 0 || *t == RT_BOOL)
		return jc_fail(c, w, "unknown type '%s' (u16 i16 u32 i32 u64 "
		    "i64 f32 f64)", jc_shown(s, shown, sizeof(shown)));
	return 0;
}

static int
get_order(struct jc *c, json_t *o, const char *where, enum reg_order *ord)
{
	char w[JC_PATH_MAX], s[8], shown[41];
	int rc;

	rc = jc_get_str(c, o, where, "order", 0, s, sizeof(s));
	if (rc != 0)
		return rc;
	jc_path(w, where, "order");
	if (regmap_order_parse(s, ord) < 0)
		return jc_fail(c, w, "unknown order '%s'",
		    jc_shown(s, shown, sizeof(shown)));
	return 0;
}

static int
get_scale(struct jc *c, json_t *o, const char *where, struct dec *scale)
{
	char w[JC_PATH_MAX];
	int rc;

	if ((rc = get_dec(c, o, where, "scale", 0, scale)) < 0)
		return rc;
	if (rc == 1)
		*scale = dec_from_int(1);
	jc_path(w, where, "scale");
	if (scale->m == 0)
		return jc_fail(c, w, "must not be 0");
	return 0;
}

/* The register's whole value fits below 65536. */
static int
check_end(struct jc *c, const char *where, long long addr, enum reg_type t)
{
	char w[JC_PATH_MAX];

	jc_path(w, where, "address");
	if (addr + regmap_words(t) - 1 > 65535)
		return jc_fail(c, w, "%s at %lld runs past register 65535",
		    regmap_type_name(t), addr);
	return 0;
}

/*
 * "readback": where the set value can be read again. Absent: the same
 * registers with FC3 (the holding register that was written).
 */
static int
parse_readback(struct jc *c, json_t *jw, const char *where,
    const struct profile *p, struct writable *w)
{
	char rw[JC_PATH_MAX], x[JC_PATH_MAX];
	json_t *o = json_object_get(jw, "readback");
	long long v;
	int rc;

	w->rb_fc = 3;
	w->rb_addr = w->addr;
	w->rb_type = w->type;
	w->rb_order = w->order;
	w->rb_scale = w->scale;
	jc_path(rw, where, "readback");
	if (o != NULL) {
		if (!json_is_object(o))
			return jc_fail(c, rw, "expected an object");
		if ((rc = jc_check_keys(c, o, rw, readback_keys)) < 0)
			return rc;
		if ((rc = jc_get_int(c, o, rw, "address", 1, 0, 65535, &v)) < 0)
			return rc;
		w->rb_addr = (uint16_t)v;
		if ((rc = jc_get_int(c, o, rw, "fc", 0, 3, 4, &v)) < 0)
			return rc;
		if (rc == 0)
			w->rb_fc = (uint8_t)v;
		if ((rc = get_type(c, o, rw, &w->rb_type)) < 0 ||
		    (rc = get_order(c, o, rw, &w->rb_order)) < 0 ||
		    (rc = get_scale(c, o, rw, &w->rb_scale)) < 0 ||
		    (rc = check_end(c, rw, w->rb_addr, w->rb_type)) < 0)
			return rc;
	}
	if (regmap_words(w->rb_type) > p->max_read)
		return jc_fail(c, rw, "%s needs %u registers, max_read is %u",
		    regmap_type_name(w->rb_type), regmap_words(w->rb_type),
		    p->max_read);
	if (!profile_read_allowed(p, w->rb_fc, w->rb_addr,
	    (uint16_t)regmap_words(w->rb_type))) {
		jc_path(x, rw, "address");
		return jc_fail(c, x, "in a forbidden range");
	}
	return 0;
}

/* "measured": 1..3 readable number points that show the device following. */
static int
parse_measured(struct jc *c, json_t *jw, const char *where,
    const struct profile *p, struct writable *w)
{
	char mw[JC_PATH_MAX], x[JC_PATH_MAX + 8], shown[41];
	json_t *a = json_object_get(jw, "measured"), *e;
	const struct profile_point *pp;
	size_t i, k, n;

	w->n_measured = 0;
	if (a == NULL)
		return 0;
	jc_path(mw, where, "measured");
	n = json_is_array(a) ? json_array_size(a) : 0;
	if (n < 1 || n > WRITABLE_MEASURED_MAX)
		return jc_fail(c, mw, "expected an array of 1..%d point names",
		    WRITABLE_MEASURED_MAX);
	for (i = 0; i < n; i++) {
		snprintf(x, sizeof(x), "%s[%zu]", mw, i);
		e = json_array_get(a, i);
		if (!json_is_string(e))
			return jc_fail(c, x, "expected a point name");
		for (k = 0; k < p->n_points; k++)
			if (strcmp(p->points[k].name, json_string_value(e)) == 0)
				break;
		if (k == p->n_points)
			return jc_fail(c, x, "no point '%s' in this profile",
			    jc_shown(json_string_value(e), shown,
			    sizeof(shown)));
		pp = &p->points[k];
		if (pp->n_enum > 0 || pp->type == RT_BOOL)
			return jc_fail(c, x, "'%s' is not a number (an enum or "
			    "a bit)", pp->name);
		w->measured[i] = (uint16_t)k;
		w->n_measured = (uint8_t)(i + 1);
	}
	return 0;
}

static int
dec_cmp(struct dec a, struct dec b)
{
	struct dec d;

	if (dec_sub(a, b, &d) < 0)	/* far apart: doubles order them */
		return dec_to_double(a) < dec_to_double(b) ? -1 : 1;
	return d.m < 0 ? -1 : d.m > 0;
}

/* 1 if a is an integral multiple of b (b > 0), else 0. */
static int
dec_multiple(struct dec a, struct dec b)
{
	a = dec_normalize(a);
	b = dec_normalize(b);
	if (a.m == 0)
		return 1;
	/* Align exponents down to the smaller; overflow: not a multiple. */
	while (a.e > b.e) {
		if (a.m > INT64_MAX / 10 || a.m < INT64_MIN / 10)
			return 0;
		a.m *= 10;
		a.e--;
	}
	while (b.e > a.e) {
		if (b.m > INT64_MAX / 10)
			return 0;
		b.m *= 10;
		b.e--;
	}
	return a.m % b.m == 0;
}

/* v with the writable's unit, for messages: "12.5 A". */
static const char *
shown(const struct writable *w, struct dec v, char *buf, size_t len)
{
	char d[DEC_STRLEN];

	if (dec_format(v, d, sizeof(d)) < 0)
		snprintf(d, sizeof(d), "?");
	snprintf(buf, len, "%s%s%s", d, w->unit[0] != '\0' ? " " : "", w->unit);
	return buf;
}

int
writable_check(const struct writable *w, struct dec v, char *why,
    size_t whylen)
{
	char a[DEC_STRLEN + 24], b[DEC_STRLEN + 24], c[DEC_STRLEN + 24];
	struct dec off;

	if (dec_cmp(v, w->min) < 0) {
		snprintf(why, whylen, "%s below the minimum %s",
		    shown(w, v, a, sizeof(a)), shown(w, w->min, b, sizeof(b)));
		return -ERANGE;
	}
	if (dec_cmp(v, w->max) > 0) {
		snprintf(why, whylen, "%s above the maximum %s",
		    shown(w, v, a, sizeof(a)), shown(w, w->max, b, sizeof(b)));
		return -ERANGE;
	}
	if (dec_sub(v, w->min, &off) < 0 || !dec_multiple(off, w->step)) {
		snprintf(why, whylen, "%s is not a multiple of the %s step "
		    "from %s", shown(w, v, a, sizeof(a)),
		    shown(w, w->step, b, sizeof(b)),
		    shown(w, w->min, c, sizeof(c)));
		return -ERANGE;
	}
	return 0;
}

int
writable_encode_dec(const struct writable *w, struct dec v, uint16_t *regs,
    int *n_regs, char *why, size_t whylen)
{
	char a[DEC_STRLEN + 24];
	int rc;

	if ((rc = writable_check(w, v, why, whylen)) < 0)
		return rc;
	if ((rc = regmap_encode(v, w->type, w->order, w->scale, regs)) < 0) {
		snprintf(why, whylen, "%s does not fit the register (%s)",
		    shown(w, v, a, sizeof(a)), regmap_type_name(w->type));
		return rc;
	}
	*n_regs = (int)regmap_words(w->type);
	return 0;
}

int
writable_encode(const struct writable *w, double value, uint16_t *regs,
    int *n_regs, char *why, size_t whylen)
{
	struct dec v;

	if (dec_from_f64(value, &v) < 0) {
		snprintf(why, whylen, "not a number");
		return -EDOM;
	}
	return writable_encode_dec(w, v, regs, n_regs, why, whylen);
}

int
writable_decode(const struct writable *w, const uint16_t *regs,
    struct dec *out)
{
	return regmap_decode(regs, w->type, w->order, w->scale, out);
}

int
writable_decode_readback(const struct writable *w, const uint16_t *regs,
    struct dec *out)
{
	return regmap_decode(regs, w->rb_type, w->rb_order, w->rb_scale, out);
}

/*
 * The bounds: min < max, step > 0, max - min a whole number of steps, and
 * min, max and step each encodable in the register (an integer register with
 * scale 0.1 cannot take a 0.05 step). A bound that is not on the register's
 * grid would be refused at the first command instead of at start.
 */
static int
check_bounds(struct jc *c, const char *where, struct writable *w)
{
	char x[JC_PATH_MAX], why[160];
	uint16_t regs[4];
	struct dec span;
	static const char *const keys[] = { "min", "max", "step" };
	const struct dec *vals[] = { &w->min, &w->max, &w->step };
	size_t i;

	jc_path(x, where, "max");
	if (dec_cmp(w->min, w->max) >= 0) {
		char a[DEC_STRLEN + 24];

		return jc_fail(c, x, "%s is not above min (%s)", shown(w,
		    w->max, why, sizeof(why)), shown(w, w->min, a, sizeof(a)));
	}
	jc_path(x, where, "step");
	if (w->step.m <= 0)
		return jc_fail(c, x, "must be above 0");
	if (dec_sub(w->max, w->min, &span) < 0 || !dec_multiple(span,
	    w->step)) {
		char a[DEC_STRLEN + 24];

		return jc_fail(c, x, "max - min (%s) is not a multiple of %s",
		    shown(w, span, why, sizeof(why)), shown(w, w->step, a,
		    sizeof(a)));
	}
	for (i = 0; i < 3; i++) {
		jc_path(x, where, keys[i]);
		if (regmap_encode(*vals[i], w->type, w->order, w->scale,
		    regs) < 0)
			return jc_fail(c, x, "%s cannot be written as %s with "
			    "scale %g", shown(w, *vals[i], why, sizeof(why)),
			    regmap_type_name(w->type),
			    dec_to_double(w->scale));
	}
	return 0;
}

static int
parse_one(struct jc *c, json_t *jw, const char *where, struct profile *p,
    struct writable *w)
{
	char x[JC_PATH_MAX];
	long long v;
	size_t k;
	int rc;

	if ((rc = jc_check_keys(c, jw, where, writable_keys)) < 0 ||
	    (rc = jc_get_str(c, jw, where, "name", JC_REQUIRED, w->name,
	    sizeof(w->name))) < 0)
		return rc;
	jc_path(x, where, "name");
	if (!jc_name_valid(w->name, READING_NAME_MAX, 0))
		return jc_fail(c, x, "'%s' is not [a-z0-9_]{1,%d}", w->name,
		    READING_NAME_MAX);
	for (k = 0; k < p->n_writable; k++)
		if (strcmp(p->writable[k].name, w->name) == 0)
			return jc_fail(c, x, "duplicate name '%s' "
			    "(writable[%zu])", w->name, k);
	if ((rc = jc_get_str(c, jw, where, "unit", JC_EMPTY_OK, w->unit,
	    sizeof(w->unit))) < 0)
		return rc;
	if ((rc = jc_get_int(c, jw, where, "address", 1, 0, 65535, &v)) < 0)
		return rc;
	w->addr = (uint16_t)v;
	if ((rc = jc_get_int(c, jw, where, "fc", 1, 0, 255, &v)) < 0)
		return rc;
	jc_path(x, where, "fc");
	if (v != 6 && v != 16)
		return jc_fail(c, x, "%lld is not 6 (write single register) or "
		    "16 (write multiple registers)", v);
	w->fc = (uint8_t)v;
	jc_path(x, where, "type");
	if ((rc = get_type(c, jw, where, &w->type)) < 0)
		return rc;
	if (rc == 1)
		return jc_fail(c, x, "missing");
	if (w->fc == 6 && regmap_words(w->type) != 1)
		return jc_fail(c, x, "%s is %u registers; fc 6 writes one "
		    "(use fc 16)", regmap_type_name(w->type),
		    regmap_words(w->type));
	w->order = RO_ABCD;
	if ((rc = get_order(c, jw, where, &w->order)) < 0 ||
	    (rc = get_scale(c, jw, where, &w->scale)) < 0 ||
	    (rc = check_end(c, where, w->addr, w->type)) < 0 ||
	    (rc = get_dec(c, jw, where, "min", 1, &w->min)) < 0 ||
	    (rc = get_dec(c, jw, where, "max", 1, &w->max)) < 0 ||
	    (rc = get_dec(c, jw, where, "step", 1, &w->step)) < 0 ||
	    (rc = check_bounds(c, where, w)) < 0 ||
	    (rc = parse_readback(c, jw, where, p, w)) < 0)
		return rc;
	/* A device that forgets a setpoint not written again in time. */
	if ((rc = jc_get_uint(c, jw, where, "refresh_s", 0, 1, 3600,
	    &w->refresh_s)) < 0)
		return rc;
	return parse_measured(c, jw, where, p, w);
}

int
profile_parse_writable(struct jc *c, json_t *root, struct profile *p)
{
	char where[JC_PATH_MAX];
	json_t *v = json_object_get(root, "writable"), *jw;
	size_t i, n;
	int rc;

	p->n_writable = 0;
	if (v == NULL)
		return 0;
	n = json_is_array(v) ? json_array_size(v) : 0;
	if (n < 1 || n > PROFILE_WRITABLE_MAX)
		return jc_fail(c, "writable", "expected an array of 1..%d "
		    "writable points", PROFILE_WRITABLE_MAX);
	for (i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "writable[%zu]", i);
		jw = json_array_get(v, i);
		if (!json_is_object(jw))
			return jc_fail(c, where, "expected an object");
		memset(&p->writable[i], 0, sizeof(p->writable[i]));
		if ((rc = parse_one(c, jw, where, p, &p->writable[i])) < 0)
			return rc;
		p->n_writable = i + 1;
	}
	return 0;
}

const struct writable *
profile_writable(const struct profile *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n_writable; i++)
		if (strcmp(p->writable[i].name, name) == 0)
			return &p->writable[i];
	return NULL;
}
