/*
 * Request planning: the Modbus reads that cover a profile at the least bus time.
 *
 * Bus time bounds a poll cycle. At 9600 baud a read costs ~29 ms before its
 * first register (two frames' overhead, the 3.5-character gaps, the device's
 * turnaround) and ~2.3 ms per register, so reading up to ~12 unmapped registers
 * beats a second request; at 115200 baud the trade moves to ~70. Rather than a
 * hand-tuned gap, the planner prices every candidate read with the bus-time
 * model (bustime.h) and takes the cheapest plan, exactly.
 *
 * The plan is exact by dynamic programming, per function code, over the points
 * sorted by their last register. Some optimal plan has no request inside
 * another (drop it), so its requests ordered by end also start in order; then
 * the points a request must read are exactly those ending after the previous
 * request's end and up to its own (a point ending there that a later request
 * reads lies inside this one too). So with best[j] the cheapest cover of the
 * first j points (all points ending at the same register on one side of j),
 *
 *   best[j] = min over i < j of best[i] + cost(hull of points i..j-1)
 *
 * where the hull must be a legal read: at most max_read registers, no forbidden
 * register, no run of more than max_gap registers that no point covers. Growing
 * the hull leftwards only breaks these, so the scan over i stops at the first
 * illegal one: O(points x points per read), a few thousand steps per profile,
 * done once at probe. Points may overlap or repeat; each is read whole.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/plan.h"
#include "drivers/profile.h"

#define COST_INF UINT64_MAX

struct span {
	uint8_t fc;
	uint32_t start, end;	/* addresses start..end inclusive */
	uint32_t blk;		/* covered block holding start */
};

/* A maximal run of addresses that some point covers. */
struct blk {
	uint8_t fc;
	uint32_t start, end;
};

static int
span_cmp_end(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->fc != y->fc)
		return x->fc < y->fc ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int
span_cmp_start(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->fc != y->fc)
		return x->fc < y->fc ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int
req_cmp(const void *a, const void *b)
{
	const struct plan_req *x = a, *y = b;

	if (x->fc != y->fc)
		return x->fc < y->fc ? -1 : 1;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return x->count < y->count ? -1 : x->count > y->count;
}

/*
 * Every point's type is a fixed number of registers. Bit points (FC1/FC2) and
 * variable-length types (strings) must answer here with their extent.
 */
unsigned
plan_point_span(const struct profile_point *pt)
{
	return regmap_words(pt->type);
}

static unsigned
read_limit(const struct profile *p, unsigned fc)
{
	if (fc == 1 || fc == 2)
		return p->max_read_bits > 0 ? p->max_read_bits :
		    PROFILE_BITS_MAX;
	return p->max_read;
}

/* Is any address of fc's forbidden ranges in a..b? */
static int
forbidden(const struct profile *p, unsigned fc, uint32_t a, uint32_t b)
{
	size_t k;

	for (k = 0; k < p->n_forbidden; k++) {
		if (p->forbidden[k].fc == fc && p->forbidden[k].from <= b &&
		    p->forbidden[k].to >= a)
			return 1;
	}
	return 0;
}

/* The last forbidden address of fc at or before e, or -1. */
static int64_t
forbidden_before(const struct profile *p, unsigned fc, uint32_t e)
{
	int64_t last = -1, x;
	size_t k;

	for (k = 0; k < p->n_forbidden; k++) {
		if (p->forbidden[k].fc != fc || p->forbidden[k].from > e)
			continue;
		x = p->forbidden[k].to < e ? p->forbidden[k].to : e;
		if (x > last)
			last = x;
	}
	return last;
}

/*
 * The covered blocks of the points (sorted by start in s), and in each span
 * the block it starts in. Returns the number of blocks.
 */
static size_t
find_blocks(struct span *s, size_t n, struct blk *b)
{
	size_t i, nb = 0;

	for (i = 0; i < n; i++) {
		if (nb == 0 || b[nb - 1].fc != s[i].fc ||
		    s[i].start > b[nb - 1].end + 1)
			b[nb++] = (struct blk){ s[i].fc, s[i].start, s[i].end };
		else if (s[i].end > b[nb - 1].end)
			b[nb - 1].end = s[i].end;
		s[i].blk = (uint32_t)(nb - 1);
	}
	return nb;
}

/*
 * The DP above over one function code's spans s[g0..g1-1] (sorted by end).
 * Writes the chosen requests from the last backwards into rev (at *nrev).
 */
