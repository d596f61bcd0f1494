/*
 * The loop's timers: loop_timer_arm/stop do not let a timer fail silently
 * (a reconnect or the backlog's pacing that never fires stops that part of
 * the daemon for good): a broken timer ends the process, naming what.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "firmware/base/log.h"
#include "firmware/base/loop.h"

/* Runs f in a child with stderr to a pipe: its exit status and what it said. */
static int
in_child(void (*f)(void), char *out, size_t len)
{
	int p[2], status;
	ssize_t n;
	pid_t pid;

	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 2);
		close(p[0]);
		log_init("test", 0);
		f();
		_exit(0);
	}
	close(p[1]);
	n = read(p[0], out, len - 1);
	out[n > 0 ? n : 0] = '\0';
	close(p[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
arm_closed_fd(void)
{
	loop_timer_arm(1000, 10, "forward: backlog pacing");
}

static void
stop_closed_fd(void)
{
	loop_timer_stop(1000, "uplink connection");
}

static void
arm_good_fd(void)
{
	int fd = loop_timer_new(CLOCK_MONOTONIC);

	loop_timer_arm(fd, 1, "a timer");
	usleep(20000);
	if (loop_timer_ack(fd) != 1)
		_exit(3);
	loop_timer_stop(fd, "a timer");
	close(fd);
}

static void
test_broken_timer_is_fatal(void **state)
{
	char out[512];

	(void)state;
	assert_int_equal(in_child(arm_closed_fd, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "fatal: forward: backlog pacing: cannot arm "
	    "its timer: Bad file descriptor"));
	assert_int_equal(in_child(stop_closed_fd, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "fatal: uplink connection: cannot stop its "
	    "timer"));
	assert_int_equal(in_child(arm_good_fd, out, sizeof(out)), 0);
	assert_string_equal(out, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_broken_timer_is_fatal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
