/*
 * Schema: what the dev/point indexes of a batch mean (device names, profile,
 * point names, units). Sent once per configuration, as compact JSON with sorted
 * keys, identified by the CRC-32 of that text; batches carry only the id.
 *
 *   {"devices":[{"name":"meter1","points":[{"name":"voltage_l1","unit":"V"},...],
 *     "profile":"sdm630"}],"gateway":"gw-0001","version":1}
 */
#ifndef WG_SCHEMA_H
#define WG_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/base/reading.h"

#define SCHEMA_NAME_MAX READING_NAME_MAX
#define SCHEMA_UNIT_MAX READING_UNIT_MAX

struct schema_point {
	char name[SCHEMA_NAME_MAX + 1];
	char unit[SCHEMA_UNIT_MAX + 1];
};

struct schema_device {
	char name[SCHEMA_NAME_MAX + 1];
	char profile[SCHEMA_NAME_MAX + 1];
	size_t n_points;
	struct schema_point *points;
};

struct schema {
	char gateway[65];
	size_t n_devices;
	struct schema_device *devices;
};

/*
 * Serialize to canonical JSON (malloc'd, NUL-terminated; free()) and its id:
 * json_dumps(JSON_COMPACT | JSON_SORT_KEYS) with "version":1, CRC-32 (zlib)
 * of that text. Returns 0, -ENOMEM, or -EINVAL if s holds something
 * schema_from_json() would refuse (bad gateway id, empty or unterminated
 * name, control character or invalid UTF-8, over 65536 devices or points).
 */
int schema_to_json(const struct schema *s, char **json, uint32_t *id);

/*
 * Parse JSON into *s (allocates; free with schema_free). Strict: every key
 * known, every type right, names 1..SCHEMA_NAME_MAX bytes (profile too),
 * units 0..SCHEMA_UNIT_MAX, no control characters, device names and the point
 * names of a device unique, gateway per batch_gw_valid(), "version":1.
 * Returns 0; -EBADMSG (or -ENOMEM) with a one-line reason in err such as
 * "schema: devices[1].points[3].name: missing"; *s is empty then.
 * *id is the CRC-32 of the text as given.
 */
int schema_from_json(const char *json, size_t len, struct schema *s,
    uint32_t *id, char *err, size_t errlen);

void schema_free(struct schema *s);

#endif
