/*
 * Technician credentials, challenges and responses (techcred.h,
 * docs/console.md "Login").
 *
 * As strict as command frames, for the same reason: what passes here opens
 * a console that can read registers and apply a config. Every length is
 * checked before the bytes behind it are read; base64 and hex are decoded
 * here, by rules that accept exactly one spelling of each value (no
 * whitespace, no uppercase hex, padding where RFC 4648 puts it), so that
 * no variant of a response slips past a check written for another.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "firmware/base/jcheck.h"
#include "firmware/codec/codec_err.h"
#include "firmware/codec/techcred.h"

static const char *const members[] = {
	"v", "tech", "key", "gws", "nbf", "exp", NULL
};

#define NAME_SET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._@:-"
#define GW_SET	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"
#define B64	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

__attribute__((format(printf, 4, 5)))
static int
fail(char *err, size_t errlen, const char *who, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = codec_vfail(err, errlen, who, -EBADMSG, fmt, ap);
	va_end(ap);
	return rc;
}

void
techcred_hex(const uint8_t *p, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
techcred_unhex(const char *s, size_t slen, uint8_t *p, size_t n)
{
	size_t i;
	int hi, lo;

	if (slen != 2 * n)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if ((hi = nibble(s[2 * i])) < 0 || (lo = nibble(s[2 * i + 1])) < 0)
			return -EINVAL;
		p[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int
get_int(json_t *o, const char *key, int64_t *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return fail(err, errlen, "credential", "%s: missing", key);
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > TECHCRED_TIME_MAX)
		return fail(err, errlen, "credential", "%s: not an integer in "
		    "0..2^40", key);
	*out = json_integer_value(v);
	return 0;
}

/* "gws": 1..TECHCRED_GWS_MAX gateway ids or "*", none twice. */
static int
get_gws(json_t *o, struct techcred *tc, char *err, size_t errlen)
{
	json_t *a = json_object_get(o, "gws"), *v;
	size_t i, k;

	if (a == NULL)
		return fail(err, errlen, "credential", "gws: missing");
	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > TECHCRED_GWS_MAX)
		return fail(err, errlen, "credential", "gws: not an array of 1..%d "
		    "gateway ids", TECHCRED_GWS_MAX);
	json_array_foreach(a, i, v) {
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);

		if (!json_is_string(v) || (!(n == 1 && s[0] == '*') &&
		    !codec_in_set(s, n, TECHCRED_GW_MAX, GW_SET)))
			return fail(err, errlen, "credential", "gws[%zu]: not \"*\" "
			    "or a string of 1..%d characters of [A-Za-z0-9._:-]",
			    i, TECHCRED_GW_MAX);
		for (k = 0; k < i; k++)
			if (strcmp(tc->gws[k], s) == 0)
				return fail(err, errlen, "credential", "gws[%zu]: "
				    "named twice", i);
		memcpy(tc->gws[i], s, n + 1);
	}
	tc->n_gws = json_array_size(a);
	return 0;
}

/* Version first: another version's members would only confuse the line. */
static int
members_read(json_t *o, struct techcred *tc, char *err, size_t errlen)
{
	char shown[41];
	const char *key, *s;
	json_t *v;
	size_t i;
	int rc;

	if ((v = json_object_get(o, "v")) == NULL)
		return fail(err, errlen, "credential", "v: missing");
	if (!json_is_integer(v))
		return fail(err, errlen, "credential", "v: not an integer");
	if (json_integer_value(v) != TECHCRED_VERSION)
		return fail(err, errlen, "credential", "unsupported version %lld",
		    (long long)json_integer_value(v));
	json_object_foreach(o, key, v) {
		for (i = 0; members[i] != NULL; i++)
			if (strcmp(key, members[i]) == 0)
				break;
		if (members[i] == NULL)
			return fail(err, errlen, "credential", "%s: unknown member",
			    jc_shown(key, shown, sizeof(shown)));
	}
	v = json_object_get(o, "tech");
	if (v == NULL)
		return fail(err, errlen, "credential", "tech: missing");
	if (!json_is_string(v) || !codec_in_set(json_string_value(v),
	    json_string_length(v), TECHCRED_NAME_MAX, NAME_SET))
		return fail(err, errlen, "credential", "tech: not a string of 1..%d "
		    "characters of [A-Za-z0-9._@:-]", TECHCRED_NAME_MAX);
	memcpy(tc->tech, json_string_value(v), json_string_length(v) + 1);
	v = json_object_get(o, "key");
	if (v == NULL)
		return fail(err, errlen, "credential", "key: missing");
	s = json_string_value(v);
	if (s == NULL || techcred_unhex(s, json_string_length(v), tc->key,
	    SIG_POINT_LEN) < 0 || tc->key[0] != 0x04)
		return fail(err, errlen, "credential", "key: not %d lowercase hex "
		    "digits of an uncompressed point (04...)", 2 * SIG_POINT_LEN);
	if ((rc = get_gws(o, tc, err, errlen)) < 0 ||
	    (rc = get_int(o, "nbf", &tc->nbf, err, errlen)) < 0 ||
	    (rc = get_int(o, "exp", &tc->exp, err, errlen)) < 0)
		return rc;
	if (tc->exp <= tc->nbf)
		return fail(err, errlen, "credential", "exp: %" PRId64 " not after "
		    "nbf %" PRId64, tc->exp, tc->nbf);
	return 0;
}

