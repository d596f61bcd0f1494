/*
 * scan BUS [FROM TO] (docs/console.md "scan"): the scan of docs/scan.md, as
 * control_scan.c runs it (scan_bus_until), as a job of the bus's worker
 * (console_bus.c); polling on that bus pauses meanwhile. Its progress lines
 * come from the worker through a small ring and an eventfd, and go out as
 * events before its final reply; a cancel stops it at the next unit id.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/base/log.h"
#include "firmware/core/console_act.h"
#include "firmware/core/scan.h"

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

void
act_scan_drain(struct console_act *a)
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
		if ((j = act_job_find(a, &lines[i].t)) == NULL ||
		    atomic_load(&j->canceled) ||
		    (cl = console_ticket_client(a->cs, &j->t)) == NULL)
			continue;
		console_event(cl, j->t.id, line_event(lines[i].text));
	}
}

void
act_scan_progress(struct loop *l, int fd, uint32_t events, void *arg)
{
	uint64_t n;

	(void)l;
	(void)events;
	if (read(fd, &n, sizeof(n)) < 0) {
		/* EAGAIN: woken for lines already taken */
	}
	act_scan_drain(arg);
}

void
act_scan_reply(struct console_act *a, struct console_client *cl, struct act_job *j,
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

	if (act_busy(cl, rq->id))
		return CCMD_DONE;
	for (b = 0; b < cfg->n_buses; b++)
		if (strcmp(cfg->buses[b].name, rq->argv[0]) == 0)
			break;
	if (b == cfg->n_buses) {
		console_err(cl, rq->id, "scan: no bus '%.64s' in this site's config",
		    rq->argv[0]);
		return CCMD_DONE;
	}
	tcp = cfg->buses[b].bus.kind == BUS_TCP;
	if (rq->argc == 2 || (rq->argc == 3 && (act_parse_num(rq->argv[1], 255,
	    &from) < 0 || act_parse_num(rq->argv[2], 255, &to) < 0 || from > to ||
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
	return act_job_start(a, cl, rq, j, scan_run, 1);
}

