/*
 * The value model of a simulated household meter.
 *
 * Every call derives the whole electrical state of a three-phase connection from
 * the time: per-phase voltage (slow drift, noise, a small drop under load),
 * current (a daily load curve, appliance bursts, noise), power factor, then the
 * powers computed exactly from the rounded V, I and pf, so power_l1 is what a
 * meter would show for the voltage and current it shows. Only the energy counters
 * carry state: they integrate the total power over the time between calls.
 *
 * Randomness is a hash of (seed, stream, time step), not a generator advanced per
 * call, so a value depends on the time asked for and not on how often the model
 * was asked before. Only +, -, *, / and sqrt are used on doubles (all correctly
 * rounded in IEEE 754; the target is built with -ffp-contract=off), so a benchmark
 * gives the same numbers on x86-64 and under qemu-aarch64.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/regmap.h"
#include "tools/sim/chgmodel.h"
#include "tools/sim/model.h"

#define MIN_MS		60000LL
#define HOUR_MS		3600000LL
#define DAY_MS		86400000LL
#define MAX_STEP_MS	(3653 * DAY_MS)

/* Energy counters count (P_prev + P_now) * dt in 0.1 W * ms units. */
#define HALF_DWMS_PER_KWH	72000000000LL
#define HALF_DWMS_PER_WH	72000000LL

#define PH_TOTAL	3

enum kind {
	K_VOLTAGE,	/* voltage_lN */
	K_VOLTAGE_LL,	/* voltage_l1_l2, voltage_l2_l3, voltage_l3_l1 */
	K_CURRENT,	/* current_lN */
	K_CURRENT_N,	/* current_n: neutral */
	K_CURRENT_SUM,	/* current_sum, current_total */
	K_POWER,	/* power_lN, power_total */
	K_APPARENT,	/* apparent_power_lN, apparent_power_total */
	K_REACTIVE,	/* reactive_power_lN, reactive_power_total */
	K_PF,		/* power_factor_lN, power_factor_total */
	K_FREQ,		/* frequency */
	K_IMPORT,	/* energy_import */
	K_EXPORT,	/* energy_export */
	K_ENERGY_TOTAL,	/* energy_total: import + export */
	K_COUNTER,	/* unknown name, energy unit: a monotonic counter */
	K_NOISE,	/* unknown name: bounded noise around a nominal value */
	K_ENUM,		/* an enum point: one of its values, changing slowly */
	K_BIT,		/* a coil or discrete input: toggles now and then */
};

#define MODEL_ENUM_MAX PROFILE_ENUM_MAX

struct mpoint {
	enum kind kind;
	unsigned phase;			/* 0..2, or PH_TOTAL */
	enum reg_type type;
	struct dec scale, offset;
	unsigned bit_n;			/* bit field width, 0: whole value */
	unsigned n_enum;		/* K_ENUM */
	int64_t enum_val[MODEL_ENUM_MAX];
	uint64_t stream;		/* K_NOISE, K_COUNTER, K_ENUM, K_BIT */
	double nominal, spread;		/* K_NOISE */
	int16_t e;			/* K_NOISE, K_COUNTER: resolution 10^e */
	int64_t acc, per_lsb;		/* K_COUNTER */
	int64_t frac_milli;		/* K_COUNTER: share of the total power */
};

/* The state of one instant; integers in the unit of their resolution. */
struct state {
	int64_t cv[3];		/* 0.01 V */
	int64_t ma[3];		/* 0.001 A */
	int64_t pf[3];		/* 0.001 */
	int64_t p[4];		/* 0.1 W; [3] total */
	int64_t s[4];		/* 0.1 VA */
	int64_t chz;		/* 0.01 Hz */
	int64_t pexp;		/* 0.1 W exported (PV surplus) */
};

struct model {
	uint64_t seed;
	double vbase[3];	/* V */
	double amp[3];		/* A at the evening peak, without appliances */
	double surplus_peak;	/* W exported at noon, 0 without PV */
	int started;
	int64_t last_t;
	int64_t last_p, last_pexp;
	int64_t acc_imp, acc_exp;
	size_t n;
	struct mpoint *pts;
	struct chgmodel *chg;	/* chargers: sessions, not a load curve */
};

