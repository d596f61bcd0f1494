/*
 * The optional "identify" section of a profile: what `wattgate scan` checks to
 * tell this device from others that answer the same registers.
 *
 *   "identify": [{"point": "voltage_l1", "min": 80, "max": 300}, ...]
 *
 * Each check names a point of the profile and the range its value must lie in
 * on a real device (a mains voltage, a grid frequency, a model code register
 * with min = max). A different device's registers decoded with this map are
 * almost never all plausible: an SDM630's f32 voltage read as an EM24's
 * scaled i32 is about 10^8 V.
 *
 * A check may instead compare an info string (profile_info.c) exactly:
 *
 *   {"info": "model", "equals": "P30"}
 *
 * for devices that name themselves in a register.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "drivers/profile.h"
#include "drivers/profile_json.h"

static const char *const check_keys[] = { "point", "min", "max", NULL };
static const char *const info_check_keys[] = { "info", "equals", NULL };

/* {"info": NAME, "equals": STRING}: NAME from the info section. */
static int
info_check(struct jc *c, json_t *jc, const char *where,
    const struct profile *p, struct profile_check *k)
{
	char w[JC_PATH_MAX], shown[40];
	json_t *v = json_object_get(jc, "info"), *e;
	const struct profile_info *pi = NULL;
	size_t i, n;
	int rc;

	if ((rc = jc_check_keys(c, jc, where, info_check_keys)) < 0)
		return rc;
	jc_path(w, where, "info");
	if (!json_is_string(v))
		return jc_fail(c, w, "expected the name of an info "
		    "entry");
	for (i = 0; i < p->n_info; i++) {
		if (strcmp(p->info[i].name, json_string_value(v)) == 0) {
			pi = &p->info[i];
			break;
		}
	}
	if (pi == NULL)
		return jc_fail(c, w, "no info '%s' in this profile",
		    jc_shown(json_string_value(v), shown, sizeof(shown)));
	k->info = (int)i;
	jc_path(w, where, "equals");
	e = json_object_get(jc, "equals");
	if (e == NULL)
		return jc_fail(c, w, "missing");
	if (!json_is_string(e))
		return jc_fail(c, w, "expected a string");
	n = json_string_length(e);
	if (n == 0 || n > 2u * pi->len)
		return jc_fail(c, w, "expected 1..%u characters (the "
		    "info's %u registers)", 2u * pi->len, pi->len);
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)json_string_value(e)[i];

		if (ch < 0x20 || ch >= 0x7f)
			return jc_fail(c, w, "not printable ASCII");
	}
	/* Decoding drops trailing blanks, so such a check could never match. */
	if (json_string_value(e)[n - 1] == ' ')
		return jc_fail(c, w, "ends in a blank (strings are "
		    "compared with trailing blanks dropped)");
	memcpy(k->equals, json_string_value(e), n + 1);
	return 0;
}

static int
get_bound(struct jc *c, json_t *jc, const char *key, const char *where,
    double *out)
{
	char w[JC_PATH_MAX];
	json_t *v = json_object_get(jc, key);

	jc_path(w, where, key);
	if (v == NULL)
		return jc_fail(c, w, "missing");
	if (!json_is_number(v) || !isfinite(json_number_value(v)))
		return jc_fail(c, w, "expected a number");
	*out = json_number_value(v);
	return 0;
}

static int
find_point(struct jc *c, json_t *jc, const char *where,
    const struct profile *p, uint16_t *idx)
{
	char w[JC_PATH_MAX], shown[40];
	json_t *v = json_object_get(jc, "point");
	size_t i;

	jc_path(w, where, "point");
	if (v == NULL)
		return jc_fail(c, w, "missing");
	if (!json_is_string(v))
		return jc_fail(c, w, "expected a point name");
	for (i = 0; i < p->n_points; i++) {
		if (strcmp(p->points[i].name, json_string_value(v)) == 0) {
			*idx = (uint16_t)i;
			return 0;
		}
	}
	return jc_fail(c, w, "no point '%s' in this profile",
	    jc_shown(json_string_value(v), shown, sizeof(shown)));
}

int
profile_parse_identify(struct jc *c, json_t *root, struct profile *p)
{
	char where[JC_PATH_MAX];
	json_t *v = json_object_get(root, "identify"), *jc;
	struct profile_check *k;
	size_t i, n;
	int rc;

	p->n_identify = 0;
	if (v == NULL)
		return 0;
	n = json_is_array(v) ? json_array_size(v) : 0;
	if (n < 1 || n > PROFILE_IDENTIFY_MAX)
		return jc_fail(c, "identify", "expected an array of "
		    "1..%d checks", PROFILE_IDENTIFY_MAX);
	for (i = 0; i < n; i++) {
		snprintf(where, sizeof(where), "identify[%zu]", i);
		jc = json_array_get(v, i);
		if (!json_is_object(jc))
			return jc_fail(c, where, "expected an object "
			    "{\"point\", \"min\", \"max\"} or {\"info\", \"equals\"}");
		k = &p->identify[i];
		memset(k, 0, sizeof(*k));
		k->info = -1;
		if (json_object_get(jc, "info") != NULL) {
			if ((rc = info_check(c, jc, where, p, k)) < 0)
				return rc;
			p->n_identify = i + 1;
			continue;
		}
		if ((rc = jc_check_keys(c, jc, where, check_keys)) < 0 ||
		    (rc = find_point(c, jc, where, p, &k->point)) < 0 ||
		    (rc = get_bound(c, jc, "min", where, &k->min)) < 0 ||
		    (rc = get_bound(c, jc, "max", where, &k->max)) < 0)
			return rc;
		if (k->max < k->min)
			return jc_fail(c, where, "max is below min");
		p->n_identify = i + 1;
	}
	return 0;
}
