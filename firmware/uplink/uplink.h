/*
 * Uplinks carry batches to the platform. Fluent Bit's output contract: an uplink
 * answers OK (taken, an ack will follow), RETRY (not now: not connected, window
 * full) or ERROR (this batch can never go this way); the forwarder (core/forward.c)
 * owns retries, the in-flight window and the store. Uplinks never touch SQLite.
 *
 * An uplink lives in the main loop and reports through events: up (ready to
 * take batches), down (everything in flight is void: the forwarder resends from
 * the store), acked (the platform side has the batch with this seq), refused
 * (the platform answered that it will never take this batch as it is: the
 * asynchronous UPLINK_ERROR of an uplink that learns it only from the answer,
 * e.g. CoAP 4.xx; the batch stays stored and is set aside like an ERROR),
 * too_large (the platform would take it smaller, e.g. CoAP 4.13 with limit its
 * Size1, 0 if not given: the forwarder splits the stored batch and sends the
 * halves, or sets it aside if it cannot be split).
 */
#ifndef WG_UPLINK_H
#define WG_UPLINK_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/core/config.h"
#include "firmware/core/loop.h"

enum uplink_result { UPLINK_OK, UPLINK_RETRY, UPLINK_ERROR };

struct uplink_events {
	void (*up)(void *arg);
	void (*down)(void *arg);
	void (*acked)(void *arg, uint64_t seq);
	void (*refused)(void *arg, uint64_t seq);
	void (*too_large)(void *arg, uint64_t seq, size_t limit);
	void *arg;
};

struct uplink;

struct uplink_ops {
	const char *name;
	/* Start connecting in the background. 0 or -errno. */
	int (*start)(struct uplink *u);
	/* A wrapped batch (header + body). */
	enum uplink_result (*send_batch)(struct uplink *u, const uint8_t *buf,
	    size_t len, uint64_t seq);
	/* The schema batches with this id refer to; sent before them, after each up. */
	enum uplink_result (*send_schema)(struct uplink *u, uint32_t id,
	    const char *json);
	/* The gateway's counters as a JSON object (retained: the latest stands). */
	enum uplink_result (*send_metrics)(struct uplink *u, const char *json);
	/* Stop, flushing a clean disconnect if connected. */
	void (*stop)(struct uplink *u);
};

struct uplink {
	const struct uplink_ops *ops;
	struct loop *loop;
	const struct site_config *cfg;
	struct uplink_events ev;
	void *priv;
};

/* The uplinks built into this image (Kconfig); NULL if none by that name. */
const struct uplink_ops *uplink_find(const char *name);

#endif
