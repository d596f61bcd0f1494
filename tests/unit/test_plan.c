/*
 * Request plans: the SDM630 plan, the bus-time trade at its boundaries (figures
 * from the model in bustime.h, worked out below), forbidden ranges, bit reads,
 * overlapping points, and two property checks over random profiles (fixed
 * seed): small ones against an exhaustive search over every partition of the
 * points into reads, large ones for legality and against an independent
 * dynamic program over contiguous runs of points.
 *
 * The oracles below share nothing with drivers/plan.c but the bus-time model:
 * legality is decided register by register, not from merged blocks.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/profile.h"

#define SDM630 WG_SOURCE_DIR "/drivers/profiles/sdm630.json"
#define INF UINT64_MAX

static struct profile_point pts[PROFILE_POINTS_MAX];
static struct plan_req reqs[PROFILE_POINTS_MAX];

static const struct bustime t9600 = { 9600, 11, 10000 };
static const struct bustime t115200 = { 115200, 11, 10000 };
static const struct bustime ttcp = { 0, 0, 10000 };

static struct profile
mkprofile(size_t n, unsigned max_read, unsigned max_gap)
{
	struct profile p;

	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "test");
	p.max_read = max_read;
	p.max_gap = max_gap;
	p.n_points = n;
	p.points = pts;
	return p;
}

static void
setpt(size_t i, uint8_t fc, uint16_t addr, enum reg_type t)
{
	memset(&pts[i], 0, sizeof(pts[i]));
	snprintf(pts[i].name, sizeof(pts[i].name), "p%zu", i);
	pts[i].fc = fc;
	pts[i].addr = addr;
	pts[i].type = t;
	pts[i].order = RO_ABCD;
	pts[i].scale = dec_from_int(1);
}

static void
forbid(struct profile *p, uint8_t fc, uint16_t from, uint16_t to)
{
	p->forbidden[p->n_forbidden++] = (struct profile_range){ fc, from, to };
}

static void
assert_req(const struct plan_req *q, uint8_t fc, uint16_t addr, uint16_t count)
{
	if (q->fc != fc || q->addr != addr || q->count != count)
		fail_msg("request fc %u addr %u count %u, expected %u %u %u",
		    q->fc, q->addr, q->count, fc, addr, count);
}

static unsigned
ends(const struct profile_point *q)
{
	return q->addr + regmap_words(q->type) - 1;
}

static void
test_sdm630_plan(void **state)
{
	const struct bustime *t[] = { NULL, &t9600, &t115200, &ttcp };
	struct profile p;
	char err[256];
	size_t i, j, k, hits;
	int n;

	(void)state;
	assert_int_equal(profile_load(SDM630, &p, err, sizeof(err)), 0);
	/* 0..75 in one read (76 <= 80 registers; its gaps of 12 and less pay
	 * at 9600 baud), the total at 342 in another; faster lines agree */
	for (k = 0; k < 4; k++) {
		n = plan_build_for(&p, t[k], reqs, PROFILE_POINTS_MAX);
		assert_int_equal(n, 2);
		assert_req(&reqs[0], 4, 0, 76);
		assert_req(&reqs[1], 4, 342, 2);
	}
	for (i = 0; i < p.n_points; i++) {
		hits = 0;
		for (j = 0; j < (size_t)n; j++) {
			if (p.points[i].fc == reqs[j].fc &&
			    p.points[i].addr >= reqs[j].addr &&
			    p.points[i].addr + 2 <= reqs[j].addr + reqs[j].count)
				hits++;
		}
		assert_int_equal(hits, 1);
	}
	/* 2 reads of 76 and 2 registers at 9600: (8 + 5 + 152) x 11 bits =
	 * 189062500 ns, (8 + 5 + 4) x 11 bits = 19479167 ns, each + 10 ms
	 * + t3.5 (4010417 ns) */
	assert_int_equal(plan_cost_ns(&t9600, reqs, 2),
	    189062500 + 19479167 + 2 * 14010417);
	assert_int_equal(plan_build(&p, reqs, 1), -ENOSPC);
	assert_int_equal(plan_build(&p, reqs, 2), 2);
	/* without max_gap only the contiguous runs merge */
	p.max_gap = 0;
	assert_int_equal(plan_build(&p, reqs, PROFILE_POINTS_MAX), 8);
	assert_req(&reqs[0], 4, 0, 18);
	assert_req(&reqs[6], 4, 70, 6);
	profile_free(&p);
}

