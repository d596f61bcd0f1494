/*
 * The console's login formats (firmware/codec/techcred.c, pwhash.c):
 * technician credentials signed with the test fleet key
 * (tests/fixtures/cmdkey.h) and checked; the exact error of each bad
 * credential, response and challenge; a technician key's answer to a
 * challenge; PBKDF2-HMAC-SHA256 against RFC 7914's vectors and the
 * password document's rules.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/codec/pwhash.h"
#include "firmware/codec/techcred.h"
#include "tests/fixtures/cmdkey.h"
#include "tools/lib/signer.h"

/* A P-256 point: the test key's (cmdkey.h), as tech-issue writes it. */
#define KEY CMDKEY_POINT
#define BODY(gws, nbf, exp) "{\"v\":1,\"tech\":\"alice\",\"key\":\"" KEY "\"," \
	"\"gws\":" gws ",\"nbf\":" nbf ",\"exp\":" exp "}"
#define GOOD BODY("[\"gw-0001\",\"gw-0002\"]", "1796515200", "1796544000")

static uint8_t cred[TECHCRED_MAX + 256];

static const char *
parse_error(const char *body)
{
	static char err[512];
	struct techcred tc;
	size_t len = cmdkey_unsigned(CMDKEY_FRAME, body, strlen(body), cred);
	int rc;

	err[0] = '\0';
	rc = techcred_parse(cred, len, &tc, err, sizeof(err));
	if (rc == 0)
		return "";
	assert_int_equal(rc, -EBADMSG);
	assert_null(strchr(err, '\n'));
	assert_null(tc.body);
	return err;
}

#define BAD(body, want) assert_string_equal(parse_error(body), want)

static void
test_round_trip(void **state)
{
	size_t len = cmdkey_sign(CMDKEY_FRAME, GOOD, cred, sizeof(cred));
	struct cmd_pubkey *pt;
	uint8_t point[SIG_POINT_LEN];
	struct techcred tc;
	char err[256], hex[2 * SIG_POINT_LEN + 1];

	(void)state;
	assert_int_equal(len, strlen(GOOD) + 65);
	assert_int_equal(techcred_parse(cred, len, &tc, err, sizeof(err)), 0);
	assert_string_equal(tc.tech, "alice");
	assert_int_equal(tc.n_gws, 2);
	assert_string_equal(tc.gws[1], "gw-0002");
	assert_int_equal(tc.nbf, 1796515200);
	assert_int_equal(tc.exp, 1796544000);
	assert_ptr_equal(tc.body, cred);
	assert_int_equal(tc.body_len, strlen(GOOD));
	assert_int_equal(techcred_verify(cmdkey.pub, &tc), 0);
	assert_true(techcred_for_gw(&tc, "gw-0001"));
	assert_false(techcred_for_gw(&tc, "gw-0003"));
	/* The key's point is what sig.c writes for the test key. */
	assert_int_equal(sig_key_point(cmdkey.pub, point), 0);
	techcred_hex(point, sizeof(point), hex);
	assert_string_equal(hex, KEY);
	assert_int_equal(sig_key_from_point("t", tc.key, SIG_POINT_LEN, &pt, err,
	    sizeof(err)), 0);
	cmd_pubkey_free(pt);
	/* One byte of the body changed: the fleet's signature fails. */
	cred[16] ^= 1;	/* alice: amice */
	assert_int_equal(techcred_parse(cred, len, &tc, err, sizeof(err)), 0);
	assert_int_equal(techcred_verify(cmdkey.pub, &tc), -EBADMSG);
	/* "*" is every gateway. */
	len = cmdkey_sign(CMDKEY_FRAME, BODY("[\"*\"]", "1", "2"), cred,
	    sizeof(cred));
	assert_int_equal(techcred_parse(cred, len, &tc, err, sizeof(err)), 0);
	assert_true(techcred_for_gw(&tc, "gw-9999"));
}

