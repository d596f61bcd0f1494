/*
 * read DEV REG [COUNT] [TYPE] (docs/console.md "read"): a raw read of input
 * or holding registers by the device's bus worker (console_bus.c), decoded
 * with the device's word order as its profile gives it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/core/console_act.h"

int
act_parse_num(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;
	size_t i;

	if (s[0] == '\0' || strlen(s) > 7)
		return -EINVAL;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

/*
 * REG: 30001..39999 (input) or 40001..49999 (holding), the six-digit
 * 300001..365536 / 400001..465536, or i:N / h:N with N the 0-based
 * address. 0 with *fc and *addr, or -EINVAL.
 */
static int
parse_reg(const char *s, int *fc, unsigned *addr)
{
	unsigned long v;
	size_t len = strlen(s);

	if ((s[0] == 'h' || s[0] == 'i') && s[1] == ':') {
		if (act_parse_num(s + 2, 65535, &v) < 0)
			return -EINVAL;
		*fc = s[0] == 'h' ? 3 : 4;
		*addr = (unsigned)v;
		return 0;
	}
	if ((len != 5 && len != 6) || (s[0] != '3' && s[0] != '4') ||
	    act_parse_num(s + 1, 99999, &v) < 0 || v == 0 ||
	    (len == 6 && v > 65536))
		return -EINVAL;
	*fc = s[0] == '3' ? 4 : 3;
	*addr = (unsigned)v - 1;
	return 0;
}

static int
parse_type(const char *s, enum reg_type *t)
{
	static const struct { const char *name; enum reg_type t; } types[] = {
		{ "u16", RT_U16 }, { "s16", RT_I16 }, { "u32", RT_U32 },
		{ "s32", RT_I32 }, { "f32", RT_F32 },
	};
	size_t i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(s, types[i].name) == 0) {
			*t = types[i].t;
			return 0;
		}
	return -EINVAL;
}

/*
 * The word order to decode with: that of the profile's point at this
 * register if there is one, else the one most of its multi-register points
 * use (a device has one order in practice), else Modbus's ABCD.
 */
static enum reg_order
device_order(const struct profile *p, int fc, unsigned addr, long *point)
{
	unsigned votes[4] = { 0 };
	size_t i, best = RO_ABCD;

	*point = -1;
	for (i = 0; i < p->n_points; i++) {
		const struct profile_point *pt = &p->points[i];

		if (pt->fc == fc && pt->addr == addr) {
			*point = (long)i;
			return pt->order;
		}
		if (regmap_words(pt->type) > 1 && pt->order < 4)
			votes[pt->order]++;
	}
	for (i = 0; i < 4; i++)
		if (votes[i] > votes[best])
			best = i;
	return (enum reg_order)best;
}

/* In the bus's worker. */
static int
read_run(struct bus *b, void *arg)
{
	struct act_job *j = arg;
	int exc = 0, rc;

	if (atomic_load(&j->canceled))
		return -ECANCELED;
	bus_set_timeout(b, j->timeout_ms);
	rc = bus_read(b, j->unit, j->fc, (int)j->addr, (int)j->count, j->regs,
	    &exc);
	if (rc < 0)
		snprintf(j->err, sizeof(j->err), "%s", bus_why(b)[0] ? bus_why(b) :
		    bus_error(b)[0] ? bus_error(b) : strerror(-rc));
	return rc;
}

/* An exact decimal string, or null for NaN and infinity. */
static json_t *
decode(const uint16_t *regs, enum reg_type t, enum reg_order o)
{
	char s[DEC_STRLEN];
	struct dec v;

	if (regmap_interpret(regmap_gather(regs, t, o), t, &v) < 0 ||
	    dec_format(v, s, sizeof(s)) < 0)
		return json_null();
	return json_string(s);
}

