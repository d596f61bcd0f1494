/*
 * Name resolution off the event loop. getaddrinfo blocks: on LTE with a dead
 * DNS server for tens of seconds, and a loop that waits for it commits no
 * poll cycle meanwhile. So it runs in one worker thread that hands the
 * answer back to the loop through an eventfd (the pattern of poller.c); the
 * caller's callback runs on the loop, later, never from inside resolve_ask.
 *
 * An IP literal ("127.0.0.1", "::1", "fe80::1%eth0"; brackets stripped by
 * the caller) needs no lookup: it is answered on the loop without the
 * worker, still through the callback, at the loop's next iteration.
 *
 * Bounds: at most RESOLVE_PENDING requests at once (the uplinks ask one name
 * each); every request is answered within its timeout, counted from
 * resolve_ask, with the addresses or with -ETIMEDOUT. One worker means one
 * lookup at a time: while a hung getaddrinfo holds the worker, later requests
 * wait in the queue, and those it does not reach in time are answered with
 * -ETIMEDOUT at their own deadline. The hung lookup's answer, if it comes,
 * is discarded, and the worker goes on with the queue. A lookup cannot be
 * interrupted (see resolve.c); a timeout frees its caller, not the worker.
 *
 * Everything here is called on the loop's thread only.
 */
#ifndef WG_BASE_RESOLVE_H
#define WG_BASE_RESOLVE_H

#include <stdint.h>

#include "firmware/base/addrs.h"
#include "firmware/base/loop.h"

#define RESOLVE_PENDING		4	/* requests asked and not yet answered */
#define RESOLVE_NAME_MAX	253	/* RFC 1035's longest name, without the root dot */
#define RESOLVE_TIMEOUT_MS	30000	/* default per request */
/*
 * How long resolve_stop waits for the worker; a worker still inside
 * getaddrinfo then is left behind (detached) and frees its part itself.
 */
#define RESOLVE_STOP_WAIT_MS	200

struct resolve_result {
	/*
	 * 0, or: -ENOENT no such name (or no IPv4/IPv6 address for it),
	 * -EAGAIN temporary failure (no DNS answer: the usual one offline),
	 * -ETIMEDOUT no answer within the timeout, -ENOMEM, -EIO other.
	 */
	int err;
	char why[96];		/* err != 0: for the log line (gai_strerror's words) */
	struct addrs addrs;	/* err == 0: n >= 1, in the order to try, cursor at 0 */
};

/*
 * Runs on the loop. r is valid during the call only: copy r->addrs to keep
 * it (it is the cursor, addrs.h). The callback may call resolve_ask and
 * resolve_cancel, not resolve_stop.
 */
typedef void (*resolve_cb)(void *arg, const struct resolve_result *r);

struct resolver;

/*
 * Starts the worker and joins the loop (an eventfd and a timerfd).
 * timeout_ms: per request, 0 for RESOLVE_TIMEOUT_MS. 0 or -errno.
 */
int resolve_start(struct loop *l, unsigned timeout_ms, struct resolver **out);

/*
 * Stops within about RESOLVE_STOP_WAIT_MS whatever the worker does. Pending
 * callbacks do not run. NULL is a no-op.
 */
void resolve_stop(struct resolver *r);

/*
 * Asks for host's addresses (port set in each; socktype SOCK_STREAM or
 * SOCK_DGRAM); cb(arg, result) runs on the loop later, exactly once unless
 * cancelled. *ticket (if not NULL) names the request for resolve_cancel;
 * never 0. Does not block. 0, or -EINVAL (empty name, longer than
 * RESOLVE_NAME_MAX, port > 65535, other socktype, no cb), or -EAGAIN
 * (already RESOLVE_PENDING requests: ask again later).
 */
int resolve_ask(struct resolver *r, const char *host, unsigned port, int socktype,
    resolve_cb cb, void *arg, uint64_t *ticket);

/*
 * The callback of this request will not run (the uplink stopped or moved
 * on). A lookup the worker already runs goes on; its answer is discarded.
 * An unknown or answered ticket, or 0, is a no-op.
 */
void resolve_cancel(struct resolver *r, uint64_t ticket);

#endif
