/*
 * The console's request line (firmware/codec/console_req.c): every member
 * and limit of docs/console.md "Protocol", and every refusal one line that
 * starts "request: " and names the member.
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

#include "firmware/codec/console_req.h"

static void
good(const char *line, struct console_req *rq)
{
	char err[256] = "";

	if (console_req_parse(line, strlen(line), rq, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", line, err);
}

/* Refused with an error containing what; *id what the parser knew. */
static void
bad_len(const char *line, size_t len, const char *what, uint64_t id)
{
	struct console_req rq;
	char err[256] = "";

	assert_int_equal(console_req_parse(line, len, &rq, err, sizeof(err)), -EINVAL);
	if (strncmp(err, "request: ", 9) != 0 || strstr(err, what) == NULL ||
	    strchr(err, '\n') != NULL)
		fail_msg("'%.80s': error '%s', want '%s'", line, err, what);
	assert_null(rq.root);
	assert_int_equal(rq.argc, 0);
	assert_null(rq.body);
	assert_int_equal(rq.id, id);
}

static void
bad(const char *line, const char *what, uint64_t id)
{
	bad_len(line, strlen(line), what, id);
}

static void
test_full(void **state)
{
	struct console_req rq;

	(void)state;
	good("{\"id\": 7, \"cmd\": \"read\", \"args\": [\"meter\", \"30001\", \"2\", "
	    "\"f32\"], \"body\": \"a\\nb\"}\r", &rq);
	assert_int_equal(rq.id, 7);
	assert_string_equal(rq.cmd, "read");
	assert_int_equal(rq.argc, 4);
	assert_string_equal(rq.argv[0], "meter");
	assert_string_equal(rq.argv[3], "f32");
	assert_string_equal(rq.body, "a\nb");
	assert_int_equal(rq.body_len, 3);
	console_req_free(&rq);
	assert_null(rq.root);

	good("{\"cmd\":\"login.challenge\",\"id\":9007199254740991}", &rq);
	assert_int_equal(rq.id, 9007199254740991ULL);
	assert_int_equal(rq.argc, 0);
	assert_null(rq.body);
	console_req_free(&rq);
	good("{\"id\":1,\"cmd\":\"x\",\"args\":[],\"body\":\"\"}", &rq);
	assert_int_equal(rq.argc, 0);
	assert_int_equal(rq.body_len, 0);
	console_req_free(&rq);
}

static void
test_not_a_request(void **state)
{
	(void)state;
	bad("", "not JSON", 0);
	bad("garbage", "not JSON", 0);
	bad("\x1b[2J\x1b]0;title\x07", "not JSON", 0);
	bad("[1,2]", "expected a JSON object", 0);
	bad("\"id\"", "not JSON", 0);
	bad("{\"id\":1,\"cmd\":\"a\"} {}", "not JSON", 0);
	bad("{\"id\":1,\"cmd\":\"a\",\"id\":2}", "duplicate", 0);
	bad_len("{\"id\":1,\0\"cmd\":\"a\"}", 19, "not JSON", 0);
	/* Not UTF-8 */
	bad("{\"id\":1,\"cmd\":\"a\",\"args\":[\"\xff\"]}", "not JSON", 0);
}

static void
test_id(void **state)
{
	(void)state;
	bad("{\"cmd\":\"a\"}", "id: missing", 0);
	bad("{\"id\":0,\"cmd\":\"a\"}", "id: 0 out of range", 0);
	bad("{\"id\":-3,\"cmd\":\"a\"}", "id: -3 out of range", 0);
	bad("{\"id\":9007199254740992,\"cmd\":\"a\"}", "out of range", 0);
	bad("{\"id\":1.0,\"cmd\":\"a\"}", "id: expected an integer", 0);
	bad("{\"id\":\"1\",\"cmd\":\"a\"}", "id: expected an integer", 0);
	bad("{\"id\":99999999999999999999,\"cmd\":\"a\"}", "not JSON", 0);
}

static void
test_members(void **state)
{
	(void)state;
	bad("{\"id\":4,\"cmd\":\"a\",\"extra\":1}", "'extra': unknown member", 4);
	bad("{\"id\":4,\"cmd\":\"a\",\"\\u001b[31m\":1}", "'?[31m': unknown member", 4);
	bad("{\"id\":4}", "cmd: missing", 4);
	bad("{\"id\":4,\"cmd\":5}", "cmd: expected a string", 4);
	bad("{\"id\":4,\"cmd\":\"\"}", "cmd: 0 bytes", 4);
	bad("{\"id\":4,\"cmd\":\"abcdefghijklmnopqrstuvwxyzabcdefg\"}", "cmd: 33 bytes",
	    4);
	bad("{\"id\":4,\"cmd\":\"Status\"}", "cmd: 'Status': only a-z", 4);
	bad("{\"id\":4,\"cmd\":\"a b\"}", "(byte 1)", 4);
	bad("{\"id\":4,\"cmd\":\"a\\u0000b\"}", "not JSON", 0);
}

