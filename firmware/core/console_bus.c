/*
 * The console's bus work (docs/console.md "read", "scan"): a raw register
 * read (console_read.c) and a scan (console_scan.c), each a job of that
 * bus's worker (poller.h), run between two cycles, never on the loop and
 * never as a second master on the bus. This file: the jobs' lives.
 *
 * A job is the console's until its done() comes back on the loop: a cancel
 * (the client's, its going away, the console's stop) takes it back from the
 * worker if it has not started (pollers_job_cancel), else marks it so its
 * late result is thrown away; a scan also gives up between two unit ids.
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

void
act_job_free(struct act_job *j)
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

struct act_job *
act_job_find(struct console_act *a, const struct console_ticket *t)
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
	struct act_job *j = act_job_find(a, t);

	if (j == NULL)
		return;
	atomic_store(&j->canceled, 1);
	/* Not started (or no workers any more): it never runs, no done(). */
	if (a->g->pollers == NULL ||
	    pollers_job_cancel(a->g->pollers, j->bus, &j->job) == 0) {
		log_info("console: %s on bus %s canceled before it ran",
		    j->kind == JOB_SCAN ? "scan" : "read",
		    a->g->cfg->buses[j->bus].name);
		job_unlink(a, j);
		act_job_free(j);
		return;
	}
	/* It runs now: done() comes and throws its result away. */
	log_info("console: %s on bus %s canceled while it runs; %s",
	    j->kind == JOB_SCAN ? "scan" : "read", a->g->cfg->buses[j->bus].name,
	    j->kind == JOB_SCAN ? "it stops at the next unit id" :
	    "its answer is dropped");
}

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
		act_job_free(j);
		return;
	}
	if (j->kind == JOB_SCAN)
		act_scan_drain(a);	/* its progress before its end */
	if ((cl = console_ticket_client(a->cs, &j->t)) != NULL) {
		if (j->kind == JOB_SCAN)
			act_scan_reply(a, cl, j, rc);
		else if (rc < 0)
			console_err(cl, j->t.id, "read: %s (unit %d on bus %s), %s "
			    "%s: %s", a->g->devs[j->dev].name, j->unit,
			    a->g->cfg->buses[j->bus].name, j->fc == 4 ? "input" :
			    "holding", j->reg, j->err[0] ? j->err : strerror(-rc));
		else
			act_read_reply(a, cl, j);
	}
	console_ticket_done(a->cs, &j->t);
	act_job_free(j);
}

int
act_job_start(struct console_act *a, struct console_client *cl,
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
		act_job_free(j);
		return CCMD_DONE;
	}
	j->next = a->jobs;
	a->jobs = j;
	return CCMD_LATER;
}

int
act_bus_start(struct console_act *a)
{
	if ((a->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		return -errno;
	pthread_mutex_init(&a->mu, NULL);
	a->mu_ready = 1;
	return loop_add(a->g->loop, a->efd, EPOLLIN, act_scan_progress, a);
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
			act_job_free(j);
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
