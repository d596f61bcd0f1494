/*
 * The console's commands that look at devices and act on the gateway
 * (docs/console.md "Commands"): device, watch, read, scan, config, reboot.
 * This file has the table, the last values, device, watch and reboot; read
 * and scan are console_bus.c's, config console_conf.c's.
 *
 * The last reading of every point is kept here (allocated at start, one
 * slot per point of the site: bounded), fed by the collector through
 * console_reading, so "device" answers from memory, never from the bus.
 * What changes the gateway (config apply, reboot) goes through the control
 * plane (control_local): journaled and reported like a fleet command.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/bustime.h"
#include "drivers/plan.h"
#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/core/console_act.h"
#include "firmware/core/control.h"
#include "firmware/store/store_journal.h"

/* A cycle stamp this far from the clock is on the other clock (or none). */
#define STAMP_NEAR_MS	(3600 * 1000)

int
act_ticket_eq(const struct console_ticket *a, const struct console_ticket *b)
{
	return a->slot == b->slot && a->gen == b->gen && a->id == b->id;
}

long
act_device(struct console_act *a, struct console_client *cl, uint64_t id,
    const char *cmd, const char *name)
{
	const struct site_config *cfg = a->g->cfg;
	char list[256];
	size_t i, n = 0;

	for (i = 0; i < cfg->n_devices; i++)
		if (strcmp(a->g->devs[i].name, name) == 0)
			return (long)i;
	list[0] = '\0';
	for (i = 0; i < cfg->n_devices && n < sizeof(list); i++)
		n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
		    i ? ", " : "", a->g->devs[i].name);
	console_err(cl, id, "%s: no device '%.64s' (this site has: %s)", cmd,
	    name, cfg->n_devices ? list : "none");
	return -1;
}

int
act_busy(struct console_client *cl, uint64_t id)
{
	uint64_t later = console_client_later(cl);

	if (later == 0)
		return 0;
	console_err(cl, id, "busy: request %llu is still running (cancel it "
	    "first)", (unsigned long long)later);
	return 1;
}

static const char *
point_name(const struct profile *p, size_t i, const char **unit)
{
	if (i < p->n_points) {
		*unit = p->points[i].unit;
		return p->points[i].name;
	}
	*unit = p->derived[i - p->n_points].unit;
	return p->derived[i - p->n_points].name;
}

/* {"point","value","unit","quality","ts_ms"}: value an exact decimal string. */
static json_t *
value_json(const struct profile *p, size_t i, const struct act_val *v)
{
	char num[DEC_STRLEN];
	const char *unit, *name = point_name(p, i, &unit);
	int ok = v->seen && v->quality == Q_OK && dec_format(v->v, num,
	    sizeof(num)) >= 0;

	return json_pack("{s:s,s:o,s:s,s:s,s:o}", "point", name, "value",
	    ok ? json_string(num) : json_null(), "unit", unit, "quality",
	    !v->seen ? "unread" : v->quality == Q_OK ? "ok" : "invalid",
	    "ts_ms", v->seen ? json_integer(v->ts_ms) : json_null());
}

/* ms between a cycle's stamp and now, on the clock the stamp is on. */
static int64_t
since_stamp(int64_t ts)
{
	struct clock_pair now;

	clock_read(&now);
	if (now.wall - ts >= 0 && now.wall - ts < STAMP_NEAR_MS)
		return now.wall - ts;
	if (now.boot - ts >= 0 && now.boot - ts < STAMP_NEAR_MS)
		return now.boot - ts;
	return -1;
}

static void each_watcher(struct console_act *a, const struct reading *r);

void
console_act_reading(struct console *cs, const struct reading *r)
{
	struct console_act *a = cs != NULL ? cs->act : NULL;
	const struct profile *p;
	struct act_val *v;

	if (a == NULL || r->dev >= a->g->cfg->n_devices)
		return;
	p = a->g->devs[r->dev].profile;
	if (r->point >= p->n_points + p->n_derived)
		return;
	v = &a->vals[a->first[r->dev] + r->point];
	v->v = r->v;
	v->ts_ms = r->ts_ms;
	v->quality = r->quality;
	v->seen = 1;
	a->tm[r->dev].ts_ms = r->ts_ms;
	a->tm[r->dev].last_ms = since_stamp(r->ts_ms);
	each_watcher(a, r);
}

