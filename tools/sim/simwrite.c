/*
 * Writes to a simulated device (FC6, FC16) and a charger's fault modes.
 *
 * A device takes writes only at its profile's writable points (the
 * "writable" section, docs/profiles.md), whole and in range, as the
 * chargers do: any other register is exception 2, a value outside the
 * point's min..max or off its step exception 3. A value taken is shown at
 * the point's read-back registers until the next write; before any, the
 * read-back shows the point's max (the device's own limit). A charger's
 * current_limit also steers its car (tools/sim/chgmodel.c): in C the
 * current moves to min(limit, the car's own maximum) within about 3 s.
 *
 * The charger fault modes change what the device does, not how it
 * answers, so they hold beside the transport's (silent, late, ...):
 * ignore-limit (taken and read back, the car unaffected), clamp:AMPS (the
 * charger's own ceiling wins silently, as in evcc#33181), refuse-write
 * (exception 4), state:X (an IEC state held), car:AMPS (the car's own
 * maximum). "none" lifts them all.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "drivers/regmap.h"
#include "tools/sim/chgmodel.h"
#include "tools/sim/sim_int.h"

#define LIMIT_NAME	"current_limit"

/* v (A) in whole mA, truncated; 0 if it does not fit. */
static int64_t
milli(struct dec v)
{
	struct dec m;

	if (dec_mul(v, dec_from_int(1000), &m) < 0)
		return 0;
	for (; m.e < 0; m.e++)
		m.m /= 10;
	for (; m.e > 0 && m.m < INT64_MAX / 10; m.e--)
		m.m *= 10;
	return m.e == 0 ? m.m : 0;
}

/*
 * Push the limit, the forced state and the car's maximum to the charger
 * model. Nothing before the first write or charger fault: until then the
 * model's own sessions run untouched (docs/simulator.md, "Chargers").
 */
static void
apply(struct sim_dev *d)
{
	struct chgmodel *c = model_charger(d->model);
	const struct writable *w = profile_writable(&d->prof, LIMIT_NAME);
	int64_t limit = 0;

	if (c == NULL || !d->controlled)
		return;
	if (w != NULL && d->limit_set && !d->ignore_limit)
		limit = milli(d->wval[w - d->prof.writable]);
	if (d->clamp_a > 0 && (limit == 0 || limit > 1000LL * d->clamp_a))
		limit = 1000LL * d->clamp_a;
	chgmodel_set_limit(c, limit);
	chgmodel_force_state(c, d->state);
	chgmodel_set_car(c, 1000LL * d->car_a);
}

void
sim_writable_init(struct sim_dev *d)
{
	size_t i;

	for (i = 0; i < d->prof.n_writable; i++)
		d->wval[i] = d->prof.writable[i].max;
}

void
sim_readback(struct sim_dev *d)
{
	const struct writable *w;
	struct span *sp;
	uint16_t *regs;
	size_t i;

	for (i = 0; i < d->prof.n_writable; i++) {
		w = &d->prof.writable[i];
		sp = &d->span[w->rb_fc - 1];
		regs = sp->regs + (w->rb_addr - sp->lo);
		if (regmap_encode(d->wval[i], w->rb_type, w->rb_order,
		    w->rb_scale, regs) < 0)
			memset(regs, 0, regmap_words(w->rb_type) *
			    sizeof(*regs));
	}
}

