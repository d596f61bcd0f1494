/*
 * charger.set_current and the failsafe limit (docs/commands.md): a current
 * limit is believed only when the charger shows it, never because a write
 * "succeeded" (evcc#33181: the charger's own ceiling silently wins;
 * evcc#31597: "Accepted", and the car stays at 9 A).
 *
 *  1. The write goes through the charger's bus worker, between two cycles
 *     (poller_job): one master on the bus. It is the profile's writable
 *     "current_limit" (FC6/FC16, bounds from the device's register map).
 *  2. In the same job the read-back register is read: it must show the
 *     value asked for, else "deviated" with what it shows.
 *  3. Then the measured currents are watched for up to VERIFY_CYCLES
 *     polls of the charger: "applied" when it follows (charging within TOL_A of
 *     the limit, or not charging and not above it), else "deviated" with
 *     what it draws instead.
 *
 * The failsafe (§14a EnWG; EEBus LPC's failsafe limit): a charger with
 * "failsafe_a" in the site config is set to it once the uplink has been
 * down failsafe_after_s, and set back (to the fleet's last limit, or the
 * profile's maximum) when the link returns. Both are journaled and
 * reported as commands of the gateway's own ("charger.failsafe",
 * "charger.failsafe_lift").
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/charger.h"
#include "drivers/regmap.h"
#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/core/control_internal.h"

#define LIMIT_POINT	"current_limit"
#define VERIFY_CYCLES	3
#define TOL_A		1.0

struct setpoint {
	struct control *c;
	size_t dev;
	const struct writable *w;
	int state_point;		/* the IEC state point, -1: none */
	double failsafe_a;		/* < 0: none */
	/* the write in flight or under verification */
	struct store_cmd sc;
	int busy, verifying, internal;
	int readonly;			/* the job only reads back (resume) */
	/* renewals (refresh_s) */
	struct poller_job rjob;
	uint16_t rregs[4];
	int n_rregs, refreshing, refresh_failing;
	int64_t written_at;		/* CLOCK_MONOTONIC ms of the last write */
	uint64_t refreshes;
	char rwhy[128];
	unsigned cycles;		/* polls judged */
	unsigned idle_cycles;		/* committed cycles since the write */
	int64_t poll_ts;		/* the poll being gathered */
	struct poller_job job;
	uint16_t regs[4];
	int n_regs;
	struct dec want;
	struct dec readback;
	char why[160];
	/* what the last cycle showed */
	double measured;
	int have_measured;
	int64_t iec_state;
	/* what stands */
	int failsafe_on;
	struct dec fleet_limit;
	int have_fleet_limit;
};

struct charger_ctl {
	struct setpoint *sp;
	size_t n;
};

static struct setpoint *
find(struct control *c, const char *name)
{
	struct charger_ctl *cc = c->chg;
	size_t i;

	for (i = 0; cc != NULL && i < cc->n; i++)
		if (strcmp(c->g->devs[cc->sp[i].dev].name, name) == 0)
			return &cc->sp[i];
	return NULL;
}

/*
 * A device that forgets its setpoint (refresh_s in the profile: Alfen falls
 * back to its safe current) gets the limit in force written again every
 * refresh_s seconds: the fleet's, or the failsafe's. A renewal is no
 * command: not journaled; a failure is logged when it starts and when it
 * ends (the next renewal or command tries again).
 */
static int
refresh_run(struct bus *b, void *arg)
{
	struct setpoint *sp = arg;
	const struct device *d = &sp->c->g->devs[sp->dev];
	const struct cfg_device *cd = &sp->c->g->cfg->devices[sp->dev];
	int exc = 0, rc;

	bus_set_timeout(b, cd->timeout_ms > 0 ? cd->timeout_ms : 1000);
	rc = bus_write(b, d->unit, sp->w->fc, sp->w->addr, sp->rregs, sp->n_rregs,
	    &exc);
	if (rc < 0)
		snprintf(sp->rwhy, sizeof(sp->rwhy), "%s", bus_why(b)[0] ?
		    bus_why(b) : bus_error(b)[0] ? bus_error(b) : strerror(-rc));
	return rc;
}