/* Streams: one per random quantity, so quantities do not move together. */
enum {
	S_SETUP = 1, S_VSLOW, S_V, S_I = S_V + 3, S_BURST = S_I + 3,
	S_PF = S_BURST + 3, S_FREQ = S_PF + 3, S_CLOUD, S_POINT = 64,
};

/* Load factor at each hour of the day (0..1): night, morning and evening peaks. */
static const double load_curve[24] = {
	0.15, 0.10, 0.08, 0.08, 0.08, 0.10, 0.35, 0.60, 0.45, 0.30, 0.28, 0.35,
	0.50, 0.40, 0.28, 0.25, 0.30, 0.55, 0.80, 1.00, 0.90, 0.70, 0.50, 0.30,
};

/* splitmix64's finalizer: a good 64-bit mix. */
uint64_t
model_mix(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

/* Uniform in [-1, 1), a pure function of its arguments. */
static double
hrand(uint64_t seed, uint64_t stream, int64_t k)
{
	uint64_t h = model_mix(seed ^ model_mix(stream ^ model_mix((uint64_t)k)));

	return (double)(h >> 11) * 0x1p-52 - 1.0;
}

/* Uniform in [0, 1). */
static double
urand(uint64_t seed, uint64_t stream, int64_t k)
{
	return (hrand(seed, stream, k) + 1.0) / 2.0;
}

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/*
 * Value noise: random knots every period, joined by smoothstep. Continuous in t,
 * so a quantity drifts instead of jumping between polls. In [-1, 1].
 */
static double
smooth(uint64_t seed, uint64_t stream, int64_t t, int64_t period)
{
	int64_t k = floor_div(t, period);
	double a = hrand(seed, stream, k), b = hrand(seed, stream, k + 1);
	double x = (double)(t - k * period) / (double)period;

	return a + (b - a) * x * x * (3.0 - 2.0 * x);
}

static double
clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* v rounded to a multiple of 10^e (e in -6..0), as an integer count of 10^e. */
static int64_t
quant(double v, int e)
{
	double f = 1.0;
	int i;

	for (i = 0; i < -e; i++)
		f *= 10.0;
	v *= f;
	return (int64_t)(v < 0 ? v - 0.5 : v + 0.5);
}

/* a / b rounded half away from zero; b > 0. */
static int64_t
div_round(int64_t a, int64_t b)
{
	return a < 0 ? -((-a + b / 2) / b) : (a + b / 2) / b;
}

static double
load_factor(int64_t t)
{
	int64_t ms = t - floor_div(t, DAY_MS) * DAY_MS;
	int h = (int)(ms / HOUR_MS);
	double x = (double)(ms - h * HOUR_MS) / (double)HOUR_MS;

	return load_curve[h] + (load_curve[(h + 1) % 24] - load_curve[h]) * x;
}

/*
 * Exported power: the part of a PV system's output the household does not use,
 * a bell between 09:00 and 17:00 dimmed by clouds. The per-phase powers model the
 * consumption only, so export is a separate, small quantity.
 */
static double
export_watts(const struct model *m, int64_t t)
{
	int64_t ms = t - floor_div(t, DAY_MS) * DAY_MS;
	double h = (double)ms / (double)HOUR_MS, x;

	if (m->surplus_peak <= 0.0 || h < 9.0 || h > 17.0)
		return 0.0;
	x = 1.0 - (h - 13.0) * (h - 13.0) / 16.0;
	return m->surplus_peak * x * (0.7 + 0.3 * smooth(m->seed, S_CLOUD, t,
	    15 * MIN_MS));
}

static void
compute_state(const struct model *m, int64_t t, struct state *st)
{
	uint64_t sd = m->seed;
	double v, i, pf, burst, f;
	int64_t sum_s = 0;
	int ph;

	st->p[PH_TOTAL] = 0;
	for (ph = 0; ph < 3; ph++) {
		burst = smooth(sd, S_BURST + ph, t, 3 * MIN_MS);
		i = 0.15 + m->amp[ph] * load_factor(t) *
		    (0.85 + 0.3 * smooth(sd, S_I + ph, t, 10 * MIN_MS)) +
		    (burst > 0.8 ? 40.0 * (burst - 0.8) : 0.0) +
		    0.03 * hrand(sd, S_I + ph, t);
		st->ma[ph] = quant(clampd(i, 0.0, 16.0), -3);

		v = m->vbase[ph] + 2.0 * smooth(sd, S_VSLOW, t, 2 * HOUR_MS) +
		    0.8 * smooth(sd, S_V + ph, t, 10 * MIN_MS) -
		    0.12 * (double)st->ma[ph] / 1000.0 +
		    0.15 * hrand(sd, S_V + ph, t);
		st->cv[ph] = quant(clampd(v, 207.0, 253.0), -2);

		pf = 0.955 + 0.04 * smooth(sd, S_PF + ph, t, 20 * MIN_MS) +
		    0.003 * hrand(sd, S_PF + ph, t);
		st->pf[ph] = quant(clampd(pf, 0.9, 1.0), -3);

		/* Exact products of the rounded values: 1e-8 W, 1e-5 VA. */
		st->p[ph] = div_round(st->cv[ph] * st->ma[ph] * st->pf[ph],
		    10000000);
		st->s[ph] = div_round(st->cv[ph] * st->ma[ph], 10000);
		st->p[PH_TOTAL] += st->p[ph];
		sum_s += st->s[ph];
	}
	st->s[PH_TOTAL] = sum_s;
	f = 50.0 + 0.035 * smooth(sd, S_FREQ, t, 5 * MIN_MS) +
	    0.01 * hrand(sd, S_FREQ, t);
	st->chz = quant(clampd(f, 49.95, 50.05), -2);
	st->pexp = quant(export_watts(m, t), -1);
}

/* Line-to-line voltage of phases a and b, 120 degrees apart. */
static int64_t
line_voltage(const struct state *st, unsigned a)
{
	double va = (double)st->cv[a] / 100.0;
	double vb = (double)st->cv[(a + 1) % 3] / 100.0;

	return quant(sqrt(va * va + vb * vb + va * vb), -2);
}

static int64_t
neutral_current(const struct state *st)
{
	double a = (double)st->ma[0] / 1000.0, b = (double)st->ma[1] / 1000.0;
	double c = (double)st->ma[2] / 1000.0;
	double q = a * a + b * b + c * c - a * b - b * c - c * a;

	return quant(sqrt(q > 0.0 ? q : 0.0), -3);
}

static int64_t
reactive(const struct state *st, unsigned ph)
{
	double s = (double)st->s[ph], p = (double)st->p[ph];
	double q = s * s - p * p;

	return (int64_t)(sqrt(q > 0.0 ? q : 0.0) + 0.5);
}

static struct dec
mkdec(int64_t m, int e)
{
	struct dec d = { m, (int16_t)e };

	return d;
}

static struct dec
kwh(int64_t acc)
{
	return mkdec(div_round(acc, HALF_DWMS_PER_KWH / 100), -2);
}

static struct dec
point_value(const struct model *m, const struct mpoint *mp,
    const struct state *st, int64_t t)
{
	unsigned ph = mp->phase;
	double v;
	int64_t pf;

	switch (mp->kind) {
	case K_VOLTAGE:
		return mkdec(st->cv[ph], -2);
	case K_VOLTAGE_LL:
		return mkdec(line_voltage(st, ph), -2);
	case K_CURRENT:
		return mkdec(st->ma[ph], -3);
	case K_CURRENT_N:
		return mkdec(neutral_current(st), -3);
	case K_CURRENT_SUM:
		return mkdec(st->ma[0] + st->ma[1] + st->ma[2], -3);
	case K_POWER:
		return mkdec(st->p[ph], -1);
	case K_APPARENT:
		return mkdec(st->s[ph], -1);
	case K_REACTIVE:
		if (ph == PH_TOTAL)
			return mkdec(reactive(st, 0) + reactive(st, 1) +
			    reactive(st, 2), -1);
		return mkdec(reactive(st, ph), -1);
	case K_PF:
		if (ph != PH_TOTAL)
			return mkdec(st->pf[ph], -3);
		pf = st->s[PH_TOTAL] > 0 ?
		    div_round(st->p[PH_TOTAL] * 1000, st->s[PH_TOTAL]) : 1000;
		return mkdec(pf, -3);
	case K_FREQ:
		return mkdec(st->chz, -2);
	case K_IMPORT:
		return kwh(m->acc_imp);
	case K_EXPORT:
		return kwh(m->acc_exp);
	case K_ENERGY_TOTAL:
		return kwh(m->acc_imp + m->acc_exp);
	case K_COUNTER:
		return mkdec(div_round(mp->acc, mp->per_lsb), mp->e);
	case K_ENUM:
		/* A state holds for minutes, as a charger's does. */
		return mkdec(mp->enum_val[(uint64_t)(urand(m->seed, mp->stream,
		    floor_div(t, 2 * MIN_MS)) * mp->n_enum) % mp->n_enum], 0);
	case K_BIT:
		return mkdec(urand(m->seed, mp->stream, floor_div(t,
		    MIN_MS)) < 0.5, 0);
	case K_NOISE:
		v = mp->nominal + mp->spread *
		    (0.8 * smooth(m->seed, mp->stream, t, 10 * MIN_MS) +
		    0.2 * hrand(m->seed, mp->stream, t));
		return mkdec(quant(v, mp->e), mp->e);
	}
	return mkdec(0, 0);
}

static int
type_range(const struct mpoint *mp, int64_t *lo, int64_t *hi)
{
	if (mp->bit_n != 0) {
		*lo = 0;
		*hi = (int64_t)(((uint64_t)1 << mp->bit_n) - 1);
		return 1;
	}
	switch (mp->type) {
	case RT_BOOL: *lo = 0; *hi = 1; return 1;
	case RT_U16: *lo = 0; *hi = UINT16_MAX; return 1;
	case RT_I16: *lo = INT16_MIN; *hi = INT16_MAX; return 1;
	case RT_U32: *lo = 0; *hi = UINT32_MAX; return 1;
	case RT_I32: *lo = INT32_MIN; *hi = INT32_MAX; return 1;
	case RT_U64: *lo = 0; *hi = INT64_MAX; return 1;
	case RT_I64: *lo = INT64_MIN; *hi = INT64_MAX; return 1;
	case RT_F32:
	case RT_F64:
		break;
	}
	return 0;
}

/*
 * An integer register (or bit field) holds (v - offset) / scale: round that to
 * an integer within the field's range, exactly where the numbers allow (scales
 * are decimals like 0.1), so the encoder always accepts the result. Enum
 * values are served as they are.
 */
static struct dec
fit_register(struct dec v, const struct mpoint *mp)
{
	struct dec scale = mp->scale, off = mp->offset, out;
	int64_t lo, hi, num, den = scale.m, q, p10 = 1;
	int d, overflow = 0;
	double x;

	if (mp->kind == K_ENUM || !type_range(mp, &lo, &hi) || den == 0)
		return v;
	if (off.m != 0) {
		x = dec_to_double(v) - dec_to_double(off);
		v = mkdec(quant(x, -3), -3);
	}
	num = v.m;
	d = v.e - scale.e;
	if (den < 0) {
		num = -num;
		den = -den;
	}
	for (; d > 0 && !overflow; d--)
		overflow = __builtin_mul_overflow(p10, 10, &p10);
	for (; d < 0 && !overflow; d++)
		overflow = __builtin_mul_overflow(den, 10, &den);
	if (!overflow)
		overflow = __builtin_mul_overflow(num, p10, &num);
	if (!overflow) {
		q = div_round(num, den);
	} else {
		x = dec_to_double(v) / dec_to_double(scale);
		q = x >= 9.2e18 ? INT64_MAX : x <= -9.2e18 ? INT64_MIN :
		    (int64_t)(x < 0 ? x - 0.5 : x + 0.5);
	}
	q = q < lo ? lo : q > hi ? hi : q;
	if (dec_mul(dec_from_int(q), scale, &out) != 0)
		return mkdec(0, 0);
	if (off.m != 0 && dec_add(out, off, &out) != 0)
		return mkdec(0, 0);
	return out;
}

/* "prefix_l1".."prefix_l3" -> 0..2, "prefix_total" -> PH_TOTAL, else -1. */
static int
phase_of(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(name, prefix, n) != 0 || name[n] != '_')
		return -1;
	name += n + 1;
	if (name[0] == 'l' && name[1] >= '1' && name[1] <= '3' && name[2] == '\0')
		return name[1] - '1';
	return strcmp(name, "total") == 0 ? PH_TOTAL : -1;
}

