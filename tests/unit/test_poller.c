/*
 * The bus workers' hand-over to the loop (firmware/core/poller.c): a stop
 * while a worker waits for room in the full queue still hands over every
 * reading the device delivered. A fake driver delivers more readings in one
 * poll than the queue holds; the loop is not run, so the queue fills and the
 * worker waits, as when the loop stalls (a slow commit) at a stop.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "firmware/core/config.h"
#include "firmware/base/loop.h"
#include "firmware/core/poller.h"

#define READINGS 1500		/* more than the queue's 1024 */

static atomic_int handed;	/* sink calls that returned */
static size_t got, dones;
static int readings = READINGS;	/* per poll */

static int
fake_poll(struct device *d, struct bus *b, int64_t ts_ms, reading_sink sink,
    void *arg)
{
	struct reading r;
	int i, rc;

	(void)b;
	for (i = 0; i < readings; i++) {
		memset(&r, 0, sizeof(r));
		r.ts_ms = ts_ms;
		r.dev = d->index;
		r.point = (uint16_t)i;
		r.v = dec_from_int(i);
		if ((rc = sink(arg, &r)) != 0)
			return rc;
		atomic_fetch_add(&handed, 1);
	}
	return 0;
}

static void
fake_close(struct device *d)
{
	(void)d;
}

static const struct driver_ops fake_ops = {
	.name = "fake", .poll = fake_poll, .close = fake_close,
};

static void
on_reading(void *arg, const struct reading *r)
{
	(void)arg;
	assert_int_equal(r->point, got);
	got++;
}

static void
on_done(void *arg, size_t bus, int64_t ts_ms)
{
	(void)arg;
	(void)bus;
	(void)ts_ms;
	dones++;
}

/* One bus with one device on the fake driver. */
struct site {
	struct cfg_bus bus;
	struct cfg_device dev;
	struct site_config cfg;
	struct device d;
};

static void
site_init(struct site *t)
{
	memset(t, 0, sizeof(*t));
	strcpy(t->bus.name, "lan");
	/* Opened, never connected: the fake driver does not use it. */
	t->bus.bus.kind = BUS_TCP;
	strcpy(t->bus.bus.host, "127.0.0.1");
	t->bus.bus.port = 1;
	t->bus.bus.timeout_ms = 100;
	t->cfg.n_buses = 1;
	t->cfg.buses = &t->bus;
	t->cfg.n_devices = 1;
	t->cfg.devices = &t->dev;
	t->d.ops = &fake_ops;
	strcpy(t->d.name, "m1");
}

static void
test_stop_with_full_queue(void **state)
{
	struct site t;
	struct poller_events ev = { on_reading, on_done, NULL };
	struct pollers *p = NULL;
	struct loop *l;
	struct timespec ms10 = { 0, 10 * 1000 * 1000 };
	size_t overruns;
	int i;

	(void)state;
	site_init(&t);
	assert_non_null(l = loop_new());
	assert_int_equal(pollers_start(l, &t.cfg, &t.d, &ev, &p), 0);
	assert_int_equal(pollers_trigger(p, 1000, &overruns), 1);
	/* The worker has filled the queue and waits for room. */
	for (i = 0; i < 500 && atomic_load(&handed) < 1024; i++)
		nanosleep(&ms10, NULL);
	assert_int_equal(atomic_load(&handed), 1024);
	nanosleep(&ms10, NULL);
	pollers_stop(p);
	assert_int_equal(got, READINGS);
	loop_free(l);
}

/*
 * A bus that reported its cycle done is idle: the next tick, even at once,
 * starts it. (The worker cleared "busy" only after handing over "done", so a
 * tick right behind the commit counted a false overrun and skipped the bus
 * for a cycle.) Each done starts the next cycle from the loop at once.
 */
#define CYCLES 400

struct chain {
	struct pollers *p;
	struct loop *l;
	size_t cycles, overruns;
};

static void
on_done_next(void *arg, size_t bus, int64_t ts_ms)
{
	struct chain *c = arg;
	size_t overruns = 0;

	(void)bus;
	if (++c->cycles == CYCLES) {
		loop_stop(c->l);
		return;
	}
	if (pollers_trigger(c->p, ts_ms + 1000, &overruns) != 1 || overruns > 0) {
		c->overruns++;
		loop_stop(c->l);	/* no cycle started: nothing more comes */
	}
}

static void
on_reading_any(void *arg, const struct reading *r)
{
	(void)arg;
	(void)r;
}

static void
test_done_means_idle(void **state)
{
	struct site t;
	struct chain c = { 0 };
	struct poller_events ev = { on_reading_any, on_done_next, &c };
	size_t overruns;

	(void)state;
	readings = 1;
	site_init(&t);
	assert_non_null(c.l = loop_new());
	assert_int_equal(pollers_start(c.l, &t.cfg, &t.d, &ev, &c.p), 0);
	assert_int_equal(pollers_trigger(c.p, 1000, &overruns), 1);
	assert_int_equal(loop_run(c.l), 0);
	pollers_stop(c.p);
	loop_free(c.l);
	assert_int_equal(c.cycles, CYCLES);
	assert_int_equal(c.overruns, 0);
	readings = READINGS;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stop_with_full_queue),
		cmocka_unit_test(test_done_means_idle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
