/*
 * The console's login formats (firmware/codec/techcred.c): any bytes as the
 * response line a technician pastes, split (techcred_response_parse), its
 * credential parsed (techcred_parse) and, if that parses, checked against
 * the fixed test key (tests/fixtures/cmdkey.h) and its answer against the
 * fixed challenge (TECHCRED_FUZZ_CHALLENGE, which fuzz_seeds signs with the
 * same key). The same bytes also as a challenge (techcred_challenge_parse).
 *
 * Each refusal is one line with its prefix and leaves nothing behind; a
 * response that is accepted writes out again as exactly the same bytes (one
 * spelling per value, so no variant passes a check made for another); what
 * a credential holds keeps every rule of the format; checks answer 0 or
 * -EBADMSG only.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/codec/techcred.h"
#include "tests/fixtures/cmdkey.h"
#include "tests/fuzz/fuzz_techcred.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cmd_pubkey *key;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];

	(void)argc;
	(void)argv;
	if (sig_key_load_public("fuzz", CMDKEY_PUB_PEM, strlen(CMDKEY_PUB_PEM),
	    &key, err, sizeof(err)) != 0)
		abort();
	return 0;
}

static int
one_line(const char *err, const char *prefix)
{
	return strncmp(err, prefix, strlen(prefix)) == 0 &&
	    memchr(err, '\n', strnlen(err, 256)) == NULL;
}

static void
credential(const uint8_t *cred, size_t len, const uint8_t *answer)
{
	struct techcred tc;
	char err[256];
	size_t i;
	int rc;

	memset(err, 0, sizeof(err));
	if (techcred_parse(cred, len, &tc, err, sizeof(err)) != 0) {
		if (!one_line(err, "credential: ") || tc.body != NULL)
			abort();
		return;
	}
	if (tc.body != cred || tc.body_len + 1 + SIG_LEN != len ||
	    tc.tech[0] == '\0' || tc.key[0] != 0x04 || tc.n_gws < 1 ||
	    tc.n_gws > TECHCRED_GWS_MAX || tc.nbf < 0 || tc.exp <= tc.nbf ||
	    tc.exp > TECHCRED_TIME_MAX)
		abort();
	for (i = 0; i < tc.n_gws; i++)
		if (tc.gws[i][0] == '\0')
			abort();
	if ((rc = techcred_verify(key, &tc)) != 0 && rc != -EBADMSG)
		abort();
	rc = techcred_check_answer(&tc, TECHCRED_FUZZ_CHALLENGE,
	    strlen(TECHCRED_FUZZ_CHALLENGE), answer);
	if (rc != 0 && rc != -EBADMSG)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct techcred_response r;
	static char again[TECHCRED_RESPONSE_MAX + 1];
	char err[256], gw[TECHCRED_GW_MAX + 1];
	int64_t t;
	int n;

	memset(err, 0, sizeof(err));
	if (techcred_response_parse((const char *)data, size, &r, err,
	    sizeof(err)) != 0) {
		if (!one_line(err, "response: ") || r.cred_len != 0)
			abort();
	} else {
		if (r.cred_len > TECHCRED_MAX)
			abort();
		n = techcred_response_format(r.cred, r.cred_len, r.sig, again,
		    sizeof(again));
		if (n < 0 || (size_t)n != size || memcmp(again, data, size) != 0)
			abort();
		credential(r.cred, r.cred_len, r.sig);
	}
	memset(err, 0, sizeof(err));
	if (techcred_challenge_parse((const char *)data, size, gw, &t, err,
	    sizeof(err)) != 0) {
		if (!one_line(err, "challenge: "))
			abort();
	} else if (t < 0 || t > TECHCRED_TIME_MAX || gw[0] == '\0') {
		abort();
	}
	return 0;
}
