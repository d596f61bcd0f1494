/*
 * Device profiles: a meter's or charger's register map as a data file
 * (drivers/profiles/<name>.json), loaded and validated at start. A new meter is a
 * new file, not new C. Format: docs/profiles.md.
 */
#ifndef WG_PROFILE_H
#define WG_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/plan.h"
#include "drivers/regmap.h"
#include "firmware/codec/dec.h"
#include "firmware/codec/schema.h"

#define PROFILE_POINTS_MAX 256
#define PROFILE_READ_MAX 125	/* Modbus limit for FC3/FC4 */
#define PROFILE_BITS_MAX 2000	/* Modbus limit for FC1/FC2 */
#define PROFILE_FORBIDDEN_MAX 64
#define PROFILE_TURNAROUND_MAX 1000	/* ms */

struct profile_point {
	char name[SCHEMA_NAME_MAX + 1];	/* [a-z0-9_], unique in the profile */
	char unit[SCHEMA_UNIT_MAX + 1];
	uint8_t fc;			/* 3 holding, 4 input */
	uint16_t addr;			/* 0-based register address */
	enum reg_type type;
	enum reg_order order;
	struct dec scale;		/* value = raw * scale */
};

/* Registers (or bits) from..to inclusive of one function code. */
struct reg_range {
	uint8_t fc;
	uint16_t from, to;
};

struct profile {
	char name[SCHEMA_NAME_MAX + 1];	/* file name without .json */
	char model[64];
	char source[256];		/* public document the map comes from */
	unsigned max_read;		/* registers per request, <= 125 */
	unsigned max_gap;		/* longest uncovered run a read may cross */
	/* Request limits beyond max_read/max_gap (drivers/profile_limits.c). */
	unsigned max_read_bits;		/* bits per FC1/FC2 request; 0: 2000 */
	unsigned turnaround_ms;		/* response delay; 0: not stated */
	size_t n_forbidden;		/* ranges no request may touch */
	struct reg_range forbidden[PROFILE_FORBIDDEN_MAX];
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

/*
 * The request-limit keys of a profile ("max_read_bits", "turnaround_ms",
 * "forbidden"; docs/profiles.md), read from the parsed root after the points, so
 * that a forbidden range covering a point is refused at load. Same error
 * contract as profile_load: -EINVAL and "PATH: WHERE: WHAT" in err.
 */
struct json_t;
int profile_limits_load(const struct json_t *root, struct profile *p,
    const char *path, char *err, size_t errlen);

#endif