struct unit_nominal {
	const char *unit;
	double nominal, spread;
	int e;
};

/* Unknown points: a plausible value for their unit, nominal +- spread. */
static const struct unit_nominal unit_nominals[] = {
	{ "V", 230.0, 3.0, -2 },	{ "A", 5.0, 3.0, -3 },
	{ "W", 1000.0, 500.0, -1 },	{ "VA", 1000.0, 500.0, -1 },
	{ "var", 200.0, 100.0, -1 },	{ "VAr", 200.0, 100.0, -1 },
	{ "kW", 1.0, 0.5, -3 },		{ "kVA", 1.0, 0.5, -3 },
	{ "kvar", 0.2, 0.1, -3 },	{ "Hz", 50.0, 0.05, -2 },
	{ "%", 50.0, 30.0, -1 },	{ "C", 30.0, 10.0, -1 },
	{ "degC", 30.0, 10.0, -1 },	{ "", 100.0, 50.0, -2 },
};

static void
classify_unknown(struct mpoint *mp, const struct profile_point *pp,
    uint64_t seed, size_t idx)
{
	size_t ulen = strlen(pp->unit), i;
	const struct unit_nominal *un = &unit_nominals[
	    sizeof(unit_nominals) / sizeof(unit_nominals[0]) - 1];

	mp->stream = S_POINT + idx;
	if (ulen > 1 && pp->unit[ulen - 1] == 'h') {
		/* kWh, kvarh, Wh...: a counter fed by a share of the power. */
		mp->kind = K_COUNTER;
		mp->frac_milli = 100 + (int64_t)(400 * urand(seed, mp->stream, 0));
		if (pp->unit[0] == 'k') {
			mp->per_lsb = HALF_DWMS_PER_KWH / 100;
			mp->e = -2;
		} else {
			mp->per_lsb = HALF_DWMS_PER_WH;
			mp->e = 0;
		}
		mp->acc = (int64_t)(100.0 + 5000.0 * urand(seed, mp->stream,
		    1)) * HALF_DWMS_PER_KWH;
		return;
	}
	for (i = 0; i < sizeof(unit_nominals) / sizeof(unit_nominals[0]); i++) {
		if (strcmp(pp->unit, unit_nominals[i].unit) == 0) {
			un = &unit_nominals[i];
			break;
		}
	}
	mp->kind = K_NOISE;
	mp->nominal = un->nominal;
	mp->spread = un->spread;
	mp->e = (int16_t)un->e;
}

