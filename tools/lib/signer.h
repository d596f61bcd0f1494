/*
 * The signing side of wattgate's signed formats: the private key, made or
 * loaded, and what is signed with it: command frames (docs/commands.md,
 * wattgate-fleet) and OTA manifests (docs/ota.md, wattgate-sign). Only tools
 * link this; the gateway never signs (firmware/codec/sig.h checks).
 *
 * Signatures are deterministic (RFC 6979): the same key and body give the
 * same frame, so a frame can be made again and compared, and no signature
 * depends on the quality of a random source at signing time.
 */
#ifndef WG_TOOLS_SIGNER_H
#define WG_TOOLS_SIGNER_H

#include <stddef.h>
#include <stdint.h>

/* A P-256 PEM key (private SEC1 ~230 bytes, public SPKI ~180) fits. */
#define SIGNER_PEM_MAX	1024

struct signer;

/* A new P-256 key from a CTR_DRBG seeded by mbedtls_entropy (getrandom). */
int signer_generate(struct signer **out, char *err, size_t errlen);

/*
 * A private key from PEM (len bytes, NUL not needed): EC P-256 only, checked
 * (d in range, Q = d*G). "signer: key: WHAT". 0, -EINVAL or -ENOMEM.
 */
int signer_load(const char *pem, size_t len, struct signer **out, char *err,
    size_t errlen);
void signer_free(struct signer *s);

/* The private key (SEC1 PEM) and the public key (SPKI PEM), NUL-terminated. */
int signer_pem_private(const struct signer *s, char *pem, size_t cap);
int signer_pem_public(const struct signer *s, char *pem, size_t cap);

/* len random bytes from the signer's CTR_DRBG (command ids). */
int signer_random(struct signer *s, uint8_t *buf, size_t len);

/*
 * sig = r || s of SHA-256(msg[len]), as sig_verify reads it.
 * 0, or -EINVAL/-ENOMEM with err set ("signer: signing: WHAT").
 */
int signer_sign(struct signer *s, const uint8_t *msg, size_t len,
    uint8_t sig[64], char *err, size_t errlen);

/*
 * The frame of body (body LF sig) into frame[cap]: *flen = body_len + 65.
 * The body's length and its lack of LF are checked; the caller checks what
 * it says (cmd_parse on the frame). 0, or -EINVAL/-ENOSPC with err set.
 */
int signer_frame(struct signer *s, const uint8_t *body, size_t body_len,
    uint8_t *frame, size_t cap, size_t *flen, char *err, size_t errlen);

/*
 * The signed manifest text of body (body LF sighex LF, docs/ota.md
 * "Bundle") into text[cap]: *tlen = body_len + 130. The body's length and
 * its lack of LF are checked; the caller checks what it says
 * (manifest_parse on the text). 0, or -EINVAL/-ENOSPC with err set.
 */
int signer_manifest(struct signer *s, const uint8_t *body, size_t body_len,
    uint8_t *text, size_t cap, size_t *tlen, char *err, size_t errlen);

#endif
