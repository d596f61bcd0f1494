/*
 * Device drivers: a const ops table plus a device (config read-only, data
 * mutable). Drivers know nothing of storage or uplinks: poll() hands readings to a
 * sink and returns.
 */
#ifndef WG_DRIVER_H
#define WG_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/bus/bus.h"
#include "drivers/profile.h"
#include "firmware/base/reading.h"

struct device;
struct charger_session;

/* Receives each reading of a poll; returns 0 or -errno (the poll stops). */
typedef int (*reading_sink)(void *arg, const struct reading *r);

struct driver_ops {
	const char *name;
	/* Prepare a device (plan requests). 0 or -errno with a reason in err. */
	int (*probe)(struct device *d, char *err, size_t errlen);
	/* One poll: readings carry ts_ms and dev from the caller. 0 or -errno. */
	int (*poll)(struct device *d, struct bus *b, int64_t ts_ms,
	    reading_sink sink, void *arg);
	void (*close)(struct device *d);
	/*
	 * Read the profile's info strings (serial number, ...) into d->info;
	 * NULL if the driver has none. Returns how many were read, or the
	 * last -errno if none was.
	 */
	int (*read_info)(struct device *d, struct bus *b);
};

/*
 * Per-device counters, written by the bus's worker; the loop copies them when
 * that bus reports a cycle done (the worker is idle then). Requests: ok,
 * timeouts, crc_errors, io_errors and exceptions count each attempt, retries
 * included. skipped counts polls left out while backed off.
 */
struct device_health {
	uint64_t polls, ok, timeouts, crc_errors, io_errors, exceptions, invalid;
	uint64_t retries, skipped;
};

struct device {
	/* config */
	const struct driver_ops *ops;
	char name[READING_NAME_MAX + 1];
	uint16_t index;			/* device index in the schema */
	int unit;			/* Modbus unit id 1..247 (TCP: 0..255) */
	const struct profile *profile;
	unsigned timeout_ms;		/* response timeout; 0: the bus's */
	unsigned retries;		/* extra attempts after a garbled answer */
	unsigned backoff_max;		/* most cycles skipped after timeouts */
	const struct bus_cfg *bus;	/* its bus, for the plan's timing; NULL:
					   9600 baud, 11-bit characters */
	/* data */
	struct plan_req *plan;
	size_t n_plan;
	uint16_t *point_req;		/* per point: the request that reads it */
	struct charger_session *sessions; /* per derived point (charger.c) */
	struct device_health health;
	int last_err;			/* last poll result, to log changes only */
	unsigned fails;			/* polls in a row without any answer */
	unsigned skip;			/* cycles still to skip (backoff) */
	/*
	 * The profile's info strings as last read ("": not read); read by the
	 * bus worker when the device is first reached and after an outage.
	 */
	char info[PROFILE_INFO_MAX][PROFILE_INFO_CHARS + 1];
	int info_read;			/* 1: read since the device came up */
	/* The above as of the bus's last finished cycle; guarded by the poller. */
	struct device_health pub;
	int pub_err;
	unsigned pub_fails;
	char pub_info[PROFILE_INFO_MAX][PROFILE_INFO_CHARS + 1];
};

/* Drivers built into this image (Kconfig). NULL if name is unknown or off. */
const struct driver_ops *driver_find(const char *name);

#endif
