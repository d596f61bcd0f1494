/*
 * Which known device answers at a unit id: wattgate scan's matcher. Reads
 * through the bus seam only; knows nothing of the command line or its output.
 */
#ifndef WG_IDENTIFY_H
#define WG_IDENTIFY_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/bus/bus.h"
#include "drivers/profile.h"

/*
 * Does anything answer at unit? One one-register read (FC3, address 0): any
 * answer, a Modbus exception included, means a device is there.
 * Returns 1 (answered), 0 (no answer within the bus timeout), or -EIO (a
 * garbled answer: something is there, or two devices share the id).
 */
int identify_probe(struct bus *b, int unit);

/* How well profile p fits the device at a unit; 0: it does not. */
struct identify_fit {
	size_t profile;		/* index into the caller's profiles */
	unsigned score;		/* points that read back valid */
};

/*
 * Try every profile on unit. A profile fits when each request of its plan is
 * answered and every check of its "identify" section reads back valid and in
 * range (or, for a string check, reads back equal); its score is the number of its points that decode valid. Fits are
 * written best first (ties in profile order) into fits (cap entries).
 * Returns the number of fitting profiles (may exceed cap), or -errno.
 */
int identify_unit(struct bus *b, int unit, const struct profile *profiles,
    size_t n, struct identify_fit *fits, size_t cap);

/*
 * Read info string i of profile p at unit (one request) into out (outlen >
 * 2 * p->info[i].len; profile_info_decode()). Returns 0 or the bus's -errno.
 */
int identify_info(struct bus *b, int unit, const struct profile *p, size_t i,
    char *out, size_t outlen);

/*
 * What identification reads from: one device's answers, with bus_read()'s
 * contract for its unit (count values of function code fc from addr into
 * dst, bits one 0/1 element each; 0 or -errno).
 */
struct identify_src {
	int (*read)(void *arg, int fc, int addr, int count, uint16_t *dst);
	void *arg;
};

/*
 * identify_unit() and identify_info() on the answers src gives: the same
 * matching, the same requests in the same order, without a bus (the fuzzer,
 * tests/fuzz/fuzz_scan.c).
 */
int identify_answers(const struct identify_src *src,
    const struct profile *profiles, size_t n, struct identify_fit *fits,
    size_t cap);
int identify_read_info(const struct identify_src *src, const struct profile *p,
    size_t i, char *out, size_t outlen);

#endif
