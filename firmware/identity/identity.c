/*
 * The device key and its CSR, through mbedtls (2.28, Debian 12).
 *
 * Randomness: a CTR_DRBG seeded from mbedtls_entropy, whose platform source on
 * Linux is the getrandom() system call (blocking until the kernel pool is
 * initialised, which is what a key made in the first seconds after a first
 * boot needs), /dev/urandom only on kernels without it.
 */
#include "firmware/identity/identity.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_csr.h>

#include "firmware/codec/batch.h"
#include "firmware/base/secret.h"

#define KEY_PEM_MAX	1024	/* a P-256 SEC1 key in PEM is ~230 bytes */
#define SPKI_DER_MAX	160	/* a P-256 SubjectPublicKeyInfo is 91 bytes */

struct identity {
	mbedtls_pk_context pk;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
	int created;
	char fp[IDENTITY_FP_HEX];
};

/* "PATH: WHAT: mbedtls's reason". */
static int
mb_fail(char *err, size_t errlen, const char *path, const char *what, int mrc)
{
	char why[128];

	mbedtls_strerror(mrc, why, sizeof(why));
	snprintf(err, errlen, "%s: %s: %s", path, what, why);
	return mrc == MBEDTLS_ERR_PK_ALLOC_FAILED ? -ENOMEM : -EINVAL;
}

static int
rng_seed(struct identity *id, const char *path, char *err, size_t errlen)
{
	static const char pers[] = "wattgate identity";
	int mrc;

	mrc = mbedtls_ctr_drbg_seed(&id->drbg, mbedtls_entropy_func, &id->entropy,
	    (const unsigned char *)pers, sizeof(pers) - 1);
	if (mrc != 0)
		return mb_fail(err, errlen, path, "seeding the random generator", mrc);
	return 0;
}

/* The store makes its directory the same way (0750; the key itself is 0600). */
static int
make_parent(const char *path, char *err, size_t errlen)
{
	char dir[PATH_MAX];
	char *p;
	int last;

	if (strlen(path) >= sizeof(dir)) {
		/* Bounded as in ota/board.c: on 32-bit ARM, gcc -O3 sees a
		 * path of PATH_MAX or more take snprintf's result past INT_MAX. */
		snprintf(err, errlen, "%.64s...: path too long", path);
		return -ENAMETOOLONG;
	}
	strcpy(dir, path);
	if ((p = strrchr(dir, '/')) == NULL || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		last = *p == '\0';
		*p = '\0';
		if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
			int e = errno;

			snprintf(err, errlen, "%s: creating %s: %s", path, dir, strerror(e));
			return -e;
		}
		if (last)
			return 0;
		*p = '/';
	}
}

