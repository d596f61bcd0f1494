/*
 * The generic driver's poll against a fake bus (bus_read is defined below):
 * readings, partial failures, counters, and points that share registers
 * delivered once. The real bus is exercised by the integration tests against
 * the simulator.
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

#include "drivers/driver.h"

#define SDM630 WG_SOURCE_DIR "/drivers/profiles/sdm630.json"

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

/*
 * Points that overlap without being identical (as bit fields of one register
 * may) need requests that overlap too; each point still arrives exactly once.
 * Two u64 at 0..3 and 2..5 with max_read 4: reads 0..3 and 2..5.
 */
static void
test_driver_overlap(void **state)
{
	struct profile_point pts[3];
	struct profile p;
	struct device d;
	struct got g;
	char err[256];
	size_t i;

	(void)state;
	memset(pts, 0, sizeof(pts));
	memset(&p, 0, sizeof(p));
	snprintf(p.name, sizeof(p.name), "overlap");
	p.max_read = 4;
	p.points = pts;
	p.n_points = 3;
	for (i = 0; i < 3; i++) {
		snprintf(pts[i].name, sizeof(pts[i].name), "p%zu", i);
		pts[i].fc = 3;
		pts[i].type = RT_U64;
		pts[i].order = RO_ABCD;
		pts[i].scale = dec_from_int(1);
	}
	pts[1].addr = 2;
	pts[2].addr = 2;		/* identical to points[1] */
	memset(&d, 0, sizeof(d));
	d.ops = &regmap_driver_ops;
	snprintf(d.name, sizeof(d.name), "dev");
	d.unit = 7;
	d.profile = &p;
	assert_int_equal(d.ops->probe(&d, err, sizeof(err)), 0);
	assert_int_equal(d.n_plan, 2);
	assert_int_equal(d.plan[0].addr, 0);
	assert_int_equal(d.plan[0].count, 4);
	assert_int_equal(d.plan[1].addr, 2);
	assert_int_equal(d.plan[1].count, 4);

	memset(&fake, 0, sizeof(fake));
	fake.fail_addr = -1;
	for (i = 0; i < 6; i++)
		fake.regs[0][i] = (uint16_t)(i + 1);
	memset(&g, 0, sizeof(g));
	assert_int_equal(d.ops->poll(&d, &fake, 1, sink, &g), 0);
	assert_int_equal(fake.calls, 2);
	assert_int_equal(g.n, 3);
	assert_int_equal(g.r[0].point, 0);
	assert_true(dec_equal(g.r[0].v, dec_from_int(0x0001000200030004)));
	assert_int_equal(g.r[1].point, 1);
	assert_true(dec_equal(g.r[1].v, dec_from_int(0x0003000400050006)));
	assert_int_equal(g.r[2].point, 2);
	assert_true(dec_equal(g.r[2].v, dec_from_int(0x0003000400050006)));

	/* the first read is refused (exception): only point 0 is lost */
	fake.fail_addr = 0;
	fake.fail_rc = -EPROTO;
	fake.fail_exc = 2;
	memset(&g, 0, sizeof(g));
	assert_int_equal(d.ops->poll(&d, &fake, 2, sink, &g), 0);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.r[0].point, 1);

	/* it times out: the device's poll ends there (its bus must not wait twice) */
	fake.fail_rc = -ETIMEDOUT;
	fake.calls = 0;
	memset(&g, 0, sizeof(g));
	assert_int_equal(d.ops->poll(&d, &fake, 3, sink, &g), -ETIMEDOUT);
	assert_int_equal(fake.calls, 1);
	assert_int_equal(g.n, 0);
	d.ops->close(&d);
	assert_null(d.point_req);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_driver_poll),
		cmocka_unit_test(test_driver_overlap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
