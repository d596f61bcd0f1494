/*
 * Schema documents: canonical JSON through jansson, id = CRC-32 of the text.
 *
 * The parser is strict (unknown keys, wrong types, duplicate names are errors):
 * a schema is written once per configuration by our own code, so anything odd
 * in it is a bug worth hearing about, and the platform must never guess what
 * a dev/point index means.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zlib.h>

#include "firmware/base/jcheck.h"
#include "firmware/codec/batch.h"
#include "firmware/codec/schema.h"

#define SCHEMA_VERSION	1
#define SCHEMA_IDX_MAX	65536	/* devices, and points per device: uint16 indexes */

struct perr {
	char *buf;
	size_t len;
};

__attribute__((format(printf, 2, 3)))
static int
fail(struct perr *pe, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (pe->len == 0)
		return -EBADMSG;
	n = snprintf(pe->buf, pe->len, "schema: ");
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < pe->len)
		vsnprintf(pe->buf + n, pe->len - (size_t)n, fmt, ap);
	va_end(ap);
	return -EBADMSG;
}

/* What get_text() refuses, for put_text() to refuse the same. */
static int
text_bad(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s), i;

	if (n < min || n > max)
		return 1;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

/*
 * A name or unit, by the rules of every JSON parser (firmware/base/jcheck.h):
 * a string of min..max bytes without control characters. The error is
 * "schema: PATH: WHAT" like any other; the codec answers -EBADMSG.
 */
static int
get_text(json_t *obj, const char *key, char *dst, size_t min, size_t max,
    const char *where, struct perr *pe)
{
	struct jc x = { "schema", pe->buf, pe->len };

	if (jc_get_str(&x, obj, where, key, JC_REQUIRED | (min == 0 ? JC_EMPTY_OK :
	    0), dst, max + 1) < 0)
		return -EBADMSG;
	return 0;
}

/* Every key of obj must be one of keys (NULL-terminated). */
static int
only_keys(json_t *obj, const char *const *keys, const char *where,
    struct perr *pe)
{
	struct jc x = { "schema", pe->buf, pe->len };

	return jc_check_keys(&x, obj, where, keys) < 0 ? -EBADMSG : 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * Names n[0], n[stride], ... must differ: sort pointers to them, compare
 * neighbours. Returns the duplicate or NULL; -ENOMEM through *rc.
 */
static const char *
find_duplicate(const char *first, size_t count, size_t stride, int *rc)
{
	const char **p, *dup = NULL;
	size_t i;

	*rc = 0;
	if (count < 2)
		return NULL;
	if ((p = calloc(count, sizeof(*p))) == NULL) {
		*rc = -ENOMEM;
		return NULL;
	}
	for (i = 0; i < count; i++)
		p[i] = first + i * stride;
	qsort(p, count, sizeof(*p), cmp_str);
	for (i = 1; i < count && dup == NULL; i++)
		if (strcmp(p[i - 1], p[i]) == 0)
			dup = p[i];
	free(p);
	return dup;
}

static int
parse_point(json_t *jp, struct schema_point *p, const char *where,
    struct perr *pe)
{
	static const char *const keys[] = { "name", "unit", NULL };
	int rc;

	if (!json_is_object(jp))
		return fail(pe, "%s: expected an object", where);
	if ((rc = only_keys(jp, keys, where, pe)) < 0 ||
	    (rc = get_text(jp, "name", p->name, 1, SCHEMA_NAME_MAX, where, pe)) < 0 ||
	    (rc = get_text(jp, "unit", p->unit, 0, SCHEMA_UNIT_MAX, where, pe)) < 0)
		return rc;
	return 0;
}

static int
parse_device(json_t *jd, struct schema_device *d, const char *where,
    struct perr *pe)
{
	static const char *const keys[] = { "name", "points", "profile", NULL };
	char pw[96];
	json_t *pts;
	const char *dup;
	size_t i;
	int rc;

