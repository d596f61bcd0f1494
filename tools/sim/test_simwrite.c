/*
 * Writes to simulated chargers (tools/sim/simwrite.c) and the car following
 * the limit (tools/sim/chgmodel.c): FC6/FC16 at the writable points only,
 * exceptions 2/3 elsewhere or out of range, the value at its read-back, the
 * current at min(limit, car) within 3 s, energy consistent throughout, and
 * each charger fault mode (ignore-limit, clamp, refuse-write, state, car)
 * with its spec, plus late answering a write late.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tools/sim/fault.h"
#include "tools/sim/sim.h"

#define PROFILES WG_SOURCE_DIR "/drivers/profiles"
#define T0 1700000000000LL

struct rig {
	struct sim s;
	struct profile p;	/* the unit's profile, for decoding */
};

static void
rig_up(struct rig *r, const char *profile)
{
	char err[256];

	memset(r, 0, sizeof(*r));
	if (sim_add(&r->s, 1, PROFILES, profile, 1, err, sizeof(err)) != 0 ||
	    profile_load_named(PROFILES, profile, &r->p, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static void
rig_down(struct rig *r)
{
	sim_free(&r->s);
	profile_free(&r->p);
}

static void
fault(struct rig *r, const char *spec)
{
	struct fault f;
	unsigned unit;
	char err[256];

	if (fault_parse(spec, &unit, &f, err, sizeof(err)) != 0 ||
	    sim_fault_set(&r->s, unit, &f, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

/* FC6 (value) or FC16 (regs) at addr at time t: the answer's length. */
static size_t
write_regs(struct rig *r, int fc, unsigned addr, const uint16_t *regs,
    unsigned n, int64_t t, uint8_t *rsp)
{
	uint8_t req[16];
	size_t len = 6;
	unsigned i;

	req[0] = (uint8_t)fc;
	req[1] = (uint8_t)(addr >> 8);
	req[2] = (uint8_t)addr;
	if (fc == 6) {
		req[3] = (uint8_t)(regs[0] >> 8);
		req[4] = (uint8_t)regs[0];
		len = 5;
	} else {
		req[3] = 0;
		req[4] = (uint8_t)n;
		req[5] = (uint8_t)(2 * n);
		for (i = 0; i < n; i++) {
			req[len++] = (uint8_t)(regs[i] >> 8);
			req[len++] = (uint8_t)regs[i];
		}
	}
	return sim_pdu(&r->s, 1, req, len, t, rsp);
}

/* Write amps to current_limit at t; 0 or the exception code. */
static int
set_limit(struct rig *r, double amps, int64_t t)
{
	const struct writable *w = profile_writable(&r->p, "current_limit");
	uint16_t regs[4];
	uint8_t rsp[SIM_PDU_MAX];
	char why[128];
	int n;
	size_t len;

	assert_non_null(w);
	if (writable_encode(w, amps, regs, &n, why, sizeof(why)) != 0) {
		/* out of range: written raw as the device would get it */
		n = 1;
		regs[0] = (uint16_t)(amps * 1000 + 0.5);
	}
	len = write_regs(r, w->fc, w->addr, regs, (unsigned)n, t, rsp);
	if (len == 2) {
		assert_int_equal(rsp[0], w->fc | 0x80);
		return rsp[1];
	}
	assert_int_equal(len, 5);
	assert_int_equal(rsp[0], w->fc);
	return 0;
}

/* The registers of count at addr with fc, read at t, into regs. */
static void
read_regs(struct rig *r, int fc, unsigned addr, unsigned count, int64_t t,
    uint16_t *regs)
{
	uint8_t req[5] = { (uint8_t)fc, (uint8_t)(addr >> 8), (uint8_t)addr, 0,
	    (uint8_t)count }, rsp[SIM_PDU_MAX];
	unsigned i;

	assert_int_equal(sim_pdu(&r->s, 1, req, 5, t, rsp), 2 + 2 * count);
	for (i = 0; i < count; i++)
		regs[i] = (uint16_t)(rsp[2 + 2 * i] << 8 | rsp[3 + 2 * i]);
}

/* Point name as served at t. */
static double
point(struct rig *r, const char *name, int64_t t)
{
	const struct profile_point *pp = NULL;
	uint16_t regs[4];
	struct dec v;
	size_t i;

	for (i = 0; i < r->p.n_points; i++)
		if (strcmp(r->p.points[i].name, name) == 0)
			pp = &r->p.points[i];
	assert_non_null(pp);
	read_regs(r, pp->fc, pp->addr, regmap_words(pp->type), t, regs);
	assert_int_equal(profile_point_decode(&r->p, pp, regs, &v), 0);
	return dec_to_double(v);
}

static double
readback(struct rig *r, int64_t t)
{
	const struct writable *w = profile_writable(&r->p, "current_limit");
	uint16_t regs[4];
	struct dec v;

	read_regs(r, w->rb_fc, w->rb_addr, regmap_words(w->rb_type), t, regs);
	assert_int_equal(writable_decode_readback(w, regs, &v), 0);
	return dec_to_double(v);
}

static void
near(double got, double want)
{
	if (got < want - 0.051 || got > want + 0.051)
		fail_msg("%.3f, not %.3f", got, want);
}

/*
 * The car (16 A) in C; a limit of 8 A: the current is on its way after
 * 0.5 s and there after 3 s; power follows; the read-back shows 8; energy
 * rises, and KEBA's session register stays total minus its plug-in value.
 */
static void
follows(const char *profile)
{
	struct rig r;
	double e0, s0, e1, s1;

	rig_up(&r, profile);
	fault(&r, "1:state:C");
	fault(&r, "1:car:16");
	near(readback(&r, T0), profile_writable(&r.p, "current_limit")->max.m);
	near(point(&r, "state", T0), 3);
	near(point(&r, "current_l1", T0 + 5000), 16);
	e0 = point(&r, "energy_total", T0 + 5000);
	assert_int_equal(set_limit(&r, 8, T0 + 5000), 0);
	near(readback(&r, T0 + 5000), 8);
	e1 = point(&r, "current_l2", T0 + 5500);
	assert_true(e1 < 15.5 && e1 > 8.5);
	near(point(&r, "current_l3", T0 + 8000), 8);
	near(point(&r, "power", T0 + 8000), 5520);
	near(point(&r, "current_l1", T0 + 60000), 8);
	e1 = point(&r, "energy_total", T0 + 3600000);
	/* about 8 A * 690 W/A for an hour, in kWh */
	assert_true(e1 - e0 > 5.5 && e1 - e0 < 5.6);
	/* back to the car's own 16 A: the limit persists until changed */
	assert_int_equal(set_limit(&r, dec_to_double(profile_writable(&r.p,
	    "current_limit")->max), T0 + 3600000), 0);
	near(point(&r, "current_l1", T0 + 3604000), 16);
	if (strcmp(profile, "keba_p30") == 0) {
		fault(&r, "1:state:A");
		e0 = point(&r, "energy_total", T0 + 3700000);
		fault(&r, "1:state:C");
		s0 = point(&r, "energy_session", T0 + 3800000);
		e1 = point(&r, "energy_total", T0 + 3800000);
		s1 = point(&r, "energy_session", T0 + 3900000);
		assert_true(s0 > 0 && s1 > s0);
		near(e1 - e0, s0);
		near(point(&r, "energy_total", T0 + 3900000) - e0, s1);
	}
	rig_down(&r);
}

static void
test_follows(void **state)
{
	(void)state;
	follows("keba_p30");
	follows("alfen_ng9xx");
	follows("heidelberg_ec");
}

/* Only the writable registers, whole, with values in range. */
static void
test_write_errors(void **state)
{
	uint16_t v[2] = { 10000, 0 };
	uint8_t rsp[SIM_PDU_MAX];
	uint8_t bad[6] = { 16, 0x13, 0x8c, 0, 1, 3 };
	struct rig r;

	(void)state;
	rig_up(&r, "keba_p30");
	assert_int_equal(write_regs(&r, 6, 5004, v, 1, T0, rsp), 5);
	near(readback(&r, T0), 10);
	assert_int_equal(write_regs(&r, 6, 5006, v, 1, T0, rsp), 2);
	assert_int_equal(rsp[1], 2);
	assert_int_equal(write_regs(&r, 6, 1100, v, 1, T0, rsp), 2);
	assert_int_equal(rsp[1], 2);
	/* two registers at a one-register point */
	assert_int_equal(write_regs(&r, 16, 5004, v, 2, T0, rsp), 2);
	assert_int_equal(rsp[0], 0x90);
	assert_int_equal(rsp[1], 2);
	/* FC16 of one register is taken where FC6 is */
	assert_int_equal(write_regs(&r, 16, 5004, v, 1, T0, rsp), 5);
	assert_int_equal(set_limit(&r, 5.999, T0), 3);
	assert_int_equal(set_limit(&r, 32.001, T0), 3);
	near(readback(&r, T0), 10);
	/* a byte count that does not match */
	assert_int_equal(sim_pdu(&r.s, 1, bad, sizeof(bad), T0, rsp), 2);
	assert_int_equal(rsp[1], 3);
	rig_down(&r);

	rig_up(&r, "heidelberg_ec");
	v[0] = 161;		/* 16.1 A */
	assert_int_equal(write_regs(&r, 16, 261, v, 1, T0, rsp), 2);
	assert_int_equal(rsp[1], 3);
	v[0] = 125;
	assert_int_equal(write_regs(&r, 6, 261, v, 1, T0, rsp), 5);
	near(readback(&r, T0), 12.5);
	rig_down(&r);

	/* a meter takes no writes at all */
	rig_up(&r, "sdm630");
	assert_int_equal(write_regs(&r, 16, 0, v, 1, T0, rsp), 2);
	assert_int_equal(rsp[1], 1);
	rig_down(&r);
}

static void
test_ignore_limit(void **state)
{
	struct rig r;

	(void)state;
	rig_up(&r, "alfen_ng9xx");
	fault(&r, "1:state:C");
	fault(&r, "1:car:16");
	fault(&r, "1:ignore-limit");
	assert_int_equal(set_limit(&r, 8, T0), 0);
	near(readback(&r, T0 + 5000), 8);
	near(point(&r, "current_l1", T0 + 5000), 16);
	/* lifted: the limit written before acts now */
	fault(&r, "1:none");
	fault(&r, "1:state:C");
	fault(&r, "1:car:16");
	near(point(&r, "current_l1", T0 + 10000), 8);
	rig_down(&r);
}

/* The charger's own ceiling wins and says nothing (evcc#33181). */
static void
test_clamp(void **state)
{
	struct rig r;

	(void)state;
	rig_up(&r, "heidelberg_ec");
	fault(&r, "1:state:C");
	fault(&r, "1:car:16");
	fault(&r, "1:clamp:10");
	near(point(&r, "state", T0), 3);	/* the model starts here */
	near(point(&r, "current_l1", T0 + 5000), 10);
	assert_int_equal(set_limit(&r, 14, T0 + 5000), 0);
	near(readback(&r, T0 + 9000), 14);
	near(point(&r, "current_l1", T0 + 9000), 10);
	assert_int_equal(set_limit(&r, 7, T0 + 9000), 0);
	near(point(&r, "current_l1", T0 + 13000), 7);
	rig_down(&r);
}

static void
test_refuse_write(void **state)
{
	struct rig r;

	(void)state;
	rig_up(&r, "keba_p30");
	fault(&r, "1:refuse-write/2");
	assert_int_equal(set_limit(&r, 8, T0), 0);
	assert_int_equal(set_limit(&r, 9, T0), 4);
	near(readback(&r, T0), 8);
	assert_int_equal(set_limit(&r, 10, T0), 0);
	fault(&r, "1:refuse-write");
	assert_int_equal(set_limit(&r, 11, T0), 4);
	near(readback(&r, T0), 10);
	rig_down(&r);
}

/* late delays a write's answer like any other; the write is applied. */
static void
test_late_write(void **state)
{
	const uint8_t req[5] = { 6, 0x13, 0x8c, 0x1f, 0x40 };	/* 8000 mA */
	struct sim_reply how;
	uint8_t rsp[SIM_PDU_MAX];
	struct rig r;

	(void)state;
	rig_up(&r, "keba_p30");
	fault(&r, "1:late:1500");
	assert_int_equal(sim_answer(&r.s, 1, req, sizeof(req), T0, rsp, &how),
	    5);
	assert_int_equal(how.delay_ms, 1500);
	assert_memory_equal(rsp, req, 5);
	fault(&r, "1:none");
	near(readback(&r, T0), 8);
	rig_down(&r);
}

/* The specs, and charger modes refused where there is no charger. */
static void
test_specs(void **state)
{
	static const char *const bad[] = {
		"1:state", "1:state:G", "1:state:c", "1:state:CC", "1:clamp",
		"1:clamp:0", "1:clamp:81", "1:car:0", "1:ignore-limit:3",
		"1:ignore-limit/2", "1:state:C/2", "1:refuse-write:1",
	};
	struct fault f;
	struct rig r;
	unsigned unit, i;
	char err[256];

	(void)state;
	assert_int_equal(fault_parse("2:state:C", &unit, &f, err, sizeof(err)),
	    0);
	assert_int_equal(unit, 2);
	assert_int_equal(f.mode, FAULT_STATE);
	assert_int_equal(f.arg, 3);
	assert_int_equal(fault_parse("1:clamp:13", &unit, &f, err, sizeof(err)),
	    0);
	assert_int_equal(f.arg, 13);
	assert_int_equal(fault_parse("1:refuse-write/3", &unit, &f, err,
	    sizeof(err)), 0);
	assert_int_equal(f.every, 3);
	assert_string_equal(fault_name(FAULT_IGNORE_LIMIT), "ignore-limit");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (fault_parse(bad[i], &unit, &f, err, sizeof(err)) != -EINVAL)
			fail_msg("'%s' taken", bad[i]);
	rig_up(&r, "sdm630");
	assert_int_equal(fault_parse("1:state:C", &unit, &f, err, sizeof(err)),
	    0);
	assert_int_equal(sim_fault_set(&r.s, 1, &f, err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(err, "unit 1: state: profile 'sdm630' is not a "
	    "charger");
	assert_int_equal(fault_parse("1:refuse-write", &unit, &f, err,
	    sizeof(err)), 0);
	assert_int_equal(sim_fault_check(&r.s, 1, &f, err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(err, "unit 1: refuse-write: profile 'sdm630' has "
	    "no writable points");
	rig_down(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_follows),
		cmocka_unit_test(test_write_errors),
		cmocka_unit_test(test_ignore_limit),
		cmocka_unit_test(test_clamp),
		cmocka_unit_test(test_refuse_write),
		cmocka_unit_test(test_late_write),
		cmocka_unit_test(test_specs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
