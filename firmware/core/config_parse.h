/*
 * Internal to the site-config parser (config.c, config_uplink.c): the error
 * context and the checked getters every part uses. Every error names the
 * file and the JSON path: "FILE: WHERE: WHAT".
 */
#ifndef WG_CONFIG_PARSE_H
#define WG_CONFIG_PARSE_H

#include <jansson.h>
#include <stddef.h>

#include "firmware/core/config.h"

struct ctx {
	const char *file;
	char *err;
	size_t errlen;
};

/* Sets the error, returns -EINVAL. */
int fail(struct ctx *x, const char *where, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Typos must not pass silently: every key of obj must be in known. */
int check_keys(struct ctx *x, const char *where, json_t *obj,
    const char *const *known);
/* A non-empty string shorter than cap; absent is fine unless required. */
int get_str(struct ctx *x, const char *where, json_t *obj, const char *key,
    int required, char *dst, size_t cap);
/* An integer in min..max; absent is fine unless required. */
int get_uint(struct ctx *x, const char *where, json_t *obj, const char *key,
    int required, long min, long max, unsigned *dst);
/* a-z 0-9 _ - only. */
int valid_name(const char *s);

/* config_uplink.c */
int parse_mqtt(struct ctx *x, json_t *m, struct cfg_mqtt *q);
/* "uplink" and the blocks of the uplinks it names ("mqtt" is parsed after). */
int parse_uplink(struct ctx *x, json_t *root, struct site_config *c);
/* 1 if name carries data in c (alone, or as primary or fallback). */
int uses_uplink(const struct site_config *c, const char *name);

#endif