static void
test_args(void **state)
{
	char line[4096], big[1100];
	struct console_req rq;

	(void)state;
	bad("{\"id\":5,\"cmd\":\"a\",\"args\":\"x\"}", "args: expected an array", 5);
	bad("{\"id\":5,\"cmd\":\"a\",\"args\":[\"1\",\"2\",\"3\",\"4\",\"5\",\"6\","
	    "\"7\",\"8\",\"9\"]}", "args: 9 arguments, at most 8", 5);
	bad("{\"id\":5,\"cmd\":\"a\",\"args\":[\"x\",3]}", "args[1]: expected a string",
	    5);
	bad("{\"id\":5,\"cmd\":\"a\",\"args\":[\"ok\",\"ok\",\"hi\\u001b[2J\"]}",
	    "args[2]: control character at byte 2", 5);
	bad("{\"id\":5,\"cmd\":\"a\",\"args\":[\"\\u007f\"]}",
	    "args[0]: control character at byte 0", 5);
	bad("{\"id\":5,\"cmd\":\"a\",\"args\":[\"a\\nb\"]}",
	    "args[0]: control character at byte 1", 5);
	memset(big, 'x', 1025);
	big[1025] = '\0';
	snprintf(line, sizeof(line), "{\"id\":5,\"cmd\":\"a\",\"args\":[\"%s\"]}", big);
	bad(line, "args[0]: 1025 bytes, at most 1024", 5);
	big[1024] = '\0';
	snprintf(line, sizeof(line), "{\"id\":5,\"cmd\":\"a\",\"args\":[\"%s\",\"1\","
	    "\"2\",\"3\",\"4\",\"5\",\"6\",\"\\u00e9\"]}", big);
	good(line, &rq);
	assert_int_equal(rq.argc, 8);
	assert_int_equal(strlen(rq.argv[0]), 1024);
	assert_string_equal(rq.argv[7], "\xc3\xa9");
	console_req_free(&rq);
}

static void
test_body(void **state)
{
	size_t n = CONSOLE_BODY_MAX + 64;
	char *line = malloc(n + 64);
	struct console_req rq;
	int at;

	(void)state;
	assert_non_null(line);
	bad("{\"id\":6,\"cmd\":\"a\",\"body\":[]}", "body: expected a string", 6);
	at = snprintf(line, 64, "{\"id\":6,\"cmd\":\"a\",\"body\":\"");
	memset(line + at, 'b', CONSOLE_BODY_MAX);
	strcpy(line + at + CONSOLE_BODY_MAX, "\"}");
	good(line, &rq);
	assert_int_equal(rq.body_len, CONSOLE_BODY_MAX);
	console_req_free(&rq);
	line[at + CONSOLE_BODY_MAX] = 'b';
	strcpy(line + at + CONSOLE_BODY_MAX + 1, "\"}");
	bad(line, "body: 60001 bytes, at most 60000", 6);
	free(line);
}

static void
test_line_limit(void **state)
{
	char *line = malloc(CONSOLE_LINE_MAX + 1);

	(void)state;
	assert_non_null(line);
	memset(line, ' ', CONSOLE_LINE_MAX);
	memcpy(line, "{\"id\":1,\"cmd\":\"a\"}", 18);
	/* The LF counts: 65535 bytes of text is the longest line. */
	bad_len(line, CONSOLE_LINE_MAX, "line longer than 65536 bytes", 0);
	{
		struct console_req rq;
		char err[256];

		assert_int_equal(console_req_parse(line, CONSOLE_LINE_MAX - 1, &rq,
		    err, sizeof(err)), 0);
		console_req_free(&rq);
	}
	free(line);
}

/* A small err buffer still gets a terminated line. */
static void
test_short_err(void **state)
{
	struct console_req rq;
	char err[12];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(console_req_parse("{}", 2, &rq, err, sizeof(err)), -EINVAL);
	assert_int_equal(strlen(err), sizeof(err) - 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_not_a_request),
		cmocka_unit_test(test_id),
		cmocka_unit_test(test_members),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_body),
		cmocka_unit_test(test_line_limit),
		cmocka_unit_test(test_short_err),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