	if (!json_is_object(jd))
		return fail(pe, "%s: expected an object", where);
	if ((rc = only_keys(jd, keys, where, pe)) < 0 ||
	    (rc = get_text(jd, "name", d->name, 1, SCHEMA_NAME_MAX, where, pe)) < 0 ||
	    (rc = get_text(jd, "profile", d->profile, 1, SCHEMA_NAME_MAX, where,
	    pe)) < 0)
		return rc;
	if ((pts = json_object_get(jd, "points")) == NULL)
		return fail(pe, "%s.points: missing", where);
	if (!json_is_array(pts))
		return fail(pe, "%s.points: expected an array", where);
	if (json_array_size(pts) > SCHEMA_IDX_MAX)
		return fail(pe, "%s.points: more than %d", where, SCHEMA_IDX_MAX);
	if (json_array_size(pts) > 0 &&
	    (d->points = calloc(json_array_size(pts), sizeof(*d->points))) == NULL)
		return -ENOMEM;
	d->n_points = json_array_size(pts);
	for (i = 0; i < d->n_points; i++) {
		snprintf(pw, sizeof(pw), "%s.points[%zu]", where, i);
		if ((rc = parse_point(json_array_get(pts, i), &d->points[i], pw,
		    pe)) < 0)
			return rc;
	}
	dup = find_duplicate(d->n_points ? d->points[0].name : NULL, d->n_points,
	    sizeof(*d->points), &rc);
	if (rc < 0)
		return rc;
	if (dup != NULL)
		return fail(pe, "%s.points: duplicate name \"%s\"", where, dup);
	return 0;
}

static int
parse_root(json_t *root, struct schema *s, struct perr *pe)
{
	static const char *const keys[] = { "devices", "gateway", "version", NULL };
	json_t *v, *devs;
	const char *dup;
	char where[32];
	size_t i;
	int rc;

	if (!json_is_object(root))
		return fail(pe, "top level: expected an object");
	if ((rc = only_keys(root, keys, "", pe)) < 0)
		return rc;
	if ((v = json_object_get(root, "version")) == NULL)
		return fail(pe, "version: missing");
	if (!json_is_integer(v) || json_integer_value(v) != SCHEMA_VERSION)
		return fail(pe, "version: not %d", SCHEMA_VERSION);
	if ((rc = get_text(root, "gateway", s->gateway, 1, BATCH_GW_MAX, "", pe)) < 0)
		return rc;
	if (!batch_gw_valid(s->gateway))
		return fail(pe, "gateway: not [A-Za-z0-9._-]");
	if ((devs = json_object_get(root, "devices")) == NULL)
		return fail(pe, "devices: missing");
	if (!json_is_array(devs))
		return fail(pe, "devices: expected an array");
	if (json_array_size(devs) > SCHEMA_IDX_MAX)
		return fail(pe, "devices: more than %d", SCHEMA_IDX_MAX);
	if (json_array_size(devs) > 0 &&
	    (s->devices = calloc(json_array_size(devs), sizeof(*s->devices))) == NULL)
		return -ENOMEM;
	s->n_devices = json_array_size(devs);
	for (i = 0; i < s->n_devices; i++) {
		snprintf(where, sizeof(where), "devices[%zu]", i);
		if ((rc = parse_device(json_array_get(devs, i), &s->devices[i],
		    where, pe)) < 0)
			return rc;
	}
	dup = find_duplicate(s->n_devices ? s->devices[0].name : NULL,
	    s->n_devices, sizeof(*s->devices), &rc);
	if (rc < 0)
		return rc;
	if (dup != NULL)
		return fail(pe, "devices: duplicate name \"%s\"", dup);
	return 0;
}

int
schema_from_json(const char *json, size_t len, struct schema *s,
    uint32_t *id, char *err, size_t errlen)
{
	struct perr pe = { .buf = err, .len = errlen };
	json_error_t je;
	json_t *root;
	int rc;

	memset(s, 0, sizeof(*s));
	if (errlen > 0)
		err[0] = '\0';
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		struct jc x = { "schema", err, errlen };

		jc_parse_error(&x, &je);
		return -EBADMSG;
	}
	rc = parse_root(root, s, &pe);
	json_decref(root);
	if (rc == -ENOMEM)
		fail(&pe, "out of memory");
	if (rc < 0) {
		schema_free(s);
		return rc;
	}
	*id = (uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)json,
	    (uInt)len);
	return 0;
}