static int
fsync_dir(const char *path)
{
	char dir[PATH_MAX];
	char *p;
	int fd, rc = 0;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((p = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (p == dir)
		p[1] = '\0';
	else
		*p = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -errno;
	if (fsync(fd) == -1)
		rc = -errno;
	close(fd);
	return rc;
}

/*
 * Put the PEM at path so that a power cut leaves either no key or the whole
 * key, and so that a key that appeared meanwhile (another wattgate --identity)
 * is kept: renameat2(RENAME_NOREPLACE) fails with EEXIST instead of replacing
 * it. Filesystems without that flag (EINVAL) get link()+unlink(), which has
 * the same no-replace property. -EEXIST tells the caller to load what is there.
 */
static int
write_atomic(const char *path, const unsigned char *pem, size_t len, char *err,
    size_t errlen)
{
	char tmp[PATH_MAX];
	size_t off = 0;
	ssize_t n;
	int fd, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -ENAMETOOLONG;
	}
	/* mkostemp: O_CREAT|O_EXCL, mode 0600, a name nobody else holds. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: creating a temporary key file: %s", path,
		    strerror(-rc));
		return rc;
	}
	while (off < len) {
		if ((n = write(fd, pem + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			snprintf(err, errlen, "%s: writing the key: %s", tmp, strerror(-rc));
			goto fail;
		}
		off += (size_t)n;
	}
	if (fsync(fd) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: fsync: %s", tmp, strerror(-rc));
		goto fail;
	}
	if (close(fd) == -1) {
		fd = -1;
		rc = -errno;
		snprintf(err, errlen, "%s: close: %s", tmp, strerror(-rc));
		goto fail;
	}
	fd = -1;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == -1) {
		rc = -errno;
		if (rc == -EINVAL) {
			rc = link(tmp, path) == -1 ? -errno : 0;
			unlink(tmp);
		}
		if (rc < 0) {
			if (rc != -EEXIST)
				snprintf(err, errlen, "%s: %s", path, strerror(-rc));
			goto fail;
		}
	}
	if ((rc = fsync_dir(path)) < 0) {
		snprintf(err, errlen, "%s: fsync of its directory: %s", path,
		    strerror(-rc));
		return rc;
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

static int
create_key(struct identity *id, const char *path, char *err, size_t errlen)
{
	unsigned char pem[KEY_PEM_MAX];
	int mrc, rc;

	if ((rc = make_parent(path, err, errlen)) < 0)
		return rc;
	if ((mrc = mbedtls_pk_setup(&id->pk,
	    mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY))) != 0 ||
	    (mrc = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(id->pk),
	    mbedtls_ctr_drbg_random, &id->drbg)) != 0)
		return mb_fail(err, errlen, path, "generating a P-256 key", mrc);
	if ((mrc = mbedtls_pk_write_key_pem(&id->pk, pem, sizeof(pem))) != 0)
		return mb_fail(err, errlen, path, "encoding the key", mrc);
	rc = write_atomic(path, pem, strlen((char *)pem), err, errlen);
	mbedtls_platform_zeroize(pem, sizeof(pem));
	/* Whatever is on disk now is loaded back: that is the identity. */
	mbedtls_pk_free(&id->pk);
	mbedtls_pk_init(&id->pk);
	return rc;
}

/* The key must be usable as this gateway's identity: EC, P-256, consistent. */
static int
check_key(const char *path, mbedtls_pk_context *pk, char *err, size_t errlen)
{
	const mbedtls_ecp_keypair *ec;
	int mrc;

	if (mbedtls_pk_get_type(pk) != MBEDTLS_PK_ECKEY) {
		snprintf(err, errlen, "%s: key type %s, not EC P-256: refused", path,
		    mbedtls_pk_get_name(pk));
		return -EINVAL;
	}
	ec = mbedtls_pk_ec(*pk);
	if (ec->grp.id != MBEDTLS_ECP_DP_SECP256R1) {
		const mbedtls_ecp_curve_info *ci =
		    mbedtls_ecp_curve_info_from_grp_id(ec->grp.id);

		snprintf(err, errlen, "%s: an EC key on curve %s, not P-256 "
		    "(secp256r1): refused", path, ci != NULL ? ci->name : "unknown");
		return -EINVAL;
	}
	/* d in range, Q on the curve and Q = d*G: a flipped bit shows here. */
	if ((mrc = mbedtls_ecp_check_privkey(&ec->grp, &ec->d)) != 0 ||
	    (mrc = mbedtls_ecp_check_pubkey(&ec->grp, &ec->Q)) != 0 ||
	    (mrc = mbedtls_pk_check_pair(pk, pk)) != 0)
		return mb_fail(err, errlen, path, "damaged key (refused, not replaced)",
		    mrc);
	return 0;
}

static int
load_key(struct identity *id, const char *path, char *err, size_t errlen)
{
	char *buf;
	size_t len, plen;
	int mrc, rc;

	if ((rc = secret_read(path, &buf, &len, err, errlen)) < 0)
		return rc;
	/* mbedtls takes PEM with its terminating NUL counted, DER without. */
	plen = strstr(buf, "-----BEGIN") != NULL ? len + 1 : len;
	if (len == 0) {
		snprintf(err, errlen, "%s: empty: not a key; refusing to replace an "
		    "existing identity (move the file away to create a new one)", path);
		rc = -EINVAL;
	} else if ((mrc = mbedtls_pk_parse_key(&id->pk, (unsigned char *)buf, plen,
	    NULL, 0)) != 0) {
		if (mrc == MBEDTLS_ERR_PK_PASSWORD_REQUIRED)
			snprintf(err, errlen, "%s: the key is encrypted with a password; "
			    "the daemon cannot unlock it: refused", path);
		else
			mb_fail(err, errlen, path, "not a readable private key; refusing "
			    "to replace an existing identity (move the file away to "
			    "create a new one)", mrc);
		rc = -EINVAL;
	} else
		rc = check_key(path, &id->pk, err, errlen);
	secret_free(buf, len + 1);
	return rc;
}

static int
fingerprint(struct identity *id, const char *path, char *err, size_t errlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char der[SPKI_DER_MAX], md[32];
	int n, i;

	/* mbedtls writes DER backwards, from the end of the buffer. */
	if ((n = mbedtls_pk_write_pubkey_der(&id->pk, der, sizeof(der))) < 0)
		return mb_fail(err, errlen, path, "encoding the public key", n);
	if ((i = mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256),
	    der + sizeof(der) - n, (size_t)n, md)) != 0)
		return mb_fail(err, errlen, path, "SHA-256", i);
	for (i = 0; i < 32; i++) {
		id->fp[2 * i] = hex[md[i] >> 4];
		id->fp[2 * i + 1] = hex[md[i] & 15];
	}
	id->fp[64] = '\0';
	return 0;
}

