/*
 * The generic register-map driver: any device whose registers a profile
 * describes. Probe turns the profile into a request plan once; each poll runs
 * the plan and decodes every point from the registers its request returned.
 *
 * A failed request costs only its own points: a meter that rejects one block
 * (an exception for a register its firmware lacks) still delivers the rest.
 * A timeout is different: the device is dead or too slow, and every further
 * request would cost the others on the bus one more timeout, so it ends the
 * poll. A garbled answer (bad CRC, framing) is retried at once, up to
 * d->retries times: the device is there and the next answer is likely clean.
 * An exception is an answer and is never retried. Health counters count
 * attempts, so ok + timeouts + crc_errors + io_errors + exceptions is the
 * number of requests sent; polls counts polls; invalid counts readings
 * delivered as Q_INVALID (NaN/inf or a "not available" marker from the device,
 * a raw value its enum does not list, or a value that has no exact decimal,
 * such as a u64 above INT64_MAX not ending in zeros). An invalid reading
 * travels with its quality and no value; it is never a number.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/charger.h"
#include "drivers/driver.h"

extern const struct driver_ops regmap_driver_ops;

/*
 * Which request delivers each point: the first that holds it whole. Requests
 * overlap only where points do, and then a point must still arrive once.
 */
static void
assign_points(const struct profile *p, const struct plan_req *plan, size_t n,
    uint16_t *point_req)
{
	const struct profile_point *pt;
	unsigned span;
	size_t i, j;

	for (i = 0; i < p->n_points; i++) {
		pt = &p->points[i];
		span = plan_point_span(pt);
		for (j = 0; j < n; j++) {
			if (plan[j].fc == pt->fc && plan[j].addr <= pt->addr &&
			    (unsigned)pt->addr + span <=
			    (unsigned)plan[j].addr + plan[j].count)
				break;
		}
		point_req[i] = (uint16_t)j;	/* j < n: plan_build covers all */
	}
}

static int
regmap_probe(struct device *d, char *err, size_t errlen)
{
	const struct profile *p = d->profile;
	struct plan_req *plan;
	uint16_t *point_req;
	struct bustime t;
	int n;

	if (p == NULL || p->n_points == 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: no profile", d->name);
		return -EINVAL;
	}
	plan = calloc(p->n_points, sizeof(*plan));
	point_req = calloc(p->n_points, sizeof(*point_req));
	if (plan == NULL || point_req == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: out of memory", d->name);
		free(plan);
		free(point_req);
		return -ENOMEM;
	}
	/* Priced for this device's bus: the best plan at 9600 baud is not the
	 * best at 115200 or over TCP. */
	bustime_from_bus(&t, d->bus, p->turnaround_ms);
	/* One request per point is the worst case, so -ENOSPC cannot happen. */
	n = plan_build_for(p, &t, plan, p->n_points);
	if (n < 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: profile %s: cannot plan "
			    "requests (%s)", d->name, p->name, strerror(-n));
		free(plan);
		free(point_req);
		return n;
	}
	assign_points(p, plan, (size_t)n, point_req);
	if (charger_init(d) != 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: out of memory", d->name);
		free(plan);
		free(point_req);
		return -ENOMEM;
	}
	free(d->plan);
	free(d->point_req);
	d->plan = plan;
	d->point_req = point_req;
	d->n_plan = (size_t)n;
	return 0;
}

static void
count_failure(struct device_health *h, int rc)
{
	if (rc == -ETIMEDOUT)
		h->timeouts++;
	else if (rc == -EPROTO)
		h->exceptions++;
	else if (rc == -EBADMSG)
		h->crc_errors++;
	else
		h->io_errors++;
}

/* One request, retried while its answer comes back garbled. */
static int
read_retry(struct device *d, struct bus *b, const struct plan_req *q,
    uint16_t *regs)
{
	unsigned attempt;
	int rc, exc;

	for (attempt = 0;; attempt++) {
		exc = 0;
		rc = bus_read(b, d->unit, q->fc, q->addr, q->count, regs, &exc);
		if (rc == 0)
			return 0;
		count_failure(&d->health, rc);
		if ((rc != -EBADMSG && rc != -EIO) || attempt >= d->retries)
			return rc;
		d->health.retries++;
	}
}

