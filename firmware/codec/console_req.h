/*
 * STUB of H1's header (issue 16 spec, /work/spec/console.md): the console's
 * request line parser. Here only so that H3's commands build before H1's
 * branch is merged; the merge takes H1's file.
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

struct console_req {
	uint64_t id;
	char cmd[CONSOLE_CMD_MAX + 1];
	size_t argc;
	const char *argv[CONSOLE_ARGS_MAX];	/* into root */
	const char *body;			/* NULL or into root */
	size_t body_len;
	json_t *root;				/* owns the strings */
};

int console_req_parse(const char *line, size_t len, struct console_req *rq,
    char *err, size_t errlen);
void console_req_free(struct console_req *rq);

#endif