void
act_read_reply(struct console_act *a, struct console_client *cl, struct act_job *j)
{
	const struct device *d = &a->g->devs[j->dev];
	unsigned w = regmap_words(j->type), i;
	json_t *raw = json_array(), *vals = json_array(), *o;

	for (i = 0; i < j->count; i++)
		json_array_append_new(raw, json_integer(j->regs[i]));
	for (i = 0; i + w <= j->count; i += w)
		json_array_append_new(vals, decode(j->regs + i, j->type, j->order));
	o = json_pack("{s:s,s:s,s:i,s:s,s:I,s:I,s:s,s:o,s:s,s:s,s:O,s:o}",
	    "device", d->name, "bus", a->g->cfg->buses[j->bus].name,
	    "unit", j->unit, "register", j->reg, "address", (json_int_t)j->addr,
	    "count", (json_int_t)j->count, "kind", j->fc == 4 ? "input" : "holding",
	    "raw", raw, "type", j->type == RT_I16 ? "s16" : j->type == RT_I32 ?
	    "s32" : regmap_type_name(j->type), "order", regmap_order_name(j->order),
	    "value", json_array_size(vals) > 0 ? json_array_get(vals, 0) :
	    json_null(), "values", vals);
	if (o != NULL && j->point >= 0)
		json_object_set_new(o, "point",
		    json_string(d->profile->points[j->point].name));
	if (o == NULL)
		console_err(cl, j->t.id, "read: out of memory");
	else
		console_ok(cl, j->t.id, o);
}

/* read DEV REG [COUNT] [TYPE] (TYPE also in COUNT's place). */
int
act_read(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	struct console_act *a = cs->act;
	const struct cfg_device *cd;
	struct act_job *j;
	unsigned long count = 0;
	unsigned w;
	long d;
	size_t i;

	if (act_busy(cl, rq->id) ||
	    (d = act_device(a, cl, rq->id, "read", rq->argv[0])) < 0)
		return CCMD_DONE;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		console_err(cl, rq->id, "read: out of memory");
		return CCMD_DONE;
	}
	j->kind = JOB_READ;
	j->type = RT_U16;
	if (parse_reg(rq->argv[1], &j->fc, &j->addr) < 0) {
		console_err(cl, rq->id, "read: register '%.32s': not 30001..39999 "
		    "(input), 40001..49999 (holding), 300001..365536, 400001.."
		    "465536, or i:N / h:N (0-based, 0..65535)", rq->argv[1]);
		goto fail;
	}
	for (i = 2; i < rq->argc; i++) {
		if (parse_type(rq->argv[i], &j->type) == 0 && (i == 3 ||
		    rq->argc == 3))
			continue;
		if (i == 2 && act_parse_num(rq->argv[i], 125, &count) == 0 && count > 0)
			continue;
		console_err(cl, rq->id, "read: %s '%.32s': %s", i == 2 ? "count" :
		    "type", rq->argv[i], i == 2 ? "not 1..125 (or a type: u16 s16 "
		    "u32 s32 f32)" : "not one of u16 s16 u32 s32 f32");
		goto fail;
	}
	w = regmap_words(j->type);
	j->count = count > 0 ? (unsigned)count : w;
	if (j->count < w || j->addr + j->count > 65536) {
		console_err(cl, rq->id, "read: %u register(s) at address %u: %s",
		    j->count, j->addr, j->count < w ? "fewer than the type needs" :
		    "beyond register 65535");
		goto fail;
	}
	cd = &a->g->cfg->devices[d];
	j->dev = (size_t)d;
	j->bus = cd->bus;
	j->unit = a->g->devs[d].unit;
	j->timeout_ms = cd->timeout_ms > 0 ? cd->timeout_ms :
	    a->g->cfg->buses[cd->bus].bus.timeout_ms;
	j->order = device_order(a->g->devs[d].profile, j->fc, j->addr, &j->point);
	snprintf(j->reg, sizeof(j->reg), "%.15s", rq->argv[1]);
	return act_job_start(a, cl, rq, j, read_run, 0);
fail:
	act_job_free(j);
	return CCMD_DONE;
}

