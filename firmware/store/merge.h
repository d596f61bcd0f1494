/*
 * Backlog merging. While the link is down every poll cycle is committed as a
 * pending batch (never sent). Runs of them are merged into large batches that
 * stand for the run's seqs (BATCH_F_SPAN): a 7-day outage drains as a few
 * hundred messages instead of 20,160, and a long run of each series compresses
 * several times better than one cycle of it.
 *
 * Only pending batches are merged, and a batch stops being pending (is merged
 * or sealed) before it is sent, in a committed transaction: so no seq the
 * platform may have seen ever ends up in a span, and the receiver's dedupe by
 * seq stays exact across crashes.
 */
#ifndef WG_STORE_MERGE_H
#define WG_STORE_MERGE_H

#include <stdint.h>

#include "firmware/store/store.h"

/* Readings per merged batch, at most: ~80 min of a 100-point home at 30 s. */
#define MERGE_READINGS	16384

struct merge_result {
	uint64_t merged;	/* batches that went into merged ones */
	uint64_t made;		/* merged batches written */
	uint64_t sealed;	/* left as they were (alone in a run, or unmergeable) */
	uint64_t left;		/* readings still pending (the open run; 0 with all) */
};

/*
 * Merge the runs of pending batches (consecutive seqs, one schema) into batches
 * of up to MERGE_READINGS readings. A run that can still grow (the newest, not
 * yet full) stays pending unless all is set: the link is up and everything must
 * be sendable. A run that cannot be merged (undecodable, too big) is sealed as it
 * is and logged. 0 or -errno (store errors; s->err says which).
 */
int merge_pending(struct store *s, int all, struct merge_result *res);

#endif
