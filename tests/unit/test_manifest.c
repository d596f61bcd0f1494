/*
 * manifest: sign -> parse -> verify round trips with the test key
 * (tests/fixtures/cmdkey.h), the exact error line of every kind of bad
 * text, body and member, and the version and board checks.
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

#include "firmware/codec/manifest.h"
#include "tests/fixtures/cmdkey.h"
#include "tools/lib/signer.h"

#define H1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define HEAD "{\"v\":1,\"version\":\"2.0.0\",\"counter\":5," \
	"\"boards\":[\"host\",\"pi-4\"],"
#define IMAGE "\"size\":10000,\"sha256\":\"" H1 "\",\"chunk\":4096," \
	"\"chunks\":[\"" H2 "\",\"" H1 "\",\"" H2 "\"],"
#define TAIL "\"expires\":1828103860}"
#define BODY HEAD IMAGE TAIL

static uint8_t text[MANIFEST_TEXT_MAX + 4096];
static struct manifest m;

/* body signed with the test key into text[]: body LF sighex LF; its length. */
#define sign(body) cmdkey_sign(CMDKEY_MANIFEST, body, text, sizeof(text))
/* body with a signature of zeros (parse tests: parse does not verify). */
#define unsigned_text(body, blen) cmdkey_unsigned(CMDKEY_MANIFEST, body, \
	blen, text)

/* The error line manifest_parse gives for len bytes of text; "" if it parses. */
static const char *
text_error(size_t len)
{
	static char err[512];
	int rc;

	err[0] = '\0';
	rc = manifest_parse(text, len, &m, err, sizeof(err));
	if (rc == 0)
		return "";
	assert_int_equal(rc, -EBADMSG);
	assert_null(strchr(err, '\n'));
	assert_null(m.body);
	assert_int_equal(m.n_chunks, 0);
	return err;
}

#define BAD(body, want) assert_string_equal(text_error(unsigned_text(body, \
	strlen(body))), want)
#define BAD_OK(body) BAD(body, "")

static void
test_round_trip(void **state)
{
	size_t len = sign(BODY), blen = strlen(BODY);
	uint8_t again[sizeof(text)];
	char err[256];

	(void)state;
	assert_int_equal(len, blen + 130);
	assert_int_equal(manifest_parse(text, len, &m, err, sizeof(err)), 0);
	assert_string_equal(m.version, "2.0.0");
	assert_true(m.ver[0] == 2 && m.ver[1] == 0 && m.ver[2] == 0);
	assert_int_equal(m.counter, 5);
	assert_int_equal(m.n_boards, 2);
	assert_string_equal(m.boards[0], "host");
	assert_string_equal(m.boards[1], "pi-4");
	assert_true(m.size == 10000 && m.chunk == 4096 && m.n_chunks == 3);
	assert_int_equal(m.sha256[0], 0x01);
	assert_int_equal(m.sha256[31], 0xef);
	assert_int_equal(m.chunks[0][0], 0xfe);
	assert_int_equal(m.chunks[1][0], 0x01);
	assert_int_equal(m.chunks[2][31], 0x10);
	assert_true(m.expires == 1828103860);
	assert_ptr_equal(m.body, text);
	assert_int_equal(m.body_len, blen);
	assert_int_equal(m.text_len, len);
	assert_int_equal(manifest_chunk_len(&m, 0), 4096);
	assert_int_equal(manifest_chunk_len(&m, 2), 10000 - 8192);
	assert_int_equal(manifest_chunk_len(&m, 3), 0);
	assert_int_equal(manifest_verify(cmdkey.pub, &m), 0);
	/* A bundle: the image after the LF is not read; its offset is text_len. */
	memset(text + len, '\n', 4096);
	assert_int_equal(manifest_parse(text, len + 4096, &m, err, sizeof(err)), 0);
	assert_int_equal(m.text_len, len);
	assert_int_equal(manifest_verify(cmdkey.pub, &m), 0);
	/* Without the last LF (the text as a command argument may end so). */
	assert_int_equal(manifest_parse(text, len - 1, &m, err, sizeof(err)), 0);
	assert_int_equal(m.text_len, len - 1);
	assert_int_equal(manifest_verify(cmdkey.pub, &m), 0);
	/* RFC 6979: the same key and body, the same bytes. */
	memcpy(again, text, len);
	assert_int_equal(sign(BODY), len);
	assert_memory_equal(again, text, len);
	assert_int_equal(manifest_verify(NULL, &m), -EINVAL);
}

