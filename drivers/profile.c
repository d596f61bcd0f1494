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
	"derived", "info", NULL
};
static const char *const defaults_keys[] = { "fc", "type", "order", NULL };
static const char *const point_keys[] = {
	"name", "address", "unit", "fc", "type", "order", "scale", "note",
	"bits", "offset", "na", "enum", "enum_other", NULL
};

/* One line "PATH: WHERE: WHAT" into err; returns rc so callers can return it. */
int
pj_fail(struct ctx *c, int rc, const char *where, const char *fmt, ...)
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

/* "points[3]" + "type" -> "points[3].type"; "" + "name" -> "name". */
void
pj_subpath(char *dst, const char *where, const char *key)
{
	int n;

	if (where[0] == '\0')
		n = snprintf(dst, WHERE_MAX, "%s", key);
	else
		n = snprintf(dst, WHERE_MAX, "%s.%s", where, key);
	/* A path cut short still names the place; mark the cut. */
	if (n >= WHERE_MAX)
		dst[WHERE_MAX - 2] = '~';
}

/*
 * Copy s for an error message, as much as dst holds, anything but printable
 * ASCII as '?', so a hostile or broken file cannot split the error line.
 */
const char *
pj_shown(const char *s, char *dst, size_t dstsz)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < dstsz; i++)
		dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	dst[i] = '\0';
	return dst;
}

int
pj_check_keys(struct ctx *c, json_t *obj, const char *const *known,
    const char *where)
{
	char w[WHERE_MAX], buf[41];
	const char *key;
	json_t *val;
	size_t i;

	json_object_foreach(obj, key, val) {
		for (i = 0; known[i] != NULL; i++) {
			if (strcmp(key, known[i]) == 0)
				break;
		}
		if (known[i] == NULL) {
			pj_subpath(w, where, pj_shown(key, buf, sizeof(buf)));
			return pj_fail(c, -EINVAL, w, "unknown key");
		}
	}
	return 0;
}

static int
is_name_char(int ch, int dash_ok)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
	    ch == '_' || (dash_ok && ch == '-');
}

static int
valid_name(const char *s, int dash_ok)
{
	size_t n = strlen(s);
	size_t i;

	if (n == 0 || n > SCHEMA_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		if (!is_name_char((unsigned char)s[i], dash_ok))
			return 0;
	}
	return 1;
}

/*
 * A string member into dst (capacity dstsz, so at most dstsz - 1 bytes). No
 * control characters: these strings end up in log lines and the schema.
 * Returns 1 if absent (and not required), 0 if read, or -EINVAL.
 */
static int
get_string(struct ctx *c, json_t *obj, const char *key, const char *where,
    int required, char *dst, size_t dstsz)
{
	char w[WHERE_MAX];
	json_t *v = json_object_get(obj, key);
	const char *s;
	size_t n, i;

	pj_subpath(w, where, key);
	if (v == NULL) {
		if (required)
			return pj_fail(c, -EINVAL, w, "missing");
		return 1;
	}
	if (!json_is_string(v))
		return pj_fail(c, -EINVAL, w, "expected a string");
	s = json_string_value(v);
	n = json_string_length(v);
	if (n >= dstsz)
		return pj_fail(c, -EINVAL, w, "longer than %zu bytes", dstsz - 1);
	for (i = 0; i < n; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return pj_fail(c, -EINVAL, w, "control character");
	}
	memcpy(dst, s, n + 1);
	return 0;
}

/* Integer member in [min, max]. Returns 1 if absent and optional, 0, -EINVAL. */
int
pj_get_int(struct ctx *c, json_t *obj, const char *key, const char *where,
    int required, long long min, long long max, long long *out)
{
	char w[WHERE_MAX];
	json_t *v = json_object_get(obj, key);
	long long x = 0;

	pj_subpath(w, where, key);
	if (v == NULL) {
		if (required)
			return pj_fail(c, -EINVAL, w, "missing");
		return 1;
	}
	if (!json_is_integer(v))
		return pj_fail(c, -EINVAL, w, "expected an integer");
	x = json_integer_value(v);
	if (x < min || x > max)
		return pj_fail(c, -EINVAL, w, "%lld out of range %lld..%lld", x, min,
		    max);
	*out = x;
	return 0;
}

