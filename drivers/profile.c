/*
 * Device profiles: JSON register maps (format in docs/profiles.md).
 *
 * A profile is written by hand, often by someone copying a vendor's PDF table, and
 * a mistake in it becomes wrong numbers on 100,000 gateways. So the loader is
 * strict: unknown keys are errors (a misspelt "adress" must not silently become
 * address 0), every value is range-checked, and each failure is one line naming
 * the file, the JSON path and the problem.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "drivers/profile.h"
#include "drivers/profile_json.h"

/* A profile is a few kilobytes; the bound keeps a wrong path (a log) out. */
#define PROFILE_FILE_MAX (1024 * 1024)

/* What "defaults" supplies to points that do not say. */
struct defaults {
	int has_fc, has_type;
	uint8_t fc;
	enum reg_type type;
	enum reg_order order;
};

static const char *const top_keys[] = {
	"name", "model", "source", "note", "defaults", "max_read", "max_gap",
	"na", "identify", "points", "max_read_bits", "turnaround_ms", "forbidden",
	"derived", "info", "writable", NULL
};
static const char *const defaults_keys[] = { "fc", "type", "order", NULL };
static const char *const point_keys[] = {
	"name", "address", "unit", "fc", "type", "order", "scale", "note",
	"bits", "offset", "na", "enum", "enum_other", NULL
};

/* Strings of a profile may be empty (a unit-less point has unit ""). */
static int
get_string(struct jc *c, json_t *obj, const char *key, const char *where,
    int required, char *dst, size_t dstsz)
{
	return jc_get_str(c, obj, where, key, JC_EMPTY_OK |
	    (required ? JC_REQUIRED : 0), dst, dstsz);
}

static int
get_fc(struct jc *c, json_t *obj, const char *where, uint8_t *fc)
{
	char w[JC_PATH_MAX];
	long long x = 0;
	int rc;

	rc = jc_get_int(c, obj, where, "fc", 0, LLONG_MIN, LLONG_MAX, &x);
	if (rc != 0)
		return rc;
	if (x < 1 || x > 4) {
		jc_path(w, where, "fc");
		return jc_fail(c, w, "%lld is not 1 (coils), 2 (discrete "
		    "inputs), 3 (holding) or 4 (input registers)", x);
	}
	*fc = (uint8_t)x;
	return 0;
}

/* "type" or "order" through its parser. 1 if absent, 0, -EINVAL. */
static int
get_enum(struct jc *c, json_t *obj, const char *key, const char *where,
    int (*parse)(const char *, int *), int *out)
{
	char w[JC_PATH_MAX], buf[41];
	json_t *v = json_object_get(obj, key);

	jc_path(w, where, key);
	if (v == NULL)
		return 1;
	if (!json_is_string(v))
		return jc_fail(c, w, "expected a string");
	if (parse(json_string_value(v), out) < 0)
		return jc_fail(c, w, "unknown %s '%s'", key,
		    jc_shown(json_string_value(v), buf, sizeof(buf)));
	return 0;
}

static int
parse_type(const char *s, int *out)
{
	enum reg_type t = RT_U16;
	int rc = regmap_type_parse(s, &t);

	*out = (int)t;
	return rc;
}

static int
parse_order(const char *s, int *out)
{
	enum reg_order o = RO_ABCD;
	int rc = regmap_order_parse(s, &o);

	*out = (int)o;
	return rc;
}

static int
get_type(struct jc *c, json_t *obj, const char *where, enum reg_type *t)
{
	int x = 0, rc;

	rc = get_enum(c, obj, "type", where, parse_type, &x);
	if (rc == 0)
		*t = (enum reg_type)x;
	return rc;
}

static int
get_order(struct jc *c, json_t *obj, const char *where, enum reg_order *o)
{
	int x = 0, rc;

	rc = get_enum(c, obj, "order", where, parse_order, &x);
	if (rc == 0)
		*o = (enum reg_order)x;
	return rc;
}