/*
 * Two u16 with G unmapped registers between them. At 9600 baud, 11-bit
 * characters, 10 ms turnaround, two reads of one register cost 2 x (15 chars
 * + 10 ms + t3.5) = 62395834 ns and one read across the gap (17 + 2G) chars +
 * 10 ms + t3.5: 60989584 ns for G = 12, 63281250 for G = 13. At 115200 (t3.5
 * fixed 1.75 ms) the trade moves to G = 68 (26359375 vs 26364584 ns for two
 * reads) and G = 69 (26550347).
 */
static void
test_gap_trade(void **state)
{
	struct profile p;

	(void)state;
	setpt(0, 3, 0, RT_U16);
	setpt(1, 3, 13, RT_U16);
	p = mkprofile(2, 125, 124);
	assert_int_equal(plan_build_for(&p, &t9600, reqs, 8), 1);
	assert_req(&reqs[0], 3, 0, 14);
	assert_int_equal(plan_cost_ns(&t9600, reqs, 1), 60989584);
	setpt(1, 3, 14, RT_U16);
	assert_int_equal(plan_build_for(&p, &t9600, reqs, 8), 2);
	assert_req(&reqs[0], 3, 0, 1);
	assert_req(&reqs[1], 3, 14, 1);
	assert_int_equal(plan_cost_ns(&t9600, reqs, 2), 62395834);
	/* the default timing is this one */
	assert_int_equal(plan_build(&p, reqs, 8), 2);
	/* a slower device makes the gap worth reading */
	p.turnaround_ms = 20;
	assert_int_equal(plan_build(&p, reqs, 8), 1);
	p.turnaround_ms = 0;
	/* max_gap is a limit, not a price: 12 would pay, 11 are allowed */
	setpt(1, 3, 13, RT_U16);
	p.max_gap = 11;
	assert_int_equal(plan_build_for(&p, &t9600, reqs, 8), 2);
	p.max_gap = 12;
	assert_int_equal(plan_build_for(&p, &t9600, reqs, 8), 1);

	p.max_gap = 124;
	setpt(1, 3, 69, RT_U16);
	assert_int_equal(plan_build_for(&p, &t115200, reqs, 8), 1);
	assert_int_equal(plan_cost_ns(&t115200, reqs, 1), 26359375);
	setpt(1, 3, 70, RT_U16);
	assert_int_equal(plan_build_for(&p, &t115200, reqs, 8), 2);
	assert_int_equal(plan_cost_ns(&t115200, reqs, 2), 26364584);

	/* over TCP only the limits stop a merge: exactly max_read registers */
	setpt(0, 4, 100, RT_U16);
	setpt(1, 4, 223, RT_F32);	/* 100..224 = 125 registers */
	assert_int_equal(plan_build_for(&p, &ttcp, reqs, 8), 1);
	assert_req(&reqs[0], 4, 100, 125);
	p.max_read = 124;
	assert_int_equal(plan_build_for(&p, &ttcp, reqs, 8), 2);
	assert_req(&reqs[0], 4, 100, 1);
	assert_req(&reqs[1], 4, 223, 2);
}

static void
test_order_and_sharing(void **state)
{
	struct profile p;

	(void)state;
	/* function codes never merge; FC3 before FC4; adjacent points merge */
	setpt(0, 4, 10, RT_U16);
	setpt(1, 3, 10, RT_U16);
	setpt(2, 3, 11, RT_I64);
	setpt(3, 3, 65532, RT_F64);	/* ends at the last register */
	p = mkprofile(4, 125, 0);
	assert_int_equal(plan_build(&p, reqs, 8), 3);
	assert_req(&reqs[0], 3, 10, 5);
	assert_req(&reqs[1], 3, 65532, 4);
	assert_req(&reqs[2], 4, 10, 1);

	/* identical points share a read */
	setpt(0, 4, 6, RT_F32);
	setpt(1, 4, 6, RT_F32);
	p = mkprofile(2, 2, 0);
	assert_int_equal(plan_build(&p, reqs, 1), 1);
	assert_req(&reqs[0], 4, 6, 2);

	/* a point inside another shares its read */
	setpt(0, 3, 0, RT_U64);
	setpt(1, 3, 1, RT_U16);
	p = mkprofile(2, 4, 0);
	assert_int_equal(plan_build(&p, reqs, 8), 1);
	assert_req(&reqs[0], 3, 0, 4);

	/* partial overlap beyond max_read: two overlapping reads */
	setpt(1, 3, 2, RT_U64);
	p = mkprofile(2, 4, 0);
	assert_int_equal(plan_build(&p, reqs, 8), 2);
	assert_req(&reqs[0], 3, 0, 4);
	assert_req(&reqs[1], 3, 2, 4);
	p.max_read = 6;
	assert_int_equal(plan_build(&p, reqs, 8), 1);
	assert_req(&reqs[0], 3, 0, 6);
}

