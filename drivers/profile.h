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
#include "firmware/base/dec.h"
#include "firmware/base/reading.h"

#define PROFILE_POINTS_MAX 256
#define PROFILE_READ_MAX 125	/* Modbus limit for FC3/FC4 */
#define PROFILE_BITS_MAX 2000	/* Modbus limit for FC1/FC2 */
#define PROFILE_FORBIDDEN_MAX 64
#define PROFILE_TURNAROUND_MAX 1000	/* ms */
#define PROFILE_NA_MAX 4	/* "not available" markers per point */
#define PROFILE_ENUM_MAX 32	/* entries of one point's enum */
#define PROFILE_ENUMS_MAX 512	/* enum entries of a whole profile */
#define PROFILE_IDENTIFY_MAX 8	/* checks of the "identify" section */
#define PROFILE_DERIVED_MAX 4	/* points of the "derived" section */
#define PROFILE_INFO_MAX 8	/* strings of the "info" section */
#define PROFILE_INFO_REGS_MAX 32	/* registers of one info string */
#define PROFILE_INFO_CHARS (2 * PROFILE_INFO_REGS_MAX)
#define PROFILE_WRITABLE_MAX 4	/* entries of the "writable" section */
#define WRITABLE_MEASURED_MAX 3	/* points that show a setpoint followed */

/* One enum entry: the device's raw value and the value wattgate reports. */
struct profile_enum {
	uint64_t raw;
	int64_t val;
};

struct profile_point {
	char name[READING_NAME_MAX + 1];	/* [a-z0-9_], unique in the profile */
	char unit[READING_UNIT_MAX + 1];
	uint8_t fc;			/* 1 coil, 2 discrete input, 3 holding, 4 input */
	uint16_t addr;			/* 0-based register (or bit) address */
	enum reg_type type;		/* RT_BOOL exactly for fc 1 and 2 */
	enum reg_order order;
	struct dec scale;		/* value = raw * scale + offset */
	struct dec offset;
	uint8_t bit_lo, bit_n;		/* bit field bit_lo.., bit_n bits; 0: whole */
	uint8_t n_na;			/* raw patterns meaning "not available" */
	uint64_t na[PROFILE_NA_MAX];
	uint16_t enum_first, n_enum;	/* p->enums[enum_first ..]; 0: no enum */
	uint8_t has_enum_other;		/* raw values not listed report enum_other */
	int64_t enum_other;
};

/* Registers (or bits) [from, to] of function code fc that no read may include. */
struct profile_range {
	uint8_t fc;
	uint16_t from, to;
};

/*
 * One check of the optional "identify" section (wattgate scan): point must read
 * back valid and within [min, max], the plausible range of the real device;
 * or, with info >= 0, that info string must read back exactly equals.
 */
struct profile_check {
	uint16_t point;			/* index into points */
	double min, max;
	int info;			/* index into info, or -1 */
	char equals[PROFILE_INFO_CHARS + 1];
};

/*
 * An identification string of the "info" section (drivers/profile_info.c):
 * a serial number, a firmware version. Read once when the device is first
 * reached, logged and reported with the device's health; never a reading.
 */
struct profile_info {
	char name[READING_NAME_MAX + 1];	/* [a-z0-9_], unique among info */
	uint8_t fc;			/* 3 or 4 */
	uint16_t addr;
	uint8_t len;			/* registers, 1..PROFILE_INFO_REGS_MAX */
	enum reg_order order;		/* ABCD or BADC: bytes in a register */
};

/*
 * A point computed by the driver from other points instead of read from a
 * register (the "derived" section; drivers/charger.c). It follows the
 * register points: its schema index is n_points + its index here.
 */
enum derived_kind {
	DK_SESSION_ENERGY,	/* source minus its value when the session began */
};

struct profile_derived {
	char name[READING_NAME_MAX + 1];	/* unique among points and derived */
	char unit[READING_UNIT_MAX + 1];	/* the source point's */
	enum derived_kind kind;
	uint16_t source;		/* index into points: an energy counter */
	uint16_t state;			/* index into points: IEC 61851 state */
};

/*
 * A setpoint the gateway may write (the "writable" section,
 * drivers/profile_writable.c): a charger's current limit. Values are in
 * unit; the register holds value / scale. The device is believed only when
 * the read-back shows the value and the measured points follow it.
 */
struct writable {
	char name[READING_NAME_MAX + 1];	/* [a-z0-9_], unique among writable */
	char unit[READING_UNIT_MAX + 1];
	uint8_t fc;			/* 6 (one register) or 16 */
	uint16_t addr;
	enum reg_type type;		/* not RT_BOOL; 16-bit for fc 6 */
	enum reg_order order;
	struct dec scale;
	struct dec min, max, step;	/* min < max, (max - min) % step == 0 */
	/* Where the set value reads back (default: addr, FC3, same type). */
	uint8_t rb_fc;			/* 3 or 4 */
	uint16_t rb_addr;
	enum reg_type rb_type;
	enum reg_order rb_order;
	struct dec rb_scale;
	/* The device falls back to its own value unless the setpoint is
	 * written again within this many seconds; 0: it keeps it. */
	unsigned refresh_s;
	uint8_t n_measured;		/* 0..WRITABLE_MEASURED_MAX */
	uint16_t measured[WRITABLE_MEASURED_MAX];	/* indexes into points */
};

