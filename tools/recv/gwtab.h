/*
 * What the receiver knows per gateway: the dedupe state of its sequence numbers,
 * its counters and the schemas it announced. A hash table by gateway id, bounded
 * in gateways and in schemas per gateway, so that a broker full of junk topics
 * cannot make the receiver grow without limit.
 */
#ifndef WG_RECV_GWTAB_H
#define WG_RECV_GWTAB_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/codec/batch.h"
#include "firmware/codec/schema.h"
#include "tools/recv/dedupe.h"
#include "tools/recv/volkeys.h"

#define GWTAB_MAX_GATEWAYS	100000	/* the fleet */
#define GWTAB_MAX_SCHEMAS	16	/* per gateway; the least recently used goes */

struct gw_schema {
	uint32_t id;
	uint64_t used;			/* tick of the last lookup, for eviction */
	struct schema s;
};

struct gw {
	struct gw *next;		/* hash chain */
	char name[BATCH_GW_MAX + 1];
	struct dedupe seqs;
	uint64_t batches, readings, duplicates, stale;
	uint64_t overlaps;	/* spans partly seen before: a gateway bug */
	struct volkeys vol;		/* allocated at its first volatile batch */
	uint64_t vol_readings;		/* printed from volatile batches */
	uint64_t vol_dropped;		/* dropped: already printed volatile */
	size_t n_schemas;
	struct gw_schema *schemas;	/* grows up to GWTAB_MAX_SCHEMAS */
};

struct gwtab {
	struct gw **bucket;
	size_t n_buckets, n, max;
	uint64_t tick;
};

/* 0 or -ENOMEM. max 0 means GWTAB_MAX_GATEWAYS. */
int gwtab_init(struct gwtab *t, size_t max);
void gwtab_free(struct gwtab *t);

/*
 * The gateway named name; with create, add it if new. NULL if absent, and with
 * create if the table is full (errno ENOBUFS) or out of memory (ENOMEM).
 */
struct gw *gwtab_get(struct gwtab *t, const char *name, int create);

/* The schema with this id, or NULL. */
const struct schema *gwtab_schema(struct gwtab *t, struct gw *g, uint32_t id);

/*
 * Take ownership of *s as schema id of g (evicting the least recently used one
 * if g has GWTAB_MAX_SCHEMAS). If id is known already, *s is freed instead.
 * Returns 1 if added, 0 if it was known.
 */
int gwtab_schema_add(struct gwtab *t, struct gw *g, uint32_t id,
    struct schema *s);

/*
 * All gateways sorted by name, in a malloc'd array (free() it), or NULL with
 * *n = 0 if there are none or memory ran out.
 */
struct gw **gwtab_sorted(const struct gwtab *t, size_t *n);

#endif
