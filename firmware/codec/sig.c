/*
 * ECDSA P-256 public keys and signature checks through mbedtls 2.28
 * (sig.h), shared by signed commands and OTA manifests so that both formats
 * are checked by the same few lines.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>

#include "firmware/codec/sig.h"

struct cmd_pubkey {
	mbedtls_ecp_point Q;
};

static int
mb_rc(int mrc)
{
	return mrc == MBEDTLS_ERR_PK_ALLOC_FAILED ||
	    mrc == MBEDTLS_ERR_MPI_ALLOC_FAILED ||
	    mrc == MBEDTLS_ERR_ECP_ALLOC_FAILED ? -ENOMEM : -EINVAL;
}

/*
 * mbedtls reads PEM only from a NUL-terminated buffer whose length counts
 * the NUL; the caller's text need not have one, so it is copied. Only the
 * point is kept: the curve is always P-256, loaded at each check.
 */
int
sig_key_load_public(const char *who, const char *pem, size_t len,
    struct cmd_pubkey **out, char *err, size_t errlen)
{
	mbedtls_pk_context pk;
	const mbedtls_ecp_keypair *ec;
	struct cmd_pubkey *k = NULL;
	unsigned char *buf;
	char why[128];
	int mrc, rc = 0;

	*out = NULL;
	if ((buf = malloc(len + 1)) == NULL)
		return -ENOMEM;
	memcpy(buf, pem, len);
	buf[len] = '\0';
	mbedtls_pk_init(&pk);
	if ((mrc = mbedtls_pk_parse_public_key(&pk, buf, len + 1)) != 0) {
		mbedtls_strerror(mrc, why, sizeof(why));
		if ((rc = mb_rc(mrc)) != -ENOMEM)
			snprintf(err, errlen, "%s: key: not a PEM public key (%s)",
			    who, why);
		goto out;
	}
	ec = mbedtls_pk_get_type(&pk) == MBEDTLS_PK_ECKEY ? mbedtls_pk_ec(pk) :
	    NULL;
	if (ec == NULL || ec->grp.id != MBEDTLS_ECP_DP_SECP256R1 ||
	    mbedtls_ecp_check_pubkey(&ec->grp, &ec->Q) != 0) {
		snprintf(err, errlen, "%s: key: not an EC P-256 public key", who);
		rc = -EINVAL;
		goto out;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	mbedtls_ecp_point_init(&k->Q);
	if ((mrc = mbedtls_ecp_copy(&k->Q, &ec->Q)) != 0) {
		rc = mb_rc(mrc);
		snprintf(err, errlen, "%s: key: out of memory", who);
		cmd_pubkey_free(k);
		goto out;
	}
	*out = k;
out:
	mbedtls_pk_free(&pk);
	free(buf);
	return rc;
}

void
cmd_pubkey_free(struct cmd_pubkey *k)
{
	if (k == NULL)
		return;
	mbedtls_ecp_point_free(&k->Q);
	free(k);
}

/*
 * The point is checked on the curve here, once, so that a credential with
 * a point that is not one is refused by name rather than failing every
 * signature check later.
 */
int
sig_key_from_point(const char *who, const uint8_t *pt, size_t len,
    struct cmd_pubkey **out, char *err, size_t errlen)
{
	mbedtls_ecp_group grp;
	struct cmd_pubkey *k;
	int mrc, rc = 0;

	*out = NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return -ENOMEM;
	mbedtls_ecp_point_init(&k->Q);
	mbedtls_ecp_group_init(&grp);
	if ((mrc = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1)) != 0) {
		rc = mb_rc(mrc);
		snprintf(err, errlen, "%s: key: cannot load P-256", who);
	} else if (len != SIG_POINT_LEN || pt[0] != 0x04 ||
	    mbedtls_ecp_point_read_binary(&grp, &k->Q, pt, len) != 0 ||
	    mbedtls_ecp_check_pubkey(&grp, &k->Q) != 0) {
		rc = -EINVAL;
		snprintf(err, errlen, "%s: key: not a P-256 point", who);
	}
	mbedtls_ecp_group_free(&grp);
	if (rc < 0)
		cmd_pubkey_free(k);
	else
		*out = k;
	return rc;
}

int
sig_key_point(const struct cmd_pubkey *k, uint8_t pt[SIG_POINT_LEN])
{
	mbedtls_ecp_group grp;
	size_t olen = 0;
	int mrc;

	mbedtls_ecp_group_init(&grp);
	mrc = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1);
	if (mrc == 0)
		mrc = mbedtls_ecp_point_write_binary(&grp, &k->Q,
		    MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, pt, SIG_POINT_LEN);
	mbedtls_ecp_group_free(&grp);
	return mrc == 0 && olen == SIG_POINT_LEN ? 0 : -EINVAL;
}

/*
 * r and s are checked against the group order here as well as inside
 * mbedtls: the range is part of the format, not of one library's version.
 * The group is loaded per call (its tables are static in mbedtls 2.28), so
 * a const key can be shared by threads.
 */
int
sig_verify(const struct cmd_pubkey *k, const uint8_t *msg, size_t len,
    const uint8_t sig[SIG_LEN])
{
	unsigned char hash[32];
	mbedtls_ecp_group grp;
	mbedtls_mpi r, s;
	int mrc, rc = -EBADMSG;

	if (k == NULL || msg == NULL || sig == NULL)
		return -EINVAL;
	if (mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), msg, len,
	    hash) != 0)
		return -EINVAL;
	mbedtls_ecp_group_init(&grp);
	mbedtls_mpi_init(&r);
	mbedtls_mpi_init(&s);
	if ((mrc = mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1)) != 0 ||
	    (mrc = mbedtls_mpi_read_binary(&r, sig, 32)) != 0 ||
	    (mrc = mbedtls_mpi_read_binary(&s, sig + 32, 32)) != 0) {
		rc = mb_rc(mrc) == -ENOMEM ? -ENOMEM : -EBADMSG;
		goto out;
	}
	if (mbedtls_mpi_cmp_int(&r, 0) <= 0 || mbedtls_mpi_cmp_int(&s, 0) <= 0 ||
	    mbedtls_mpi_cmp_mpi(&r, &grp.N) >= 0 ||
	    mbedtls_mpi_cmp_mpi(&s, &grp.N) >= 0)
		goto out;
	mrc = mbedtls_ecdsa_verify(&grp, hash, sizeof(hash), &k->Q, &r, &s);
	if (mrc == 0)
		rc = 0;
	else if (mb_rc(mrc) == -ENOMEM)
		rc = -ENOMEM;
out:
	mbedtls_mpi_free(&r);
	mbedtls_mpi_free(&s);
	mbedtls_ecp_group_free(&grp);
	return rc;
}
