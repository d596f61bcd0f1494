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
 * Wh. A current limit or a forced state switches to a model integrated in
 * ticks (below, "The controlled model") that keeps the same guarantees. The "error" point reads 0, or what the state's register shows through
 * it when both points share a register (Alfen: the state letter).
 */
#include <stdlib.h>
#include <string.h>

#include "tools/sim/chgmodel.h"
#include "tools/sim/model.h"

struct chgmodel;
static void chgctl_advance(struct chgmodel *c, int64_t t);

#define PERMILLE_B	150
#define PERMILLE_C	250
#define PERMILLE_C_END	700
#define PERMILLE_FAULT_END	800
#define PERMILLE_B_END	850
#define CATCH_UP_MAX	100000	/* cycles summed one by one after a jump */
#define WMS_PER_WH	3600000LL
#define TICK_MS		100		/* the controlled model's step */
#define TICKS_MAX	864000		/* a day; a longer gap is skipped */

enum role {
	R_STATE, R_ERROR, R_I1, R_I2, R_I3, R_POWER, R_TOTAL, R_SESSION, R_N
};

static const char *const role_names[R_N] = {
	"state", "error", "current_l1", "current_l2", "current_l3", "power",
	"energy_total", "energy_session",
};

/*
 * Once a current limit is set or a state forced (chgmodel_set_limit,
 * chgmodel_force_state), the closed form above no longer holds: the current
 * follows the limit with a lag, so energy is integrated in 100 ms ticks
 * instead (chgctl.c).
 */
struct chgctl {
	int on;				/* integrating since the first control */
	int64_t limit_ma;		/* 0: none */
	int forced;			/* IEC state 1..6, 0: the cycle's */
	int64_t tick;			/* last tick integrated (t / TICK_MS) */
	int64_t ima;			/* the car's current now, mA */
	int64_t q;			/* mA*ms charged since the plug-in */
	int64_t plug_wh;		/* energy_total at the plug-in */
	int64_t car_ma;			/* the car's own maximum; 0: the cycle's */
};

struct chgmodel {
	uint64_t seed;
	int64_t period;			/* ms */
	long idx[R_N];			/* point index of each role, or -1 */
	int64_t err_for[7];		/* error value per IEC state 1..6 */
	int has_e, has_f;		/* the state enum has E (5), F (6) */
	int started;
	int64_t last_t, k_done, base_wh, done_wh;
	struct chgctl ctl;
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

/* The cycle's IEC state at t (cycle k = floor(t / period)). */
static int64_t
cycle_state(const struct chgmodel *c, int64_t t)
{
	int64_t k = floor_div(t, c->period), in = t - k * c->period;

	if (in < c->period * PERMILLE_B / 1000 ||
	    in >= c->period * PERMILLE_B_END / 1000)
		return 1;
	if (in >= c->period * PERMILLE_C / 1000 &&
	    in < c->period * PERMILLE_C_END / 1000)
		return 3;
	if (in >= c->period * PERMILLE_C_END / 1000 &&
	    in < c->period * PERMILLE_FAULT_END / 1000)
		return fault_state(c, k);
	return 2;
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
	if (c->ctl.on) {
		if (c->ctl.tick == INT64_MIN) {
			/* One tick at t: a plug-in at the start is a session's. */
			c->ctl.tick = floor_div(t, TICK_MS) - 1;
			c->state = 1;
			c->total_wh = c->base_wh;
		}
		chgctl_advance(c, t);
		c->last_t = t;
		return;
	}
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
	c->state = cycle_state(c, t);
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

/*
 * The controlled model, from the first limit or forced state on (the
 * closed form of the cycle cannot follow a limit that comes at any time).
 * Time moves in ticks of 100 ms. In C the car's current moves a fifth of
 * the way to its target each tick (at least 1 mA, so it arrives exactly):
 * a first-order lag of about 0.45 s that is within 0.1 A of a 26 A step
 * after 2.9 s. The target is the limit, or the car's own maximum if that is
 * lower. Outside C the current is 0 at once (the contactor is open). Energy
 * is the sum of 690 W per A over the ticks; a session starts at each move
 * out of A, with energy_total at that moment as its base, so the session
 * register stays energy_total minus its value at plug-in, to the Wh.
 */

static int64_t
ctl_state(const struct chgmodel *c, int64_t t)
{
	return c->ctl.forced != 0 ? c->ctl.forced : cycle_state(c, t);
}

static void
ctl_tick(struct chgmodel *c, int64_t t)
{
	struct chgctl *x = &c->ctl;
	int64_t st = ctl_state(c, t), target, d, stepd;

	if (st != 1 && c->state == 1) {		/* plugged in */
		x->plug_wh = c->total_wh;
		x->q = 0;
	}
	c->state = st;
	if (st != 3) {
		x->ima = 0;
	} else {
		target = x->car_ma > 0 ? x->car_ma :
		    100 * cycle_ideci(c, floor_div(t, c->period));
		if (x->limit_ma > 0 && x->limit_ma < target)
			target = x->limit_ma;
		d = target - x->ima;
		stepd = d / 5;
		if (stepd == 0 && d != 0)
			stepd = d > 0 ? 1 : -1;
		x->ima += stepd;
	}
	x->q += x->ima * TICK_MS;
	c->session_wh = 69 * x->q / (100 * WMS_PER_WH);
	c->total_wh = x->plug_wh + c->session_wh;
}

static void
chgctl_advance(struct chgmodel *c, int64_t t)
{
	struct chgctl *x = &c->ctl;
	int64_t to = floor_div(t, TICK_MS);

	if (to - x->tick > TICKS_MAX)
		x->tick = to - TICKS_MAX;
	for (; x->tick < to; x->tick++)
		ctl_tick(c, (x->tick + 1) * TICK_MS);
	/* Shown as the registers of the chargers here show it: 0.1 A. */
	c->ideci = (x->ima + 50) / 100;
	c->watts = 69 * c->ideci;
}

/* Take over from the closed form at the last update's time. */
static void
ctl_start(struct chgmodel *c)
{
	struct chgctl *x = &c->ctl;

	if (x->on)
		return;
	x->on = 1;
	if (!c->started) {
		x->tick = INT64_MIN;	/* the first update starts it */
		return;
	}
	x->tick = floor_div(c->last_t, TICK_MS);
	x->ima = 100 * c->ideci;
	x->plug_wh = c->total_wh - c->session_wh;
	/* The smallest charge that shows session_wh (Wh rounded down). */
	x->q = (c->session_wh * 100 * WMS_PER_WH + 68) / 69;
}

void
chgmodel_set_limit(struct chgmodel *c, int64_t limit_ma)
{
	ctl_start(c);
	c->ctl.limit_ma = limit_ma > 0 ? limit_ma : 0;
}

void
chgmodel_force_state(struct chgmodel *c, int state)
{
	ctl_start(c);
	c->ctl.forced = state >= 1 && state <= 6 ? state : 0;
}

void
chgmodel_set_car(struct chgmodel *c, int64_t max_ma)
{
	ctl_start(c);
	c->ctl.car_ma = max_ma > 0 ? max_ma : 0;
}

int
chgmodel_state(const struct chgmodel *c)
{
	return (int)c->state;
}

void
chgmodel_free(struct chgmodel *c)
{
	free(c);
}
