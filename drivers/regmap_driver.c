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

#include "drivers/driver.h"

extern const struct driver_ops regmap_driver_ops;

static int
regmap_probe(struct device *d, char *err, size_t errlen)
{
	const struct profile *p = d->profile;
	struct plan_req *plan;
	int n;

	if (p == NULL || p->n_points == 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: no profile", d->name);
		return -EINVAL;
	}
	plan = calloc(p->n_points, sizeof(*plan));
	if (plan == NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: out of memory", d->name);
		return -ENOMEM;
	}
	/* One request per point is the worst case, so -ENOSPC cannot happen. */
	n = plan_build(p, plan, p->n_points);
	if (n < 0) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s: profile %s: cannot plan "
			    "requests (%s)", d->name, p->name, strerror(-n));
		free(plan);
		return n;
	}
	free(d->plan);
	d->plan = plan;
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

/* Decode and deliver the points that lie inside request q (registers regs). */
static int
deliver(struct device *d, const struct plan_req *q, const uint16_t *regs,
    int64_t ts_ms, reading_sink sink, void *arg)
{
	const struct profile *p = d->profile;
	const struct profile_point *pt;
	struct reading r;
	unsigned words;
	size_t i;
	int rc;

	for (i = 0; i < p->n_points; i++) {
		pt = &p->points[i];
		words = regmap_words(pt->type);
		if (pt->fc != q->fc || pt->addr < q->addr ||
		    (unsigned)pt->addr + words > (unsigned)q->addr + q->count)
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
regmap_poll(struct device *d, struct bus *b, int64_t ts_ms, reading_sink sink,
    void *arg)
{
	uint16_t regs[PROFILE_READ_MAX];
	const struct plan_req *q;
	int rc, last = -EIO, any = 0;
	size_t i;

	if (d->plan == NULL || d->n_plan == 0 || d->profile == NULL)
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
		if ((rc = deliver(d, q, regs, ts_ms, sink, arg)) != 0)
			return rc;
	}
	return any ? 0 : last;
}

static void
regmap_close(struct device *d)
{
	free(d->plan);
	d->plan = NULL;
	d->n_plan = 0;
}

const struct driver_ops regmap_driver_ops = {
	.name = "regmap",
	.probe = regmap_probe,
	.poll = regmap_poll,
	.close = regmap_close,
};
