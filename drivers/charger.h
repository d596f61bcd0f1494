/*
 * The charger model's derived points (drivers/charger.c): session energy for
 * chargers whose device has no session register, computed from the energy
 * counter and the IEC 61851 state that every charger profile maps.
 */
#ifndef WG_CHARGER_H
#define WG_CHARGER_H

#include <stdint.h>

#include "drivers/driver.h"
#include "firmware/base/dec.h"

/* IEC 61851 states as the charger model reports them (docs/profiles.md). */
enum { IEC_A = 1, IEC_B, IEC_C, IEC_D, IEC_E, IEC_F };

/* What the gateway knows about the current (or last) session. */
enum session_mode {
	SESSION_UNKNOWN = 0,	/* no session followed from its start */
	SESSION_OPEN,		/* vehicle connected, start value known */
	SESSION_DONE,		/* back in A; the ended session's energy known */
};

struct charger_session {
	uint8_t mode;		/* enum session_mode */
	uint8_t have_idle;	/* the last poll saw A and a valid counter */
	struct dec idle;	/* that counter value */
	struct dec base;	/* OPEN: the counter when the session began */
	struct dec last;	/* OPEN: the last valid counter value */
	struct dec value;	/* OPEN: energy so far; DONE: the final one */
};

/*
 * One poll of the device: the state (state_ok: delivered and valid this
 * poll) and the source counter (src_ok likewise). Returns 0 with the session
 * energy in *out, or -ENODATA: the reading is INVALID because the session's
 * start value is not known (docs/profiles.md "Session energy").
 */
int charger_session_step(struct charger_session *s, int state_ok,
    int64_t state, int src_ok, struct dec src, struct dec *out);

/*
 * For the generic driver: per-device state of the profile's derived points,
 * allocated at probe, freed at close. charger_poll() runs inner (the register
 * poll), passing every reading on to sink while noting the derived points'
 * inputs, then delivers one reading per derived point (point index n_points +
 * k) if inner returned 0. Returns inner's result or the sink's.
 */
int charger_init(struct device *d);
void charger_free(struct device *d);
typedef int (*poll_fn)(struct device *d, struct bus *b, int64_t ts_ms,
    reading_sink sink, void *arg);
int charger_poll(struct device *d, struct bus *b, int64_t ts_ms,
    reading_sink sink, void *arg, poll_fn inner);

#endif
