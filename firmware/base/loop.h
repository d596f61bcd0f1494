/*
 * The one event loop (epoll), small enough to read in one sitting (Redis ae.c).
 * Everything on the main thread is a callback from here: the scheduler's timerfd,
 * the workers' eventfd, libmosquitto's socket, signals (signalfd).
 */
#ifndef WG_LOOP_H
#define WG_LOOP_H

#include <stdint.h>

struct loop;

/* events: EPOLLIN / EPOLLOUT as given to loop_add / loop_mod. */
typedef void (*loop_fd_cb)(struct loop *l, int fd, uint32_t events, void *arg);
/* Called before every wait: the place to update interest (e.g. want_write). */
typedef void (*loop_prepare_cb)(struct loop *l, void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* 0 or -errno. An fd is registered at most once. */
int loop_add(struct loop *l, int fd, uint32_t events, loop_fd_cb cb, void *arg);
int loop_mod(struct loop *l, int fd, uint32_t events);
/* Safe from inside any callback, also for an fd with events pending. */
int loop_del(struct loop *l, int fd);

/* At most LOOP_PREPARE_MAX hooks; 0 or -ENOSPC. */
#define LOOP_PREPARE_MAX 4
int loop_prepare_add(struct loop *l, loop_prepare_cb cb, void *arg);

/* Runs until loop_stop(); 0, or -errno if epoll itself failed. */
int loop_run(struct loop *l);
void loop_stop(struct loop *l);

/*
 * timerfd helpers. loop_timer_after: one-shot after ms (CLOCK_MONOTONIC), or
 * periodic if every_ms > 0. loop_timer_disarm stops it. loop_timer_ack reads the
 * expiry count (call it in the callback). All return 0 or -errno except ack.
 */
int loop_timer_new(int clockid);
int loop_timer_after(int fd, int64_t ms, int64_t every_ms);
int loop_timer_disarm(int fd);
uint64_t loop_timer_ack(int fd);

/*
 * The same, for a timer the daemon cannot go on without (a reconnect, the
 * backlog's pacing, a retransmission, the scheduler): timerfd_settime fails
 * only on a broken fd or value, and a timer that silently never fires stops
 * that part for good. So these do not return an error: they fatal(), naming
 * what (the daemon is restarted; everything committed is in the store).
 */
void loop_timer_arm(int fd, int64_t ms, const char *what);
void loop_timer_stop(int fd, const char *what);

#endif
