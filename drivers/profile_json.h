/*
 * Shared by the profile loader's files (profile.c, profile_ext.c): the error
 * context and the JSON helpers. Private to drivers/; not an API.
 */
#ifndef WG_PROFILE_JSON_H
#define WG_PROFILE_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "drivers/profile.h"

#define WHERE_MAX 64

struct ctx {
	const char *path;
	char *err;
	size_t errlen;
};

/* One line "PATH: WHERE: WHAT" into err; returns rc so callers can return it. */
__attribute__((format(printf, 4, 5)))
int pj_fail(struct ctx *c, int rc, const char *where, const char *fmt, ...);

/* "points[3]" + "type" -> "points[3].type"; "" + "name" -> "name". */
void pj_subpath(char *dst, const char *where, const char *key);

/* s made safe for an error line: printable ASCII only, cut to dstsz. */
const char *pj_shown(const char *s, char *dst, size_t dstsz);

/* Every key of obj must be in the NULL-terminated list known. */
int pj_check_keys(struct ctx *c, json_t *obj, const char *const *known,
    const char *where);

/* Integer member in [min, max]. Returns 1 if absent and optional, 0, -EINVAL. */
int pj_get_int(struct ctx *c, json_t *obj, const char *key, const char *where,
    int required, long long min, long long max, long long *out);

/*
 * The parts of a point added with bit fields and quality markers, parsed from
 * the point object jp at where: "bits", "offset", "na", "enum", "enum_other".
 * Called after type and fc are known; na_default is the profile-level list for
 * the point's type (NULL if none). 0 or -EINVAL/-ENOMEM.
 */
int profile_parse_point_ext(struct ctx *c, json_t *jp, const char *where,
    json_t *na_default, struct profile *p, struct profile_point *pp);

/* Top-level "na": an object of type name -> list; validated here. */
int profile_parse_na_defaults(struct ctx *c, json_t *root, json_t **out);

/* Top-level "identify": plausibility checks for wattgate scan (profile_identify.c). */
int profile_parse_identify(struct ctx *c, json_t *root, struct profile *p);

/* Top-level "derived": points computed from others (profile_derived.c). */
int profile_parse_derived(struct ctx *c, json_t *root, struct profile *p);

/* Top-level "info": identification strings (profile_info.c). */
int profile_parse_info(struct ctx *c, json_t *root, struct profile *p);

#endif
