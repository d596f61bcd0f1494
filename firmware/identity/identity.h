/*
 * Per-device identity (issue 4): the gateway's own ECDSA P-256 key, made on
 * the device at first start so no key ever ships in the repository or the
 * image, and a certificate signing request (CSR) for the fleet service.
 *
 * The key file is PEM (SEC1 "EC PRIVATE KEY"), mode 0600, created atomically
 * and never overwritten; it is read only through secret_read(), so a key that
 * group or others could read is refused. The key's bytes are never logged or
 * printed: what identifies it in logs is its fingerprint, the SHA-256 of the
 * public key's DER SubjectPublicKeyInfo in lowercase hex -- the same as
 *   openssl pkey -in KEY -pubout -outform DER | sha256sum
 * docs/identity.md.
 */
#ifndef WG_IDENTITY_H
#define WG_IDENTITY_H

#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "firmware/base/kconfig.h"

struct identity;
struct site_config;

#define IDENTITY_FP_HEX		65	/* 64 hex digits of SHA-256 and a NUL */
#define IDENTITY_CSR_MAX	2048	/* a P-256 CSR in PEM is ~500 bytes */
#define IDENTITY_CN_MAX		64	/* X.520 ub-common-name */

/*
 * Load the key at path, or create it if (and only if) nothing is there: the
 * parent directory is made if missing, the key is written to a temporary file
 * (O_CREAT|O_EXCL, 0600) in the same directory, fsynced, renamed into place
 * without replacing anything, and the directory fsynced; then it is read back
 * like any existing key. An existing file that is not an EC P-256 private key
 * is an error, never replaced. 0, or -errno with one line naming the path in
 * err. Free *id with identity_free.
 */
int identity_load_or_create(const char *path, struct identity **id, char *err,
    size_t errlen);
/* 1 if this call created the key file. */
int identity_created(const struct identity *id);
/* The fingerprint: 64 lowercase hex digits. */
const char *identity_fingerprint(const struct identity *id);
/*
 * A PEM CSR signed with the key (SHA-256), subject CN=cn,O=wattgate. cn is the
 * gateway id: 1..64 of A-Z a-z 0-9 . _ - (nothing that needs escaping in a
 * distinguished name). 0 or -errno with err set.
 */
int identity_csr(struct identity *id, const char *cn, char *pem, size_t cap,
    char *err, size_t errlen);
/* Wipes the key from memory. NULL is fine. */
void identity_free(struct identity *id);

/*
 * What the daemon and `wattgate --identity` do with a site config; compiled
 * only with CONFIG_IDENTITY, so a build without it has no mbedtls at all.
 */
#ifdef CONFIG_IDENTITY
/*
 * At daemon start, before any uplink connects: load or create the key named by
 * "identity_key" and log its path and fingerprint (nothing else of it). An error
 * is logged as one line and returned; the daemon goes on collecting readings
 * without an identity rather than stop measuring. The work runs in a child
 * process, so the daemon itself never holds the key or mbedtls's pages.
 */
int identity_start(const struct site_config *c);
/*
 * wattgate --identity: load or create the key and print the CSR PEM and
 * "fingerprint: sha256:HEX" to out. 0, or -errno with one line in err.
 */
int identity_print(const struct site_config *c, FILE *out, char *err,
    size_t errlen);
#else
static inline int
identity_start(const struct site_config *c)
{
	(void)c;
	return 0;
}

static inline int
identity_print(const struct site_config *c, FILE *out, char *err, size_t errlen)
{
	(void)c;
	(void)out;
	snprintf(err, errlen, "the device identity is not built into this image "
	    "(Kconfig IDENTITY)");
	return -ENOTSUP;
}
#endif

#endif
