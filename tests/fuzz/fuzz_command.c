/*
 * The signed command codec (firmware/codec/command.c): any bytes as a frame
 * off the wire, parsed and, if they parse, checked against the fixed test
 * key (tests/fixtures/cmdkey.h). A refused frame leaves nothing allocated and
 * one line starting "command: "; an accepted one holds what the format
 * promises (lengths, ranges, an args object, the body and signature where
 * the frame has them); the signature check answers 0 or -EBADMSG only.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/codec/command.h"
#include "tests/fixtures/cmdkey.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cmd_pubkey *key;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	if (cmd_key_load_public(CMDKEY_PUB_PEM, strlen(CMDKEY_PUB_PEM), &key, err,
	    sizeof(err)) != 0)
		abort();
	return 0;
}

static int
name_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	return n >= 1 && n <= max;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cmd c;
	char err[256];
	int rc;

	memset(err, 0, sizeof(err));
	if ((rc = cmd_parse(data, size, &c, err, sizeof(err))) != 0) {
		if (rc != -EBADMSG || strncmp(err, "command: ", 9) != 0 ||
		    memchr(err, '\n', strnlen(err, sizeof(err))) != NULL ||
		    c.args != NULL || c.body != NULL)
			abort();
		return 0;
	}
	if (size > CMD_FRAME_MAX || c.body != data ||
	    c.body_len + 1 + CMD_SIG_LEN != size || data[c.body_len] != '\n' ||
	    memchr(data, '\n', c.body_len) != NULL ||
	    memcmp(c.sig, data + c.body_len + 1, CMD_SIG_LEN) != 0 ||
	    !name_ok(c.id, CMD_ID_MAX) || !name_ok(c.gw, CMD_GW_MAX) ||
	    !name_ok(c.type, CMD_TYPE_MAX) || c.seq < 1 || c.seq > CMD_SEQ_MAX ||
	    c.nbf < 0 || c.exp <= c.nbf || c.exp > CMD_TIME_MAX ||
	    !json_is_object(c.args))
		abort();
	rc = cmd_verify(key, &c);
	if (rc != 0 && rc != -EBADMSG)
		abort();
	cmd_free(&c);
	return 0;
}
