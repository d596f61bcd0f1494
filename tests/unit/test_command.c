/*
 * command: sign -> parse -> verify round trips with the test key
 * (tests/fixtures/cmdkey.h), and the exact error line or code of every kind
 * of bad frame, body, member and key.
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

#include "firmware/codec/command.h"
#include "tests/fixtures/cmdkey.h"
#include "tools/lib/signer.h"

#define BODY "{\"v\":1,\"id\":\"c-0001\",\"gw\":\"gw-0001\",\"seq\":7," \
	"\"nbf\":1796515200,\"exp\":1796518800,\"type\":\"charger.set_current\"," \
	"\"args\":{\"device\":\"wallbox\",\"amps\":16}}"

/* A public key that must be refused (RSA_PUB_PEM: cmdkey.h). */
#define P384_PUB_PEM \
	"-----BEGIN PUBLIC KEY-----\n" \
	"MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEly95s6DPAA19Z9jZbO/oDbAwCX4aEItX\n" \
	"ybMn2cFVNsXyADkaVFirpT/VUC4KXBqw1amY+UKbAv7cBY6nGXrGgCotyZGUpOj7\n" \
	"xKjajbIamSSlCJapCdXDqSh7cdTCwHdr\n" \
	"-----END PUBLIC KEY-----\n"

static uint8_t frame[CMD_FRAME_MAX + 64];

/* body signed with the test key, into frame[]; its length. */
static size_t
sign(const char *body)
{
	size_t len = cmdkey_sign(CMDKEY_FRAME, body, frame, sizeof(frame));

	assert_true(len > 0);
	return len;
}

/* The error line cmd_parse gives for body; "" if it parses. */
static const char *
parse_error(const char *body, size_t blen)
{
	static char err[512];
	struct cmd c;
	int rc;

	err[0] = '\0';
	rc = cmd_parse(frame, cmdkey_unsigned(CMDKEY_FRAME, body, blen, frame), &c,
	    err, sizeof(err));
	if (rc == 0) {
		cmd_free(&c);
		return "";
	}
	assert_int_equal(rc, -EBADMSG);
	assert_null(strchr(err, '\n'));
	return err;
}

#define BAD(body, want) \
	assert_string_equal(parse_error(body, strlen(body)), want)
#define BAD_OK(body) BAD(body, "")

static void
test_round_trip(void **state)
{
	size_t len = sign(BODY);
	uint8_t again[sizeof(frame)];
	char err[256];
	struct cmd c;

	(void)state;
	assert_int_equal(len, strlen(BODY) + 65);
	assert_int_equal(frame[strlen(BODY)], '\n');
	assert_int_equal(cmd_parse(frame, len, &c, err, sizeof(err)), 0);
	assert_string_equal(c.id, "c-0001");
	assert_string_equal(c.gw, "gw-0001");
	assert_true(c.seq == 7);
	assert_true(c.nbf == 1796515200 && c.exp == 1796518800);
	assert_string_equal(c.type, "charger.set_current");
	assert_int_equal(json_integer_value(json_object_get(c.args, "amps")), 16);
	assert_ptr_equal(c.body, frame);
	assert_int_equal(c.body_len, strlen(BODY));
	assert_memory_equal(c.sig, frame + len - 64, 64);
	assert_int_equal(cmd_verify(cmdkey.pub, &c), 0);
	cmd_free(&c);
	assert_null(c.args);
	/* RFC 6979: the same key and body, the same bytes. */
	memcpy(again, frame, len);
	assert_int_equal(sign(BODY), len);
	assert_memory_equal(again, frame, len);
}

