/*
 * Sequence dedupe for one gateway: which batch sequence numbers the receiver has
 * already output, so a batch the broker delivers twice (QoS 1 is at-least-once)
 * is output once.
 *
 * The seen set is kept as sorted, disjoint, non-adjacent ranges of seqs. In the
 * ordinary case (in order, perhaps with a few late batches) that is one or a few
 * ranges: the first range is the "floor" (every seq from the lowest seen up to its
 * end was output) and the holes between ranges are the gaps. Memory is bounded
 * by a maximum number of ranges; when a new seq would exceed it, the lowest hole
 * is given up (merged into the floor and counted): a seq from a given-up hole that
 * arrives later cannot be told from a duplicate and is reported as stale.
 *
 * A batch is dropped as a duplicate only when it is provably the batch seen
 * before: the same seq alone, or the same span (seq..seq_last) whole. So one
 * batch cannot blind the receiver to a gateway: a span that claims seqs the
 * gateway has not sent yet (forged, or a bug), also one that reaches back
 * over seqs printed before, makes their batches "overlaps", printed and
 * counted, not dropped. For that the bounds of every span printed are kept
 * (the DEDUPE_SPANS_MAX highest; they may overlap); a seq inside an older
 * span, whose bounds were forgotten, falls back to the ranges: a duplicate.
 * What was printed as an overlap, and what an overlapping span found seen
 * already, is remembered by range (in d->over), so its redelivery is a
 * duplicate again. docs/receiver.md, "Exactly once", has the rules.
 */
#ifndef WG_RECV_DEDUPE_H
#define WG_RECV_DEDUPE_H

#include <stddef.h>
#include <stdint.h>

#define DEDUPE_RANGES_MAX	1024	/* default bound: 16 KiB per gateway */
#define DEDUPE_SPANS_MAX	256	/* spans remembered whole: 4 KiB per gateway */

/* dedupe_check() / dedupe_mark() outcomes */
#define DEDUPE_NEW	0	/* not seen: output it */
#define DEDUPE_DUP	1	/* already output: drop */
#define DEDUPE_STALE	2	/* at or below a given-up hole: cannot tell, drop */
#define DEDUPE_OVERLAP	3	/* a span partly seen: the sender broke its promise */

struct dedupe_range {
	uint64_t first, last;		/* inclusive */
};

struct dedupe {
	struct dedupe_range *r;		/* sorted, disjoint, not adjacent */
	size_t n, cap, max;
	uint64_t seen;			/* distinct seqs marked */
	uint64_t given_up;		/* missing seqs forgotten to stay bounded */
	uint64_t horizon;		/* with given_up: holes gave up at or below */
	int gave_up;			/* horizon is meaningful */
	struct dedupe_range *spans;	/* spans marked, sorted, the newest kept */
	size_t n_spans;
	/*
	 * Seqs printed as overlaps of a kept span, by range alone (its own
	 * spans are not kept): their redelivery is a duplicate.
	 */
	struct dedupe *over;
	int plain;			/* no spans kept: this is an over set */
};

/* An empty set holding at most max_ranges ranges (>= 2; 0 means the default). */
void dedupe_init(struct dedupe *d, size_t max_ranges);
void dedupe_free(struct dedupe *d);

/* DEDUPE_NEW, DEDUPE_DUP or DEDUPE_STALE; changes nothing. */
int dedupe_check(const struct dedupe *d, uint64_t seq);

/*
 * Mark seq as output. Returns what dedupe_check() would have returned before (the
 * set changes only for DEDUPE_NEW), or -ENOMEM (nothing changed).
 */
int dedupe_mark(struct dedupe *d, uint64_t seq);

/*
 * The same for a span first..last (first <= last), a merged batch: DEDUPE_NEW
 * if no seq of it was seen, DEDUPE_DUP if it is the very seq or span marked
 * before (a span: all its seqs seen and, if its bounds are still kept, the
 * same bounds), else DEDUPE_OVERLAP, or DEDUPE_STALE if it lies at or below
 * a given-up hole.
 * A gateway never sends a seq both alone and in a span, nor in two different
 * spans, so an overlap means readings arrive twice or were lost. (The halves
 * of a span split after a 4.13 lie inside it: overlaps if the whole span was
 * printed, which takes the same span accepted once and refused another time.)
 */
int dedupe_check_range(const struct dedupe *d, uint64_t first, uint64_t last);
/* Marks the seqs of the span not seen yet (for NEW and OVERLAP); as above. */
int dedupe_mark_range(struct dedupe *d, uint64_t first, uint64_t last);

/* Lowest and highest seq seen; 0 if none (check d->seen). */
uint64_t dedupe_lowest(const struct dedupe *d);
uint64_t dedupe_highest(const struct dedupe *d);

/* Seqs between the lowest and highest seen that were never output. */
uint64_t dedupe_missing(const struct dedupe *d);

/* Number of holes still listed (missing ranges not given up). */
size_t dedupe_holes(const struct dedupe *d);

/*
 * Missing ranges as text: "17-19, 40"; holes given up come first as
 * "23 at or below 1200 (not listed)". Truncates with ", ..." to fit (len >= 6).
 * Returns the length written.
 */
size_t dedupe_format_gaps(const struct dedupe *d, char *buf, size_t len);

#endif
