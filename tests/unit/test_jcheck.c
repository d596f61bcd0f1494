/*
 * The JSON checks every parser shares (firmware/base/jcheck.h): one rule set,
 * one error form "FILE: PATH: WHAT".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "firmware/base/jcheck.h"

static char err[256];
static struct jc x = { "t.json", err, sizeof(err) };

static json_t *
parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_ALLOW_NUL, &e);

	assert_non_null(j);
	return j;
}

static void
expect(int rc, const char *line)
{
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(err, line);
}

static void
test_keys(void **state)
{
	static const char *const known[] = { "a", "b", NULL };
	json_t *j = parse("{\"a\": 1, \"adress\": 2}");

	(void)state;
	expect(jc_check_keys(&x, j, "points[3]", known),
	    "t.json: points[3].adress: unknown key");
	expect(jc_check_keys(&x, j, "", known), "t.json: adress: unknown key");
	json_decref(j);
	j = parse("{\"a\\u0001\": 1}");
	expect(jc_check_keys(&x, j, "", known), "t.json: a?: unknown key");
	json_decref(j);
}

static void
test_strings(void **state)
{
	json_t *j = parse("{\"s\": \"abc\", \"e\": \"\", \"n\": 3, \"c\": "
	    "\"a\\nb\", \"z\": \"a\\u0000b\"}");
	char buf[4] = "x";

	(void)state;
	assert_int_equal(jc_get_str(&x, j, "o", "s", JC_REQUIRED, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "abc");
	expect(jc_get_str(&x, j, "o", "s", 0, buf, 3),
	    "t.json: o.s: longer than 2 bytes");
	expect(jc_get_str(&x, j, "o", "e", 0, buf, sizeof(buf)), "t.json: o.e: empty");
	assert_int_equal(jc_get_str(&x, j, "o", "e", JC_EMPTY_OK, buf,
	    sizeof(buf)), 0);
	assert_string_equal(buf, "");
	expect(jc_get_str(&x, j, "o", "n", 0, buf, sizeof(buf)),
	    "t.json: o.n: expected a string");
	expect(jc_get_str(&x, j, "o", "c", 0, buf, sizeof(buf)),
	    "t.json: o.c: control character");
	expect(jc_get_str(&x, j, "o", "z", 0, buf, sizeof(buf)),
	    "t.json: o.z: control character");
	expect(jc_get_str(&x, j, "", "m", JC_REQUIRED, buf, sizeof(buf)),
	    "t.json: m: missing");
	strcpy(buf, "x");
	assert_int_equal(jc_get_str(&x, j, "", "m", 0, buf, sizeof(buf)), 1);
	assert_string_equal(buf, "x");	/* absent: untouched */
	json_decref(j);
}

static void
test_numbers(void **state)
{
	json_t *j = parse("{\"i\": 300, \"f\": 1.5, \"t\": true, \"s\": \"1\"}");
	unsigned u = 7;
	long long ll;
	int b;

	(void)state;
	expect(jc_get_uint(&x, j, "devices[1] (meter2)", "i", 1, 1, 247, &u),
	    "t.json: devices[1] (meter2).i: 300 out of range 1..247");
	assert_int_equal(u, 7);
	assert_int_equal(jc_get_uint(&x, j, "", "i", 1, 0, 300, &u), 0);
	assert_int_equal(u, 300);
	expect(jc_get_int(&x, j, "", "f", 0, 0, 9, &ll),
	    "t.json: f: expected an integer");
	expect(jc_get_int(&x, j, "", "s", 0, 0, 9, &ll),
	    "t.json: s: expected an integer");
	assert_int_equal(jc_get_int(&x, j, "", "absent", 0, 0, 9, &ll), 1);
	expect(jc_get_int(&x, j, "", "absent", 1, 0, 9, &ll),
	    "t.json: absent: missing");
	assert_int_equal(jc_get_bool(&x, j, "", "t", 1, &b), 0);
	assert_int_equal(b, 1);
	expect(jc_get_bool(&x, j, "", "i", 1, &b),
	    "t.json: i: expected true or false");
	json_decref(j);
}

static void
test_names_and_paths(void **state)
{
	char w[JC_PATH_MAX], long_path[200];

	(void)state;
	assert_true(jc_name_valid("meter_1", 31, 0));
	assert_false(jc_name_valid("meter-1", 31, 0));
	assert_true(jc_name_valid("meter-1", 31, 1));
	assert_false(jc_name_valid("", 31, 1));
	assert_false(jc_name_valid("Meter", 31, 1));
	assert_false(jc_name_valid("abcd", 3, 1));
	jc_path(w, "", "name");
	assert_string_equal(w, "name");
	jc_path(w, "points[3]", "type");
	assert_string_equal(w, "points[3].type");
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = '\0';
	jc_path(w, long_path, "type");
	assert_int_equal(strlen(w), JC_PATH_MAX - 1);
	assert_int_equal(w[JC_PATH_MAX - 2], '~');
}

static void
test_parse_error_and_rc(void **state)
{
	json_error_t e;
	json_t *j = json_loads("{\"a\":\n  1,}", 0, &e);

	(void)state;
	assert_null(j);
	expect(jc_parse_error(&x, &e), "t.json:2:5: string or '}' expected near '}'");
	assert_int_equal(jc_fail_rc(&x, -ENOMEM, "points", "out of memory"),
	    -ENOMEM);
	assert_string_equal(err, "t.json: points: out of memory");
	/* No error buffer: the code still comes back. */
	struct jc quiet = { "q", NULL, 0 };
	assert_int_equal(jc_fail(&quiet, "p", "x"), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_names_and_paths),
		cmocka_unit_test(test_parse_error_and_rc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