/* last_cycle_ms: how far into its last answered cycle its last reading
 * came (the bus's time for it and the devices before it); null while it
 * does not answer (its values' ts_ms say since when). */
static json_t *
timings_json(struct console_act *a, size_t d, int answering)
{
	const struct device *dev = &a->g->devs[d];
	const struct cfg_device *cd = &a->g->cfg->devices[d];
	const struct cfg_bus *cb = &a->g->cfg->buses[cd->bus];
	struct bustime bt;

	bustime_from_bus(&bt, &cb->bus, dev->profile->turnaround_ms);
	return json_pack("{s:o,s:I,s:I,s:I,s:I,s:I}", "last_cycle_ms",
	    answering && a->tm[d].last_ms >= 0 && a->tm[d].ts_ms != 0 ?
	    json_integer(a->tm[d].last_ms) : json_null(),
	    "interval_s", (json_int_t)a->g->cfg->interval_s,
	    "timeout_ms", (json_int_t)(cd->timeout_ms > 0 ? cd->timeout_ms :
	    cb->bus.timeout_ms), "retries", (json_int_t)cd->retries,
	    "requests", (json_int_t)dev->n_plan, "planned_us",
	    (json_int_t)(plan_cost_ns(&bt, dev->plan, dev->n_plan) / 1000));
}

/*
 * device NAME: what a technician asks first of a meter: does it answer,
 * what did it say last, how long does it take, what went wrong.
 */
static int
run_device(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	struct console_act *a = cs->act;
	const struct device *dev;
	const struct cfg_device *cd;
	const struct profile *p;
	struct health_snap hs;
	json_t *vals, *info, *o;
	unsigned skip = 0;
	int answering;
	long d;
	size_t i;

	if ((d = act_device(a, cl, rq->id, "device", rq->argv[0])) < 0)
		return CCMD_DONE;
	dev = &a->g->devs[d];
	cd = &a->g->cfg->devices[d];
	p = dev->profile;
	memset(&hs, 0, sizeof(hs));
	if (a->g->pollers != NULL)
		pollers_health(a->g->pollers, dev, 1, &hs);
	vals = json_array();
	for (i = 0; i < p->n_points + p->n_derived; i++)
		json_array_append_new(vals, value_json(p, i, &a->vals[a->first[d] + i]));
	info = json_object();
	for (i = 0; i < p->n_info; i++)
		json_object_set_new(info, p->info[i].name, hs.info[i][0] ?
		    json_string(hs.info[i]) : json_null());
	/* The cycles the poller skips after the last try that timed out
	 * (poller.c backoff: 1, 2, 4, ... up to backoff_max). */
	if (hs.fails > 0)
		skip = hs.fails > 31 ? dev->backoff_max : 1u << (hs.fails - 1);
	if (skip > dev->backoff_max)
		skip = dev->backoff_max;
	/* As "devices" says it (console_status.c): fails are answers that
	 * were errors, in_a_row polls without any answer. */
	answering = hs.h.polls > 0 && hs.err == 0 && hs.fails == 0;
	o = json_pack("{s:s,s:s,s:i,s:s,s:s,s:b,s:o,s:o,s:o,s:{s:I,s:I,s:I,s:I,"
	    "s:i,s:I,s:I,s:I,s:I,s:I,s:I,s:s},s:I,s:i}",
	    "name", dev->name, "bus", a->g->cfg->buses[cd->bus].name,
	    "unit", dev->unit, "profile", p->name, "model", p->model,
	    "answering", answering, "values", vals,
	    "info", info, "timings", timings_json(a, (size_t)d, answering),
	    "errors", "polls", (json_int_t)hs.h.polls, "ok", (json_int_t)hs.h.ok,
	    "timeouts", (json_int_t)hs.h.timeouts, "fails", (json_int_t)
	    (hs.h.crc_errors + hs.h.io_errors + hs.h.exceptions), "in_a_row",
	    (int)hs.fails, "crc_errors", (json_int_t)hs.h.crc_errors, "io_errors",
	    (json_int_t)hs.h.io_errors, "exceptions", (json_int_t)hs.h.exceptions,
	    "invalid", (json_int_t)hs.h.invalid, "retries",
	    (json_int_t)hs.h.retries, "skipped", (json_int_t)hs.h.skipped, "last",
	    hs.h.polls == 0 ? "not polled yet" : hs.err == 0 ? "ok" :
	    strerror(-hs.err), "backoff_s",
	    (json_int_t)skip * a->g->cfg->interval_s, "backoff_cycles", (int)skip);
	if (o == NULL) {
		console_err(cl, rq->id, "device: out of memory");
		return CCMD_DONE;
	}
	console_ok(cl, rq->id, o);
	return CCMD_DONE;
}