/* A changed body, a changed signature, another key: -EBADMSG. */
static void
test_bad_signature(void **state)
{
	struct cmd_pubkey *other_pub;
	struct signer *other;
	char err[256], pem[SIGNER_PEM_MAX];
	size_t len = sign(BODY), at;

	(void)state;
	/* "counter":5 -> "counter":4: a valid body, not the signed one. */
	at = (size_t)(strstr(BODY, "\"counter\":5") - BODY) + 10;
	text[at] ^= 0x01;
	assert_int_equal(manifest_parse(text, len, &m, err, sizeof(err)), 0);
	assert_int_equal(m.counter, 4);
	assert_int_equal(manifest_verify(cmdkey.pub, &m), -EBADMSG);
	text[at] ^= 0x01;
	/* The last hex digit of s, then the first of r: 0 <-> 1 etc. */
	at = len - 2;
	text[at] = text[at] == '0' ? '1' : '0';
	assert_int_equal(manifest_parse(text, len, &m, err, sizeof(err)), 0);
	assert_int_equal(manifest_verify(cmdkey.pub, &m), -EBADMSG);
	sign(BODY);
	at = strlen(BODY) + 1;
	text[at] = text[at] == '0' ? '1' : '0';
	assert_int_equal(manifest_parse(text, len, &m, err, sizeof(err)), 0);
	assert_int_equal(manifest_verify(cmdkey.pub, &m), -EBADMSG);
	/* r = 0: refused before any arithmetic. */
	sign(BODY);
	memset(text + at, '0', 64);
	assert_int_equal(manifest_parse(text, len, &m, err, sizeof(err)), 0);
	assert_int_equal(manifest_verify(cmdkey.pub, &m), -EBADMSG);
	/* Signed by another key: refused by ours, accepted by its own. */
	assert_int_equal(signer_generate(&other, err, sizeof(err)), 0);
	assert_int_equal(signer_pem_public(other, pem, sizeof(pem)), 0);
	assert_int_equal(sig_key_load_public("manifest", pem, strlen(pem),
	    &other_pub, err, sizeof(err)), 0);
	assert_int_equal(signer_manifest(other, (const uint8_t *)BODY,
	    strlen(BODY), text, sizeof(text), &len, err, sizeof(err)), 0);
	assert_int_equal(manifest_parse(text, len, &m, err, sizeof(err)), 0);
	assert_int_equal(manifest_verify(cmdkey.pub, &m), -EBADMSG);
	assert_int_equal(manifest_verify(other_pub, &m), 0);
	cmd_pubkey_free(other_pub);
	signer_free(other);
}

