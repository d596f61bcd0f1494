/*
 * Signing with a fleet or release key through mbedtls 2.28 (signer.h).
 *
 * The CTR_DRBG, seeded from mbedtls_entropy (getrandom on Linux), makes keys
 * and command ids, and blinds the scalar arithmetic of signing; the
 * signature itself is RFC 6979's, a function of key and hash alone.
 */
#include "tools/lib/signer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>

#include "firmware/codec/command.h"
#include "firmware/codec/manifest.h"

struct signer {
	mbedtls_pk_context pk;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

static int
mb_fail(char *err, size_t errlen, const char *what, int mrc)
{
	char why[128];

	mbedtls_strerror(mrc, why, sizeof(why));
	snprintf(err, errlen, "signer: %s: %s", what, why);
	return mrc == MBEDTLS_ERR_PK_ALLOC_FAILED ||
	    mrc == MBEDTLS_ERR_MPI_ALLOC_FAILED ||
	    mrc == MBEDTLS_ERR_ECP_ALLOC_FAILED ? -ENOMEM : -EINVAL;
}

static int
signer_new(struct signer **out, char *err, size_t errlen)
{
	static const char pers[] = "wattgate fleet signer";
	struct signer *s;
	int mrc;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "signer: out of memory");
		return -ENOMEM;
	}
	mbedtls_pk_init(&s->pk);
	mbedtls_entropy_init(&s->entropy);
	mbedtls_ctr_drbg_init(&s->drbg);
	if ((mrc = mbedtls_ctr_drbg_seed(&s->drbg, mbedtls_entropy_func,
	    &s->entropy, (const unsigned char *)pers, sizeof(pers) - 1)) != 0) {
		signer_free(s);
		return mb_fail(err, errlen, "seeding the random generator", mrc);
	}
	*out = s;
	return 0;
}

int
signer_generate(struct signer **out, char *err, size_t errlen)
{
	struct signer *s;
	int mrc, rc;

	*out = NULL;
	if ((rc = signer_new(&s, err, errlen)) < 0)
		return rc;
	if ((mrc = mbedtls_pk_setup(&s->pk,
	    mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) != 0 ||
	    (mrc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1,
	    mbedtls_pk_ec(s->pk), mbedtls_ctr_drbg_random, &s->drbg)) != 0) {
		signer_free(s);
		return mb_fail(err, errlen, "generating a P-256 key", mrc);
	}
	*out = s;
	return 0;
}

/*
 * A key the fleet signs with must be the one its gateways hold the public
 * half of: EC, P-256, and internally consistent (a damaged file shows here
 * rather than as gateways that refuse every command).
 */
int
signer_load(const char *pem, size_t len, struct signer **out, char *err,
    size_t errlen)
{
	const mbedtls_ecp_keypair *ec;
	unsigned char *buf;
	struct signer *s;
	int mrc, rc;

	*out = NULL;
	if ((rc = signer_new(&s, err, errlen)) < 0)
		return rc;
	if ((buf = malloc(len + 1)) == NULL) {
		signer_free(s);
		snprintf(err, errlen, "signer: out of memory");
		return -ENOMEM;
	}
	memcpy(buf, pem, len);
	buf[len] = '\0';
	mrc = mbedtls_pk_parse_key(&s->pk, buf, len + 1, NULL, 0);
	mbedtls_platform_zeroize(buf, len + 1);
	free(buf);
	if (mrc != 0) {
		signer_free(s);
		return mb_fail(err, errlen, "key: not a PEM private key", mrc);
	}
	ec = mbedtls_pk_get_type(&s->pk) == MBEDTLS_PK_ECKEY ?
	    mbedtls_pk_ec(s->pk) : NULL;
	if (ec == NULL || ec->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
		signer_free(s);
		snprintf(err, errlen, "signer: key: not an EC P-256 private key");
		return -EINVAL;
	}
	if ((mrc = mbedtls_ecp_check_privkey(&ec->grp, &ec->d)) != 0 ||
	    (mrc = mbedtls_ecp_check_pubkey(&ec->grp, &ec->Q)) != 0 ||
	    (mrc = mbedtls_pk_check_pair(&s->pk, &s->pk)) != 0) {
		signer_free(s);
		return mb_fail(err, errlen, "key: damaged", mrc);
	}
	*out = s;
	return 0;
}

void
signer_free(struct signer *s)
{
	if (s == NULL)
		return;
	mbedtls_pk_free(&s->pk);	/* zeroizes the private scalar */
	mbedtls_ctr_drbg_free(&s->drbg);
	mbedtls_entropy_free(&s->entropy);
	free(s);
}

int
signer_pem_private(const struct signer *s, char *pem, size_t cap)
{
	/* mbedtls's writers take a non-const context they do not change. */
	mbedtls_pk_context *pk = (mbedtls_pk_context *)&s->pk;

	return mbedtls_pk_write_key_pem(pk, (unsigned char *)pem, cap) != 0 ?
	    -ENOSPC : 0;
}

