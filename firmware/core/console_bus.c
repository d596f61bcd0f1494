/*
 * The console's bus work (docs/console.md "read", "scan"): a raw register
 * read and a scan, each a job of that bus's worker (poller.h), run between
 * two cycles, never on the loop and never as a second master on the bus.
 *
 * A job is the console's until its done() comes back on the loop: a cancel
 * (the client's, its going away, the console's stop) takes it back from the
 * worker if it has not started (pollers_job_cancel), else marks it so its
 * late result is thrown away; a scan also gives up between two unit ids.
 * A scan's progress lines come from the worker through a small ring and an
 * eventfd, and go out as events before its final reply.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "firmware/base/log.h"
#include "firmware/core/console_act.h"
#include "firmware/core/scan.h"

/* ------------------------------------------------------------------ jobs */

static void
job_free(struct act_job *j)
{
	json_decref(j->snippet);
	free(j);
}

static void
job_unlink(struct console_act *a, struct act_job *j)
{
	struct act_job **pp;

	for (pp = &a->jobs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			return;
		}
}

static struct act_job *
job_find(struct console_act *a, const struct console_ticket *t)
{
	struct act_job *j;

	for (j = a->jobs; j != NULL; j = j->next)
		if (act_ticket_eq(&j->t, t))
			return j;
	return NULL;
}

void
act_job_cancel(struct console *cs, const struct console_ticket *t)
{
	struct console_act *a = cs->act;
	struct act_job *j = job_find(a, t);

	if (j == NULL)
		return;
	atomic_store(&j->canceled, 1);
	/* Not started (or no workers any more): it never runs, no done(). */
	if (a->g->pollers == NULL ||
	    pollers_job_cancel(a->g->pollers, j->bus, &j->job) == 0) {
		job_unlink(a, j);
		job_free(j);
	}
	/* Else it runs now: done() comes and throws its result away. */
}

static void drain(struct console_act *a);
static void read_reply(struct console_act *a, struct console_client *cl,
    struct act_job *j);
static void scan_reply(struct console_act *a, struct console_client *cl,
    struct act_job *j, int rc);

/* On the loop: a job is back from its worker. */
static void
job_done(void *arg, int rc)
{
	struct act_job *j = arg;
	struct console_act *a = j->a;
	struct console_client *cl;

	job_unlink(a, j);
	/* Canceled: its result is nobody's (its client, even the console, may
	 * be gone: a job left behind at a stop, act_bus_stop). */
	if (atomic_load(&j->canceled)) {
		job_free(j);
		return;
	}
	if (j->kind == JOB_SCAN)
		drain(a);	/* its progress before its end */
	if ((cl = console_ticket_client(a->cs, &j->t)) != NULL) {
		if (j->kind == JOB_SCAN)
			scan_reply(a, cl, j, rc);
		else if (rc < 0)
			console_err(cl, j->t.id, "read: %s (unit %d on bus %s), %s "
			    "%s: %s", a->g->devs[j->dev].name, j->unit,
			    a->g->cfg->buses[j->bus].name, j->fc == 4 ? "input" :
			    "holding", j->reg, j->err[0] ? j->err : strerror(-rc));
		else
			read_reply(a, cl, j);
	}
	console_ticket_done(a->cs, &j->t);
	job_free(j);
}

/* Hands j to its bus's worker; CCMD_LATER, or an error to cl and CCMD_DONE. */
static int
job_start(struct console_act *a, struct console_client *cl,
    const struct console_req *rq, struct act_job *j,
    int (*run)(struct bus *, void *), int skips_cycle)
{
	const char *what = j->kind == JOB_SCAN ? "scan" : "read";
	int rc;

	j->a = a;
	j->t = console_ticket(cl, rq->id);
	j->job = (struct poller_job){ run, job_done, j, 0, skips_cycle };
	if ((rc = pollers_job(a->g->pollers, j->bus, &j->job)) < 0) {
		console_err(cl, rq->id, "%s: bus %s %s", what,
		    a->g->cfg->buses[j->bus].name, rc == -EBUSY ? "has another "
		    "job waiting (a scan, a setpoint, a read); try again" :
		    "is stopping");
		job_free(j);
		return CCMD_DONE;
	}
	j->next = a->jobs;
	a->jobs = j;
	return CCMD_LATER;
}

/* ------------------------------------------------------------------ read */

