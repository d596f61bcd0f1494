/*
 * Bus time of Modbus reads (the model is described in bustime.h).
 *
 * Times are integer nanoseconds, each term rounded once to the nearest: a
 * character at 9600 baud is 1145833.3 ns, and rounding per character instead
 * would drift by a microsecond per frame for no gain.
 */
#include <stddef.h>

#include "drivers/bus/bus.h"
#include "drivers/bustime.h"

#define NS_PER_S 1000000000ull
#define GAP_FAST_NS 1750000ull	/* t3.5 above 19200 baud */
#define FAST_BAUD 19200u

/* Address, function code, start (2), quantity (2), CRC (2). */
#define RTU_REQUEST 8u
/* Address, function code, byte count, CRC (2); the data follow. */
#define RTU_ANSWER 5u
/* MBAP (7: transaction, protocol, length, unit) replaces address and CRC. */
#define TCP_REQUEST 12u
#define TCP_ANSWER 9u

void
bustime_default(struct bustime *t, unsigned turnaround_ms)
{
	t->baud = BUSTIME_BAUD;
	t->char_bits = BUSTIME_CHAR_BITS;
	t->turnaround_us = turnaround_ms > 0 ? turnaround_ms * 1000u :
	    BUSTIME_TURNAROUND_US;
}

void
bustime_from_bus(struct bustime *t, const struct bus_cfg *cfg,
    unsigned turnaround_ms)
{
	bustime_default(t, turnaround_ms);
	if (cfg == NULL)
		return;
	if (cfg->kind == BUS_TCP) {
		t->baud = 0;
		t->char_bits = 0;
		return;
	}
	t->baud = cfg->baud;
	t->char_bits = 1 + cfg->data_bits + (cfg->parity != 'N') +
	    cfg->stop_bits;
}

static int
is_tcp(const struct bustime *t)
{
	return t->baud == 0;
}

unsigned
bustime_request_bytes(const struct bustime *t)
{
	return is_tcp(t) ? TCP_REQUEST : RTU_REQUEST;
}

/* Data bytes: bits are packed eight to a byte, registers take two bytes. */
unsigned
bustime_answer_bytes(const struct bustime *t, unsigned fc, unsigned count)
{
	unsigned data = fc <= 2 ? (count + 7) / 8 : 2 * count;

	return (is_tcp(t) ? TCP_ANSWER : RTU_ANSWER) + data;
}

/* chars characters on the wire, in ns. */
static uint64_t
wire_ns(const struct bustime *t, uint64_t chars)
{
	if (is_tcp(t))
		return (chars * 8 * NS_PER_S + BUSTIME_TCP_BPS / 2) /
		    BUSTIME_TCP_BPS;
	return (chars * t->char_bits * NS_PER_S + t->baud / 2) / t->baud;
}

uint64_t
bustime_char_ns(const struct bustime *t)
{
	return is_tcp(t) ? 0 : wire_ns(t, 1);
}

/* 3.5 characters, computed as 7 half characters to round only once. */
uint64_t
bustime_gap_ns(const struct bustime *t)
{
	if (is_tcp(t))
		return 0;
	if (t->baud > FAST_BAUD)
		return GAP_FAST_NS;
	return (7ull * t->char_bits * NS_PER_S + t->baud) / (2ull * t->baud);
}

static int
valid(const struct bustime *t, unsigned fc, unsigned count)
{
	if (!is_tcp(t) && (t->char_bits < 10 || t->char_bits > 12))
		return 0;
	if (fc == 1 || fc == 2)
		return count >= 1 && count <= BUSTIME_BITS_MAX;
	if (fc == 3 || fc == 4)
		return count >= 1 && count <= BUSTIME_REGS_MAX;
	return 0;
}

uint64_t
bustime_read_ns(const struct bustime *t, unsigned fc, unsigned count)
{
	uint64_t gap, turn;

	if (t == NULL || !valid(t, fc, count))
		return 0;
	gap = bustime_gap_ns(t);
	turn = (uint64_t)t->turnaround_us * 1000;
	return wire_ns(t, bustime_request_bytes(t) +
	    bustime_answer_bytes(t, fc, count)) + (turn > gap ? turn : gap) + gap;
}