/* "note": free text for people, any string; not kept. */
static int
check_note(struct jc *c, json_t *obj, const char *where)
{
	char w[JC_PATH_MAX];
	json_t *v = json_object_get(obj, "note");

	jc_path(w, where, "note");
	if (v != NULL && !json_is_string(v))
		return jc_fail(c, w, "expected a string");
	return 0;
}

/*
 * JSON integers are taken exactly; other numbers arrive from jansson as a double
 * and become its shortest decimal, which is the number as written for anything
 * a profile needs (0.1 -> 1e-1, not 0.1000000000000000055...).
 */
static int
get_scale(struct jc *c, json_t *obj, const char *where, struct dec *scale)
{
	char w[JC_PATH_MAX];
	json_t *v = json_object_get(obj, "scale");

	jc_path(w, where, "scale");
	*scale = dec_from_int(1);
	if (v == NULL)
		return 0;
	if (json_is_integer(v))
		*scale = dec_from_int(json_integer_value(v));
	else if (!json_is_real(v) ||
	    dec_from_f64(json_real_value(v), scale) < 0)
		return jc_fail(c, w, "expected a number");
	if (scale->m == 0)
		return jc_fail(c, w, "must not be 0");
	return 0;
}

static int
parse_defaults(struct jc *c, json_t *root, struct defaults *d)
{
	json_t *jd = json_object_get(root, "defaults");
	int rc;

	memset(d, 0, sizeof(*d));
	d->order = RO_ABCD;
	if (jd == NULL)
		return 0;
	if (!json_is_object(jd))
		return jc_fail(c, "defaults", "expected an object");
	if ((rc = jc_check_keys(c, jd, "defaults", defaults_keys)) < 0)
		return rc;
	if ((rc = get_fc(c, jd, "defaults", &d->fc)) < 0)
		return rc;
	d->has_fc = rc == 0;
	if ((rc = get_type(c, jd, "defaults", &d->type)) < 0)
		return rc;
	d->has_type = rc == 0;
	if ((rc = get_order(c, jd, "defaults", &d->order)) < 0)
		return rc;
	return 0;
}

static int
parse_point(struct jc *c, json_t *jp, size_t i, const struct defaults *d,
    json_t *na_defaults, struct profile *p, struct profile_point *pp)
{
	unsigned max_read = p->max_read;
	char where[JC_PATH_MAX], w[JC_PATH_MAX];
	long long addr;
	unsigned words;
	int rc;

	snprintf(where, sizeof(where), "points[%zu]", i);
	if (!json_is_object(jp))
		return jc_fail(c, where, "expected an object");
	if ((rc = jc_check_keys(c, jp, where, point_keys)) < 0)
		return rc;
	if ((rc = get_string(c, jp, "name", where, 1, pp->name,
	    sizeof(pp->name))) < 0)
		return rc;
	jc_path(w, where, "name");
	if (!jc_name_valid(pp->name, READING_NAME_MAX, 0))
		return jc_fail(c, w, "'%s' is not [a-z0-9_]{1,%d}",
		    pp->name, READING_NAME_MAX);
	if ((rc = get_string(c, jp, "unit", where, 0, pp->unit,
	    sizeof(pp->unit))) < 0)
		return rc;
	if ((rc = check_note(c, jp, where)) < 0)
		return rc;

	pp->fc = d->fc;
	if ((rc = get_fc(c, jp, where, &pp->fc)) < 0)
		return rc;
	jc_path(w, where, "fc");
	if (rc == 1 && !d->has_fc)
		return jc_fail(c, w, "missing (and no defaults.fc)");
	pp->type = d->type;
	if ((rc = get_type(c, jp, where, &pp->type)) < 0)
		return rc;
	jc_path(w, where, "type");
	if (rc == 1 && !d->has_type)
		return jc_fail(c, w, "missing (and no defaults.type)");
	pp->order = d->order;
	if ((rc = get_order(c, jp, where, &pp->order)) < 0)
		return rc;
	if ((rc = get_scale(c, jp, where, &pp->scale)) < 0)
		return rc;
	/* Bits are read by FC1/FC2 only, and those read nothing but bits. */
	if ((pp->fc <= 2) != (pp->type == RT_BOOL)) {
		jc_path(w, where, "type");
		return jc_fail(c, w, pp->fc <= 2 ?
		    "fc %u reads bits: type must be bool" :
		    "bool needs fc 1 (coils) or 2 (discrete inputs), not %u",
		    (unsigned)pp->fc);
	}
	rc = profile_parse_point_ext(c, jp, where, na_defaults == NULL ? NULL :
	    json_object_get(na_defaults, regmap_type_name(pp->type)), p, pp);
	if (rc < 0)
		return rc;

	if ((rc = jc_get_int(c, jp, where, "address", 1, 0, 65535, &addr)) < 0)
		return rc;
	words = regmap_words(pp->type);
	jc_path(w, where, "address");
	if (addr + words - 1 > 65535)
		return jc_fail(c, w, "%s at %lld runs past register 65535",
		    regmap_type_name(pp->type), addr);
	if (words > max_read)
		return jc_fail(c, w, "%s needs %u registers, max_read is %u",
		    regmap_type_name(pp->type), words, max_read);
	pp->addr = (uint16_t)addr;
	return 0;
}

