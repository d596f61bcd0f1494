/*
 * Pending queue: a FIFO list of raw batches waiting for their schema (pending.h).
 * Linear scans are fine: the queue holds a few thousand entries at most and is
 * only walked when a batch of an unknown schema or a new schema arrives.
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
pending_push(struct pending *q, const struct batch_hdr *h,
    const uint8_t *data, size_t len)
{
	struct pending_item *it;

	if (q->n >= q->max_n || len > q->max_bytes - q->bytes)
		return -ENOBUFS;
	it = malloc(sizeof(*it) + len);
	if (it == NULL)
		return -ENOMEM;
	it->next = NULL;
	it->h = *h;
	it->len = len;
	memcpy(it->data, data, len);
	if (q->tail != NULL)
		q->tail->next = it;
	else
		q->head = it;
	q->tail = it;
	q->n++;
	q->bytes += len;
	return 0;
}

int
pending_has(const struct pending *q, const char *gw, uint64_t seq)
{
	const struct pending_item *it;

	for (it = q->head; it != NULL; it = it->next)
		if (it->h.seq == seq && strcmp(it->h.gw, gw) == 0)
			return 1;
	return 0;
}

struct pending_item *
pending_take(struct pending *q, const char *gw, uint32_t schema_id)
{
	struct pending_item *it, *prev = NULL;

	for (it = q->head; it != NULL; prev = it, it = it->next) {
		if (it->h.schema_id != schema_id || strcmp(it->h.gw, gw) != 0)
			continue;
		if (prev != NULL)
			prev->next = it->next;
		else
			q->head = it->next;
		if (q->tail == it)
			q->tail = prev;
		it->next = NULL;
		q->n--;
		q->bytes -= it->len;
		return it;
	}
	return NULL;
}

size_t
pending_count(const struct pending *q, const char *gw, uint32_t *schema_id)
{
	const struct pending_item *it;
	size_t n = 0;

	for (it = q->head; it != NULL; it = it->next) {
		if (strcmp(it->h.gw, gw) != 0)
			continue;
		if (n++ == 0 && schema_id != NULL)
			*schema_id = it->h.schema_id;
	}
	return n;
}
