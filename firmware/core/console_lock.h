/*
 * The console's failed-login brake (docs/console.md "Login"): global to the
 * gateway, not per connection, the same for every way of logging in.
 *
 * After the k-th failure in a row, attempts are refused for
 * min(2^(k-1), 30) s; from the lockout_after-th on, for lockout_s. A
 * success resets it. Pure (the clocks are the caller's), so the timing is
 * tested with a fake clock (tests/unit/test_console_lock.c); the caller
 * keeps fails and the lockout's end in the store (dirty says when).
 *
 * The running lock is timed by the monotonic clock: a wall clock that NTP
 * steps neither ends it early nor makes it last for ever. Across a restart
 * only the wall clock is left, so its end is kept in wall ms: a restart
 * with a synchronised clock locks for what was left (never more than
 * lockout_s), one without (the end cannot be judged) locks for lockout_s
 * again. A restart never shortens a lock or skips a delay.
 */
#ifndef WG_CONSOLE_LOCK_H
#define WG_CONSOLE_LOCK_H

#include <stddef.h>
#include <stdint.h>

#define CONSOLE_DELAY_MAX_S	30

struct lock_now {
	int64_t mono;		/* CLOCK_MONOTONIC ms */
	int64_t wall;		/* unix ms */
	int wall_valid;		/* clock_wall_valid(wall) */
};

struct console_lock {
	unsigned after;		/* lockout_after */
	int64_t lock_ms;	/* lockout_s, ms */
	int64_t fails;		/* failed logins in a row */
	int64_t wait_until;	/* mono ms: no attempt before; 0: none */
	int64_t locked_until;	/* mono ms: locked out before; 0: not */
	int64_t locked_wall;	/* the lock's end, wall ms, as kept; -1: the
				 * wall clock was not valid; 0: no lock */
	int dirty;		/* fails or locked_wall changed: keep them */
	/* refusals: the first of each wait is reported, the rest counted */
	int64_t noted_window;
	int64_t unnoted;
	int first_refusal;	/* the last check's refusal was the first */
};

/* The wait after k failures in a row, ms. */
int64_t console_lock_delay_ms(int64_t k);

/* At start, from what was kept (0, 0 if nothing was). */
void console_lock_init(struct console_lock *l, unsigned after,
    unsigned lockout_s, int64_t fails, int64_t locked_wall,
    const struct lock_now *now);

/*
 * May an attempt be made now? 0; or -EAGAIN ("wait 4 s (3 failed logins in
 * a row)") or -EACCES ("locked out until 2026-12-06T18:25:00Z (5 failed
 * logins in a row)") with why. l->first_refusal is 1 for the first refusal
 * of a wait or lock, 0 for the ones after it (they are counted in
 * l->unnoted).
 */
int console_lock_check(struct console_lock *l, const struct lock_now *now,
    char *why, size_t len);

/* An attempt's outcome: 1 if this failure starts a lockout, else 0. */
int console_lock_result(struct console_lock *l, int ok,
    const struct lock_now *now);

/*
 * A technician credential's window [nbf, exp) (unix s) against the clock.
 * Synchronised: now within it (nbf with 60 s of grace for the fleet's
 * clock). Not: nbf cannot be judged at all, and exp only against known_ms,
 * the latest wall time this gateway has known to be true (a credential
 * that expired before it is refused; a later one is taken, and the who
 * line says the clock was not synchronised). 0, or -EACCES with why.
 */
#define CONSOLE_NBF_SKEW_S	60
int console_cred_window(int64_t nbf, int64_t exp, const struct lock_now *now,
    int64_t known_ms, char *why, size_t len);

#endif