static void
refresh_done(void *arg, int rc)
{
	struct setpoint *sp = arg;
	const char *name = sp->c->g->devs[sp->dev].name;

	sp->refreshing = 0;
	if (rc < 0 && !sp->refresh_failing)
		log_warnx("charger %s: renewing its limit failed: %s", name, sp->rwhy);
	else if (rc == 0 && sp->refresh_failing)
		log_info("charger %s: its limit is renewed again", name);
	sp->refresh_failing = rc < 0;
	sp->refreshes++;
}

static void
refresh(struct setpoint *sp, int64_t now)
{
	char why[128];
	struct dec v;

	if (sp->w->refresh_s == 0 || sp->busy || sp->verifying || sp->refreshing ||
	    now - sp->written_at < (int64_t)sp->w->refresh_s * 1000)
		return;
	if (sp->failsafe_on)
		dec_from_f64(sp->failsafe_a, &v);
	else if (sp->have_fleet_limit)
		v = sp->fleet_limit;
	else
		return;		/* nothing set: the device's own limit stands */
	sp->written_at = now;
	if (writable_encode_dec(sp->w, v, sp->rregs, &sp->n_rregs, why,
	    sizeof(why)) < 0)
		return;
	sp->rjob = (struct poller_job){ refresh_run, refresh_done, sp, 0, 0 };
	if (pollers_job(sp->c->g->pollers, sp->c->g->cfg->devices[sp->dev].bus,
	    &sp->rjob) == 0)
		sp->refreshing = 1;
}

/* In the bus worker: write, then read back. */
static int
job_run(struct bus *b, void *arg)
{
	struct setpoint *sp = arg;
	const struct device *d = &sp->c->g->devs[sp->dev];
	const struct cfg_device *cd = &sp->c->g->cfg->devices[sp->dev];
	const struct writable *w = sp->w;
	uint16_t rb[4];
	int rc, exc = 0;

	sp->why[0] = '\0';
	bus_set_timeout(b, cd->timeout_ms > 0 ? cd->timeout_ms : 1000);
	if (sp->readonly)
		goto readback;
	/*
	 * A write whose answer timed out may still have been taken: the
	 * read-back decides (a failed read-back then keeps the write's reason).
	 */
	if ((rc = bus_write(b, d->unit, w->fc, w->addr, sp->regs, sp->n_regs,
	    &exc)) < 0) {
		snprintf(sp->why, sizeof(sp->why), "the write: %s", bus_why(b)[0] ?
		    bus_why(b) : bus_error(b)[0] ? bus_error(b) : strerror(-rc));
		if (rc != -ETIMEDOUT)
			return rc;
		if (bus_read(b, d->unit, w->rb_fc, w->rb_addr,
		    (int)regmap_words(w->rb_type), rb, &exc) < 0 ||
		    writable_decode_readback(w, rb, &sp->readback) < 0)
			return rc;
		return 0;
	}
readback:
	if ((rc = bus_read(b, d->unit, w->rb_fc, w->rb_addr,
	    (int)regmap_words(w->rb_type), rb, &exc)) < 0) {
		snprintf(sp->why, sizeof(sp->why), "%s the read-back: %s",
		    sp->readonly ? "after a restart," : "written, but",
		    bus_why(b)[0] ? bus_why(b) : strerror(-rc));
		return rc;
	}
	if ((rc = writable_decode_readback(w, rb, &sp->readback)) < 0)
		snprintf(sp->why, sizeof(sp->why), "the read-back is not a number");
	return rc;
}

