/*
 * Charger state mapping: the charger model's session energy for a charger
 * whose device has no session register (KEBA has one; Alfen and Heidelberg
 * only have a total energy counter). A post-processing step of the generic
 * driver: the profile's "derived" section names the counter and the state
 * point, and every poll turns what the device showed into one reading.
 *
 * A session is the time a vehicle is connected: it begins with the first poll
 * in B, C or D (IEC 61851: connected, charging, charging with ventilation)
 * right after a poll in A (no vehicle), and ends with the next poll in A.
 * Its energy is the counter minus the counter's value in that last poll in A:
 * no energy flows in A, so that value is the counter at plug-in even if the
 * vehicle went straight to C between two polls. After the session ended the
 * reading keeps the ended session's energy until the next plug-in, so the
 * last session can still be read (in A) after the vehicle left.
 *
 * Never a made-up number: the reading is INVALID whenever the start value is
 * not known for certain, and stays so until the next session begins:
 *  - the gateway did not see the session begin (it started mid-session, or
 *    the session began after E or F, where a vehicle may or may not be
 *    connected);
 *  - the counter was invalid in the poll in A before the plug-in;
 *  - a poll delivered no valid state (timeout, failed request, "not
 *    available"): the vehicle may have left and another come in between;
 *  - the counter went down (reset, replaced device, wrong register): the
 *    difference would mean nothing.
 * A single invalid counter reading during a session makes only that poll's
 * reading INVALID; the counter is monotonic, so the start value still holds.
 * E and F neither begin nor end a session.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/charger.h"

/* The counter's next value in an open session: never below the last. */
static int
advance(struct charger_session *s, struct dec src)
{
	struct dec step, v;

	if (dec_sub(src, s->last, &step) != 0 || step.m < 0 ||
	    dec_sub(src, s->base, &v) != 0)
		return -ERANGE;
	s->last = src;
	s->value = dec_normalize(v);
	return 0;
}

int
charger_session_step(struct charger_session *s, int state_ok, int64_t state,
    int src_ok, struct dec src, struct dec *out)
{
	int idle_before = s->have_idle;

	s->have_idle = 0;
	if (!state_ok) {
		s->mode = SESSION_UNKNOWN;
		return -ENODATA;
	}
	switch (state) {
	case IEC_A:
		if (s->mode == SESSION_OPEN)
			s->mode = src_ok && advance(s, src) == 0 ?
			    SESSION_DONE : SESSION_UNKNOWN;
		if (src_ok) {
			s->idle = src;
			s->have_idle = 1;
		}
		if (s->mode != SESSION_DONE)
			return -ENODATA;
		*out = s->value;
		return 0;
	case IEC_B:
	case IEC_C:
	case IEC_D:
		if (idle_before) {
			s->mode = SESSION_OPEN;
			s->base = s->last = s->idle;
			s->value = dec_from_int(0);
		} else if (s->mode == SESSION_DONE) {
			s->mode = SESSION_UNKNOWN;	/* began unseen */
		}
		break;
	default:		/* E, F: hold */
		if (s->mode == SESSION_DONE) {
			*out = s->value;
			return 0;
		}
		break;
	}
	if (s->mode != SESSION_OPEN || !src_ok)
		return -ENODATA;
	if (advance(s, src) != 0) {
		s->mode = SESSION_UNKNOWN;
		return -ENODATA;
	}
	*out = s->value;
	return 0;
}

int
charger_init(struct device *d)
{
	free(d->sessions);
	d->sessions = NULL;
	if (d->profile == NULL || d->profile->n_derived == 0)
		return 0;
	d->sessions = calloc(d->profile->n_derived, sizeof(*d->sessions));
	return d->sessions != NULL ? 0 : -ENOMEM;
}

void
charger_free(struct device *d)
{
	free(d->sessions);
	d->sessions = NULL;
}

/* A point's reading as seen in this poll. */
struct seen {
	uint8_t ok;
	struct dec v;
};

struct tap {
	reading_sink sink;
	void *arg;
	const struct profile *p;
	struct seen seen[PROFILE_DERIVED_MAX][2];	/* [k][0] source, [1] state */
};

static int
tap_sink(void *arg, const struct reading *r)
{
	struct tap *t = arg;
	const struct profile_derived *dp;
	size_t k;

	for (k = 0; k < t->p->n_derived; k++) {
		dp = &t->p->derived[k];
		if (r->point == dp->source) {
			t->seen[k][0].ok = r->quality == Q_OK;
			t->seen[k][0].v = r->v;
		}
		if (r->point == dp->state) {
			t->seen[k][1].ok = r->quality == Q_OK;
			t->seen[k][1].v = r->v;
		}
	}
	return t->sink(t->arg, r);
}

/* The state as an integer; an enum decodes to {val, 0}, but be exact. */
static int
state_of(const struct seen *s, int64_t *state)
{
	struct dec v = dec_normalize(s->v);

	if (!s->ok || v.e != 0)
		return 0;
	*state = v.m;
	return 1;
}

int
charger_poll(struct device *d, struct bus *b, int64_t ts_ms,
    reading_sink sink, void *arg, poll_fn inner)
{
	const struct profile *p = d->profile;
	struct reading r;
	struct tap t;
	int64_t state = 0;
	size_t k;
	int rc, state_ok, q;

	if (d->sessions == NULL)
		return -EINVAL;
	memset(&t, 0, sizeof(t));
	t.sink = sink;
	t.arg = arg;
	t.p = p;
	rc = inner(d, b, ts_ms, tap_sink, &t);
	for (k = 0; k < p->n_derived; k++) {
		memset(&r, 0, sizeof(r));
		r.ts_ms = ts_ms;
		r.dev = d->index;
		r.point = (uint16_t)(p->n_points + k);
		state_ok = state_of(&t.seen[k][1], &state);
		q = charger_session_step(&d->sessions[k], state_ok, state,
		    t.seen[k][0].ok, t.seen[k][0].v, &r.v);
		r.quality = q == 0 ? Q_OK : Q_INVALID;
		if (q != 0)
			r.v = dec_from_int(0);
		/*
		 * A poll that failed delivers nothing, derived points neither;
		 * every session still takes the step (the poll happened).
		 */
		if (rc == 0)
			rc = sink(arg, &r);
	}
	return rc;
}
