/*
 * Unit tests of the simulator's pure parts: RTU framing, the value model and the
 * request handling of the simulated devices (no sockets, no pty).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "drivers/profile.h"
#include "drivers/regmap.h"
#include "tools/sim/frame.h"
#include "tools/sim/model.h"
#include "tools/sim/sim.h"

#define PROFILES	WG_SOURCE_DIR "/drivers/profiles"
#define T0		1767225600000LL	/* 2026-01-01T00:00:00Z */

static void
test_crc16(void **state)
{
	static const uint8_t req[] = { 0x01, 0x03, 0x00, 0x00, 0x00, 0x0a };
	uint8_t adu[8];

	(void)state;
	/* The CRC-16/MODBUS check value, and the spec's read example. */
	assert_int_equal(frame_crc16((const uint8_t *)"123456789", 9), 0x4b37);
	memcpy(adu, req, sizeof(req));
	assert_int_equal(frame_seal(adu, sizeof(req)), 8);
	assert_int_equal(adu[6], 0xc5);
	assert_int_equal(adu[7], 0xcd);
}

static size_t
mkframe(uint8_t *buf, const uint8_t *pdu, size_t n)
{
	memcpy(buf, pdu, n);
	return frame_seal(buf, n);
}

static void
test_frame_find(void **state)
{
	static const uint8_t rd[] = { 0x07, 0x04, 0x00, 0x48, 0x00, 0x04 };
	static const uint8_t wr[] = { 0x07, 0x10, 0x00, 0x01, 0x00, 0x02, 0x04,
	    0x00, 0x0a, 0x01, 0x02 };
	static const uint8_t mei[] = { 0x07, 0x2b, 0x0e, 0x01, 0x00 };
	uint8_t buf[64], f[32];
	size_t n, skip = 99, fl;

	(void)state;
	fl = mkframe(f, rd, sizeof(rd));
	assert_int_equal(frame_find(f, fl, &skip), 8);
	assert_int_equal(skip, 0);
	assert_int_equal(frame_find(f, fl - 1, &skip), 0);

	/* Garbage before a frame is skipped, not mistaken for it. */
	memcpy(buf, "\xff\x03\x00", 3);
	memcpy(buf + 3, f, fl);
	assert_int_equal(frame_find(buf, 3 + fl, &skip), 8);
	assert_int_equal(skip, 3);

	/* A flipped bit: no frame. */
	f[3] ^= 0x10;
	assert_int_equal(frame_find(f, fl, &skip), 0);

	/* Variable length (FC16): its byte count decides; two frames in a row. */
	n = mkframe(buf, wr, sizeof(wr));
	assert_int_equal(n, 13);
	fl = mkframe(buf + n, rd, sizeof(rd));
	assert_int_equal(frame_find(buf, n + fl, &skip), 13);
	assert_int_equal(skip, 0);
	assert_int_equal(frame_find(buf + 13, fl, &skip), 8);

	/* Unknown length (FC43): only a whole buffer after silence is a frame. */
	n = mkframe(buf, mei, sizeof(mei));
	assert_int_equal(frame_find(buf, n, &skip), 0);
	assert_true(frame_whole(buf, n));
	buf[2] ^= 1;
	assert_false(frame_whole(buf, n));
	assert_false(frame_whole(buf, 3));
}

static int
idx_of(const struct profile *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n_points; i++)
		if (strcmp(p->points[i].name, name) == 0)
			return (int)i;
	fail_msg("point %s not in profile", name);
	return -1;
}

/* v as an integer count of 10^e; fails if v is not a multiple of 10^e. */
static int64_t
in_units(struct dec v, int e)
{
	int64_t m = v.m;
	int d = v.e - e;

	for (; d > 0; d--)
		m *= 10;
	for (; d < 0; d++) {
		assert_int_equal(m % 10, 0);
		m /= 10;
	}
	return m;
}

