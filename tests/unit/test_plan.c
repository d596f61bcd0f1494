/*
 * Request plans: the SDM630 plan, the max_read/max_gap boundaries, and a
 * property check over random profiles (fixed seed) that every plan covers each
 * point exactly once within the limits and uses the fewest requests (compared
 * with an independent dynamic program).
 *
 * When the generic driver is built, its poll runs the plan here against a fake
 * bus (bus_read is defined below): readings, partial failures and counters. The
 * real bus is exercised by the integration tests against the simulator.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/profile.h"
#include "wg_config.h"

#define SDM630 WG_SOURCE_DIR "/drivers/profiles/sdm630.json"

static struct profile_point pts[PROFILE_POINTS_MAX];
static struct plan_req reqs[PROFILE_POINTS_MAX];

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
assert_req(const struct plan_req *q, uint8_t fc, uint16_t addr, uint16_t count)
{
	if (q->fc != fc || q->addr != addr || q->count != count)
		fail_msg("request fc %u addr %u count %u, expected %u %u %u",
		    q->fc, q->addr, q->count, fc, addr, count);
}

static void
test_sdm630_plan(void **state)
{
	struct profile p;
	char err[256];
	size_t i, j, hits;
	int n;

	(void)state;
	assert_int_equal(profile_load(SDM630, &p, err, sizeof(err)), 0);
	n = plan_build(&p, reqs, PROFILE_POINTS_MAX);
	/* 0..75 in one read (76 <= 80 registers), the total at 342 in another */
	assert_int_equal(n, 2);
	assert_req(&reqs[0], 4, 0, 76);
	assert_req(&reqs[1], 4, 342, 2);
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
	assert_int_equal(plan_build(&p, reqs, 1), -ENOSPC);
	assert_int_equal(plan_build(&p, reqs, 2), 2);
	profile_free(&p);
}

static void
test_boundaries(void **state)
{
	struct profile p;

	(void)state;
	/* gap of 2 unmapped registers (1, 2) */
	setpt(0, 3, 0, RT_U16);
	setpt(1, 3, 3, RT_U16);
	p = mkprofile(2, 125, 2);
	assert_int_equal(plan_build(&p, reqs, 8), 1);
	assert_req(&reqs[0], 3, 0, 4);
	p.max_gap = 1;
	assert_int_equal(plan_build(&p, reqs, 8), 2);
	assert_req(&reqs[0], 3, 0, 1);
	assert_req(&reqs[1], 3, 3, 1);

	/* a span of exactly max_read registers */
	setpt(0, 4, 100, RT_U16);
	setpt(1, 4, 223, RT_F32);	/* 100..224 = 125 registers */
	p = mkprofile(2, 125, 124);
	assert_int_equal(plan_build(&p, reqs, 8), 1);
	assert_req(&reqs[0], 4, 100, 125);
	p.max_read = 124;
	assert_int_equal(plan_build(&p, reqs, 8), 2);
	assert_req(&reqs[0], 4, 100, 1);
	assert_req(&reqs[1], 4, 223, 2);

	/* function codes never merge; FC3 before FC4; adjacent points merge at gap 0 */
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

	/* what a validated profile cannot contain */
	p = mkprofile(0, 125, 0);
	assert_int_equal(plan_build(&p, reqs, 8), -EINVAL);
	setpt(0, 4, 0, RT_F64);
	p = mkprofile(1, 2, 0);
	assert_int_equal(plan_build(&p, reqs, 8), -EINVAL);
	p = mkprofile(1, 126, 0);
	assert_int_equal(plan_build(&p, reqs, 8), -EINVAL);
}

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

static unsigned
ends(const struct profile_point *q)
{
	return q->addr + regmap_words(q->type) - 1;
}

