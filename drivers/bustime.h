/*
 * Bus time of Modbus read transactions: what one request costs on the wire.
 * Pure functions; the request planner minimises their sum, the bench reports it.
 *
 * RTU (Modbus over Serial Line V1.02, 2.5.1.1): a character is start bit, 8
 * data bits, parity and stop bit(s); the spec asks for 11 bits (8E1, or 8N2 when
 * there is no parity), 8N1 wiring sends 10. Frames are separated by a silent
 * 3.5-character interval, fixed at 1.75 ms above 19200 baud. One read costs
 *
 *   (request + answer characters) x character time
 *   + max(t3.5, turnaround)      the device's response delay
 *   + t3.5                       silence before the next frame on the bus
 *
 * "turnaround" is the response delay device manuals state: from the last
 * character of the request to the first of the answer. A device cannot answer
 * before t3.5 (it only then knows the request ended), hence the max.
 *
 * TCP: no characters and no gaps; frames carry the 7-byte MBAP header instead of
 * the unit address and CRC. A LAN's bytes are nearly free next to the device's
 * turnaround, so the planner then merges whatever the limits allow; the byte
 * rate only breaks ties toward fewer bytes.
 */
#ifndef WG_BUSTIME_H
#define WG_BUSTIME_H

#include <stdint.h>

struct bus_cfg;

/*
 * Default device response delay. Meter manuals state only an upper bound
 * ("less than 200 ms"); answers of small meters typically come within a few to
 * some tens of milliseconds. 10 ms is at the low end of that on purpose: the
 * planner then values a saved request a little less, so it reads fewer unmapped
 * registers (each one a chance of an exception on a device whose map has holes)
 * and at 9600 baud still merges across gaps up to ~12 registers. A profile
 * that knows its device's figure states it ("turnaround_ms").
 */
#define BUSTIME_TURNAROUND_US 10000u
#define BUSTIME_BAUD 9600u		/* the household RS-485 bus */
#define BUSTIME_CHAR_BITS 11u		/* the spec's character */
#define BUSTIME_TCP_BPS 10000000u	/* a slow LAN; see above */

/* Requests one read may carry: registers (FC3/FC4), bits (FC1/FC2). */
#define BUSTIME_REGS_MAX 125u
#define BUSTIME_BITS_MAX 2000u

struct bustime {
	uint32_t baud;		/* RTU bit rate; 0 for Modbus TCP */
	uint32_t char_bits;	/* RTU bits per character, 10..12 */
	uint32_t turnaround_us;	/* response delay, see above */
};

/* 9600 baud, 11-bit characters, turnaround_ms of the profile (0: default). */
void bustime_default(struct bustime *t, unsigned turnaround_ms);

/*
 * Timing of a configured bus: its baud and character (1 start + data bits +
 * parity + stop bits) for RTU; TCP otherwise. cfg NULL: bustime_default.
 */
void bustime_from_bus(struct bustime *t, const struct bus_cfg *cfg,
    unsigned turnaround_ms);

/* Bytes of a read request and of its answer for count registers or bits. */
unsigned bustime_request_bytes(const struct bustime *t);
unsigned bustime_answer_bytes(const struct bustime *t, unsigned fc,
    unsigned count);

/* Character time and the 3.5-character gap in ns (0 for TCP). */
uint64_t bustime_char_ns(const struct bustime *t);
uint64_t bustime_gap_ns(const struct bustime *t);

/*
 * Bus time in ns of one read of count registers (fc 3, 4) or bits (fc 1, 2);
 * 0 if fc or count is outside the protocol (count 0, > 125 registers, > 2000
 * bits) or the timing is unusable, so callers can tell an impossible read.
 */
uint64_t bustime_read_ns(const struct bustime *t, unsigned fc, unsigned count);

#endif