/* One member, or -ENOMEM; json_object_set_new takes the reference either way. */
static int
put(json_t *obj, const char *key, json_t *v)
{
	return v != NULL && json_object_set_new(obj, key, v) == 0 ? 0 : -ENOMEM;
}

/*
 * A name or unit by the rules schema_from_json() enforces. json_string()
 * also refuses invalid UTF-8: that is -EINVAL (its only other failure is a
 * tiny allocation).
 */
static int
put_text(json_t *obj, const char *key, const char *s, size_t min, size_t max)
{
	json_t *v;

	if (memchr(s, '\0', max + 1) == NULL || text_bad(s, min, max))
		return -EINVAL;
	if ((v = json_string(s)) == NULL)
		return -EINVAL;
	return put(obj, key, v);
}

static int
build_device(const struct schema_device *d, json_t **out)
{
	json_t *jd = json_object(), *pts = json_array(), *jp;
	size_t i;
	int rc = -ENOMEM;

	if (jd == NULL || pts == NULL)
		goto out;
	if (d->n_points > SCHEMA_IDX_MAX) {
		rc = -EINVAL;
		goto out;
	}
	if ((rc = put_text(jd, "name", d->name, 1, SCHEMA_NAME_MAX)) < 0 ||
	    (rc = put_text(jd, "profile", d->profile, 1, SCHEMA_NAME_MAX)) < 0)
		goto out;
	for (i = 0; i < d->n_points; i++) {
		if ((jp = json_object()) == NULL || json_array_append_new(pts, jp)) {
			rc = -ENOMEM;
			goto out;
		}
		if ((rc = put_text(jp, "name", d->points[i].name, 1,
		    SCHEMA_NAME_MAX)) < 0 ||
		    (rc = put_text(jp, "unit", d->points[i].unit, 0,
		    SCHEMA_UNIT_MAX)) < 0)
			goto out;
	}
	rc = put(jd, "points", pts);
	pts = NULL;
out:
	json_decref(pts);
	if (rc < 0) {
		json_decref(jd);
		jd = NULL;
	}
	*out = jd;
	return rc;
}

/*
 * Canonical text: compact, keys sorted, so the same schema always gives the
 * same bytes and the same id on every gateway and on the platform.
 */
int
schema_to_json(const struct schema *s, char **json, uint32_t *id)
{
	json_t *root = json_object(), *devs = json_array(), *jd;
	char *text = NULL;
	size_t i;
	int rc = -ENOMEM;

	if (root == NULL || devs == NULL)
		goto out;
	if (!batch_gw_valid(s->gateway) || s->n_devices > SCHEMA_IDX_MAX) {
		rc = -EINVAL;
		goto out;
	}
	for (i = 0; i < s->n_devices; i++) {
		if ((rc = build_device(&s->devices[i], &jd)) < 0)
			goto out;
		if (json_array_append_new(devs, jd) != 0) {
			rc = -ENOMEM;
			goto out;
		}
	}
	if ((rc = put(root, "devices", devs)) < 0 ||
	    (rc = put(root, "gateway", json_string(s->gateway))) < 0 ||
	    (rc = put(root, "version", json_integer(SCHEMA_VERSION))) < 0) {
		devs = NULL;
		goto out;
	}
	devs = NULL;
	if ((text = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	*id = (uint32_t)crc32(crc32(0L, Z_NULL, 0), (const Bytef *)text,
	    (uInt)strlen(text));
	*json = text;
	rc = 0;
out:
	json_decref(devs);
	json_decref(root);
	return rc;
}

void
schema_free(struct schema *s)
{
	size_t i;

	for (i = 0; i < s->n_devices; i++)
		free(s->devices[i].points);
	free(s->devices);
	memset(s, 0, sizeof(*s));
}