struct profile {
	char name[READING_NAME_MAX + 1];	/* file name without .json */
	char model[64];
	char source[256];		/* public document the map comes from */
	unsigned max_read;		/* registers per request, <= 125 */
	unsigned max_gap;		/* longest uncovered run a read may cross */
	/* Request limits beyond max_read/max_gap (drivers/profile_limits.c). */
	unsigned max_read_bits;		/* bits per FC1/FC2 request; 0: 2000 */
	unsigned turnaround_ms;		/* response delay; 0: not stated */
	size_t n_forbidden;		/* ranges no request may touch */
	struct profile_range forbidden[PROFILE_FORBIDDEN_MAX];
	size_t n_points;
	struct profile_point *points;
	size_t n_enums;
	struct profile_enum *enums;
	size_t n_identify;
	struct profile_check identify[PROFILE_IDENTIFY_MAX];
	size_t n_derived;
	struct profile_derived derived[PROFILE_DERIVED_MAX];
	size_t n_info;
	struct profile_info info[PROFILE_INFO_MAX];
	size_t n_writable;
	struct writable writable[PROFILE_WRITABLE_MAX];
};

/*
 * Load and validate path. On error returns -errno / -EINVAL and writes one line
 * "PATH: WHERE: WHAT" (e.g. "sdm630.json: points[3].type: unknown type 'f31'")
 * into err.
 */
int profile_load(const char *path, struct profile *p, char *err, size_t errlen);

/* The same for a document in memory, named name in errors (the fuzzer). */
int profile_parse(const char *name, const char *text, size_t len,
    struct profile *p, char *err, size_t errlen);

/* Load <dir>/<name>.json; name must be [a-z0-9_-]+. Same contract. */
int profile_load_named(const char *dir, const char *name, struct profile *p,
    char *err, size_t errlen);

void profile_free(struct profile *p);

/*
 * The reading of point pp (of profile p) from the registers of its value
 * (regs[0 .. regmap_words(pp->type) - 1]; FC1/FC2: one 0/1 per bit):
 *   raw bits -> "not available" marker? -> bit field -> enum, or number
 *   (NaN/inf refused) times scale plus offset.
 * Returns 0, or why the reading is INVALID: -ENODATA (a not-available
 * marker), -EDOM (NaN or infinity), -ENOENT (a raw value the enum does not
 * list), -ERANGE (no exact decimal, or scaling overflows).
 */
int profile_point_decode(const struct profile *p,
    const struct profile_point *pp, const uint16_t *regs, struct dec *out);

/*
 * The inverse, for the simulator: store v into the point's registers. A bit
 * field changes only its own bits (the others are kept, so several fields can
 * share a register); an enum stores the first raw value that reports v.
 * Returns 0, -EINVAL (v not encodable: not integral, not in the enum) or
 * -ERANGE.
 */
int profile_point_encode(const struct profile *p,
    const struct profile_point *pp, struct dec v, uint16_t *regs);

/*
 * Serve "not available": the point's first marker, else NaN for a float.
 * Returns 0, or -ENOENT if the point has neither.
 */
int profile_point_encode_na(const struct profile_point *pp, uint16_t *regs);

/*
 * 1 if a read of count registers at addr with function code fc touches no
 * forbidden range of p, else 0. For the request planner and the simulator.
 */
int profile_read_allowed(const struct profile *p, uint8_t fc, uint16_t addr,
    uint16_t count);

/*
 * The request-limit keys of a profile ("max_read_bits", "turnaround_ms",
 * "forbidden"; docs/profiles.md), read from the parsed root after the points, so
 * that a forbidden range covering a point is refused at load. Same error
 * contract as profile_load: -EINVAL and "PATH: WHERE: WHAT" in err.
 */
struct json_t;
int profile_limits_load(const struct json_t *root, struct profile *p,
    const char *path, char *err, size_t errlen);

/*
 * Info string n of p from its registers regs[0 .. len-1] into out (outlen >
 * 2 * len): up to the first NUL, trailing blanks dropped, any byte that is
 * not printable ASCII shown as '?' (a device's string is logged and sent as
 * is; a wrong byte must not end a JSON string or a log line). Returns its
 * length.
 */
size_t profile_info_decode(const struct profile_info *pi, const uint16_t *regs,
    char *out, size_t outlen);

/* The inverse, for the simulator: s NUL-padded into len registers. */
void profile_info_encode(const struct profile_info *pi, const char *s,
    uint16_t *regs);

/* The writable point name of p, or NULL. */
const struct writable *profile_writable(const struct profile *p,
    const char *name);

/*
 * Whether v may be written to w: min <= v <= max and v - min a whole number
 * of steps. 0, or -ERANGE with one line in why: "40 A above the maximum
 * 32 A", "5 A below the minimum 6 A", "12.55 A is not a multiple of the
 * 0.1 A step from 6 A".
 */
int writable_check(const struct writable *w, struct dec v, char *why,
    size_t whylen);

/*
 * Check v (writable_check) and encode it into regs (4 elements are always
 * enough), *n_regs the count to write with w->fc. 0, or -ERANGE with why.
 * The double variant takes the shortest decimal of value first (12.5 is
 * 12.5, 6.1 is 6.1); NaN and infinity are -EDOM.
 */
int writable_encode_dec(const struct writable *w, struct dec v, uint16_t *regs,
    int *n_regs, char *why, size_t whylen);
int writable_encode(const struct writable *w, double value, uint16_t *regs,
    int *n_regs, char *why, size_t whylen);

/*
 * The value of w's own registers (what a write carried; the simulator), or
 * of its read-back registers (regmap_words(w->rb_type) of them, read with
 * w->rb_fc at w->rb_addr). 0, -EDOM (NaN/inf) or -ERANGE.
 */
int writable_decode(const struct writable *w, const uint16_t *regs,
    struct dec *out);
int writable_decode_readback(const struct writable *w, const uint16_t *regs,
    struct dec *out);

#endif
