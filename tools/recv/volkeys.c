/*
 * Open addressing with linear probing over a power-of-two table of twice the
 * ring's size; a forgotten key leaves by backward-shift deletion, so there are
 * no tombstones and lookups stay short however long the receiver runs.
 */
#include "tools/recv/volkeys.h"

#include <errno.h>
#include <stdlib.h>

static size_t
hash(const struct volkeys *v, uint16_t dev, uint16_t point, int64_t ts)
{
	uint64_t h = (uint64_t)ts * 0x9e3779b97f4a7c15ull;

	h ^= ((uint64_t)dev << 16 | point) * 0xc2b2ae3d27d4eb4full;
	h ^= h >> 29;
	return (size_t)(h & (v->nslots - 1));
}

static int
same(const struct vkey *k, uint16_t dev, uint16_t point, int64_t ts)
{
	return k->ts == ts && k->dev == dev && k->point == point;
}

/* A zeroed ring of cap keys and its empty index (*nslots slots). */
static int
alloc_ring(size_t cap, struct vkey **ring, uint32_t **slot, size_t *nslots)
{
	for (*nslots = 2; *nslots < 2 * cap; *nslots *= 2)
		;
	*ring = calloc(cap, sizeof(**ring));
	*slot = calloc(*nslots, sizeof(**slot));
	if (*ring == NULL || *slot == NULL) {
		free(*ring);
		free(*slot);
		*ring = NULL;
		*slot = NULL;
		return -ENOMEM;
	}
	return 0;
}

int
volkeys_init(struct volkeys *v, size_t max, struct volbudget *budget)
{
	size_t cap;

	v->max = max ? max : VOLKEYS_MAX;
	cap = v->max < VOLKEYS_FIRST ? v->max : VOLKEYS_FIRST;
	v->head = v->n = 0;
	v->forgotten = 0;
	v->budget = budget;
	v->ring = NULL;
	v->slot = NULL;
	if (budget->keys + cap > budget->max)
		return -ENOBUFS;
	if (alloc_ring(cap, &v->ring, &v->slot, &v->nslots) < 0)
		return -ENOMEM;
	v->cap = cap;
	budget->keys += cap;
	return 0;
}

void
volkeys_free(struct volkeys *v)
{
	if (v->ring != NULL)
		v->budget->keys -= v->cap;
	free(v->ring);
	free(v->slot);
	v->ring = NULL;
	v->slot = NULL;
	v->n = v->cap = 0;
}

/* The slot holding the key, or the empty slot where it would go. */
static size_t
find(const struct volkeys *v, uint16_t dev, uint16_t point, int64_t ts)
{
	size_t i = hash(v, dev, point, ts);

	while (v->slot[i] != 0 && !same(&v->ring[v->slot[i] - 1], dev, point, ts))
		i = (i + 1) & (v->nslots - 1);
	return i;
}

int
volkeys_has(const struct volkeys *v, uint16_t dev, uint16_t point, int64_t ts)
{
	return v->ring != NULL && v->slot[find(v, dev, point, ts)] != 0;
}

/* Empty slot i, then move up every later entry of the run that may. */
static void
unlink_slot(struct volkeys *v, size_t i)
{
	size_t j = i, home, mask = v->nslots - 1;

	v->slot[i] = 0;
	for (;;) {
		const struct vkey *k;

		j = (j + 1) & mask;
		if (v->slot[j] == 0)
			return;
		k = &v->ring[v->slot[j] - 1];
		home = hash(v, k->dev, k->point, k->ts);
		/* j may move to i if home is not cyclically within (i, j]. */
		if ((j > i && (home <= i || home > j)) ||
		    (j < i && (home <= i && home > j))) {
			v->slot[i] = v->slot[j];
			v->slot[j] = 0;
			i = j;
		}
	}
}

/* Index pos (a ring position) under its key. */
static void
link_pos(struct volkeys *v, size_t pos)
{
	const struct vkey *k = &v->ring[pos];

	v->slot[find(v, k->dev, k->point, k->ts)] = (uint32_t)pos + 1;
}

/*
 * Double the ring if max and the budget allow: the keys move in order to
 * the start of the new one and are indexed anew. 0, or -1 (stays as is).
 */
static int
grow(struct volkeys *v)
{
	size_t old_cap = v->cap, cap = 2 * v->cap, nslots, i;
	struct vkey *old = v->ring, *ring;
	uint32_t *slot;

	if (cap > v->max)
		cap = v->max;
	if (cap <= old_cap || v->budget->keys + (cap - old_cap) > v->budget->max ||
	    alloc_ring(cap, &ring, &slot, &nslots) < 0)
		return -1;
	for (i = 0; i < v->n; i++)
		ring[i] = old[(v->head + i) % old_cap];
	free(old);
	free(v->slot);
	v->ring = ring;
	v->slot = slot;
	v->nslots = nslots;
	v->cap = cap;
	v->head = 0;
	for (i = 0; i < v->n; i++)
		link_pos(v, i);
	v->budget->keys += cap - old_cap;
	return 0;
}

void
volkeys_add(struct volkeys *v, uint16_t dev, uint16_t point, int64_t ts)
{
	size_t pos;

	if (v->n == v->cap && grow(v) < 0) {
		const struct vkey *old = &v->ring[v->head];

		unlink_slot(v, find(v, old->dev, old->point, old->ts));
		v->head = (v->head + 1) % v->cap;
		v->n--;
		v->forgotten++;
	}
	pos = (v->head + v->n) % v->cap;
	v->ring[pos].ts = ts;
	v->ring[pos].dev = dev;
	v->ring[pos].point = point;
	link_pos(v, pos);
	v->n++;
}
