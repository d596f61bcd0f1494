/*
 * Charger session energy (drivers/charger.c): the session state machine over
 * state sequences (plug in, charge, unplug, restart mid-session, counter reset,
 * invalid readings, lost polls), the "derived" section's load-time checks, and
 * the generic driver delivering the derived point for the Alfen profile on a
 * fake bus.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "drivers/charger.h"
#include "drivers/driver.h"
#include "tests/unit/store_tmp.h"

#define PROFILES WG_SOURCE_DIR "/drivers/profiles"

extern const struct driver_ops regmap_driver_ops;

/* ---- the state machine ---- */

#define NA (-1)		/* in a step: invalid / not delivered */

/*
 * One poll: state (1..6 or NA), counter in Wh (or NA); want: the session
 * energy in Wh, or NA for an INVALID reading.
 */
struct step {
	int state;
	int64_t wh;
	int64_t want;
};

static void
run(const struct step *st, size_t n)
{
	struct charger_session s;
	struct dec out;
	size_t i;
	int rc;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < n; i++) {
		out = dec_from_int(-999);
		rc = charger_session_step(&s, st[i].state != NA, st[i].state,
		    st[i].wh != NA, (struct dec){ st[i].wh, 0 }, &out);
		if (st[i].want == NA) {
			if (rc != -ENODATA)
				fail_msg("step %zu: want INVALID, got %lld", i,
				    (long long)out.m);
			continue;
		}
		if (rc != 0)
			fail_msg("step %zu: want %lld, got INVALID", i,
			    (long long)st[i].want);
		if (!dec_equal(out, dec_from_int(st[i].want)))
			fail_msg("step %zu: want %lld, got %lld e%d", i,
			    (long long)st[i].want, (long long)out.m, out.e);
	}
}

#define RUN(a) run(a, sizeof(a) / sizeof(a[0]))

/* Plug in, charge, stop, unplug; the ended session stays readable in A. */
static void
test_session(void **state)
{
	static const struct step s[] = {
		{ 1, 1000, NA },	/* A since start: no session known */
		{ 1, 1000, NA },
		{ 2, 1000, 0 },		/* B: plugged in */
		{ 3, 1200, 200 },	/* C: charging */
		{ 3, 1500, 500 },
		{ 4, 1600, 600 },	/* D counts as connected */
		{ 2, 1600, 600 },	/* B: charging stopped */
		{ 1, 1600, 600 },	/* A: ended; its energy stays */
		{ 1, 1600, 600 },
		{ 3, 1700, 100 },	/* straight to C: base is A's 1600 */
		{ 1, 1900, 300 },	/* energy up to the unplug counts */
	};

	(void)state;
	RUN(s);
}

/* Started mid-session: unknown until the vehicle leaves and the next comes. */
static void
test_restart_mid_session(void **state)
{
	static const struct step s[] = {
		{ 3, 5000, NA },
		{ 3, 5100, NA },
		{ 2, 5100, NA },
		{ 1, 5100, NA },	/* ended, but its start was unseen */
		{ 2, 5100, 0 },
		{ 3, 5400, 300 },
	};

	(void)state;
	RUN(s);
}

/* A decreasing counter (reset, swapped device) loses the session. */
static void
test_counter_reset(void **state)
{
	static const struct step s[] = {
		{ 1, 9000, NA },
		{ 2, 9000, 0 },
		{ 3, 9500, 500 },
		{ 3, 10, NA },		/* reset */
		{ 3, 50, NA },		/* still that session: start unknown */
		{ 1, 50, NA },
		{ 2, 50, 0 },
		{ 3, 80, 30 },
		{ 3, 79, NA },		/* a counter must not go down at all */
		{ 1, 100, NA },
	};

	(void)state;
	RUN(s);
}

/*
 * Invalid readings: the counter invalid before plug-in means no start
 * value; invalid during a session costs only that poll; a poll without a
 * state (timeout, "not available") loses the session, since a vehicle may
 * have left and another come meanwhile.
 */
