/*
 * Splitting a stored span: the platform answered that a batch is larger than
 * it takes (CoAP 4.13). A span stands for the seqs seq..seq_last (merge.h); it
 * is replaced, in one transaction, by two spans that share out its seqs and
 * its readings: the lower half of the seqs carries the older half of the
 * readings, the upper half the newer. Each half is a batch of its own, with
 * its own (gateway, seq..seq_last) identity, sent and acknowledged on its own.
 *
 * Why the receiver's dedupe stays exact: it remembers seq ranges, and the
 * halves partition the span's range and its readings. The span was refused,
 * so the platform did not take it; if it took it earlier (an ack lost on the
 * way), both halves lie inside a range it has seen and are dropped as
 * duplicates, their readings being the span's. A span is split only after a
 * refusal, never merged again (only pending batches merge), so no seq goes
 * out in two batches with different readings.
 *
 * A batch of one seq (one poll cycle) cannot be split: its seq is the only
 * identity it can have. Nor can one with a single reading.
 */
#ifndef WG_STORE_SPLIT_H
#define WG_STORE_SPLIT_H

#include <stdint.h>

#include "firmware/store/store.h"

struct split_result {
	uint64_t lo, lo_last;	/* the halves' seqs */
	uint64_t hi, hi_last;
	uint32_t lo_readings, hi_readings;
};

/*
 * Split stored batch seq in two. 0 and *res; -EMSGSIZE if it cannot be split
 * (one seq or one reading: the caller sets it aside); -ENOENT if it is not
 * stored (acknowledged meanwhile); -EBADMSG if its body does not decode;
 * other -errno from the store (s->err says which).
 */
int split_batch(struct store *s, uint64_t seq, struct split_result *res);

#endif