static void
test_bad_credentials(void **state)
{
	static char big[TECHCRED_BODY_MAX + 16];
	struct techcred tc;
	char err[256];

	(void)state;
	BAD("{}", "credential: v: missing");
	BAD("[]", "credential: body: not a JSON object");
	BAD("{\"v\":2,\"x\":1}", "credential: unsupported version 2");
	BAD("{\"v\":\"1\"}", "credential: v: not an integer");
	BAD("{\"v\":1,\"id\":\"c-1\"}", "credential: id: unknown member");
	BAD("{\"v\":1}", "credential: tech: missing");
	BAD("{\"v\":1,\"tech\":\"a b\"}", "credential: tech: not a string of "
	    "1..64 characters of [A-Za-z0-9._@:-]");
	BAD("{\"v\":1,\"tech\":\"a\",\"key\":\"04ab\"}", "credential: key: not "
	    "130 lowercase hex digits of an uncompressed point (04...)");
	BAD("{\"v\":1,\"tech\":\"a\",\"key\":\"" KEY "\",\"gws\":[]}",
	    "credential: gws: not an array of 1..32 gateway ids");
	BAD(BODY("[\"gw 1\"]", "1", "2"), "credential: gws[0]: not \"*\" or a "
	    "string of 1..64 characters of [A-Za-z0-9._:-]");
	BAD(BODY("[\"a\",\"a\"]", "1", "2"), "credential: gws[1]: named twice");
	BAD(BODY("[\"a\"]", "-1", "2"), "credential: nbf: not an integer in "
	    "0..2^40");
	BAD(BODY("[\"a\"]", "1", "1.5"), "credential: exp: not an integer in "
	    "0..2^40");
	BAD(BODY("[\"a\"]", "5", "5"), "credential: exp: 5 not after nbf 5");
	BAD("{\"v\":1,\"v\":1}", "credential: body: duplicate object key near "
	    "'\"v\"' (byte 10)");
	/* Lengths: checked before anything is read. */
	memset(cred, 'x', sizeof(cred));
	assert_int_equal(techcred_parse(cred, TECHCRED_MAX + 1, &tc, err,
	    sizeof(err)), -EBADMSG);
	assert_string_equal(err, "credential: 2114 bytes, over 2113");
	assert_int_equal(techcred_parse(cred, 66, &tc, err, sizeof(err)),
	    -EBADMSG);
	assert_string_equal(err, "credential: 66 bytes, under 67");
	assert_int_equal(techcred_parse(cred, 100, &tc, err, sizeof(err)),
	    -EBADMSG);
	assert_string_equal(err, "credential: no LF before the signature");
	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	big[TECHCRED_BODY_MAX - 1] = '}';
	big[TECHCRED_BODY_MAX] = '\0';
	BAD(big, "credential: v: missing");
}