static int
plan_fc(const struct profile *p, const struct bustime *t, const struct span *s,
    size_t g0, size_t g1, const struct blk *b, struct plan_req *rev,
    size_t *nrev)
{
	uint64_t best[PROFILE_POINTS_MAX + 1], c;
	uint32_t from[PROFILE_POINTS_MAX + 1], rstart[PROFILE_POINTS_MAX + 1];
	uint32_t start, cur, maxgap, e;
	unsigned fc = s[g0].fc, limit = read_limit(p, fc);
	int64_t fb;
	size_t i, j;

	best[g0] = 0;
	for (j = g0 + 1; j <= g1; j++) {
		best[j] = COST_INF;
		/* Points ending at the same address stay on one side. */
		if (j < g1 && s[j].end == s[j - 1].end)
			continue;
		e = s[j - 1].end;
		fb = forbidden_before(p, fc, e);
		start = s[j - 1].start;
		cur = s[j - 1].blk;
		maxgap = 0;
		for (i = j; i-- > g0;) {
			if (s[i].start < start)
				start = s[i].start;
			while (cur > s[i].blk) {
				cur--;
				if (b[cur + 1].start - b[cur].end - 1 > maxgap)
					maxgap = b[cur + 1].start - b[cur].end - 1;
			}
			if (e - start + 1 > limit || fb >= (int64_t)start ||
			    maxgap > p->max_gap)
				break;
			if (i > g0 && s[i - 1].end == s[i].end)
				continue;	/* not a boundary */
			if (best[i] == COST_INF)
				continue;
			c = bustime_read_ns(t, fc, e - start + 1);
			if (c == 0)
				return -EINVAL;
			if (best[i] + c < best[j]) {
				best[j] = best[i] + c;
				from[j] = (uint32_t)i;
				rstart[j] = start;
			}
		}
	}
	if (best[g1] == COST_INF)
		return -EINVAL;
	for (j = g1; j > g0; j = from[j]) {
		/* Padding zeroed too: equal plans are equal bytes. */
		memset(&rev[*nrev], 0, sizeof(rev[0]));
		rev[*nrev].fc = (uint8_t)fc;
		rev[*nrev].addr = (uint16_t)rstart[j];
		rev[*nrev].count = (uint16_t)(s[j - 1].end - rstart[j] + 1);
		(*nrev)++;
	}
	return 0;
}

int
plan_build_for(const struct profile *p, const struct bustime *t,
    struct plan_req *reqs, size_t cap)
{
	struct span s[PROFILE_POINTS_MAX];
	struct blk b[PROFILE_POINTS_MAX];
	struct plan_req rev[PROFILE_POINTS_MAX];
	const struct profile_point *pt;
	struct bustime deft;
	size_t i, g0, nrev = 0;
	unsigned words;
	int rc;

	if (p == NULL || p->n_points == 0 || p->n_points > PROFILE_POINTS_MAX ||
	    p->max_read == 0 || p->max_read > PROFILE_READ_MAX ||
	    p->max_read_bits > PROFILE_BITS_MAX ||
	    p->n_forbidden > PROFILE_FORBIDDEN_MAX)
		return -EINVAL;
	if (t == NULL) {
		bustime_default(&deft, p->turnaround_ms);
		t = &deft;
	}
	for (i = 0; i < p->n_points; i++) {
		pt = &p->points[i];
		words = plan_point_span(pt);
		if (pt->fc < 1 || pt->fc > 4 || words == 0 ||
		    words > read_limit(p, pt->fc) ||
		    (uint32_t)pt->addr + words - 1 > 65535 ||
		    forbidden(p, pt->fc, pt->addr, pt->addr + words - 1))
			return -EINVAL;
		s[i] = (struct span){ pt->fc, pt->addr, pt->addr + words - 1, 0 };
	}
	qsort(s, p->n_points, sizeof(s[0]), span_cmp_start);
	find_blocks(s, p->n_points, b);
	qsort(s, p->n_points, sizeof(s[0]), span_cmp_end);

	for (g0 = 0; g0 < p->n_points; g0 = i) {
		for (i = g0 + 1; i < p->n_points && s[i].fc == s[g0].fc; i++)
			;
		if ((rc = plan_fc(p, t, s, g0, i, b, rev, &nrev)) < 0)
			return rc;
	}
	if (nrev > cap)
		return -ENOSPC;
	for (i = 0; i < nrev; i++)
		reqs[i] = rev[i];
	qsort(reqs, nrev, sizeof(reqs[0]), req_cmp);
	return (int)nrev;
}

int
plan_build(const struct profile *p, struct plan_req *reqs, size_t cap)
{
	return plan_build_for(p, NULL, reqs, cap);
}

uint64_t
plan_cost_ns(const struct bustime *t, const struct plan_req *reqs, size_t n)
{
	uint64_t sum = 0, c;
	size_t i;

	for (i = 0; i < n; i++) {
		if ((c = bustime_read_ns(t, reqs[i].fc, reqs[i].count)) == 0)
			return 0;
		sum += c;
	}
	return sum;
}
