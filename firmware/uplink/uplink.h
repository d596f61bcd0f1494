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
 *
 * What an uplink knows of the site is this file: its own section of the site
 * config, parsed by its own parser (ops->parse), the gateway id and the
 * device key's path (struct uplink_site), the loop, and the events above to
 * report with. Never the site config, never the store. Adding an uplink is
 * one ops struct, one section parser, one Kconfig line and its line in
 * registry.c.
 */
#ifndef WG_UPLINK_H
#define WG_UPLINK_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/base/jcheck.h"
#include "firmware/base/loop.h"

/* A file name in an uplink's section (CA, certificate, key, PSK). */
#define UPLINK_PATH_MAX	256

enum uplink_result { UPLINK_OK, UPLINK_RETRY, UPLINK_ERROR };

struct uplink_events {
	void (*up)(void *arg);
	void (*down)(void *arg);
	void (*acked)(void *arg, uint64_t seq);
	void (*refused)(void *arg, uint64_t seq);
	void (*too_large)(void *arg, uint64_t seq, size_t limit);
	/*
	 * The control plane's downlink (docs/commands.md): a command frame as
	 * it came off the wire, unchecked (any length, any bytes), and the
	 * platform's acknowledgement of result record r. NULL: not wanted.
	 */
	void (*command)(void *arg, const uint8_t *frame, size_t len);
	void (*result_acked)(void *arg, uint64_t r);
	void *arg;
};

/* What core tells an uplink about the site. */
struct uplink_site {
	const char *gateway;		/* batch gateway id: topics and paths */
	const char *identity_key;	/* the device's own key file; "" if none */
	/*
	 * The control plane is on: take commands (MQTT: subscribe to the
	 * command topic in a persistent session; CoAP: ask the platform's
	 * command resource every command_poll_s seconds) and carry results.
	 */
	int commands;
	unsigned command_poll_s;
};

struct uplink_ops;

/* One parsed section of the site config: ops->cfg_size bytes, as parsed. */
struct uplink_conf {
	const struct uplink_ops *ops;
	void *cfg;
};

struct uplink;

struct uplink_ops {
	const char *name;	/* as "uplink" names it; also its section's key */
	size_t cfg_size;	/* what parse fills */
	/*
	 * 1 if where a batch goes names the gateway (an MQTT topic, a CoAP
	 * path): the forwarder then leaves it out of the batch's header
	 * (BATCH_F_GW_TRANSPORT).
	 */
	int names_gateway;
	/*
	 * Check its section of the site config completely and fill cfg (zeroed,
	 * cfg_size bytes); errors through x as "FILE: PATH: WHAT". confs: the
	 * other uplinks' sections, parsed before (a failover finds its two
	 * there). 0 or -EINVAL.
	 */
	int (*parse)(struct jc *x, json_t *section, const struct uplink_site *site,
	    const struct uplink_conf *confs, size_t n_confs, void *cfg);
	/* Start connecting in the background. 0 or -errno. */
	int (*start)(struct uplink *u);
	/* A wrapped batch (header + body). */
	enum uplink_result (*send_batch)(struct uplink *u, const uint8_t *buf,
	    size_t len, uint64_t seq);
	/* The schema batches with this id refer to; sent before them, after each up. */
	enum uplink_result (*send_schema)(struct uplink *u, uint32_t id,
	    const char *json);
	/*
	 * A result record of the control plane: a JSON object whose "r" is r;
	 * events.result_acked(r) when the platform has it. NULL: this uplink
	 * carries no results (the control plane is then refused at config).
	 */
	enum uplink_result (*send_result)(struct uplink *u, const char *json,
	    uint64_t r);
	/* The gateway's counters as a JSON object (retained: the latest stands). */
	enum uplink_result (*send_metrics)(struct uplink *u, const char *json);
	/* Stop, flushing a clean disconnect if connected. */
	void (*stop)(struct uplink *u);
};

/* An uplink at run time: what its owner fills in before ops->start. */
struct resolver;

struct uplink {
	const struct uplink_ops *ops;
	struct loop *loop;
	struct resolver *resolver;	/* names off the loop (resolve.h) */
	const struct uplink_site *site;
	const void *cfg;		/* its section, as ops->parse made it */
	struct uplink_events ev;
	void *priv;
};

/*
 * The uplinks this image knows, built or not (Kconfig), in a fixed order: i
 * from 0 while uplink_known(i, &ops) returns a name; *ops is NULL for one not
 * built in.
 */
const char *uplink_known(size_t i, const struct uplink_ops **ops);

/* How messages name an uplink ("MQTT" for "mqtt"); name itself if unknown. */
const char *uplink_title(const char *name);

/* The uplink built into this image by that name; NULL if none. */
const struct uplink_ops *uplink_find(const char *name);

/* The parsed section of uplink name among confs; NULL if it has none. */
const struct uplink_conf *uplink_conf_find(const struct uplink_conf *confs,
    size_t n, const char *name);

#endif
