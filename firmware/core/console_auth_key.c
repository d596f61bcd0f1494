/*
 * Logins by a technician key (docs/console.md "Login"): the challenge a
 * connection is given, and the response to it, checked cheapest and least
 * trusting first: the line, the credential, the fleet's signature, the
 * gateway, the window, then the answer to this connection's challenge,
 * which is used up whatever comes of it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "firmware/base/clock.h"
#include "firmware/core/console_auth_int.h"
#include "firmware/core/gateway_internal.h"
#include "firmware/store/store_journal.h"

int
run_challenge(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	struct console_auth *a = auth_of(cs);
	uint8_t nonce[TECHCRED_NONCE_LEN];
	struct lock_now now;
	struct challenge *ch;
	uint32_t gen;
	int slot = auth_slot(cl, rq->id, &gen);

	if (slot < 0 || getrandom(nonce, sizeof(nonce), 0) != sizeof(nonce)) {
		console_err(cl, rq->id, "login.challenge: no challenge can be made "
		    "now");
		return CCMD_DONE;
	}
	auth_now(&now, NULL);
	ch = &a->chal[slot];
	/* A new one replaces the one before: one outstanding per client. */
	ch->gen = gen;
	ch->expires = now.mono + CHALLENGE_MS;
	if (techcred_challenge_format(cs->g->cfg->gateway, nonce,
	    now.wall > 0 ? now.wall / 1000 : 0, ch->text, sizeof(ch->text)) < 0) {
		ch->text[0] = '\0';
		console_err(cl, rq->id, "login.challenge: gateway id '%.64s' cannot "
		    "go into a challenge", cs->g->cfg->gateway);
		return CCMD_DONE;
	}
	console_ok(cl, rq->id, json_pack("{s:s,s:i}", "challenge", ch->text,
	    "expires_s", CHALLENGE_MS / 1000));
	return CCMD_DONE;
}

/* The latest wall time known to be true: for a clock that is not. */
static int64_t
known_ms(struct console_auth *a)
{
	int64_t v = clock_valid_from_ms(), t;

	if (store_ctl_get(a->cs->g->store, "created", &t) == 0 && t > v)
		v = t;
	if (store_ctl_get(a->cs->g->store, "console.seen", &t) == 0 && t > v)
		v = t;
	return v;
}

/*
 * The response's checks, cheapest and least trusting first. 0 with who and
 * *left (ms the credential is still valid for: the session it opens ends
 * then at the latest), or -EACCES with why. tech gets the credential's name
 * once it is known to be the fleet's (a name from an unverified credential
 * is not reported).
 */
static int
judge_response(struct console_auth *a, const char *challenge,
    const char *line, char *tech, char *who, size_t wlen, int64_t *left,
    char *why, size_t len)
{
	static struct techcred_response r;	/* 2 KiB; the loop is one thread */
	static struct techcred tc;
	const char *gw = a->cs->g->cfg->gateway;
	struct lock_now now;
	char err[200], until[24];
	int64_t known;

	if (techcred_response_parse(line, strlen(line), &r, err, sizeof(err)) < 0 ||
	    techcred_parse(r.cred, r.cred_len, &tc, err, sizeof(err)) < 0) {
		snprintf(why, len, "%s", err);
		return -EACCES;
	}
	if (a->fleet == NULL) {
		snprintf(why, len, "key logins need the fleet's command key: the "
		    "site config has no control section");
		return -EACCES;
	}
	if (techcred_verify(a->fleet, &tc) != 0) {
		snprintf(why, len, "the credential is not signed by this gateway's "
		    "command key (control.key)");
		return -EACCES;
	}
	snprintf(tech, TECHCRED_NAME_MAX + 1, "%s", tc.tech);
	if (!techcred_for_gw(&tc, gw)) {
		snprintf(why, len, "the credential of %s is not for gateway '%s'",
		    tc.tech, gw);
		return -EACCES;
	}
	auth_now(&now, NULL);
	known = known_ms(a);
	if (console_cred_window(tc.nbf, tc.exp, &now, known, err,
	    sizeof(err)) < 0) {
		snprintf(why, len, "the credential of %s: %s", tc.tech, err);
		return -EACCES;
	}
	if (challenge == NULL || techcred_check_answer(&tc, challenge,
	    strlen(challenge), r.sig) != 0) {
		snprintf(why, len, "%s", challenge == NULL ? "no challenge of this "
		    "connection is outstanding (ask login.challenge; each is used "
		    "once, for 120 s)" : "the response does not answer this "
		    "connection's challenge with the credential's key (an answer "
		    "to another challenge or gateway, or another key)");
		return -EACCES;
	}
	/* Unsynchronised, the time left is judged from the latest time known
	 * to be true: now is at least that, so this is never too long. */
	*left = tc.exp * 1000 - (now.wall_valid ? now.wall : known);
	/* To the minute: clock_utc's text without its seconds. */
	clock_utc(tc.exp, until, sizeof(until));
	if (strlen(until) == 20)
		snprintf(until + 16, sizeof(until) - 16, "Z");
	snprintf(who, wlen, "tech %s (key, valid until %s%s)", tc.tech, until,
	    now.wall_valid ? "" : "; the gateway's clock is not synchronised");
	return 0;
}

int
run_response(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	struct console_auth *a = auth_of(cs);
	char tech[TECHCRED_NAME_MAX + 1] = "", who[SESS_WHO_MAX + 1], why[300];
	char line[TECHCRED_RESPONSE_MAX + 1];
	const char *challenge = NULL;
	int64_t left = 0;
	struct challenge *ch;
	uint32_t gen;
	int slot = auth_slot(cl, rq->id, &gen), rc;
	size_t n = strlen(rq->argv[0]);

	if (auth_attempt_begin(a, cl, rq->id, "key") != 0)
		return CCMD_DONE;
	/* Used, whatever comes of it: one try per challenge. */
	if (slot >= 0 && (ch = &a->chal[slot])->gen == gen &&
	    ch->text[0] != '\0' && clock_mono_ms() < ch->expires)
		challenge = ch->text;
	if (n > TECHCRED_RESPONSE_MAX) {
		snprintf(why, sizeof(why), "response: %zu bytes, over %d", n,
		    TECHCRED_RESPONSE_MAX);
		rc = -EACCES;
	} else {
		/* A pasted line may carry spaces around it; nothing else. */
		while (n > 0 && rq->argv[0][n - 1] == ' ')
			n--;
		memcpy(line, rq->argv[0], n);
		line[n] = '\0';
		rc = judge_response(a, challenge, line + strspn(line, " "), tech,
		    who, sizeof(who), &left, why, sizeof(why));
	}
	if (slot >= 0)
		memset(&a->chal[slot], 0, sizeof(a->chal[slot]));
	if (rc == 0)
		auth_session_open(a, cl, rq->id, who, "", left > 0 ? left : 1);
	else
		console_err(cl, rq->id, "login: %s", why);
	auth_attempt_end(a, rc == 0, "key", tech[0] ? tech : NULL,
	    console_client_uid(cl), rc == 0 ? "logged in" : why);
	return CCMD_DONE;
}

/* A fingerprint of the password a session began under (console_sess.h). */
