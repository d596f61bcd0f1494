/*
 * Reaching the platform by name: what the MQTT and the CoAP uplink share
 * between "connect" and "connected". The name is resolved off the loop
 * (resolve.h), every address it has is tried in turn (addrs.h: RFC 8305
 * order, the families interleaved), and only when a round is over (every
 * address failed, or the server answered "no") does the reconnect backoff
 * (backoff.h) start. A home with broken IPv6 and a platform name with both
 * families thus connects over IPv4 at the first round, not never.
 *
 * The uplink keeps its library and its protocol; the dial keeps the where
 * and the when. One timer drives it: the backoff, the step to the next
 * address (at once, but from the loop, never inside the library's own
 * callback: the uplink may destroy its client in ops->attempt), and each
 * attempt's deadline, so an address that swallows packets costs a bounded
 * time, not the kernel's two minutes of SYN retries.
 *
 * What the uplink reports, for the attempt under way:
 *   dial_failed   the address did not answer (refused, unreachable, reset,
 *                 no handshake): the next address is tried at once;
 *   dial_refused  the server answered and said no (TLS alert, CONNACK
 *                 refusal, DTLS credentials, CoAP 4.01): the others would say
 *                 the same, so the round ends and the backoff starts;
 *   dial_up       connected; dial_down later, when the link is lost.
 */
#ifndef WG_UPLINK_DIAL_H
#define WG_UPLINK_DIAL_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/base/addrs.h"
#include "firmware/base/loop.h"
#include "firmware/base/resolve.h"
#include "firmware/uplink/backoff.h"

#define DIAL_WHY_MAX	384

struct dial_ops {
	/*
	 * Start connecting to a (addr: its numeric form, for a library that
	 * takes a host string). 0: under way, one of dial_failed, dial_refused
	 * or dial_up follows; -errno: failed at once (call dial_failed first to
	 * say why, or the dial says "cannot start").
	 */
	int (*attempt)(void *arg, const struct addr *a, const char *addr);
	/*
	 * The attempt under way ran past its deadline: abandon it, and say why
	 * in why (e.g. "no answer within 4000 ms").
	 */
	void (*timeout)(void *arg, char *why, size_t len);
	/* The round is over without a link: one line's worth of why. */
	void (*failed)(void *arg, const char *why);
	void *arg;
};

enum dial_state { DIAL_STOPPED, DIAL_WAIT, DIAL_RESOLVING, DIAL_NEXT, DIAL_TRYING,
	DIAL_UP };

struct dial {
	struct loop *loop;
	struct resolver *res;
	struct dial_ops ops;
	char host[256];
	unsigned port;
	int socktype;
	enum dial_state st;
	int timer_fd;
	struct backoff backoff;
	uint64_t ticket;	/* the resolver's, while DIAL_RESOLVING */
	struct addrs addrs;	/* the last answer, and the cursor over it */
	int have_addrs;
	int literal;		/* host is an IP address: no names in the lines */
	char cur[ADDRS_STR_MAX];	/* the address of the attempt under way */
	size_t tried;		/* addresses tried this round */
	char why[DIAL_WHY_MAX];	/* this round's failures, "ADDR: why; ..." */
	int64_t up_since;	/* CLOCK_MONOTONIC ms of dial_up */
	int64_t last_delay;	/* the backoff delay last armed (tests, logs) */
};

/*
 * host may be a name or an IP literal (brackets stripped). socktype:
 * SOCK_STREAM or SOCK_DGRAM. Starts the first round at once. 0 or -errno.
 */
int dial_start(struct dial *d, struct loop *l, struct resolver *res,
    const char *host, unsigned port, int socktype, const struct dial_ops *ops);
void dial_stop(struct dial *d);

/* The attempt under way may take ms more (0: no deadline). */
void dial_deadline(struct dial *d, int64_t ms);
/* 1 if this round has addresses left after the one being tried. */
int dial_more(const struct dial *d);

void dial_failed(struct dial *d, const char *why);
/*
 * The attempt is to be made again at the same address, at once (the server
 * answered in a way the uplink can adapt to: a protocol version it lacks).
 */
void dial_again(struct dial *d);
void dial_refused(struct dial *d, const char *why);
void dial_up(struct dial *d);
/* A link that was up is lost: back off (how long it was up counts), again. */
void dial_down(struct dial *d);

/* The address of the attempt under way, or of the link ("" if none). */
const char *dial_addr(const struct dial *d);

#endif