static void
test_response(void **state)
{
	size_t clen = cmdkey_sign(CMDKEY_FRAME, GOOD, cred, sizeof(cred));
	static char line[TECHCRED_RESPONSE_MAX + 64];
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
	    "qrstuvwxyz0123456789+/";
	struct techcred_response r;
	const char *y;
	uint8_t sig[SIG_LEN];
	char err[256];
	int n;

	(void)state;
	memset(sig, 0xab, sizeof(sig));
	n = techcred_response_format(cred, clen, sig, line, sizeof(line));
	assert_true(n > 0);
	assert_int_equal(strlen(line), (size_t)n);
	assert_int_equal(techcred_response_parse(line, (size_t)n, &r, err,
	    sizeof(err)), 0);
	assert_int_equal(r.cred_len, clen);
	assert_memory_equal(r.cred, cred, clen);
	assert_memory_equal(r.sig, sig, SIG_LEN);
	assert_int_equal(techcred_response_format(cred, clen, sig, line, 100),
	    -ENOSPC);
	/* Every padding length round trips. */
	for (clen = 67; clen < 70; clen++) {
		n = techcred_response_format(cred, clen, sig, line, sizeof(line));
		assert_int_equal(techcred_response_parse(line, (size_t)n, &r, err,
		    sizeof(err)), 0);
		assert_int_equal(r.cred_len, clen);
	}
	/* 69 bytes: 92 base64 digits, no padding. One with two '=' (67). */
	n = techcred_response_format(cred, 67, sig, line, sizeof(line));
	assert_memory_equal(line + n - 129 - 2, "==.", 3);
	assert_string_equal(line + n - 128, "abababababababababababababababab"
	    "abababababababababababababababababababababababababababababababab"
	    "abababababababababababababababab");
	/* The bits under the padding must be zero: one spelling per value. */
	y = strchr(b64, line[n - 129 - 3]);
	assert_non_null(y);
	assert_int_equal((y - b64) % 16, 0);
	line[n - 129 - 3] = y[1];
	assert_int_equal(techcred_response_parse(line, (size_t)n, &r, err,
	    sizeof(err)), -EBADMSG);
	assert_string_equal(err, "response: credential: not base64 of at most "
	    "2113 bytes");
	line[n - 129 - 3] = y[0];
	line[10] = ' ';
	assert_int_equal(techcred_response_parse(line, (size_t)n, &r, err,
	    sizeof(err)), -EBADMSG);
	line[10] = 'A';
	line[n - 1] = 'A';
	assert_int_equal(techcred_response_parse(line, (size_t)n, &r, err,
	    sizeof(err)), -EBADMSG);
	assert_string_equal(err, "response: signature: not 128 lowercase hex "
	    "digits");
	line[n - 129] = ',';
	assert_int_equal(techcred_response_parse(line, (size_t)n, &r, err,
	    sizeof(err)), -EBADMSG);
	assert_string_equal(err, "response: no '.' before the last 128 "
	    "characters (the challenge's signature)");
	assert_int_equal(techcred_response_parse("wgr2.", 5, &r, err,
	    sizeof(err)), -EBADMSG);
	assert_string_equal(err, "response: does not start with 'wgr1.' (paste "
	    "the whole line wattgate-fleet tech-answer printed)");
	memset(line, 'A', sizeof(line));
	assert_int_equal(techcred_response_parse(line, TECHCRED_RESPONSE_MAX + 1,
	    &r, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "response: 4097 bytes, over 4096");
	/* A credential longer than the largest: refused while decoding. */
	memcpy(line, "wgr1.", 5);
	line[5 + 2900] = '.';
	memset(line + 5 + 2901, 'a', 128);
	assert_int_equal(techcred_response_parse(line, 5 + 2901 + 128, &r, err,
	    sizeof(err)), -EBADMSG);
	assert_string_equal(err, "response: credential: not base64 of at most "
	    "2113 bytes");
}

/* A technician key answers a challenge; another challenge is refused. */
static void
test_answer(void **state)
{
	uint8_t nonce[TECHCRED_NONCE_LEN] = { 1, 2, 3 }, sig[SIG_LEN], pt[65];
	char ch[TECHCRED_CHALLENGE_MAX + 1], gw[TECHCRED_GW_MAX + 1], err[256];
	char pem[SIGNER_PEM_MAX];
	struct cmd_pubkey *pub;
	struct techcred tc;
	struct signer *tech;
	int64_t t;
	int n;

	(void)state;
	n = techcred_challenge_format("gw-0001", nonce, 1796515200, ch,
	    sizeof(ch));
	assert_string_equal(ch, "wgc1 gw-0001 01020300000000000000000000000000 "
	    "1796515200");
	assert_int_equal(techcred_challenge_parse(ch, (size_t)n, gw, &t, err,
	    sizeof(err)), 0);
	assert_string_equal(gw, "gw-0001");
	assert_int_equal(t, 1796515200);
	assert_int_equal(signer_generate(&tech, err, sizeof(err)), 0);
	assert_int_equal(signer_pem_public(tech, pem, sizeof(pem)), 0);
	assert_int_equal(sig_key_load_public("t", pem, strlen(pem), &pub, err,
	    sizeof(err)), 0);
	memset(&tc, 0, sizeof(tc));
	assert_int_equal(sig_key_point(pub, tc.key), 0);
	assert_int_equal(signer_sign(tech, (const uint8_t *)ch, (size_t)n, sig,
	    err, sizeof(err)), 0);
	assert_int_equal(techcred_check_answer(&tc, ch, (size_t)n, sig), 0);
	ch[10] = '9';
	assert_int_equal(techcred_check_answer(&tc, ch, (size_t)n, sig), -EBADMSG);
	cmd_pubkey_free(pub);
	/* A point off the curve is refused by name, and as an answer. */
	memcpy(pt, tc.key, sizeof(pt));
	pt[64] ^= 1;
	assert_int_equal(sig_key_from_point("t", pt, sizeof(pt), &pub, err,
	    sizeof(err)), -EINVAL);
	assert_null(pub);
	assert_string_equal(err, "t: key: not a P-256 point");
	memcpy(tc.key, pt, sizeof(pt));
	assert_int_equal(techcred_check_answer(&tc, ch, (size_t)n, sig), -EBADMSG);
	signer_free(tech);
	/* Bad challenges. */
#define BADCH(s, want) do { \
	assert_int_equal(techcred_challenge_parse(s, strlen(s), gw, &t, err, \
	    sizeof(err)), -EBADMSG); \
	assert_string_equal(err, want); \
} while (0)
	BADCH("wgc2 gw 00 1", "challenge: not 'wgc1 GATEWAY NONCE TIME' of at "
	    "most 116 characters");
	BADCH("wgc1 g/w 0102 1", "challenge: gateway: not 1..64 characters of "
	    "[A-Za-z0-9._:-]");
	BADCH("wgc1 gw 0102 1", "challenge: nonce: not 32 lowercase hex digits");
	BADCH("wgc1 gw 0102030000000000000000000000000A 1",
	    "challenge: nonce: not 32 lowercase hex digits");
	BADCH("wgc1 gw 01020300000000000000000000000000 01",
	    "challenge: time: not unix seconds");
	BADCH("wgc1 gw 01020300000000000000000000000000 1x",
	    "challenge: time: not unix seconds");
	BADCH("wgc1 gw 01020300000000000000000000000000 9999999999999",
	    "challenge: time: over 2^40");
	assert_int_equal(techcred_challenge_format("g w", nonce, 1, ch,
	    sizeof(ch)), -EINVAL);
}

