/*
 * A value model for simulated meters: what a household's three-phase meter would
 * show at a given time. Used by wattgate-sim to fill its registers and by the
 * benchmarks to produce realistic readings without a bus (link wg_simmodel).
 *
 * Each point's value is rounded to a resolution a real meter has (0.01 V,
 * 0.001 A, 0.1 W/VA/var, 0.01 Hz, 0.001 for power factors, 0.01 kWh) and, for
 * integer register types, to a multiple of the point's scale within the type's
 * range, so it is always encodable with regmap_encode() and a gateway decodes a
 * short decimal. Energy uses 0.01 kWh because an f32 register holds every
 * multiple of 0.01 below 131072 kWh, but multiples of 0.001 only below 16384.
 * Points are recognised by name (voltage_l1, power_total, energy_import, ...,
 * see docs/simulator.md); other names get a bounded noisy value for their unit,
 * or a rising counter if the unit is an energy (kWh, kvarh, Wh).
 *
 * Deterministic: the same seed and the same sequence of times give the same
 * values on every machine (no libm transcendentals, integer energy counters).
 */
#ifndef WG_SIM_MODEL_H
#define WG_SIM_MODEL_H

#include <stdint.h>

#include "drivers/profile.h"
#include "firmware/base/dec.h"

struct model;

/*
 * A model for the points of profile p (read here only; it may be freed after)
 * and seed. Returns NULL when out of memory.
 */
struct model *model_new(const struct profile *p, uint64_t seed);

/*
 * The values at unix time t_ms into out[0 .. p->n_points-1], in profile order.
 * Energy counters integrate the power between successive calls, so they never
 * decrease (a call with an earlier time than the last one adds nothing).
 */
void model_values(struct model *m, int64_t t_ms, struct dec *out);

/*
 * For a charger profile (tools/sim/chgmodel.h): the length of one session
 * cycle A -> B -> C -> B -> A, 1 s .. 1 day; before the first model_values().
 * No effect on other profiles.
 */
void model_set_charger_period(struct model *m, int64_t period_ms);

/* The charger model of a charger profile's model, else NULL (chgmodel.h). */
struct chgmodel *model_charger(struct model *m);

void model_free(struct model *m);

/* splitmix64's finalizer: the simulator's values are pure functions of it. */
uint64_t model_mix(uint64_t x);

#endif
