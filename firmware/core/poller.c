#include "firmware/core/poller.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "firmware/base/log.h"

#define QUEUE_CAP 1024

struct item {
	int done;		/* 0: reading; 1: end of a bus's cycle; 2: a job ran */
	size_t bus;
	struct reading r;	/* r.ts_ms is the cycle for done items too */
	struct poller_job *job;	/* done 2 */
};

struct worker {
	struct pollers *p;
	size_t index;
	const struct cfg_bus *cfg;
	struct bus *bus;
	struct device **devs;
	size_t n_devs;
	pthread_t thread;
	int started;
	char bus_err[256];	/* the bus-level failure last logged; "" if up */
	/* guarded by p->mu */
	int busy;
	int64_t ts;		/* cycle to poll when busy */
	struct poller_job *job;	/* to run before the next cycle; NULL: none */
};

struct pollers {
	struct loop *loop;
	struct poller_events ev;
	int efd;
	pthread_mutex_t mu;
	pthread_cond_t work;	/* a worker has a cycle to poll, or stop */
	pthread_cond_t space;	/* the queue has room */
	int stop;
	size_t running;		/* worker threads that have not returned */
	struct item *q;		/* QUEUE_CAP, malloc'd: not zeroed, not touched */
	size_t head, len;
	struct worker *w;
	size_t n_alloc;		/* entries of w */
	size_t n_w;		/* workers with an open bus */
};

