/*
 * The simulated charger (tools/sim/chgmodel.c): sessions cycle A-B-C-E/F-B-A,
 * energy rises only in C, KEBA's session register is energy_total minus its
 * value at plug-in, and the Alfen/Heidelberg registers that carry both the
 * state and the error flag are served with the state intact.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tools/sim/chgmodel.h"
#include "tools/sim/model.h"
#include "tools/sim/sim.h"

#define PROFILES WG_SOURCE_DIR "/drivers/profiles"
#define PERIOD 10000		/* ms */
#define T0 1700000000000LL	/* a multiple of PERIOD: a cycle starts */

static size_t
idx(const struct profile *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n_points; i++)
		if (strcmp(p->points[i].name, name) == 0)
			return i;
	fail_msg("no point %s", name);
	return 0;
}

static int64_t
as_int(struct dec v, int e)
{
	/* v in units of 10^e, exactly */
	while (v.e > e) {
		v.m *= 10;
		v.e--;
	}
	assert_int_equal(v.e, e);
	return v.m;
}

/*
 * The state at t as docs/simulator.md draws the cycle: A 15 %, B 10 %, C 45 %,
 * a fault 10 % (E in even cycles, F in odd ones, as the profile has them), B, A.
 */
static int64_t
want_state(int64_t t, int has_e, int has_f)
{
	int64_t in = t % PERIOD, k = t / PERIOD;

	if (in < PERIOD * 15 / 100 || in >= PERIOD * 85 / 100)
		return 1;
	if (in >= PERIOD * 25 / 100 && in < PERIOD * 70 / 100)
		return 3;
	if (in >= PERIOD * 70 / 100 && in < PERIOD * 80 / 100) {
		if (has_f && (k % 2 == 1 || !has_e))
			return 6;
		return has_e ? 5 : 2;
	}
	return 2;
}

static void
test_keba_sessions(void **state)
{
	struct dec v[PROFILE_POINTS_MAX];
	struct profile p;
	struct model *m;
	char err[512];
	int64_t t, total, last = -1, at_plug = -1, sess, st, prev = 1;
	size_t s_i, e_i, t_i, w_i, i_i, ss_i;
	int sessions = 0, faults = 0;

	(void)state;
	assert_int_equal(profile_load_named(PROFILES, "keba_p30", &p, err,
	    sizeof(err)), 0);
	assert_true(chgmodel_is_charger(&p));
	s_i = idx(&p, "state");
	e_i = idx(&p, "error");
	t_i = idx(&p, "energy_total");
	ss_i = idx(&p, "energy_session");
	w_i = idx(&p, "power");
	i_i = idx(&p, "current_l2");
	assert_non_null(m = model_new(&p, 7));
	model_set_charger_period(m, PERIOD);
	for (t = T0; t < T0 + 3 * PERIOD; t += 50) {
		model_values(m, t, v);
		st = as_int(v[s_i], 0);
		assert_int_equal(st, want_state(t, 0, 1));	/* KEBA: F, no E */
		faults += st == 6;
		assert_int_equal(as_int(v[e_i], 0), 0);
		total = as_int(v[t_i], -4);	/* KEBA: 0.1 Wh */
		sess = as_int(v[ss_i], -4);
		assert_true(total >= last);
		if (st != 3 && last >= 0)
			assert_int_equal(total, last);	/* only C charges */
		if (st == 3) {
			assert_true(as_int(v[w_i], -3) >= 6 * 690 * 1000);
			assert_true(as_int(v[i_i], -3) >= 6000);
		} else {
			assert_int_equal(v[w_i].m, 0);
			assert_int_equal(v[i_i].m, 0);
		}
		if (prev == 1 && st == 2) {
			at_plug = total;
			sessions++;
		}
		if (at_plug >= 0)
			assert_int_equal(sess, total - at_plug);
		prev = st;
		last = total;
	}
	assert_int_equal(sessions, 3);
	assert_true(faults > 0);
	assert_true(last - at_plug > 0);
	model_free(m);
	profile_free(&p);
}

/* A meter is not a charger; its values do not change. */
static void
test_not_charger(void **state)
{
	struct profile p;
	char err[512];

	(void)state;
	assert_int_equal(profile_load_named(PROFILES, "sdm630", &p, err,
	    sizeof(err)), 0);
	assert_false(chgmodel_is_charger(&p));
	assert_null(chgmodel_new(&p, 1));
	profile_free(&p);
}

/*
 * Alfen and Heidelberg: the error point shares the state's register. Served
 * through the simulator's registers, the state must read back as the cycle
 * says, not as whatever the error flag would store.
 */
static void
test_shared_register(void **state)
{
	static const struct { const char *prof; uint8_t fc; unsigned addr;
	    int letter; } c[] = {
		{ "alfen_ng9xx", 3, 1201, 1 },
		{ "heidelberg_ec", 4, 5, 0 },
	};
	uint8_t rsp[SIM_PDU_MAX];
	struct sim s;
	char err[256];
	/* Heidelberg's codes: A1 2, B1 4, C1 6, E 9, F 10. */
	static const unsigned heidelberg[7] = { 0, 2, 4, 6, 0, 9, 10 };
	uint8_t req[5];
	unsigned raw, k, seen;
	int64_t t, st;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		memset(&s, 0, sizeof(s));
		s.charger_cycle_ms = PERIOD;
		assert_int_equal(sim_add(&s, 1, PROFILES, c[i].prof, 1, err,
		    sizeof(err)), 0);
		req[0] = c[i].fc;
		req[1] = (uint8_t)(c[i].addr >> 8);
		req[2] = (uint8_t)c[i].addr;
		req[3] = 0;
		req[4] = 1;
		seen = 0;
		for (k = 0; k < 40; k++) {	/* two cycles: E, then F */
			t = T0 + k * 500 + 250;
			assert_int_equal(sim_pdu(&s, 1, req, sizeof(req), t,
			    rsp), 4);
			raw = (unsigned)rsp[2] << 8 | rsp[3];
			st = want_state(t, 1, 1);
			seen |= 1u << st;
			if (c[i].letter)	/* 'A' .. 'F', high byte */
				assert_int_equal(raw >> 8, 'A' + st - 1);
			else
				assert_int_equal(raw, heidelberg[st]);
		}
		assert_int_equal(seen, 1u << 1 | 1u << 2 | 1u << 3 | 1u << 5 |
		    1u << 6);
		sim_free(&s);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keba_sessions),
		cmocka_unit_test(test_not_charger),
		cmocka_unit_test(test_shared_register),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
