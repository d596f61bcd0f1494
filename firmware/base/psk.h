/* The PSK file format of coaps:// links (docs/coap.md). */
#ifndef WG_PSK_H
#define WG_PSK_H

#include <stddef.h>
#include <stdint.h>

#define PSK_ID_MAX		64	/* COAP_DTLS_MAX_PSK_IDENTITY */
#define PSK_KEY_MAX	64	/* COAP_DTLS_MAX_PSK */

/*
 * Parse a PSK file: line 1 the identity (1..64 printable characters, no
 * spaces), line 2 the key in hex (1..64 bytes). 0, or -EINVAL with err set.
 */
int psk_parse(const char *text, size_t len, char *identity, uint8_t *key,
    size_t *key_len, char *err, size_t errlen);

#endif
