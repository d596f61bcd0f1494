/*
 * Device health as metrics: the counters of every device, plus the store's
 * drop ledger, in the one retained metrics message (docs/mqtt.md). The loop
 * owns it; the numbers come from pollers_health().
 */
#ifndef WG_HEALTH_H
#define WG_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/driver.h"
#include "firmware/core/poller.h"

/*
 * The counters are resent at least this often. Every minute cost as much on
 * the wire as the readings of a 21-point meter at 30 s (~170 bytes a minute
 * against ~80 a cycle); a fault is sent at once anyway (health_due).
 */
#define HEALTH_PERIOD_MS	(15 * 60000)

struct health {
	const struct device *devs;
	size_t n;
	struct health_snap *now, *sent;
	int64_t sent_ms;		/* 0: never sent */
	char store[512];		/* the drop ledger's object, or "" */
	char *json;			/* the message being built */
	size_t json_cap;
};

int health_init(struct health *h, const struct device *devs, size_t n);

/*
 * Take the latest counters (p) and say whether to send: a device's failure
 * counters or state changed, or HEALTH_PERIOD_MS passed since the last send.
 * Returns the message (owned by h) or NULL if nothing is due.
 */
const char *health_due(struct health *h, struct pollers *p, int64_t now_ms,
    int force);

/* The JSON for the current numbers (for the store budget's changes). */
const char *health_json(struct health *h);

void health_free(struct health *h);

#endif
