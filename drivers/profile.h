/*
 * Device profiles: a meter's or charger's register map as a data file
 * (drivers/profiles/<name>.json), loaded and validated at start. A new meter is a
 * new file, not new C. Format: docs/profiles.md.
 */
#ifndef WG_PROFILE_H
#define WG_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/regmap.h"
#include "firmware/codec/dec.h"
#include "firmware/codec/schema.h"

#define PROFILE_POINTS_MAX 256
#define PROFILE_READ_MAX 125	/* Modbus limit for FC3/FC4 */

struct profile_point {
	char name[SCHEMA_NAME_MAX + 1];	/* [a-z0-9_], unique in the profile */
	char unit[SCHEMA_UNIT_MAX + 1];
	uint8_t fc;			/* 3 holding, 4 input */
	uint16_t addr;			/* 0-based register address */
	enum reg_type type;
	enum reg_order order;
	struct dec scale;		/* value = raw * scale */
};

struct profile {
	char name[SCHEMA_NAME_MAX + 1];	/* file name without .json */
	char model[64];
	char source[256];		/* public document the map comes from */
	unsigned max_read;		/* registers per request, <= 125 */
	unsigned max_gap;		/* unmapped registers a request may span */
	size_t n_points;
	struct profile_point *points;
};

/*
 * Load and validate path. On error returns -errno / -EINVAL and writes one line
 * "PATH: WHERE: WHAT" (e.g. "sdm630.json: points[3].type: unknown type 'f31'")
 * into err.
 */
int profile_load(const char *path, struct profile *p, char *err, size_t errlen);

/* Load <dir>/<name>.json; name must be [a-z0-9_-]+. Same contract. */
int profile_load_named(const char *dir, const char *name, struct profile *p,
    char *err, size_t errlen);

void profile_free(struct profile *p);

/* A read request of a plan: one Modbus transaction. */
struct plan_req {
	uint8_t fc;
	uint16_t addr;
	uint16_t count;
};

/*
 * Cover every point with the fewest requests: points sorted by (fc, address) are
 * merged while the span stays within max_read and the gap within max_gap.
 * Returns the number of requests written (<= cap) or -ENOSPC.
 */
int plan_build(const struct profile *p, struct plan_req *reqs, size_t cap);

#endif
