/*
 * The console's request line (console_req.h). Strict on purpose: the line
 * comes from whoever may open the socket, and what passes here reaches the
 * command tables as plain C strings of known length, so every limit is
 * checked once, here, and a bad line is answered with where and what.
 */
#include "firmware/codec/console_req.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "firmware/base/jcheck.h"

static const char *const members[] = { "id", "cmd", "args", "body", NULL };

static int
fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "request: %s", msg);
	return -EINVAL;
}

/* A JSON string whose length jansson and strlen agree on (no NUL inside). */
static int
plain_string(json_t *v, const char **s, size_t *len)
{
	if (!json_is_string(v))
		return 0;
	*s = json_string_value(v);
	*len = json_string_length(v);
	return strlen(*s) == *len;
}

static int
parse_id(json_t *root, struct console_req *rq, char *err, size_t errlen)
{
	json_t *v = json_object_get(root, "id");
	json_int_t n;

	if (v == NULL)
		return fail(err, errlen, "id: missing");
	if (!json_is_integer(v))
		return fail(err, errlen, "id: expected an integer 1..%llu",
		    (unsigned long long)CONSOLE_ID_MAX);
	n = json_integer_value(v);
	if (n < 1 || (uint64_t)n > CONSOLE_ID_MAX)
		return fail(err, errlen, "id: %lld out of range 1..%llu", (long long)n,
		    (unsigned long long)CONSOLE_ID_MAX);
	rq->id = (uint64_t)n;
	return 0;
}

static int
parse_cmd(json_t *root, struct console_req *rq, char *err, size_t errlen)
{
	json_t *v = json_object_get(root, "cmd");
	char shown[CONSOLE_CMD_MAX + 1];
	const char *s;
	size_t len, i;

	if (v == NULL)
		return fail(err, errlen, "cmd: missing");
	if (!plain_string(v, &s, &len))
		return fail(err, errlen, "cmd: expected a string");
	if (len < 1 || len > CONSOLE_CMD_MAX)
		return fail(err, errlen, "cmd: %zu bytes, expected 1..%d of [a-z.]",
		    len, CONSOLE_CMD_MAX);
	for (i = 0; i < len; i++)
		if (!(s[i] >= 'a' && s[i] <= 'z') && s[i] != '.')
			return fail(err, errlen, "cmd: '%s': only a-z and '.' (byte %zu)",
			    jc_shown(s, shown, sizeof(shown)), i);
	memcpy(rq->cmd, s, len + 1);
	return 0;
}

/* Control characters would reach log lines and terminals: refused. */
static int
check_text(const char *s, size_t len, size_t *at)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f) {
			*at = i;
			return -1;
		}
	return 0;
}

static int
parse_args(json_t *root, struct console_req *rq, char *err, size_t errlen)
{
	json_t *v = json_object_get(root, "args"), *a;
	size_t i, len, at;
	const char *s;

	if (v == NULL)
		return 0;
	if (!json_is_array(v))
		return fail(err, errlen, "args: expected an array of strings");
	if (json_array_size(v) > CONSOLE_ARGS_MAX)
		return fail(err, errlen, "args: %zu arguments, at most %d",
		    json_array_size(v), CONSOLE_ARGS_MAX);
	json_array_foreach(v, i, a) {
		if (!plain_string(a, &s, &len))
			return fail(err, errlen, "args[%zu]: expected a string", i);
		if (len > CONSOLE_ARG_MAX)
			return fail(err, errlen, "args[%zu]: %zu bytes, at most %d", i,
			    len, CONSOLE_ARG_MAX);
		if (check_text(s, len, &at) < 0)
			return fail(err, errlen, "args[%zu]: control character at "
			    "byte %zu", i, at);
		rq->argv[i] = s;
	}
	rq->argc = json_array_size(v);
	return 0;
}

static int
parse_body(json_t *root, struct console_req *rq, char *err, size_t errlen)
{
	json_t *v = json_object_get(root, "body");
	const char *s;
	size_t len;

	if (v == NULL)
		return 0;
	/* Config text: newlines and tabs are its own; only NUL is refused. */
	if (!plain_string(v, &s, &len))
		return fail(err, errlen, "body: expected a string");
	if (len > CONSOLE_BODY_MAX)
		return fail(err, errlen, "body: %zu bytes, at most %d", len,
		    CONSOLE_BODY_MAX);
	rq->body = s;
	rq->body_len = len;
	return 0;
}

static int
check_members(json_t *root, char *err, size_t errlen)
{
	const char *key;
	char shown[41];
	json_t *v;
	size_t i;

	json_object_foreach(root, key, v) {
		for (i = 0; members[i] != NULL; i++)
			if (strcmp(key, members[i]) == 0)
				break;
		if (members[i] == NULL)
			return fail(err, errlen, "'%s': unknown member (id, cmd, args, "
			    "body)", jc_shown(key, shown, sizeof(shown)));
	}
	return 0;
}

int
console_req_parse(const char *line, size_t len, struct console_req *rq,
    char *err, size_t errlen)
{
	json_error_t e;
	char shown[121];
	uint64_t id;
	int rc;

	memset(rq, 0, sizeof(*rq));
	if (len >= CONSOLE_LINE_MAX)
		return fail(err, errlen, "line longer than %d bytes", CONSOLE_LINE_MAX);
	if ((rq->root = json_loadb(line, len, JSON_REJECT_DUPLICATES, &e)) == NULL)
		return fail(err, errlen, "not JSON: %s (byte %d)",
		    jc_shown(e.text, shown, sizeof(shown)), e.position);
	if (!json_is_object(rq->root)) {
		rc = fail(err, errlen, "expected a JSON object");
		goto out;
	}
	/* The id first: an error about the rest can then carry it. */
	if ((rc = parse_id(rq->root, rq, err, errlen)) < 0 ||
	    (rc = check_members(rq->root, err, errlen)) < 0 ||
	    (rc = parse_cmd(rq->root, rq, err, errlen)) < 0 ||
	    (rc = parse_args(rq->root, rq, err, errlen)) < 0 ||
	    (rc = parse_body(rq->root, rq, err, errlen)) < 0)
		goto out;
	return 0;
out:
	json_decref(rq->root);
	id = rq->id;
	memset(rq, 0, sizeof(*rq));
	rq->id = id;
	return rc;
}

void
console_req_free(struct console_req *rq)
{
	json_decref(rq->root);
	memset(rq, 0, sizeof(*rq));
}