static void
wake_loop(struct pollers *p)
{
	uint64_t one = 1;

	if (write(p->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_warn("poller: eventfd");
}

/*
 * Worker side. The loop is woken by the end of a bus's cycle (a done item:
 * nothing is committed before it) and when the queue reaches half its size;
 * it always drains it completely. Waking it for every reading cost an
 * eventfd write and a wake-up of the main thread per reading, about a third
 * of the daemon's CPU (docs/memory.md). A full queue has passed the half, so
 * it always has a wake-up pending: workers waiting for space cannot deadlock
 * the loop. A push waits for room even during a stop: readings already read
 * from a device are handed over, not dropped; pollers_stop() drains the
 * queue meanwhile.
 */
static void
push(struct pollers *p, const struct item *it, struct worker *idle)
{
	int wake;

	pthread_mutex_lock(&p->mu);
	while (p->len == QUEUE_CAP)
		pthread_cond_wait(&p->space, &p->mu);
	p->q[(p->head + p->len) % QUEUE_CAP] = *it;
	p->len++;
	wake = it->done || p->len == QUEUE_CAP / 2;
	/*
	 * "done" and idle in one step: once the loop can see the one, the
	 * other holds, so a tick right behind the commit finds the bus free
	 * (else it counted a false overrun and skipped the bus for a cycle).
	 */
	if (idle != NULL)
		idle->busy = 0;
	pthread_mutex_unlock(&p->mu);
	if (wake)
		wake_loop(p);
}

static int
sink(void *arg, const struct reading *r)
{
	struct worker *w = arg;
	struct item it = { .done = 0, .bus = w->index, .r = *r };

	push(w->p, &it, NULL);
	return 0;
}

static int
stopping(struct pollers *p)
{
	int stop;

	pthread_mutex_lock(&p->mu);
	stop = p->stop;
	pthread_mutex_unlock(&p->mu);
	return stop;
}

/*
 * Backoff: a poll that timed out without any answer makes the device skip the
 * next 1, 2, 4, ... cycles, at most d->backoff_max. A dead device thus costs
 * its bus one timeout on the cycles it is tried and nothing on the others,
 * and it is still tried at least every backoff_max + 1 cycles, so it comes
 * back by itself within that many cycles of answering again.
 */
static void
backoff(struct device *d, int rc)
{
	unsigned n;

	if (rc != -ETIMEDOUT) {
		d->fails = 0;
		return;
	}
	if (d->fails < 31)
		d->fails++;
	n = 1u << (d->fails - 1);
	d->skip = n < d->backoff_max ? n : d->backoff_max;
}

/*
 * What a failed poll means on a bus, in words a technician searches for:
 * what the device answered, from the bus, or else what rc says.
 */
static const char *
poll_error(struct bus *b, int rc)
{
	const char *why = bus_why(b);

	if (why[0] != '\0')
		return why;
	switch (rc) {
	case -ETIMEDOUT: return "no answer (timeout)";
	case -EBADMSG: return "garbled answers (CRC error)";
	case -EPROTO: return "Modbus exception";
	default: return strerror(-rc);
	}
}

/*
 * A failure of the bus itself (no port, a converter's TCP link down, RS-485
 * mode refused) is logged once per bus, on change, not once per device.
 * Returns 1 if rc was such a failure.
 */
static int
bus_state(struct worker *w, int rc)
{
	const char *e = bus_error(w->bus);

	if (rc < 0 && e[0] != '\0') {
		if (strcmp(w->bus_err, e) != 0) {
			log_warnx("bus %s: %s", w->cfg->name, e);
			snprintf(w->bus_err, sizeof(w->bus_err), "%s", e);
		}
		return 1;
	}
	if (rc == 0 && w->bus_err[0] != '\0') {
		log_info("bus %s: %s is up again", w->cfg->name, bus_name(w->bus));
		w->bus_err[0] = '\0';
	}
	return 0;
}

/*
 * The device's info strings (serial number, firmware version), once it has
 * answered a poll: at start, and again when it comes back after timing out,
 * since a device that was away may have been replaced or updated. Each string
 * is logged when it is first read or has changed; the health message carries
 * them. A timeout leaves them due for the next cycle.
 */
static void
read_info(struct device *d, struct bus *b)
{
	char old[PROFILE_INFO_MAX][PROFILE_INFO_CHARS + 1];
	const struct profile *p = d->profile;
	size_t i;
	int rc;

	if (d->info_read || d->ops->read_info == NULL || p == NULL ||
	    p->n_info == 0)
		return;
	memcpy(old, d->info, sizeof(old));
	rc = d->ops->read_info(d, b);
	if (rc == -ETIMEDOUT)
		return;
	d->info_read = 1;
	for (i = 0; i < p->n_info; i++) {
		if (d->info[i][0] != '\0' && strcmp(old[i], d->info[i]) != 0)
			log_info("device %s: %s '%s'", d->name, p->info[i].name,
			    d->info[i]);
	}
	if (rc < 0)
		log_warnx("device %s: info strings not readable: %s", d->name,
		    poll_error(b, rc));
}

/* A stop is honoured between devices: at most one device's requests delay it. */
static void
poll_cycle(struct worker *w, int64_t ts)
{
	size_t i;
	int rc, down;

	for (i = 0; i < w->n_devs && !stopping(w->p); i++) {
		struct device *d = w->devs[i];

		if (d->skip > 0) {
			d->skip--;
			d->health.skipped++;
			continue;
		}
		bus_set_timeout(w->bus, d->timeout_ms > 0 ? d->timeout_ms :
		    w->cfg->bus.timeout_ms);
		rc = d->ops->poll(d, w->bus, ts, sink, w);
		if (rc == -ETIMEDOUT)
			d->info_read = 0;	/* reread when it is back */
		else if (rc == 0)
			read_info(d, w->bus);
		backoff(d, rc);
		down = bus_state(w, rc);
		/* Logged on change only, per device: one dead meter, one line. */
		if (rc < 0 && rc != d->last_err)
			log_warnx("%s: device %s (unit %d): %s%s", bus_name(w->bus),
			    d->name, d->unit, down ? "bus not available" :
			    poll_error(w->bus, rc), d->skip > 0 ? "; backing off" : "");
		else if (rc == 0 && d->last_err < 0)
			log_info("%s: device %s (unit %d) answers again", bus_name(w->bus),
			    d->name, d->unit);
		d->last_err = rc;
	}
}

/* The loop reads health while the next cycle may already run: give it a copy. */
static void
publish(struct worker *w)
{
	size_t i;

	pthread_mutex_lock(&w->p->mu);
	for (i = 0; i < w->n_devs; i++) {
		w->devs[i]->pub = w->devs[i]->health;
		w->devs[i]->pub_err = w->devs[i]->last_err;
		w->devs[i]->pub_fails = w->devs[i]->fails;
		memcpy(w->devs[i]->pub_info, w->devs[i]->info,
		    sizeof(w->devs[i]->pub_info));
	}
	pthread_mutex_unlock(&w->p->mu);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct pollers *p = w->p;
	struct item done = { .done = 1, .bus = w->index };

	for (;;) {
		struct poller_job *job;

		pthread_mutex_lock(&p->mu);
		while (!w->busy && w->job == NULL && !p->stop)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop) {
			p->running--;
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		/* A job goes between cycles, never inside one: the bus has one
		 * master, and a cycle's readings stay one cycle's. */
		if ((job = w->job) != NULL) {
			struct item it = { .done = 2, .bus = w->index, .job = job };
			/* Read now: once pushed, done() may free the job on the
			 * loop before this thread looks at it again. */
			int skips = job->skips_cycle;

			w->job = NULL;
			pthread_mutex_unlock(&p->mu);
			job->rc = job->run(w->bus, job->arg);
			push(p, &it, NULL);
			pthread_mutex_lock(&p->mu);
			if (skips && w->busy) {
				done.r.ts_ms = w->ts;
				pthread_mutex_unlock(&p->mu);
				push(p, &done, w);	/* that cycle, unpolled */
				continue;
			}
			pthread_mutex_unlock(&p->mu);
			continue;
		}
		done.r.ts_ms = w->ts;
		pthread_mutex_unlock(&p->mu);

		poll_cycle(w, done.r.ts_ms);
		publish(w);
		push(p, &done, w);
	}
}

/* Loop side: take everything queued, hand it on outside the lock. */
static void
on_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct pollers *p = arg;
	struct item batch[64];
	uint64_t n;
	size_t i, k;

	(void)l;
	(void)events;
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("poller: eventfd");
	for (;;) {
		pthread_mutex_lock(&p->mu);
		for (k = 0; k < 64 && p->len > 0; k++) {
			batch[k] = p->q[p->head];
			p->head = (p->head + 1) % QUEUE_CAP;
			p->len--;
		}
		/*
		 * An empty queue starts again at slot 0: a ring that went round
		 * would touch all QUEUE_CAP slots (48 KiB) over time, while a
		 * cycle only ever fills its first few (docs/memory.md).
		 */
		if (p->len == 0)
			p->head = 0;
		if (k > 0)
			pthread_cond_broadcast(&p->space);
		pthread_mutex_unlock(&p->mu);
		if (k == 0)
			return;
		for (i = 0; i < k; i++) {
			if (batch[i].done == 2)
				batch[i].job->done(batch[i].job->arg,
				    batch[i].job->rc);
			else if (batch[i].done)
				p->ev.done(p->ev.arg, batch[i].bus, batch[i].r.ts_ms);
			else
				p->ev.reading(p->ev.arg, &batch[i].r);
		}
	}
}

int
pollers_start(struct loop *l, const struct site_config *cfg, struct device *devs,
    const struct poller_events *ev, struct pollers **out)
{
	struct pollers *p;
	char err[256];
	size_t i, j;
	int rc;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -ENOMEM;
	p->loop = l;
	p->ev = *ev;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->space, NULL);
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	rc = p->efd < 0 ? -errno : 0;
	p->w = calloc(cfg->n_buses, sizeof(*p->w));
	p->n_alloc = p->w != NULL ? cfg->n_buses : 0;
	p->q = malloc(QUEUE_CAP * sizeof(*p->q));
	*out = p;
	if (rc < 0)
		return rc;	/* EMFILE, ENFILE: say so, not "out of memory" */
	if (p->w == NULL || p->q == NULL)
		return -ENOMEM;
	if ((rc = loop_add(l, p->efd, EPOLLIN, on_event, p)) < 0)
		return rc;
	for (i = 0; i < cfg->n_buses; i++) {
		struct worker *w = &p->w[i];

		w->p = p;
		w->index = i;
		w->cfg = &cfg->buses[i];
		if ((w->devs = calloc(cfg->n_devices, sizeof(*w->devs))) == NULL)
			return -ENOMEM;
		for (j = 0; j < cfg->n_devices; j++)
			if (cfg->devices[j].bus == i)
				w->devs[w->n_devs++] = &devs[j];
		if ((rc = bus_open(&w->cfg->bus, &w->bus, err, sizeof(err))) < 0) {
			log_warnx("bus %s: %s", w->cfg->name, err);
			return rc;
		}
		/* Said at the start, not only at the first cycle's connect. */
		if (w->cfg->bus.kind == BUS_RTU && bus_port_check(
		    w->cfg->bus.device, err, sizeof(err)) == -ENOENT)
			log_warnx("bus %s: serial port %s: %s; its devices are "
			    "polled once it is there, the other buses run",
			    w->cfg->name, w->cfg->bus.device, err);
		p->n_w++;
	}
	for (i = 0; i < p->n_w; i++) {
		if ((rc = pthread_create(&p->w[i].thread, NULL, worker_main, &p->w[i])) != 0)
			return -rc;
		p->w[i].started = 1;
		pthread_mutex_lock(&p->mu);
		p->running++;
		pthread_mutex_unlock(&p->mu);
	}
	return 0;
}