static int
overlaps(const struct profile_point *a, const struct profile_point *b)
{
	unsigned a_end = a->addr + regmap_words(a->type);
	unsigned b_end = b->addr + regmap_words(b->type);

	return a->fc == b->fc && a->addr < b_end && b->addr < a_end;
}

/*
 * Names must be unique (they are the schema's point names). Two points may read
 * the same registers only as the same value (say, one with scale 1 and one with
 * scale 0.001); a partial overlap is always a copying mistake. n <= 256, so the
 * quadratic scan costs nothing.
 */
static int
check_points(struct jc *c, const struct profile *p)
{
	const struct profile_point *a, *b;
	char w[JC_PATH_MAX];
	size_t i, j;

	for (j = 0; j < p->n_points; j++) {
		b = &p->points[j];
		for (i = 0; i < j; i++) {
			a = &p->points[i];
			if (strcmp(a->name, b->name) == 0) {
				snprintf(w, sizeof(w), "points[%zu].name", j);
				return jc_fail(c, w,
				    "duplicate name '%s' (points[%zu])", b->name,
				    i);
			}
			if (overlaps(a, b) && (a->addr != b->addr ||
			    a->type != b->type)) {
				snprintf(w, sizeof(w), "points[%zu].address", j);
				return jc_fail(c, w,
				    "registers overlap points[%zu] ('%s')", i,
				    a->name);
			}
		}
	}
	return 0;
}

/* Profile name: "name" must be the file name without ".json". */
static int
check_name(struct jc *c, const char *name)
{
	const char *base = strrchr(c->file, '/');
	size_t n;

	base = base != NULL ? base + 1 : c->file;
	n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".json") == 0)
		n -= 5;
	if (!jc_name_valid(name, READING_NAME_MAX, 1))
		return jc_fail(c, "name", "'%s' is not [a-z0-9_-]{1,%d}",
		    name, READING_NAME_MAX);
	if (strlen(name) != n || strncmp(name, base, n) != 0)
		return jc_fail(c, "name",
		    "'%s' does not match the file name", name);
	return 0;
}

