#include "firmware/base/jcheck.h"

#include "firmware/base/rfile.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 3, 0)))
static void
vfail(struct jc *x, const char *path, const char *fmt, va_list ap)
{
	char what[256];

	if (x->err == NULL || x->errlen == 0)
		return;
	vsnprintf(what, sizeof(what), fmt, ap);
	snprintf(x->err, x->errlen, "%s: %s: %s", x->file, path, what);
}

int
jc_fail(struct jc *x, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(x, path, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int
jc_fail_rc(struct jc *x, int rc, const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(x, path, fmt, ap);
	va_end(ap);
	return rc;
}

int
jc_parse_error(struct jc *x, const json_error_t *e)
{
	char text[JSON_ERROR_TEXT_LENGTH];

	jc_shown(e->text, text, sizeof(text));
	if (x->err == NULL || x->errlen == 0)
		return -EINVAL;
	/* jansson's position: 1-based line and column of the offending token. */
	if (e->line > 0)
		snprintf(x->err, x->errlen, "%s:%d:%d: %s", x->file, e->line,
		    e->column, text);
	else
		snprintf(x->err, x->errlen, "%s: %s", x->file, text);
	return -EINVAL;
}

int
jc_parse(struct jc *x, const char *text, size_t len, json_t **root)
{
	json_error_t jerr;
	const char *nul;

	*root = NULL;
	/* jansson stops at a NUL and then blames the end of the file. */
	if ((nul = memchr(text, '\0', len)) != NULL) {
		if (x->err != NULL)
			snprintf(x->err, x->errlen, "%s: byte %zu: a NUL byte (not "
			    "JSON text)", x->file, (size_t)(nul - text));
		return -EINVAL;
	}
	*root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (*root == NULL)
		return jc_parse_error(x, &jerr);
	return 0;
}

int
jc_load(struct jc *x, size_t max, json_t **root)
{
	char *buf, scratch[8];
	size_t len;
	int rc;

	*root = NULL;
	if ((rc = rfile_read(x->file, max, &buf, &len, NULL,
	    x->err != NULL ? x->err : scratch,
	    x->err != NULL ? x->errlen : sizeof(scratch))) < 0)
		return rc;
	rc = jc_parse(x, buf, len, root);
	free(buf);
	return rc;
}

void
jc_path(char dst[JC_PATH_MAX], const char *path, const char *key)
{
	int n;

	if (path[0] == '\0')
		n = snprintf(dst, JC_PATH_MAX, "%s", key);
	else
		n = snprintf(dst, JC_PATH_MAX, "%s.%s", path, key);
	/* A path cut short still names the place; mark the cut. */
	if (n >= JC_PATH_MAX)
		dst[JC_PATH_MAX - 2] = '~';
}

const char *
jc_shown(const char *s, char *dst, size_t dstsz)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < dstsz; i++)
		dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	dst[i] = '\0';
	return dst;
}

int
jc_object(struct jc *x, json_t *obj, const char *path)
{
	if (!json_is_object(obj))
		return jc_fail(x, path[0] != '\0' ? path : "top level",
		    "expected an object");
	return 0;
}

int
jc_check_keys(struct jc *x, json_t *obj, const char *path,
    const char *const *known)
{
	char w[JC_PATH_MAX], shown[41];
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(obj, key, v) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] == NULL) {
			jc_path(w, path, jc_shown(key, shown, sizeof(shown)));
			return jc_fail(x, w, "unknown key");
		}
	}
	return 0;
}

int
jc_get_str(struct jc *x, json_t *obj, const char *path, const char *key,
    int flags, char *dst, size_t cap)
{
	json_t *v = json_object_get(obj, key);
	char w[JC_PATH_MAX];
	const char *s;
	size_t n, i;

	jc_path(w, path, key);
	if (v == NULL)
		return flags & JC_REQUIRED ? jc_fail(x, w, "missing") : 1;
	if (!json_is_string(v))
		return jc_fail(x, w, "expected a string");
	s = json_string_value(v);
	n = json_string_length(v);
	if (n == 0 && !(flags & JC_EMPTY_OK))
		return jc_fail(x, w, "empty");
	if (n >= cap)
		return jc_fail(x, w, "longer than %zu bytes", cap - 1);
	/* jansson allows "\u0000" inside a string: that is a control character too. */
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return jc_fail(x, w, "control character");
	memcpy(dst, s, n + 1);
	return 0;
}

int
jc_get_int(struct jc *x, json_t *obj, const char *path, const char *key,
    int required, long long min, long long max, long long *out)
{
	json_t *v = json_object_get(obj, key);
	char w[JC_PATH_MAX];
	long long n;

	jc_path(w, path, key);
	if (v == NULL)
		return required ? jc_fail(x, w, "missing") : 1;
	if (!json_is_integer(v))
		return jc_fail(x, w, "expected an integer");
	n = json_integer_value(v);
	if (n < min || n > max)
		return jc_fail(x, w, "%lld out of range %lld..%lld", n, min, max);
	*out = n;
	return 0;
}

int
jc_get_uint(struct jc *x, json_t *obj, const char *path, const char *key,
    int required, unsigned min, unsigned max, unsigned *out)
{
	long long n = 0;
	int rc;

	rc = jc_get_int(x, obj, path, key, required, min, max, &n);
	if (rc == 0)
		*out = (unsigned)n;
	return rc;
}

int
jc_get_bool(struct jc *x, json_t *obj, const char *path, const char *key,
    int required, int *out)
{
	json_t *v = json_object_get(obj, key);
	char w[JC_PATH_MAX];

	jc_path(w, path, key);
	if (v == NULL)
		return required ? jc_fail(x, w, "missing") : 1;
	if (!json_is_boolean(v))
		return jc_fail(x, w, "expected true or false");
	*out = json_is_true(v);
	return 0;
}

int
jc_name_valid(const char *s, size_t max, int dash_ok)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || (dash_ok && s[i] == '-')))
			return 0;
	return 1;
}
