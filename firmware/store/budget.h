/*
 * The store's budget: at most max_bytes of stored batches, none older than
 * max_age_ms. Over it, the oldest batch first is thinned once (every
 * THIN_EVERY-th cycle kept, and of each energy counter the last value of every
 * window of THIN_EVERY cycles, so consumption over a window stays exact), then
 * evicted whole. Age evicts whole batches. Everything is counted and logged;
 * the counts are reported to the platform by the caller.
 */
#ifndef WG_STORE_BUDGET_H
#define WG_STORE_BUDGET_H

#include <stdint.h>

#include "firmware/store/store.h"

#define THIN_EVERY	4

struct budget_counts {
	uint64_t thinned_batches, thinned_readings;	/* readings removed by thinning */
	uint64_t evicted_batches, evicted_readings;
};

/*
 * Apply the budget at time now_ms (wall; 0: no age check, e.g. the clock is
 * not valid). Adds what it did to *c. 0 or -errno.
 */
int budget_apply(struct store *s, uint64_t max_bytes, int64_t max_age_ms,
    int64_t now_ms, struct budget_counts *c);

/* 1 if unit is that of an energy counter (Wh, kWh, kvarh, ...). */
int budget_is_counter(const char *unit);

#endif