/* No "args": an empty object, not NULL; the limits themselves accepted. */
static void
test_limits(void **state)
{
	static const char body[] = "{\"v\":1,\"id\":\"A.z_0:9-x\",\"gw\":\"g\","
	    "\"seq\":9007199254740991,\"nbf\":0,\"exp\":1099511627776,"
	    "\"type\":\"a\"}";
	static char big[CMD_BODY_MAX + 1];
	char err[256];
	struct cmd c;
	size_t len, n;

	(void)state;
	assert_int_equal(cmd_parse(frame, sign(body), &c, err, sizeof(err)), 0);
	assert_true(json_is_object(c.args) && json_object_size(c.args) == 0);
	assert_true(c.seq == CMD_SEQ_MAX && c.exp == CMD_TIME_MAX && c.nbf == 0);
	assert_int_equal(cmd_verify(cmdkey.pub, &c), 0);
	cmd_free(&c);
	/* A body of exactly 16384 bytes: the largest frame there is. */
	n = (size_t)snprintf(big, sizeof(big), "{\"v\":1,\"id\":\"i\",\"gw\":\"g\","
	    "\"seq\":1,\"nbf\":0,\"exp\":1,\"type\":\"t\",\"args\":{\"pad\":\"");
	memset(big + n, 'x', CMD_BODY_MAX - n - 3);
	memcpy(big + CMD_BODY_MAX - 3, "\"}}", 4);
	assert_int_equal(strlen(big), CMD_BODY_MAX);
	len = sign(big);
	assert_int_equal(len, CMD_FRAME_MAX);
	assert_int_equal(cmd_parse(frame, len, &c, err, sizeof(err)), 0);
	assert_int_equal(cmd_verify(cmdkey.pub, &c), 0);
	cmd_free(&c);
}

/* A flipped bit anywhere, r or s out of range, another key: -EBADMSG. */
static void
test_bad_signature(void **state)
{
	static const uint8_t n256[32] = {	/* P-256's group order n */
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
		0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
	};
	char err[256];
	struct signer *other;
	struct cmd_pubkey *other_pub;
	char pem[SIGNER_PEM_MAX];
	struct cmd c;
	size_t len = sign(BODY), seq_at;

	(void)state;
	/* "seq":7 -> "seq":6: still a valid body, no longer the signed one. */
	seq_at = (size_t)(strstr(BODY, "\"seq\":7") - BODY) + 6;
	frame[seq_at] ^= 0x01;
	assert_int_equal(cmd_parse(frame, len, &c, err, sizeof(err)), 0);
	assert_true(c.seq == 6);
	assert_int_equal(cmd_verify(cmdkey.pub, &c), -EBADMSG);
	cmd_free(&c);
	frame[seq_at] ^= 0x01;
	frame[len - 1] ^= 0x80;		/* s's last bit */
	assert_int_equal(cmd_parse(frame, len, &c, err, sizeof(err)), 0);
	assert_int_equal(cmd_verify(cmdkey.pub, &c), -EBADMSG);
	cmd_free(&c);
	frame[len - 1] ^= 0x80;
	frame[len - 64] ^= 0x01;	/* r's first byte */
	assert_int_equal(cmd_parse(frame, len, &c, err, sizeof(err)), 0);
	assert_int_equal(cmd_verify(cmdkey.pub, &c), -EBADMSG);
	frame[len - 64] ^= 0x01;
	memcpy(c.sig, frame + len - 64, 64);
	assert_int_equal(cmd_verify(cmdkey.pub, &c), 0);	/* back as it was */
	/* r = 0, s = 0, r = n, s = n: refused before any arithmetic. */
	memset(c.sig, 0, 32);
	assert_int_equal(cmd_verify(cmdkey.pub, &c), -EBADMSG);
	memcpy(c.sig, frame + len - 64, 64);
	memset(c.sig + 32, 0, 32);
	assert_int_equal(cmd_verify(cmdkey.pub, &c), -EBADMSG);
	memcpy(c.sig, n256, 32);
	memcpy(c.sig + 32, frame + len - 32, 32);
	assert_int_equal(cmd_verify(cmdkey.pub, &c), -EBADMSG);
	memcpy(c.sig, frame + len - 64, 32);
	memcpy(c.sig + 32, n256, 32);
	assert_int_equal(cmd_verify(cmdkey.pub, &c), -EBADMSG);
	cmd_free(&c);
	/* Signed by another key: refused by ours, accepted by its own. */
	assert_int_equal(signer_generate(&other, err, sizeof(err)), 0);
	assert_int_equal(signer_pem_public(other, pem, sizeof(pem)), 0);
	assert_int_equal(cmd_key_load_public(pem, strlen(pem), &other_pub, err,
	    sizeof(err)), 0);
	assert_int_equal(signer_frame(other, (const uint8_t *)BODY, strlen(BODY),
	    frame, sizeof(frame), &len, err, sizeof(err)), 0);
	assert_int_equal(cmd_parse(frame, len, &c, err, sizeof(err)), 0);
	assert_int_equal(cmd_verify(cmdkey.pub, &c), -EBADMSG);
	assert_int_equal(cmd_verify(other_pub, &c), 0);
	cmd_free(&c);
	cmd_pubkey_free(other_pub);
	signer_free(other);
}

