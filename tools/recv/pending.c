/*
 * Pending queue: one FIFO list of raw batches waiting for their schema, in
 * arrival order (pending.h), with counters per gateway. Linear scans are fine:
 * the list is walked only when a batch of an unknown schema or a new schema
 * arrives, and its oldest entry is at the head for expiry.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tools/recv/pending.h"

void
pending_init(struct pending *q, size_t max_n, size_t max_bytes)
{
	memset(q, 0, sizeof(*q));
	q->max_n = max_n ? max_n : PENDING_MAX_BATCHES;
	q->max_bytes = max_bytes ? max_bytes : PENDING_MAX_BYTES;
}

void
pending_free(struct pending *q)
{
	struct pending_item *it, *next;

	for (it = q->head; it != NULL; it = next) {
		next = it->next;
		free(it);
	}
	q->head = q->tail = NULL;
	q->n = q->bytes = 0;
}

int
pending_push(struct pending *q, struct gw *g, struct pending_gw *pg,
    const struct batch_hdr *h, const uint8_t *data, size_t len, int64_t now_ms)
{
	struct pending_item *it;

	if (len > PENDING_GW_BYTES)
		return -EMSGSIZE;
	if (pg->n >= PENDING_GW_BATCHES || len > PENDING_GW_BYTES - pg->bytes ||
	    q->n >= q->max_n || len > q->max_bytes - q->bytes)
		return -ENOBUFS;
	it = malloc(sizeof(*it) + len);
	if (it == NULL)
		return -ENOMEM;
	it->next = NULL;
	it->g = g;
	it->pg = pg;
	it->h = *h;
	it->at_ms = now_ms;
	it->len = len;
	memcpy(it->data, data, len);
	if (q->tail != NULL)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->n++;
	q->bytes += len;
	pg->n++;
	pg->bytes += len;
	return 0;
}

int
pending_has(const struct pending *q, const struct gw *g, const uint8_t *data,
    size_t len)
{
	const struct pending_item *it;

	for (it = q->head; it != NULL; it = it->next)
		if (it->g == g && it->len == len && memcmp(it->data, data, len) == 0)
			return 1;
	return 0;
}

/* Unlink it (prev before it, or NULL) and return it. */
static struct pending_item *
unlink_item(struct pending *q, struct pending_item *prev,
    struct pending_item *it)
{
	if (prev != NULL)
		prev->next = it->next;
	else
		q->head = it->next;
	if (q->tail == it)
		q->tail = prev;
	it->next = NULL;
	q->n--;
	q->bytes -= it->len;
	it->pg->n--;
	it->pg->bytes -= it->len;
	return it;
}

struct pending_item *
pending_take(struct pending *q, const struct gw *g, uint32_t schema_id)
{
	struct pending_item *it, *prev = NULL;

	for (it = q->head; it != NULL; prev = it, it = it->next) {
		if (it->g != g ||
		    batch_match(it->data, it->len, &it->h, &schema_id, 1) < 0)
			continue;
		return unlink_item(q, prev, it);
	}
	return NULL;
}

struct pending_item *
pending_expire(struct pending *q, int64_t before_ms)
{
	if (q->head == NULL || q->head->at_ms > before_ms)
		return NULL;
	return unlink_item(q, NULL, q->head);
}

struct pending_item *
pending_oldest(struct pending *q, const struct gw *g)
{
	struct pending_item *it, *prev = NULL;

	for (it = q->head; it != NULL; prev = it, it = it->next)
		if (g == NULL || it->g == g)
			return unlink_item(q, prev, it);
	return NULL;
}