static json_t *
event_json(struct console_act *a, const struct reading *r)
{
	const struct device *dev = &a->g->devs[r->dev];
	struct act_val v = { r->v, r->ts_ms, r->quality, 1 };
	json_t *o = value_json(dev->profile, r->point, &v);

	json_object_set_new(o, "device", json_string(dev->name));
	return o;
}

static void
each_watcher(struct console_act *a, const struct reading *r)
{
	struct console_client *cl;
	size_t i;

	for (i = 0; i < ACT_WATCH_MAX; i++) {
		struct act_watch *w = &a->watch[i];

		if (!w->used || (w->dev >= 0 && w->dev != r->dev))
			continue;
		if ((cl = console_ticket_client(a->cs, &w->t)) == NULL) {
			w->used = 0;	/* gone; the server cancels it too */
			continue;
		}
		/* One object each: the server may add "dropped" to it. */
		console_event(cl, w->t.id, event_json(a, r));
	}
}

/*
 * watch [DEV]: the last values first (a 30 s interval would show nothing
 * for 30 s), then every reading as it comes, until canceled. Events are
 * droppable: a slow client loses some (the server counts them), it never
 * holds the loop.
 */
static int
run_watch(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	struct console_act *a = cs->act;
	struct act_watch *w = NULL;
	struct reading r;
	long d = -1;
	size_t i, k, n;

	if (act_busy(cl, rq->id) || (rq->argc > 0 && (d = act_device(a, cl,
	    rq->id, "watch", rq->argv[0])) < 0))
		return CCMD_DONE;
	for (i = 0; i < ACT_WATCH_MAX && w == NULL; i++)
		if (!a->watch[i].used)
			w = &a->watch[i];
	if (w == NULL) {
		console_err(cl, rq->id, "watch: %d watches already", ACT_WATCH_MAX);
		return CCMD_DONE;
	}
	w->used = 1;
	w->dev = d;
	w->t = console_ticket(cl, rq->id);
	for (i = 0; i < a->g->cfg->n_devices; i++) {
		const struct profile *p = a->g->devs[i].profile;

		if (d >= 0 && (size_t)d != i)
			continue;
		n = p->n_points + p->n_derived;
		for (k = 0; k < n; k++) {
			const struct act_val *v = &a->vals[a->first[i] + k];

			if (!v->seen)
				continue;
			r = (struct reading){ v->ts_ms, (uint16_t)i, (uint16_t)k,
			    v->quality, v->v };
			console_event(cl, rq->id, event_json(a, &r));
		}
	}
	return CCMD_LATER;
}

static void
cancel_watch(struct console *cs, const struct console_ticket *t)
{
	size_t i;

	for (i = 0; i < ACT_WATCH_MAX; i++)
		if (cs->act->watch[i].used && act_ticket_eq(&cs->act->watch[i].t, t))
			cs->act->watch[i].used = 0;
}

/* Who asks, for the journal: the login, else the peer's uid. */
static const char *
who(struct console_client *cl, char *buf, size_t len)
{
	const char *w = console_client_who(cl);

	if (w != NULL)
		return w;
	snprintf(buf, len, "uid %u", (unsigned)console_client_uid(cl));
	return buf;
}

/*
 * A command for the control plane (config.set, reboot): {"command": ID,
 * "state": ...} at once; its end is the journal's (`commands id=ID`).
 */