/* Random points that are pairwise identical or disjoint, as a profile allows. */
static size_t
random_points(size_t want, unsigned range)
{
	size_t n = 0, i, tries;
	struct profile_point c;
	unsigned w;
	int clash;

	for (tries = 0; n < want && tries < 4 * want; tries++) {
		memset(&c, 0, sizeof(c));
		c.fc = (uint8_t)(3 + rnd(2));
		c.type = (enum reg_type)rnd(8);
		w = regmap_words(c.type);
		c.addr = (uint16_t)(range >= 65536 ? 65536 - w - rnd(300) :
		    rnd(range));
		clash = 0;
		for (i = 0; i < n && !clash; i++) {
			if (pts[i].fc == c.fc && pts[i].addr <= c.addr + w - 1 &&
			    c.addr <= ends(&pts[i]))
				clash = 1 + (int)i;
		}
		if (clash && rnd(2) == 0)
			continue;
		if (clash)
			c = pts[clash - 1];
		setpt(n, c.fc, c.addr, c.type);
		n++;
	}
	return n;
}

static int
pt_cmp(const void *a, const void *b)
{
	const struct profile_point *x = a, *y = b;

	if (x->fc != y->fc)
		return x->fc - y->fc;
	return (int)x->addr - (int)y->addr;
}

/* Sorted copy of the profile's points, identical points once. */
static size_t
sorted_points(const struct profile *p, struct profile_point *s)
{
	size_t n = 0, i, k;

	for (i = 0; i < p->n_points; i++) {
		for (k = 0; k < n; k++) {
			if (s[k].fc == p->points[i].fc &&
			    s[k].addr == p->points[i].addr)
				break;
		}
		if (k == n)
			s[n++] = p->points[i];
	}
	qsort(s, n, sizeof(s[0]), pt_cmp);
	return n;
}

/*
 * Fewest requests by dynamic programming over the sorted distinct points: best[j]
 * is the minimum for the first j points; the last request holds points i..j-1
 * when they share the function code, span at most max_read and no gap between
 * neighbours exceeds max_gap (growing the request leftwards only adds limits,
 * so the scan stops at the first i that fails).
 */
static int
min_requests(const struct profile *p)
{
	static struct profile_point s[PROFILE_POINTS_MAX];
	int best[PROFILE_POINTS_MAX + 1];
	size_t n, i, j;

	n = sorted_points(p, s);
	best[0] = 0;
	for (j = 1; j <= n; j++) {
		best[j] = INT32_MAX;
		for (i = j; i-- > 0;) {
			if (s[i].fc != s[j - 1].fc ||
			    ends(&s[j - 1]) - s[i].addr + 1 > p->max_read)
				break;
			if (i + 1 < j &&
			    s[i + 1].addr - ends(&s[i]) - 1 > p->max_gap)
				break;
			if (best[i] + 1 < best[j])
				best[j] = best[i] + 1;
		}
	}
	return best[n];
}

static void
check_plan(const struct profile *p, const struct plan_req *q, int n)
{
	static struct profile_point s[PROFILE_POINTS_MAX];
	size_t ns, i, hits, inside;
	unsigned last, end;
	int j;

	assert_true(n >= 1);
	ns = sorted_points(p, s);
	for (j = 0; j < n; j++) {
		end = (unsigned)q[j].addr + q[j].count - 1;
		assert_true(q[j].count >= 1 && q[j].count <= p->max_read);
		assert_true(end <= 65535);
		/* sorted by (fc, address), no two requests share a register */
		if (j > 0)
			assert_true(q[j - 1].fc < q[j].fc ||
			    (q[j - 1].fc == q[j].fc &&
			    q[j - 1].addr + q[j - 1].count <= q[j].addr));
		/* tight: starts and ends on a point; inner gaps <= max_gap */
		inside = 0;
		last = 0;
		for (i = 0; i < ns; i++) {
			if (s[i].fc != q[j].fc || s[i].addr < q[j].addr ||
			    ends(&s[i]) > end)
				continue;
			if (inside == 0)
				assert_int_equal(s[i].addr, q[j].addr);
			else
				assert_true(s[i].addr - last - 1 <= p->max_gap);
			last = ends(&s[i]);
			inside++;
		}
		assert_true(inside > 0);
		assert_int_equal(last, end);
	}
	for (i = 0; i < p->n_points; i++) {
		hits = 0;
		for (j = 0; j < n; j++) {
			if (p->points[i].fc == q[j].fc &&
			    p->points[i].addr >= q[j].addr &&
			    ends(&p->points[i]) < (unsigned)q[j].addr + q[j].count)
				hits++;
		}
		assert_int_equal(hits, 1);
	}
	assert_int_equal(n, min_requests(p));
}

