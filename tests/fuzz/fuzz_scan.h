/*
 * The device fuzz_scan.c identifies, as its input encodes it; fuzz_seeds.c
 * writes the tests' simulated meters in the same form.
 *
 *   byte 0   bits 0..3: FC1..FC4 answered with an exception (no such
 *            registers); bits 4..7: FC1..FC4 not answered at all
 *   byte 1   G: a request with (address + count) % 256 == G, G not 0, gets a
 *            garbled answer
 *   then     SCAN_WORDS big-endian words: the register (fc, addr) is word
 *            (SCAN_FC_STRIDE * (fc - 1) + addr) % SCAN_WORDS, 0 past the end
 *            of the input; a coil or input is its word's lowest bit
 *
 * So a request gets the same answer whichever profile asks, and a register
 * keeps its place in the input whatever its length. scan_answer() gives the
 * answers, as identify_src's read.
 *
 * The profiles tried are the shipped ones and two that check an info string,
 * written as tests/integration/test_info.py writes them: sdm120 with a serial
 * and a model string, checked for "SDMI" (sdm120i) and "NOPE" (sdm120x).
 */
#ifndef WG_FUZZ_SCAN_H
#define WG_FUZZ_SCAN_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "drivers/bus/bus.h"

#define SCAN_HDR	2
#define SCAN_WORDS	256
#define SCAN_FC_STRIDE	64
#define SCAN_INPUT_MAX	(SCAN_HDR + 2 * SCAN_WORDS)

/* Where register (fc, addr) is in the input: its first byte's offset. */
static inline size_t
scan_offset(int fc, int addr)
{
	return SCAN_HDR + 2 * (((unsigned)SCAN_FC_STRIDE * (unsigned)(fc - 1) +
	    (unsigned)addr) % SCAN_WORDS);
}

static inline uint16_t
scan_word(const uint8_t *data, size_t size, int fc, int addr)
{
	size_t off = scan_offset(fc, addr);

	return off + 1 < size ? (uint16_t)(data[off] << 8 | data[off + 1]) : 0;
}

struct scan_device {
	const uint8_t *data;
	size_t size;		/* >= SCAN_HDR */
};

/*
 * identify_src's read: the device's answer to one request, under
 * bus_read()'s contract. A request bus_read() would refuse (-EINVAL) is a
 * bug in the identifier: abort().
 */
static inline int
scan_answer(void *arg, int fc, int addr, int count, uint16_t *dst)
{
	const struct scan_device *d = arg;
	int i;

	if (fc < 1 || fc > 4 || count < 1 || count > (fc <= 2 ?
	    BUS_READ_BITS_MAX : BUS_READ_REGS_MAX) || addr < 0 ||
	    addr + count - 1 > 65535)
		abort();
	if (d->data[0] & (0x10 << (fc - 1)))
		return -ETIMEDOUT;
	if (d->data[0] & (0x01 << (fc - 1)))
		return -EPROTO;
	if (d->data[1] != 0 && ((addr + count) & 0xff) == d->data[1])
		return -EIO;
	for (i = 0; i < count; i++) {
		dst[i] = scan_word(d->data, d->size, fc, addr + i);
		if (fc <= 2)
			dst[i] &= 1;
	}
	return 0;
}

/*
 * The profile document name (sdm120i, sdm120x) made from dir/sdm120.json:
 * an "info" section and a string check for model; malloc'd, or NULL.
 */
static inline char *
scan_info_profile(const char *dir, const char *name, const char *model)
{
	char path[512];
	json_t *p, *ident;
	char *text = NULL;

	snprintf(path, sizeof(path), "%s/sdm120.json", dir);
	if ((p = json_load_file(path, 0, NULL)) == NULL)
		return NULL;
	ident = json_object_get(p, "identify");
	if (json_object_set_new(p, "name", json_string(name)) == 0 &&
	    json_object_set_new(p, "info", json_pack("[{s:s, s:i, s:i, s:s, "
	    "s:i}, {s:s, s:i, s:i, s:s, s:i, s:s}]",
	    "name", "serial", "fc", 3, "address", 64512, "type", "string",
	    "length", 8,
	    "name", "model", "fc", 3, "address", 64520, "type", "string",
	    "length", 4, "order", "BADC")) == 0 &&
	    json_array_append_new(ident, json_pack("{s:s, s:s}", "info",
	    "model", "equals", model)) == 0)
		text = json_dumps(p, JSON_PRESERVE_ORDER);
	json_decref(p);
	return text;
}

#endif