int
act_control(struct console *cs, struct console_client *cl, uint64_t id,
    const char *what, const char *type, json_t *args, const char *note)
{
	char cid[STORE_CMD_ID_MAX + 1], why[STORE_CMD_WHY_MAX + 1], wb[32];
	struct store_cmd sc;
	json_t *o;
	int rc;

	rc = control_local(cs->g->ctl, type, args, who(cl, wb, sizeof(wb)), cid,
	    sizeof(cid), why, sizeof(why));
	if (rc < 0) {
		if (cid[0] != '\0')
			console_err(cl, id, "%s: command %s %s: %s", what, cid,
			    rc == -EIO ? "failed" : "rejected", why);
		else
			console_err(cl, id, "%s: %s", what, why);
		return CCMD_DONE;
	}
	if (store_cmd_get(cs->g->store, cid, &sc, NULL) < 0)
		snprintf(sc.state, sizeof(sc.state), "received");
	o = json_pack("{s:s,s:s}", "command", cid, "state", sc.state);
	if (note != NULL)
		json_object_set_new(o, "note", json_string(note));
	console_ok(cl, id, o);
	return CCMD_DONE;
}

static int
run_reboot(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	return act_control(cs, cl, rq->id, "reboot", "reboot", NULL, NULL);
}

const struct console_cmd console_cmds_act[] = {
	{ "device", "device NAME", "a device's last values with their quality, "
	    "its bus timings, errors and backoff", CCLASS_READ, 1, 1, 0,
	    run_device, NULL },
	{ "watch", "watch [DEV]", "live readings of DEV (or of all devices) "
	    "until canceled", CCLASS_READ, 0, 1, 0, run_watch, cancel_watch },
	{ "read", "read DEV REG [COUNT] [TYPE]", "a raw read by the bus's "
	    "worker: REG 30001.. (input) or 40001.. (holding), or i:N / h:N "
	    "(0-based); COUNT 1..125; TYPE u16 s16 u32 s32 f32", CCLASS_WRITE,
	    2, 4, 0, act_read, act_job_cancel },
	{ "scan", "scan BUS [FROM TO]", "find and identify the devices on a "
	    "bus (polling on it pauses meanwhile)", CCLASS_WRITE, 1, 3, 0,
	    act_scan, act_job_cancel },
	{ "config", "config show | check | apply", "the config in effect; "
	    "check a config (the body); apply it on trial, rolled back if it "
	    "fails (apply needs a login)", CCLASS_READ, 1, 1, 1, act_config,
	    NULL },
	{ "reboot", "reboot", "reboot the board through its hook, journaled "
	    "like a fleet command", CCLASS_WRITE, 0, 0, 0, run_reboot, NULL },
	{ NULL, NULL, NULL, CCLASS_NONE, 0, 0, 0, NULL, NULL },
};

int
console_act_start(struct console *cs)
{
	const struct site_config *cfg = cs->g->cfg;
	struct console_act *a;
	size_t i, n = 0;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -ENOMEM;
	a->cs = cs;
	a->g = cs->g;
	a->efd = -1;
	cs->act = a;
	if ((a->first = calloc(cfg->n_devices + 1, sizeof(*a->first))) == NULL ||
	    (a->tm = calloc(cfg->n_devices + 1, sizeof(*a->tm))) == NULL)
		return -ENOMEM;
	for (i = 0; i < cfg->n_devices; i++) {
		a->first[i] = n;
		a->tm[i].last_ms = -1;
		n += a->g->devs[i].profile->n_points + a->g->devs[i].profile->n_derived;
	}
	a->n_vals = n;
	if ((a->vals = calloc(n + 1, sizeof(*a->vals))) == NULL)
		return -ENOMEM;
	return act_bus_start(a);
}

void
console_act_stop(struct console *cs)
{
	struct console_act *a = cs != NULL ? cs->act : NULL;

	if (a == NULL)
		return;
	cs->act = NULL;
	if (act_bus_stop(a) > 0)
		return;		/* a worker still holds a job of a (logged) */
	free(a->first);
	free(a->tm);
	free(a->vals);
	free(a);
}
