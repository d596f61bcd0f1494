/*
 * The simulated devices: register images, request handling and the served-values
 * log that the integration tests compare with what reaches the receiver.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drivers/regmap.h"
#include "tools/sim/sim.h"
#include "tools/sim/sim_int.h"


static void
dev_free(struct sim_dev *d)
{
	size_t i;

	if (d == NULL)
		return;
	for (i = 0; i < 4; i++)
		free(d->span[i].regs);
	free(d->warned);
	free(d->vals);
	model_free(d->model);
	profile_free(&d->prof);
	free(d);
}

static struct sim_dev *
dev_find(const struct sim *s, unsigned unit)
{
	size_t i;

	for (i = 0; i < s->n_devs; i++)
		if (s->devs[i]->unit == unit)
			return s->devs[i];
	return NULL;
}

/* Size each function code's register image to the span of its points. */
static int
dev_spans(struct sim_dev *d)
{
	const struct profile_point *pp;
	struct span *sp;
	uint32_t end;
	size_t i;

	for (i = 0; i < 4; i++) {
		d->span[i].lo = UINT32_MAX;
		d->span[i].hi = 0;
	}
	for (i = 0; i < d->prof.n_points; i++) {
		pp = &d->prof.points[i];
		sp = &d->span[pp->fc - 1];
		end = (uint32_t)pp->addr + regmap_words(pp->type);
		if (pp->addr < sp->lo)
			sp->lo = pp->addr;
		if (end > sp->hi)
			sp->hi = end;
	}
	for (i = 0; i < d->prof.n_writable; i++) {
		const struct writable *w = &d->prof.writable[i];

		sp = &d->span[w->rb_fc - 1];
		end = (uint32_t)w->rb_addr + regmap_words(w->rb_type);
		if (w->rb_addr < sp->lo)
			sp->lo = w->rb_addr;
		if (end > sp->hi)
			sp->hi = end;
	}
	for (i = 0; i < d->prof.n_info; i++) {
		sp = &d->span[d->prof.info[i].fc - 1];
		end = (uint32_t)d->prof.info[i].addr + d->prof.info[i].len;
		if (d->prof.info[i].addr < sp->lo)
			sp->lo = d->prof.info[i].addr;
		if (end > sp->hi)
			sp->hi = end;
	}
	for (i = 0; i < 4; i++) {
		sp = &d->span[i];
		if (sp->hi == 0) {
			sp->lo = 0;
			continue;
		}
		if ((sp->regs = calloc(sp->hi - sp->lo, sizeof(*sp->regs))) == NULL)
			return -ENOMEM;
	}
	return 0;
}

/*
 * The info strings: what the profile's identify section expects of it (so
 * wattgate scan recognises the simulated device), else "SIM<unit>-<name>", a
 * text the gateway's log and metrics can be checked against. They do not
 * change while the simulator runs.
 */
static void
dev_info(struct sim_dev *d)
{
	const struct profile_info *pi;
	char text[PROFILE_INFO_CHARS + 1];
	size_t i, k;

	for (i = 0; i < d->prof.n_info; i++) {
		pi = &d->prof.info[i];
		snprintf(text, sizeof(text), "SIM%u-%s", d->unit, pi->name);
		for (k = 0; k < d->prof.n_identify; k++) {
			if (d->prof.identify[k].info == (int)i)
				snprintf(text, sizeof(text), "%s",
				    d->prof.identify[k].equals);
		}
		text[2u * pi->len] = '\0';
		profile_info_encode(pi, text, d->span[pi->fc - 1].regs +
		    (pi->addr - d->span[pi->fc - 1].lo));
	}
}