int
signer_pem_public(const struct signer *s, char *pem, size_t cap)
{
	mbedtls_pk_context *pk = (mbedtls_pk_context *)&s->pk;

	return mbedtls_pk_write_pubkey_pem(pk, (unsigned char *)pem, cap) != 0 ?
	    -ENOSPC : 0;
}

int
signer_random(struct signer *s, uint8_t *buf, size_t len)
{
	return mbedtls_ctr_drbg_random(&s->drbg, buf, len) != 0 ? -EIO : 0;
}

/* r || s of SHA-256(body), each 32 bytes big-endian, as sig_verify reads them. */
int
signer_sign(struct signer *s, const uint8_t *body, size_t len, uint8_t sig[64],
    char *err, size_t errlen)
{
	mbedtls_ecp_keypair *ec = mbedtls_pk_ec(s->pk);
	unsigned char hash[32];
	mbedtls_mpi r, sv;
	int mrc;

	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&sv);
	if ((mrc = mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), body,
	    len, hash)) != 0 ||
	    (mrc = mbedtls_ecdsa_sign_det_ext(&ec->grp, &r, &sv, &ec->d, hash,
	    sizeof(hash), MBEDTLS_MD_SHA256, mbedtls_ctr_drbg_random,
	    &s->drbg)) != 0 ||
	    (mrc = mbedtls_mpi_write_binary(&r, sig, 32)) != 0 ||
	    (mrc = mbedtls_mpi_write_binary(&sv, sig + 32, 32)) != 0) {
		mbedtls_mpi_free(&r);
		mbedtls_mpi_free(&sv);
		return mb_fail(err, errlen, "signing", mrc);
	}
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&sv);
	return 0;
}

int
signer_frame(struct signer *s, const uint8_t *body, size_t body_len,
    uint8_t *frame, size_t cap, size_t *flen, char *err, size_t errlen)
{
	int rc;

	if (body_len < CMD_BODY_MIN || body_len > CMD_BODY_MAX) {
		snprintf(err, errlen, "signer: body of %zu bytes, not %d..%d",
		    body_len, CMD_BODY_MIN, CMD_BODY_MAX);
		return -EINVAL;
	}
	if (memchr(body, '\n', body_len) != NULL) {
		snprintf(err, errlen, "signer: body: has an LF (not compact JSON)");
		return -EINVAL;
	}
	if (cap < body_len + 1 + CMD_SIG_LEN) {
		snprintf(err, errlen, "signer: frame: %zu bytes of room, %zu needed",
		    cap, body_len + 1 + CMD_SIG_LEN);
		return -ENOSPC;
	}
	if ((rc = signer_sign(s, body, body_len, frame + body_len + 1, err,
	    errlen)) < 0)
		return rc;
	memmove(frame, body, body_len);
	frame[body_len] = '\n';
	*flen = body_len + 1 + CMD_SIG_LEN;
	return 0;
}

/*
 * Lengths and the LF are checked as signer_frame checks them; what differs
 * is the signature's spelling (hex, so that the manifest is text a fleet
 * can put in a JSON command) and the LF after it (the image's offset).
 */
int
signer_manifest(struct signer *s, const uint8_t *body, size_t body_len,
    uint8_t *text, size_t cap, size_t *tlen, char *err, size_t errlen)
{
	uint8_t sig[SIG_LEN];
	size_t i;
	int rc;

	if (body_len < 2 || body_len > MANIFEST_BODY_MAX) {
		snprintf(err, errlen, "signer: manifest: body of %zu bytes, not "
		    "2..%d", body_len, MANIFEST_BODY_MAX);
		return -EINVAL;
	}
	if (memchr(body, '\n', body_len) != NULL) {
		snprintf(err, errlen, "signer: manifest: body has an LF (not "
		    "compact JSON)");
		return -EINVAL;
	}
	if (cap < body_len + 1 + MANIFEST_SIG_HEX + 1) {
		snprintf(err, errlen, "signer: manifest: %zu bytes of room, %zu "
		    "needed", cap, body_len + 1 + MANIFEST_SIG_HEX + 1);
		return -ENOSPC;
	}
	if ((rc = signer_sign(s, body, body_len, sig, err, errlen)) < 0)
		return rc;
	memmove(text, body, body_len);
	text[body_len] = '\n';
	for (i = 0; i < SIG_LEN; i++)
		snprintf((char *)text + body_len + 1 + 2 * i, 3, "%02x", sig[i]);
	text[body_len + 1 + MANIFEST_SIG_HEX] = '\n';
	*tlen = body_len + 1 + MANIFEST_SIG_HEX + 1;
	return 0;
}