static void
test_forbidden(void **state)
{
	struct profile p;

	(void)state;
	/* u16 at 0 and 5: one read at 9600 unless a register between is
	 * forbidden */
	setpt(0, 3, 0, RT_U16);
	setpt(1, 3, 5, RT_U16);
	p = mkprofile(2, 125, 124);
	assert_int_equal(plan_build(&p, reqs, 8), 1);
	forbid(&p, 4, 0, 65535);	/* another address space */
	forbid(&p, 3, 6, 100);		/* touches neither read */
	assert_int_equal(plan_build(&p, reqs, 8), 1);
	assert_req(&reqs[0], 3, 0, 6);
	forbid(&p, 3, 3, 3);
	assert_int_equal(plan_build(&p, reqs, 8), 2);
	assert_req(&reqs[0], 3, 0, 1);
	assert_req(&reqs[1], 3, 5, 1);
	/* a point in a forbidden range cannot be read at all */
	forbid(&p, 3, 5, 5);
	assert_int_equal(plan_build(&p, reqs, 8), -EINVAL);
	p.n_forbidden = PROFILE_FORBIDDEN_MAX + 1;
	assert_int_equal(plan_build(&p, reqs, 8), -EINVAL);
}

static void
test_bits(void **state)
{
	struct profile p;

	(void)state;
	/* FC1/FC2 count bits: the register limit does not apply */
	setpt(0, 1, 0, RT_U16);
	setpt(1, 1, 1999, RT_U16);
	setpt(2, 2, 500, RT_U16);
	setpt(3, 2, 501, RT_U16);
	p = mkprofile(4, 1, 0);
	assert_int_equal(plan_build_for(&p, &ttcp, reqs, 8), 3);
	p.max_gap = 124;
	p.max_read = 4;
	/* ... but max_gap does; 1998 bits are 250 bytes: not at 9600 */
	assert_int_equal(plan_build_for(&p, &ttcp, reqs, 8), 3);
	p.max_gap = 2000;
	assert_int_equal(plan_build_for(&p, &ttcp, reqs, 8), 2);
	assert_req(&reqs[0], 1, 0, 2000);
	assert_req(&reqs[1], 2, 500, 2);
	assert_int_equal(plan_build_for(&p, &t9600, reqs, 8), 3);
	p.max_read_bits = 1999;
	assert_int_equal(plan_build_for(&p, &ttcp, reqs, 8), 3);
	/* 15 unmapped bits cost 2 bytes: cheaper than a request at 9600 */
	setpt(1, 1, 16, RT_U16);
	assert_int_equal(plan_build_for(&p, &t9600, reqs, 8), 2);
	assert_req(&reqs[0], 1, 0, 17);
	/* a 2-bit point does not fit a 1-bit limit */
	setpt(0, 1, 0, RT_F32);
	p.max_read_bits = 1;
	assert_int_equal(plan_build(&p, reqs, 8), -EINVAL);
}