static void
load_sdm630(struct profile *p)
{
	char err[256];

	if (profile_load_named(PROFILES, "sdm630", p, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

/* Field by field: struct dec has padding, memcmp would read it. */
static int
same_values(const struct dec *a, const struct dec *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (a[i].m != b[i].m || a[i].e != b[i].e)
			return 0;
	return 1;
}

static void
test_model_deterministic(void **state)
{
	struct profile p;
	struct model *a, *b, *c;
	struct dec va[PROFILE_POINTS_MAX], vb[PROFILE_POINTS_MAX];
	struct dec vc[PROFILE_POINTS_MAX];
	int64_t t;
	int differs = 0;

	(void)state;
	load_sdm630(&p);
	a = model_new(&p, 42);
	b = model_new(&p, 42);
	c = model_new(&p, 43);
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(c);
	for (t = T0; t < T0 + 3600000; t += 30000) {
		model_values(a, t, va);
		model_values(b, t, vb);
		model_values(c, t, vc);
		assert_true(same_values(va, vb, p.n_points));
		differs |= !same_values(va, vc, p.n_points);
	}
	assert_true(differs);
	model_free(a);
	model_free(b);
	model_free(c);
	profile_free(&p);
}

#define IN(v, e, lo, hi) do { \
	int64_t x_ = in_units(v, e); \
	assert_in_range(x_, lo, hi); \
} while (0)

/* A day at 30 s: plausible ranges, consistent powers, rising energy. */
static void
test_model_physics(void **state)
{
	struct profile p;
	struct model *m;
	struct dec v[PROFILE_POINTS_MAX];
	int64_t t, cv, ma, pf, sum_p, sum_i, imp, exp_, imp0 = -1, prev_imp = 0;
	int64_t prev_exp = 0, imax = 0, imin = INT64_MAX;
	char name[32];
	int ph;

	(void)state;
	load_sdm630(&p);
	assert_non_null(m = model_new(&p, 1));
	for (t = T0; t <= T0 + 86400000; t += 30000) {
		model_values(m, t, v);
		sum_p = sum_i = 0;
		for (ph = 1; ph <= 3; ph++) {
			snprintf(name, sizeof(name), "voltage_l%d", ph);
			cv = in_units(v[idx_of(&p, name)], -2);
			assert_in_range(cv, 22000, 24000);
			snprintf(name, sizeof(name), "current_l%d", ph);
			ma = in_units(v[idx_of(&p, name)], -3);
			assert_in_range(ma, 0, 16000);
			imax = ma > imax ? ma : imax;
			imin = ma < imin ? ma : imin;
			snprintf(name, sizeof(name), "power_factor_l%d", ph);
			pf = in_units(v[idx_of(&p, name)], -3);
			assert_in_range(pf, 900, 1000);
			snprintf(name, sizeof(name), "power_l%d", ph);
			/* P = V * I * pf of the values shown, to 0.1 W. */
			assert_int_equal(in_units(v[idx_of(&p, name)], -1),
			    (cv * ma * pf + 5000000) / 10000000);
			sum_p += in_units(v[idx_of(&p, name)], -1);
			sum_i += ma;
		}
		assert_int_equal(in_units(v[idx_of(&p, "power_total")], -1), sum_p);
		assert_int_equal(in_units(v[idx_of(&p, "current_sum")], -3), sum_i);
		IN(v[idx_of(&p, "frequency")], -2, 4995, 5005);
		IN(v[idx_of(&p, "power_factor_total")], -3, 900, 1000);
		imp = in_units(v[idx_of(&p, "energy_import")], -2);
		exp_ = in_units(v[idx_of(&p, "energy_export")], -2);
		assert_true(imp >= prev_imp);
		assert_true(exp_ >= prev_exp);
		if (imp0 < 0)
			imp0 = imp;
		prev_imp = imp;
		prev_exp = exp_;
	}
	/* A household uses a few to a few tens of kWh a day; load varies. */
	assert_in_range(prev_imp - imp0, 300, 6000);
	assert_true(imax > 4 * imin);
	model_free(m);
	profile_free(&p);
}

/* energy_total is import + export to the meter's 0.01 kWh, +-1 for rounding. */
static void
test_model_energy_total(void **state)
{
	struct profile p;
	struct model *m;
	struct dec v[PROFILE_POINTS_MAX];
	int64_t t, d;

	(void)state;
	load_sdm630(&p);
	assert_non_null(m = model_new(&p, 7));
	for (t = T0; t <= T0 + 86400000; t += 600000) {
		model_values(m, t, v);
		d = in_units(v[idx_of(&p, "energy_total")], -2) -
		    in_units(v[idx_of(&p, "energy_import")], -2) -
		    in_units(v[idx_of(&p, "energy_export")], -2);
		assert_in_range(d + 1, 0, 2);
	}
	/* Time going back adds nothing. */
	model_values(m, T0 + 86400000, v);
	d = in_units(v[idx_of(&p, "energy_import")], -2);
	model_values(m, T0, v);
	assert_int_equal(in_units(v[idx_of(&p, "energy_import")], -2), d);
	model_free(m);
	profile_free(&p);
}

static void
pt(struct profile_point *pp, const char *name, const char *unit, uint16_t addr,
    enum reg_type t, int64_t sm, int se)
{
	memset(pp, 0, sizeof(*pp));
	snprintf(pp->name, sizeof(pp->name), "%s", name);
	snprintf(pp->unit, sizeof(pp->unit), "%s", unit);
	pp->fc = 3;
	pp->addr = addr;
	pp->type = t;
	pp->order = RO_CDAB;
	pp->scale.m = sm;
	pp->scale.e = (int16_t)se;
}

/* Integer registers: every value is a multiple of the scale and in range. */
static void
test_model_integer_registers(void **state)
{
	struct profile_point pts[7];
	struct profile p;
	struct model *m;
	struct dec v[7], back;
	uint16_t regs[4];
	int64_t t;
	size_t i;

	(void)state;
	pt(&pts[0], "voltage_l1", "V", 0, RT_U16, 1, -1);
	pt(&pts[1], "current_l1", "A", 1, RT_U16, 1, -2);
	pt(&pts[2], "energy_import", "kWh", 2, RT_U16, 1, 1);	/* 10 kWh */
	pt(&pts[3], "power_total", "W", 3, RT_I16, 1, 0);
	pt(&pts[4], "temperature", "C", 4, RT_I32, 5, -1);	/* 0.5 C */
	pt(&pts[5], "power_l1", "W", 6, RT_U16, 1, -4);		/* clamps */
	pt(&pts[6], "mystery_counter", "kvarh", 7, RT_U64, 1, -2);
	memset(&p, 0, sizeof(p));
	p.n_points = 7;
	p.points = pts;
	assert_non_null(m = model_new(&p, 3));
	for (t = T0; t < T0 + 86400000; t += 450000) {
		model_values(m, t, v);
		for (i = 0; i < 7; i++) {
			assert_int_equal(regmap_encode(v[i], pts[i].type,
			    pts[i].order, pts[i].scale, regs), 0);
			assert_int_equal(regmap_decode(regs, pts[i].type,
			    pts[i].order, pts[i].scale, &back), 0);
			assert_true(dec_equal(back, v[i]));
		}
		IN(v[0], -1, 2070, 2530);
		IN(v[2], 1, 100, 1100);		/* 1000..11000 kWh, 10s */
		assert_int_equal(in_units(v[4], -1) % 5, 0);
		IN(v[4], -1, 200, 400);
		assert_int_equal(in_units(v[5], -4), 65535);
	}
	model_free(m);
}

static char tmpdir[256];

static int
setup_dir(void **state)
{
	const char *base = getenv("TMPDIR");
	static const char prof[] =
	    "{\"name\":\"tiny\",\"model\":\"test\",\"source\":\"test\","
	    "\"defaults\":{\"fc\":3,\"type\":\"u16\",\"order\":\"ABCD\"},"
	    "\"points\":[{\"name\":\"voltage_l1\",\"address\":100,\"unit\":\"V\","
	    "\"scale\":0.1},{\"name\":\"current_l1\",\"address\":103,"
	    "\"unit\":\"A\",\"scale\":0.01}]}";
	char path[320];
	FILE *f;

	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_sim.XXXXXX",
	    base != NULL && *base != '\0' ? base : "/tmp");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/tiny.json", tmpdir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fputs(prof, f);
	return fclose(f);
}

static int
teardown_dir(void **state)
{
	char path[320];

	(void)state;
	snprintf(path, sizeof(path), "%s/tiny.json", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

static size_t
ask(struct sim *s, uint8_t unit, uint8_t fc, unsigned addr, unsigned count,
    int64_t t, uint8_t *rsp)
{
	uint8_t req[5] = { fc, (uint8_t)(addr >> 8), (uint8_t)addr,
	    (uint8_t)(count >> 8), (uint8_t)count };

	return sim_pdu(s, unit, req, sizeof(req), t, rsp);
}

static void
expect_exception(struct sim *s, uint8_t unit, uint8_t fc, unsigned addr,
    unsigned count, uint8_t code)
{
	uint8_t rsp[SIM_PDU_MAX];

	assert_int_equal(ask(s, unit, fc, addr, count, T0, rsp), 2);
	assert_int_equal(rsp[0], fc | 0x80);
	assert_int_equal(rsp[1], code);
}

static void
test_sim_errors(void **state)
{
	struct sim s;
	uint8_t rsp[SIM_PDU_MAX], bad[3] = { 4, 0, 0 };
	char err[256];

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(sim_add(&s, 1, PROFILES, "sdm630", 1, err,
	    sizeof(err)), 0);
	assert_int_equal(sim_add(&s, 1, PROFILES, "sdm630", 1, err,
	    sizeof(err)), -EEXIST);
	assert_int_equal(sim_add(&s, 0, PROFILES, "sdm630", 1, err,
	    sizeof(err)), -EINVAL);
	assert_int_equal(sim_add(&s, 248, PROFILES, "sdm630", 1, err,
	    sizeof(err)), -EINVAL);
	assert_true(sim_add(&s, 2, PROFILES, "no_such_meter", 1, err,
	    sizeof(err)) < 0);
	assert_non_null(strstr(err, "no_such_meter"));
	assert_int_equal(sim_add(&s, 3, PROFILES, "../profiles/sdm630", 1, err,
	    sizeof(err)), -EINVAL);

	assert_int_equal(ask(&s, 9, 4, 0, 2, T0, rsp), 0);	/* dead unit */
	expect_exception(&s, 1, 6, 0, 1, 1);
	expect_exception(&s, 1, 5, 0, 1, 1);
	expect_exception(&s, 1, 1, 0, 1, 2);	/* sdm630 has no coils */
	expect_exception(&s, 1, 3, 0, 2, 2);	/* sdm630 has no FC3 points */
	expect_exception(&s, 1, 4, 0, 0, 3);
	expect_exception(&s, 1, 4, 0, 126, 3);
	expect_exception(&s, 1, 4, 340, 6, 2);	/* past energy_total at 342 */
	expect_exception(&s, 1, 4, 65535, 2, 2);
	assert_int_equal(ask(&s, 1, 4, 342, 2, T0, rsp), 6);
	assert_int_equal(sim_pdu(&s, 1, bad, sizeof(bad), T0, rsp), 2);
	assert_int_equal(rsp[0], 0x84);
	assert_int_equal(rsp[1], 3);
	sim_free(&s);
}

/* Fault specs: every mode, its argument, /N, and the errors. */
static void
test_fault_parse(void **state)
{
	struct fault f;
	unsigned unit;
	char err[256];

	(void)state;
	assert_int_equal(fault_parse("3:silent", &unit, &f, err, sizeof(err)), 0);
	assert_int_equal(unit, 3);
	assert_int_equal(f.mode, FAULT_SILENT);
	assert_int_equal(f.every, 0);
	assert_int_equal(fault_parse("247:late:800", &unit, &f, err,
	    sizeof(err)), 0);
	assert_int_equal(f.mode, FAULT_LATE);
	assert_int_equal(f.arg, 800);
	assert_int_equal(fault_parse("1:exception:4/3", &unit, &f, err,
	    sizeof(err)), 0);
	assert_int_equal(f.mode, FAULT_EXCEPTION);
	assert_int_equal(f.arg, 4);
	assert_int_equal(f.every, 3);
	assert_int_equal(fault_parse("2:intermittent:5", &unit, &f, err,
	    sizeof(err)), 0);
	assert_int_equal(f.mode, FAULT_SILENT);
	assert_int_equal(f.every, 5);
	assert_int_equal(fault_parse("2:crc", &unit, &f, err, sizeof(err)), 0);
	assert_int_equal(f.mode, FAULT_CRC);
	assert_int_equal(fault_parse("2:garbage/2", &unit, &f, err,
	    sizeof(err)), 0);
	assert_int_equal(f.mode, FAULT_GARBAGE);
	assert_int_equal(fault_parse("2:none", &unit, &f, err, sizeof(err)), 0);
	assert_int_equal(f.mode, FAULT_NONE);
	assert_int_equal(fault_parse("2:unit:0", &unit, &f, err, sizeof(err)), 0);
	assert_int_equal(f.mode, FAULT_UNIT);
	assert_int_equal(f.arg, 0);
	assert_int_equal(fault_parse("2:protocol:65535/4", &unit, &f, err,
	    sizeof(err)), 0);
	assert_int_equal(f.mode, FAULT_PROTOCOL);
	assert_int_equal(f.arg, 65535);
	assert_int_equal(f.every, 4);

	static const char *const bad[] = {
		"silent", "0:silent", "248:silent", "x:silent", "1:", "1:dead",
		"1:late", "1:late:0", "1:late:60001", "1:exception",
		"1:exception:256", "1:crc:3", "1:silent/0", "1:silent/",
		"1:intermittent", "1:intermittent:0", "1:intermittent:2/3",
		"1:late:1x", "-1:crc", "1:crc/99999999", "1:unit", "1:unit:256",
		"1:protocol", "1:protocol:0", "1:protocol:65536",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(fault_parse(bad[i], &unit, &f, err,
		    sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, bad[i]));
	}
}

static size_t
ask_fault(struct sim *s, uint8_t unit, struct sim_reply *how, uint8_t *rsp)
{
	uint8_t req[5] = { 4, 0, 0, 0, 2 };	/* voltage_l1 of the SDM630 */

	return sim_answer(s, unit, req, sizeof(req), T0, rsp, how);
}

/*
 * Each mode does what it says to its device only; /N hits every Nth request;
 * a spoiled answer is never logged as served, a fault that fires is logged.
 */
static void
test_sim_faults(void **state)
{
	struct sim_reply how;
	struct fault f;
	struct sim s;
	uint8_t rsp[SIM_PDU_MAX];
	char err[256], line[256], path[320];
	unsigned unit, i, served = 0, faults = 0;

	(void)state;
	memset(&s, 0, sizeof(s));
	snprintf(path, sizeof(path), "%s/faults.log", tmpdir);
	assert_non_null(s.log = fopen(path, "w+"));
	assert_int_equal(sim_add(&s, 1, PROFILES, "sdm630", 1, err,
	    sizeof(err)), 0);
	assert_int_equal(sim_add(&s, 2, PROFILES, "sdm630", 1, err,
	    sizeof(err)), 0);
	assert_int_equal(sim_fault_set(&s, 9, NULL, err, sizeof(err)), -ENOENT);

	assert_int_equal(fault_parse("1:silent", &unit, &f, err, sizeof(err)), 0);
	assert_int_equal(sim_fault_set(&s, unit, &f, err, sizeof(err)), 0);
	assert_int_equal(ask_fault(&s, 1, &how, rsp), 0);
	assert_int_equal(ask_fault(&s, 2, &how, rsp), 6);	/* others fine */
	assert_int_equal(how.corrupt, SIM_SEND);
	assert_int_equal(how.delay_ms, 0);

	assert_int_equal(fault_parse("1:exception:6", &unit, &f, err,
	    sizeof(err)), 0);
	assert_int_equal(sim_fault_set(&s, unit, &f, err, sizeof(err)), 0);
	assert_int_equal(ask_fault(&s, 1, &how, rsp), 2);
	assert_int_equal(rsp[0], 0x84);
	assert_int_equal(rsp[1], 6);

	assert_int_equal(fault_parse("1:late:250", &unit, &f, err,
	    sizeof(err)), 0);
	assert_int_equal(sim_fault_set(&s, unit, &f, err, sizeof(err)), 0);
	assert_int_equal(ask_fault(&s, 1, &how, rsp), 6);
	assert_int_equal(how.delay_ms, 250);
	assert_int_equal(how.corrupt, SIM_SEND);

	assert_int_equal(fault_parse("1:crc", &unit, &f, err, sizeof(err)), 0);
	assert_int_equal(sim_fault_set(&s, unit, &f, err, sizeof(err)), 0);
	assert_int_equal(ask_fault(&s, 1, &how, rsp), 6);
	assert_int_equal(how.corrupt, SIM_BAD_CRC);
	assert_int_equal(fault_parse("1:garbage", &unit, &f, err, sizeof(err)),
	    0);
	assert_int_equal(sim_fault_set(&s, unit, &f, err, sizeof(err)), 0);
	assert_int_equal(ask_fault(&s, 1, &how, rsp), 6);
	assert_int_equal(how.corrupt, SIM_GARBAGE);
	assert_int_equal(how.unit, -1);
	assert_int_equal(how.protocol, 0);

	/* The right answer with a wrong id: the PDU itself is untouched. */
	assert_int_equal(fault_parse("1:unit:7", &unit, &f, err, sizeof(err)),
	    0);
	assert_int_equal(sim_fault_set(&s, unit, &f, err, sizeof(err)), 0);
	assert_int_equal(ask_fault(&s, 1, &how, rsp), 6);
	assert_int_equal(rsp[0], 4);
	assert_int_equal(how.unit, 7);
	assert_int_equal(how.corrupt, SIM_SEND);
	/* A protocol id only where there is one: Modbus TCP. */
	assert_int_equal(fault_parse("1:protocol:1", &unit, &f, err,
	    sizeof(err)), 0);
	assert_int_equal(sim_fault_set(&s, unit, &f, err, sizeof(err)),
	    -EINVAL);
	assert_non_null(strstr(err, "Modbus TCP only"));
	s.mbap = 1;
	assert_int_equal(sim_fault_set(&s, unit, &f, err, sizeof(err)), 0);
	assert_int_equal(ask_fault(&s, 1, &how, rsp), 6);
	assert_int_equal(how.protocol, 1);
	assert_int_equal(how.unit, -1);

	/* Every 3rd of 9 requests: requests 3, 6 and 9. */
	assert_int_equal(fault_parse("1:silent/3", &unit, &f, err, sizeof(err)),
	    0);
	assert_int_equal(sim_fault_set(&s, unit, &f, err, sizeof(err)), 0);
	for (i = 1; i <= 9; i++)
		assert_int_equal(ask_fault(&s, 1, &how, rsp) == 0, i % 3 == 0);

	sim_faults_clear(&s);
	assert_int_equal(ask_fault(&s, 1, &how, rsp), 6);

	/*
	 * Log, unit 1: served lines for the late answer, the 6 fine answers of the
	 * /3 run and the last one; fault lines for silent, exception, late, crc,
	 * garbage, unit, protocol and 3 intermittent.
	 */
	rewind(s.log);
	while (fgets(line, sizeof(line), s.log) != NULL) {
		if (strstr(line, "\"fault\"") != NULL)
			faults++;
		else if (strstr(line, "\"unit\":1,") != NULL)
			served++;
	}
	assert_int_equal(faults, 10);
	assert_int_equal(served, 1 + 6 + 1);
	fclose(s.log);
	unlink(path);
	sim_free(&s);
}

/* Parse one log line. */
static void
parse_line(const char *line, int64_t *t, unsigned *unit, char *name,
    struct dec *v, int *is_null)
{
	long long tl;
	char val[64];

	assert_int_equal(sscanf(line, "{\"t_ms\":%lld,\"unit\":%u,\"point\":\""
	    "%31[a-z0-9_]\",\"value\":%63[^}]}", &tl, unit, name, val), 4);
	*t = tl;
	*is_null = strcmp(val, "null") == 0;
	if (!*is_null)
		assert_int_equal(dec_parse(val, v), 0);
}

/*
 * A served read: the bytes are the register image of the values, unmapped
 * registers are 0, and the log has one line per point fully inside the read,
 * holding exactly the decoded value.
 */
static void
test_sim_read_and_log(void **state)
{
	struct sim s;
	uint8_t rsp[SIM_PDU_MAX], rsp2[SIM_PDU_MAX];
	uint16_t regs[125], r;
	char err[256], line[256], name[32];
	struct profile p;
	struct dec v, want;
	int64_t t;
	unsigned unit, i, lines = 0;
	int is_null, k;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_non_null(s.log = tmpfile());
	assert_int_equal(sim_add(&s, 1, PROFILES, "sdm630", 5, err,
	    sizeof(err)), 0);
	assert_int_equal(sim_add(&s, 2, tmpdir, "tiny", 5, err, sizeof(err)), 0);
	load_sdm630(&p);

	/* 11..74: cuts current_l3 (10..11) and energy_export (74..75) in two. */
	assert_int_equal(ask(&s, 1, 4, 11, 64, T0 + 1000, rsp), 2 + 128);
	assert_int_equal(rsp[0], 4);
	assert_int_equal(rsp[1], 128);
	for (i = 0; i < 64; i++)
		regs[i] = (uint16_t)(rsp[2 + 2 * i] << 8 | rsp[3 + 2 * i]);
	for (i = 18 - 11; i < 30 - 11; i++)
		assert_int_equal(regs[i], 0);
	/* A read of unit 2: FC3, u16 with scales 0.1 and 0.01. */
	assert_int_equal(ask(&s, 2, 3, 100, 4, T0 + 2000, rsp2), 2 + 8);
	assert_int_equal(rsp2[4] << 8 | rsp2[5], 0);	/* 101: unmapped */
	assert_int_equal(rsp2[6] << 8 | rsp2[7], 0);	/* 102 */
	assert_in_range(rsp2[2] << 8 | rsp2[3], 2070, 2530);
	expect_exception(&s, 2, 3, 99, 2, 2);
	expect_exception(&s, 2, 4, 100, 1, 2);

	rewind(s.log);
	while (fgets(line, sizeof(line), s.log) != NULL) {
		lines++;
		parse_line(line, &t, &unit, name, &v, &is_null);
		assert_false(is_null);
		if (unit == 2) {
			assert_int_equal(t, T0 + 2000);
			r = (uint16_t)(rsp2[2] << 8 | rsp2[3]);
			want = (struct dec){ r, -1 };
			if (strcmp(name, "current_l1") == 0) {
				r = (uint16_t)(rsp2[8] << 8 | rsp2[9]);
				want = (struct dec){ r, -2 };
			} else {
				assert_string_equal(name, "voltage_l1");
			}
			assert_true(dec_equal(v, want));
			continue;
		}
		assert_int_equal(unit, 1);
		assert_int_equal(t, T0 + 1000);
		k = idx_of(&p, name);
		assert_true(p.points[k].addr >= 11 && p.points[k].addr + 2 <= 75);
		assert_int_equal(regmap_decode(regs + (p.points[k].addr - 11),
		    RT_F32, RO_ABCD, p.points[k].scale, &want), 0);
		assert_true(dec_equal(v, want));
	}
	/* sdm630 points inside 11..74: 12 to 72, 13 of them; tiny: 2. */
	assert_int_equal(lines, 13 + 2);
	profile_free(&p);
	fclose(s.log);
	sim_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc16),
		cmocka_unit_test(test_frame_find),
		cmocka_unit_test(test_model_deterministic),
		cmocka_unit_test(test_model_physics),
		cmocka_unit_test(test_model_energy_total),
		cmocka_unit_test(test_model_integer_registers),
		cmocka_unit_test(test_sim_errors),
		cmocka_unit_test(test_fault_parse),
		cmocka_unit_test(test_sim_faults),
		cmocka_unit_test(test_sim_read_and_log),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
