/*
 * The resolver's worker and its hand-over to the loop (resolve.h says what it
 * promises). The requests live in RESOLVE_PENDING slots from resolve_ask to
 * their callback: queued for the worker, running in it, or done and waiting
 * for the loop. The worker and the loop meet only under the mutex; the
 * worker works on a copy of the name, so a slot the loop gives up (cancel,
 * timeout) is free again at once, and the worker's late answer finds no slot
 * with its ticket and is dropped.
 *
 * Why a lookup is never interrupted: pthread_cancel inside getaddrinfo would
 * unwind through NSS modules (files, dns, mdns, systemd-resolved's) that hold
 * allocations, sockets and locks across their I/O; glibc does not promise to
 * release them, and a lock left held would hang every later lookup in the
 * process. So a hung lookup runs to its end (the resolver's own timeouts in
 * /etc/resolv.conf bound it in practice) and only its caller is let go.
 *
 * Why resolve_stop may leave the worker behind: a daemon told to stop must
 * stop within a bounded time even if DNS hangs. An idle worker returns at
 * once and is joined; one inside getaddrinfo is detached after
 * RESOLVE_STOP_WAIT_MS. The resolver is then freed by whichever side is last
 * (the reference count): the worker, when its lookup returns, finds the stop
 * flag, drops its answer and frees everything. The loop's fds are closed at
 * the stop; the worker writes the eventfd only under the mutex and only
 * before the stop, so it never writes into a closed (or reused) fd.
 */
#include "firmware/base/resolve.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "firmware/base/clock.h"
#include "firmware/base/log.h"

enum slot_state { S_FREE, S_QUEUED, S_RUNNING, S_DONE };

struct slot {
	enum slot_state st;
	uint64_t ticket;
	char host[RESOLVE_NAME_MAX + 1];
	unsigned port;
	int socktype;
	int64_t deadline;	/* CLOCK_MONOTONIC ms */
	resolve_cb cb;
	void *arg;
	struct resolve_result res;	/* S_DONE */
};

struct resolver {
	struct loop *loop;
	int efd;		/* the worker (or an IP literal) wakes the loop */
	int tfd;		/* timerfd: the earliest deadline */
	unsigned timeout_ms;
	uint64_t last_ticket;
	pthread_t thread;
	pthread_mutex_t mu;
	/* guarded by mu */
	pthread_cond_t work;	/* a request was queued, or stop */
	pthread_cond_t gone;	/* the worker returned */
	int stop, exited;
	int refs;		/* the loop's side, the worker: the last one frees */
	struct slot slot[RESOLVE_PENDING];
};

static void
destroy(struct resolver *r)
{
	pthread_mutex_destroy(&r->mu);
	pthread_cond_destroy(&r->work);
	pthread_cond_destroy(&r->gone);
	free(r);
}

/* The oldest slot in state st (tickets grow): requests are served in order. */
static struct slot *
oldest(struct resolver *r, enum slot_state st)
{
	struct slot *best = NULL;
	size_t i;

	for (i = 0; i < RESOLVE_PENDING; i++)
		if (r->slot[i].st == st &&
		    (best == NULL || r->slot[i].ticket < best->ticket))
			best = &r->slot[i];
	return best;
}

static struct slot *
by_ticket(struct resolver *r, uint64_t ticket)
{
	size_t i;

	for (i = 0; i < RESOLVE_PENDING; i++)
		if (r->slot[i].st != S_FREE && r->slot[i].ticket == ticket)
			return &r->slot[i];
	return NULL;
}

