/*
 * The optional "derived" section of a profile: points the driver computes from
 * other points because the device has no register for them.
 *
 *   "derived": [{"name": "energy_session", "kind": "session_energy",
 *                "source": "energy_total", "state": "state"}]
 *
 * session_energy is the charger model's session energy for chargers without a
 * session counter (drivers/charger.c: the source counter minus its value when
 * the vehicle was connected). The loader checks what the computation relies
 * on, so a profile that would produce nonsense is refused at start: the source
 * is a plain number in an energy unit (kWh or Wh), the state an enum whose
 * values are all IEC 61851 states (1..6 = A..F).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "drivers/profile.h"
#include "drivers/profile_json.h"

static const char *const derived_keys[] = {
	"name", "kind", "source", "state", "note", NULL
};

/* The string member key of jd, required: a name or a kind (no more). */
static int
get_str(struct jc *c, json_t *jd, const char *key, const char *where,
    char dst[READING_NAME_MAX + 1])
{
	return jc_get_str(c, jd, where, key, JC_REQUIRED, dst,
	    READING_NAME_MAX + 1);
}

static int
point_ref(struct jc *c, json_t *jd, const char *key, const char *where,
    const struct profile *p, uint16_t *idx)
{
	char w[JC_PATH_MAX], s[READING_NAME_MAX + 1];
	size_t i;
	int rc;

	if ((rc = get_str(c, jd, key, where, s)) < 0)
		return rc;
	for (i = 0; i < p->n_points; i++) {
		if (strcmp(p->points[i].name, s) == 0) {
			*idx = (uint16_t)i;
			return 0;
		}
	}
	jc_path(w, where, key);
	return jc_fail(c, w, "no point '%s' in this profile", s);
}

/* An energy counter: a number (no enum, not a bit) in kWh or Wh. */
static int
check_source(struct jc *c, const char *where, const struct profile *p,
    uint16_t idx)
{
	const struct profile_point *pp = &p->points[idx];
	char w[JC_PATH_MAX];

	jc_path(w, where, "source");
	if (pp->n_enum > 0 || pp->type == RT_BOOL)
		return jc_fail(c, w, "'%s' is not a number (an enum "
		    "or a bit)", pp->name);
	if (strcmp(pp->unit, "kWh") != 0 && strcmp(pp->unit, "Wh") != 0)
		return jc_fail(c, w, "'%s' is in '%s', not an energy "
		    "counter (kWh or Wh)", pp->name, pp->unit);
	return 0;
}

/* An IEC 61851 state: an enum reporting only 1..6 (A..F). */
static int
check_state(struct jc *c, const char *where, const struct profile *p,
    uint16_t idx)
{
	const struct profile_point *pp = &p->points[idx];
	char w[JC_PATH_MAX];
	int64_t v;
	size_t k;

	jc_path(w, where, "state");
	if (pp->n_enum == 0)
		return jc_fail(c, w, "'%s' has no enum; the state "
		    "must map the device's values onto IEC 61851 1..6 (A..F)",
		    pp->name);
	for (k = 0; k < pp->n_enum; k++) {
		v = p->enums[pp->enum_first + k].val;
		if (v < 1 || v > 6)
			return jc_fail(c, w, "'%s' reports %lld, not "
			    "an IEC 61851 state 1..6 (A..F)", pp->name,
			    (long long)v);
	}
	if (pp->has_enum_other && (pp->enum_other < 1 || pp->enum_other > 6))
		return jc_fail(c, w, "'%s': enum_other %lld is not an "
		    "IEC 61851 state 1..6 (A..F)", pp->name,
		    (long long)pp->enum_other);
	return 0;
}

static int
name_taken(const struct profile *p, size_t n_derived, const char *name)
{
	size_t i;

	for (i = 0; i < p->n_points; i++)
		if (strcmp(p->points[i].name, name) == 0)
			return 1;
	for (i = 0; i < n_derived; i++)
		if (strcmp(p->derived[i].name, name) == 0)
			return 1;
	return 0;
}

static int
parse_one(struct jc *c, json_t *jd, const char *where, struct profile *p,
    size_t i)
{
	struct profile_derived *d = &p->derived[i];
	char w[JC_PATH_MAX], s[READING_NAME_MAX + 1];
	int rc;

	if ((rc = jc_check_keys(c, jd, where, derived_keys)) < 0 ||
	    (rc = get_str(c, jd, "name", where, s)) < 0)
		return rc;
	jc_path(w, where, "name");
	if (!jc_name_valid(s, READING_NAME_MAX, 0))
		return jc_fail(c, w, "'%s' is not [a-z0-9_]{1,%d}", s,
		    READING_NAME_MAX);
	if (name_taken(p, i, s))
		return jc_fail(c, w, "'%s' is already a point", s);
	snprintf(d->name, sizeof(d->name), "%s", s);
	if ((rc = get_str(c, jd, "kind", where, s)) < 0)
		return rc;
	jc_path(w, where, "kind");
	if (strcmp(s, "session_energy") != 0)
		return jc_fail(c, w, "unknown kind '%s' (known: "
		    "session_energy)", s);
	d->kind = DK_SESSION_ENERGY;
	if ((rc = point_ref(c, jd, "source", where, p, &d->source)) < 0 ||
	    (rc = check_source(c, where, p, d->source)) < 0 ||
	    (rc = point_ref(c, jd, "state", where, p, &d->state)) < 0 ||
	    (rc = check_state(c, where, p, d->state)) < 0)
		return rc;
	memcpy(d->unit, p->points[d->source].unit, sizeof(d->unit));
	return 0;
}

int
profile_parse_derived(struct jc *c, json_t *root, struct profile *p)
{
	char where[JC_PATH_MAX];
	json_t *v = json_object_get(root, "derived"), *jd;
	size_t i, n;
	int rc;

	p->n_derived = 0;
	if (v == NULL)
		return 0;
	n = json_is_array(v) ? json_array_size(v) : 0;
	if (n < 1 || n > PROFILE_DERIVED_MAX)
		return jc_fail(c, "derived", "expected an array of "
		    "1..%d derived points", PROFILE_DERIVED_MAX);
	if (p->n_points + n > PROFILE_POINTS_MAX)
		return jc_fail(c, "derived", "more than %d points with "
		    "the derived ones", PROFILE_POINTS_MAX);
	for (i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "derived[%zu]", i);
		jd = json_array_get(v, i);
		if (!json_is_object(jd))
			return jc_fail(c, where, "expected an object "
			    "{\"name\", \"kind\", \"source\", \"state\"}");
		if ((rc = parse_one(c, jd, where, p, i)) < 0)
			return rc;
		p->n_derived = i + 1;
	}
	return 0;
}
