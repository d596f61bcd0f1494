/*
 * Shared by the profile loader's files (profile*.c): the parts of a profile
 * each parses. The JSON checks are base's (firmware/base/jcheck.h), the same
 * as every other parser's. Private to drivers/; not an API.
 */
#ifndef WG_PROFILE_JSON_H
#define WG_PROFILE_JSON_H

#include <stddef.h>

#include <jansson.h>

#include "drivers/profile.h"
#include "firmware/base/jcheck.h"

/*
 * The parts of a point added with bit fields and quality markers, parsed from
 * the point object jp at where: "bits", "offset", "na", "enum", "enum_other".
 * Called after type and fc are known; na_default is the profile-level list for
 * the point's type (NULL if none). 0 or -EINVAL/-ENOMEM.
 */
int profile_parse_point_ext(struct jc *c, json_t *jp, const char *where,
    json_t *na_default, struct profile *p, struct profile_point *pp);

/* Top-level "na": an object of type name -> list; validated here. */
int profile_parse_na_defaults(struct jc *c, json_t *root, json_t **out);

/* Top-level "identify": plausibility checks for wattgate scan (profile_identify.c). */
int profile_parse_identify(struct jc *c, json_t *root, struct profile *p);

/* Top-level "derived": points computed from others (profile_derived.c). */
int profile_parse_derived(struct jc *c, json_t *root, struct profile *p);

/* Top-level "info": identification strings (profile_info.c). */
int profile_parse_info(struct jc *c, json_t *root, struct profile *p);

/* Top-level "writable": setpoints (profile_writable.c); after the limits. */
int profile_parse_writable(struct jc *c, json_t *root, struct profile *p);

#endif