size_t
pollers_trigger(struct pollers *p, int64_t ts_ms, size_t *overruns)
{
	size_t i, started = 0;

	*overruns = 0;
	pthread_mutex_lock(&p->mu);
	for (i = 0; i < p->n_w; i++) {
		if (p->w[i].busy) {
			(*overruns)++;
			continue;
		}
		p->w[i].busy = 1;
		p->w[i].ts = ts_ms;
		started++;
	}
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	return started;
}

int
pollers_job_cancel(struct pollers *p, size_t bus, struct poller_job *j)
{
	int rc = -EBUSY;

	pthread_mutex_lock(&p->mu);
	if (bus < p->n_w && p->w[bus].job == j) {
		p->w[bus].job = NULL;
		rc = 0;
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int
pollers_stopping(struct pollers *p)
{
	return stopping(p);
}

int
pollers_job(struct pollers *p, size_t bus, struct poller_job *j)
{
	int rc = 0;

	pthread_mutex_lock(&p->mu);
	if (bus >= p->n_w || p->stop)
		rc = -ENODEV;
	else if (p->w[bus].job != NULL)
		rc = -EBUSY;
	else {
		p->w[bus].job = j;
		pthread_cond_broadcast(&p->work);
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

void
pollers_health(struct pollers *p, const struct device *devs, size_t n,
    struct health_snap *out)
{
	size_t i;

	pthread_mutex_lock(&p->mu);
	for (i = 0; i < n; i++) {
		out[i].h = devs[i].pub;
		out[i].err = devs[i].pub_err;
		out[i].fails = devs[i].pub_fails;
		memcpy(out[i].info, devs[i].pub_info, sizeof(out[i].info));
	}
	pthread_mutex_unlock(&p->mu);
}

void
pollers_stop(struct pollers *p)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	size_t i, running;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	/*
	 * The loop no longer runs: take over its side while the workers finish
	 * the device they poll, so one that waits for room in a full queue
	 * gets it and hands over what it read instead of dropping it.
	 */
	for (;;) {
		pthread_mutex_lock(&p->mu);
		running = p->running;
		pthread_mutex_unlock(&p->mu);
		if (running == 0)
			break;
		on_event(p->loop, p->efd, EPOLLIN, p);
		nanosleep(&tick, NULL);
	}
	for (i = 0; i < p->n_w; i++)
		if (p->w[i].started)
			pthread_join(p->w[i].thread, NULL);
	/* Readings still queued are handed over: stopping loses nothing. */
	if (p->efd >= 0) {
		on_event(p->loop, p->efd, EPOLLIN, p);
		loop_del(p->loop, p->efd);
		close(p->efd);
	}
	for (i = 0; i < p->n_alloc; i++) {
		if (p->w[i].bus != NULL)
			bus_close(p->w[i].bus);
		free(p->w[i].devs);
	}
	free(p->w);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->space);
	free(p->q);
	free(p);
}
