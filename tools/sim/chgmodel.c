/*
 * The value model of a simulated EV charger: charging sessions instead of a
 * household's load curve.
 *
 * Time is cut into cycles of one period (default an hour; --charger-cycle).
 * Each cycle is one session, in permille of the period:
 *
 *   A 0..150  B 150..250  C 250..700  E/F 700..800  B 800..850  A 850..1000
 *   no vehicle, connected, charging,  a fault,      done,       unplugged
 *
 * so the IEC 61851 state cycles A -> B -> C -> E or F -> B -> A. The fault is
 * E (no power) in even sessions and F (charger not available) in odd ones,
 * whichever of the two the profile's state enum has (KEBA: F only); a
 * profile with neither shows B there. A gateway must hold a session through
 * them: E and F neither begin nor end one (drivers/charger.c). While in C the charger
 * draws a constant current on three phases (6.0..15.9 A, one value per
 * session, at 230 V: power = 690 W per A); otherwise current and power are 0.
 * energy_total rises only while in C; energy_session (the register of chargers
 * that have one, such as KEBA) is the energy since this cycle's plug-in, and
 * keeps the last session's value from the unplug to the next plug-in.
 *
 * Both energies are whole Wh computed from the time alone, so the session
 * register equals energy_total minus energy_total at plug-in exactly, and
 * a gateway's derived session energy (drivers/charger.c) must match it to the
 * Wh. The "error" point reads 0, or what the state's register shows through
 * it when both points share a register (Alfen: the state letter).
 */
#include <stdlib.h>
#include <string.h>

#include "tools/sim/chgmodel.h"
#include "tools/sim/model.h"

#define PERMILLE_B	150
#define PERMILLE_C	250
#define PERMILLE_C_END	700
#define PERMILLE_FAULT_END	800
#define PERMILLE_B_END	850
#define CATCH_UP_MAX	100000	/* cycles summed one by one after a jump */
#define WMS_PER_WH	3600000LL

enum role {
	R_STATE, R_ERROR, R_I1, R_I2, R_I3, R_POWER, R_TOTAL, R_SESSION, R_N
};

static const char *const role_names[R_N] = {
	"state", "error", "current_l1", "current_l2", "current_l3", "power",
	"energy_total", "energy_session",
};

struct chgmodel {
	uint64_t seed;
	int64_t period;			/* ms */
	long idx[R_N];			/* point index of each role, or -1 */
	int64_t err_for[7];		/* error value per IEC state 1..6 */
	int has_e, has_f;		/* the state enum has E (5), F (6) */
	int started;
	int64_t last_t, k_done, base_wh, done_wh;
	/* The values of the last update. */
	int64_t state, ideci, watts, total_wh, session_wh;	/* W, Wh */
};

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static long
find(const struct profile *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n_points; i++)
		if (strcmp(p->points[i].name, name) == 0)
			return (long)i;
	return -1;
}

static int
enum_has(const struct profile *p, const struct profile_point *pp, int64_t v)
{
	size_t i;

	for (i = 0; i < pp->n_enum; i++)
		if (p->enums[pp->enum_first + i].val == v)
			return 1;
	return 0;
}

int
chgmodel_is_charger(const struct profile *p)
{
	long s = find(p, "state");

	return s >= 0 && find(p, "energy_total") >= 0 &&
	    enum_has(p, &p->points[s], 1) && enum_has(p, &p->points[s], 2) &&
	    enum_has(p, &p->points[s], 3);
}

/*
 * What the error point shows in each state: through the state's register if
 * they share it (encode the state, decode the error from the same bits),
 * else 0.
 */
static void
error_table(struct chgmodel *c, const struct profile *p)
{
	const struct profile_point *sp, *ep;
	uint16_t regs[4];
	struct dec v;
	int64_t s;

	memset(c->err_for, 0, sizeof(c->err_for));
	if (c->idx[R_ERROR] < 0)
		return;
	sp = &p->points[c->idx[R_STATE]];
	ep = &p->points[c->idx[R_ERROR]];
	if (sp->fc != ep->fc || sp->addr != ep->addr || sp->type != ep->type)
		return;
	for (s = 1; s <= 6; s++) {
		memset(regs, 0, sizeof(regs));
		if (profile_point_encode(p, sp, dec_from_int(s), regs) == 0 &&
		    profile_point_decode(p, ep, regs, &v) == 0 && v.e == 0)
			c->err_for[s] = v.m;
	}
}

