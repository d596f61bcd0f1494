/*
 * Readings taken before the wall clock is valid, held in memory with boot-clock
 * stamps until it is (docs/clock.md). A board without RTC may stay offline for
 * hours before NTP, so the presync hold is bounded (PRESYNC_MAX readings, grown on demand:
 * most boards never use it and should not pay for it at startup). When full,
 * the oldest held readings are dropped, counted and logged: the newest are the
 * ones whose repaired stamps are still worth most.
 *
 * Why memory and not the store: held readings carry stamps of one boot only,
 * the store's batches go out in sequence order and the receiver deduplicates on
 * the sequence; keeping unsendable batches there would complicate peek, the
 * sequence seed and backlog merging for a state that lasts minutes. The cost:
 * a restart of the daemon before the clock is valid loses what is held (counted
 * and logged at stop).
 */
#ifndef WG_PRESYNC_H
#define WG_PRESYNC_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/codec/batch.h"

/* 2^18 readings (8 MiB): 100 points every 30 s for 21 hours. */
#define PRESYNC_MAX	((size_t)1 << 18)

struct presync {
	struct reading *r;	/* ring */
	size_t head, n, cap, max;
	int repaired;		/* stamps are wall times now */
	uint64_t dropped;	/* oldest dropped when full */
};

/* max 0 means PRESYNC_MAX. */
void presync_init(struct presync *h, size_t max);
void presync_free(struct presync *h);

/*
 * Append n readings; when the bound is hit the oldest go (counted in dropped).
 * 0, or -ENOMEM if the ring cannot grow (then the oldest go too, counted).
 */
int presync_put(struct presync *h, const struct reading *r, size_t n);

/* Add offset to every stamp (clock_repair) and mark the presync hold repaired. */
void presync_repair(struct presync *h, int64_t offset_ms);

/* Copy up to cap of the oldest readings into out (they stay held). */
size_t presync_peek(const struct presync *h, struct reading *out, size_t cap);
/* Release the n oldest (after they were stored). */
void presync_pop(struct presync *h, size_t n);

#endif