static void
classify(struct mpoint *mp, const struct profile *prof,
    const struct profile_point *pp, uint64_t seed, size_t idx)
{
	static const char *const ll[] = {
		"voltage_l1_l2", "voltage_l2_l3", "voltage_l3_l1",
	};
	const char *n = pp->name;
	int ph;
	unsigned i;

	mp->type = pp->type;
	mp->scale = pp->scale;
	mp->offset = pp->offset;
	mp->bit_n = pp->bit_n;
	mp->phase = PH_TOTAL;
	mp->stream = S_POINT + idx;
	if (pp->n_enum > 0) {
		mp->kind = K_ENUM;
		mp->n_enum = pp->n_enum;
		for (i = 0; i < pp->n_enum; i++)
			mp->enum_val[i] = prof->enums[pp->enum_first + i].val;
		return;
	}
	if (pp->type == RT_BOOL) {
		mp->kind = K_BIT;
		return;
	}
	for (i = 0; i < 3; i++) {
		if (strcmp(n, ll[i]) == 0) {
			mp->kind = K_VOLTAGE_LL;
			mp->phase = i;
			return;
		}
	}
	if ((ph = phase_of(n, "voltage")) >= 0 && ph != PH_TOTAL)
		mp->kind = K_VOLTAGE;
	else if ((ph = phase_of(n, "current")) >= 0 && ph != PH_TOTAL)
		mp->kind = K_CURRENT;
	else if (strcmp(n, "current_n") == 0 || strcmp(n, "current_neutral") == 0)
		mp->kind = K_CURRENT_N;
	else if (strcmp(n, "current_sum") == 0 || strcmp(n, "current_total") == 0)
		mp->kind = K_CURRENT_SUM;
	else if ((ph = phase_of(n, "power")) >= 0)
		mp->kind = K_POWER;
	else if ((ph = phase_of(n, "apparent_power")) >= 0)
		mp->kind = K_APPARENT;
	else if ((ph = phase_of(n, "reactive_power")) >= 0)
		mp->kind = K_REACTIVE;
	else if ((ph = phase_of(n, "power_factor")) >= 0)
		mp->kind = K_PF;
	else if (strcmp(n, "frequency") == 0)
		mp->kind = K_FREQ;
	else if (strcmp(n, "energy_import") == 0 || strcmp(n, "import_energy") == 0)
		mp->kind = K_IMPORT;
	else if (strcmp(n, "energy_export") == 0 || strcmp(n, "export_energy") == 0)
		mp->kind = K_EXPORT;
	else if (strcmp(n, "energy_total") == 0 || strcmp(n, "total_energy") == 0)
		mp->kind = K_ENERGY_TOTAL;
	else
		classify_unknown(mp, pp, seed, idx);
	if (ph >= 0)
		mp->phase = (unsigned)ph;
}

