/* log_clean and the log calls: text from outside never makes a line of its own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean),
		cmocka_unit_test(test_log_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
