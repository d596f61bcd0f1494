/*
 * Block1 reassembly with bounds (coap_blk.h). A fixed table of transfers,
 * allocated at start; a body buffer grows by doubling, never past the
 * resource's limit, and only while the budget for all of them holds. Blocks
 * must come in order: a libcoap client sends the next block only once the
 * previous one was answered 2.31, and RFC 7959 2.9.2 lets a server answer
 * 4.08 to anything else. A repeated block (its 2.31 was lost) is answered
 * 2.31 again; a repeated last block gets the answer its body got, so a lost
 * 2.04 does not turn into a 4.08 and a batch set aside.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tools/recv/coap_blk.h"

int
coap_blk_init(struct coap_blk *b, size_t slots, size_t budget)
{
	memset(b, 0, sizeof(*b));
	b->slots = slots ? slots : COAP_BLK_SLOTS;
	b->budget = budget ? budget : COAP_BLK_HOLD;
	if ((b->x = calloc(b->slots, sizeof(*b->x))) == NULL)
		return -ENOMEM;
	return 0;
}

static void
release(struct coap_blk *b, struct coap_xfer *x)
{
	b->held -= x->cap;
	free(x->body);
	x->body = NULL;
	x->len = x->cap = 0;
}

static void
drop(struct coap_blk *b, struct coap_xfer *x)
{
	release(b, x);
	x->state = COAP_BLK_FREE;
	x->key_len = 0;
}

void
coap_blk_free(struct coap_blk *b)
{
	size_t i;

	if (b->x == NULL)
		return;
	for (i = 0; i < b->slots; i++)
		drop(b, &b->x[i]);
	free(b->x);
	b->x = NULL;
}

size_t
coap_blk_open(const struct coap_blk *b)
{
	size_t i, n = 0;

	for (i = 0; i < b->slots; i++)
		n += b->x[i].state == COAP_BLK_OPEN;
	return n;
}

static struct coap_xfer *
find(struct coap_blk *b, const uint8_t *key, size_t len)
{
	size_t i;

	for (i = 0; i < b->slots; i++)
		if (b->x[i].state != COAP_BLK_FREE && b->x[i].key_len == len &&
		    memcmp(b->x[i].key, key, len) == 0)
			return &b->x[i];
	return NULL;
}

/* An open transfer nobody sent a block of for COAP_BLK_IDLE_MS is given up. */
static void
expire(struct coap_blk *b, int64_t now)
{
	size_t i;

	for (i = 0; i < b->slots; i++)
		if (b->x[i].state == COAP_BLK_OPEN &&
		    now - b->x[i].last_ms >= COAP_BLK_IDLE_MS) {
			drop(b, &b->x[i]);
			b->expired++;
		}
}

/*
 * A slot for a new transfer: a free one, else the done one answered longest
 * ago (it holds only its answer, for a repeat that is by now unlikely). NULL
 * while every slot has a transfer open.
 */
static struct coap_xfer *
slot(struct coap_blk *b)
{
	struct coap_xfer *old = NULL;
	size_t i;

	for (i = 0; i < b->slots; i++) {
		if (b->x[i].state == COAP_BLK_FREE)
			return &b->x[i];
		if (b->x[i].state == COAP_BLK_DONE &&
		    (old == NULL || b->x[i].last_ms < old->last_ms))
			old = &b->x[i];
	}
	return old;
}

/*
 * Room for need bytes (need <= limit): twice the buffer, or need, at most
 * the limit; only need if twice would pass the budget. 0, or -1 (budget or
 * no memory).
 */
static int
grow(struct coap_blk *b, struct coap_xfer *x, size_t need, size_t limit)
{
	size_t cap = x->cap * 2;
	uint8_t *p;

	if (need <= x->cap)
		return 0;
	if (cap < need)
		cap = need;
	if (cap > limit)
		cap = limit;
	if (cap - x->cap > b->budget - b->held)
		cap = need;
	if (cap - x->cap > b->budget - b->held)
		return -1;
	if ((p = realloc(x->body, cap)) == NULL)
		return -1;
	b->held += cap - x->cap;
	if (b->held > b->held_peak)
		b->held_peak = b->held;
	x->body = p;
	x->cap = cap;
	return 0;
}