static void
test_invalid(void **state)
{
	struct profile p;

	(void)state;
	p = mkprofile(0, 125, 0);
	assert_int_equal(plan_build(&p, reqs, 8), -EINVAL);
	assert_int_equal(plan_build(NULL, reqs, 8), -EINVAL);
	setpt(0, 4, 0, RT_F64);
	p = mkprofile(1, 2, 0);
	assert_int_equal(plan_build(&p, reqs, 8), -EINVAL);
	p = mkprofile(1, 126, 0);
	assert_int_equal(plan_build(&p, reqs, 8), -EINVAL);
	p = mkprofile(1, 0, 0);
	assert_int_equal(plan_build(&p, reqs, 8), -EINVAL);
	p = mkprofile(1, 125, 0);
	p.max_read_bits = 2001;
	assert_int_equal(plan_build(&p, reqs, 8), -EINVAL);
	setpt(0, 5, 0, RT_U16);
	p = mkprofile(1, 125, 0);
	assert_int_equal(plan_build(&p, reqs, 8), -EINVAL);
	setpt(0, 0, 0, RT_U16);
	assert_int_equal(plan_build(&p, reqs, 8), -EINVAL);
	setpt(0, 3, 65534, RT_F32);	/* fits exactly */
	assert_int_equal(plan_build(&p, reqs, 8), 1);
	setpt(0, 3, 65535, RT_F32);	/* one past the end */
	assert_int_equal(plan_build(&p, reqs, 8), -EINVAL);
}

/* ---- oracles ---- */

/* xorshift32: the same sequence on every host and under qemu. */
static uint32_t rng = 0x5eed1234u;

static uint32_t
rnd(uint32_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 17;
	rng ^= rng << 5;
	return rng % n;
}

/* cov[fc - 1][a]: points of the profile under test covering address a. */
static uint16_t cov[4][65536];

static void
mark(const struct profile *p, int d)
{
	size_t i;
	unsigned a;

	for (i = 0; i < p->n_points; i++)
		for (a = p->points[i].addr; a <= ends(&p->points[i]); a++)
			cov[p->points[i].fc - 1][a] += (uint16_t)d;
}

/* A read of fc a..b if it is legal under p, checked register by register. */
static uint64_t
read_cost(const struct profile *p, const struct bustime *t, unsigned fc,
    unsigned a, unsigned b)
{
	unsigned limit, run = 0, r;
	size_t k;

	limit = fc <= 2 ? (p->max_read_bits ? p->max_read_bits : 2000) :
	    p->max_read;
	if (b < a || b > 65535 || b - a + 1 > limit)
		return INF;
	for (r = a; r <= b; r++) {
		for (k = 0; k < p->n_forbidden; k++)
			if (p->forbidden[k].fc == fc &&
			    p->forbidden[k].from <= r && r <= p->forbidden[k].to)
				return INF;
		run = cov[fc - 1][r] ? 0 : run + 1;
		if (run > p->max_gap)
			return INF;
	}
	return bustime_read_ns(t, fc, b - a + 1);
}

/*
 * The cheapest plan by exhaustive search: every partition of the points into
 * groups, each group read as its hull. (Set partitions by subset recursion,
 * 3^n; n <= 10.)
 */
static uint64_t
brute_force(const struct profile *p, const struct bustime *t)
{
	static uint64_t cost[1 << 10], best[1 << 10];
	size_t n = p->n_points, i;
	unsigned m, sub, low, a, b, fc;

	assert_true(n <= 10);
	for (m = 1; m < (1u << n); m++) {
		fc = 0;
		a = 65536;
		b = 0;
		cost[m] = 0;
		for (i = 0; i < n; i++) {
			if (!(m & (1u << i)))
				continue;
			if (fc != 0 && fc != p->points[i].fc)
				cost[m] = INF;
			fc = p->points[i].fc;
			if (p->points[i].addr < a)
				a = p->points[i].addr;
			if (ends(&p->points[i]) > b)
				b = ends(&p->points[i]);
		}
		if (cost[m] == 0)
			cost[m] = read_cost(p, t, fc, a, b);
	}
	best[0] = 0;
	for (m = 1; m < (1u << n); m++) {
		best[m] = INF;
		low = m & -m;
		for (sub = m; sub != 0; sub = (sub - 1) & m) {
			if (!(sub & low) || cost[sub] == INF ||
			    best[m ^ sub] == INF)
				continue;
			if (cost[sub] + best[m ^ sub] < best[m])
				best[m] = cost[sub] + best[m ^ sub];
		}
	}
	return best[(1u << n) - 1];
}

static int
pt_cmp(const void *a, const void *b)
{
	const struct profile_point *x = a, *y = b;

	if (x->fc != y->fc)
		return x->fc - y->fc;
	return (int)x->addr - (int)y->addr;
}

/*
 * For points pairwise identical or disjoint (what the loader accepts), some
 * cheapest plan reads contiguous runs of the sorted distinct points:
 * best[j] = min best[i] + read(points i..j-1).
 */