int
techcred_parse(const uint8_t *cred, size_t len, struct techcred *tc,
    char *err, size_t errlen)
{
	char text[JSON_ERROR_TEXT_LENGTH];
	json_error_t je;
	const uint8_t *p;
	json_t *root;
	size_t blen;
	int rc;

	memset(tc, 0, sizeof(*tc));
	if (len > TECHCRED_MAX)
		return fail(err, errlen, "credential", "%zu bytes, over %d", len,
		    TECHCRED_MAX);
	if (len < TECHCRED_BODY_MIN + 1 + SIG_LEN)
		return fail(err, errlen, "credential", "%zu bytes, under %d", len,
		    TECHCRED_BODY_MIN + 1 + SIG_LEN);
	blen = len - 1 - SIG_LEN;
	if (cred[blen] != '\n')
		return fail(err, errlen, "credential", "no LF before the signature");
	if ((p = memchr(cred, '\n', blen)) != NULL)
		return fail(err, errlen, "credential", "body: LF at byte %zu",
		    (size_t)(p - cred));
	if ((p = memchr(cred, '\0', blen)) != NULL)
		return fail(err, errlen, "credential", "body: NUL at byte %zu",
		    (size_t)(p - cred));
	root = json_loadb((const char *)cred, blen, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return fail(err, errlen, "credential", "body: %s (byte %d)",
		    jc_shown(je.text, text, sizeof(text)), je.position);
	if (!json_is_object(root)) {
		json_decref(root);
		return fail(err, errlen, "credential", "body: not a JSON object");
	}
	rc = members_read(root, tc, err, errlen);
	json_decref(root);
	if (rc < 0) {
		memset(tc, 0, sizeof(*tc));
		return rc;
	}
	tc->body = cred;
	tc->body_len = blen;
	memcpy(tc->sig, cred + blen + 1, SIG_LEN);
	return 0;
}

int
techcred_verify(const struct cmd_pubkey *fleet, const struct techcred *tc)
{
	if (fleet == NULL || tc == NULL || tc->body == NULL)
		return -EINVAL;
	return sig_verify(fleet, tc->body, tc->body_len, tc->sig);
}

int
techcred_for_gw(const struct techcred *tc, const char *gw)
{
	size_t i;

	for (i = 0; i < tc->n_gws; i++)
		if (strcmp(tc->gws[i], "*") == 0 || strcmp(tc->gws[i], gw) == 0)
			return 1;
	return 0;
}

/*
 * Strict RFC 4648 base64: length a multiple of 4, '=' only as the last one
 * or two characters, and the bits the padding leaves over zero (else two
 * spellings would decode to the same bytes).
 */
static int
b64_decode(const char *s, size_t n, uint8_t *out, size_t cap, size_t *olen)
{
	size_t i, pad = 0, o = 0;
	uint32_t acc;
	int k;

	if (n == 0 || n % 4 != 0)
		return -EINVAL;
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	if (n / 4 * 3 - pad > cap)
		return -ENOSPC;
	for (i = 0; i < n; i += 4) {
		acc = 0;
		for (k = 0; k < 4; k++) {
			const char *c = memchr(B64, s[i + k], 64);

			if (c == NULL || s[i + k] == '\0') {
				if (s[i + k] != '=' || i + 4 != n ||
				    k < 4 - (int)pad)
					return -EINVAL;
				acc <<= 6;
				continue;
			}
			acc = acc << 6 | (uint32_t)(c - B64);
		}
		if ((pad == 1 && i + 4 == n && (acc & 0xff) != 0) ||
		    (pad == 2 && i + 4 == n && (acc & 0xffff) != 0))
			return -EINVAL;
		out[o++] = (uint8_t)(acc >> 16);
		if (i + 4 < n || pad < 2)
			out[o++] = (uint8_t)(acc >> 8);
		if (i + 4 < n || pad < 1)
			out[o++] = (uint8_t)acc;
	}
	*olen = o;
	return 0;
}

int
techcred_response_parse(const char *line, size_t len,
    struct techcred_response *r, char *err, size_t errlen)
{
	const char *dot;
	size_t b64len;

	memset(r, 0, sizeof(*r));
	if (len > TECHCRED_RESPONSE_MAX)
		return fail(err, errlen, "response", "%zu bytes, over %d", len,
		    TECHCRED_RESPONSE_MAX);
	if (len < 5 || memcmp(line, "wgr1.", 5) != 0)
		return fail(err, errlen, "response", "does not start with 'wgr1.' "
		    "(paste the whole line wattgate-fleet tech-answer printed)");
	if (len < 5 + 1 + 2 * SIG_LEN ||
	    (dot = line + len - 2 * SIG_LEN - 1)[0] != '.')
		return fail(err, errlen, "response", "no '.' before the last %d "
		    "characters (the challenge's signature)", 2 * SIG_LEN);
	if (techcred_unhex(dot + 1, 2 * SIG_LEN, r->sig, SIG_LEN) < 0)
		return fail(err, errlen, "response", "signature: not %d lowercase "
		    "hex digits", 2 * SIG_LEN);
	b64len = (size_t)(dot - line) - 5;
	if (b64_decode(line + 5, b64len, r->cred, sizeof(r->cred),
	    &r->cred_len) < 0) {
		memset(r, 0, sizeof(*r));
		return fail(err, errlen, "response", "credential: not base64 of "
		    "at most %d bytes", TECHCRED_MAX);
	}
	return 0;
}

int
techcred_response_format(const uint8_t *cred, size_t len,
    const uint8_t sig[SIG_LEN], char *out, size_t cap)
{
	size_t need = 5 + (len + 2) / 3 * 4 + 1 + 2 * SIG_LEN + 1, i, o = 5;
	uint32_t acc;

	if (cap < need)
		return -ENOSPC;
	memcpy(out, "wgr1.", 5);
	for (i = 0; i < len; i += 3) {
		acc = (uint32_t)cred[i] << 16;
		if (i + 1 < len)
			acc |= (uint32_t)cred[i + 1] << 8;
		if (i + 2 < len)
			acc |= cred[i + 2];
		out[o++] = B64[acc >> 18 & 63];
		out[o++] = B64[acc >> 12 & 63];
		out[o++] = i + 1 < len ? B64[acc >> 6 & 63] : '=';
		out[o++] = i + 2 < len ? B64[acc & 63] : '=';
	}
	out[o++] = '.';
	techcred_hex(sig, SIG_LEN, out + o);
	return (int)(o + 2 * SIG_LEN);
}

int
techcred_check_answer(const struct techcred *tc, const char *challenge,
    size_t len, const uint8_t sig[SIG_LEN])
{
	struct cmd_pubkey *k;
	char err[64];
	int rc;

	if ((rc = sig_key_from_point("credential", tc->key, SIG_POINT_LEN, &k,
	    err, sizeof(err))) < 0)
		return rc == -ENOMEM ? rc : -EBADMSG;
	rc = sig_verify(k, (const uint8_t *)challenge, len, sig);
	cmd_pubkey_free(k);
	return rc;
}

int
techcred_challenge_format(const char *gw, const uint8_t nonce[TECHCRED_NONCE_LEN],
    int64_t t, char *out, size_t cap)
{
	char hex[2 * TECHCRED_NONCE_LEN + 1];
	int n;

	if (!codec_in_set(gw, strlen(gw), TECHCRED_GW_MAX, GW_SET) || t < 0 ||
	    t > TECHCRED_TIME_MAX)
		return -EINVAL;
	techcred_hex(nonce, TECHCRED_NONCE_LEN, hex);
	n = snprintf(out, cap, "wgc1 %s %s %" PRId64, gw, hex, t);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

int
techcred_challenge_parse(const char *s, size_t len, char *gw, int64_t *t,
    char *err, size_t errlen)
{
	uint8_t nonce[TECHCRED_NONCE_LEN];
	const char *p, *sp;
	size_t n;
	int64_t v = 0;

	if (len > TECHCRED_CHALLENGE_MAX || len < 5 || memcmp(s, "wgc1 ", 5) != 0)
		return fail(err, errlen, "challenge", "not 'wgc1 GATEWAY NONCE TIME' "
		    "of at most %d characters", TECHCRED_CHALLENGE_MAX);
	p = s + 5;
	if ((sp = memchr(p, ' ', len - 5)) == NULL ||
	    !codec_in_set(p, (size_t)(sp - p), TECHCRED_GW_MAX, GW_SET))
		return fail(err, errlen, "challenge", "gateway: not 1..%d characters "
		    "of [A-Za-z0-9._:-]", TECHCRED_GW_MAX);
	memcpy(gw, p, (size_t)(sp - p));
	gw[sp - p] = '\0';
	p = sp + 1;
	n = len - (size_t)(p - s);
	if (n < 2 * TECHCRED_NONCE_LEN + 2 || p[2 * TECHCRED_NONCE_LEN] != ' ' ||
	    techcred_unhex(p, 2 * TECHCRED_NONCE_LEN, nonce, sizeof(nonce)) < 0)
		return fail(err, errlen, "challenge", "nonce: not %d lowercase hex "
		    "digits", 2 * TECHCRED_NONCE_LEN);
	p += 2 * TECHCRED_NONCE_LEN + 1;
	n = len - (size_t)(p - s);
	if (n == 0 || n > 13 || (n > 1 && p[0] == '0'))
		return fail(err, errlen, "challenge", "time: not unix seconds");
	for (; n > 0; n--, p++) {
		if (*p < '0' || *p > '9')
			return fail(err, errlen, "challenge", "time: not unix seconds");
		v = v * 10 + (*p - '0');
	}
	if (v > TECHCRED_TIME_MAX)
		return fail(err, errlen, "challenge", "time: over 2^40");
	*t = v;
	return 0;
}
