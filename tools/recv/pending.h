/*
 * Batches waiting for their schema. A batch can overtake its schema (the broker
 * delivers the two topics independently, and a persistent session replays queued
 * batches before retained schemas), so the receiver holds the raw bytes, in
 * arrival order, until the schema is known. Bounded by count and bytes: past
 * that a batch is refused and the caller reports it.
 */
#ifndef WG_RECV_PENDING_H
#define WG_RECV_PENDING_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/codec/batch.h"

#define PENDING_MAX_BATCHES	4096
#define PENDING_MAX_BYTES	(64u << 20)

struct pending_item {
	struct pending_item *next;
	struct batch_hdr h;
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

/* Append a copy. 0, -ENOBUFS if a bound would be passed, -ENOMEM. */
int pending_push(struct pending *q, const struct batch_hdr *h,
    const uint8_t *data, size_t len);

/* 1 if a batch of gateway gw with this seq is queued. */
int pending_has(const struct pending *q, const char *gw, uint64_t seq);

/*
 * Remove and return the oldest batch of gateway gw with this schema id, or NULL.
 * The caller frees it with free().
 */
struct pending_item *pending_take(struct pending *q, const char *gw,
    uint32_t schema_id);

/* Batches still queued for gw; *schema_id (if not NULL) gets the schema id of
 * the oldest one. For the exit summary. */
size_t pending_count(const struct pending *q, const char *gw,
    uint32_t *schema_id);

#endif
