/*
 * sd_notify's protocol as firmware/base/notify.c speaks it: $NOTIFY_SOCKET
 * as an address (paths, abstract names, lengths at the edge of sun_path,
 * what is refused), WATCHDOG_USEC and WATCHDOG_PID, and sends that reach
 * a datagram socket, do nothing without one, never block on a full queue
 * and log a failure once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "firmware/base/log.h"
#include "firmware/base/notify.h"

#define SUN_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))
#define BASE offsetof(struct sockaddr_un, sun_path)

static void
test_addr_refused(void **state)
{
	struct sockaddr_un sa;
	socklen_t len;

	(void)state;
	assert_int_equal(notify_addr(NULL, &sa, &len), -ENOENT);
	assert_int_equal(notify_addr("", &sa, &len), -ENOENT);
	assert_int_equal(notify_addr("run/notify", &sa, &len), -EINVAL);
	assert_int_equal(notify_addr("@", &sa, &len), -EINVAL);
	assert_int_equal(notify_addr("vsock:2:1234", &sa, &len), -EAFNOSUPPORT);
}

static void
test_addr_path(void **state)
{
	struct sockaddr_un sa;
	socklen_t len;
	char name[SUN_MAX + 2];

	(void)state;
	assert_int_equal(notify_addr("/run/systemd/notify", &sa, &len), 0);
	assert_int_equal(sa.sun_family, AF_UNIX);
	assert_string_equal(sa.sun_path, "/run/systemd/notify");
	assert_int_equal(len, BASE + strlen("/run/systemd/notify") + 1);
	/* The longest path that keeps its NUL, and one byte more. */
	memset(name, 'p', sizeof(name));
	name[0] = '/';
	name[SUN_MAX - 1] = '\0';
	assert_int_equal(notify_addr(name, &sa, &len), 0);
	assert_int_equal(len, BASE + SUN_MAX);
	assert_int_equal(sa.sun_path[SUN_MAX - 1], '\0');
	name[SUN_MAX - 1] = 'p';
	name[SUN_MAX] = '\0';
	assert_int_equal(notify_addr(name, &sa, &len), -ENAMETOOLONG);
}

static void
test_addr_abstract(void **state)
{
	struct sockaddr_un sa;
	socklen_t len;
	char name[SUN_MAX + 2];

	(void)state;
	assert_int_equal(notify_addr("@wg/notify", &sa, &len), 0);
	assert_int_equal(sa.sun_path[0], '\0');
	assert_memory_equal(sa.sun_path + 1, "wg/notify", 9);
	/* No terminator: the length ends the name. */
	assert_int_equal(len, BASE + 10);
	/* '@' and SUN_MAX - 1 bytes fill sun_path exactly; one more does not fit. */
	memset(name, 'a', sizeof(name));
	name[0] = '@';
	name[SUN_MAX] = '\0';
	assert_int_equal(notify_addr(name, &sa, &len), 0);
	assert_int_equal(len, BASE + SUN_MAX);
	assert_int_equal(sa.sun_path[0], '\0');
	assert_int_equal(sa.sun_path[SUN_MAX - 1], 'a');
	name[SUN_MAX] = 'a';
	name[SUN_MAX + 1] = '\0';
	assert_int_equal(notify_addr(name, &sa, &len), -ENAMETOOLONG);
}

static void
test_watchdog(void **state)
{
	uint64_t us;

	(void)state;
	assert_int_equal(notify_watchdog(NULL, NULL, 42, &us), 0);
	assert_int_equal(notify_watchdog("", NULL, 42, &us), 0);
	assert_int_equal(notify_watchdog("0", NULL, 42, &us), 0);
	assert_int_equal(notify_watchdog("30000000", NULL, 42, &us), 1);
	assert_int_equal(us, 30000000);
	assert_int_equal(notify_watchdog("30000000", "", 42, &us), 1);
	assert_int_equal(notify_watchdog("30000000", "42", 42, &us), 1);
	/* Meant for another process (a child that inherited the variables). */
	assert_int_equal(notify_watchdog("30000000", "43", 42, &us), 0);
	assert_int_equal(us, 0);
	assert_int_equal(notify_watchdog("-5", NULL, 42, &us), -EINVAL);
	assert_int_equal(notify_watchdog(" 5", NULL, 42, &us), -EINVAL);
	assert_int_equal(notify_watchdog("5s", NULL, 42, &us), -EINVAL);
	assert_int_equal(notify_watchdog("99999999999999999999999", NULL, 42, &us),
	    -EINVAL);
	assert_int_equal(notify_watchdog("5", "x", 42, &us), -EINVAL);
	assert_int_equal(notify_watchdog("5", "0", 42, &us), -EINVAL);
}

