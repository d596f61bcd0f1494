/*
 * Request planning: which Modbus reads cover a profile.
 *
 * Bus time bounds a poll cycle. At 9600 baud every request costs a fixed few
 * tens of milliseconds (two frames, 3.5-character gaps, the meter's own
 * turnaround) while each extra register costs ~2.3 ms, so reading a few
 * unmapped registers to save a request is a good trade up to max_gap.
 */
#include <errno.h>
#include <stdlib.h>

#include "drivers/profile.h"

struct span {
	uint8_t fc;
	uint16_t idx;		/* point index: the tie-break that makes the order total */
	uint32_t start, end;	/* registers start..end inclusive */
};

static int
span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->fc != y->fc)
		return x->fc < y->fc ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Greedy in (fc, address) order: a point joins the open request while the
 * request would still span at most max_read registers and the unmapped gap
 * before the point is at most max_gap. Points of a validated profile are either
 * identical or disjoint, so this greedy cover is also the one with the fewest
 * requests. The sort key is total, so the plan depends only on the profile.
 */
int
plan_build(const struct profile *p, struct plan_req *reqs, size_t cap)
{
	struct span s[PROFILE_POINTS_MAX];
	size_t i, n = 0;
	uint32_t start = 0, end = 0, words;
	uint8_t fc = 0;
	int open = 0;

	if (p == NULL || p->n_points == 0 || p->n_points > PROFILE_POINTS_MAX ||
	    p->max_read == 0 || p->max_read > PROFILE_READ_MAX)
		return -EINVAL;
	for (i = 0; i < p->n_points; i++) {
		words = regmap_words(p->points[i].type);
		if (words == 0 || words > p->max_read ||
		    p->points[i].addr + words - 1 > 65535)
			return -EINVAL;
		s[i].fc = p->points[i].fc;
		s[i].idx = (uint16_t)i;
		s[i].start = p->points[i].addr;
		s[i].end = p->points[i].addr + words - 1;
	}
	qsort(s, p->n_points, sizeof(s[0]), span_cmp);

	for (i = 0; i < p->n_points; i++) {
		if (open && s[i].fc == fc &&
		    (s[i].start <= end + 1 || s[i].start - end - 1 <= p->max_gap) &&
		    (s[i].end <= end || s[i].end - start + 1 <= p->max_read)) {
			if (s[i].end > end)
				end = s[i].end;
			continue;
		}
		if (open) {
			if (n == cap)
				return -ENOSPC;
			reqs[n++] = (struct plan_req){ fc, (uint16_t)start,
			    (uint16_t)(end - start + 1) };
		}
		fc = s[i].fc;
		start = s[i].start;
		end = s[i].end;
		open = 1;
	}
	if (n == cap)
		return -ENOSPC;
	reqs[n++] = (struct plan_req){ fc, (uint16_t)start,
	    (uint16_t)(end - start + 1) };
	return (int)n;
}