int
sim_add(struct sim *s, unsigned unit, const char *dir, const char *profile,
    uint64_t seed, char *err, size_t errlen)
{
	struct sim_dev *d;
	int rc;

	if (unit < 1 || unit > 247) {
		snprintf(err, errlen, "unit %u: not a Modbus unit id (1..247)",
		    unit);
		return -EINVAL;
	}
	if (dev_find(s, unit) != NULL) {
		snprintf(err, errlen, "unit %u: given twice", unit);
		return -EEXIST;
	}
	if (s->n_devs == SIM_DEVICES_MAX) {
		snprintf(err, errlen, "unit %u: more than %d devices", unit,
		    SIM_DEVICES_MAX);
		return -ENOSPC;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		goto nomem;
	d->unit = unit;
	if ((rc = profile_load_named(dir, profile, &d->prof, err, errlen)) != 0) {
		free(d);
		return rc;
	}
	/* Different units get different households from one --seed. */
	d->model = model_new(&d->prof, seed * 0x100000001b3ULL + unit);
	if (d->model != NULL && s->charger_cycle_ms > 0)
		model_set_charger_period(d->model, s->charger_cycle_ms);
	d->vals = calloc(d->prof.n_points, sizeof(*d->vals));
	d->warned = calloc(d->prof.n_points, 1);
	if (d->model == NULL || d->vals == NULL || d->warned == NULL ||
	    dev_spans(d) != 0) {
		dev_free(d);
		goto nomem;
	}
	dev_info(d);
	sim_writable_init(d);
	s->devs[s->n_devs++] = d;
	return 0;
nomem:
	snprintf(err, errlen, "unit %u: out of memory", unit);
	return -ENOMEM;
}

/*
 * Recompute every value for time t and encode it into the register images, so
 * each answer shows the meter as it is now (energy keeps rising between reads).
 * With invalid_every N, every Nth answer serves "not available" instead (the
 * point's marker, or NaN for floats) wherever the profile defines one, so
 * tests can follow invalid readings end to end.
 */
static void
dev_refresh(struct sim *s, struct sim_dev *d, int64_t t)
{
	const struct profile_point *pp;
	struct span *sp;
	char buf[DEC_STRLEN];
	uint16_t *regs;
	struct dec shown;
	size_t i;
	int rc, na;

	model_values(d->model, t, d->vals);
	d->refreshes++;
	na = s->invalid_every > 0 && d->refreshes % s->invalid_every == 0;
	for (i = 0; i < d->prof.n_points; i++) {
		pp = &d->prof.points[i];
		sp = &d->span[pp->fc - 1];
		regs = sp->regs + (pp->addr - sp->lo);
		if (na && profile_point_encode_na(pp, regs) == 0)
			continue;
		/*
		 * A point whose registers already show its value is left
		 * alone: a charger's error flag decoded from the state
		 * letter it shares a register with (an enum_other value has
		 * no raw value of its own to store).
		 */
		if (!na && profile_point_decode(&d->prof, pp, regs, &shown) == 0
		    && dec_equal(shown, d->vals[i]))
			continue;
		rc = profile_point_encode(&d->prof, pp, d->vals[i], regs);
		if (rc == 0)
			continue;
		memset(regs, 0, regmap_words(pp->type) * sizeof(*regs));
		if (!d->warned[i]) {
			d->warned[i] = 1;
			if (dec_format(d->vals[i], buf, sizeof(buf)) < 0)
				snprintf(buf, sizeof(buf), "?");
			fprintf(stderr, "wattgate-sim: unit %u: %s: cannot encode "
			    "%s as %s: %s; serving 0\n", d->unit, pp->name, buf,
			    regmap_type_name(pp->type), strerror(-rc));
		}
	}
	sim_readback(d);
}

/*
 * One log line per point lying fully inside the answered request, with the value
 * decoded from the registers just served: exactly what a correct gateway gets.
 */
static void
log_answer(struct sim *s, const struct sim_dev *d, int fc, uint32_t addr,
    uint32_t count, int64_t t)
{
	const struct profile_point *pp;
	const struct span *sp = &d->span[fc - 1];
	char buf[DEC_STRLEN];
	struct dec v;
	size_t i;

	if (s->log == NULL)
		return;
	for (i = 0; i < d->prof.n_points; i++) {
		pp = &d->prof.points[i];
		if (pp->fc != fc || pp->addr < addr ||
		    pp->addr + regmap_words(pp->type) > addr + count)
			continue;
		if (profile_point_decode(&d->prof, pp, sp->regs +
		    (pp->addr - sp->lo), &v) != 0 ||
		    dec_format(v, buf, sizeof(buf)) < 0)
			snprintf(buf, sizeof(buf), "null");
		fprintf(s->log, "{\"t_ms\":%" PRId64 ",\"unit\":%u,"
		    "\"point\":\"%s\",\"value\":%s}\n", t, d->unit, pp->name,
		    buf);
	}
	/* Info strings too, so a test can count when a gateway reads them. */
	for (i = 0; i < d->prof.n_info; i++) {
		const struct profile_info *pi = &d->prof.info[i];
		char text[PROFILE_INFO_CHARS + 1];
		const char *c;

		if (pi->fc != fc || pi->addr < addr ||
		    (uint32_t)pi->addr + pi->len > addr + count)
			continue;
		profile_info_decode(pi, sp->regs + (pi->addr - sp->lo), text,
		    sizeof(text));
		fprintf(s->log, "{\"t_ms\":%" PRId64 ",\"unit\":%u,"
		    "\"info\":\"%s\",\"value\":\"", t, d->unit, pi->name);
		for (c = text; *c != '\0'; c++)	/* printable: escape " \\ */
			fprintf(s->log, "%s%c", *c == '"' || *c == '\\' ?
			    "\\" : "", *c);
		fprintf(s->log, "\"}\n");
	}
	if (fflush(s->log) != 0 && !s->log_failed) {
		s->log_failed = 1;
		fprintf(stderr, "wattgate-sim: log: write failed: %s\n",
		    strerror(errno));
	}
}

size_t
sim_exception(uint8_t *rsp, uint8_t fc, uint8_t code)
{
	rsp[0] = fc | 0x80;
	rsp[1] = code;
	return 2;
}

static size_t
pdu(struct sim *s, struct sim_dev *d, const uint8_t *req, size_t len,
    int64_t t_ms, uint8_t *rsp, int logged)
{
	const struct span *sp;
	uint32_t addr, count, i;
	uint8_t fc;

	if (len < 1)
		return 0;
	fc = req[0];
	/* Writes where the profile has writable points; meters take none. */
	if ((fc == 6 || fc == 16) && d->prof.n_writable > 0)
		return sim_write(s, d, req, len, t_ms, rsp);
	if (fc < 1 || fc > 4)
		return sim_exception(rsp, fc, EXC_ILLEGAL_FUNCTION);
	if (len != 5)
		return sim_exception(rsp, fc, EXC_ILLEGAL_VALUE);
	addr = (uint32_t)req[1] << 8 | req[2];
	count = (uint32_t)req[3] << 8 | req[4];
	/* 125 bits too: no profile needs more, and it keeps one buffer size. */
	if (count < 1 || count > PROFILE_READ_MAX)
		return sim_exception(rsp, fc, EXC_ILLEGAL_VALUE);
	sp = &d->span[fc - 1];
	if (sp->regs == NULL || addr < sp->lo || addr + count > sp->hi ||
	    !profile_read_allowed(&d->prof, fc, (uint16_t)addr,
	    (uint16_t)count))
		return sim_exception(rsp, fc, EXC_ILLEGAL_ADDRESS);
	dev_refresh(s, d, t_ms);
	rsp[0] = fc;
	if (fc <= 2) {
		rsp[1] = (uint8_t)((count + 7) / 8);
		memset(rsp + 2, 0, rsp[1]);
		for (i = 0; i < count; i++) {
			if (sp->regs[addr - sp->lo + i] != 0)
				rsp[2 + i / 8] |= (uint8_t)(1u << (i % 8));
		}
	} else {
		rsp[1] = (uint8_t)(2 * count);
		for (i = 0; i < count; i++) {
			rsp[2 + 2 * i] = (uint8_t)(sp->regs[addr - sp->lo + i] >>
			    8);
			rsp[3 + 2 * i] = (uint8_t)sp->regs[addr - sp->lo + i];
		}
	}
	if (logged)
		log_answer(s, d, fc, addr, count, t_ms);
	return 2u + rsp[1];
}

size_t
sim_pdu(struct sim *s, uint8_t unit, const uint8_t *req, size_t len,
    int64_t t_ms, uint8_t *rsp)
{
	struct sim_dev *d = dev_find(s, unit);

	return d != NULL ? pdu(s, d, req, len, t_ms, rsp, 1) : 0;
}

void
sim_log(struct sim *s, const char *fmt, ...)
{
	va_list ap;

	if (s->log == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(s->log, fmt, ap);
	va_end(ap);
	if (fflush(s->log) != 0 && !s->log_failed) {
		s->log_failed = 1;
		fprintf(stderr, "wattgate-sim: log: write failed: %s\n",
		    strerror(errno));
	}
}

static void
log_fault(struct sim *s, const struct sim_dev *d, int64_t t)
{
	sim_log(s, "{\"t_ms\":%" PRId64 ",\"unit\":%u,\"fault\":\"%s\"}\n",
	    t, d->unit, fault_name(d->fault.mode));
}

size_t
sim_answer(struct sim *s, uint8_t unit, const uint8_t *req, size_t len,
    int64_t t_ms, uint8_t *rsp, struct sim_reply *how)
{
	struct sim_dev *d = dev_find(s, unit);
	size_t n;

	how->delay_ms = 0;
	how->corrupt = SIM_SEND;
	how->unit = -1;
	how->protocol = 0;
	if (d == NULL || len < 1)
		return 0;
	if (!fault_fires(&d->fault))
		return pdu(s, d, req, len, t_ms, rsp, 1);
	log_fault(s, d, t_ms);
	switch (d->fault.mode) {
	case FAULT_SILENT:
		return 0;
	case FAULT_EXCEPTION:
		return sim_exception(rsp, req[0], (uint8_t)d->fault.arg);
	case FAULT_LATE:
		how->delay_ms = d->fault.arg;
		return pdu(s, d, req, len, t_ms, rsp, 1);
	case FAULT_CRC:
	case FAULT_GARBAGE:
		how->corrupt = d->fault.mode == FAULT_CRC ? SIM_BAD_CRC :
		    SIM_GARBAGE;
		n = pdu(s, d, req, len, t_ms, rsp, 0);
		if (how->corrupt == SIM_GARBAGE)
			sim_noise(rsp, n);
		return n;
	case FAULT_UNIT:
		how->unit = (int)d->fault.arg;
		return pdu(s, d, req, len, t_ms, rsp, 0);
	case FAULT_PROTOCOL:
		how->protocol = d->fault.arg;
		return pdu(s, d, req, len, t_ms, rsp, 0);
	case FAULT_NONE:
	/* A charger's modes are never d->fault (sim_fault_set). */
	case FAULT_IGNORE_LIMIT:
	case FAULT_CLAMP:
	case FAULT_REFUSE_WRITE:
	case FAULT_STATE:
	case FAULT_CAR:
		break;
	}
	return pdu(s, d, req, len, t_ms, rsp, 1);
}

void
sim_noise(uint8_t *buf, size_t n)
{
	static uint32_t x = 0x2545f491;
	size_t i;

	/* xorshift32: cheap, and never all zero, so never a quiet line. */
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
}

int
sim_fault_check(struct sim *s, unsigned unit, const struct fault *f,
    char *err, size_t errlen)
{
	if (dev_find(s, unit) == NULL) {
		snprintf(err, errlen, "unit %u: no such device", unit);
		return -ENOENT;
	}
	if (f != NULL && f->mode == FAULT_PROTOCOL && !s->mbap) {
		snprintf(err, errlen, "unit %u: protocol: Modbus TCP only (RTU "
		    "frames have no protocol id)", unit);
		return -EINVAL;
	}
	if (f != NULL && FAULT_IS_CHARGER(f->mode))
		return sim_charger_fault(dev_find(s, unit), f, 0, err, errlen);
	return 0;
}

int
sim_fault_set(struct sim *s, unsigned unit, const struct fault *f, char *err,
    size_t errlen)
{
	struct sim_dev *d;
	int rc;

	if ((rc = sim_fault_check(s, unit, f, err, errlen)) != 0 || f == NULL)
		return rc;
	d = dev_find(s, unit);
	/* A charger's mode holds beside the transport's; none lifts both. */
	if (FAULT_IS_CHARGER(f->mode) || f->mode == FAULT_NONE)
		sim_charger_fault(d, f, 1, err, errlen);
	if (!FAULT_IS_CHARGER(f->mode))
		d->fault = *f;
	return 0;
}

void
sim_housekeep(struct sim *s)
{
	if (s->reload_req != NULL && *s->reload_req) {
		*s->reload_req = 0;
		s->reload(s);
	}
}

void
sim_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void
sim_faults_clear(struct sim *s)
{
	size_t i;

	struct fault none = { FAULT_NONE, 0, 0, 0 };

	for (i = 0; i < s->n_devs; i++) {
		memset(&s->devs[i]->fault, 0, sizeof(s->devs[i]->fault));
		sim_charger_fault(s->devs[i], &none, 1, NULL, 0);
	}
}

void
sim_free(struct sim *s)
{
	size_t i;

	for (i = 0; i < s->n_devs; i++)
		dev_free(s->devs[i]);
	s->n_devs = 0;
}

int64_t
sim_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
