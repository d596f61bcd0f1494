/*
 * The technician console's request line (firmware/codec/console_req.c): any
 * bytes as a line off the control socket. A refusal is one line starting
 * "request: " and leaves nothing held (only the id, if it was read); what is
 * accepted holds every limit of docs/console.md "Protocol": the id's range,
 * the command's length and letters, at most 8 arguments of at most 1024
 * bytes without control characters, a body of at most 60000 bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/codec/console_req.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
text_ok(const char *s, size_t max)
{
	size_t n = strlen(s), i;

	if (n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct console_req rq;
	char err[256];
	size_t i, n;
	int rc;

	memset(err, 0, sizeof(err));
	if ((rc = console_req_parse((const char *)data, size, &rq, err,
	    sizeof(err))) != 0) {
		if (rc != -EINVAL || strncmp(err, "request: ", 9) != 0 ||
		    memchr(err, '\n', strnlen(err, sizeof(err))) != NULL ||
		    rq.root != NULL || rq.argc != 0 || rq.body != NULL ||
		    rq.id > CONSOLE_ID_MAX)
			abort();
		return 0;
	}
	n = strlen(rq.cmd);
	if (size >= CONSOLE_LINE_MAX || rq.root == NULL || rq.id < 1 ||
	    rq.id > CONSOLE_ID_MAX || n < 1 || n > CONSOLE_CMD_MAX ||
	    strspn(rq.cmd, "abcdefghijklmnopqrstuvwxyz.") != n ||
	    rq.argc > CONSOLE_ARGS_MAX ||
	    (rq.body != NULL && (rq.body_len > CONSOLE_BODY_MAX ||
	    strlen(rq.body) != rq.body_len)))
		abort();
	for (i = 0; i < rq.argc; i++)
		if (rq.argv[i] == NULL || !text_ok(rq.argv[i], CONSOLE_ARG_MAX))
			abort();
	console_req_free(&rq);
	if (rq.root != NULL)
		abort();
	return 0;
}