/* Decimal 0..max, digits only. */
static int
parse_num(const char *s, unsigned long max, unsigned long *out)
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
		if (parse_num(s + 2, 65535, &v) < 0)
			return -EINVAL;
		*fc = s[0] == 'h' ? 3 : 4;
		*addr = (unsigned)v;
		return 0;
	}
	if ((len != 5 && len != 6) || (s[0] != '3' && s[0] != '4') ||
	    parse_num(s + 1, 99999, &v) < 0 || v == 0 ||
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

static void
read_reply(struct console_act *a, struct console_client *cl, struct act_job *j)
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

	if ((d = act_device(a, cl, rq->id, "read", rq->argv[0])) < 0)
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
		if (i == 2 && parse_num(rq->argv[i], 125, &count) == 0 && count > 0)
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
	return job_start(a, cl, rq, j, read_run, 0);
fail:
	job_free(j);
	return CCMD_DONE;
}

/* ------------------------------------------------------------------ scan */

/* Worker: a progress line for the loop; a full ring drops it (counted). */
static void
push_line(struct act_job *j)
{
	struct console_act *a = j->a;
	uint64_t one = 1;

	j->line[j->line_len] = '\0';
	j->line_len = 0;
	pthread_mutex_lock(&a->mu);
	if (a->r_len == ACT_RING)
		a->r_dropped++;
	else {
		struct act_line *l = &a->ring[(a->r_head + a->r_len++) % ACT_RING];

		l->t = j->t;
		memcpy(l->text, j->line, sizeof(l->text));
	}
	pthread_mutex_unlock(&a->mu);
	if (write(a->efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, the loop wakes anyway */
	}
}

/* The worker's progress FILE (fopencookie): lines into the ring. */
static ssize_t
progress_write(void *cookie, const char *buf, size_t size)
{
	struct act_job *j = cookie;
	size_t i;

	for (i = 0; i < size; i++) {
		if (buf[i] == '\n')
			push_line(j);
		else if (j->line_len < ACT_LINE_MAX)
			j->line[j->line_len++] = buf[i];
	}
	return (ssize_t)size;
}

static int
scan_cancelled(void *arg)
{
	struct act_job *j = arg;

	return atomic_load(&j->canceled) || pollers_stopping(j->a->g->pollers);
}

/* In the bus's worker: the scan of docs/scan.md, as control_scan.c runs it. */
static int
scan_run(struct bus *b, void *arg)
{
	struct act_job *j = arg;
	const struct site_config *cfg = j->a->g->cfg;
	struct profile *ps = calloc(SCAN_PROFILES_MAX, sizeof(*ps));
	cookie_io_functions_t io = { .write = progress_write };
	size_t n = 0, i;
	FILE *pr;
	int rc;

	if (ps == NULL)
		return -ENOMEM;
	if ((pr = fopencookie(j, "w", io)) != NULL)
		setvbuf(pr, NULL, _IONBF, 0);
	if ((rc = scan_load_profiles(cfg->profiles_dir, ps, &n, j->err,
	    sizeof(j->err))) < 0)
		rc = -EINVAL;
	else if ((rc = scan_bus_until(b, &cfg->buses[j->bus].bus, j->from, j->to,
	    ps, n, pr, &j->snippet, &j->found, scan_cancelled, j)) < 0)
		snprintf(j->err, sizeof(j->err), "%s", rc == -ECANCELED ?
		    "canceled, or the daemon stopped, before it was done" :
		    strerror(-rc));
	if (pr != NULL)
		fclose(pr);
	for (i = 0; i < n; i++)
		profile_free(&ps[i]);
	free(ps);
	return rc;
}

/* {"line"} and, for a unit it names, "unit" and "found" (its profile, or null). */
static json_t *
line_event(const char *text)
{
	json_t *o = json_pack("{s:s}", "line", text);
	char name[READING_NAME_MAX + 1];
	int unit;

	if (sscanf(text, "scan: unit %d: %31[a-z0-9_-]", &unit, name) == 2 &&
	    strstr(text, "points valid") != NULL)
		json_object_set_new(o, "found", json_string(name));
	else if (sscanf(text, "scan: unit %d answers", &unit) == 1 &&
	    strstr(text, "no known profile") != NULL)
		json_object_set_new(o, "found", json_null());
	else
		return o;
	json_object_set_new(o, "unit", json_integer(unit));
	return o;
}

/* On the loop: the progress lines waiting, as events of their scans. */
static void
drain(struct console_act *a)
{
	struct act_line lines[ACT_RING];
	struct console_client *cl;
	struct act_job *j;
	size_t n = 0, i;

	pthread_mutex_lock(&a->mu);
	while (a->r_len > 0) {
		lines[n++] = a->ring[a->r_head];
		a->r_head = (a->r_head + 1) % ACT_RING;
		a->r_len--;
	}
	a->r_head = 0;
	pthread_mutex_unlock(&a->mu);
	for (i = 0; i < n; i++) {
		if ((j = job_find(a, &lines[i].t)) == NULL ||
		    atomic_load(&j->canceled) ||
		    (cl = console_ticket_client(a->cs, &j->t)) == NULL)
			continue;
		console_event(cl, j->t.id, line_event(lines[i].text));
	}
}

static void
on_progress(struct loop *l, int fd, uint32_t events, void *arg)
{
	uint64_t n;

	(void)l;
	(void)events;
	if (read(fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: woken for lines already taken */
	}
	drain(arg);
}

static void
scan_reply(struct console_act *a, struct console_client *cl, struct act_job *j,
    int rc)
{
	const char *bus = a->g->cfg->buses[j->bus].name;
	json_t *found, *devs, *d, *o;
	size_t i;

	if (rc < 0) {
		console_err(cl, j->t.id, "scan: bus %s, units %d..%d: %s", bus,
		    j->from, j->to, j->err[0] ? j->err : strerror(-rc));
		return;
	}
	found = json_array();
	devs = json_object_get(j->snippet, "devices");
	json_array_foreach(devs, i, d) {
		/* The snippet names its bus generically; this site's name fits. */
		json_object_set_new(d, "bus", json_string(bus));
		json_array_append_new(found, json_pack("{s:O,s:O,s:O}", "unit",
		    json_object_get(d, "unit"), "profile",
		    json_object_get(d, "profile"), "config", d));
	}
	o = json_pack("{s:s,s:i,s:i,s:o}", "bus", bus, "from", j->from, "to",
	    j->to, "found", found);
	if (o == NULL)
		console_err(cl, j->t.id, "scan: out of memory");
	else
		console_ok(cl, j->t.id, o);
}

/* scan BUS [FROM TO] */
int
act_scan(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	struct console_act *a = cs->act;
	const struct site_config *cfg = a->g->cfg;
	unsigned long from = 1, to = 247;
	struct act_job *j;
	int tcp;
	size_t b;

	for (b = 0; b < cfg->n_buses; b++)
		if (strcmp(cfg->buses[b].name, rq->argv[0]) == 0)
			break;
	if (b == cfg->n_buses) {
		console_err(cl, rq->id, "scan: no bus '%.64s' in this site's config",
		    rq->argv[0]);
		return CCMD_DONE;
	}
	tcp = cfg->buses[b].bus.kind == BUS_TCP;
	if (rq->argc == 2 || (rq->argc == 3 && (parse_num(rq->argv[1], 255,
	    &from) < 0 || parse_num(rq->argv[2], 255, &to) < 0 || from > to ||
	    from < (tcp ? 0u : 1u) || to > (tcp ? 255u : 247u)))) {
		console_err(cl, rq->id, "scan: FROM TO: unit ids %s, FROM not "
		    "above TO (both or neither)", tcp ? "0..255" : "1..247");
		return CCMD_DONE;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		console_err(cl, rq->id, "scan: out of memory");
		return CCMD_DONE;
	}
	j->kind = JOB_SCAN;
	j->bus = b;
	j->from = (int)from;
	j->to = (int)to;
	log_info("console: scan of bus %s, units %d..%d; polling on it pauses",
	    cfg->buses[b].name, j->from, j->to);
	return job_start(a, cl, rq, j, scan_run, 1);
}

/* ------------------------------------------------------------ start, stop */

int
act_bus_start(struct console_act *a)
{
	if ((a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return -errno;
	pthread_mutex_init(&a->mu, NULL);
	a->mu_ready = 1;
	return loop_add(a->g->loop, a->efd, EPOLLIN, on_progress, a);
}

/*
 * After pollers_stop (gateway.c's teardown): every job either came back
 * (done() ran meanwhile) or was dropped unrun; what is left is freed.
 * Returns how many jobs are still with a worker: a broken order (the
 * console stopped before the workers); those keep a (and its eventfd) for
 * their done(), so the caller must then leave a allocated.
 */
size_t
act_bus_stop(struct console_act *a)
{
	struct act_job *j, *next;
	size_t left = 0;

	for (j = a->jobs; j != NULL; j = next) {
		next = j->next;
		atomic_store(&j->canceled, 1);
		j->next = NULL;
		if (a->g->pollers == NULL ||
		    pollers_job_cancel(a->g->pollers, j->bus, &j->job) == 0)
			job_free(j);
		else
			left++;
	}
	a->jobs = NULL;
	if (a->efd >= 0)
		loop_del(a->g->loop, a->efd);
	if (left > 0) {
		log_warnx("console: %zu bus job(s) still with a worker at stop; "
		    "left to it", left);
		return left;
	}
	if (a->efd >= 0)
		close(a->efd);
	if (a->mu_ready)
		pthread_mutex_destroy(&a->mu);
	return 0;
}
