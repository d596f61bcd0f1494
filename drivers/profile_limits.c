/*
 * The request-limit keys of a profile: what the planner must respect beyond
 * max_read and max_gap (format in docs/profiles.md).
 *
 *   "max_read_bits": 1..2000        coils/discrete inputs per FC1/FC2 read
 *   "turnaround_ms": 1..1000        the device's documented response delay
 *   "forbidden": [{"fc": 3, "from": 100, "to": 199, "note": "..."}, ...]
 *
 * Forbidden ranges are registers no read may touch: some devices answer a read
 * that spans unmapped registers with an exception, which would cost every point
 * of that read. A range that covers a point is refused: the point could never
 * be read, and the profile is wrong in one of the two places.
 *
 * Same strictness and error form as profile.c ("PATH: WHERE: WHAT").
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "drivers/profile.h"

struct lctx {
	const char *path;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 4, 5)))
static int
fail(struct lctx *c, int rc, const char *where, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	if (c->err == NULL || c->errlen == 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "%s: %s: %s", c->path, where, what);
	return rc;
}

/* Integer member key of obj in [min, max]; 1 if absent, 0, or -EINVAL. */
static int
get_int(struct lctx *c, const json_t *obj, const char *key, const char *where,
    long long min, long long max, long long *out)
{
	char w[64];
	json_t *v = json_object_get(obj, key);
	long long x;

	snprintf(w, sizeof(w), "%s%s%s", where, where[0] != '\0' ? "." : "",
	    key);
	if (v == NULL)
		return 1;
	if (!json_is_integer(v))
		return fail(c, -EINVAL, w, "expected an integer");
	x = json_integer_value(v);
	if (x < min || x > max)
		return fail(c, -EINVAL, w, "%lld out of range %lld..%lld", x,
		    min, max);
	*out = x;
	return 0;
}

/* Registers (bits) point pt occupies intersect range r? */
static int
covers(const struct profile_range *r, const struct profile_point *pt)
{
	unsigned span = plan_point_span(pt);

	return r->fc == pt->fc && r->from <= (unsigned)pt->addr + span - 1 &&
	    r->to >= pt->addr;
}

static int
parse_range(struct lctx *c, const json_t *o, size_t i, const struct profile *p,
    struct profile_range *r)
{
	char where[32], w[48];
	const char *key;
	json_t *val;
	long long fc = 0, from = 0, to = 0;
	size_t k;
	int rc;

	snprintf(where, sizeof(where), "forbidden[%zu]", i);
	if (!json_is_object(o))
		return fail(c, -EINVAL, where, "expected an object");
	json_object_foreach((json_t *)o, key, val) {
		if (strcmp(key, "fc") != 0 && strcmp(key, "from") != 0 &&
		    strcmp(key, "to") != 0 && strcmp(key, "note") != 0) {
			snprintf(w, sizeof(w), "%s.%.12s%s", where, key,
			    strlen(key) > 12 ? "~" : "");
			for (k = strlen(where) + 1; w[k] != '\0'; k++)
				if ((unsigned char)w[k] < 0x20 || w[k] == 0x7f)
					w[k] = '?';
			return fail(c, -EINVAL, w, "unknown key");
		}
	}
	if ((rc = get_int(c, o, "fc", where, 1, 4, &fc)) < 0 ||
	    (rc == 0 && (rc = get_int(c, o, "from", where, 0, 65535, &from)) < 0) ||
	    (rc == 0 && (rc = get_int(c, o, "to", where, 0, 65535, &to)) < 0))
		return rc;
	if (rc == 1) {
		snprintf(w, sizeof(w), "%s.%s", where,
		    json_object_get(o, "fc") == NULL ? "fc" :
		    json_object_get(o, "from") == NULL ? "from" : "to");
		return fail(c, -EINVAL, w, "missing");
	}
	if (to < from) {
		snprintf(w, sizeof(w), "%s.to", where);
		return fail(c, -EINVAL, w, "%lld is below from (%lld)", to, from);
	}
	*r = (struct profile_range){ (uint8_t)fc, (uint16_t)from, (uint16_t)to };
	for (k = 0; k < p->n_points; k++) {
		if (covers(r, &p->points[k]))
			return fail(c, -EINVAL, where, "covers points[%zu] ('%s')",
			    k, p->points[k].name);
	}
	return 0;
}

int
profile_limits_load(const struct json_t *root, struct profile *p,
    const char *path, char *err, size_t errlen)
{
	struct lctx c = { path, err, errlen };
	const json_t *arr;
	long long x = 0;
	size_t i, n;
	int rc;

	p->max_read_bits = PROFILE_BITS_MAX;
	if ((rc = get_int(&c, root, "max_read_bits", "", 1, PROFILE_BITS_MAX,
	    &x)) < 0)
		return rc;
	if (rc == 0)
		p->max_read_bits = (unsigned)x;
	p->turnaround_ms = 0;
	if ((rc = get_int(&c, root, "turnaround_ms", "", 1,
	    PROFILE_TURNAROUND_MAX, &x)) < 0)
		return rc;
	if (rc == 0)
		p->turnaround_ms = (unsigned)x;

	p->n_forbidden = 0;
	if ((arr = json_object_get(root, "forbidden")) == NULL)
		return 0;
	if (!json_is_array(arr))
		return fail(&c, -EINVAL, "forbidden", "expected an array");
	n = json_array_size(arr);
	if (n > PROFILE_FORBIDDEN_MAX)
		return fail(&c, -EINVAL, "forbidden", "%zu ranges, at most %d",
		    n, PROFILE_FORBIDDEN_MAX);
	for (i = 0; i < n; i++) {
		if ((rc = parse_range(&c, json_array_get(arr, i), i, p,
		    &p->forbidden[i])) < 0)
			return rc;
		p->n_forbidden = i + 1;
	}
	return 0;
}