int
sim_charger_fault(struct sim_dev *d, const struct fault *f, int set,
    char *err, size_t errlen)
{
	const char *name = fault_name(f->mode);

	if (f->mode == FAULT_REFUSE_WRITE && d->prof.n_writable == 0) {
		snprintf(err, errlen, "unit %u: %s: profile '%s' has no writable "
		    "points", d->unit, name, d->prof.name);
		return -EINVAL;
	}
	if (f->mode != FAULT_NONE && f->mode != FAULT_REFUSE_WRITE &&
	    model_charger(d->model) == NULL) {
		snprintf(err, errlen, "unit %u: %s: profile '%s' is not a "
		    "charger", d->unit, name, d->prof.name);
		return -EINVAL;
	}
	if (!set)
		return 0;
	switch (f->mode) {
	case FAULT_NONE:
		memset(&d->refuse, 0, sizeof(d->refuse));
		d->ignore_limit = 0;
		d->clamp_a = 0;
		d->state = 0;
		d->car_a = 0;
		break;
	case FAULT_IGNORE_LIMIT:
		d->ignore_limit = 1;
		d->clamp_a = 0;
		break;
	case FAULT_CLAMP:
		d->clamp_a = f->arg;
		d->ignore_limit = 0;
		break;
	case FAULT_REFUSE_WRITE:
		d->refuse = *f;
		return 0;
	case FAULT_STATE:
		d->state = (int)f->arg;
		break;
	case FAULT_CAR:
		d->car_a = f->arg;
		break;
	default:
		return 0;
	}
	if (f->mode != FAULT_NONE)
		d->controlled = 1;
	apply(d);
	return 0;
}

/* The writable point a write of count registers at addr with fc covers. */
static long
find(const struct sim_dev *d, int fc, unsigned addr, unsigned count)
{
	const struct writable *w;
	size_t i;

	for (i = 0; i < d->prof.n_writable; i++) {
		w = &d->prof.writable[i];
		/* FC16 may write a one-register point too, as devices allow. */
		if (w->addr == addr && regmap_words(w->type) == count &&
		    (fc == 16 || count == 1))
			return (long)i;
	}
	return -1;
}

size_t
sim_write(struct sim *s, struct sim_dev *d, const uint8_t *req, size_t len,
    int64_t t_ms, uint8_t *rsp)
{
	uint16_t regs[4];
	unsigned addr, count, k;
	char buf[DEC_STRLEN];
	struct dec v;
	long i;
	uint8_t fc = req[0];

	if (len < 5)
		return sim_exception(rsp, fc, EXC_ILLEGAL_VALUE);
	addr = (unsigned)req[1] << 8 | req[2];
	count = fc == 6 ? 1 : (unsigned)req[3] << 8 | req[4];
	if (fc == 6 ? len != 5 : (len < 6 || count < 1 || count > 123 ||
	    req[5] != 2 * count || len != 6u + req[5]))
		return sim_exception(rsp, fc, EXC_ILLEGAL_VALUE);
	if ((i = find(d, fc, addr, count)) < 0)
		return sim_exception(rsp, fc, EXC_ILLEGAL_ADDRESS);
	if (fault_fires(&d->refuse)) {
		sim_log(s, "{\"t_ms\":%" PRId64 ",\"unit\":%u,\"fault\":"
		    "\"refuse-write\"}\n", t_ms, d->unit);
		return sim_exception(rsp, fc, EXC_SERVER_FAILURE);
	}
	for (k = 0; k < count; k++)
		regs[k] = fc == 6 ? (uint16_t)(req[3] << 8 | req[4]) :
		    (uint16_t)(req[6 + 2 * k] << 8 | req[7 + 2 * k]);
	if (writable_decode(&d->prof.writable[i], regs, &v) < 0 ||
	    writable_check(&d->prof.writable[i], v, NULL, 0) < 0)
		return sim_exception(rsp, fc, EXC_ILLEGAL_VALUE);
	/* The model up to now first: the new limit acts from this moment. */
	model_values(d->model, t_ms, d->vals);
	d->wval[i] = v;
	if (strcmp(d->prof.writable[i].name, LIMIT_NAME) == 0) {
		d->limit_set = 1;
		d->controlled = 1;
		apply(d);
	}
	if (dec_format(v, buf, sizeof(buf)) < 0)
		snprintf(buf, sizeof(buf), "null");
	sim_log(s, "{\"t_ms\":%" PRId64 ",\"unit\":%u,\"write\":\"%s\","
	    "\"value\":%s}\n", t_ms, d->unit, d->prof.writable[i].name, buf);
	memcpy(rsp, req, 5);	/* FC6: address and value; FC16: and count */
	return 5;
}