/* The text around the body: LFs, lengths, the signature's spelling. */
static void
test_bad_text(void **state)
{
	static char big[MANIFEST_BODY_MAX + 2];
	size_t len = sign(BODY), blen = strlen(BODY), n;
	char want[128];

	(void)state;
	snprintf(want, sizeof(want), "manifest: truncated: no LF after the body "
	    "(%zu bytes)", blen);
	assert_string_equal(text_error(blen), want);
	assert_string_equal(text_error(0),
	    "manifest: truncated: no LF after the body (0 bytes)");
	assert_string_equal(text_error(blen + 1),
	    "manifest: truncated: signature of 0 hex characters, not 128");
	assert_string_equal(text_error(len - 2),
	    "manifest: truncated: signature of 127 hex characters, not 128");
	text[len - 1] = '\r';
	assert_string_equal(text_error(len),
	    "manifest: signature: followed by byte 0x0d, not LF");
	sign(BODY);
	text[blen + 5] = 'A';
	assert_string_equal(text_error(len),
	    "manifest: signature: not 128 lowercase hex characters");
	text[blen + 5] = 'g';
	assert_string_equal(text_error(len),
	    "manifest: signature: not 128 lowercase hex characters");
	/* Two LFs: an empty body, or a body pretty-printed. */
	text[0] = '\n';
	assert_string_equal(text_error(len), "manifest: body: empty");
	BAD("{\"v\":1,\n\"version\":\"1.0.0\"}",
	    "manifest: signature: not 128 lowercase hex characters");
	assert_string_equal(text_error(unsigned_text("{\"v\":1}\0{}", 10)),
	    "manifest: body: NUL at byte 7");
	/* A body of exactly 10240 bytes (JSON white space before the
	 * members), and one of 10241: refused before any JSON is read. */
	n = strlen(BODY);
	big[0] = '{';
	memset(big + 1, ' ', MANIFEST_BODY_MAX - n);
	memcpy(big + 1 + MANIFEST_BODY_MAX - n, &BODY[1], n);	/* and its NUL */
	assert_int_equal(strlen(big), MANIFEST_BODY_MAX);
	len = sign(big);
	assert_int_equal(len, MANIFEST_TEXT_MAX);
	assert_string_equal(text_error(len), "");
	assert_int_equal(manifest_verify(cmdkey.pub, &m), 0);
	memmove(big + 1, big, MANIFEST_BODY_MAX + 1);
	big[1] = ' ';
	assert_string_equal(text_error(unsigned_text(big, strlen(big))),
	    "manifest: body: no LF in the first 10241 bytes (over 10240)");
	assert_string_equal(text_error(MANIFEST_BODY_MAX + 1),
	    "manifest: body: no LF in the first 10241 bytes (over 10240)");
}

/* Not JSON, not an object, not UTF-8, a member twice. */
static void
test_bad_body(void **state)
{
	(void)state;
	BAD("{}", "manifest: v: missing");
	BAD("[1]", "manifest: body: not a JSON object");
	BAD("{\"v\":1,", "manifest: body: string or '}' expected near end of "
	    "file (byte 7)");
	BAD("{\"v\":1} {}",
	    "manifest: body: end of file expected near '{' (byte 9)");
	BAD("{\"v\":1,\"version\":\"1\xff\"}", "manifest: body: unable to "
	    "decode byte 0xff near '\"1' (byte 19)");
	BAD("{\"v\":1,\"counter\":1,\"counter\":2}", "manifest: body: "
	    "duplicate object key near '\"counter\"' (byte 28)");
	BAD("{\"v\":1,\"size\":1099511627776000000000}", "manifest: body: "
	    "too big integer (byte 36)");
}

