/* log_clean and the log calls: text from outside never makes a line of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/base/log.h"

static void
test_clean(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(log_clean(out, sizeof(out), "plain °C text"), 14);
	assert_string_equal(out, "plain °C text");
	log_clean(out, sizeof(out), "a\nwattgate: forged\r\x1b[2J\x7f");
	assert_string_equal(out, "a\\x0awattgate: forged\\x0d\\x1b[2J\\x7f");
	/* Cut at the buffer, never in the middle of an escape. */
	log_clean(out, 8, "abcde\n");
	assert_string_equal(out, "abcde");
	log_clean(out, 10, "abcde\n");
	assert_string_equal(out, "abcde\\x0a");
	assert_int_equal(log_clean(out, 1, "abc"), 0);
	assert_string_equal(out, "");
}

/* The whole message is cleaned, whatever the format put in it. */
static void
test_log_line(void **state)
{
	char path[] = "/tmp/wg-log-XXXXXX", buf[256];
	int fd, saved;
	ssize_t n;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	fflush(stderr);
	saved = dup(2);
	assert_int_equal(dup2(fd, 2), 2);
	log_init("wattgate", 0);
	log_warnx("device m: model '%s'", "X\nwattgate: fatal: forged");
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "wattgate: warning: device m: model "
	    "'X\\x0awattgate: fatal: forged'\n");
	close(fd);
	unlink(path);
}

struct got {
	char line[8][LOG_RING_LINE_MAX];
	size_t n;
};

static void
take(const char *line, void *arg)
{
	struct got *g = arg;

	if (g->n < 8)
		snprintf(g->line[g->n], sizeof(g->line[0]), "%s", line);
	g->n++;
}

static void
quiet(void)
{
	int null = open("/dev/null", O_WRONLY);

	fflush(stderr);
	assert_int_equal(dup2(null, 2), 2);
	close(null);
}

/* The ring (the console's "log"): the last lines as printed, oldest first. */
static void
test_recent(void **state)
{
	struct got g = { .n = 0 };
	int saved, i;

	(void)state;
	saved = dup(2);
	quiet();
	log_init("wattgate", 0);
	log_info("first %d", 1);
	log_warnx("second\x1b[2J");
	errno = ENOENT;
	log_warn("third");
	assert_int_equal(log_recent(3, take, &g), 3);
	assert_string_equal(g.line[0], "wattgate: info: first 1");
	assert_string_equal(g.line[1], "wattgate: warning: second\\x1b[2J");
	assert_string_equal(g.line[2], "wattgate: warning: third: No such file or "
	    "directory");
	/* More than it holds: the last LOG_RING_LINES. */
	for (i = 0; i < LOG_RING_LINES + 10; i++)
		log_info("line %d", i);
	g.n = 0;
	assert_int_equal(log_recent(100000, take, &g), LOG_RING_LINES);
	assert_string_equal(g.line[0], "wattgate: info: line 10");
	g.n = 0;
	assert_int_equal(log_recent(1, take, &g), 1);
	assert_string_equal(g.line[0], "wattgate: info: line 265");
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
}

/* Workers log while the loop reads the ring: never half a line. */
static void *
writer(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < 20000; i++)
		log_info("%s", "worker line of a fixed length, to be checked whole");
	return NULL;
}

static void
check_whole(const char *line, void *arg)
{
	(void)arg;
	if (strcmp(line, "wattgate: info: worker line of a fixed length, to be "
	    "checked whole") != 0 && strncmp(line, "wattgate: info: line ", 21) != 0)
		fail_msg("torn line: '%s'", line);
}

static void
test_recent_threads(void **state)
{
	pthread_t t[2];
	int saved, i;

	(void)state;
	saved = dup(2);
	quiet();
	assert_int_equal(pthread_create(&t[0], NULL, writer, NULL), 0);
	assert_int_equal(pthread_create(&t[1], NULL, writer, NULL), 0);
	for (i = 0; i < 2000; i++)
		log_recent(LOG_RING_LINES, check_whole, NULL);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_log_line),
		cmocka_unit_test(test_recent),
		cmocka_unit_test(test_recent_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
