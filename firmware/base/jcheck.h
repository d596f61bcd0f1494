/*
 * The checks every JSON parser of wattgate makes, in one place with one set
 * of rules: the site config (core, and each uplink's section), profiles
 * (drivers), the schema (codec). A file is written by hand or comes off the
 * wire; a mistake in it must stop with one line that names the file, the
 * JSON path and the problem:
 *
 *   FILE: PATH: WHAT     site.json: devices[1] (meter2).unit: 300 out of range 1..247
 *                        sdm630.json: points[3].adress: unknown key
 *
 * Rules: unknown keys are errors (a misspelt "adress" must not become address
 * 0); a string is a JSON string, shorter than its buffer, without control
 * characters (they end up in log lines and schemas), and not empty unless
 * the caller says so; an integer is a JSON integer within its range; names
 * are [a-z0-9_] (device and bus names may also use '-'). Text from the file
 * shown in an error is made printable first (jc_shown), so a hostile file
 * cannot split the line.
 */
#ifndef WG_JCHECK_H
#define WG_JCHECK_H

#include <jansson.h>
#include <stddef.h>

/* Longest PATH in an error; a longer one is cut and ends in '~'. */
#define JC_PATH_MAX	96

struct jc {
	const char *file;	/* FILE of the error lines */
	char *err;		/* the one line; NULL: errors are not written */
	size_t errlen;
};

/* jc_get_str's flags */
#define JC_REQUIRED	0x01	/* absent is an error */
#define JC_EMPTY_OK	0x02	/* "" is a value (a unit that has none) */

/* Writes "FILE: PATH: WHAT" and returns -EINVAL, for `return jc_fail(...)`. */
int jc_fail(struct jc *x, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same for another error (-ENOMEM, -EFBIG, ...): returns rc. */
int jc_fail_rc(struct jc *x, int rc, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* jansson's parse error as "FILE:LINE:COLUMN: WHAT" (or "FILE: WHAT"); -EINVAL. */
int jc_parse_error(struct jc *x, const json_error_t *e);

/*
 * The JSON document in the regular file x->file, at most max bytes (read with
 * rfile_read: a FIFO, device or directory is refused, never waited on). Errors
 * "FILE: WHAT" (cannot be read, or holds a NUL byte: JSON text has none) or
 * jansson's "FILE:LINE:COLUMN: WHAT". 0 with *root set, or -errno.
 */
int jc_load(struct jc *x, size_t max, json_t **root);
/* The same for a document in memory (len bytes, named x->file in errors). */
int jc_parse(struct jc *x, const char *text, size_t len, json_t **root);

/* PATH of key in the object at path: "points[3]" + "type" -> "points[3].type". */
void jc_path(char dst[JC_PATH_MAX], const char *path, const char *key);

/* s cut to dstsz - 1 bytes, anything but printable ASCII as '?'; returns dst. */
const char *jc_shown(const char *s, char *dst, size_t dstsz);

/* The object at path is an object; "PATH: expected an object" if not. */
int jc_object(struct jc *x, json_t *obj, const char *path);

/* Every key of obj is in the NULL-terminated known: else "PATH.KEY: unknown key". */
int jc_check_keys(struct jc *x, json_t *obj, const char *path,
    const char *const *known);

/*
 * Member key of obj into dst (cap bytes with the NUL), by the string rules
 * above. 1 if absent and not JC_REQUIRED (dst untouched), 0 if read, -EINVAL.
 */
int jc_get_str(struct jc *x, json_t *obj, const char *path, const char *key,
    int flags, char *dst, size_t cap);

/* An integer member in [min, max]: 1 if absent and optional, 0, -EINVAL. */
int jc_get_int(struct jc *x, json_t *obj, const char *path, const char *key,
    int required, long long min, long long max, long long *out);
/* The same into an unsigned (0 <= min <= max <= UINT_MAX). */
int jc_get_uint(struct jc *x, json_t *obj, const char *path, const char *key,
    int required, unsigned min, unsigned max, unsigned *out);
/* true or false: 1 if absent and optional, 0, -EINVAL. */
int jc_get_bool(struct jc *x, json_t *obj, const char *path, const char *key,
    int required, int *out);

/* A name of 1..max bytes of [a-z0-9_], with dash_ok also '-'. 1 if so. */
int jc_name_valid(const char *s, size_t max, int dash_ok);

#endif
