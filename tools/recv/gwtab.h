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
#include "tools/recv/pending.h"
#include "tools/recv/volkeys.h"

#define GWTAB_MAX_GATEWAYS	100000	/* the fleet */
#define GWTAB_MAX_SCHEMAS	16	/* per gateway; the least recently used goes */
/*
 * Memory of the schemas held, as parsed (gwtab_schema_mem()): per gateway
 * (its least recently used go to make room) and in all (past it a new
 * schema is refused: 320 schemas of 570 kB once took 314 MB).
 */
#define GWTAB_SCHEMA_MEM_GW	(2u << 20)
#define GWTAB_SCHEMA_MEM	((size_t)512 << 20)

struct gw_schema {
	uint32_t id;
	uint64_t used;			/* tick of the last lookup, for eviction */
	size_t mem;			/* gwtab_schema_mem() */
	struct schema s;
};

struct gw {
	struct gw *next;		/* hash chain */
	char name[BATCH_GW_MAX + 1];
	struct dedupe seqs;
	struct dedupe results;		/* control plane result records (r) */
	uint64_t results_printed, result_dups;
	uint64_t batches, readings, duplicates, stale;
	uint64_t overlaps;	/* spans partly seen before: a gateway bug */
	struct volkeys vol;		/* allocated at its first volatile batch */
	uint64_t vol_readings;		/* printed from volatile batches */
	uint64_t vol_dropped;		/* dropped: already printed volatile */
	size_t n_schemas;
	struct gw_schema *schemas;	/* grows up to GWTAB_MAX_SCHEMAS */
	size_t schema_mem;		/* of its schemas */
	struct pending_gw held;		/* batches pending, no schema matched */
	uint64_t unmatched;	/* left pending unmatched: expired or pushed out */
	uint64_t spooled;	/* of those, kept in the spool directory */
	int64_t asked_ms;	/* when its schemas were last asked for again */
};

struct gwtab {
	struct gw **bucket;
	size_t n_buckets, n, max;
	uint64_t tick;
	size_t schema_mem, schema_mem_max;	/* all gateways' schemas */
};

/*
 * 0 or -ENOMEM. max 0 means GWTAB_MAX_GATEWAYS; t->schema_mem_max is
 * GWTAB_SCHEMA_MEM (the caller may lower it).
 */
int gwtab_init(struct gwtab *t, size_t max);

/* Bytes a parsed schema takes. */
size_t gwtab_schema_mem(const struct schema *s);
void gwtab_free(struct gwtab *t);

/*
 * The gateway named name; with create, add it if new. NULL if absent, and with
 * create if the table is full (errno ENOBUFS) or out of memory (ENOMEM).
 */
struct gw *gwtab_get(struct gwtab *t, const char *name, int create);

/* The schema with this id, or NULL. */
const struct schema *gwtab_schema(struct gwtab *t, struct gw *g, uint32_t id);

/* The ids of g's schemas, most recently used first; returns how many (<= max). */
size_t gwtab_schema_ids(const struct gw *g, uint32_t *ids, size_t max);

/*
 * Take ownership of *s as schema id of g (evicting the least recently used
 * ones while g has GWTAB_MAX_SCHEMAS or is over GWTAB_SCHEMA_MEM_GW with it).
 * If id is known already, *s is freed instead. Returns 1 if added, 0 if it
 * was known, -EMSGSIZE if it alone is over a gateway's share, -ENOBUFS if
 * all schemas together would pass t->schema_mem_max (*s freed), -ENOMEM.
 */
int gwtab_schema_add(struct gwtab *t, struct gw *g, uint32_t id,
    struct schema *s);

/*
 * All gateways sorted by name, in a malloc'd array (free() it), or NULL with
 * *n = 0 if there are none or memory ran out.
 */
struct gw **gwtab_sorted(const struct gwtab *t, size_t *n);

#endif
