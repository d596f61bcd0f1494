/*
 * The console's per-device password (issue 16, docs/console.md "Login"),
 * kept only as a slow salted hash: PBKDF2-HMAC-SHA256 (RFC 8018) through
 * mbedtls. Shared by the daemon (the console.password command, the login
 * check) and wattgate-fleet password-hash, so that both derive the same
 * bytes. Pure: no I/O; the derivation is slow on purpose (0.5 s at 100,000
 * iterations on a 1 GHz ARM), so the daemon runs it off its loop.
 *
 *   {"salt": HEX (16..64 bytes), "iterations": 100000..10000000,
 *    "hash": HEX (32 bytes)}
 */
#ifndef WG_PWHASH_H
#define WG_PWHASH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define PWHASH_SALT_MIN		16
#define PWHASH_SALT_MAX		64
#define PWHASH_ITER_MIN		100000
#define PWHASH_ITER_MAX		10000000
#define PWHASH_LEN		32
/* A password goes through the console as one request argument. */
#define PWHASH_PASSWORD_MAX	1024

struct pwhash {
	uint8_t salt[PWHASH_SALT_MAX];
	size_t salt_len;
	uint32_t iterations;
	uint8_t hash[PWHASH_LEN];
};

/*
 * PBKDF2-HMAC-SHA256 of pw[pwlen] with salt, iterations rounds, 32 bytes
 * into out. No policy here (the RFC's test vectors have 4-byte salts).
 * 0, -EINVAL, -ENOMEM.
 */
int pwhash_derive(const char *pw, size_t pwlen, const uint8_t *salt,
    size_t salt_len, uint32_t iterations, uint8_t out[PWHASH_LEN]);

/*
 * 0 if pw derives h's hash (compared in constant time), -EACCES if not,
 * -ENOMEM/-EINVAL if it could not be derived.
 */
int pwhash_check(const struct pwhash *h, const char *pw, size_t pwlen);

/*
 * o (an object of exactly salt, iterations, hash, within the limits above)
 * into *h. 0, or -EINVAL with "WHO: MEMBER: WHAT" in err.
 */
int pwhash_from_json(const char *who, json_t *o, struct pwhash *h, char *err,
    size_t errlen);
/* h as a JSON object, members in the order above; NULL: no memory. */
json_t *pwhash_to_json(const struct pwhash *h);

#endif