/* Each member: missing, wrong type, out of range; unknown members. */
static void
test_bad_members(void **state)
{
	(void)state;
	BAD_OK(BODY);
	BAD("{\"v\":2,\"x\":1}", "manifest: v: unsupported version 2");
	BAD("{\"v\":\"1\"}", "manifest: v: expected an integer");
	BAD("{\"v\":1.0}", "manifest: v: expected an integer");
	BAD(HEAD IMAGE "\"expires\":1,\"extra\":1}",
	    "manifest: extra: unknown key");
	BAD(HEAD IMAGE "\"Expires\":1}", "manifest: Expires: unknown key");
	/* counter: 0..2^32-1 */
	BAD("{\"v\":1,\"version\":\"1.0.0\"}", "manifest: counter: missing");
	BAD("{\"v\":1,\"version\":\"1.0.0\",\"counter\":-1}",
	    "manifest: counter: -1 out of range 0..4294967295");
	BAD("{\"v\":1,\"version\":\"1.0.0\",\"counter\":4294967296}",
	    "manifest: counter: 4294967296 out of range 0..4294967295");
	BAD("{\"v\":1,\"version\":\"1.0.0\",\"counter\":\"5\"}",
	    "manifest: counter: expected an integer");
	BAD_OK("{\"v\":1,\"version\":\"2.0.0\",\"counter\":4294967295,"
	    "\"boards\":[\"host\",\"pi-4\"]," IMAGE TAIL);
	/* size: 1..2^40 */
	BAD(HEAD "\"sha256\":1}", "manifest: size: missing");
	BAD(HEAD "\"size\":0}", "manifest: size: 0 out of range 1..1099511627776");
	BAD(HEAD "\"size\":1099511627777}",
	    "manifest: size: 1099511627777 out of range 1..1099511627776");
	BAD(HEAD "\"size\":1e3}", "manifest: size: expected an integer");
	/* sha256: 64 lowercase hex */
	BAD(HEAD "\"size\":1}", "manifest: sha256: missing");
	BAD(HEAD "\"size\":1,\"sha256\":\"" H1 "0\"}",
	    "manifest: sha256: not 64 lowercase hex characters");
	BAD(HEAD "\"size\":1,\"sha256\":\"0123456789ABCDEF0123456789abcdef"
	    "0123456789abcdef0123456789abcdef\"}",
	    "manifest: sha256: not 64 lowercase hex characters");
	BAD(HEAD "\"size\":1,\"sha256\":\"0x23456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef\"}",
	    "manifest: sha256: not 64 lowercase hex characters");
	BAD(HEAD "\"size\":1,\"sha256\":[]}",
	    "manifest: sha256: not 64 lowercase hex characters");
	/* expires: 1..2^40 */
	BAD(HEAD IMAGE "\"expires\":0}",
	    "manifest: expires: 0 out of range 1..1099511627776");
	BAD(HEAD IMAGE "\"expires\":1099511627777}",
	    "manifest: expires: 1099511627777 out of range 1..1099511627776");
	BAD(HEAD IMAGE "\"expires\":null}",
	    "manifest: expires: expected an integer");
	BAD_OK(HEAD IMAGE "\"expires\":1099511627776}");
}

#define VERSION_BAD "manifest: version: not MAJOR.MINOR.PATCH (each " \
	"0..999999, no leading zeros)"

/* version: "MAJOR.MINOR.PATCH", one spelling per version. */
static void
test_bad_versions(void **state)
{
	static const char *const bad[] = {
		"", "1", "1.2", "1.2.3.4", "01.2.3", "1.02.3", "1.2.03", "1.2.00",
		"1000000.0.0", "0.0.1234567", "1.2.3-rc1", "v1.2.3", " 1.2.3",
		"1.2.3 ", "1..3", "1.2.", ".1.2", "1.-2.3", "+1.2.3", "1,2,3",
		"1.2.3\\u0020", "123456789012345678901234",
	};
	char body[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "{\"v\":1,\"version\":\"%s\"}",
		    bad[i]);
		BAD(body, VERSION_BAD);
	}
	BAD("{\"v\":1}", "manifest: version: missing");
	BAD("{\"v\":1,\"version\":\"1.2.3\\u0000\"}", "manifest: body: "
	    "\\u0000 is not allowed without JSON_ALLOW_NUL near "
	    "'\"1.2.3\\u0000\"' (byte 30)");
	BAD("{\"v\":1,\"version\":100}", VERSION_BAD);
	BAD("{\"v\":1,\"version\":[1,2,3]}", VERSION_BAD);
	BAD("{\"v\":1,\"version\":\"0.0.0\"}", "manifest: counter: missing");
	BAD("{\"v\":1,\"version\":\"999999.999999.999999\"}",
	    "manifest: counter: missing");
	BAD("{\"v\":1,\"version\":\"10.20.30\"}",
	    "manifest: counter: missing");
}

#define VC "{\"v\":1,\"version\":\"1.0.0\",\"counter\":1,"
#define BOARD_BAD "manifest: boards[%d]: not a string of 1..32 characters " \
	"of [a-z0-9-]"