static int
get_fc(struct ctx *c, json_t *obj, const char *where, uint8_t *fc)
{
	char w[WHERE_MAX];
	long long x = 0;
	int rc;

	rc = pj_get_int(c, obj, "fc", where, 0, LLONG_MIN, LLONG_MAX, &x);
	if (rc != 0)
		return rc;
	if (x < 1 || x > 4) {
		pj_subpath(w, where, "fc");
		return pj_fail(c, -EINVAL, w, "%lld is not 1 (coils), 2 (discrete "
		    "inputs), 3 (holding) or 4 (input registers)", x);
	}
	*fc = (uint8_t)x;
	return 0;
}

/* "type" or "order" through its parser. 1 if absent, 0, -EINVAL. */
static int
get_enum(struct ctx *c, json_t *obj, const char *key, const char *where,
    int (*parse)(const char *, int *), int *out)
{
	char w[WHERE_MAX], buf[41];
	json_t *v = json_object_get(obj, key);

	pj_subpath(w, where, key);
	if (v == NULL)
		return 1;
	if (!json_is_string(v))
		return pj_fail(c, -EINVAL, w, "expected a string");
	if (parse(json_string_value(v), out) < 0)
		return pj_fail(c, -EINVAL, w, "unknown %s '%s'", key,
		    pj_shown(json_string_value(v), buf, sizeof(buf)));
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
get_type(struct ctx *c, json_t *obj, const char *where, enum reg_type *t)
{
	int x = 0, rc;

	rc = get_enum(c, obj, "type", where, parse_type, &x);
	if (rc == 0)
		*t = (enum reg_type)x;
	return rc;
}

static int
get_order(struct ctx *c, json_t *obj, const char *where, enum reg_order *o)
{
	int x = 0, rc;

	rc = get_enum(c, obj, "order", where, parse_order, &x);
	if (rc == 0)
		*o = (enum reg_order)x;
	return rc;
}

/* "note": free text for people, any string; not kept. */
static int
check_note(struct ctx *c, json_t *obj, const char *where)
{
	char w[WHERE_MAX];
	json_t *v = json_object_get(obj, "note");

	pj_subpath(w, where, "note");
	if (v != NULL && !json_is_string(v))
		return pj_fail(c, -EINVAL, w, "expected a string");
	return 0;
}

/*
 * JSON integers are taken exactly; other numbers arrive from jansson as a double
 * and become its shortest decimal, which is the number as written for anything
 * a profile needs (0.1 -> 1e-1, not 0.1000000000000000055...).
 */
static int
get_scale(struct ctx *c, json_t *obj, const char *where, struct dec *scale)
{
	char w[WHERE_MAX];
	json_t *v = json_object_get(obj, "scale");

	pj_subpath(w, where, "scale");
	*scale = dec_from_int(1);
	if (v == NULL)
		return 0;
	if (json_is_integer(v))
		*scale = dec_from_int(json_integer_value(v));
	else if (!json_is_real(v) ||
	    dec_from_f64(json_real_value(v), scale) < 0)
		return pj_fail(c, -EINVAL, w, "expected a number");
	if (scale->m == 0)
		return pj_fail(c, -EINVAL, w, "must not be 0");
	return 0;
}

static int
parse_defaults(struct ctx *c, json_t *root, struct defaults *d)
{
	json_t *jd = json_object_get(root, "defaults");
	int rc;

	memset(d, 0, sizeof(*d));
	d->order = RO_ABCD;
	if (jd == NULL)
		return 0;
	if (!json_is_object(jd))
		return pj_fail(c, -EINVAL, "defaults", "expected an object");
	if ((rc = pj_check_keys(c, jd, defaults_keys, "defaults")) < 0)
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
parse_point(struct ctx *c, json_t *jp, size_t i, const struct defaults *d,
    json_t *na_defaults, struct profile *p, struct profile_point *pp)
{
	unsigned max_read = p->max_read;
	char where[WHERE_MAX], w[WHERE_MAX];
	long long addr;
	unsigned words;
	int rc;

	snprintf(where, sizeof(where), "points[%zu]", i);
	if (!json_is_object(jp))
		return pj_fail(c, -EINVAL, where, "expected an object");
	if ((rc = pj_check_keys(c, jp, point_keys, where)) < 0)
		return rc;
	if ((rc = get_string(c, jp, "name", where, 1, pp->name,
	    sizeof(pp->name))) < 0)
		return rc;
	pj_subpath(w, where, "name");
	if (!valid_name(pp->name, 0))
		return pj_fail(c, -EINVAL, w, "'%s' is not [a-z0-9_]{1,%d}",
		    pp->name, SCHEMA_NAME_MAX);
	if ((rc = get_string(c, jp, "unit", where, 0, pp->unit,
	    sizeof(pp->unit))) < 0)
		return rc;
	if ((rc = check_note(c, jp, where)) < 0)
		return rc;

	pp->fc = d->fc;
	if ((rc = get_fc(c, jp, where, &pp->fc)) < 0)
		return rc;
	pj_subpath(w, where, "fc");
	if (rc == 1 && !d->has_fc)
		return pj_fail(c, -EINVAL, w, "missing (and no defaults.fc)");
	pp->type = d->type;
	if ((rc = get_type(c, jp, where, &pp->type)) < 0)
		return rc;
	pj_subpath(w, where, "type");
	if (rc == 1 && !d->has_type)
		return pj_fail(c, -EINVAL, w, "missing (and no defaults.type)");
	pp->order = d->order;
	if ((rc = get_order(c, jp, where, &pp->order)) < 0)
		return rc;
	if ((rc = get_scale(c, jp, where, &pp->scale)) < 0)
		return rc;
	/* Bits are read by FC1/FC2 only, and those read nothing but bits. */
	if ((pp->fc <= 2) != (pp->type == RT_BOOL)) {
		pj_subpath(w, where, "type");
		return pj_fail(c, -EINVAL, w, pp->fc <= 2 ?
		    "fc %u reads bits: type must be bool" :
		    "bool needs fc 1 (coils) or 2 (discrete inputs), not %u",
		    (unsigned)pp->fc);
	}
	rc = profile_parse_point_ext(c, jp, where, na_defaults == NULL ? NULL :
	    json_object_get(na_defaults, regmap_type_name(pp->type)), p, pp);
	if (rc < 0)
		return rc;

	if ((rc = pj_get_int(c, jp, "address", where, 1, 0, 65535, &addr)) < 0)
		return rc;
	words = regmap_words(pp->type);
	pj_subpath(w, where, "address");
	if (addr + words - 1 > 65535)
		return pj_fail(c, -EINVAL, w, "%s at %lld runs past register 65535",
		    regmap_type_name(pp->type), addr);
	if (words > max_read)
		return pj_fail(c, -EINVAL, w, "%s needs %u registers, max_read is %u",
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
check_points(struct ctx *c, const struct profile *p)
{
	const struct profile_point *a, *b;
	char w[WHERE_MAX];
	size_t i, j;

	for (j = 0; j < p->n_points; j++) {
		b = &p->points[j];
		for (i = 0; i < j; i++) {
			a = &p->points[i];
			if (strcmp(a->name, b->name) == 0) {
				snprintf(w, sizeof(w), "points[%zu].name", j);
				return pj_fail(c, -EINVAL, w,
				    "duplicate name '%s' (points[%zu])", b->name,
				    i);
			}
			if (overlaps(a, b) && (a->addr != b->addr ||
			    a->type != b->type)) {
				snprintf(w, sizeof(w), "points[%zu].address", j);
				return pj_fail(c, -EINVAL, w,
				    "registers overlap points[%zu] ('%s')", i,
				    a->name);
			}
		}
	}
	return 0;
}

/* Profile name: "name" must be the file name without ".json". */
static int
check_name(struct ctx *c, const char *name)
{
	const char *base = strrchr(c->path, '/');
	size_t n;

	base = base != NULL ? base + 1 : c->path;
	n = strlen(base);
	if (n > 5 && strcmp(base + n - 5, ".json") == 0)
		n -= 5;
	if (!valid_name(name, 1))
		return pj_fail(c, -EINVAL, "name", "'%s' is not [a-z0-9_-]{1,%d}",
		    name, SCHEMA_NAME_MAX);
	if (strlen(name) != n || strncmp(name, base, n) != 0)
		return pj_fail(c, -EINVAL, "name",
		    "'%s' does not match the file name", name);
	return 0;
}

static int
parse_root(struct ctx *c, json_t *root, struct profile *p)
{
	struct defaults d;
	json_t *jpoints, *na_defaults = NULL;
	long long x = 0;
	size_t i, n;
	int rc;

	if (!json_is_object(root))
		return pj_fail(c, -EINVAL, "(top)", "expected an object");
	if ((rc = pj_check_keys(c, root, top_keys, "")) < 0)
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
	if ((rc = pj_get_int(c, root, "max_read", "", 0, 1, PROFILE_READ_MAX,
	    &x)) < 0)
		return rc;
	if (rc == 0)
		p->max_read = (unsigned)x;
	p->max_gap = 0;
	if ((rc = pj_get_int(c, root, "max_gap", "", 0, 0, PROFILE_READ_MAX - 1,
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
		return pj_fail(c, -EINVAL, "points", "missing");
	if (!json_is_array(jpoints))
		return pj_fail(c, -EINVAL, "points", "expected an array");
	n = json_array_size(jpoints);
	if (n < 1 || n > PROFILE_POINTS_MAX)
		return pj_fail(c, -EINVAL, "points", "%zu points, allowed 1..%d", n,
		    PROFILE_POINTS_MAX);
	p->points = calloc(n, sizeof(*p->points));
	if (p->points == NULL)
		return pj_fail(c, -ENOMEM, "points", "out of memory");
	for (i = 0; i < n; i++) {
		rc = parse_point(c, json_array_get(jpoints, i), i, &d,
		    na_defaults, p, &p->points[i]);
		if (rc < 0)
			return rc;
		p->n_points = i + 1;
	}
	if ((rc = check_points(c, p)) < 0)
		return rc;
	if ((rc = profile_limits_load(root, p, c->path, c->err, c->errlen)) < 0)
		return rc;
	/* Before identify: its string checks name info entries. */
	if ((rc = profile_parse_info(c, root, p)) < 0)
		return rc;
	if ((rc = profile_parse_identify(c, root, p)) < 0)
		return rc;
	return profile_parse_derived(c, root, p);
}

/*
 * The whole file into memory, at most PROFILE_FILE_MAX bytes: a profile is a
 * few kilobytes, and a bound keeps a wrong path (a log, a device) from eating
 * the board's RAM. Reads one byte past the bound to notice files that grew or
 * lie about their size.
 */
static int
read_file(struct ctx *c, char **out, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	int fd, rc;

	fd = open(c->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		return pj_fail(c, rc, "open", "%s", strerror(-rc));
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		pj_fail(c, rc, "stat", "%s", strerror(-rc));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = pj_fail(c, -EINVAL, "file", "not a regular file");
		goto out;
	}
	if (st.st_size > PROFILE_FILE_MAX) {
		rc = pj_fail(c, -EFBIG, "file", "larger than %d bytes",
		    PROFILE_FILE_MAX);
		goto out;
	}
	buf = malloc(PROFILE_FILE_MAX + 1);
	if (buf == NULL) {
		rc = pj_fail(c, -ENOMEM, "file", "out of memory");
		goto out;
	}
	for (;;) {
		r = read(fd, buf + n, PROFILE_FILE_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			pj_fail(c, rc, "read", "%s", strerror(-rc));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > PROFILE_FILE_MAX) {
			rc = pj_fail(c, -EFBIG, "file", "larger than %d bytes",
			    PROFILE_FILE_MAX);
			goto out;
		}
	}
	*out = buf;
	*len = n;
	buf = NULL;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

int
profile_load(const char *path, struct profile *p, char *err, size_t errlen)
{
	struct ctx c = { path, err, errlen };
	json_error_t jerr;
	json_t *root = NULL;
	char *buf = NULL;
	char where[32], text[JSON_ERROR_TEXT_LENGTH];
	size_t len = 0;
	int rc;

	memset(p, 0, sizeof(*p));
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if ((rc = read_file(&c, &buf, &len)) < 0)
		goto out;
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		snprintf(where, sizeof(where), "%d:%d", jerr.line, jerr.column);
		rc = pj_fail(&c, -EINVAL, where, "%s",
		    pj_shown(jerr.text, text, sizeof(text)));
		goto out;
	}
	rc = parse_root(&c, root, p);
out:
	if (rc < 0)
		profile_free(p);
	json_decref(root);
	free(buf);
	return rc;
}

int
profile_load_named(const char *dir, const char *name, struct profile *p,
    char *err, size_t errlen)
{
	char path[PATH_MAX], shownbuf[41];
	int n;

	memset(p, 0, sizeof(*p));
	if (name == NULL || !valid_name(name, 1)) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "profile '%s': name must be "
			    "[a-z0-9_-]{1,%d}", pj_shown(name != NULL ? name : "",
			    shownbuf, sizeof(shownbuf)), SCHEMA_NAME_MAX);
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
