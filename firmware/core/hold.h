/*
 * Cycles held in memory while the store refuses writes (disk full, read-only
 * state filesystem, I/O errors). The daemon goes on polling; each held cycle is
 * sent live at once from memory (BATCH_F_VOLATILE, no seq), and every cycle
 * the store is tried again: as soon as it takes writes, all held cycles are
 * committed in one transaction and leave through the store like any other
 * batch. Memory is bounded: past the bound the oldest held cycles are dropped,
 * counted and logged.
 */
#ifndef WG_HOLD_H
#define WG_HOLD_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/core/forward.h"
#include "firmware/store/store.h"

#define HOLD_BYTES_DEFAULT	(4u << 20)	/* ~a day of 100-point 30 s cycles */

struct hold;

struct hold_counts {
	uint64_t outages;	/* times the store started refusing */
	uint64_t held;		/* cycles that went through memory */
	uint64_t dropped;	/* readings dropped: memory bound (oldest first) */
	uint64_t evicted;	/* readings evicted from a full store unsent */
	int active;		/* refusing now */
};

/* 0 or -ENOMEM. */
int hold_new(size_t max_bytes, struct hold **out);
void hold_free(struct hold *h);

/*
 * One cycle's batch (its body is copied if held). 1 if the store took
 * everything (kick the forwarder), 0 if it is held in memory.
 */
int hold_commit(struct hold *h, struct store *s, struct forward *f,
    struct store_batch *b);

void hold_counts(const struct hold *h, struct hold_counts *c);

#endif
