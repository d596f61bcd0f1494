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

int
volkeys_init(struct volkeys *v, size_t max)
{
	v->max = max ? max : VOLKEYS_MAX;
	for (v->nslots = 2; v->nslots < 2 * v->max; v->nslots *= 2)
		;
	v->head = v->n = 0;
	v->forgotten = 0;
	v->ring = calloc(v->max, sizeof(*v->ring));
	v->slot = calloc(v->nslots, sizeof(*v->slot));
	if (v->ring == NULL || v->slot == NULL) {
		volkeys_free(v);
		return -ENOMEM;
	}
	return 0;
}

void
volkeys_free(struct volkeys *v)
{
	free(v->ring);
	free(v->slot);
	v->ring = NULL;
	v->slot = NULL;
	v->n = 0;
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

void
volkeys_add(struct volkeys *v, uint16_t dev, uint16_t point, int64_t ts)
{
	size_t pos;

	if (v->n == v->max) {
		const struct vkey *old = &v->ring[v->head];

		unlink_slot(v, find(v, old->dev, old->point, old->ts));
		v->head = (v->head + 1) % v->max;
		v->n--;
		v->forgotten++;
	}
	pos = (v->head + v->n) % v->max;
	v->ring[pos].ts = ts;
	v->ring[pos].dev = dev;
	v->ring[pos].point = point;
	v->slot[find(v, dev, point, ts)] = (uint32_t)pos + 1;
	v->n++;
}
