#include "firmware/core/sched.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "firmware/base/log.h"

#define YEAR_S	(366 * 24 * 3600)

struct sched {
	struct loop *loop;
	int fd;			/* CLOCK_BOOTTIME: the next wake */
	int set_fd;		/* CLOCK_REALTIME, CANCEL_ON_SET: "the clock was set" */
	struct sched_state st;
	struct sched_events ev;
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

/*
 * The first tick is the next aligned time after now: `last` starts as the one
 * at or before now, which is never fired.
 */
void
sched_init(struct sched_state *st, int64_t interval_ms, const struct clock_pair *p)
{
	int64_t now;

	memset(st, 0, sizeof(*st));
	st->interval = interval_ms;
	st->valid = clock_wall_valid(p->wall);
	now = st->valid ? p->wall : p->boot;
	st->last = sched_tick(now, interval_ms);
	st->last_due = p->boot - (now - st->last);
	st->aligned = 1;
	clock_watch(&st->watch, p);
}

/* Before the wall clock is valid: aligned boot-clock ticks, held. */
static void
decide_held(struct sched_state *st, const struct clock_pair *p, struct sched_wake *w)
{
	int64_t iv = st->interval, t = sched_tick(p->boot, iv);

	if (t > st->last) {
		w->fire = 1;
		w->held = 1;
		w->tick = t;
		w->missed = (uint64_t)((t - st->last) / iv - 1);
		st->last = t;
		st->last_due = t;
	}
	w->wait = sched_next(p->boot, iv) - p->boot;
}

/*
 * Ticks that did not fire between the last one and t: those that came due on
 * the boot clock while we did not wake were missed (a stall, or a suspend);
 * the rest were jumped over by a forward step.
 */
static void
count_gap(const struct sched_state *st, const struct clock_pair *p, int64_t t,
    struct sched_wake *w)
{
	int64_t iv = st->interval, gap, due;

	if (!st->aligned)
		return;		/* last is a repaired held stamp: no grid to count on */
	gap = (t - st->last) / iv - 1;
	due = (p->boot - st->last_due) / iv - 1;
	if (gap <= 0)
		return;
	if (due < 0)
		due = 0;
	w->missed = (uint64_t)(due < gap ? due : gap);
	w->skipped = (uint64_t)gap - w->missed;
}

void
sched_decide(struct sched_state *st, const struct clock_pair *p, struct sched_wake *w)
{
	int64_t iv = st->interval, now = p->wall, t, due, late;

	memset(w, 0, sizeof(*w));
	w->step = clock_watch(&st->watch, p);
	if (!st->valid && clock_wall_valid(p->wall)) {
		/* The last held tick, repaired, bounds the first valid one. */
		st->valid = 1;
		st->aligned = 0;
		w->became_valid = 1;
		w->offset = p->wall - p->boot;
		st->last = clock_repair(st->last, w->offset);
	}
	if (!st->valid) {
		decide_held(st, p, w);
		return;
	}
	t = sched_tick(now, iv);
	if (t > st->last) {
		/*
		 * Normally a timer wake at an aligned time. At a wake that saw the
		 * clock step or become valid, t may lie up to an interval before now:
		 * a cycle that was due on the boot clock is stamped with it only if it
		 * is less than half an interval old; otherwise the schedule re-aligns
		 * to the next aligned time, which is then less than half an interval
		 * away. A stamp is thus never more than half an interval off.
		 */
		if ((w->step == 0 && !w->became_valid) ||
		    (p->boot >= st->last_due + iv && now - t <= iv / 2)) {
			w->fire = 1;
			w->tick = t;
			count_gap(st, p, t, w);
			st->last = t;
			st->last_due = p->boot - (now - t);
			st->aligned = 1;
		}
	} else if (sched_next(now, iv) <= st->last) {
		/*
		 * Behind the last tick (a backward step): cycles go on at the boot
		 * clock's pace, stamped half an interval apart, so the stamps catch up
		 * with the wall clock after twice the step (stamps advancing a whole
		 * interval would stay ahead by the step forever).
		 */
		due = st->last_due + iv;
		if (p->boot >= due) {
			late = (p->boot - due) / iv;
			w->fire = 1;
			w->ahead = 1;
			w->missed = (uint64_t)late;
			w->tick = st->last + (late + 1) * (iv / 2 > 0 ? iv / 2 : 1);
			st->last = w->tick;
			st->last_due = due + late * iv;
		}
	}
	/* else: woken a little before the next aligned tick (or a small step back) */
	if (sched_next(now, iv) > st->last)
		w->wait = sched_next(now, iv) - now;
	else
		w->wait = st->last_due + iv - p->boot;
	if (w->wait < 0)
		w->wait = 0;
}

static void
arm_set_watch(struct sched *s)
{
	struct itimerspec its = { 0 };
	struct timespec now;

	if (s->set_fd < 0)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	its.it_value.tv_sec = now.tv_sec + YEAR_S;
	if (timerfd_settime(s->set_fd, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET,
	    &its, NULL) == -1)
		log_warn("scheduler: clock-set watch");
}

static void
log_step(const struct sched *s, const struct sched_wake *w)
{
	double secs = (double)w->step / 1000.0;

	if (w->became_valid)
		log_info("wall clock is valid now (stepped %+.3f s); held readings are "
		    "repaired by %+lld ms", secs, (long long)w->offset);
	else if (!s->st.valid)
		log_warnx("wall clock stepped %+.3f s and is still before %lld (unix ms): "
		    "readings stay held", secs, (long long)clock_valid_from_ms());
	else if (w->step > 0)
		log_warnx("wall clock stepped forward %.3f s: the schedule re-aligns, the "
		    "ticks in between are skipped", secs);
	else
		log_warnx("wall clock stepped back %.3f s: cycles go on every %lld ms, "
		    "stamped %lld ms apart after the last one until the stamps meet the "
		    "wall clock", -secs, (long long)s->st.interval,
		    (long long)(s->st.interval / 2 > 0 ? s->st.interval / 2 : 1));
}

static void
wake(struct sched *s)
{
	struct clock_pair p;
	struct sched_wake w;

	clock_read(&p);
	sched_decide(&s->st, &p, &w);
	if (w.step != 0 || w.became_valid)
		log_step(s, &w);
	if (w.became_valid && s->ev.valid != NULL)
		s->ev.valid(s->ev.arg, w.offset);
	if (w.fire)
		s->ev.tick(s->ev.arg, &w);
	/* Without it no cycle is ever polled again: no way on. */
	loop_timer_arm(s->fd, w.wait, "scheduler");
}

static void
on_timer(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)events;
	loop_timer_ack(fd);
	wake(arg);
}