/* boards: 1..8 distinct names of [a-z0-9-]. */
static void
test_bad_boards(void **state)
{
	(void)state;
	BAD(VC "\"size\":1}", "manifest: boards: missing");
	BAD(VC "\"boards\":[]}",
	    "manifest: boards: not an array of 1..8 board names");
	BAD(VC "\"boards\":\"host\"}",
	    "manifest: boards: not an array of 1..8 board names");
	BAD(VC "\"boards\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\","
	    "\"h\",\"i\"]}", "manifest: boards: not an array of 1..8 board "
	    "names");
	BAD(VC "\"boards\":[\"a\",\"b\",\"c\",\"d\",\"e\",\"f\",\"g\","
	    "\"h\"]}", "manifest: size: missing");
	BAD(VC "\"boards\":[\"Host\"]}", "manifest: boards[0]: not a string "
	    "of 1..32 characters of [a-z0-9-]");
	BAD(VC "\"boards\":[\"host\",\"a_b\"]}", "manifest: boards[1]: not a "
	    "string of 1..32 characters of [a-z0-9-]");
	BAD(VC "\"boards\":[\"\"]}", "manifest: boards[0]: not a string "
	    "of 1..32 characters of [a-z0-9-]");
	BAD(VC "\"boards\":[1]}", "manifest: boards[0]: not a string "
	    "of 1..32 characters of [a-z0-9-]");
	BAD(VC "\"boards\":[\"abcdefghijklmnopqrstuvwxyz0123456\"]}",
	    "manifest: boards[0]: not a string of 1..32 characters of "
	    "[a-z0-9-]");
	BAD(VC "\"boards\":[\"abcdefghijklmnopqrstuvwxyz012345\"]}",
	    "manifest: size: missing");
	BAD(VC "\"boards\":[\"host\",\"pi\",\"host\"]}",
	    "manifest: boards[2]: \"host\" twice");
}

#define BS "{\"v\":1,\"version\":\"1.0.0\",\"counter\":1," \
	"\"boards\":[\"host\"],\"sha256\":\"" H1 "\","

/* chunk: a power of two in 4096..16 MiB; chunks: one hash per chunk. */
static void
test_bad_chunks(void **state)
{
	(void)state;
	BAD(BS "\"size\":1}", "manifest: chunk: missing");
	BAD(BS "\"size\":1,\"chunk\":2048}",
	    "manifest: chunk: 2048 out of range 4096..16777216");
	BAD(BS "\"size\":1,\"chunk\":33554432}",
	    "manifest: chunk: 33554432 out of range 4096..16777216");
	BAD(BS "\"size\":1,\"chunk\":6144}",
	    "manifest: chunk: 6144 not a power of two");
	BAD(BS "\"size\":1,\"chunk\":16777215}",
	    "manifest: chunk: 16777215 not a power of two");
	BAD(BS "\"size\":1,\"chunk\":\"4096\"}",
	    "manifest: chunk: expected an integer");
	/* 128 chunks of 4096 at most: one byte more makes 129. */
	BAD(BS "\"size\":524289,\"chunk\":4096}", "manifest: chunk: 4096 "
	    "bytes make 129 chunks of 524289 bytes, over 128");
	BAD(BS "\"size\":1099511627776,\"chunk\":16777216}", "manifest: "
	    "chunk: 16777216 bytes make 65536 chunks of 1099511627776 bytes, "
	    "over 128");
	BAD(BS "\"size\":524288,\"chunk\":4096}", "manifest: chunks: missing");
	BAD(BS "\"size\":1,\"chunk\":4096,\"chunks\":{}}",
	    "manifest: chunks: not an array");
	BAD(BS "\"size\":1,\"chunk\":4096,\"chunks\":[]}",
	    "manifest: chunks: 0 hashes for 1 chunks");
	BAD(BS "\"size\":12289,\"chunk\":4096,\"chunks\":[\"" H1 "\",\""
	    H1 "\",\"" H1 "\"]}", "manifest: chunks: 3 hashes for 4 chunks");
	BAD(BS "\"size\":8192,\"chunk\":4096,\"chunks\":[\"" H1 "\",\""
	    H1 "\",\"" H1 "\"]}", "manifest: chunks: 3 hashes for 2 chunks");
	BAD(BS "\"size\":8192,\"chunk\":4096,\"chunks\":[\"" H1 "\",\""
	    "xyz\"]}", "manifest: chunks[1]: not 64 lowercase hex characters");
	BAD(BS "\"size\":8192,\"chunk\":4096,\"chunks\":[null,\"" H1 "\"]}",
	    "manifest: chunks[0]: not 64 lowercase hex characters");
	BAD(BS "\"size\":8192,\"chunk\":4096,\"chunks\":[\"" H1 "\",\""
	    H1 "\"]}", "manifest: expires: missing");
}

