/*
 * The batch decoder (firmware/codec/batch_dec.c) on any bytes: what the
 * receiver does with every MQTT payload and CoAP body. Header peek and full
 * decode; a decode that succeeds must agree with the peek's header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/codec/batch.h"

#define SCHEMA	0x5ca1ab1eu

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct reading out[4096];
	static uint8_t m[(9u << 20)];
	struct batch_hdr peek, h;
	const char *err = NULL;
	size_t n = 0;
	int rp, rd;

	if (size > sizeof(m))
		return 0;
	rp = batch_peek_hdr(data, size, &peek, &err);
	/*
	 * A mutated batch almost never keeps a matching check, which would hide
	 * the body from the fuzzer: its check is made right for SCHEMA first
	 * (tests/unit/test_batch.c tests the check itself).
	 */
	memcpy(m, data, size);
	if (rp == 0)
		batch_set_check(m, size, peek.check_off, SCHEMA);
	rd = batch_decode(m, size, SCHEMA, &h, out, sizeof(out) / sizeof(out[0]),
	    &n, &err);
	if (rd == 0) {
		/* Everything a full decode takes, the peek takes, alike. */
		if (rp != 0 || peek.seq != h.seq || peek.seq_last != h.seq_last ||
		    peek.flags != h.flags || h.schema_id != SCHEMA ||
		    peek.check_off != h.check_off || strcmp(peek.gw, h.gw) != 0)
			abort();
		if (n > sizeof(out) / sizeof(out[0]))
			abort();
	}
	return 0;
}
