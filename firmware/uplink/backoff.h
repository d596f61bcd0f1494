/*
 * Reconnect backoff shared by the uplinks: exponential from BACKOFF_MIN_MS to
 * BACKOFF_MAX_MS, with jitter, so 100,000 gateways that lost the platform at
 * the same moment do not come back in step. Only a link that stayed up for
 * BACKOFF_STABLE_MS resets it: a server that accepts and then drops us (client
 * id taken, ACL kick, overload, a refusing CoAP platform) is not hammered.
 *
 * A link that was up that long and is lost is most likely a platform that
 * restarts (a broker upgrade, a failover on its side): for BACKOFF_QUICK_WINDOW_MS
 * of waiting after such a loss the delay stays at most BACKOFF_QUICK_MS, so
 * the gateway is back within that of the platform's return, not up to a
 * minute later; only then does it double on to BACKOFF_MAX_MS, the pace for
 * a platform that is gone. A link that comes up and is dropped again before
 * it is stable ends the quick window: a platform that takes connections and
 * sheds them is overloaded, and 100,000 gateways must not keep at it every
 * 5 s. What this costs the platform: docs/mqtt.md.
 */
#ifndef WG_UPLINK_BACKOFF_H
#define WG_UPLINK_BACKOFF_H

#include <stdint.h>

#define BACKOFF_MIN_MS		500
#define BACKOFF_MAX_MS		60000
#define BACKOFF_STABLE_MS	60000	/* a link up this long resets the backoff */
#define BACKOFF_QUICK_MS	5000	/* the bound after losing a stable link ... */
#define BACKOFF_QUICK_WINDOW_MS	600000	/* ... for this much waiting */

struct backoff {
	int64_t ms;		/* the next delay's upper bound */
	int64_t quick_left;	/* waiting left at BACKOFF_QUICK_MS at most */
};

/* Start at the minimum; seeds the jitter from the kernel's entropy once. */
void backoff_init(struct backoff *b);

/*
 * The delay before the next attempt, in ms: uniform in [ms/2, ms], then ms
 * doubles up to the maximum (to BACKOFF_QUICK_MS while quick_left lasts).
 * up_ms: how long the link that just went down had been up (0 if it never
 * came up); BACKOFF_STABLE_MS or more starts over, with a quick window.
 */
int64_t backoff_next(struct backoff *b, int64_t up_ms);

#endif