static json_t *
detail(const struct setpoint *sp)
{
	json_t *o = json_object();

	json_object_set_new(o, "device", json_string(sp->c->g->devs[sp->dev].name));
	json_object_set_new(o, "limit_a", json_real(dec_to_double(sp->want)));
	json_object_set_new(o, "readback_a", json_real(dec_to_double(sp->readback)));
	if (sp->have_measured)
		json_object_set_new(o, "measured_a", json_real(sp->measured));
	else
		json_object_set_new(o, "measured_a", json_null());
	json_object_set_new(o, "charging", json_boolean(sp->iec_state == IEC_C));
	return o;
}

/*
 * What must survive a restart or power cut in an outage: that the failsafe
 * is in force (it is lifted when the link returns, whenever that is) and
 * the fleet's last limit (what the lift goes back to: a §14a dimming is not
 * lost). Keys "failsafe:DEVICE", "limit_ma:DEVICE" in the store.
 */
static void
keep(struct setpoint *sp, const char *what, int64_t v)
{
	char key[READING_NAME_MAX + 16];

	snprintf(key, sizeof(key), "%s:%s", what, sp->c->g->devs[sp->dev].name);
	if (store_ctl_put(sp->c->g->store, key, v) < 0)
		log_warnx("charger %s: cannot keep %s: %s", sp->c->g->devs[sp->dev].name,
		    what, sp->c->g->store->err);
}

static int
kept(struct setpoint *sp, const char *what, int64_t *v)
{
	char key[READING_NAME_MAX + 16];

	snprintf(key, sizeof(key), "%s:%s", what, sp->c->g->devs[sp->dev].name);
	return store_ctl_get(sp->c->g->store, key, v);
}

static void
finish(struct setpoint *sp, const char *state, const char *why)
{
	struct store_cmd sc = sp->sc;

	sp->busy = sp->verifying = 0;
	if (strcmp(state, "applied") == 0 && !sp->internal) {
		sp->fleet_limit = sp->want;
		sp->have_fleet_limit = 1;
		keep(sp, "limit_ma", llround(dec_to_double(sp->want) * 1000));
	}
	control_record(sp->c, &sc, state, why, detail(sp), 0);
}

static void
job_done(void *arg, int rc)
{
	struct setpoint *sp = arg;
	char why[STORE_CMD_WHY_MAX + 1];

	if (rc < 0) {
		finish(sp, "failed", sp->why);
		return;
	}
	if (fabs(dec_to_double(sp->readback) - dec_to_double(sp->want)) > 0.0005) {
		snprintf(why, sizeof(why), sp->readonly ? "interrupted by a restart: "
		    "the charger reads back %g A, not the %g A asked; not written "
		    "again" : "the charger reads back %g A, not the %g A written",
		    dec_to_double(sp->readback), dec_to_double(sp->want));
		finish(sp, sp->readonly ? "failed" : "deviated", why);
		return;
	}
	sp->verifying = 1;
	sp->cycles = 0;
	sp->idle_cycles = 0;
	sp->poll_ts = 0;
	sp->have_measured = 0;
	control_record(sp->c, &sp->sc, "verifying", NULL, detail(sp), 0);
}

/*
 * Start a write of want (readonly: only its read-back, for a command a
 * restart interrupted); 0 or -errno with why.
 */
static int
start_write(struct setpoint *sp, struct dec want, int readonly, char *why,
    size_t len)
{
	int rc;

	if ((rc = writable_encode_dec(sp->w, want, sp->regs, &sp->n_regs, why,
	    len)) < 0)
		return rc;
	sp->readonly = readonly;
	sp->want = want;
	sp->readback = (struct dec){ 0, 0 };
	sp->job = (struct poller_job){ job_run, job_done, sp, 0, 0 };
	sp->written_at = clock_mono_ms();
	/* A renewal not started yet gives way to the command. */
	if (sp->refreshing && pollers_job_cancel(sp->c->g->pollers,
	    sp->c->g->cfg->devices[sp->dev].bus, &sp->rjob) == 0)
		sp->refreshing = 0;
	if (sp->refreshing ||
	    (rc = pollers_job(sp->c->g->pollers, sp->c->g->cfg->devices[sp->dev].bus,
	    &sp->job)) < 0) {
		if (sp->refreshing)
			rc = -EBUSY;
		snprintf(why, len, "the bus worker cannot take it now: %s",
		    strerror(-rc));
		return rc;
	}
	sp->busy = 1;
	return 0;
}

