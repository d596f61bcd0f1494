/*
 * Sequence dedupe: a bounded set of seen seqs as sorted ranges (see dedupe.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/recv/dedupe.h"

#define DEDUPE_OVER_RANGES	64	/* overlap ranges kept (d->over) */

void
dedupe_init(struct dedupe *d, size_t max_ranges)
{
	memset(d, 0, sizeof(*d));
	d->max = max_ranges ? max_ranges : DEDUPE_RANGES_MAX;
	if (d->max < 2)
		d->max = 2;
}

void
dedupe_free(struct dedupe *d)
{
	free(d->r);
	free(d->spans);
	if (d->over != NULL) {
		dedupe_free(d->over);
		free(d->over);
		d->over = NULL;
	}
	d->r = d->spans = NULL;
	d->n = d->cap = d->n_spans = 0;
}

/* Index of the first range whose last >= seq (d->n if none). */
static size_t
find(const struct dedupe *d, uint64_t seq)
{
	size_t lo = 0, hi = d->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (d->r[mid].last < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * All of first..last was seen: is it provably the batch seen before?
 * - the very span of a kept one: yes;
 * - in no kept span: judged by the ranges, yes (a seq alone, or a span whose
 *   bounds were forgotten);
 * - inside kept spans but not one of them: only if it lies in the over set
 *   (d->over: printed as an overlap, or seen before an overlapping span
 *   claimed it), else no: the span claimed seqs it may not have had.
 * Kept spans may overlap each other (an overlapping span is kept too: a
 * forged one must not make the seqs it claims look printed), so they are
 * scanned: DEDUPE_SPANS_MAX of them at most.
 */
static int
same_batch(const struct dedupe *d, uint64_t first, uint64_t last)
{
	int covered = 0;
	size_t i;

	for (i = 0; i < d->n_spans; i++) {
		if (d->spans[i].first == first && d->spans[i].last == last)
			return 1;
		if (d->spans[i].first <= last && d->spans[i].last >= first)
			covered = 1;
	}
	if (!covered)
		return 1;
	return d->over != NULL &&
	    dedupe_check_range(d->over, first, last) == DEDUPE_DUP;
}

int
dedupe_check_range(const struct dedupe *d, uint64_t first, uint64_t last)
{
	size_t i = find(d, first);

	if (i == d->n || d->r[i].first > last)
		return DEDUPE_NEW;
	if (i == 0 && d->gave_up && last <= d->horizon)
		return DEDUPE_STALE;
	if (d->r[i].first <= first && d->r[i].last >= last)
		return same_batch(d, first, last) ? DEDUPE_DUP : DEDUPE_OVERLAP;
	return DEDUPE_OVERLAP;
}

/*
 * Keep a span's bounds (printed new or as an overlap), in order of first;
 * beyond DEDUPE_SPANS_MAX the lowest goes. Best effort: without memory its
 * seqs are judged by the ranges alone.
 */
static void
keep_span(struct dedupe *d, uint64_t first, uint64_t last)
{
	size_t i;

	if (d->spans == NULL &&
	    (d->spans = malloc(DEDUPE_SPANS_MAX * sizeof(*d->spans))) == NULL)
		return;
	for (i = d->n_spans; i > 0 && d->spans[i - 1].first > first; i--)
		;
	if (d->n_spans == DEDUPE_SPANS_MAX) {
		if (i == 0)
			return;		/* lower than all kept */
		d->n_spans--;
		memmove(&d->spans[0], &d->spans[1], d->n_spans * sizeof(*d->spans));
		i--;
	}
	memmove(&d->spans[i + 1], &d->spans[i],
	    (d->n_spans - i) * sizeof(*d->spans));
	d->spans[i].first = first;
	d->spans[i].last = last;
	d->n_spans++;
}

int
dedupe_check(const struct dedupe *d, uint64_t seq)
{
	return dedupe_check_range(d, seq, seq);
}

/*
 * Keep the bound by forgetting the lowest hole: the oldest one, the least likely
 * to be filled still. Its seqs stay counted as missing (seen does not include
 * them), and the horizon remembers that a seq at or below it is ambiguous.
 */
static void
give_up_lowest(struct dedupe *d)
{
	struct dedupe_range *r = d->r;

	d->given_up += r[1].first - r[0].last - 1;
	/* A new lowest seq can make this hole lie below older given-up ones. */
	if (!d->gave_up || r[1].first - 1 > d->horizon)
		d->horizon = r[1].first - 1;
	d->gave_up = 1;
	r[0].last = r[1].last;
	memmove(&r[1], &r[2], (d->n - 2) * sizeof(*r));
	d->n--;
}

/*
 * Grow geometrically up to max + 1 ranges: one past the bound, so that an insert
 * can land before give_up_lowest() merges back down (the new seq may itself be
 * the one that falls into the lowest hole).
 */
static int
reserve(struct dedupe *d)
{
	struct dedupe_range *r;
	size_t cap;

	if (d->n < d->cap)
		return 0;
	cap = d->cap ? d->cap * 2 : 4;
	if (cap > d->max + 1)
		cap = d->max + 1;
	if (cap <= d->n)
		return -ENOMEM;
	r = realloc(d->r, cap * sizeof(*r));
	if (r == NULL)
		return -ENOMEM;
	d->r = r;
	d->cap = cap;
	return 0;
}

/* Best effort, as keep_span(): without memory a redelivery is an overlap. */
static void
mark_over(struct dedupe *d, uint64_t first, uint64_t last)
{
	if (d->over == NULL) {
		if ((d->over = malloc(sizeof(*d->over))) == NULL)
			return;
		dedupe_init(d->over, DEDUPE_OVER_RANGES);
		d->over->plain = 1;
	}
	(void)dedupe_mark_range(d->over, first, last);
}

/*
 * Union of first..last with the ranges: the ranges it touches or adjoins
 * (r[i..j)) become one, or it is inserted at i if it touches none.
 */
int
dedupe_mark_range(struct dedupe *d, uint64_t first, uint64_t last)
{
	int rc = dedupe_check_range(d, first, last);
	uint64_t lo = first, hi = last, had = 0;
	size_t i, j;

	if (rc != DEDUPE_NEW && rc != DEDUPE_OVERLAP)
		return rc;
	/*
	 * An overlapping span: what was seen of it before stays provable (its
	 * redelivery a duplicate), what it claims anew does not.
	 */
	if (!d->plain && rc == DEDUPE_OVERLAP && first < last)
		for (j = find(d, first); j < d->n && d->r[j].first <= last; j++)
			mark_over(d, d->r[j].first > first ? d->r[j].first : first,
			    d->r[j].last < last ? d->r[j].last : last);
	i = find(d, first > 0 ? first - 1 : 0);
	for (j = i; j < d->n && (d->r[j].first == 0 || d->r[j].first - 1 <= last);
	    j++) {
		uint64_t a = d->r[j].first > first ? d->r[j].first : first;
		uint64_t b = d->r[j].last < last ? d->r[j].last : last;

		if (a <= b)
			had += b - a + 1;
		if (d->r[j].first < lo)
			lo = d->r[j].first;
		if (d->r[j].last > hi)
			hi = d->r[j].last;
	}
	if (j == i) {
		if (reserve(d) < 0)
			return -ENOMEM;
		memmove(&d->r[i + 1], &d->r[i], (d->n - i) * sizeof(*d->r));
		d->n++;
	} else if (j > i + 1) {
		memmove(&d->r[i + 1], &d->r[j], (d->n - j) * sizeof(*d->r));
		d->n -= j - i - 1;
	}
	d->r[i].first = lo;
	d->r[i].last = hi;
	d->seen += last - first + 1 - had;
	if (d->n > d->max)
		give_up_lowest(d);
	if (!d->plain && first < last)
		keep_span(d, first, last);
	else if (!d->plain && rc == DEDUPE_OVERLAP)
		mark_over(d, first, last);
	return rc;
}

int
dedupe_mark(struct dedupe *d, uint64_t seq)
{
	return dedupe_mark_range(d, seq, seq);
}

uint64_t
dedupe_lowest(const struct dedupe *d)
{
	return d->n ? d->r[0].first : 0;
}

uint64_t
dedupe_highest(const struct dedupe *d)
{
	return d->n ? d->r[d->n - 1].last : 0;
}

/* (highest - lowest + 1) - seen, arranged so that 0..UINT64_MAX cannot wrap. */
uint64_t
dedupe_missing(const struct dedupe *d)
{
	if (d->n == 0)
		return 0;
	return (dedupe_highest(d) - dedupe_lowest(d)) - (d->seen - 1);
}

size_t
dedupe_holes(const struct dedupe *d)
{
	return d->n ? d->n - 1 : 0;
}

/* Append to buf at *pos like snprintf: 0, or -1 (buf unchanged) if it does not fit. */
__attribute__((format(printf, 4, 5)))
static int
put(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int w;

	va_start(ap, fmt);
	w = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= len - *pos) {
		buf[*pos] = '\0';
		return -1;
	}
	*pos += (size_t)w;
	return 0;
}

size_t
dedupe_format_gaps(const struct dedupe *d, char *buf, size_t len)
{
	static const char more[] = ", ...";
	size_t pos = 0, keep, i;
	int full = 0;

	if (len < sizeof(more)) {
		if (len)
			buf[0] = '\0';
		return 0;
	}
	/* Leave room for ", ..." so that a truncated list says so. */
	keep = len - (sizeof(more) - 1);
	buf[0] = '\0';
	/* Given-up holes lie below every listed one: they come first. */
	if (d->gave_up)
		full = put(buf, keep, &pos, "%" PRIu64 " at or below %" PRIu64
		    " (not listed)", d->given_up, d->horizon) < 0;
	for (i = 1; i < d->n && !full; i++) {
		uint64_t a = d->r[i - 1].last + 1, b = d->r[i].first - 1;
		const char *sep = pos ? ", " : "";

		if (a == b)
			full = put(buf, keep, &pos, "%s%" PRIu64, sep, a) < 0;
		else
			full = put(buf, keep, &pos, "%s%" PRIu64 "-%" PRIu64, sep,
			    a, b) < 0;
	}
	if (full)
		pos += (size_t)snprintf(buf + pos, len - pos, "%s...",
		    pos ? ", " : "");
	return pos;
}
