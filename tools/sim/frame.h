/*
 * Modbus RTU request framing on a byte stream: CRC-16/MODBUS and finding whole
 * request frames among noise. Pure functions, no I/O.
 */
#ifndef WG_SIM_FRAME_H
#define WG_SIM_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define FRAME_ADU_MAX	256	/* unit + PDU (<= 253) + CRC */
#define FRAME_ADU_MIN	4	/* unit + function + CRC */

/* CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF); sent low byte first. */
uint16_t frame_crc16(const uint8_t *p, size_t n);

/* Append the CRC of adu[0..n) at adu[n], adu[n+1]; returns n + 2. */
size_t frame_seal(uint8_t *adu, size_t n);

/*
 * Find the first complete request frame in buf[0..len): a request whose length
 * its function code fixes and whose CRC is right. Returns its length, with the
 * count of garbage bytes before it in *skip; 0 if there is none yet.
 */
size_t frame_find(const uint8_t *buf, size_t len, size_t *skip);

/*
 * After an inter-frame silence: 1 if buf[0..len) as a whole is one frame with a
 * valid CRC (a request of a function whose length we cannot predict), else 0.
 */
int frame_whole(const uint8_t *buf, size_t len);

#endif