/* Decode and deliver the points request qi reads (registers regs). */
static int
deliver(struct device *d, size_t qi, const uint16_t *regs, int64_t ts_ms,
    reading_sink sink, void *arg)
{
	const struct profile *p = d->profile;
	const struct plan_req *q = &d->plan[qi];
	const struct profile_point *pt;
	struct reading r;
	size_t i;
	int rc;

	for (i = 0; i < p->n_points; i++) {
		pt = &p->points[i];
		if (d->point_req[i] != qi)
			continue;
		memset(&r, 0, sizeof(r));
		r.ts_ms = ts_ms;
		r.dev = d->index;
		r.point = (uint16_t)i;
		r.quality = Q_OK;
		rc = profile_point_decode(p, pt, regs + (pt->addr - q->addr),
		    &r.v);
		if (rc < 0) {
			r.quality = Q_INVALID;
			r.v = dec_from_int(0);
			d->health.invalid++;
		}
		if ((rc = sink(arg, &r)) != 0)
			return rc;
	}
	return 0;
}

/*
 * Every request runs even after others failed, except after a timeout (above).
 * The result is 0 if at least one request answered, else the last request's
 * error, so the caller can tell "device gone" from "device partly readable".
 */
static int
poll_registers(struct device *d, struct bus *b, int64_t ts_ms,
    reading_sink sink, void *arg)
{
	uint16_t regs[BUS_READ_BITS_MAX];	/* bits are one element each */
	const struct plan_req *q;
	int rc, last = -EIO, any = 0;
	size_t i;

	if (d->plan == NULL || d->n_plan == 0 || d->point_req == NULL ||
	    d->profile == NULL)
		return -EINVAL;
	d->health.polls++;
	for (i = 0; i < d->n_plan; i++) {
		q = &d->plan[i];
		rc = read_retry(d, b, q, regs);
		if (rc == -ETIMEDOUT)
			return any ? 0 : rc;
		if (rc < 0) {
			last = rc;
			continue;
		}
		d->health.ok++;
		any = 1;
		if ((rc = deliver(d, i, regs, ts_ms, sink, arg)) != 0)
			return rc;
	}
	return any ? 0 : last;
}

/* Profiles with derived points (chargers' session energy) go via charger.c. */
static int
regmap_poll(struct device *d, struct bus *b, int64_t ts_ms, reading_sink sink,
    void *arg)
{
	if (d->profile != NULL && d->profile->n_derived > 0)
		return charger_poll(d, b, ts_ms, sink, arg, poll_registers);
	return poll_registers(d, b, ts_ms, sink, arg);
}

/*
 * The info strings, one request each (the profile keeps each within max_read
 * and out of forbidden ranges). Counted in health like every request, so the
 * counters still add up to the requests sent. A string that fails keeps its
 * old text: a serial number does not go away because one read timed out.
 */
static int
regmap_read_info(struct device *d, struct bus *b)
{
	const struct profile *p = d->profile;
	const struct profile_info *pi;
	struct plan_req q;
	uint16_t regs[PROFILE_INFO_REGS_MAX];
	int rc, last = 0, n = 0;
	size_t i;

	if (p == NULL)
		return -EINVAL;
	for (i = 0; i < p->n_info; i++) {
		pi = &p->info[i];
		memset(&q, 0, sizeof(q));
		q.fc = pi->fc;
		q.addr = pi->addr;
		q.count = pi->len;
		rc = read_retry(d, b, &q, regs);
		if (rc < 0) {
			last = rc;
			if (rc == -ETIMEDOUT)
				break;	/* the others on the bus would wait */
			continue;
		}
		d->health.ok++;
		profile_info_decode(pi, regs, d->info[i], sizeof(d->info[i]));
		n++;
	}
	return n > 0 || last == 0 ? n : last;
}

static void
regmap_close(struct device *d)
{
	charger_free(d);
	free(d->plan);
	free(d->point_req);
	d->plan = NULL;
	d->point_req = NULL;
	d->n_plan = 0;
}

const struct driver_ops regmap_driver_ops = {
	.name = "regmap",
	.probe = regmap_probe,
	.poll = regmap_poll,
	.close = regmap_close,
	.read_info = regmap_read_info,
};