static void
test_random_profiles(void **state)
{
	static struct plan_req again[PROFILE_POINTS_MAX];
	struct profile_point tmp;
	struct profile p;
	size_t iter, n, i, k;
	unsigned range;
	int nreq, total = 0;

	(void)state;
	for (iter = 0; iter < 2000; iter++) {
		range = iter % 10 == 9 ? 65536 : 40 + rnd(400);
		n = random_points(1 + rnd(iter % 7 == 0 ? PROFILE_POINTS_MAX : 40),
		    range);
		p = mkprofile(n, 4 + rnd(PROFILE_READ_MAX - 3), rnd(24));
		nreq = plan_build(&p, reqs, PROFILE_POINTS_MAX);
		check_plan(&p, reqs, nreq);
		total += nreq;

		/* deterministic: the order of the points does not matter */
		for (i = n; i > 1; i--) {
			k = rnd((uint32_t)i);
			tmp = pts[i - 1];
			pts[i - 1] = pts[k];
			pts[k] = tmp;
		}
		assert_int_equal(plan_build(&p, again, PROFILE_POINTS_MAX), nreq);
		assert_memory_equal(again, reqs, (size_t)nreq * sizeof(reqs[0]));
		if (nreq > 1)
			assert_int_equal(plan_build(&p, again, (size_t)nreq - 1),
			    -ENOSPC);
	}
	assert_true(total > 2000);
}

#ifdef CONFIG_DRIVER_REGMAP
#include "drivers/driver.h"

extern const struct driver_ops regmap_driver_ops;

/* A fake bus: two register tables and one scripted failure. */
struct bus {
	uint16_t regs[2][65536];	/* [fc - 3] */
	int fail_addr;			/* request at this address fails */
	int fail_rc, fail_exc, fail_all;
	int calls;
};

static struct bus fake;

int
bus_read(struct bus *b, int unit, int fc, int addr, int count,
    uint16_t *dst, int *exc)
{
	assert_ptr_equal(b, &fake);
	assert_int_equal(unit, 7);
	assert_true(fc == 3 || fc == 4);
	assert_true(count >= 1 && count <= 125 && addr + count <= 65536);
	b->calls++;
	if (b->fail_all || addr == b->fail_addr) {
		if (exc != NULL)
			*exc = b->fail_exc;
		return b->fail_rc;
	}
	memcpy(dst, &b->regs[fc - 3][addr], (size_t)count * sizeof(*dst));
	return 0;
}

struct got {
	struct reading r[64];
	size_t n;
	int stop_after;		/* sink fails on this reading (1-based), or 0 */
};

static int
sink(void *arg, const struct reading *r)
{
	struct got *g = arg;

	assert_true(g->n < 64);
	g->r[g->n++] = *r;
	return g->stop_after != 0 && g->n == (size_t)g->stop_after ? -ECANCELED :
	    0;
}

static const struct reading *
find(const struct got *g, uint16_t point)
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		if (g->r[i].point == point)
			return &g->r[i];
	}
	return NULL;
}

/* The SDM630 meter as the simulator would serve it: value i -> 100 + i/10. */
static void
fill_meter(const struct profile *p)
{
	size_t i;

	memset(&fake, 0, sizeof(fake));
	fake.fail_addr = -1;
	for (i = 0; i < p->n_points; i++)
		assert_int_equal(regmap_encode((struct dec){ 1000 + (int64_t)i,
		    -1 }, p->points[i].type, p->points[i].order,
		    p->points[i].scale, &fake.regs[4 - 3][p->points[i].addr]),
		    0);
}

