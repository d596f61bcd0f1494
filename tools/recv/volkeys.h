/*
 * Readings a gateway sent from memory (BATCH_F_VOLATILE, docs/batch-format.md
 * 3.) while its store refused writes: their (dev, point, ts) keys, so that the
 * same readings are dropped when the stored copy arrives later (or the volatile
 * batch is delivered twice). Bounded: a ring of at most max keys in arrival
 * order with a hash index; past the bound the oldest key is forgotten
 * (counted), and its stored copy, if it still comes, is printed a second time.
 *
 * The ring starts small and doubles up to max, each step only if a budget
 * shared by all gateways allows it (struct volbudget): one volatile batch
 * costs a few kB, not the 1.5 MiB of a full ring, and all gateways together
 * cannot make the receiver hold more than the budget.
 */
#ifndef WG_RECV_VOLKEYS_H
#define WG_RECV_VOLKEYS_H

#include <stddef.h>
#include <stdint.h>

#define VOLKEYS_MAX	65536	/* per gateway: 1.5 MiB, ~650 cycles of 100 points */
#define VOLKEYS_FIRST	256	/* keys a ring starts with */
#define VOLKEYS_BUDGET	(1u << 22)	/* keys of all gateways: 96 MiB */

/* Keys allocated by all rings, and the most they may have. */
struct volbudget {
	size_t keys, max;
};

struct vkey {
	int64_t ts;
	uint16_t dev, point;
};

struct volkeys {
	struct vkey *ring;	/* cap keys, oldest at head */
	uint32_t *slot;		/* hash index: ring position + 1, 0 empty */
	size_t head, n, cap, max, nslots;
	uint64_t forgotten;	/* keys pushed out by the bound */
	struct volbudget *budget;
};

/*
 * max 0 means VOLKEYS_MAX; budget shared by the rings (never NULL). 0,
 * -ENOBUFS (the budget has no room for a first ring), -ENOMEM.
 */
int volkeys_init(struct volkeys *v, size_t max, struct volbudget *budget);
void volkeys_free(struct volkeys *v);
/* 1 if the key is remembered. */
int volkeys_has(const struct volkeys *v, uint16_t dev, uint16_t point, int64_t ts);
/* Remember a key not yet remembered (the oldest goes if full). */
void volkeys_add(struct volkeys *v, uint16_t dev, uint16_t point, int64_t ts);

#endif
