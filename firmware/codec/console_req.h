/*
 * A request line of the technician console (issue 16, docs/console.md
 * "Protocol"): one JSON object per line on the control socket.
 *
 *   {"id": 7, "cmd": "read", "args": ["meter", "30001", "2", "f32"], "body": "..."}
 *
 * id: an integer 1..2^53-1 (required); cmd: 1..32 of [a-z.] (required);
 * args: an array of at most 8 strings of at most 1024 bytes, no control
 * characters; body: a string of at most 60000 bytes. Any other member, a
 * duplicate key or anything but an object is an error. Pure: no I/O.
 */
#ifndef WG_CONSOLE_REQ_H
#define WG_CONSOLE_REQ_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CONSOLE_CMD_MAX   32
#define CONSOLE_ARGS_MAX  8
#define CONSOLE_ARG_MAX   1024
#define CONSOLE_BODY_MAX  60000
/* A line, LF included; a longer one is never parsed (the server drops it). */
#define CONSOLE_LINE_MAX  65536
#define CONSOLE_ID_MAX    ((UINT64_C(1) << 53) - 1)	/* exact in a double */

struct console_req {
	uint64_t id;
	char cmd[CONSOLE_CMD_MAX + 1];
	size_t argc;
	const char *argv[CONSOLE_ARGS_MAX];	/* into root */
	const char *body;			/* NULL or into root */
	size_t body_len;
	json_t *root;				/* owns the strings */
};

/*
 * line: len bytes, without the LF (a trailing CR or spaces are JSON
 * whitespace). 0, or -EINVAL with one line in err that starts "request: "
 * and names the member ("request: args[2]: control character at byte 5").
 * On an error nothing is held, and rq->id is the request's id if that much
 * was readable (so the error can carry it), else 0.
 */
int console_req_parse(const char *line, size_t len, struct console_req *rq,
    char *err, size_t errlen);
void console_req_free(struct console_req *rq);

#endif
