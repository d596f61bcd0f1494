/*
 * Readings a gateway sent from memory (BATCH_F_VOLATILE, docs/batch-format.md
 * 3.) while its store refused writes: their (dev, point, ts) keys, so that the
 * same readings are dropped when the stored copy arrives later (or the volatile
 * batch is delivered twice). Bounded: a ring of at most max keys in arrival
 * order with a hash index; past the bound the oldest key is forgotten
 * (counted), and its stored copy, if it still comes, is printed a second time.
 */
#ifndef WG_RECV_VOLKEYS_H
#define WG_RECV_VOLKEYS_H

#include <stddef.h>
#include <stdint.h>

#define VOLKEYS_MAX	65536	/* per gateway: 1.5 MiB, ~650 cycles of 100 points */

struct vkey {
	int64_t ts;
	uint16_t dev, point;
};

struct volkeys {
	struct vkey *ring;	/* max keys, oldest at head */
	uint32_t *slot;		/* hash index: ring position + 1, 0 empty */
	size_t head, n, max, nslots;
	uint64_t forgotten;	/* keys pushed out by the bound */
};

/* max 0 means VOLKEYS_MAX. 0 or -ENOMEM. */
int volkeys_init(struct volkeys *v, size_t max);
void volkeys_free(struct volkeys *v);
/* 1 if the key is remembered. */
int volkeys_has(const struct volkeys *v, uint16_t dev, uint16_t point, int64_t ts);
/* Remember a key not yet remembered (the oldest goes if full). */
void volkeys_add(struct volkeys *v, uint16_t dev, uint16_t point, int64_t ts);

#endif
