#include "firmware/uplink/dial.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "firmware/base/clock.h"
#include "firmware/base/log.h"

static void
arm(struct dial *d, enum dial_state st, int64_t ms)
{
	d->st = st;
	/* 0 would disarm a timerfd: "at once" is the next loop iteration. */
	loop_timer_arm(d->timer_fd, ms > 0 ? ms : 1, "uplink connection");
}

static void
disarm(struct dial *d)
{
	loop_timer_stop(d->timer_fd, "uplink connection");
}

/* The round is over: say why, back off (up_ms: how long a lost link was up). */
static void
round_over(struct dial *d, const char *why, int64_t up_ms)
{
	if (why != NULL)
		d->ops.failed(d->ops.arg, why);
	d->last_delay = backoff_next(&d->backoff, up_ms);
	d->cur[0] = '\0';
	arm(d, DIAL_WAIT, d->last_delay);
}

/* One failure of this round, "ADDR: why" unless the host is that address. */
static void
note(struct dial *d, const char *why)
{
	size_t at = strlen(d->why);

	if (at + 4 >= sizeof(d->why))
		return;
	if (d->literal || d->cur[0] == '\0')
		snprintf(d->why + at, sizeof(d->why) - at, "%s%s", at ? "; " : "",
		    why);
	else
		snprintf(d->why + at, sizeof(d->why) - at, "%s%s: %s", at ? "; " : "",
		    d->cur, why);
}

/* The next address of this round, or the round is over. */
static void
try_next(struct dial *d)
{
	const struct addr *a;

	while ((a = addrs_next(&d->addrs)) != NULL) {
		if (addrs_str(a, d->cur, sizeof(d->cur)) < 0)
			continue;
		d->tried++;
		d->st = DIAL_TRYING;
		disarm(d);
		if (d->ops.attempt(d->ops.arg, a, d->cur) == 0)
			return;
		if (d->st != DIAL_TRYING)
			return;		/* the uplink said what happened */
		note(d, "cannot start a connection");
	}
	round_over(d, d->why, 0);
}

static void
on_resolved(void *arg, const struct resolve_result *r)
{
	struct dial *d = arg;
	char why[DIAL_WHY_MAX];

	d->ticket = 0;
	if (r->err != 0) {
		if (!d->have_addrs) {
			snprintf(why, sizeof(why), "cannot resolve %s: %s", d->host,
			    r->why);
			round_over(d, why, 0);
			return;
		}
		/* DNS down, the platform maybe not: the last answer is tried. */
		log_debug("dial: cannot resolve %s (%s): trying its last known "
		    "addresses", d->host, r->why);
		addrs_rewind(&d->addrs);
	} else {
		d->addrs = r->addrs;
		d->have_addrs = 1;
	}
	try_next(d);
}

/* A round: ask for the addresses (an IP literal is answered at once). */
static void
begin_round(struct dial *d)
{
	int rc;

	d->why[0] = '\0';
	d->cur[0] = '\0';
	d->tried = 0;
	d->st = DIAL_RESOLVING;
	if ((rc = resolve_ask(d->res, d->host, d->port, d->socktype, on_resolved, d,
	    &d->ticket)) < 0) {
		d->ticket = 0;
		round_over(d, rc == -EAGAIN ? "the resolver is busy" :
		    "cannot ask the resolver", 0);
	}
}

static void
on_timer(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct dial *d = arg;
	char why[DIAL_WHY_MAX];

	(void)l;
	(void)events;
	loop_timer_ack(fd);
	switch (d->st) {
	case DIAL_WAIT:
		begin_round(d);
		break;
	case DIAL_NEXT:
		try_next(d);
		break;
	case DIAL_TRYING:
		why[0] = '\0';
		d->ops.timeout(d->ops.arg, why, sizeof(why));
		dial_failed(d, why[0] != '\0' ? why : "no answer in time");
		break;
	default:
		break;
	}
}

int
dial_start(struct dial *d, struct loop *l, struct resolver *res,
    const char *host, unsigned port, int socktype, const struct dial_ops *ops)
{
	struct addrinfo hints, *ai;
	int rc;

	memset(d, 0, sizeof(*d));
	d->timer_fd = -1;
	if (strlen(host) >= sizeof(d->host) || res == NULL)
		return -EINVAL;
	d->loop = l;
	d->res = res;
	d->ops = *ops;
	snprintf(d->host, sizeof(d->host), "%s", host);
	d->port = port;
	d->socktype = socktype;
	memset(&hints, 0, sizeof(hints));
	hints.ai_flags = AI_NUMERICHOST;
	if (getaddrinfo(host, NULL, &hints, &ai) == 0) {
		d->literal = 1;
		freeaddrinfo(ai);
	}
	backoff_init(&d->backoff);
	if ((d->timer_fd = loop_timer_new(CLOCK_MONOTONIC)) < 0)
		return d->timer_fd;
	if ((rc = loop_add(l, d->timer_fd, EPOLLIN, on_timer, d)) < 0) {
		close(d->timer_fd);
		d->timer_fd = -1;
		return rc;
	}
	begin_round(d);
	return 0;
}

void
dial_stop(struct dial *d)
{
	if (d->ticket != 0)
		resolve_cancel(d->res, d->ticket);
	d->ticket = 0;
	if (d->timer_fd >= 0) {
		loop_del(d->loop, d->timer_fd);
		close(d->timer_fd);
		d->timer_fd = -1;
	}
	d->st = DIAL_STOPPED;
}

void
dial_deadline(struct dial *d, int64_t ms)
{
	if (d->st != DIAL_TRYING)
		return;
	if (ms > 0)
		arm(d, DIAL_TRYING, ms);
	else
		disarm(d);
}

int
dial_more(const struct dial *d)
{
	return d->addrs.next < d->addrs.n;
}

void
dial_failed(struct dial *d, const char *why)
{
	if (d->st != DIAL_TRYING)
		return;		/* one failure is reported once */
	note(d, why);
	arm(d, DIAL_NEXT, 0);
}

void
dial_again(struct dial *d)
{
	if (d->st != DIAL_TRYING || d->addrs.next == 0)
		return;
	d->addrs.next--;
	d->tried--;
	arm(d, DIAL_NEXT, 0);
}

void
dial_refused(struct dial *d, const char *why)
{
	if (d->st != DIAL_TRYING)
		return;
	d->why[0] = '\0';
	note(d, why);
	round_over(d, d->why, 0);
}

void
dial_up(struct dial *d)
{
	if (d->st != DIAL_TRYING)
		return;
	disarm(d);
	d->st = DIAL_UP;
	d->up_since = clock_mono_ms();
}

void
dial_down(struct dial *d)
{
	if (d->st != DIAL_UP)
		return;
	round_over(d, NULL, clock_mono_ms() - d->up_since);
}

const char *
dial_addr(const struct dial *d)
{
	return d->cur;
}