static enum coap_blk_verdict
busy(struct coap_blk *b, struct coap_xfer *x)
{
	if (x != NULL)
		drop(b, x);
	b->busy++;
	b->busy_run++;
	return COAP_BLK_BUSY;
}

enum coap_blk_verdict
coap_blk_add(struct coap_blk *b, const struct coap_blk_req *rq,
    struct coap_xfer **xo)
{
	struct coap_xfer *x;
	uint64_t off, end;
	size_t chunk;

	*xo = NULL;
	if (rq->szx > 6 || rq->num > 0xFFFFF || rq->key_len == 0 ||
	    rq->key_len > COAP_BLK_KEY_MAX || (rq->len > 0 && rq->data == NULL))
		return COAP_BLK_BAD;
	chunk = (size_t)1 << (rq->szx + 4);
	/* Every block but the last is exactly one block long (RFC 7959 2.2). */
	if (rq->more ? rq->len != chunk : rq->len > chunk)
		return COAP_BLK_BAD;
	expire(b, rq->now_ms);
	x = find(b, rq->key, rq->key_len);
	off = (uint64_t)rq->num << (rq->szx + 4);
	end = off + rq->len;
	/*
	 * Too large as soon as it is known: Size1 says so, or this block reaches
	 * the limit with more to come. Nothing of it is kept.
	 */
	if ((rq->has_size1 && rq->size1 > rq->limit) || end > rq->limit ||
	    (rq->more && end >= rq->limit)) {
		if (x != NULL && x->state == COAP_BLK_OPEN)
			drop(b, x);
		return COAP_BLK_TOO_LARGE;
	}
	if (x != NULL && x->state == COAP_BLK_DONE) {
		if (!rq->more && rq->num == x->last_num) {
			*xo = x;
			return COAP_BLK_REPEAT;
		}
		if (rq->num != 0)
			return COAP_BLK_INCOMPLETE;
		/* Block 0 again: a new body under the same key (no Request-Tag). */
		x->state = COAP_BLK_OPEN;
	} else if (x == NULL) {
		if (rq->num != 0)
			return COAP_BLK_INCOMPLETE;
		if ((x = slot(b)) == NULL)
			return busy(b, NULL);
		release(b, x);
		x->state = COAP_BLK_OPEN;
		x->key_len = rq->key_len;
		memcpy(x->key, rq->key, rq->key_len);
	}
	if (off < x->len) {
		/* A block already here, sent again (its 2.31 was lost)? */
		if (rq->more && end <= x->len &&
		    memcmp(x->body + off, rq->data, rq->len) == 0) {
			x->last_ms = rq->now_ms;
			return COAP_BLK_CONTINUE;
		}
		if (rq->num != 0) {
			drop(b, x);
			return COAP_BLK_INCOMPLETE;
		}
		x->len = 0;	/* block 0 with other bytes: a new body */
	}
	if (off > x->len) {
		drop(b, x);
		return COAP_BLK_INCOMPLETE;
	}
	if (grow(b, x, (size_t)end, rq->limit) < 0)
		return busy(b, x);
	if (off == 0 && b->busy_run > 0) {
		b->resumed = b->busy_run;
		b->busy_run = 0;
	}
	if (rq->len > 0)
		memcpy(x->body + off, rq->data, rq->len);
	x->len = (size_t)end;
	x->last_ms = rq->now_ms;
	if (rq->more)
		return COAP_BLK_CONTINUE;
	x->last_num = rq->num;
	*xo = x;
	return COAP_BLK_BODY;
}

void
coap_blk_done(struct coap_blk *b, struct coap_xfer *x, int code)
{
	release(b, x);
	x->state = COAP_BLK_DONE;
	x->done_code = code;
}
