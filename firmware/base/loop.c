#include "firmware/base/loop.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "firmware/base/log.h"

#define LOOP_EVENTS 32

struct handler {
	int fd;
	int dead;		/* deleted during this iteration: skip, free later */
	loop_fd_cb cb;
	void *arg;
	struct handler *next;	/* all live handlers, or the graveyard */
};

struct loop {
	int ep;
	int stop;
	struct handler *handlers;
	struct handler *graveyard;
	struct {
		loop_prepare_cb cb;
		void *arg;
	} prepare[LOOP_PREPARE_MAX];
	int n_prepare;
};

struct loop *
loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return NULL;
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	if (l->ep == -1) {
		free(l);
		return NULL;
	}
	return l;
}

static void
bury(struct handler **list)
{
	struct handler *h, *next;

	for (h = *list; h != NULL; h = next) {
		next = h->next;
		free(h);
	}
	*list = NULL;
}

void
loop_free(struct loop *l)
{
	if (l == NULL)
		return;
	bury(&l->handlers);
	bury(&l->graveyard);
	close(l->ep);
	free(l);
}

static struct handler *
find(struct loop *l, int fd)
{
	struct handler *h;

	for (h = l->handlers; h != NULL; h = h->next)
		if (h->fd == fd)
			return h;
	return NULL;
}

int
loop_add(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg)
{
	struct epoll_event ev = { .events = events };
	struct handler *h;

	if (find(l, fd) != NULL)
		return -EEXIST;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -ENOMEM;
	h->fd = fd;
	h->cb = cb;
	h->arg = arg;
	ev.data.ptr = h;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
		int err = errno;

		free(h);
		return -err;
	}
	h->next = l->handlers;
	l->handlers = h;
	return 0;
}

int
loop_mod(struct loop *l, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events };
	struct handler *h = find(l, fd);

	if (h == NULL)
		return -ENOENT;
	ev.data.ptr = h;
	return epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev) == -1 ? -errno : 0;
}

/*
 * The handler may still be referenced by events already returned in this
 * iteration, so it is marked dead and moved to a graveyard freed after the batch.
 */
int
loop_del(struct loop *l, int fd)
{
	struct handler **pp, *h;

	for (pp = &l->handlers; (h = *pp) != NULL; pp = &h->next) {
		if (h->fd != fd)
			continue;
		*pp = h->next;
		epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
		h->dead = 1;
		h->next = l->graveyard;
		l->graveyard = h;
		return 0;
	}
	return -ENOENT;
}

int
loop_prepare_add(struct loop *l, loop_prepare_cb cb, void *arg)
{
	if (l->n_prepare == LOOP_PREPARE_MAX)
		return -ENOSPC;
	l->prepare[l->n_prepare].cb = cb;
	l->prepare[l->n_prepare].arg = arg;
	l->n_prepare++;
	return 0;
}

int
loop_run(struct loop *l)
{
	struct epoll_event evs[LOOP_EVENTS];
	int i, n;

	l->stop = 0;
	while (!l->stop) {
		for (i = 0; i < l->n_prepare; i++)
			l->prepare[i].cb(l, l->prepare[i].arg);
		n = epoll_wait(l->ep, evs, LOOP_EVENTS, -1);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (i = 0; i < n; i++) {
			struct handler *h = evs[i].data.ptr;

			if (!h->dead)
				h->cb(l, h->fd, evs[i].events, h->arg);
		}
		bury(&l->graveyard);
	}
	return 0;
}

void
loop_stop(struct loop *l)
{
	l->stop = 1;
}

int
loop_timer_new(int clockid)
{
	int fd = timerfd_create(clockid, TFD_NONBLOCK | TFD_CLOEXEC);

	return fd == -1 ? -errno : fd;
}

static struct timespec
ms_ts(int64_t ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000 };

	return ts;
}

int
loop_timer_after(int fd, int64_t ms, int64_t every_ms)
{
	struct itimerspec its = { 0 };

	/* A zero it_value would disarm: the shortest real delay is 1 ns. */
	its.it_value = ms > 0 ? ms_ts(ms) : (struct timespec){ 0, 1 };
	if (every_ms > 0)
		its.it_interval = ms_ts(every_ms);
	return timerfd_settime(fd, 0, &its, NULL) == -1 ? -errno : 0;
}

int
loop_timer_disarm(int fd)
{
	struct itimerspec its = { 0 };

	return timerfd_settime(fd, 0, &its, NULL) == -1 ? -errno : 0;
}

void
loop_timer_arm(int fd, int64_t ms, const char *what)
{
	int rc;

	if ((rc = loop_timer_after(fd, ms, 0)) < 0) {
		errno = -rc;
		fatal("%s: cannot arm its timer", what);
	}
}

void
loop_timer_stop(int fd, const char *what)
{
	int rc;

	if ((rc = loop_timer_disarm(fd)) < 0) {
		errno = -rc;
		fatal("%s: cannot stop its timer", what);
	}
}

uint64_t
loop_timer_ack(int fd)
{
	uint64_t n = 0;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return 0;
	return n;
}
