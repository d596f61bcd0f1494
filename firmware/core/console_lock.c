/* The console's failed-login brake (console_lock.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "firmware/base/clock.h"
#include "firmware/core/console_lock.h"

int64_t
console_lock_delay_ms(int64_t k)
{
	if (k <= 0)
		return 0;
	if (k > 5)	/* 2^5 s is over the cap */
		return CONSOLE_DELAY_MAX_S * 1000;
	return INT64_C(1000) << (k - 1);
}


void
console_lock_init(struct console_lock *l, unsigned after, unsigned lockout_s,
    int64_t fails, int64_t locked_wall, const struct lock_now *now)
{
	int64_t left;

	memset(l, 0, sizeof(*l));
	l->after = after > 0 ? after : 1;
	l->lock_ms = (int64_t)lockout_s * 1000;
	l->fails = fails > 0 ? fails : 0;
	l->locked_wall = locked_wall;
	if (locked_wall != 0) {
		left = l->lock_ms;
		if (locked_wall > 0 && now->wall_valid) {
			left = locked_wall - now->wall;
			if (left > l->lock_ms)	/* the clock went back */
				left = l->lock_ms;
		}
		if (left > 0) {
			l->locked_until = now->mono + left;
		} else {
			l->locked_wall = 0;
			l->dirty = 1;
		}
	}
	if (l->locked_until == 0 && l->fails > 0)
		l->wait_until = now->mono + console_lock_delay_ms(l->fails);
}

static void
refused(struct console_lock *l, int64_t window)
{
	l->first_refusal = window != l->noted_window;
	if (l->first_refusal)
		l->noted_window = window;
	else
		l->unnoted++;
}

int
console_lock_check(struct console_lock *l, const struct lock_now *now,
    char *why, size_t len)
{
	char at[32];

	l->first_refusal = 0;
	if (l->locked_until != 0 && now->mono >= l->locked_until) {
		l->locked_until = 0;
		l->locked_wall = 0;
		l->dirty = 1;
	}
	if (l->locked_until != 0) {
		refused(l, l->locked_until);
		if (now->wall_valid)
			snprintf(why, len, "locked out until %s (%" PRId64 " failed "
			    "logins in a row)", clock_utc((now->wall + l->locked_until -
			    now->mono) / 1000, at, sizeof(at)), l->fails);
		else
			snprintf(why, len, "locked out for %" PRId64 " s more (%"
			    PRId64 " failed logins in a row)",
			    (l->locked_until - now->mono + 999) / 1000, l->fails);
		return -EACCES;
	}
	if (now->mono < l->wait_until) {
		refused(l, l->wait_until);
		snprintf(why, len, "wait %" PRId64 " s (%" PRId64 " failed login%s "
		    "in a row)", (l->wait_until - now->mono + 999) / 1000, l->fails,
		    l->fails == 1 ? "" : "s");
		return -EAGAIN;
	}
	return 0;
}

int
console_lock_result(struct console_lock *l, int ok, const struct lock_now *now)
{
	if (ok) {
		if (l->fails != 0 || l->locked_wall != 0)
			l->dirty = 1;
		l->fails = 0;
		l->wait_until = 0;
		l->locked_until = 0;
		l->locked_wall = 0;
		return 0;
	}
	l->fails++;
	l->dirty = 1;
	if (l->fails >= (int64_t)l->after) {
		l->locked_until = now->mono + l->lock_ms;
		l->locked_wall = now->wall_valid ? now->wall + l->lock_ms : -1;
		return 1;
	}
	l->wait_until = now->mono + console_lock_delay_ms(l->fails);
	return 0;
}

int
console_cred_window(int64_t nbf, int64_t exp, const struct lock_now *now,
    int64_t known_ms, char *why, size_t len)
{
	int64_t t = now->wall / 1000;
	char a[32], b[32];

	if (!now->wall_valid) {
		if (exp * 1000 > known_ms)
			return 0;
		snprintf(why, len, "expired at %s, before %s, the latest time this "
		    "gateway has known (its clock is not synchronised)",
		    clock_utc(exp, a, sizeof(a)), clock_utc(known_ms / 1000, b, sizeof(b)));
		return -EACCES;
	}
	if (t >= exp) {
		snprintf(why, len, "expired at %s", clock_utc(exp, a, sizeof(a)));
		return -EACCES;
	}
	if (t + CONSOLE_NBF_SKEW_S < nbf) {
		snprintf(why, len, "valid only from %s (the gateway's clock says %s)",
		    clock_utc(nbf, a, sizeof(a)), clock_utc(t, b, sizeof(b)));
		return -EACCES;
	}
	return 0;
}