struct model *
model_new(const struct profile *p, uint64_t seed)
{
	struct model *m;
	size_t i;
	int ph;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	if (p->n_points > 0 &&
	    (m->pts = calloc(p->n_points, sizeof(*m->pts))) == NULL) {
		free(m);
		return NULL;
	}
	m->seed = model_mix(seed);
	m->n = p->n_points;
	for (ph = 0; ph < 3; ph++) {
		m->vbase[ph] = 229.0 + 3.0 * urand(m->seed, S_SETUP, ph);
		m->amp[ph] = 1.2 + 1.3 * urand(m->seed, S_SETUP, 3 + ph);
	}
	if (urand(m->seed, S_SETUP, 6) < 0.5)
		m->surplus_peak = 200.0 + 400.0 * urand(m->seed, S_SETUP, 7);
	m->acc_imp = (int64_t)(1000.0 + 9000.0 * urand(m->seed, S_SETUP, 8)) *
	    HALF_DWMS_PER_KWH;
	m->acc_exp = m->surplus_peak > 0.0 ? (int64_t)(200.0 * urand(m->seed,
	    S_SETUP, 9)) * HALF_DWMS_PER_KWH : 0;
	for (i = 0; i < p->n_points; i++)
		classify(&m->pts[i], p, &p->points[i], m->seed, i);
	if (chgmodel_is_charger(p) &&
	    (m->chg = chgmodel_new(p, m->seed)) == NULL) {
		model_free(m);
		return NULL;
	}
	return m;
}