/* Prompt notice of a clock step (NTP); a step is also found at the next wake. */
static void
on_set(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct sched *s = arg;
	uint64_t n;

	(void)l;
	(void)events;
	if (read(fd, &n, sizeof(n)) == -1 && errno == ECANCELED)
		wake(s);
	arm_set_watch(s);
}

int
sched_start(struct loop *l, int64_t interval_ms, const struct sched_events *ev,
    struct sched **out)
{
	struct clock_pair p;
	struct sched *s;
	int rc;

	if (interval_ms <= 0)
		return -EINVAL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return -ENOMEM;
	s->loop = l;
	s->ev = *ev;
	s->set_fd = -1;
	clock_read(&p);
	sched_init(&s->st, interval_ms, &p);
	if ((s->fd = loop_timer_new(CLOCK_BOOTTIME)) < 0) {
		rc = s->fd;
		free(s);
		return rc;
	}
	if ((rc = loop_timer_after(s->fd, sched_next(s->st.valid ? p.wall : p.boot,
	    interval_ms) - (s->st.valid ? p.wall : p.boot), 0)) < 0 ||
	    (rc = loop_add(l, s->fd, EPOLLIN, on_timer, s)) < 0)
		goto fail;
	/* Optional: without it a step is still found at the next wake. */
	if ((s->set_fd = loop_timer_new(CLOCK_REALTIME)) >= 0) {
		arm_set_watch(s);
		if (loop_add(l, s->set_fd, EPOLLIN, on_set, s) < 0) {
			close(s->set_fd);
			s->set_fd = -1;
		}
	}
	*out = s;
	return 0;
fail:
	close(s->fd);
	free(s);
	return rc;
}

void
sched_stop(struct sched *s)
{
	if (s == NULL)
		return;
	loop_del(s->loop, s->fd);
	close(s->fd);
	if (s->set_fd >= 0) {
		loop_del(s->loop, s->set_fd);
		close(s->set_fd);
	}
	free(s);
}