/* The frame around the body: lengths and the LF. */
static void
test_bad_frame(void **state)
{
	char err[256], body[] = "{\"v\":1,\n\"id\":\"c\"}";
	struct cmd c;
	size_t len = sign(BODY);

	(void)state;
	assert_int_equal(cmd_parse(frame, CMD_FRAME_MAX + 1, &c, err,
	    sizeof(err)), -EBADMSG);
	assert_string_equal(err, "command: frame of 16450 bytes, over 16449");
	assert_int_equal(cmd_parse(frame, 66, &c, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "command: frame of 66 bytes, under 67");
	assert_int_equal(cmd_parse(frame, 0, &c, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "command: frame of 0 bytes, under 67");
	/* Truncated by one byte: the LF is no longer 65 bytes from the end. */
	assert_int_equal(cmd_parse(frame, len - 1, &c, err, sizeof(err)),
	    -EBADMSG);
	assert_string_equal(err, "command: no LF before the signature");
	frame[len - 65] = ' ';
	assert_int_equal(cmd_parse(frame, len, &c, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "command: no LF before the signature");
	/* One LF too many: inside the body (pretty-printed JSON). */
	BAD(body, "command: body: LF at byte 7");
	assert_string_equal(parse_error("{\"v\":1}\0{}", 10),
	    "command: body: NUL at byte 7");
	/* The signer refuses such a body before signing it. */
	assert_int_equal(signer_frame(cmdkey.signer, (const uint8_t *)body,
	    strlen(body), frame, sizeof(frame), &len, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "signer: body: has an LF (not compact JSON)");
}

/* Not JSON, not an object, not UTF-8, a member twice. */
static void
test_bad_body(void **state)
{
	(void)state;
	BAD("{}", "command: v: missing");
	BAD("[1]", "command: body: not a JSON object");
	BAD("\"x\"", "command: body: '[' or '{' expected near '\"x\"' (byte 3)");
	BAD("{\"v\":1,", "command: body: string or '}' expected near end of file "
	    "(byte 7)");
	BAD("{\"v\":1} {}", "command: body: end of file expected near '{' (byte 9)");
	BAD("{\"v\":1,\"id\":\"c\xff\"}",
	    "command: body: unable to decode byte 0xff near '\"c' (byte 14)");
	BAD("{\"v\":1,\"id\":\"\xc0\xaf\"}",	/* overlong '/' */
	    "command: body: unable to decode byte 0xc0 near '\"' (byte 13)");
	BAD("{\"v\":1,\"id\":\"a\\u0000\"}", "command: body: \\u0000 is not "
	    "allowed without JSON_ALLOW_NUL near '\"a\\u0000\"' (byte 21)");
	BAD("{\"v\":1,\"seq\":1,\"seq\":2}",
	    "command: body: duplicate object key near '\"seq\"' (byte 20)");
}

/* Each member: missing, wrong type, out of range; unknown members. */
static void
test_bad_members(void **state)
{
#define HEAD "{\"v\":1,\"id\":\"c\",\"gw\":\"g\","
#define TIMES "\"nbf\":10,\"exp\":20,"
	(void)state;
	BAD("{\"v\":2,\"x\":1}", "command: unsupported version 2");
	BAD("{\"v\":0}", "command: unsupported version 0");
	BAD("{\"v\":\"1\"}", "command: v: not an integer");
	BAD("{\"v\":1.0}", "command: v: not an integer");
	BAD(HEAD "\"seq\":1," TIMES "\"type\":\"t\",\"extra\":1}",
	    "command: extra: unknown member");
	BAD(HEAD "\"seq\":1," TIMES "\"type\":\"t\",\"Seq\":1}",
	    "command: Seq: unknown member");
	/* id and gw: 1..64 of [A-Za-z0-9._:-] */
	BAD("{\"v\":1}", "command: id: missing");
	BAD("{\"v\":1,\"id\":7}", "command: id: not a string of 1..64 characters "
	    "of [A-Za-z0-9._:-]");
	BAD("{\"v\":1,\"id\":\"\"}", "command: id: not a string of 1..64 "
	    "characters of [A-Za-z0-9._:-]");
	BAD("{\"v\":1,\"id\":\"a b\"}", "command: id: not a string of 1..64 "
	    "characters of [A-Za-z0-9._:-]");
	BAD("{\"v\":1,\"id\":\"0123456789012345678901234567890123456789012345678"
	    "9012345678901234\"}", "command: id: not a string of 1..64 "
	    "characters of [A-Za-z0-9._:-]");
	BAD_OK("{\"v\":1,\"id\":\"0123456789012345678901234567890123456789"
	    "012345678901234567890123\",\"gw\":\"g\",\"seq\":1," TIMES
	    "\"type\":\"t\"}");
	BAD("{\"v\":1,\"id\":\"c\"}", "command: gw: missing");
	BAD("{\"v\":1,\"id\":\"c\",\"gw\":\"wg/+/c\"}", "command: gw: not a string "
	    "of 1..64 characters of [A-Za-z0-9._:-]");
	BAD("{\"v\":1,\"id\":\"c\",\"gw\":\"g\xc3\xa9\"}", "command: gw: not a "
	    "string of 1..64 characters of [A-Za-z0-9._:-]");
	/* seq: 1..2^53-1 */
	BAD(HEAD "\"nbf\":1}", "command: seq: missing");
	BAD(HEAD "\"seq\":0}", "command: seq: not an integer in 1..2^53-1");
	BAD(HEAD "\"seq\":-1}", "command: seq: not an integer in 1..2^53-1");
	BAD(HEAD "\"seq\":9007199254740992}",
	    "command: seq: not an integer in 1..2^53-1");
	BAD(HEAD "\"seq\":1.5}", "command: seq: not an integer in 1..2^53-1");
	BAD(HEAD "\"seq\":\"1\"}", "command: seq: not an integer in 1..2^53-1");
	/* nbf: 0..2^40; exp: after nbf, at most 2^40 */
	BAD(HEAD "\"seq\":1}", "command: nbf: missing");
	BAD(HEAD "\"seq\":1,\"nbf\":-1}", "command: nbf: not an integer in 0..2^40");
	BAD(HEAD "\"seq\":1,\"nbf\":1099511627777}",
	    "command: nbf: not an integer in 0..2^40");
	BAD(HEAD "\"seq\":1,\"nbf\":null}", "command: nbf: not an integer in 0..2^40");
	BAD(HEAD "\"seq\":1,\"nbf\":10}", "command: exp: missing");
	BAD(HEAD "\"seq\":1,\"nbf\":10,\"exp\":1099511627777}",
	    "command: exp: not an integer in 0..2^40");
	BAD(HEAD "\"seq\":1,\"nbf\":10,\"exp\":true}",
	    "command: exp: not an integer in 0..2^40");
	BAD(HEAD "\"seq\":1,\"nbf\":10,\"exp\":10}",
	    "command: exp: 10 not after nbf 10");
	BAD(HEAD "\"seq\":1,\"nbf\":10,\"exp\":9}", "command: exp: 9 not after nbf 10");
	/* type: 1..32 of [a-z0-9._] */
	BAD(HEAD "\"seq\":1," TIMES "\"x\":1}", "command: x: unknown member");
	BAD(HEAD "\"seq\":1," TIMES "\"args\":{}}", "command: type: missing");
	BAD(HEAD "\"seq\":1," TIMES "\"type\":\"Reboot\"}", "command: type: not a "
	    "string of 1..32 characters of [a-z0-9._]");
	BAD(HEAD "\"seq\":1," TIMES "\"type\":\"ota-start\"}", "command: type: "
	    "not a string of 1..32 characters of [a-z0-9._]");
	BAD(HEAD "\"seq\":1," TIMES "\"type\":\"abcdefghijklmnopqrstuvwxyz0123456\"}",
	    "command: type: not a string of 1..32 characters of [a-z0-9._]");
	BAD(HEAD "\"seq\":1," TIMES "\"type\":[]}", "command: type: not a string "
	    "of 1..32 characters of [a-z0-9._]");
	/* args: an object */
	BAD(HEAD "\"seq\":1," TIMES "\"type\":\"t\",\"args\":[]}",
	    "command: args: not an object");
	BAD(HEAD "\"seq\":1," TIMES "\"type\":\"t\",\"args\":null}",
	    "command: args: not an object");
	BAD(HEAD "\"seq\":1," TIMES "\"type\":\"t\",\"args\":\"{}\"}",
	    "command: args: not an object");
	BAD_OK(HEAD "\"seq\":1," TIMES "\"type\":\"t\",\"args\":{\"a\":[1,"
	    "{\"b\":null}]}}");
#undef HEAD
#undef TIMES
}

/* Only EC P-256 public keys in PEM; the error says which rule. */
static void
test_keys(void **state)
{
	struct cmd_pubkey *k = NULL;
	char err[256], pem[SIGNER_PEM_MAX];

	(void)state;
	assert_int_equal(cmd_key_load_public(RSA_PUB_PEM, strlen(RSA_PUB_PEM), &k,
	    err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "command: key: not an EC P-256 public key");
	assert_null(k);
	assert_int_equal(cmd_key_load_public(P384_PUB_PEM, strlen(P384_PUB_PEM),
	    &k, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "command: key: not an EC P-256 public key");
	/* The private key is not a public key. */
	assert_int_equal(signer_pem_private(cmdkey.signer, pem, sizeof(pem)), 0);
	assert_non_null(strstr(pem, "-----BEGIN EC PRIVATE KEY-----\n"));
	assert_int_equal(cmd_key_load_public(pem, strlen(pem), &k, err,
	    sizeof(err)), -EINVAL);
	assert_string_equal(err, "command: key: not a PEM public key (PK - Invalid "
	    "key tag or value : ASN1 - ASN1 tag was of an unexpected value)");
	assert_int_equal(cmd_key_load_public("hello", 5, &k, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "command: key: not a PEM public key ("));
	/* The signer's public PEM is the fixture's: one key pair. */
	assert_int_equal(signer_pem_public(cmdkey.signer, pem, sizeof(pem)), 0);
	assert_string_equal(pem, CMDKEY_PUB_PEM);
	/* Not NUL-terminated: the length is what counts. */
	memcpy(pem, CMDKEY_PUB_PEM, strlen(CMDKEY_PUB_PEM));
	memset(pem + strlen(CMDKEY_PUB_PEM), 'A', 8);
	assert_int_equal(cmd_key_load_public(pem, strlen(CMDKEY_PUB_PEM), &k, err,
	    sizeof(err)), 0);
	cmd_pubkey_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_bad_frame),
		cmocka_unit_test(test_bad_body),
		cmocka_unit_test(test_bad_members),
		cmocka_unit_test(test_keys),
	};

	return cmocka_run_group_tests(tests, cmdkey_setup, cmdkey_teardown);
}