static void
test_invalid_readings(void **state)
{
	static const struct step s[] = {
		{ 1, 100, NA },
		{ 1, NA, NA },		/* counter invalid in the last A */
		{ 2, 100, NA },		/* so the start is unknown */
		{ 3, 200, NA },
		{ 1, 300, NA },
		{ 2, 300, 0 },
		{ 3, NA, NA },		/* one bad counter read */
		{ 3, 450, 150 },	/* the start still holds */
		{ NA, 460, NA },	/* no state: lost */
		{ 3, 470, NA },
		{ 1, NA, NA },		/* ended; counter invalid at the end */
		{ 1, 480, NA },
		{ 2, 480, 0 },
		{ 3, 490, 10 },
		{ 1, NA, NA },		/* end value unknown: not a guess */
		{ 1, 490, NA },
	};

	(void)state;
	RUN(s);
}

/* E and F neither begin nor end a session. */
static void
test_e_f(void **state)
{
	static const struct step s[] = {
		{ 1, 0, NA },
		{ 2, 0, 0 },
		{ 3, 40, 40 },
		{ 6, 40, 40 },		/* fault during the session */
		{ 3, 60, 60 },
		{ 1, 60, 60 },
		{ 6, 60, 60 },		/* fault without vehicle: last kept */
		{ 1, 60, 60 },
		{ 5, 60, 60 },		/* E */
		{ 2, 60, NA },		/* began after E: unseen */
		{ 1, 60, NA },
	};

	(void)state;
	RUN(s);
}

/* Exact decimals: a kWh counter with 0.001 steps gives exact differences. */
static void
test_decimal(void **state)
{
	struct charger_session s;
	struct dec out;

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(charger_session_step(&s, 1, 1, 1,
	    (struct dec){ 123456, -3 }, &out), -ENODATA);
	assert_int_equal(charger_session_step(&s, 1, 2, 1,
	    (struct dec){ 1234560, -4 }, &out), 0);
	assert_true(dec_equal(out, dec_from_int(0)));
	assert_int_equal(charger_session_step(&s, 1, 3, 1,
	    (struct dec){ 1235, -1 }, &out), 0);
	assert_true(dec_equal(out, (struct dec){ 44, -3 }));	/* 123.5 - 123.456 */
	/* A difference that does not fit is not a number either. */
	assert_int_equal(charger_session_step(&s, 1, 3, 1,
	    (struct dec){ INT64_MAX, 300 }, &out), -ENODATA);
}

/* ---- the "derived" section ---- */

static int
setup(void **state)
{
	(void)state;
	return store_tmp_setup("c.json");
}

#define POINTS "\"points\": [" \
	"{\"name\": \"state\", \"address\": 0, \"enum\": {\"0\": 1, \"1\": 2}}," \
	"{\"name\": \"raw\", \"address\": 1, \"enum\": {\"0\": 7}}," \
	"{\"name\": \"energy_total\", \"address\": 2, \"unit\": \"kWh\"}," \
	"{\"name\": \"power\", \"address\": 3, \"unit\": \"W\"}]"

/* Load a profile with this "derived" value; the error line, or "" if fine. */
static const char *
load(const char *derived, struct profile *p)
{
	static char err[512];
	char path[PATH_MAX + 32], text[4096];
	FILE *f;
	size_t n;
	int rc;

	snprintf(path, sizeof(path), "%s", store_tmp_path);
	snprintf(text, sizeof(text), "{\"name\": \"c\", \"model\": \"M\", "
	    "\"source\": \"S\", \"defaults\": {\"fc\": 3, \"type\": \"u16\"}, "
	    "\"derived\": %s, " POINTS "}", derived);
	assert_non_null(f = fopen(path, "w"));
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	err[0] = '\0';
	rc = profile_load(path, p, err, sizeof(err));
	if (rc == 0)
		return "";
	assert_int_equal(rc, -EINVAL);
	/* One line: "PATH: WHERE: WHAT". */
	assert_null(strchr(err, '\n'));
	n = strlen(path);
	assert_int_equal(strncmp(err, path, n), 0);
	return err + n + 2;
}

static void
bad(const char *derived, const char *want)
{
	struct profile p;

	assert_string_equal(load(derived, &p), want);
}

#define D(name, kind, src, st) "[{\"name\": \"" name "\", \"kind\": \"" kind \
	"\", \"source\": \"" src "\", \"state\": \"" st "\"}]"

