/*
 * The value model of a simulated EV charger (tools/sim/chgmodel.c): sessions
 * cycling A -> B -> C -> B -> A, energy rising only while charging. model.c
 * uses it for every profile that speaks the charger model (a "state" enum
 * with IEC 61851 A, B and C, and an "energy_total"); docs/simulator.md.
 */
#ifndef WG_SIM_CHGMODEL_H
#define WG_SIM_CHGMODEL_H

#include <stddef.h>
#include <stdint.h>

#include "drivers/profile.h"
#include "firmware/base/dec.h"

#define CHGMODEL_PERIOD_DEFAULT_MS	3600000LL	/* one session an hour */
#define CHGMODEL_PERIOD_MIN_MS		1000LL
#define CHGMODEL_PERIOD_MAX_MS		86400000LL

struct chgmodel;

/* 1 if p speaks the charger model, else 0. */
int chgmodel_is_charger(const struct profile *p);

/* NULL if p is not a charger or out of memory. p is read here only. */
struct chgmodel *chgmodel_new(const struct profile *p, uint64_t seed);

/* The session cycle's length; only before the first update. */
void chgmodel_set_period(struct chgmodel *c, int64_t period_ms);

/* Move to unix time t (ms); an earlier time than the last counts as the last. */
void chgmodel_update(struct chgmodel *c, int64_t t);

/* The value of profile point `point` as of the last update: 0, or -1 if the
 * charger model does not own that point (the household model does). */
int chgmodel_value(const struct chgmodel *c, size_t point, struct dec *out);

/*
 * Control, for a charger's writable current limit and the simulator's
 * charger faults. From the first call on the model integrates in 100 ms
 * ticks (chgmodel.c says how): in C the current moves to min(limit, the
 * car's own maximum) within about 3 s. Effective from the last update.
 * set_limit: the limit the charger applies, mA (0: none). force_state: hold
 * IEC state 1..6 instead of the cycle's (0: the cycle again). set_car: the
 * car's own maximum, mA (0: the cycle's 6.0..15.9 A).
 */
void chgmodel_set_limit(struct chgmodel *c, int64_t limit_ma);
void chgmodel_force_state(struct chgmodel *c, int state);
void chgmodel_set_car(struct chgmodel *c, int64_t max_ma);

/* The IEC state (1..6) as of the last update. */
int chgmodel_state(const struct chgmodel *c);

void chgmodel_free(struct chgmodel *c);

#endif