/* A service manager's socket at name ("@..." or a path). */
static int
manager(const char *name)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(notify_addr(name, &sa, &len), 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
	return fd;
}

static void
got(int fd, const char *want)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	assert_true(n >= 0);
	buf[n] = '\0';
	assert_string_equal(buf, want);
}

static void
test_send(void **state)
{
	char dir[] = "/tmp/wg-notify-XXXXXX", path[64], abs[64];
	int fd;

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_init(), 0);
	assert_int_equal(notify_send("READY=1"), 0);	/* nobody asked */

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	fd = manager(path);
	setenv("NOTIFY_SOCKET", path, 1);
	assert_int_equal(notify_init(), 1);
	assert_int_equal(notify_send("READY=1\nSTATUS=up"), 0);
	got(fd, "READY=1\nSTATUS=up");
	close(fd);
	unlink(path);
	rmdir(dir);

	snprintf(abs, sizeof(abs), "@wg-test-notify-%ld", (long)getpid());
	fd = manager(abs);
	setenv("NOTIFY_SOCKET", abs, 1);
	assert_int_equal(notify_init(), 1);
	assert_int_equal(notify_send("WATCHDOG=1"), 0);
	got(fd, "WATCHDOG=1");
	notify_close();
	assert_int_equal(notify_send("WATCHDOG=1"), 0);	/* closed: nothing */
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static int n_said;

static void
count(const char *line, void *arg)
{
	if (strstr(line, (const char *)arg) != NULL)
		n_said++;
}

static int
said(const char *what)
{
	n_said = 0;
	log_recent(LOG_RING_LINES, count, (void *)what);
	return n_said;
}

/* A manager that does not read: the queue fills, no send waits, one line. */
static void
test_full_queue(void **state)
{
	char abs[64];
	struct timespec t0, t1;
	int fd, i, failed = 0, rc;

	(void)state;
	snprintf(abs, sizeof(abs), "@wg-test-notify-full-%ld", (long)getpid());
	fd = manager(abs);
	setenv("NOTIFY_SOCKET", abs, 1);
	assert_int_equal(notify_init(), 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < 2000; i++)
		if ((rc = notify_send("WATCHDOG=1")) < 0) {
			assert_int_equal(rc, -EAGAIN);
			failed++;
		}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(failed > 0);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	assert_int_equal(said("WATCHDOG=1 not sent: Resource temporarily "
	    "unavailable"), 1);
	close(fd);
	notify_close();
	unsetenv("NOTIFY_SOCKET");
}

/* Nobody at the address (the manager went away): -errno, logged once. */
static void
test_gone_and_bad(void **state)
{
	(void)state;
	setenv("NOTIFY_SOCKET", "/nonexistent/wg-notify", 1);
	assert_int_equal(notify_init(), 1);
	assert_int_equal(notify_send("READY=1"), -ENOENT);
	assert_int_equal(notify_send("STOPPING=1"), -ENOENT);
	assert_int_equal(said("NOTIFY_SOCKET: READY=1 not sent: No such file"), 1);
	assert_int_equal(said("STOPPING=1 not sent"), 0);
	setenv("NOTIFY_SOCKET", "relative/notify", 1);
	assert_int_equal(notify_init(), -EINVAL);
	assert_int_equal(notify_send("READY=1"), 0);
	assert_int_equal(said("NOTIFY_SOCKET=relative/notify: neither an absolute "
	    "path nor an @abstract name"), 1);
	unsetenv("NOTIFY_SOCKET");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_refused),
		cmocka_unit_test(test_addr_path),
		cmocka_unit_test(test_addr_abstract),
		cmocka_unit_test(test_watchdog),
		cmocka_unit_test(test_send),
		cmocka_unit_test(test_full_queue),
		cmocka_unit_test(test_gone_and_bad),
	};

	log_init("test", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
