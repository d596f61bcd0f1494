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
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "drivers/profile.h"
#include "drivers/profile_json.h"

static const char *const range_keys[] = { "fc", "from", "to", "note", NULL };

/* Registers (bits) point pt occupies intersect range r? */
static int
covers(const struct profile_range *r, const struct profile_point *pt)
{
	unsigned span = plan_point_span(pt);

	return r->fc == pt->fc && r->from <= (unsigned)pt->addr + span - 1 &&
	    r->to >= pt->addr;
}

static int
parse_range(struct jc *c, const json_t *o, size_t i, const struct profile *p,
    struct profile_range *r)
{
	char where[32], w[48];
	long long fc = 0, from = 0, to = 0;
	size_t k;
	int rc;

	snprintf(where, sizeof(where), "forbidden[%zu]", i);
	if (!json_is_object(o))
		return jc_fail(c, where, "expected an object");
	if ((rc = jc_check_keys(c, (json_t *)o, where, range_keys)) < 0)
		return rc;
	if ((rc = jc_get_int(c, (json_t *)o, where, "fc", 1, 1, 4, &fc)) < 0 ||
	    (rc = jc_get_int(c, (json_t *)o, where, "from", 1, 0, 65535, &from)) < 0 ||
	    (rc = jc_get_int(c, (json_t *)o, where, "to", 1, 0, 65535, &to)) < 0)
		return rc;
	if (to < from) {
		snprintf(w, sizeof(w), "%s.to", where);
		return jc_fail(c, w, "%lld is below from (%lld)", to, from);
	}
	*r = (struct profile_range){ (uint8_t)fc, (uint16_t)from, (uint16_t)to };
	for (k = 0; k < p->n_points; k++) {
		if (covers(r, &p->points[k]))
			return jc_fail(c, where, "covers points[%zu] ('%s')",
			    k, p->points[k].name);
	}
	return 0;
}

int
profile_limits_load(const struct json_t *root, struct profile *p,
    const char *path, char *err, size_t errlen)
{
	struct jc c = { path, err, errlen };
	const json_t *arr;
	long long x = 0;
	size_t i, n;
	int rc;

	p->max_read_bits = PROFILE_BITS_MAX;
	if ((rc = jc_get_int(&c, (json_t *)root, "", "max_read_bits", 0, 1, PROFILE_BITS_MAX,
	    &x)) < 0)
		return rc;
	if (rc == 0)
		p->max_read_bits = (unsigned)x;
	p->turnaround_ms = 0;
	if ((rc = jc_get_int(&c, (json_t *)root, "", "turnaround_ms", 0, 1,
	    PROFILE_TURNAROUND_MAX, &x)) < 0)
		return rc;
	if (rc == 0)
		p->turnaround_ms = (unsigned)x;

	p->n_forbidden = 0;
	if ((arr = json_object_get(root, "forbidden")) == NULL)
		return 0;
	if (!json_is_array(arr))
		return jc_fail(&c, "forbidden", "expected an array");
	n = json_array_size(arr);
	if (n > PROFILE_FORBIDDEN_MAX)
		return jc_fail(&c, "forbidden", "%zu ranges, at most %d",
		    n, PROFILE_FORBIDDEN_MAX);
	for (i = 0; i < n; i++) {
		if ((rc = parse_range(&c, json_array_get(arr, i), i, p,
		    &p->forbidden[i])) < 0)
			return rc;
		p->n_forbidden = i + 1;
	}
	return 0;
}