static void
test_driver_poll(void **state)
{
	struct device d;
	struct profile p;
	struct got g;
	char err[256];
	const struct reading *r;
	size_t i;

	(void)state;
	assert_ptr_equal(driver_find("regmap"), &regmap_driver_ops);
	assert_null(driver_find("sdm630"));
	assert_null(driver_find(NULL));
	assert_int_equal(profile_load(SDM630, &p, err, sizeof(err)), 0);
	memset(&d, 0, sizeof(d));
	d.ops = &regmap_driver_ops;
	snprintf(d.name, sizeof(d.name), "meter1");
	d.index = 3;
	d.unit = 7;
	d.profile = &p;
	assert_int_equal(d.ops->probe(&d, err, sizeof(err)), 0);
	assert_int_equal(d.n_plan, 2);

	/* every point, in order, exact */
	fill_meter(&p);
	memset(&g, 0, sizeof(g));
	assert_int_equal(d.ops->poll(&d, &fake, 1700000000123, sink, &g), 0);
	assert_int_equal(fake.calls, 2);
	assert_int_equal(g.n, p.n_points);
	for (i = 0; i < g.n; i++) {
		assert_int_equal(g.r[i].point, i);
		assert_int_equal(g.r[i].dev, 3);
		assert_int_equal(g.r[i].ts_ms, 1700000000123);
		assert_int_equal(g.r[i].quality, Q_OK);
		assert_true(dec_equal(g.r[i].v,
		    (struct dec){ 1000 + (int64_t)i, -1 }));
	}
	assert_int_equal(d.health.polls, 1);
	assert_int_equal(d.health.ok, 2);

	/* NaN in voltage_l2 is an invalid reading, not a missing one */
	regmap_put_f32(NAN, RO_ABCD, &fake.regs[1][2]);
	memset(&g, 0, sizeof(g));
	assert_int_equal(d.ops->poll(&d, &fake, 1, sink, &g), 0);
	assert_int_equal(g.n, p.n_points);
	r = find(&g, 1);
	assert_non_null(r);
	assert_int_equal(r->quality, Q_INVALID);
	assert_int_equal(d.health.invalid, 1);

	/* the second request times out: its point is skipped, the rest arrive */
	fake.fail_addr = 342;
	fake.fail_rc = -ETIMEDOUT;
	memset(&g, 0, sizeof(g));
	assert_int_equal(d.ops->poll(&d, &fake, 2, sink, &g), 0);
	assert_int_equal(g.n, p.n_points - 1);
	assert_null(find(&g, (uint16_t)(p.n_points - 1)));
	assert_int_equal(d.health.timeouts, 1);

	/* the first request gets an exception, the second still runs */
	fake.fail_addr = 0;
	fake.fail_rc = -EPROTO;
	fake.fail_exc = 2;
	memset(&g, 0, sizeof(g));
	assert_int_equal(d.ops->poll(&d, &fake, 3, sink, &g), 0);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.r[0].point, p.n_points - 1);
	assert_int_equal(d.health.exceptions, 1);

	/* nothing answers: the last error, no readings */
	fake.fail_all = 1;
	fake.fail_rc = -EIO;
	fake.calls = 0;
	memset(&g, 0, sizeof(g));
	assert_int_equal(d.ops->poll(&d, &fake, 4, sink, &g), -EIO);
	assert_int_equal(fake.calls, 2);
	assert_int_equal(g.n, 0);
	assert_int_equal(d.health.io_errors, 2);

	/* a failing sink stops the poll with its error */
	fake.fail_all = 0;
	fake.fail_addr = -1;
	memset(&g, 0, sizeof(g));
	g.stop_after = 3;
	assert_int_equal(d.ops->poll(&d, &fake, 5, sink, &g), -ECANCELED);
	assert_int_equal(g.n, 3);

	assert_int_equal(d.health.polls, 6);
	assert_int_equal(d.health.ok, 2 + 2 + 1 + 1 + 1);
	d.ops->close(&d);
	assert_null(d.plan);
	assert_int_equal(d.ops->poll(&d, &fake, 6, sink, &g), -EINVAL);
	profile_free(&p);
}
#endif

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sdm630_plan),
		cmocka_unit_test(test_boundaries),
		cmocka_unit_test(test_random_profiles),
#ifdef CONFIG_DRIVER_REGMAP
		cmocka_unit_test(test_driver_poll),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
