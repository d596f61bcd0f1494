/*
 * RTU framing. The line is a byte stream; a frame ends with 3.5 characters of
 * silence, but a pty has no timing and a request can be answered as soon as its
 * last byte is in, so requests are recognised by the length their function code
 * implies plus the CRC, and silence only flushes what never made a frame.
 */
#include "tools/sim/frame.h"

uint16_t
frame_crc16(const uint8_t *p, size_t n)
{
	uint16_t crc = 0xffff;
	size_t i;
	int b;

	for (i = 0; i < n; i++) {
		crc ^= p[i];
		for (b = 0; b < 8; b++)
			crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xa001) :
			    (uint16_t)(crc >> 1);
	}
	return crc;
}

size_t
frame_seal(uint8_t *adu, size_t n)
{
	uint16_t crc = frame_crc16(adu, n);

	adu[n] = (uint8_t)crc;
	adu[n + 1] = (uint8_t)(crc >> 8);
	return n + 2;
}

static int
crc_ok(const uint8_t *b, size_t n)
{
	uint16_t crc = frame_crc16(b, n - 2);

	return b[n - 2] == (uint8_t)crc && b[n - 1] == (uint8_t)(crc >> 8);
}

/*
 * Length of the request starting at b (n >= 2 bytes available) as its function
 * code defines it (Modbus Application Protocol V1.1b3, section 6); 0 when the
 * function is unknown or its byte count has not arrived yet.
 */
static size_t
request_len(const uint8_t *b, size_t n)
{
	switch (b[1]) {
	case 1: case 2: case 3: case 4: case 5: case 6:
		return 8;
	case 7: case 11: case 12: case 17:
		return 4;
	case 15: case 16:
		return n >= 7 ? 9 + (size_t)b[6] : 0;
	case 22:
		return 10;
	case 23:
		return n >= 11 ? 13 + (size_t)b[10] : 0;
	case 24:
		return 6;
	}
	return 0;
}

size_t
frame_find(const uint8_t *buf, size_t len, size_t *skip)
{
	size_t off, n;

	for (off = 0; off + FRAME_ADU_MIN <= len; off++) {
		n = request_len(buf + off, len - off);
		if (n >= FRAME_ADU_MIN && n <= FRAME_ADU_MAX && n <= len - off &&
		    crc_ok(buf + off, n)) {
			*skip = off;
			return n;
		}
	}
	*skip = 0;
	return 0;
}

int
frame_whole(const uint8_t *buf, size_t len)
{
	return len >= FRAME_ADU_MIN && len <= FRAME_ADU_MAX && crc_ok(buf, len);
}