static void
test_derived_load(void **state)
{
	struct profile p;

	(void)state;
	assert_string_equal(load(D("energy_session", "session_energy",
	    "energy_total", "state"), &p), "");
	assert_int_equal(p.n_derived, 1);
	assert_string_equal(p.derived[0].name, "energy_session");
	assert_string_equal(p.derived[0].unit, "kWh");
	assert_int_equal(p.derived[0].source, 2);
	assert_int_equal(p.derived[0].state, 0);
	profile_free(&p);

	bad("{}", "derived: expected an array of 1..4 derived points");
	bad("[]", "derived: expected an array of 1..4 derived points");
	bad("[1]", "derived[0]: expected an object {\"name\", \"kind\", "
	    "\"source\", \"state\"}");
	bad("[{\"name\": \"x\", \"kind\": \"session_energy\", \"source\": "
	    "\"energy_total\", \"state\": \"state\", \"unit\": \"kWh\"}]",
	    "derived[0].unit: unknown key");
	bad("[{\"kind\": \"session_energy\"}]", "derived[0].name: missing");
	bad(D("Energy", "session_energy", "energy_total", "state"),
	    "derived[0].name: 'Energy' is not [a-z0-9_]{1,31}");
	bad(D("power", "session_energy", "energy_total", "state"),
	    "derived[0].name: 'power' is already a point");
	bad(D("e", "average", "energy_total", "state"),
	    "derived[0].kind: unknown kind 'average' (known: session_energy)");
	bad(D("e", "session_energy", "energy", "state"),
	    "derived[0].source: no point 'energy' in this profile");
	bad(D("e", "session_energy", "power", "state"),
	    "derived[0].source: 'power' is in 'W', not an energy counter "
	    "(kWh or Wh)");
	bad(D("e", "session_energy", "state", "state"),
	    "derived[0].source: 'state' is not a number (an enum or a bit)");
	bad(D("e", "session_energy", "energy_total", "power"),
	    "derived[0].state: 'power' has no enum; the state must map the "
	    "device's values onto IEC 61851 1..6 (A..F)");
	bad(D("e", "session_energy", "energy_total", "raw"),
	    "derived[0].state: 'raw' reports 7, not an IEC 61851 state 1..6 "
	    "(A..F)");
	bad("[{\"name\": \"e\", \"kind\": \"session_energy\", \"source\": "
	    "\"energy_total\", \"state\": \"state\"}, {\"name\": \"e\", "
	    "\"kind\": \"session_energy\", \"source\": \"energy_total\", "
	    "\"state\": \"state\"}]", "derived[1].name: 'e' is already a point");
}

/* Every shipped charger has session energy: a register or a derived point. */
static void
test_shipped(void **state)
{
	static const char *const chargers[] = {
		"keba_p30", "alfen_ng9xx", "heidelberg_ec", NULL,
	};
	struct profile p;
	char err[512];
	size_t i, k, found;

	(void)state;
	for (i = 0; chargers[i] != NULL; i++) {
		if (profile_load_named(PROFILES, chargers[i], &p, err,
		    sizeof(err)) != 0)
			fail_msg("%s", err);
		found = 0;
		for (k = 0; k < p.n_points; k++)
			found += strcmp(p.points[k].name, "energy_session") == 0;
		for (k = 0; k < p.n_derived; k++)
			found += strcmp(p.derived[k].name, "energy_session") == 0;
		if (found != 1)
			fail_msg("%s: energy_session %zu times", chargers[i],
			    found);
		/* KEBA keeps its register. */
		if (strcmp(chargers[i], "keba_p30") == 0)
			assert_int_equal(p.n_derived, 0);
		profile_free(&p);
	}
}

/* ---- through the generic driver, on a fake bus ---- */

struct bus {
	uint16_t regs[65536];		/* FC3 */
	int dead;			/* every request times out */
};

static struct bus fake;

int
bus_read(struct bus *b, int unit, int fc, int addr, int count,
    uint16_t *dst, int *exc)
{
	(void)unit;
	(void)exc;
	assert_ptr_equal(b, &fake);
	assert_int_equal(fc, 3);
	assert_true(count >= 1 && addr + count <= 65536);
	if (b->dead)
		return -ETIMEDOUT;
	memcpy(dst, &b->regs[addr], (size_t)count * sizeof(*dst));
	return 0;
}

