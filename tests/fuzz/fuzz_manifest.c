/*
 * The OTA manifest codec (firmware/codec/manifest.c): any bytes as the
 * manifest text of an ota.start or the head of a bundle, parsed and, if
 * they parse, checked against the fixed test key (tests/fixtures/cmdkey.h).
 * A refusal is one line starting "manifest: " and leaves the struct all
 * zeros; an accepted text holds what the format promises (the LF, the
 * signature where the text has it, every member's range, one hash per
 * chunk, chunk lengths that add up to the size); the signature check
 * answers 0 or -EBADMSG only.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/codec/manifest.h"
#include "tests/fixtures/cmdkey.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cmd_pubkey *key;
static const struct manifest zero;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	if (sig_key_load_public("manifest", CMDKEY_PUB_PEM,
	    strlen(CMDKEY_PUB_PEM), &key, err, sizeof(err)) != 0)
		abort();
	return 0;
}

static int
text_ok(const struct manifest *m, const uint8_t *data, size_t size)
{
	size_t end = m->body_len + 1 + MANIFEST_SIG_HEX;

	return m->body == data && m->body_len >= 1 &&
	    m->body_len <= MANIFEST_BODY_MAX && data[m->body_len] == '\n' &&
	    memchr(data, '\n', m->body_len) == NULL && end <= size &&
	    (m->text_len == end ? end == size :
	    m->text_len == end + 1 && data[end] == '\n');
}

static int
members_ok(const struct manifest *m)
{
	uint64_t sum = 0;
	size_t i, j;

	if (manifest_version_cmp(m, m->version) != 0 || m->n_boards < 1 ||
	    m->n_boards > MANIFEST_BOARDS_MAX || m->size < 1 ||
	    m->size > MANIFEST_SIZE_MAX || m->chunk < MANIFEST_CHUNK_MIN ||
	    m->chunk > MANIFEST_CHUNK_MAX || (m->chunk & (m->chunk - 1)) != 0 ||
	    m->n_chunks < 1 || m->n_chunks > MANIFEST_CHUNKS_MAX ||
	    m->expires < 1 || m->expires > MANIFEST_TIME_MAX)
		return 0;
	for (i = 0; i < m->n_boards; i++) {
		if (!manifest_board_ok(m, m->boards[i]) ||
		    strlen(m->boards[i]) < 1)
			return 0;
		for (j = 0; j < i; j++)
			if (strcmp(m->boards[i], m->boards[j]) == 0)
				return 0;
	}
	for (i = 0; i < m->n_chunks; i++) {
		if (manifest_chunk_len(m, i) < 1 ||
		    manifest_chunk_len(m, i) > m->chunk)
			return 0;
		sum += manifest_chunk_len(m, i);
	}
	return sum == m->size && manifest_chunk_len(m, m->n_chunks) == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct manifest m;
	char err[256];
	int rc;

	memset(err, 0, sizeof(err));
	if ((rc = manifest_parse(data, size, &m, err, sizeof(err))) != 0) {
		if ((rc != -EBADMSG && rc != -ENOMEM) ||
		    strncmp(err, "manifest: ", 10) != 0 ||
		    memchr(err, '\n', strnlen(err, sizeof(err))) != NULL ||
		    memcmp(&m, &zero, sizeof(m)) != 0)
			abort();
		return 0;
	}
	if (!text_ok(&m, data, size) || !members_ok(&m))
		abort();
	rc = manifest_verify(key, &m);
	if (rc != 0 && rc != -EBADMSG)
		abort();
	return 0;
}