/* Under mu, before the stop only (see the file comment). */
static void
wake_loop(struct resolver *r)
{
	uint64_t one = 1;

	if (!r->stop && write(r->efd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_warn("resolver: eventfd");
}

static int
gai_errno(int rc, int err)
{
	switch (rc) {
	case EAI_NONAME:
	case EAI_NODATA:
	case EAI_ADDRFAMILY:
		return -ENOENT;
	case EAI_AGAIN:
		return -EAGAIN;
	case EAI_MEMORY:
		return -ENOMEM;
	case EAI_SYSTEM:
		return err > 0 ? -err : -EIO;
	default:
		return -EIO;
	}
}

/*
 * getaddrinfo into a result. No service: the port is set afterwards, so
 * that nothing looks in /etc/services. No AI_ADDRCONFIG: it ignores loopback
 * addresses, so it would drop ::1 and 127.0.0.1 on a host without other
 * addresses of that family; an address of a family the host cannot reach
 * fails at once (ENETUNREACH) and the cursor moves on.
 */
static void
lookup(const char *host, unsigned port, int socktype, int flags,
    struct resolve_result *res)
{
	struct addrinfo hints, *ai = NULL;
	char buf[64];
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = socktype;
	hints.ai_flags = flags;
	errno = 0;
	rc = getaddrinfo(host, NULL, &hints, &ai);
	if (rc != 0) {
		res->err = gai_errno(rc, errno);
		snprintf(res->why, sizeof(res->why), "%s", rc == EAI_SYSTEM ?
		    strerror_r(errno, buf, sizeof(buf)) : gai_strerror(rc));
	} else if (addrs_order(&res->addrs, ai, port) == 0) {
		res->err = -ENOENT;
		snprintf(res->why, sizeof(res->why), "no IPv4 or IPv6 address");
	}
	if (ai != NULL)
		freeaddrinfo(ai);
}

static void *
worker_main(void *arg)
{
	struct resolver *r = arg;
	struct resolve_result res;
	char host[RESOLVE_NAME_MAX + 1];
	unsigned port;
	int socktype, last;
	uint64_t ticket;
	struct slot *s;

	pthread_mutex_lock(&r->mu);
	for (;;) {
		while (!r->stop && (s = oldest(r, S_QUEUED)) == NULL)
			pthread_cond_wait(&r->work, &r->mu);
		if (r->stop)
			break;
		s->st = S_RUNNING;
		memcpy(host, s->host, sizeof(host));
		port = s->port;
		socktype = s->socktype;
		ticket = s->ticket;
		pthread_mutex_unlock(&r->mu);

		lookup(host, port, socktype, 0, &res);

		pthread_mutex_lock(&r->mu);
		/* Still wanted: not cancelled, not timed out, slot not reused. */
		if ((s = by_ticket(r, ticket)) != NULL && s->st == S_RUNNING) {
			s->res = res;
			s->st = S_DONE;
			wake_loop(r);
		}
	}
	r->exited = 1;
	last = --r->refs == 0;
	pthread_cond_signal(&r->gone);
	pthread_mutex_unlock(&r->mu);
	if (last)
		destroy(r);
	return NULL;
}

/* The timerfd for the earliest deadline of a request not yet answered. */
static void
arm(struct resolver *r)
{
	int64_t first = INT64_MAX, now;
	size_t i;

	pthread_mutex_lock(&r->mu);
	for (i = 0; i < RESOLVE_PENDING; i++)
		if ((r->slot[i].st == S_QUEUED || r->slot[i].st == S_RUNNING) &&
		    r->slot[i].deadline < first)
			first = r->slot[i].deadline;
	pthread_mutex_unlock(&r->mu);
	if (first == INT64_MAX) {
		loop_timer_stop(r->tfd, "resolver: deadlines");
		return;
	}
	now = clock_mono_ms();
	loop_timer_arm(r->tfd, first > now ? first - now : 0, "resolver: deadlines");
}

/*
 * Answers, oldest first, each taken out of its slot before its callback
 * runs: the callback may ask again (and get that slot) or cancel another
 * answer still waiting, which then is not delivered.
 */
static void
deliver(struct resolver *r)
{
	struct resolve_result res;
	struct slot *s;
	resolve_cb cb;
	void *arg;

	for (;;) {
		pthread_mutex_lock(&r->mu);
		if ((s = oldest(r, S_DONE)) != NULL) {
			res = s->res;
			cb = s->cb;
			arg = s->arg;
			s->st = S_FREE;
		}
		pthread_mutex_unlock(&r->mu);
		if (s == NULL)
			break;
		cb(arg, &res);
	}
	arm(r);
}

static void
on_wake(struct loop *l, int fd, uint32_t events, void *arg)
{
	uint64_t n;

	(void)l;
	(void)events;
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_warn("resolver: eventfd");
	deliver(arg);
}

/* Requests past their deadline are answered now; the worker's answer is dropped. */
static void
on_timer(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct resolver *r = arg;
	int64_t now = clock_mono_ms();
	struct slot *s;
	size_t i;

	(void)l;
	(void)events;
	loop_timer_ack(fd);
	pthread_mutex_lock(&r->mu);
	for (i = 0; i < RESOLVE_PENDING; i++) {
		s = &r->slot[i];
		if ((s->st != S_QUEUED && s->st != S_RUNNING) || s->deadline > now)
			continue;
		memset(&s->res, 0, sizeof(s->res));
		s->res.err = -ETIMEDOUT;
		snprintf(s->res.why, sizeof(s->res.why), "no answer within %u ms%s",
		    r->timeout_ms, s->st == S_QUEUED ? " (waiting behind another "
		    "lookup)" : "");
		s->st = S_DONE;
	}
	pthread_mutex_unlock(&r->mu);
	deliver(r);
}

int
resolve_start(struct loop *l, unsigned timeout_ms, struct resolver **out)
{
	struct resolver *r;
	pthread_condattr_t ca;
	sigset_t all, old;
	int rc;

	*out = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -ENOMEM;
	r->loop = l;
	r->timeout_ms = timeout_ms > 0 ? timeout_ms : RESOLVE_TIMEOUT_MS;
	r->refs = 1;
	pthread_mutex_init(&r->mu, NULL);
	pthread_cond_init(&r->work, NULL);
	/* resolve_stop's bounded wait must not move with the wall clock. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&r->gone, &ca);
	pthread_condattr_destroy(&ca);
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	rc = r->efd < 0 ? -errno : 0;
	r->tfd = rc == 0 ? loop_timer_new(CLOCK_MONOTONIC) : -1;
	if (rc == 0 && r->tfd < 0)
		rc = r->tfd;
	if (rc == 0 && (rc = loop_add(l, r->efd, EPOLLIN, on_wake, r)) == 0 &&
	    (rc = loop_add(l, r->tfd, EPOLLIN, on_timer, r)) < 0)
		loop_del(l, r->efd);
	if (rc == 0) {
		/* Signals are the loop's (signalfd): the worker takes none. */
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		rc = -pthread_create(&r->thread, NULL, worker_main, r);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (rc < 0) {
			loop_del(l, r->efd);
			loop_del(l, r->tfd);
		}
	}
	if (rc < 0) {
		if (r->efd >= 0)
			close(r->efd);
		if (r->tfd >= 0)
			close(r->tfd);
		destroy(r);
		return rc;
	}
	r->refs = 2;
	*out = r;
	return 0;
}

void
resolve_stop(struct resolver *r)
{
	struct timespec until;
	pthread_t t;
	int joined, last;

	if (r == NULL)
		return;
	loop_del(r->loop, r->efd);
	loop_del(r->loop, r->tfd);
	close(r->tfd);
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_nsec += (long)RESOLVE_STOP_WAIT_MS * 1000000;
	until.tv_sec += until.tv_nsec / 1000000000;
	until.tv_nsec %= 1000000000;
	pthread_mutex_lock(&r->mu);
	r->stop = 1;
	pthread_cond_broadcast(&r->work);
	while (!r->exited &&
	    pthread_cond_timedwait(&r->gone, &r->mu, &until) != ETIMEDOUT)
		;
	/* After the stop flag, under mu: the worker no longer writes it. */
	close(r->efd);
	joined = r->exited;
	t = r->thread;
	last = --r->refs == 0;
	pthread_mutex_unlock(&r->mu);
	/* From here on r is the worker's if it is still running. */
	if (joined) {
		pthread_join(t, NULL);
	} else {
		log_warnx("resolver: a lookup still hangs at the stop; it is left "
		    "to end on its own");
		pthread_detach(t);
	}
	if (last)
		destroy(r);
}

int
resolve_ask(struct resolver *r, const char *host, unsigned port, int socktype,
    resolve_cb cb, void *arg, uint64_t *ticket)
{
	struct resolve_result lit;
	size_t len = host != NULL ? strnlen(host, RESOLVE_NAME_MAX + 1) : 0;
	struct slot *s;

	if (len == 0 || len > RESOLVE_NAME_MAX || port > 65535 || cb == NULL ||
	    (socktype != SOCK_STREAM && socktype != SOCK_DGRAM))
		return -EINVAL;
	/* AI_NUMERICHOST never leaves the process: safe on the loop. */
	lookup(host, port, socktype, AI_NUMERICHOST, &lit);
	pthread_mutex_lock(&r->mu);
	if ((s = oldest(r, S_FREE)) == NULL) {
		pthread_mutex_unlock(&r->mu);
		return -EAGAIN;
	}
	memcpy(s->host, host, len + 1);
	s->port = port;
	s->socktype = socktype;
	s->cb = cb;
	s->arg = arg;
	s->ticket = ++r->last_ticket;
	s->deadline = clock_mono_ms() + r->timeout_ms;
	if (lit.err == 0) {
		/* Answered at the loop's next iteration, not from in here. */
		s->res = lit;
		s->st = S_DONE;
		wake_loop(r);
	} else {
		s->st = S_QUEUED;
		pthread_cond_signal(&r->work);
	}
	if (ticket != NULL)
		*ticket = s->ticket;
	pthread_mutex_unlock(&r->mu);
	arm(r);
	return 0;
}

void
resolve_cancel(struct resolver *r, uint64_t ticket)
{
	struct slot *s;

	pthread_mutex_lock(&r->mu);
	if (ticket != 0 && (s = by_ticket(r, ticket)) != NULL)
		s->st = S_FREE;
	pthread_mutex_unlock(&r->mu);
	arm(r);
}