struct got {
	struct reading r[64];
	size_t n;
};

static int
sink(void *arg, const struct reading *r)
{
	struct got *g = arg;

	assert_true(g->n < 64);
	g->r[g->n++] = *r;
	return 0;
}

/* Alfen: state letter in the high byte of 1201, energy f64 Wh at 374. */
static void
serve(char letter, double wh)
{
	fake.regs[1201] = (uint16_t)((unsigned char)letter << 8);
	regmap_put_f64(wh, RO_ABCD, &fake.regs[374]);
}

/* The derived reading of one poll: 1 and *v if valid, 0 if INVALID. */
static int
poll_once(struct device *d, int64_t ts, struct dec *v)
{
	const struct reading *r = NULL;
	struct got g;
	size_t i;

	memset(&g, 0, sizeof(g));
	assert_int_equal(d->ops->poll(d, &fake, ts, sink, &g), 0);
	for (i = 0; i < g.n; i++) {
		if (g.r[i].point == d->profile->n_points) {
			assert_null(r);
			r = &g.r[i];
		}
	}
	assert_non_null(r);
	assert_int_equal(r->ts_ms, ts);
	assert_int_equal(r->dev, 4);
	/* Every register point came too, once. */
	assert_int_equal(g.n, d->profile->n_points + 1);
	if (r->quality != Q_OK)
		return 0;
	*v = r->v;
	return 1;
}

static void
test_driver(void **state)
{
	struct device d;
	struct profile p;
	char err[512];
	struct dec v;
	struct got g;

	(void)state;
	assert_int_equal(profile_load_named(PROFILES, "alfen_ng9xx", &p, err,
	    sizeof(err)), 0);
	memset(&d, 0, sizeof(d));
	memset(&fake, 0, sizeof(fake));
	d.ops = &regmap_driver_ops;
	snprintf(d.name, sizeof(d.name), "wallbox");
	d.index = 4;
	d.unit = 1;
	d.profile = &p;
	assert_int_equal(d.ops->probe(&d, err, sizeof(err)), 0);

	serve('A', 1234000.0);
	assert_int_equal(poll_once(&d, 1, &v), 0);
	serve('B', 1234000.0);
	assert_int_equal(poll_once(&d, 2, &v), 1);
	assert_true(dec_equal(v, dec_from_int(0)));
	serve('C', 1236500.0);
	assert_int_equal(poll_once(&d, 3, &v), 1);
	assert_true(dec_equal(v, (struct dec){ 25, -1 }));	/* 2.5 kWh */

	/* A dead poll delivers nothing and loses the session. */
	fake.dead = 1;
	memset(&g, 0, sizeof(g));
	assert_int_equal(d.ops->poll(&d, &fake, 4, sink, &g), -ETIMEDOUT);
	assert_int_equal(g.n, 0);
	fake.dead = 0;
	serve('C', 1237000.0);
	assert_int_equal(poll_once(&d, 5, &v), 0);

	/* "Not available" state: INVALID, and the next session is counted. */
	serve('A', 1237000.0);
	assert_int_equal(poll_once(&d, 6, &v), 0);
	fake.regs[1201] = 0xFFFF;
	assert_int_equal(poll_once(&d, 7, &v), 0);
	serve('A', 1237000.0);
	assert_int_equal(poll_once(&d, 8, &v), 0);
	serve('C', 1237001.0);
	assert_int_equal(poll_once(&d, 9, &v), 1);
	assert_true(dec_equal(v, (struct dec){ 1, -3 }));

	d.ops->close(&d);
	assert_null(d.sessions);
	profile_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_restart_mid_session),
		cmocka_unit_test(test_counter_reset),
		cmocka_unit_test(test_invalid_readings),
		cmocka_unit_test(test_e_f),
		cmocka_unit_test(test_decimal),
		cmocka_unit_test(test_derived_load),
		cmocka_unit_test(test_shipped),
		cmocka_unit_test(test_driver),
	};

	return cmocka_run_group_tests(tests, setup, store_tmp_teardown);
}