/* Numbers compared, not strings; an unparsable other version is 0.0.0. */
static void
test_version_cmp(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(manifest_parse(text, sign(BODY), &m, err, sizeof(err)),
	    0);
	assert_true(manifest_version_cmp(&m, "2.0.0") == 0);
	assert_true(manifest_version_cmp(&m, "1.9.9") > 0);
	assert_true(manifest_version_cmp(&m, "1.999999.999999") > 0);
	assert_true(manifest_version_cmp(&m, "2.0.1") < 0);
	assert_true(manifest_version_cmp(&m, "2.1.0") < 0);
	assert_true(manifest_version_cmp(&m, "10.0.0") < 0);
	assert_true(manifest_version_cmp(&m, "0.0.0") > 0);
	assert_true(manifest_version_cmp(&m, "garbage") > 0);
	assert_true(manifest_version_cmp(&m, "02.0.0") > 0);
	assert_true(manifest_version_cmp(&m, "") > 0);
	assert_true(manifest_version_cmp(&m, NULL) > 0);
	m.ver[0] = m.ver[1] = m.ver[2] = 0;
	assert_true(manifest_version_cmp(&m, "garbage") == 0);
	assert_true(manifest_version_cmp(&m, "0.0.1") < 0);
}

static void
test_board_ok(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(manifest_parse(text, sign(BODY), &m, err, sizeof(err)),
	    0);
	assert_int_equal(manifest_board_ok(&m, "host"), 1);
	assert_int_equal(manifest_board_ok(&m, "pi-4"), 1);
	assert_int_equal(manifest_board_ok(&m, "pi"), 0);
	assert_int_equal(manifest_board_ok(&m, "Host"), 0);
	assert_int_equal(manifest_board_ok(&m, ""), 0);
}

/* The release key: EC P-256 only; errors say "manifest", not "command". */
static void
test_keys(void **state)
{
	struct cmd_pubkey *k = NULL;
	char err[256], body[] = "{\"v\":1,\n}";
	size_t len;

	(void)state;
	assert_int_equal(sig_key_load_public("manifest", RSA_PUB_PEM,
	    strlen(RSA_PUB_PEM), &k, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "manifest: key: not an EC P-256 public key");
	assert_null(k);
	assert_int_equal(sig_key_load_public("manifest", "hello", 5, &k, err,
	    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "manifest: key: not a PEM public key ("));
	/* The signer refuses a body with an LF, or too long, before signing. */
	assert_int_equal(signer_manifest(cmdkey.signer, (const uint8_t *)body,
	    strlen(body), text, sizeof(text), &len, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "signer: manifest: body has an LF (not compact "
	    "JSON)");
	assert_int_equal(signer_manifest(cmdkey.signer, text,
	    MANIFEST_BODY_MAX + 1, text, sizeof(text), &len, err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(err, "signer: manifest: body of 10241 bytes, not "
	    "2..10240");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_bad_text),
		cmocka_unit_test(test_bad_body),
		cmocka_unit_test(test_bad_members),
		cmocka_unit_test(test_bad_versions),
		cmocka_unit_test(test_bad_boards),
		cmocka_unit_test(test_bad_chunks),
		cmocka_unit_test(test_version_cmp),
		cmocka_unit_test(test_board_ok),
		cmocka_unit_test(test_keys),
	};

	return cmocka_run_group_tests(tests, cmdkey_setup, cmdkey_teardown);
}