static int
parse_args(struct control *c, const struct cmd *k, struct setpoint **sp,
    struct dec *want, char *why, size_t len)
{
	json_t *dev = json_object_get(k->args, "device");
	json_t *amps = json_object_get(k->args, "amps");

	if (json_object_size(k->args) != 2 || !json_is_string(dev) ||
	    !json_is_number(amps)) {
		snprintf(why, len, "args: exactly {\"device\": NAME, \"amps\": NUMBER}");
		return -EINVAL;
	}
	if ((*sp = find(c, json_string_value(dev))) == NULL) {
		snprintf(why, len, "args: device: '%.64s' is not a charger of this site "
		    "(no writable %s)", json_string_value(dev), LIMIT_POINT);
		return -ENOENT;
	}
	if (dec_from_f64(json_number_value(amps), want) < 0) {
		snprintf(why, len, "args: amps: not a finite number");
		return -EDOM;
	}
	return 0;
}

static int
check_set(struct control *c, const struct cmd *k, char *why, size_t len)
{
	struct setpoint *sp;
	struct dec want;
	uint16_t regs[4];
	int n, rc;

	if ((rc = parse_args(c, k, &sp, &want, why, len)) < 0)
		return rc;
	if ((rc = writable_encode_dec(sp->w, want, regs, &n, why, len)) < 0)
		return rc;
	if (sp->busy || sp->verifying) {
		snprintf(why, len, "command %s is still being applied to %s",
		    sp->sc.id[0] ? sp->sc.id : "(failsafe)", c->g->devs[sp->dev].name);
		return -EBUSY;
	}
	return 0;
}

static int
apply_set(struct control *c, const struct cmd *k, struct store_cmd *sc,
    const char **state, char *why, size_t len, json_t **result)
{
	struct setpoint *sp;
	struct dec want;

	(void)result;
	*state = "failed";
	if (parse_args(c, k, &sp, &want, why, len) < 0)
		return CMD_DONE;
	sp->sc = *sc;
	sp->internal = 0;
	/* It came over the link, so the link is back: the fleet's word replaces
	 * the failsafe (and its lift). */
	if (sp->failsafe_on) {
		sp->failsafe_on = 0;
		keep(sp, "failsafe", 0);
	}
	if (start_write(sp, want, 0, why, len) < 0)
		return CMD_DONE;
	return CMD_LATER;
}

/*
 * Found open at start ("received": the write may or may not have reached
 * the charger; "verifying": it had). Never written again: the charger's
 * read-back says whether it holds what was asked, and if it does the
 * verification starts over. The device and the amperes come from the
 * journaled record (the "received" record carries the arguments, the
 * "verifying" one the limit).
 */
static void
resume_set(struct control *c, struct store_cmd *sc)
{
	const char *fail = "interrupted by a restart before the charger confirmed "
	    "it; not written again";
	struct store_cmd row;
	struct setpoint *sp;
	json_t *rec = NULL, *res, *dev, *amps;
	char *json = NULL, why[STORE_CMD_WHY_MAX + 1];
	struct dec want;

	if (store_cmd_get(c->g->store, sc->id, &row, &json) == 0)
		rec = json_loads(json, 0, NULL);
	free(json);
	res = json_object_get(rec, "result");
	dev = json_object_get(res, "device");
	if ((amps = json_object_get(res, "amps")) == NULL)
		amps = json_object_get(res, "limit_a");
	if (!json_is_string(dev) || !json_is_number(amps) ||
	    (sp = find(c, json_string_value(dev))) == NULL || sp->busy ||
	    sp->verifying || dec_from_f64(json_number_value(amps), &want) < 0) {
		json_decref(rec);
		control_record(c, sc, "failed", fail, NULL, 0);
		return;
	}
	json_decref(rec);
	sp->sc = *sc;
	sp->internal = 0;
	if (start_write(sp, want, 1, why, sizeof(why)) < 0)
		control_record(c, sc, "failed", fail, NULL, 0);
}

