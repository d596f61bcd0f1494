/*
 * The simulated devices behind one bus: each a Modbus unit id serving the
 * registers of a profile filled by the value model. Transport-free: the TCP and
 * RTU front ends hand in request PDUs and send back what sim_pdu() writes.
 */
#ifndef WG_SIM_SIM_H
#define WG_SIM_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "drivers/profile.h"
#include "tools/sim/model.h"

#define SIM_DEVICES_MAX	32
#define SIM_PDU_MAX	253	/* Modbus PDU limit (RTU ADU 256 - unit - CRC) */

struct sim_dev;

struct sim {
	struct sim_dev *devs[SIM_DEVICES_MAX];
	size_t n_devs;
	FILE *log;		/* --log, or NULL */
	unsigned invalid_every;	/* --invalid-every: 0 off, else every Nth answer */
	int log_failed;		/* a write error was reported */
};

/*
 * Add unit (1..247) serving <dir>/<profile>.json, values from a model seeded by
 * (seed, unit). Returns 0, -EEXIST (unit taken), -ENOSPC, -ENOMEM or the
 * profile loader's error; err gets one line.
 */
int sim_add(struct sim *s, unsigned unit, const char *dir, const char *profile,
    uint64_t seed, char *err, size_t errlen);

/*
 * Answer the request PDU req[0..len) addressed to unit at unix time t_ms:
 * writes the response PDU (normal or exception) to rsp (SIM_PDU_MAX bytes) and
 * returns its length, or 0 when nothing must be sent (unknown unit: a dead
 * device). FC1..FC4 answers are logged to s->log; a read that spans a
 * profile's forbidden range gets exception 2, as such devices answer.
 */
size_t sim_pdu(struct sim *s, uint8_t unit, const uint8_t *req, size_t len,
    int64_t t_ms, uint8_t *rsp);

void sim_free(struct sim *s);

/* Unix time in milliseconds. */
int64_t sim_now_ms(void);

#endif
