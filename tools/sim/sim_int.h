/*
 * Private to the simulator's library (sim.c, simwrite.c): a simulated
 * device's state. Not an API.
 */
#ifndef WG_SIM_SIM_INT_H
#define WG_SIM_SIM_INT_H

#include <stdint.h>

#include "tools/sim/sim.h"

#define EXC_ILLEGAL_FUNCTION	1
#define EXC_ILLEGAL_ADDRESS	2
#define EXC_ILLEGAL_VALUE	3
#define EXC_SERVER_FAILURE	4

/*
 * The registers (FC1/FC2: bits, one 0/1 per element) of one function code:
 * [lo, hi) covers every point of that fc.
 */
struct span {
	uint32_t lo, hi;
	uint16_t *regs;		/* hi - lo registers, NULL if no point */
};

struct sim_dev {
	unsigned unit;
	struct profile prof;
	struct model *model;
	struct dec *vals;
	unsigned char *warned;	/* per point: encode failure reported */
	unsigned refreshes;	/* answers served, for invalid_every */
	struct span span[4];	/* [fc - 1]: coils, inputs, holding, input regs */
	struct fault fault;
	/* Writable points (tools/sim/simwrite.c). */
	struct dec wval[PROFILE_WRITABLE_MAX];	/* as set, shown at read-back */
	int limit_set;		/* current_limit was written */
	int controlled;		/* the charger model has been steered */
	struct fault refuse;	/* refuse-write[/N] */
	int ignore_limit;	/* ignore-limit */
	unsigned clamp_a;	/* clamp:AMPS, 0: none */
	int state;		/* state:X, IEC 1..6, 0: the cycle's */
	unsigned car_a;		/* car:AMPS, 0: the cycle's */
};

/* An exception answer (fc | 0x80, code) into rsp; its length. */
size_t sim_exception(uint8_t *rsp, uint8_t fc, uint8_t code);

/* Write a line to the log (NULL: none), flushed; a failure said once. */
void sim_log(struct sim *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * simwrite.c. sim_write: answer an FC6/FC16 request PDU req[0..len) at
 * t_ms (docs/simulator.md, "Writes"). sim_writable_init: the defaults
 * (each writable's max). sim_readback: serve the set values in their
 * read-back registers, after each refresh. sim_charger_fault: check
 * (set 0) or apply (set 1) a charger's fault mode, or "none" for them all.
 */
size_t sim_write(struct sim *s, struct sim_dev *d, const uint8_t *req,
    size_t len, int64_t t_ms, uint8_t *rsp);
void sim_writable_init(struct sim_dev *d);
void sim_readback(struct sim_dev *d);
int sim_charger_fault(struct sim_dev *d, const struct fault *f, int set,
    char *err, size_t errlen);

#endif
