/* The PSK file parser (firmware/base/psk.c): the gateway's and the receiver's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/base/psk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char identity[PSK_ID_MAX + 1], err[256];
	uint8_t key[PSK_KEY_MAX];
	size_t key_len = 0;

	if (psk_parse((const char *)data, size, identity, key, &key_len, err,
	    sizeof(err)) == 0) {
		if (key_len == 0 || key_len > PSK_KEY_MAX ||
		    strlen(identity) == 0 || strlen(identity) > PSK_ID_MAX)
			abort();
	} else if (memchr(err, '\n', strnlen(err, sizeof(err))) != NULL) {
		abort();	/* one line, whatever the file holds */
	}
	return 0;
}
