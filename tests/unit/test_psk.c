/*
 * The CoAP uplink's PSK file: two lines, identity and hex key; everything else
 * is refused with a reason (the file's contents are never echoed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "firmware/uplink/coap_dtls.h"

static int
parse(const char *text, char *id, uint8_t *key, size_t *klen, char *err)
{
	return psk_parse(text, strlen(text), id, key, klen, err, 128);
}

static void
test_good(void **state)
{
	char id[PSK_ID_MAX + 1], err[128];
	uint8_t key[PSK_KEY_MAX];
	size_t klen;

	(void)state;
	assert_int_equal(parse("gw-0001\n00ff10Ab\n", id, key, &klen, err), 0);
	assert_string_equal(id, "gw-0001");
	assert_int_equal(klen, 4);
	assert_int_equal(key[0], 0x00);
	assert_int_equal(key[1], 0xff);
	assert_int_equal(key[3], 0xab);
	/* no final newline */
	assert_int_equal(parse("a\n01", id, key, &klen, err), 0);
	assert_int_equal(klen, 1);
}

static void
test_bad(void **state)
{
	static const struct { const char *text, *why; } bad[] = {
		{ "", "line 1" },
		{ "\n00\n", "line 1" },
		{ "gw id\n00\n", "space" },
		{ "gw\n", "line 2" },
		{ "gw", "line 2" },
		{ "gw\n0\n", "even" },
		{ "gw\nzz\n", "not hex" },
		{ "gw\n00\nmore\n", "two lines" },
		{ "gw\n"
		  "0000000000000000000000000000000000000000000000000000000000000000"
		  "0000000000000000000000000000000000000000000000000000000000000000"
		  "00\n", "line 2" },
	};
	char id[PSK_ID_MAX + 1], err[128];
	uint8_t key[PSK_KEY_MAX];
	size_t klen, i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(parse(bad[i].text, id, key, &klen, err), -22);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("case %zu: '%s' does not say '%s'", i, err, bad[i].why);
	}
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
