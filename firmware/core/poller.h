/*
 * Blocking Modbus I/O lives in one worker thread per bus; the loop never waits on a
 * device. Workers hand readings to the loop through one bounded queue and an
 * eventfd. A full queue makes a worker wait (back-pressure), it never drops.
 *
 * A bus still busy with the previous cycle when the next tick comes skips that
 * tick (counted as an overrun): a slow bus delays only itself.
 */
#ifndef WG_POLLER_H
#define WG_POLLER_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/driver.h"
#include "firmware/codec/batch.h"
#include "firmware/core/config.h"
#include "firmware/base/loop.h"

struct poller_events {
	void (*reading)(void *arg, const struct reading *r);
	/* Bus `bus` finished the cycle stamped ts_ms. */
	void (*done)(void *arg, size_t bus, int64_t ts_ms);
	void *arg;
};

struct pollers;

/* devs[i] belongs to bus cfg->devices[i].bus. 0 or -errno. */
int pollers_start(struct loop *l, const struct site_config *cfg, struct device *devs,
    const struct poller_events *ev, struct pollers **out);

/*
 * Start a cycle on every idle bus. Returns how many buses started; *overruns
 * counts those still busy.
 */
size_t pollers_trigger(struct pollers *p, int64_t ts_ms, size_t *overruns);

/*
 * Work for a bus's worker besides polling (a charger's setpoint write and
 * its read-back): run(bus, arg) in the worker, between two cycles, then
 * done(arg, rc) on the loop. One job per bus at a time. A stop before it
 * ran drops it without done: the caller's journal knows it never ran.
 */
struct poller_job {
	int (*run)(struct bus *b, void *arg);
	void (*done)(void *arg, int rc);
	void *arg;
	int rc;
	/*
	 * A long job (a scan): the cycle that came while it ran is skipped,
	 * not polled late with its old stamp; the bus's devices have no
	 * readings for it (a gap, counted as an overrun). A short one (a
	 * write) leaves the cycle to be polled right after it.
	 */
	int skips_cycle;
};
/* 0, -EBUSY (a job waits already), -ENODEV (no such bus, or stopping). */
int pollers_job(struct pollers *p, size_t bus, struct poller_job *j);
/* Take back j if its worker has not started it: 0, else -EBUSY (done() follows). */
int pollers_job_cancel(struct pollers *p, size_t bus, struct poller_job *j);
/* 1 once pollers_stop began: a long job gives up (safe from any thread). */
int pollers_stopping(struct pollers *p);

/*
 * Each device's health as of its bus's last finished cycle: devs[i].pub,
 * pub_err, pub_fails and pub_info copied into out[i] (n entries). Safe while
 * workers run.
 */
struct health_snap {
	struct device_health h;
	int err;		/* last poll: 0 or -errno */
	unsigned fails;		/* polls in a row without an answer */
	char info[PROFILE_INFO_MAX][PROFILE_INFO_CHARS + 1];	/* "": unread */
};
void pollers_health(struct pollers *p, const struct device *devs, size_t n,
    struct health_snap *out);

/*
 * Joins the workers (each finishes the device it polls first), handing over
 * meanwhile what they deliver: stopping loses no reading.
 */
void pollers_stop(struct pollers *p);

#endif
