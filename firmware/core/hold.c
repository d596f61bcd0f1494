/*
 * See hold.h. Why readings are sent from memory and not simply kept back: a
 * household's live view (and any control loop on the platform) should not go
 * dark because an SD card filled up; the store is the outage buffer for the
 * uplink, not a gate in front of it.
 *
 * Identity: a volatile batch carries no seq, so a crash while holding cannot
 * burn or reuse a store sequence number; the receiver prints it at once and
 * drops the same (dev, point, ts) readings when the stored copy arrives
 * (docs/receiver.md). A volatile batch the uplink cannot take now (link
 * down, window full) is tried again the next cycle; the stored copy carries
 * it in any case.
 */
#include "firmware/core/hold.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firmware/base/log.h"

/* A full store may evict this much of its oldest unsent data per cycle. */
#define EVICT_MIN_BYTES	(8 * 1024)

struct held {
	struct held *next;
	struct store_batch b;	/* b.body points at data */
	int sent;		/* went out live */
	uint8_t data[];
};

struct hold {
	struct held *head, *tail;
	size_t n, bytes, max_bytes;
	struct store_batch *v;	/* for store_append_many */
	size_t v_cap;
	time_t since;
	uint64_t held_now;	/* cycles of this outage */
	uint64_t dropped_logged;
	char err[256];		/* last refusal logged */
	struct hold_counts c;
};

int
hold_new(size_t max_bytes, struct hold **out)
{
	struct hold *h;

	if ((h = calloc(1, sizeof(*h))) == NULL)
		return -ENOMEM;
	h->max_bytes = max_bytes ? max_bytes : HOLD_BYTES_DEFAULT;
	*out = h;
	return 0;
}

static void
drop_oldest(struct hold *h)
{
	struct held *e = h->head;

	h->head = e->next;
	if (h->head == NULL)
		h->tail = NULL;
	h->n--;
	h->bytes -= sizeof(*e) + e->b.body_len;
	h->c.dropped += e->b.n_readings;
	free(e);
}

static void
clear(struct hold *h)
{
	struct held *e;

	while ((e = h->head) != NULL) {
		h->head = e->next;
		free(e);
	}
	h->tail = NULL;
	h->n = h->bytes = 0;
}

void
hold_free(struct hold *h)
{
	if (h == NULL)
		return;
	clear(h);
	free(h->v);
	free(h);
}

/* Copy b in at the tail; the oldest go (counted) if the bound is passed. */
static int
push(struct hold *h, const struct store_batch *b)
{
	size_t need = sizeof(struct held) + b->body_len;
	struct held *e;

	if (need > h->max_bytes) {
		h->c.dropped += b->n_readings;
		return -ENOBUFS;
	}
	while (h->bytes + need > h->max_bytes)
		drop_oldest(h);
	if ((e = malloc(need)) == NULL) {
		h->c.dropped += b->n_readings;
		return -ENOMEM;
	}
	e->next = NULL;
	e->b = *b;
	/* No seq and no span: the stored copy has them (batch.h). */
	e->b.seq = 0;
	e->b.seq_last = 0;
	memcpy(e->data, b->body, b->body_len);
	e->b.body = e->data;
	e->sent = 0;
	if (h->tail != NULL)
		h->tail->next = e;
	else
		h->head = e;
	h->tail = e;
	h->n++;
	h->bytes += need;
	h->held_now++;
	h->c.held++;
	return 0;
}

/*
 * Append n batches; on a full disk first make room without loss (pending
 * acks, WAL truncated), then by evicting the oldest unsent batches (counted).
 */
static int
append(struct hold *h, struct store *s, struct store_batch *v, size_t n)
{
	struct store_evicted ev;
	int rc, round;

	for (round = 0; ; round++) {
		if ((rc = store_append_many(s, v, n)) != -ENOSPC || round == 2)
			return rc;
		if (store_evict_oldest(s, round == 0 ? 0 : EVICT_MIN_BYTES, &ev) < 0)
			return rc;
		if (ev.readings > 0 || ev.batches > 0) {
			h->c.evicted += ev.readings;
			log_warnx("store: disk full: evicted the %llu oldest unsent "
			    "batches (%llu readings; %llu so far)",
			    (unsigned long long)ev.batches,
			    (unsigned long long)ev.readings,
			    (unsigned long long)h->c.evicted);
		}
	}
}

/* All held cycles in one transaction. */
static int
flush(struct hold *h, struct store *s)
{
	struct held *e;
	size_t i;

	if (h->n > h->v_cap) {
		struct store_batch *nv = realloc(h->v, h->n * 2 * sizeof(*nv));

		if (nv == NULL)
			return -ENOMEM;
		h->v = nv;
		h->v_cap = h->n * 2;
	}
	for (i = 0, e = h->head; e != NULL; e = e->next)
		h->v[i++] = e->b;
	return append(h, s, h->v, h->n);
}

static void
log_drops(struct hold *h)
{
	if (h->c.dropped == h->dropped_logged)
		return;
	log_warnx("store: %llu readings dropped so far: store refusing and the "
	    "%zu KiB memory buffer full (oldest first)",
	    (unsigned long long)h->c.dropped, h->max_bytes / 1024);
	h->dropped_logged = h->c.dropped;
}

int
hold_commit(struct hold *h, struct store *s, struct forward *f,
    struct store_batch *b)
{
	struct held *e;
	int rc;

	if (!h->c.active) {
		if (append(h, s, b, 1) == 0)
			return 1;
		h->c.active = 1;
		h->c.outages++;
		h->since = time(NULL);
		h->held_now = 0;
		snprintf(h->err, sizeof(h->err), "%s", s->err);
		log_warnx("%s: store refusing writes; holding cycles in memory "
		    "and sending them live", s->err);
		push(h, b);
	} else {
		push(h, b);
		if ((rc = flush(h, s)) == 0) {
			log_info("store: writable again after %lld s; %llu cycles "
			    "held in memory committed (%zu kept, %llu readings "
			    "dropped so far)", (long long)(time(NULL) - h->since),
			    (unsigned long long)h->held_now, h->n,
			    (unsigned long long)h->c.dropped);
			clear(h);
			h->c.active = 0;
			return 1;
		}
		if (strcmp(h->err, s->err) != 0) {
			snprintf(h->err, sizeof(h->err), "%s", s->err);
			log_warnx("%s: store still refusing writes", s->err);
		}
	}
	log_drops(h);
	for (e = h->head; e != NULL; e = e->next)
		if (!e->sent && forward_send_volatile(f, &e->b) == 1)
			e->sent = 1;
	return 0;
}

void
hold_counts(const struct hold *h, struct hold_counts *c)
{
	*c = h->c;
}