static uint64_t
contiguous_min(const struct profile *p, const struct bustime *t)
{
	static struct profile_point s[PROFILE_POINTS_MAX];
	static uint64_t best[PROFILE_POINTS_MAX + 1];
	size_t n = 0, i, j, k;
	uint64_t c;

	for (i = 0; i < p->n_points; i++) {
		for (k = 0; k < n; k++)
			if (s[k].fc == p->points[i].fc &&
			    s[k].addr == p->points[i].addr)
				break;
		if (k == n)
			s[n++] = p->points[i];
	}
	qsort(s, n, sizeof(s[0]), pt_cmp);
	best[0] = 0;
	for (j = 1; j <= n; j++) {
		best[j] = INF;
		for (i = j; i-- > 0;) {
			if (s[i].fc != s[j - 1].fc)
				break;
			c = read_cost(p, t, s[i].fc, s[i].addr, ends(&s[j - 1]));
			if (c == INF)
				break;
			if (best[i] != INF && best[i] + c < best[j])
				best[j] = best[i] + c;
		}
	}
	return best[n];
}

/*
 * A plan is legal, reads every point whole, starts and ends each read on a
 * point, is sorted, and has no more reads than points.
 */
static void
check_plan(const struct profile *p, const struct bustime *t,
    const struct plan_req *q, int n)
{
	size_t i, hit;
	int j, starts, stops;

	assert_true(n >= 1 && (size_t)n <= p->n_points);
	for (j = 0; j < n; j++) {
		assert_true(read_cost(p, t, q[j].fc, q[j].addr,
		    (unsigned)q[j].addr + q[j].count - 1) != INF);
		if (j > 0)
			assert_true(q[j - 1].fc < q[j].fc ||
			    (q[j - 1].fc == q[j].fc &&
			    q[j - 1].addr < q[j].addr));
		starts = stops = 0;
		for (i = 0; i < p->n_points; i++) {
			if (p->points[i].fc != q[j].fc)
				continue;
			starts += p->points[i].addr == q[j].addr;
			stops += ends(&p->points[i]) ==
			    (unsigned)q[j].addr + q[j].count - 1;
		}
		assert_true(starts > 0 && stops > 0);
	}
	for (i = 0; i < p->n_points; i++) {
		hit = 0;
		for (j = 0; j < n; j++)
			hit += p->points[i].fc == q[j].fc &&
			    p->points[i].addr >= q[j].addr &&
			    ends(&p->points[i]) < (unsigned)q[j].addr + q[j].count;
		assert_true(hit >= 1);
	}
}

static const struct bustime *
rnd_timing(void)
{
	static const struct bustime t[] = {
		{ 9600, 11, 10000 }, { 9600, 10, 2000 }, { 19200, 11, 50000 },
		{ 115200, 11, 10000 }, { 2400, 11, 100000 }, { 0, 0, 10000 },
	};

	return &t[rnd(sizeof(t) / sizeof(t[0]))];
}

/*
 * Random points in [base, base + range), fc 3/4 mostly, some bits. disjoint:
 * a point that overlaps another becomes its copy or is dropped (what the
 * loader allows); else any overlap stays.
 */
static size_t
random_points(size_t want, unsigned base, unsigned range, int disjoint)
{
	size_t n = 0, i, tries, clash;
	struct profile_point c;
	unsigned w;

	for (tries = 0; n < want && tries < 4 * want; tries++) {
		memset(&c, 0, sizeof(c));
		c.fc = (uint8_t)(rnd(8) == 0 ? 1 + rnd(2) : 3 + rnd(2));
		c.type = (enum reg_type)rnd(8);
		w = regmap_words(c.type);
		c.addr = (uint16_t)(base + rnd(range));
		if ((unsigned)c.addr + w > 65536)
			continue;
		clash = 0;
		for (i = 0; i < n && disjoint && !clash; i++)
			if (pts[i].fc == c.fc && pts[i].addr <= c.addr + w - 1 &&
			    c.addr <= ends(&pts[i]))
				clash = 1 + i;
		if (clash && rnd(2) == 0)
			continue;
		if (clash)
			c = pts[clash - 1];
		setpt(n, c.fc, c.addr, c.type);
		n++;
	}
	return n;
}

