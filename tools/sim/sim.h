/*
 * The simulated devices behind one bus: each a Modbus unit id serving the
 * registers of a profile filled by the value model. Transport-free: the TCP and
 * RTU front ends hand in request PDUs and send back what sim_pdu() writes.
 */
#ifndef WG_SIM_SIM_H
#define WG_SIM_SIM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "drivers/profile.h"
#include "tools/sim/fault.h"
#include "tools/sim/model.h"

#define SIM_DEVICES_MAX	32
#define SIM_PDU_MAX	253	/* Modbus PDU limit (RTU ADU 256 - unit - CRC) */

struct sim_dev;

/* How the transport must send an answer that a fault changed. */
enum sim_corrupt { SIM_SEND, SIM_BAD_CRC, SIM_GARBAGE };

struct sim_reply {
	unsigned delay_ms;	/* send this late */
	enum sim_corrupt corrupt;
	int unit;		/* answer as this unit id; -1: the one asked */
	unsigned protocol;	/* TCP: the MBAP protocol id to send (0) */
};

struct sim {
	struct sim_dev *devs[SIM_DEVICES_MAX];
	size_t n_devs;
	FILE *log;		/* --log, or NULL */
	unsigned invalid_every;	/* --invalid-every: 0 off, else every Nth answer */
	int64_t charger_cycle_ms; /* --charger-cycle: 0 for the model's default */
	int log_failed;		/* a write error was reported */
	int mbap;		/* served over Modbus TCP: has a protocol id */
	/* Set by SIGUSR1's handler; sim_housekeep() then calls reload(). */
	volatile sig_atomic_t *reload_req;
	void (*reload)(struct sim *s);
	void *reload_arg;
};

/* Between requests, in the serve loops: a pending fault file reload. */
void sim_housekeep(struct sim *s);

/* Sleep ms (a late answer), whole even if signals interrupt it. */
void sim_sleep_ms(unsigned ms);

/*
 * Add unit (1..247) serving <dir>/<profile>.json, values from a model seeded by
 * (seed, unit). Returns 0, -EEXIST (unit taken), -ENOSPC, -ENOMEM or the
 * profile loader's error; err gets one line.
 */
int sim_add(struct sim *s, unsigned unit, const char *dir, const char *profile,
    uint64_t seed, char *err, size_t errlen);

/*
 * Whether unit may have fault f (f NULL: whether there is such a unit).
 * Returns 0, or -ENOENT (no such unit) or -EINVAL (a protocol fault without
 * Modbus TCP: RTU frames have no protocol id) with one line in err.
 */
int sim_fault_check(struct sim *s, unsigned unit, const struct fault *f,
    char *err, size_t errlen);

/*
 * Set unit's fault (replacing the one it had; f NULL only checks the unit).
 * Returns 0 or sim_fault_check()'s error.
 */
int sim_fault_set(struct sim *s, unsigned unit, const struct fault *f,
    char *err, size_t errlen);

/* Every device back to FAULT_NONE. */
void sim_faults_clear(struct sim *s);

/*
 * Answer the request PDU req[0..len) addressed to unit at unix time t_ms:
 * writes the response PDU (normal or exception) to rsp (SIM_PDU_MAX bytes) and
 * returns its length, or 0 when nothing must be sent (unknown unit: a dead
 * device). FC1..FC4 answers are logged to s->log; a read that spans a
 * profile's forbidden range gets exception 2, as such devices answer.
 */
size_t sim_pdu(struct sim *s, uint8_t unit, const uint8_t *req, size_t len,
    int64_t t_ms, uint8_t *rsp);

/*
 * sim_pdu() with the unit's fault applied: a silent device returns 0; an
 * exception fault answers that code; late, crc, garbage, unit and protocol
 * answers come back with *how telling the transport what to do. An answer a
 * fault spoils (crc, garbage, from another unit id, with another protocol
 * id) is not logged as served: no correct gateway can store it. A fault that
 * fires writes one {"t_ms","unit","fault"} line to the log.
 */
size_t sim_answer(struct sim *s, uint8_t unit, const uint8_t *req, size_t len,
    int64_t t_ms, uint8_t *rsp, struct sim_reply *how);

/* Fill buf[0..n) with noise that never depends on the values served. */
void sim_noise(uint8_t *buf, size_t n);

void sim_free(struct sim *s);

/* Unix time in milliseconds. */
int64_t sim_now_ms(void);

#endif