int
identity_load_or_create(const char *path, struct identity **idp, char *err,
    size_t errlen)
{
	struct identity *id;
	struct stat sb;
	int rc;

	*idp = NULL;
	if ((id = calloc(1, sizeof(*id))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	mbedtls_pk_init(&id->pk);
	mbedtls_entropy_init(&id->entropy);
	mbedtls_ctr_drbg_init(&id->drbg);
	if ((rc = rng_seed(id, path, err, errlen)) < 0)
		goto fail;
	/*
	 * lstat: anything at path -- a file, a dangling symlink, a directory -- is
	 * the identity or a problem to report, never a place to create one.
	 */
	if (lstat(path, &sb) == -1) {
		if (errno != ENOENT) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
			goto fail;
		}
		rc = create_key(id, path, err, errlen);
		if (rc < 0 && rc != -EEXIST)
			goto fail;
		id->created = rc == 0;
	}
	if ((rc = load_key(id, path, err, errlen)) < 0 ||
	    (rc = fingerprint(id, path, err, errlen)) < 0)
		goto fail;
	*idp = id;
	return 0;
fail:
	identity_free(id);
	return rc;
}

int
identity_created(const struct identity *id)
{
	return id->created;
}

const char *
identity_fingerprint(const struct identity *id)
{
	return id->fp;
}

int
identity_csr(struct identity *id, const char *cn, char *pem, size_t cap,
    char *err, size_t errlen)
{
	mbedtls_x509write_csr req;
	char subject[IDENTITY_CN_MAX + 32];
	int mrc;

	/*
	 * The gateway id rules (batch_gw_valid) leave nothing that a DN string would
	 * have to escape (, = + \ " < > ; #), so the subject cannot be injected into.
	 */
	if (strlen(cn) > IDENTITY_CN_MAX || !batch_gw_valid(cn)) {
		snprintf(err, errlen, "CSR: common name '%.*s' is not a gateway id "
		    "(1..%d of A-Z a-z 0-9 . _ -)", IDENTITY_CN_MAX, cn,
		    IDENTITY_CN_MAX);
		return -EINVAL;
	}
	snprintf(subject, sizeof(subject), "CN=%s,O=wattgate", cn);
	mbedtls_x509write_csr_init(&req);
	mbedtls_x509write_csr_set_md_alg(&req, MBEDTLS_MD_SHA256);
	mbedtls_x509write_csr_set_key(&req, &id->pk);
	if ((mrc = mbedtls_x509write_csr_set_subject_name(&req, subject)) != 0 ||
	    (mrc = mbedtls_x509write_csr_set_key_usage(&req,
	    MBEDTLS_X509_KU_DIGITAL_SIGNATURE)) != 0 ||
	    (mrc = mbedtls_x509write_csr_pem(&req, (unsigned char *)pem, cap,
	    mbedtls_ctr_drbg_random, &id->drbg)) != 0) {
		mbedtls_x509write_csr_free(&req);
		return mb_fail(err, errlen, "CSR", subject, mrc);
	}
	mbedtls_x509write_csr_free(&req);
	return 0;
}

void
identity_free(struct identity *id)
{
	if (id == NULL)
		return;
	mbedtls_pk_free(&id->pk);	/* zeroizes the private scalar */
	mbedtls_ctr_drbg_free(&id->drbg);
	mbedtls_entropy_free(&id->entropy);
	mbedtls_platform_zeroize(id, sizeof(*id));
	free(id);
}
