/*
 * The loop goes on while a lookup hangs: a 50 ms timer keeps ticking while
 * the resolver waits on a name whose DNS server does not answer. The hang
 * comes from tests/preload/libslow_gai.so, preloaded by ctest
 * (tests/unit/core.cmake): this also checks that the shim works as a
 * preload, as the integration tests will use it, under ASan and qemu-user
 * too. Run without it (the valgrind stage runs the binaries bare) the tests
 * are skipped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <link.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "firmware/base/resolve.h"
#include "firmware/base/clock.h"
#include "firmware/base/loop.h"

#define SLEEP_MS	1000
#define TICK_MS		50

struct ctx {
	struct loop *l;
	struct resolver *r;
	int tick, guard;
	int ticks;
	int64_t last_tick, max_gap;
	int answered;
	struct resolve_result res;
	int64_t answered_at;
};

static int
is_shim(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	return info->dlpi_name != NULL && strstr(info->dlpi_name, "slow_gai") != NULL;
}

/*
 * Is the shim loaded? Not "is getaddrinfo the shim's": with the ASan runtime
 * preloaded in front, that is ASan's, which calls the shim's in turn.
 */
static int
preloaded(void)
{
	return dl_iterate_phdr(is_shim, NULL) != 0;
}

static void
on_tick(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct ctx *c = arg;
	int64_t now = clock_mono_ms();

	(void)l;
	(void)events;
	loop_timer_ack(fd);
	c->ticks++;
	if (now - c->last_tick > c->max_gap)
		c->max_gap = now - c->last_tick;
	c->last_tick = now;
}

static void
on_guard(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)arg;
	(void)events;
	loop_timer_ack(fd);
	loop_stop(l);
}

static void
on_result(void *arg, const struct resolve_result *res)
{
	struct ctx *c = arg;

	c->answered++;
	c->res = *res;
	c->answered_at = clock_mono_ms();
	loop_stop(c->l);
}

static int
setup(void **state)
{
	struct ctx *c;

	*state = NULL;
	if (!preloaded())
		return 0;	/* the test skips */
	assert_non_null(c = calloc(1, sizeof(*c)));
	assert_non_null(c->l = loop_new());
	assert_true((c->tick = loop_timer_new(CLOCK_MONOTONIC)) >= 0);
	assert_true((c->guard = loop_timer_new(CLOCK_MONOTONIC)) >= 0);
	assert_int_equal(loop_add(c->l, c->tick, EPOLLIN, on_tick, c), 0);
	assert_int_equal(loop_add(c->l, c->guard, EPOLLIN, on_guard, c), 0);
	assert_int_equal(resolve_start(c->l, 0, &c->r), 0);
	*state = c;
	return 0;
}

static int
teardown(void **state)
{
	struct ctx *c = *state;

	if (c == NULL)
		return 0;
	resolve_stop(c->r);
	loop_del(c->l, c->tick);
	loop_del(c->l, c->guard);
	close(c->tick);
	close(c->guard);
	loop_free(c->l);
	free(c);
	return 0;
}

/*
 * The lookup takes SLEEP_MS and then fails as a dead DNS server's does
 * (EAI_AGAIN); the timer ticks all along, never much later than due.
 */
static void
test_loop_ticks_while_hanging(void **state)
{
	struct ctx *c = *state;
	int64_t t0;

	if (c == NULL)
		skip();
	t0 = c->last_tick = clock_mono_ms();
	assert_int_equal(loop_timer_after(c->tick, TICK_MS, TICK_MS), 0);
	assert_int_equal(loop_timer_after(c->guard, 5 * SLEEP_MS, 0), 0);
	assert_int_equal(resolve_ask(c->r, "mqtt.hang.test", 1883, SOCK_STREAM,
	    on_result, c, NULL), 0);
	assert_int_equal(loop_run(c->l), 0);
	assert_int_equal(c->answered, 1);
	assert_int_equal(c->res.err, -EAGAIN);
	assert_true(c->answered_at - t0 >= SLEEP_MS - 10);
	/* ~SLEEP_MS / TICK_MS ticks; slack for valgrind and qemu-user. */
	assert_true(c->ticks >= SLEEP_MS / TICK_MS / 2);
	assert_true(c->max_gap < 5 * TICK_MS);
}

/* The map of the preloaded shim: a name with two addresses, ::1 first. */
static void
test_dual_name(void **state)
{
	struct ctx *c = *state;
	char buf[ADDRS_STR_MAX];

	if (c == NULL)
		skip();
	assert_int_equal(loop_timer_after(c->guard, 5 * SLEEP_MS, 0), 0);
	assert_int_equal(resolve_ask(c->r, "dual.test", 1883, SOCK_STREAM,
	    on_result, c, NULL), 0);
	assert_int_equal(loop_run(c->l), 0);
	assert_int_equal(c->answered, 1);
	assert_int_equal(c->res.err, 0);
	assert_int_equal(c->res.addrs.n, 2);
	assert_int_equal(addrs_str(&c->res.addrs.a[0], buf, sizeof(buf)), 0);
	assert_string_equal(buf, "::1");
	assert_int_equal(addrs_str(&c->res.addrs.a[1], buf, sizeof(buf)), 0);
	assert_string_equal(buf, "127.0.0.1");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_loop_ticks_while_hanging, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_dual_name, setup, teardown),
	};

	/* ctest sets them (core.cmake); these are for a run by hand. */
	setenv("WG_GAI_SLOW", ".hang.test", 0);
	setenv("WG_GAI_SLEEP_MS", "1000", 0);
	setenv("WG_GAI_MAP", "dual.test=::1,127.0.0.1", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
