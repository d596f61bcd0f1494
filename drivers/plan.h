/*
 * Request plans: which Modbus reads cover a profile's points, at the least bus
 * time (drivers/plan.c says how; drivers/bustime.h what a read costs).
 */
#ifndef WG_PLAN_H
#define WG_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/bustime.h"

struct profile;
struct profile_point;

/* A read request of a plan: one Modbus transaction. */
struct plan_req {
	uint8_t fc;
	uint16_t addr;
	uint16_t count;		/* registers (FC3/FC4) or bits (FC1/FC2) */
};

/*
 * The plan of least bus time under timing t (NULL: bustime_default with the
 * profile's turnaround) that reads every point whole in one request, where no
 * request exceeds max_read registers (max_read_bits bits), touches a forbidden
 * range, or crosses more than max_gap consecutive registers no point covers.
 * Requests are sorted by (fc, addr, count). Returns their number (<= cap; never
 * more than the points), -ENOSPC, or -EINVAL if some point cannot be read at all
 * (longer than the limit, in a forbidden range, past address 65535).
 */
int plan_build_for(const struct profile *p, const struct bustime *t,
    struct plan_req *reqs, size_t cap);

/* plan_build_for(p, NULL, reqs, cap). */
int plan_build(const struct profile *p, struct plan_req *reqs, size_t cap);

/* Registers (or bits) point pt occupies from its address on. */
unsigned plan_point_span(const struct profile_point *pt);

/* Bus time of n requests under t (0 if one of them is not a valid read). */
uint64_t plan_cost_ns(const struct bustime *t, const struct plan_req *reqs,
    size_t n);

#endif