const struct cmd_type cmd_charger_set_current = {
	.name = "charger.set_current", .check = check_set, .apply = apply_set,
	.resume = resume_set, .journal_args = 1,
};

static void judge(struct setpoint *sp);

/*
 * The charger's polls drive the verification, not the committed cycles: a
 * slow charger (late answers) overruns its bus's cycles, and a poll of it
 * still shows what it does. A reading with a new stamp starts the next
 * poll; the one before is judged then.
 */
void
charger_ctl_reading(struct control *c, const struct reading *r)
{
	struct setpoint *sp;
	size_t i;
	double v;

	if (c->chg == NULL)
		return;
	for (i = 0; i < c->chg->n; i++) {
		sp = &c->chg->sp[i];
		if (!sp->verifying || r->dev != sp->dev)
			continue;
		if (r->ts_ms != sp->poll_ts) {
			if (sp->poll_ts != 0)
				judge(sp);
			if (!sp->verifying)
				continue;
			sp->poll_ts = r->ts_ms;
			sp->have_measured = 0;
		}
		if (r->quality != Q_OK)
			continue;
		v = dec_to_double(r->v);
		if ((int)r->point == sp->state_point)
			sp->iec_state = r->v.e == 0 ? r->v.m : (int64_t)v;
		for (size_t j = 0; j < sp->w->n_measured; j++)
			if (r->point == sp->w->measured[j] &&
			    (!sp->have_measured || v > sp->measured)) {
				sp->measured = v;
				sp->have_measured = 1;
			}
	}
}

/* A poll of the charger is over: judge what it showed. */
static void
judge(struct setpoint *sp)
{
	double want = dec_to_double(sp->want);
	int charging = sp->iec_state == IEC_C;
	char why[STORE_CMD_WHY_MAX + 1];

	sp->cycles++;
	if (sp->have_measured) {
		sp->idle_cycles = 0;
		if (charging && fabs(sp->measured - want) <= TOL_A) {
			finish(sp, "applied", NULL);
			return;
		}
		if (!charging && sp->measured <= want + TOL_A &&
		    sp->cycles >= VERIFY_CYCLES) {
			finish(sp, "applied", "not charging now: the limit holds for "
			    "the next session");
			return;
		}
	}
	if (sp->cycles < VERIFY_CYCLES)
		return;
	if (!sp->have_measured)
		snprintf(why, sizeof(why), "no measured current in %u polls",
		    sp->cycles);
	else if (sp->measured > want + TOL_A)
		snprintf(why, sizeof(why), "draws %.1f A, above the %g A limit",
		    sp->measured, want);
	else
		snprintf(why, sizeof(why), "draws %.1f A of the %g A allowed: the "
		    "charger or the car holds it lower", sp->measured, want);
	finish(sp, !sp->have_measured ? "failed" : "deviated", why);
}

/*
 * A committed cycle: a charger under verification that was not polled in
 * it (backing off, its bus busy) still counts towards the end, so a
 * charger that stopped answering ends "failed", not never.
 */
void
charger_ctl_cycle(struct control *c)
{
	size_t i;

	for (i = 0; c->chg != NULL && i < c->chg->n; i++) {
		struct setpoint *sp = &c->chg->sp[i];

		if (sp->verifying && ++sp->idle_cycles > 4 * VERIFY_CYCLES)
			finish(sp, "failed", "the charger was not polled after the "
			    "write");
	}
}

