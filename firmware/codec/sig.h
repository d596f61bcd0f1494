/*
 * ECDSA P-256 signatures over SHA-256, as every signed format of wattgate
 * has them: signed commands (command.h) and OTA manifests (manifest.h). Pure:
 * the caller reads the key file; no clock, no I/O.
 *
 *   sig = 64 bytes: r || s, each 32 bytes big-endian;
 *         ECDSA P-256 over SHA-256(message)
 *
 * The key type keeps the name of its first user (struct cmd_pubkey): the
 * control plane holds one, and the release key of OTA is the same kind of
 * key, loaded by the same function under another name in its errors.
 */
#ifndef WG_SIG_H
#define WG_SIG_H

#include <stddef.h>
#include <stdint.h>

#define SIG_LEN		64

/* An EC P-256 public key. */
struct cmd_pubkey;

/*
 * A public key from PEM text (SubjectPublicKeyInfo, "BEGIN PUBLIC KEY"),
 * len bytes, NUL not needed. Anything but EC P-256 is refused; errors name
 * the format the key is for: "WHO: key: not an EC P-256 public key".
 * 0, -EINVAL or -ENOMEM.
 */
int sig_key_load_public(const char *who, const char *pem, size_t len,
    struct cmd_pubkey **out, char *err, size_t errlen);
void cmd_pubkey_free(struct cmd_pubkey *k);

/*
 * A public key from its uncompressed point (0x04 || X || Y, SIG_POINT_LEN
 * bytes), as a technician credential carries it (techcred.h); the point
 * must be on P-256: "WHO: key: not a P-256 point". 0, -EINVAL or -ENOMEM.
 */
#define SIG_POINT_LEN	65
int sig_key_from_point(const char *who, const uint8_t *pt, size_t len,
    struct cmd_pubkey **out, char *err, size_t errlen);
/* k's uncompressed point into pt: 0, or -EINVAL. */
int sig_key_point(const struct cmd_pubkey *k, uint8_t pt[SIG_POINT_LEN]);

/*
 * 0 if sig is k's ECDSA signature of SHA-256(msg[len]), else -EBADMSG (r or
 * s of 0 or not below the group order included); -EINVAL for a NULL
 * argument; -ENOMEM if mbedtls could not allocate.
 */
int sig_verify(const struct cmd_pubkey *k, const uint8_t *msg, size_t len,
    const uint8_t sig[SIG_LEN]);

#endif