/* Up to k random forbidden ranges that touch no point. */
static void
random_forbidden(struct profile *p, unsigned base, unsigned range, size_t k)
{
	struct profile_range r;
	size_t i, tries;
	unsigned len;
	int ok;

	for (tries = 0; tries < 4 * k && p->n_forbidden < k; tries++) {
		r.fc = (uint8_t)(1 + rnd(4));
		r.from = (uint16_t)(base + rnd(range));
		len = rnd(4);
		r.to = (uint16_t)(r.from + len > 65535 ? 65535 : r.from + len);
		ok = 1;
		for (i = 0; i < p->n_points && ok; i++)
			if (p->points[i].fc == r.fc && p->points[i].addr <= r.to &&
			    r.from <= ends(&p->points[i]))
				ok = 0;
		if (ok)
			p->forbidden[p->n_forbidden++] = r;
	}
}

/* Small profiles, any overlaps: the plan costs what exhaustive search finds. */
static void
test_vs_brute_force(void **state)
{
	const struct bustime *t;
	struct profile p;
	size_t iter, n;
	uint64_t want;
	int nreq, merged = 0;

	(void)state;
	for (iter = 0; iter < 3000; iter++) {
		n = random_points(1 + rnd(10), 0, 8 + rnd(60), iter % 2);
		p = mkprofile(n, 4 + rnd(30), rnd(4) == 0 ? 124 : rnd(30));
		if (rnd(3) == 0)
			p.max_read_bits = 8 + rnd(60);
		random_forbidden(&p, 0, 70, rnd(4));
		t = rnd_timing();
		mark(&p, 1);
		nreq = plan_build_for(&p, t, reqs, PROFILE_POINTS_MAX);
		want = brute_force(&p, t);
		if (want == INF) {
			/* some point alone is illegal (longer than max_read) */
			assert_int_equal(nreq, -EINVAL);
		} else {
			check_plan(&p, t, reqs, nreq);
			assert_int_equal(plan_cost_ns(t, reqs, (size_t)nreq),
			    want);
			merged += (size_t)nreq < n;
		}
		mark(&p, -1);
	}
	assert_true(merged > 1000);
}

/*
 * Large profiles as the loader allows them: legal, as cheap as the contiguous
 * DP, independent of the order of the points, and -ENOSPC one short.
 */
static void
test_random_profiles(void **state)
{
	static struct plan_req again[PROFILE_POINTS_MAX];
	const struct bustime *t;
	struct profile_point tmp;
	struct profile p;
	size_t iter, n, i, k;
	unsigned base, range;
	int nreq;

	(void)state;
	for (iter = 0; iter < 1500; iter++) {
		range = iter % 10 == 9 ? 300 : 40 + rnd(600);
		base = iter % 10 == 9 ? 65536 - 300 : rnd(1000);
		n = random_points(1 + rnd(iter % 7 == 0 ? PROFILE_POINTS_MAX : 60),
		    base, range, 1);
		p = mkprofile(n, 4 + rnd(PROFILE_READ_MAX - 3), rnd(40));
		random_forbidden(&p, base, range, rnd(8));
		t = rnd_timing();
		mark(&p, 1);
		nreq = plan_build_for(&p, t, reqs, PROFILE_POINTS_MAX);
		check_plan(&p, t, reqs, nreq);
		assert_int_equal(plan_cost_ns(t, reqs, (size_t)nreq),
		    contiguous_min(&p, t));

		for (i = n; i > 1; i--) {
			k = rnd((uint32_t)i);
			tmp = pts[i - 1];
			pts[i - 1] = pts[k];
			pts[k] = tmp;
		}
		assert_int_equal(plan_build_for(&p, t, again, PROFILE_POINTS_MAX),
		    nreq);
		assert_memory_equal(again, reqs, (size_t)nreq * sizeof(reqs[0]));
		if (nreq > 1)
			assert_int_equal(plan_build_for(&p, t, again,
			    (size_t)nreq - 1), -ENOSPC);
		mark(&p, -1);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sdm630_plan),
		cmocka_unit_test(test_gap_trade),
		cmocka_unit_test(test_order_and_sharing),
		cmocka_unit_test(test_forbidden),
		cmocka_unit_test(test_bits),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_vs_brute_force),
		cmocka_unit_test(test_random_profiles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
