#include "firmware/core/presync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/base/clock.h"

#define PRESYNC_FIRST	1024

void
presync_init(struct presync *h, size_t max)
{
	memset(h, 0, sizeof(*h));
	h->max = max > 0 ? max : PRESYNC_MAX;
}

void
presync_free(struct presync *h)
{
	free(h->r);
	h->r = NULL;
	h->head = h->n = h->cap = 0;
}

/* Double the ring (up to max), unrolling it so head is 0 again. */
static int
grow(struct presync *h)
{
	size_t cap = h->cap == 0 ? PRESYNC_FIRST : h->cap * 2, i;
	struct reading *r;

	if (cap > h->max)
		cap = h->max;
	if (cap <= h->cap)
		return -ENOSPC;
	if ((r = malloc(cap * sizeof(*r))) == NULL)
		return -ENOMEM;
	for (i = 0; i < h->n; i++)
		r[i] = h->r[(h->head + i) % h->cap];
	free(h->r);
	h->r = r;
	h->cap = cap;
	h->head = 0;
	return 0;
}

int
presync_put(struct presync *h, const struct reading *r, size_t n)
{
	int rc = 0, g;
	size_t i;

	for (i = 0; i < n; i++) {
		if (h->n == h->cap && (g = grow(h)) < 0) {
			if (g == -ENOMEM)
				rc = g;
			if (h->cap == 0) {
				h->dropped += n - i;
				return rc;
			}
			/* full: the oldest goes */
			h->head = (h->head + 1) % h->cap;
			h->n--;
			h->dropped++;
		}
		h->r[(h->head + h->n) % h->cap] = r[i];
		h->n++;
	}
	return rc;
}

void
presync_repair(struct presync *h, int64_t offset_ms)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		struct reading *x = &h->r[(h->head + i) % h->cap];

		x->ts_ms = clock_repair(x->ts_ms, offset_ms);
	}
	h->repaired = 1;
}

size_t
presync_peek(const struct presync *h, struct reading *out, size_t cap)
{
	size_t i, n = h->n < cap ? h->n : cap;

	for (i = 0; i < n; i++)
		out[i] = h->r[(h->head + i) % h->cap];
	return n;
}

void
presync_pop(struct presync *h, size_t n)
{
	if (n > h->n)
		n = h->n;
	h->head = h->cap > 0 ? (h->head + n) % h->cap : 0;
	h->n -= n;
	if (h->n == 0 && h->repaired)
		presync_free(h);	/* a one-off: give the memory back */
}