static int
parse_root(struct jc *c, json_t *root, struct profile *p)
{
	struct defaults d;
	json_t *jpoints, *na_defaults = NULL;
	long long x = 0;
	size_t i, n;
	int rc;

	if (!json_is_object(root))
		return jc_fail(c, "(top)", "expected an object");
	if ((rc = jc_check_keys(c, root, "", top_keys)) < 0)
		return rc;
	if ((rc = get_string(c, root, "name", "", 1, p->name,
	    sizeof(p->name))) < 0)
		return rc;
	if ((rc = check_name(c, p->name)) < 0)
		return rc;
	if ((rc = get_string(c, root, "model", "", 1, p->model,
	    sizeof(p->model))) < 0)
		return rc;
	if ((rc = get_string(c, root, "source", "", 1, p->source,
	    sizeof(p->source))) < 0)
		return rc;
	if ((rc = check_note(c, root, "")) < 0)
		return rc;
	p->max_read = PROFILE_READ_MAX;
	if ((rc = jc_get_int(c, root, "", "max_read", 0, 1, PROFILE_READ_MAX,
	    &x)) < 0)
		return rc;
	if (rc == 0)
		p->max_read = (unsigned)x;
	p->max_gap = 0;
	if ((rc = jc_get_int(c, root, "", "max_gap", 0, 0, PROFILE_READ_MAX - 1,
	    &x)) < 0)
		return rc;
	if (rc == 0)
		p->max_gap = (unsigned)x;
	if ((rc = parse_defaults(c, root, &d)) < 0)
		return rc;
	if ((rc = profile_parse_na_defaults(c, root, &na_defaults)) < 0)
		return rc;

	jpoints = json_object_get(root, "points");
	if (jpoints == NULL)
		return jc_fail(c, "points", "missing");
	if (!json_is_array(jpoints))
		return jc_fail(c, "points", "expected an array");
	n = json_array_size(jpoints);
	if (n < 1 || n > PROFILE_POINTS_MAX)
		return jc_fail(c, "points", "%zu points, allowed 1..%d", n,
		    PROFILE_POINTS_MAX);
	p->points = calloc(n, sizeof(*p->points));
	if (p->points == NULL)
		return jc_fail_rc(c, -ENOMEM, "points", "out of memory");
	for (i = 0; i < n; i++) {
		rc = parse_point(c, json_array_get(jpoints, i), i, &d,
		    na_defaults, p, &p->points[i]);
		if (rc < 0)
			return rc;
		p->n_points = i + 1;
	}
	if ((rc = check_points(c, p)) < 0)
		return rc;
	if ((rc = profile_limits_load(root, p, c->file, c->err, c->errlen)) < 0)
		return rc;
	/* Before identify: its string checks name info entries. */
	if ((rc = profile_parse_info(c, root, p)) < 0)
		return rc;
	if ((rc = profile_parse_identify(c, root, p)) < 0)
		return rc;
	if ((rc = profile_parse_derived(c, root, p)) < 0)
		return rc;
	return profile_parse_writable(c, root, p);
}

/* A file (text NULL) or a document in memory, named path in errors. */
static int
load(const char *path, const char *text, size_t len, struct profile *p,
    char *err, size_t errlen)
{
	struct jc c = { path, err, errlen };
	json_t *root = NULL;
	int rc;

	memset(p, 0, sizeof(*p));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((rc = text != NULL ? jc_parse(&c, text, len, &root) :
	    jc_load(&c, PROFILE_FILE_MAX, &root)) == 0)
		rc = parse_root(&c, root, p);
	if (rc < 0)
		profile_free(p);
	json_decref(root);
	return rc;
}

int
profile_load(const char *path, struct profile *p, char *err, size_t errlen)
{
	return load(path, NULL, 0, p, err, errlen);
}

int
profile_parse(const char *name, const char *text, size_t len,
    struct profile *p, char *err, size_t errlen)
{
	return load(name, text, len, p, err, errlen);
}

int
profile_load_named(const char *dir, const char *name, struct profile *p,
    char *err, size_t errlen)
{
	char path[PATH_MAX], shownbuf[41];
	int n;

	memset(p, 0, sizeof(*p));
	if (name == NULL || !jc_name_valid(name, READING_NAME_MAX, 1)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "'%s': not a profile name "
			    "([a-z0-9_-]{1,%d})", jc_shown(name != NULL ? name : "",
			    shownbuf, sizeof(shownbuf)), READING_NAME_MAX);
		return -EINVAL;
	}
	n = snprintf(path, sizeof(path), "%s/%s.json", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: profile path too long", dir);
		return -ENAMETOOLONG;
	}
	return profile_load(path, p, err, errlen);
}

void
profile_free(struct profile *p)
{
	if (p == NULL)
		return;
	free(p->points);
	free(p->enums);
	memset(p, 0, sizeof(*p));
}
