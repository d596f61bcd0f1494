/*
 * The batch decoder (firmware/codec/batch_dec.c) on any bytes: what the
 * receiver does with every MQTT payload and CoAP body. Header peek and full
 * decode; a decode that succeeds must agree with the peek's header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/codec/batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct reading out[4096];
	struct batch_hdr peek, h;
	const char *err = NULL;
	size_t n = 0;
	int rp, rd;

	rp = batch_peek_hdr(data, size, &peek, &err);
	rd = batch_decode(data, size, &h, out, sizeof(out) / sizeof(out[0]), &n,
	    &err);
	if (rd == 0) {
		/* Everything a full decode takes, the peek takes, alike. */
		if (rp != 0 || peek.seq != h.seq || peek.seq_last != h.seq_last ||
		    peek.flags != h.flags || peek.schema_id != h.schema_id ||
		    strcmp(peek.gw, h.gw) != 0)
			abort();
		if (n > sizeof(out) / sizeof(out[0]))
			abort();
	}
	return 0;
}