/* A write of the gateway's own, journaled like a command. */
static void
own_write(struct setpoint *sp, const char *type, struct dec want)
{
	char why[STORE_CMD_WHY_MAX + 1];
	int64_t n;

	/* A number of the gateway's own, kept in the store: unique across
	 * boots without a clock (the journal knows verified ids by id). */
	if (store_ctl_get(sp->c->g->store, "own_seq", &n) < 0)
		n = 0;
	n++;
	if (store_ctl_put(sp->c->g->store, "own_seq", n) < 0)
		return;
	memset(&sp->sc, 0, sizeof(sp->sc));
	snprintf(sp->sc.id, sizeof(sp->sc.id), "gw:%lld", (long long)n);
	snprintf(sp->sc.type, sizeof(sp->sc.type), "%s", type);
	sp->sc.verified = 1;
	sp->internal = 1;
	if (control_record(sp->c, &sp->sc, "received", NULL, NULL, 0) < 0)
		return;
	if (start_write(sp, want, 0, why, sizeof(why)) < 0)
		finish(sp, "failed", why);
}

/*
 * Every second (control.c's timer), and at each up: the link down
 * failsafe_after_s puts a charger with failsafe_a at it; the link up lifts
 * it. A charger busy with a write or its verification is looked at again
 * the next second, so a lift is never missed.
 */
void
charger_ctl_link(struct control *c, int up, int64_t down_ms)
{
	size_t i;

	for (i = 0; c->chg != NULL && i < c->chg->n; i++) {
		struct setpoint *sp = &c->chg->sp[i];
		struct dec want;

		refresh(sp, clock_mono_ms());
		if (sp->failsafe_a < 0 || sp->busy || sp->verifying || sp->refreshing)
			continue;
		if (!up && !sp->failsafe_on &&
		    down_ms >= (int64_t)c->g->cfg->control.failsafe_after_s * 1000) {
			if (dec_from_f64(sp->failsafe_a, &want) < 0)
				continue;
			sp->failsafe_on = 1;
			keep(sp, "failsafe", 1);
			own_write(sp, "charger.failsafe", want);
		} else if (up && sp->failsafe_on) {
			sp->failsafe_on = 0;
			keep(sp, "failsafe", 0);
			own_write(sp, "charger.failsafe_lift", sp->have_fleet_limit ?
			    sp->fleet_limit : sp->w->max);
		}
	}
}

int
charger_ctl_start(struct control *c)
{
	const struct site_config *cfg = c->g->cfg;
	struct charger_ctl *cc;
	size_t i, j;
	int64_t v;

	if ((cc = calloc(1, sizeof(*cc))) == NULL ||
	    (cc->sp = calloc(cfg->n_devices > 0 ? cfg->n_devices : 1,
	    sizeof(*cc->sp))) == NULL) {
		free(cc);
		return -ENOMEM;
	}
	c->chg = cc;
	for (i = 0; i < cfg->n_devices; i++) {
		const struct profile *p = cfg->devices[i].profile;
		const struct writable *w = profile_writable(p, LIMIT_POINT);
		struct setpoint *sp;

		if (w == NULL)
			continue;
		sp = &cc->sp[cc->n++];
		sp->c = c;
		sp->dev = i;
		sp->w = w;
		sp->failsafe_a = cfg->devices[i].failsafe_a;
		sp->state_point = -1;
		for (j = 0; j < p->n_points; j++)
			if (strcmp(p->points[j].name, "state") == 0)
				sp->state_point = (int)j;
		if (kept(sp, "failsafe", &v) == 0)
			sp->failsafe_on = v != 0 && sp->failsafe_a >= 0;
		if (kept(sp, "limit_ma", &v) == 0 &&
		    dec_from_f64((double)v / 1000.0, &sp->fleet_limit) == 0)
			sp->have_fleet_limit = 1;
	}
	return 0;
}

void
charger_ctl_stop(struct control *c)
{
	if (c->chg != NULL)
		free(c->chg->sp);
	free(c->chg);
	c->chg = NULL;
}
