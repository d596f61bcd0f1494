/*
 * http_range: the Content-Range reader fetch_range trusts to say which bytes
 * of the image a 206's body is. Good forms, and everything near them that a
 * lenient reader would take: signs, spaces inside numbers, overflow, a
 * second range, a length shorter than the range.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "firmware/ota/http_range.h"

static void
test_good(void **state)
{
	uint64_t a, b, t;

	(void)state;
	assert_int_equal(http_content_range(" bytes 0-65535/440000\r\n", &a, &b,
	    &t), 0);
	assert_true(a == 0 && b == 65535 && t == 440000);
	assert_int_equal(http_content_range("bytes 7-7/8", &a, &b, &t), 0);
	assert_true(a == 7 && b == 7 && t == 8);
	assert_int_equal(http_content_range("BYTES 1-2/*", &a, &b, &t), 0);
	assert_true(a == 1 && b == 2 && t == 0);
	assert_int_equal(http_content_range("bytes 0-18446744073709551614/"
	    "18446744073709551615", &a, &b, &t), 0);
	assert_true(b == UINT64_MAX - 1 && t == UINT64_MAX);
}

static void
test_bad(void **state)
{
	static const char *const bad[] = {
		"", "bytes", "bytes ", "bytes */440000", "bytes 0-9", "bytes 0-9/",
		"bytes -1-9/10", "bytes +0-9/10", "bytes 0 -9/10", "bytes 0- 9/10",
		"bytes 9-0/10", "bytes 0-9/9", "bytes 0-9/5", "bytes 0-9/10,",
		"bytes 0-9/10 x", "bytes 0-9/10, 20-29/30", "bits 0-9/10",
		"bytes=0-9/10", "bytes 0x1-9/10",
		"bytes 0-18446744073709551616/18446744073709551617",
		"bytes 0-99999999999999999999/1",
	};
	uint64_t a, b, t;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (http_content_range(bad[i], &a, &b, &t) != -1)
			fail_msg("took \"%s\"", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
