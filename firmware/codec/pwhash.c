/*
 * PBKDF2-HMAC-SHA256 for the console password (pwhash.h).
 *
 * The comparison is mbedtls_ct_memcmp: how long a wrong guess takes must
 * not tell how many of its hash's bytes were right. That matters little
 * behind 0.5 s of PBKDF2, but costs nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/constant_time.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>

#include "firmware/base/jcheck.h"
#include "firmware/codec/codec_err.h"
#include "firmware/codec/pwhash.h"
#include "firmware/codec/techcred.h"

int
pwhash_derive(const char *pw, size_t pwlen, const uint8_t *salt,
    size_t salt_len, uint32_t iterations, uint8_t out[PWHASH_LEN])
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	mbedtls_md_context_t ctx;
	int mrc;

	if (md == NULL || iterations == 0)
		return -EINVAL;
	mbedtls_md_init(&ctx);
	if ((mrc = mbedtls_md_setup(&ctx, md, 1)) == 0)
		mrc = mbedtls_pkcs5_pbkdf2_hmac(&ctx, (const unsigned char *)pw,
		    pwlen, salt, salt_len, iterations, PWHASH_LEN, out);
	mbedtls_md_free(&ctx);
	if (mrc == MBEDTLS_ERR_MD_ALLOC_FAILED)
		return -ENOMEM;
	return mrc == 0 ? 0 : -EINVAL;
}

int
pwhash_check(const struct pwhash *h, const char *pw, size_t pwlen)
{
	uint8_t got[PWHASH_LEN];
	int rc;

	if ((rc = pwhash_derive(pw, pwlen, h->salt, h->salt_len, h->iterations,
	    got)) < 0)
		return rc;
	rc = mbedtls_ct_memcmp(got, h->hash, PWHASH_LEN) == 0 ? 0 : -EACCES;
	mbedtls_platform_zeroize(got, sizeof(got));
	return rc;
}

__attribute__((format(printf, 4, 5)))
static int
fail(char *err, size_t errlen, const char *who, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = codec_vfail(err, errlen, who, -EINVAL, fmt, ap);
	va_end(ap);
	return rc;
}

/* A hex member of min..max bytes into p; *n its length. */
static int
get_hex(const char *who, json_t *o, const char *key, size_t min, size_t max,
    uint8_t *p, size_t *n, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);
	size_t len = json_string_length(v);

	if (v == NULL)
		return fail(err, errlen, who, "%s: missing", key);
	if (!json_is_string(v) || len % 2 != 0 || len < 2 * min ||
	    len > 2 * max || techcred_unhex(json_string_value(v), len, p,
	    len / 2) < 0) {
		if (min == max)
			return fail(err, errlen, who, "%s: not %zu lowercase hex "
			    "digits (%zu bytes)", key, 2 * min, min);
		return fail(err, errlen, who, "%s: not %zu..%zu lowercase hex "
		    "digits (%zu..%zu bytes)", key, 2 * min, 2 * max, min, max);
	}
	*n = len / 2;
	return 0;
}

int
pwhash_from_json(const char *who, json_t *o, struct pwhash *h, char *err,
    size_t errlen)
{
	static const char *const known[] = { "salt", "iterations", "hash", NULL };
	char shown[41];
	const char *key;
	size_t i, n;
	json_t *v;
	int rc;

	memset(h, 0, sizeof(*h));
	if (!json_is_object(o))
		return fail(err, errlen, who, "not a JSON object");
	json_object_foreach(o, key, v) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] == NULL)
			return fail(err, errlen, who, "%s: unknown member",
			    jc_shown(key, shown, sizeof(shown)));
	}
	if ((rc = get_hex(who, o, "salt", PWHASH_SALT_MIN, PWHASH_SALT_MAX,
	    h->salt, &h->salt_len, err, errlen)) < 0 ||
	    (rc = get_hex(who, o, "hash", PWHASH_LEN, PWHASH_LEN, h->hash, &n,
	    err, errlen)) < 0)
		return rc;
	v = json_object_get(o, "iterations");
	if (v == NULL)
		return fail(err, errlen, who, "iterations: missing");
	if (!json_is_integer(v) || json_integer_value(v) < PWHASH_ITER_MIN ||
	    json_integer_value(v) > PWHASH_ITER_MAX)
		return fail(err, errlen, who, "iterations: not an integer in "
		    "%d..%d", PWHASH_ITER_MIN, PWHASH_ITER_MAX);
	h->iterations = (uint32_t)json_integer_value(v);
	return 0;
}

json_t *
pwhash_to_json(const struct pwhash *h)
{
	char salt[2 * PWHASH_SALT_MAX + 1], hash[2 * PWHASH_LEN + 1];

	techcred_hex(h->salt, h->salt_len, salt);
	techcred_hex(h->hash, PWHASH_LEN, hash);
	return json_pack("{s:s,s:I,s:s}", "salt", salt, "iterations",
	    (json_int_t)h->iterations, "hash", hash);
}
