#include "firmware/core/sched.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "firmware/core/log.h"

struct sched {
	struct loop *loop;
	int fd;
	int64_t interval;
	int64_t last_tick;
	sched_cb cb;
	void *arg;
};

int64_t
sched_tick(int64_t now_ms, int64_t interval_ms)
{
	int64_t r = now_ms % interval_ms;

	if (r < 0)
		r += interval_ms;
	return now_ms - r;
}

int64_t
sched_next(int64_t now_ms, int64_t interval_ms)
{
	return sched_tick(now_ms, interval_ms) + interval_ms;
}

int64_t
sched_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
arm(struct sched *s)
{
	int64_t next = sched_next(sched_now_ms(), s->interval);
	struct itimerspec its = { 0 };

	its.it_value.tv_sec = next / 1000;
	its.it_value.tv_nsec = (next % 1000) * 1000000;
	if (timerfd_settime(s->fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
	    &its, NULL) == -1)
		return -errno;
	return 0;
}

/*
 * One expiry = one cycle, stamped with the aligned tick (not the firing time, which
 * is a few ms late): every reading of a cycle shares the timestamp, which is what a
 * platform joining homes wants and what makes timestamps cost ~1 byte on the wire.
 * Ticks that passed without firing (suspend, clock step forward) are reported as
 * missed, not replayed.
 */
static void
on_timer(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct sched *s = arg;
	uint64_t n;
	int64_t tick, missed = 0;

	(void)l;
	(void)events;
	if (read(fd, &n, sizeof(n)) == -1) {
		if (errno == ECANCELED)
			log_info("wall clock was set; realigning the poll schedule");
		else if (errno != EAGAIN)
			log_warn("scheduler timer");
		if (arm(s) < 0)
			log_warn("scheduler: re-arming");
		return;
	}
	tick = sched_tick(sched_now_ms(), s->interval);
	if (s->last_tick != 0 && tick > s->last_tick)
		missed = (tick - s->last_tick) / s->interval - 1;
	if (tick != s->last_tick) {
		s->last_tick = tick;
		s->cb(tick, (uint64_t)missed, s->arg);
	}
	if (arm(s) < 0)
		log_warn("scheduler: re-arming");
}

int
sched_start(struct loop *l, int64_t interval_ms, sched_cb cb, void *arg,
    struct sched **out)
{
	struct sched *s;
	int rc;

	if (interval_ms <= 0)
		return -EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->loop = l;
	s->interval = interval_ms;
	s->cb = cb;
	s->arg = arg;
	if ((s->fd = loop_timer_new(CLOCK_REALTIME)) < 0) {
		rc = s->fd;
		free(s);
		return rc;
	}
	if ((rc = arm(s)) < 0 || (rc = loop_add(l, s->fd, EPOLLIN, on_timer, s)) < 0) {
		close(s->fd);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void
sched_stop(struct sched *s)
{
	if (s == NULL)
		return;
	loop_del(s->loop, s->fd);
	close(s->fd);
	free(s);
}
