/*
 * Reconnect backoff shared by the uplinks: exponential from BACKOFF_MIN_MS to
 * BACKOFF_MAX_MS, with jitter, so 100,000 gateways that lost the platform at
 * the same moment do not come back in step. Only a link that stayed up for
 * BACKOFF_STABLE_MS resets it: a server that accepts and then drops us (client
 * id taken, ACL kick, overload, a refusing CoAP platform) is not hammered.
 */
#ifndef WG_UPLINK_BACKOFF_H
#define WG_UPLINK_BACKOFF_H

#include <stdint.h>

#define BACKOFF_MIN_MS		500
#define BACKOFF_MAX_MS		60000
#define BACKOFF_STABLE_MS	60000	/* a link up this long resets the backoff */

struct backoff {
	int64_t ms;		/* the next delay's upper bound */
};

/* Start at the minimum; seeds the jitter from the kernel's entropy once. */
void backoff_init(struct backoff *b);

/*
 * The delay before the next attempt, in ms: uniform in [ms/2, ms], then ms
 * doubles up to the maximum. up_ms: how long the link that just went down
 * had been up (0 if it never came up); BACKOFF_STABLE_MS or more starts over.
 */
int64_t backoff_next(struct backoff *b, int64_t up_ms);

#endif