static void
hex32(const char *hex, uint8_t out[32])
{
	assert_int_equal(techcred_unhex(hex, 64, out, 32), 0);
}

/* RFC 7914, section 11 (the first 32 of its 64 bytes), and one more. */
static void
test_pbkdf2_vectors(void **state)
{
	uint8_t got[32], want[32];

	(void)state;
	assert_int_equal(pwhash_derive("passwd", 6, (const uint8_t *)"salt", 4, 1,
	    got), 0);
	hex32("55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc",
	    want);
	assert_memory_equal(got, want, 32);
	assert_int_equal(pwhash_derive("Password", 8, (const uint8_t *)"NaCl", 4,
	    80000, got), 0);
	hex32("4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56",
	    want);
	assert_memory_equal(got, want, 32);
	assert_int_equal(pwhash_derive("password", 8, (const uint8_t *)"salt", 4,
	    4096, got), 0);
	hex32("c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a",
	    want);
	assert_memory_equal(got, want, 32);
	assert_int_equal(pwhash_derive("x", 1, got, 4, 0, got), -EINVAL);
}

static void
test_pwhash_json(void **state)
{
	const char *good = "{\"salt\":\"000102030405060708090a0b0c0d0e0f\","
	    "\"iterations\":100000,\"hash\":\"c8d122ecdb9477cd48a6b1750c5985c0"
	    "b8b05158d040d20517ccdb49865de436\"}";
	json_t *o = json_loads(good, 0, NULL), *back;
	struct pwhash h;
	char err[256], *s;

	(void)state;
	assert_int_equal(pwhash_from_json("args", o, &h, err, sizeof(err)), 0);
	assert_int_equal(h.salt_len, 16);
	assert_int_equal(h.iterations, 100000);
	assert_int_equal(pwhash_check(&h, "correct horse battery", 21), 0);
	assert_int_equal(pwhash_check(&h, "correct horse battery!", 22), -EACCES);
	assert_int_equal(pwhash_check(&h, "", 0), -EACCES);
	back = pwhash_to_json(&h);
	s = json_dumps(back, JSON_COMPACT);
	assert_string_equal(s, good);
	free(s);
	json_decref(back);
	json_decref(o);
#define BADPW(text, want) do { \
	o = json_loads(text, 0, NULL); \
	assert_non_null(o); \
	assert_int_equal(pwhash_from_json("args", o, &h, err, sizeof(err)), \
	    -EINVAL); \
	assert_string_equal(err, want); \
	json_decref(o); \
} while (0)
	BADPW("[]", "args: not a JSON object");
	BADPW("{\"clear\":true}", "args: clear: unknown member");
	BADPW("{}", "args: salt: missing");
	BADPW("{\"salt\":\"0001\"}", "args: salt: not 32..128 lowercase hex "
	    "digits (16..64 bytes)");
	BADPW("{\"salt\":\"000102030405060708090A0B0C0D0E0F\"}", "args: salt: "
	    "not 32..128 lowercase hex digits (16..64 bytes)");
	BADPW("{\"salt\":\"000102030405060708090a0b0c0d0e0f\",\"hash\":\"00\"}",
	    "args: hash: not 64 lowercase hex digits (32 bytes)");
	BADPW("{\"salt\":\"000102030405060708090a0b0c0d0e0f\",\"hash\":\""
	    "0000000000000000000000000000000000000000000000000000000000000000\","
	    "\"iterations\":99999}", "args: iterations: not an integer in "
	    "100000..10000000");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_credentials),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_pbkdf2_vectors),
		cmocka_unit_test(test_pwhash_json),
	};

	return cmocka_run_group_tests(tests, cmdkey_setup, cmdkey_teardown);
}
