/*
 * Batches waiting for their schema. A batch can overtake its schema (the broker
 * delivers the two topics independently, and a persistent session replays queued
 * batches before retained schemas), so the receiver holds the raw bytes, in
 * arrival order, until a schema the gateway announces matches the batch's
 * check (batch_match()). A corrupted batch matches none and waits like one
 * whose schema is late: the two cannot be told apart.
 *
 * Bounded per gateway (PENDING_GW_BATCHES, PENDING_GW_BYTES: one gateway
 * cannot take the room of the others) and in all (max_n, max_bytes), and
 * nothing waits for ever: an entry older than the caller's TTL is taken out
 * by pending_expire(), and one that does not fit pushes its gateway's oldest
 * out first. What leaves unmatched is the caller's to account for (recv.c:
 * kept in the spool directory, or counted as lost).
 */
#ifndef WG_RECV_PENDING_H
#define WG_RECV_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/codec/batch.h"

#define PENDING_MAX_BATCHES	16384
#define PENDING_MAX_BYTES	(64u << 20)
#define PENDING_GW_BATCHES	256
#define PENDING_GW_BYTES	(4u << 20)

struct gw;

/* Per gateway, kept in its struct gw. */
struct pending_gw {
	size_t n, bytes;
};

struct pending_item {
	struct pending_item *next;
	struct gw *g;
	struct pending_gw *pg;		/* g's counters, lowered as it leaves */
	struct batch_hdr h;
	int64_t at_ms;			/* arrival, monotonic */
	size_t len;
	uint8_t data[];
};

struct pending {
	struct pending_item *head, *tail;
	size_t n, bytes;
	size_t max_n, max_bytes;
};

/* An empty queue; 0 for either bound means the default. */
void pending_init(struct pending *q, size_t max_n, size_t max_bytes);
void pending_free(struct pending *q);

/*
 * Append a copy for gateway g (pg its counters). 0; -EMSGSIZE if the batch
 * alone is over a gateway's bound; -ENOBUFS if the gateway or the queue is
 * full (take pending_oldest() out and try again); -ENOMEM.
 */
int pending_push(struct pending *q, struct gw *g, struct pending_gw *pg,
    const struct batch_hdr *h, const uint8_t *data, size_t len, int64_t now_ms);

/* 1 if a batch of g with exactly these bytes is queued (a redelivery). */
int pending_has(const struct pending *q, const struct gw *g,
    const uint8_t *data, size_t len);

/*
 * Remove and return the oldest batch of g that was encoded against
 * schema_id (batch_match()), or NULL. The caller frees it with free().
 */
struct pending_item *pending_take(struct pending *q, const struct gw *g,
    uint32_t schema_id);

/*
 * Remove and return the oldest batch overall if it arrived at or before
 * before_ms (pending_expire), or the oldest of g (g not NULL, before_ms
 * ignored: to make room), or NULL. The caller frees it with free(); the
 * gateway's counters are lowered already.
 */
struct pending_item *pending_expire(struct pending *q, int64_t before_ms);
struct pending_item *pending_oldest(struct pending *q, const struct gw *g);

#endif
