/*
 * Fault modes of a simulated device: what a broken meter does to the bus. Pure
 * data and parsing, no I/O; sim.c decides per request, the transports carry it
 * out (delay, broken CRC, noise).
 */
#ifndef WG_SIM_FAULT_H
#define WG_SIM_FAULT_H

#include <stddef.h>

enum fault_mode {
	FAULT_NONE,
	FAULT_SILENT,		/* no answer at all: a dead device */
	FAULT_LATE,		/* the right answer, arg ms late */
	FAULT_CRC,		/* the right answer with a wrong CRC */
	FAULT_EXCEPTION,	/* exception code arg */
	FAULT_GARBAGE,		/* noise instead of an answer */
	FAULT_UNIT,		/* the right answer, from unit id arg */
	FAULT_PROTOCOL,		/* TCP: the right answer, MBAP protocol id arg */
	/*
	 * A charger's (tools/sim/simwrite.c): they change what the device
	 * does, not how it answers, and hold beside the modes above.
	 */
	FAULT_IGNORE_LIMIT,	/* writes taken and read back, car unaffected */
	FAULT_CLAMP,		/* current never above arg A, read-back as set */
	FAULT_REFUSE_WRITE,	/* writes answered with exception 4 */
	FAULT_STATE,		/* IEC state arg (1..6 = A..F) held */
	FAULT_CAR,		/* the car draws at most arg A */
};

#define FAULT_LAST	FAULT_CAR
#define FAULT_AMPS_MAX	80

/* 1 if m is a charger's mode (FAULT_IGNORE_LIMIT and after). */
#define FAULT_IS_CHARGER(m)	((m) >= FAULT_IGNORE_LIMIT)

#define FAULT_LATE_MS_MAX	60000
#define FAULT_EVERY_MAX		1000000

struct fault {
	enum fault_mode mode;
	unsigned arg;		/* FAULT_LATE: ms; FAULT_EXCEPTION: code;
				   FAULT_UNIT: unit id; FAULT_PROTOCOL: id */
	unsigned every;		/* 0 or 1: every request; N: every Nth */
	unsigned seen;		/* requests counted towards every */
};

/*
 * Parse "UNIT:MODE[:ARG][/N]": MODE none, silent, late:MS, crc,
 * exception:CODE, garbage, unit:ID (0..255), protocol:ID (1..65535),
 * intermittent:N (silent/N); for chargers ignore-limit, clamp:AMPS (1..80),
 * refuse-write, state:A..F, car:AMPS (1..80). /N only for refuse-write
 * among the charger modes (the others are states, not events). Returns 0 or -EINVAL with one line in err.
 */
int fault_parse(const char *spec, unsigned *unit, struct fault *f, char *err,
    size_t errlen);

/* Count one request to the device; 1 if the fault hits this one. */
int fault_fires(struct fault *f);

const char *fault_name(enum fault_mode m);

#endif
