/*
 * The PSK file of a coaps:// link (docs/coap.md), shared by the uplink and
 * wattgate-recv's CoAPS server: a pure parser, no I/O (callers read the file
 * with secret_read()).
 */
#include "firmware/base/psk.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
psk_parse(const char *text, size_t len, char *identity, uint8_t *key,
    size_t *key_len, char *err, size_t errlen)
{
	const char *p = text, *end = text + len, *nl;
	size_t n, i;

	/* line 1: identity */
	nl = memchr(p, '\n', (size_t)(end - p));
	n = (size_t)((nl ? nl : end) - p);
	if (n == 0 || n > PSK_ID_MAX) {
		snprintf(err, errlen, "line 1: identity must be 1..%d characters",
		    PSK_ID_MAX);
		return -EINVAL;
	}
	for (i = 0; i < n; i++)
		if (p[i] <= 0x20 || p[i] > 0x7e) {
			snprintf(err, errlen, "line 1: identity has a space or a "
			    "non-printable character");
			return -EINVAL;
		}
	memcpy(identity, p, n);
	identity[n] = '\0';
	if (nl == NULL) {
		snprintf(err, errlen, "line 2: no key");
		return -EINVAL;
	}
	/* line 2: key in hex */
	p = nl + 1;
	nl = memchr(p, '\n', (size_t)(end - p));
	n = (size_t)((nl ? nl : end) - p);
	if (n == 0 || n % 2 != 0 || n / 2 > PSK_KEY_MAX) {
		snprintf(err, errlen, "line 2: key must be 2..%d hex digits, an even "
		    "number", 2 * PSK_KEY_MAX);
		return -EINVAL;
	}
	for (i = 0; i < n / 2; i++) {
		int hi = hexval((unsigned char)p[2 * i]), lo = hexval((unsigned char)p[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			snprintf(err, errlen, "line 2: key is not hex");
			return -EINVAL;
		}
		key[i] = (uint8_t)(hi << 4 | lo);
	}
	*key_len = n / 2;
	if (nl != NULL && nl + 1 != end) {
		snprintf(err, errlen, "more than two lines");
		return -EINVAL;
	}
	return 0;
}