struct chgmodel *
chgmodel_new(const struct profile *p, uint64_t seed)
{
	struct chgmodel *c;
	int r;

	if (!chgmodel_is_charger(p) || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->seed = model_mix(seed ^ 0x63686172ULL);
	c->period = CHGMODEL_PERIOD_DEFAULT_MS;
	for (r = 0; r < R_N; r++)
		c->idx[r] = find(p, role_names[r]);
	error_table(c, p);
	c->has_e = enum_has(p, &p->points[c->idx[R_STATE]], 5);
	c->has_f = enum_has(p, &p->points[c->idx[R_STATE]], 6);
	/* A counter that has seen a few years: 1000..9999 kWh. */
	c->base_wh = 1000000 + (int64_t)(model_mix(c->seed) % 9000000);
	return c;
}

void
chgmodel_set_period(struct chgmodel *c, int64_t period_ms)
{
	if (c != NULL && period_ms >= CHGMODEL_PERIOD_MIN_MS && !c->started)
		c->period = period_ms;
}

/* Charging current of cycle k in 0.1 A: 6.0 .. 15.9 A. */
static int64_t
cycle_ideci(const struct chgmodel *c, int64_t k)
{
	return 60 + (int64_t)(model_mix(c->seed ^ model_mix((uint64_t)k)) % 100);
}

/* Energy of cycle k in whole Wh after t_c ms of charging (690 W per A). */
static int64_t
charged_wh(const struct chgmodel *c, int64_t k, int64_t t_c)
{
	return 69 * cycle_ideci(c, k) * t_c / WMS_PER_WH;
}

static int64_t
c_len(const struct chgmodel *c)
{
	return c->period * (PERMILLE_C_END - PERMILLE_C) / 1000;
}

/* The fault window's state in session k: E or F as the profile allows. */
static int64_t
fault_state(const struct chgmodel *c, int64_t k)
{
	int want_f = (k & 1) != 0;

	if (c->has_f && (want_f || !c->has_e))
		return 6;
	return c->has_e ? 5 : 2;
}

void
chgmodel_update(struct chgmodel *c, int64_t t)
{
	int64_t k, in, tc;

	if (!c->started) {
		c->started = 1;
		c->last_t = t;
		c->k_done = floor_div(t, c->period);
	}
	if (t < c->last_t)
		t = c->last_t;		/* counters never go back */
	c->last_t = t;
	k = floor_div(t, c->period);
	if (k - c->k_done > CATCH_UP_MAX) {
		/* A jump of years: count one cycle's energy for each. */
		c->done_wh += (k - CATCH_UP_MAX - c->k_done) *
		    charged_wh(c, -1, c_len(c));
		c->k_done = k - CATCH_UP_MAX;
	}
	for (; c->k_done < k; c->k_done++)
		c->done_wh += charged_wh(c, c->k_done, c_len(c));
	in = t - k * c->period;
	if (in < c->period * PERMILLE_B / 1000 ||
	    in >= c->period * PERMILLE_B_END / 1000)
		c->state = 1;
	else if (in >= c->period * PERMILLE_C / 1000 &&
	    in < c->period * PERMILLE_C_END / 1000)
		c->state = 3;
	else if (in >= c->period * PERMILLE_C_END / 1000 &&
	    in < c->period * PERMILLE_FAULT_END / 1000)
		c->state = fault_state(c, k);
	else
		c->state = 2;
	tc = in - c->period * PERMILLE_C / 1000;
	tc = tc < 0 ? 0 : tc > c_len(c) ? c_len(c) : tc;
	c->ideci = c->state == 3 ? cycle_ideci(c, k) : 0;
	c->watts = 69 * c->ideci;
	c->session_wh = charged_wh(c, k, tc);
	c->total_wh = c->base_wh + c->done_wh + c->session_wh;
	/* Before this cycle's plug-in the register shows the last session. */
	if (in < c->period * PERMILLE_B / 1000)
		c->session_wh = charged_wh(c, k - 1, c_len(c));
}

int
chgmodel_value(const struct chgmodel *c, size_t point, struct dec *out)
{
	int r;

	for (r = 0; r < R_N; r++)
		if (c->idx[r] == (long)point)
			break;
	switch (r) {
	case R_STATE:
		*out = dec_from_int(c->state);
		return 0;
	case R_ERROR:
		*out = dec_from_int(c->err_for[c->state]);
		return 0;
	case R_I1:
	case R_I2:
	case R_I3:
		*out = (struct dec){ c->ideci, -1 };
		return 0;
	case R_POWER:
		*out = dec_from_int(c->watts);
		return 0;
	case R_TOTAL:
		*out = (struct dec){ c->total_wh, -3 };
		return 0;
	case R_SESSION:
		*out = (struct dec){ c->session_wh, -3 };
		return 0;
	}
	return -1;
}

void
chgmodel_free(struct chgmodel *c)
{
	free(c);
}
