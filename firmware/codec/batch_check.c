/*
 * The batch's check field (docs/batch-format.md, 3.): CRC-32 of the schema
 * document followed by the message without the field. A receiver knows the
 * schemas only by their CRC-32 (the schema id), and CRC-32 continues from a
 * prefix's CRC, so the check is zlib's crc32(schema_id, message minus check):
 * it names the schema and guards every byte in the 4 bytes that used to
 * carry the id alone (the budget of 4 bytes a reading had no room for a
 * second field). The same device as AUTOSAR E2E's implicit data id.
 */
#include <zlib.h>

#include "firmware/codec/batch.h"

/* CRC-32 of the message without the 4 bytes at off (no prefix). */
static uint32_t
crc_without(const uint8_t *msg, size_t len, size_t off)
{
	uLong c = crc32(0L, Z_NULL, 0);

	c = crc32(c, msg, (uInt)off);
	return (uint32_t)crc32(c, msg + off + 4, (uInt)(len - off - 4));
}

void
batch_set_check(uint8_t *msg, size_t len, size_t off, uint32_t schema_id)
{
	uint32_t c = (uint32_t)crc32_combine(schema_id, crc_without(msg, len, off),
	    (z_off_t)(len - 4));

	msg[off] = (uint8_t)c;
	msg[off + 1] = (uint8_t)(c >> 8);
	msg[off + 2] = (uint8_t)(c >> 16);
	msg[off + 3] = (uint8_t)(c >> 24);
}

int
batch_match(const uint8_t *in, size_t len, struct batch_hdr *h,
    const uint32_t *ids, size_t n_ids)
{
	uint32_t c;
	size_t i;

	if (n_ids == 0 || h->check_off + 4 > len)
		return -1;
	c = crc_without(in, len, h->check_off);
	for (i = 0; i < n_ids; i++)
		if ((uint32_t)crc32_combine(ids[i], c, (z_off_t)(len - 4)) ==
		    h->check) {
			h->schema_id = ids[i];
			return (int)i;
		}
	return -1;
}