void
model_values(struct model *m, int64_t t_ms, struct dec *out)
{
	struct state st;
	int64_t dt, step;
	size_t i;

	compute_state(m, t_ms, &st);
	if (m->started && t_ms > m->last_t) {
		/*
		 * Trapezoids. Power is at most 3 * 253 V * 16 A, so an int64
		 * counter lasts a thousand years; a step is capped at ten.
		 */
		dt = (uint64_t)t_ms - (uint64_t)m->last_t > (uint64_t)MAX_STEP_MS ?
		    MAX_STEP_MS : t_ms - m->last_t;
		step = (m->last_p + st.p[PH_TOTAL]) * dt;
		m->acc_imp += step;
		m->acc_exp += (m->last_pexp + st.pexp) * dt;
		for (i = 0; i < m->n; i++)
			if (m->pts[i].kind == K_COUNTER)
				m->pts[i].acc += step / 1000 *
				    m->pts[i].frac_milli;
	}
	if (!m->started || t_ms > m->last_t) {
		m->started = 1;
		m->last_t = t_ms;
		m->last_p = st.p[PH_TOTAL];
		m->last_pexp = st.pexp;
	}
	if (m->chg != NULL)
		chgmodel_update(m->chg, t_ms);
	for (i = 0; i < m->n; i++) {
		if (m->chg == NULL || chgmodel_value(m->chg, i, &out[i]) != 0)
			out[i] = point_value(m, &m->pts[i], &st, t_ms);
		out[i] = fit_register(out[i], &m->pts[i]);
	}
}

void
model_set_charger_period(struct model *m, int64_t period_ms)
{
	chgmodel_set_period(m->chg, period_ms);
}

struct chgmodel *
model_charger(struct model *m)
{
	return m->chg;
}

void
model_free(struct model *m)
{
	if (m == NULL)
		return;
	chgmodel_free(m->chg);
	free(m->pts);
	free(m);
}
