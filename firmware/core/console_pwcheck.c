/*
 * Password checks in a thread (console_pwcheck.h).
 *
 * The job is shared by the thread and the loop and freed by whichever
 * lets go of it last: normally the loop, after done; the thread itself if
 * the console stopped (abandoned) while it derived. Nothing waits for the
 * thread: a stop must not hang 50 s behind a check of 10 M rounds.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "firmware/core/console_pwcheck.h"

/* PBKDF2 needs a few KiB of stack; the default 8 MiB is address space wasted. */
#define THREAD_STACK	(256 * 1024)

struct pw_check {
	pthread_mutex_t mu;
	int efd;
	struct loop *loop;
	struct pwhash h;
	char pw[PWHASH_PASSWORD_MAX];
	size_t len;
	int rc;
	int finished, abandoned;
	void (*done)(void *arg, int rc);
	void *arg;
};

static void
job_free(struct pw_check *p)
{
	explicit_bzero(p->pw, sizeof(p->pw));
	close(p->efd);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

static void *
run(void *arg)
{
	struct pw_check *p = arg;
	uint64_t one = 1;
	int rc = pwhash_check(&p->h, p->pw, p->len), gone;

	explicit_bzero(p->pw, sizeof(p->pw));
	pthread_mutex_lock(&p->mu);
	p->rc = rc;
	p->finished = 1;
	gone = p->abandoned;
	if (!gone && write(p->efd, &one, sizeof(one)) != sizeof(one))
		p->rc = -EIO;	/* the loop would never hear: cannot happen */
	pthread_mutex_unlock(&p->mu);
	if (gone)
		job_free(p);
	return NULL;
}

static void
on_done(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct pw_check *p = arg;
	uint64_t n;
	int rc;

	(void)events;
	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
	pthread_mutex_lock(&p->mu);
	rc = p->finished ? p->rc : -EIO;
	pthread_mutex_unlock(&p->mu);
	loop_del(l, fd);
	p->done(p->arg, rc);
	job_free(p);
}

int
pw_check_start(struct loop *l, const struct pwhash *h, const char *pw,
    size_t len, void (*done)(void *arg, int rc), void *arg,
    struct pw_check **out)
{
	struct pw_check *p;
	pthread_attr_t at;
	pthread_t t;
	int rc;

	*out = NULL;
	if (len > sizeof(p->pw))
		return -EMSGSIZE;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -ENOMEM;
	if ((p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		rc = -errno;
		free(p);
		return rc;
	}
	pthread_mutex_init(&p->mu, NULL);
	p->loop = l;
	p->h = *h;
	memcpy(p->pw, pw, len);
	p->len = len;
	p->done = done;
	p->arg = arg;
	if ((rc = loop_add(l, p->efd, EPOLLIN, on_done, p)) < 0) {
		job_free(p);
		return rc;
	}
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, THREAD_STACK);
	rc = pthread_create(&t, &at, run, p);
	pthread_attr_destroy(&at);
	if (rc != 0) {
		loop_del(l, p->efd);
		job_free(p);
		return -rc;
	}
	*out = p;
	return 0;
}

void
pw_check_abandon(struct pw_check *p)
{
	int finished;

	if (p == NULL)
		return;
	loop_del(p->loop, p->efd);
	pthread_mutex_lock(&p->mu);
	finished = p->finished;
	p->abandoned = 1;
	pthread_mutex_unlock(&p->mu);
	if (finished)
		job_free(p);
}
