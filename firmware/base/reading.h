/*
 * The reading model: what every layer above base passes around. A driver
 * makes readings, the collector commits them, the codec encodes them, the
 * tools decode them back into the same struct.
 */
#ifndef WG_READING_H
#define WG_READING_H

#include <stdint.h>

#include "firmware/base/dec.h"

/*
 * Device and point names (a-z, 0-9, '_'; devices also '-') and units, as the
 * platform sees them in the schema: byte lengths without the NUL.
 */
#define READING_NAME_MAX	31
#define READING_UNIT_MAX	15

/* Reading quality */
enum quality {
	Q_OK = 0,
	Q_INVALID = 1,		/* device gave NaN/inf/"not available": no value */
};

/* One reading: a point of a device at a time. The reading model of the daemon. */
struct reading {
	int64_t ts_ms;		/* unix time, milliseconds, UTC */
	uint16_t dev;		/* device index in the schema */
	uint16_t point;		/* point index within that device's profile */
	uint8_t quality;	/* enum quality; value meaningful only for Q_OK */
	struct dec v;
};

#endif
