/*
 * Logins at the technician console with no shared secret (issue 16,
 * docs/console.md "Login"): login.challenge, login.response,
 * login.password, resume, logout.
 *
 * Two ways in, both with no network at the gateway:
 * - a technician key certified by the fleet's command key for a window and
 *   a set of gateways (firmware/codec/techcred.h) signs a challenge the
 *   console gave this connection: single use, 120 s;
 * - the per-device password the fleet set (console.password, a PBKDF2 hash;
 *   the check runs in a thread: console_pwcheck.c).
 * Every attempt, whatever the way, passes the gateway-wide brake first
 * (console_lock.h: a growing wait, then a lockout kept in the store) and
 * ends in a result record for the platform (control_note, type
 * "console.login") and a log line; neither ever holds a password, a
 * response or a token. A login gives a session token (console_sess.h) that
 * `resume` takes back after a daemon restart; idle sessions are ended by
 * the server (console.c), which owns the connections.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/md.h>

#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/codec/command.h"
#include "firmware/codec/techcred.h"
#include "firmware/core/console_internal.h"
#include "firmware/core/console_lock.h"
#include "firmware/core/console_pw.h"
#include "firmware/core/console_pwcheck.h"
#include "firmware/core/console_sess.h"
#include "firmware/core/control.h"
#include "firmware/core/gateway_internal.h"
#include "firmware/store/store_journal.h"

#define CHALLENGE_MS	120000
/* The latest true wall time, kept hourly while the clock is synchronised. */
#define SEEN_EVERY_MS	3600000
/* A client's slot (console_ticket): the server has at most 64. */
#define AUTH_SLOTS	64

/* The challenge given to the client in a slot; gen says which client. */
struct challenge {
	uint32_t gen;
	int64_t expires;	/* CLOCK_MONOTONIC ms */
	char text[TECHCRED_CHALLENGE_MAX + 1];	/* "": none */
};

/* The session a client logged in to (or resumed): logout ends it. */
struct live {
	uint32_t gen;
	int on;
	uint8_t hash[SESS_HASH_LEN];
};

struct console_auth {
	struct console *cs;
	struct cmd_pubkey *fleet;	/* control.key; NULL: no key logins */
	struct console_lock lock;
	struct challenge chal[AUTH_SLOTS];
	struct live live[AUTH_SLOTS];
	struct sessions sess;
	int seen_fd;
	/* the password check under way (one at a time) */
	struct pw_check *pw;
	struct pwhash pw_hash;
	struct console_ticket pw_ticket;
	uid_t pw_uid;
	int pw_canceled;
};

static void
now_read(struct lock_now *n, int64_t *boot)
{
	struct clock_pair p;

	clock_read(&p);
	n->mono = clock_mono_ms();
	n->wall = p.wall;
	n->wall_valid = clock_wall_valid(p.wall);
	if (boot != NULL)
		*boot = p.boot;
}

static struct console_auth *
auth_of(struct console *cs)
{
	return cs->auth;
}

/* The slot's state belongs to the client in it only while gen matches. */
static int
slot_of(struct console_client *cl, uint64_t id, uint32_t *gen)
{
	struct console_ticket t = console_ticket(cl, id);

	*gen = t.gen;
	return t.slot < AUTH_SLOTS ? (int)t.slot : -1;
}

/* The brake's state to the store, when it changed. */
static void
lock_keep(struct console_auth *a)
{
	struct store *s = a->cs->g->store;

	if (!a->lock.dirty)
		return;
	a->lock.dirty = 0;
	if (store_ctl_put(s, "console.fails", a->lock.fails) < 0 ||
	    store_ctl_put(s, "console.locked_until", a->lock.locked_wall) < 0)
		log_warnx("console: cannot keep the failed-login count: %s; a "
		    "restart may forget it", s->err);
}

/*
 * The record and the log line of one attempt. The result names the way,
 * the technician if a credential said, the peer's uid, and how many
 * refusals during a wait were not reported one by one (the first of each
 * wait is; the rest are counted here, so a client hammering a locked
 * console costs no synced row per try).
 */
static void
note(struct console_auth *a, const char *state, const char *method,
    const char *tech, uid_t uid, const char *why)
{
	struct control *c = a->cs->g->ctl;
	json_t *r;

	log_info("console: login by %s%s%s (uid %u): %s%s%s", method,
	    tech != NULL ? " of " : "", tech != NULL ? tech : "", (unsigned)uid,
	    strcmp(state, "applied") == 0 ? "in" : "refused", why[0] ? ": " : "",
	    why);
	if (c == NULL)
		return;
	r = json_pack("{s:s,s:o,s:I}", "method", method, "tech", tech != NULL ?
	    json_string(tech) : json_null(), "uid", (json_int_t)uid);
	if (r != NULL && a->lock.unnoted > 0) {
		json_object_set_new(r, "refused_unreported",
		    json_integer(a->lock.unnoted));
		a->lock.unnoted = 0;
	}
	if (control_note(c, "console.login", state, why, r) < 0)
		log_warnx("console: the login attempt above is not journaled");
}

/*
 * Before any attempt: the brake. 0: go on. Else the client has its answer
 * (and the first refusal of a wait its record).
 */
static int
attempt_begin(struct console_auth *a, struct console_client *cl, uint64_t id,
    const char *method)
{
	struct lock_now now;
	char why[160];
	int rc;

	now_read(&now, NULL);
	rc = console_lock_check(&a->lock, &now, why, sizeof(why));
	lock_keep(a);
	if (rc == 0)
		return 0;
	if (a->lock.first_refusal)
		note(a, "rejected", method, NULL, console_client_uid(cl), why);
	console_err(cl, id, "login: %s", why);
	return rc;
}

static void
notice_one(struct console_client *cl, void *arg)
{
	console_notice(cl, "%s", (const char *)arg);
}

/* After an attempt: counted, kept, reported. */
static void
attempt_end(struct console_auth *a, int ok, const char *method,
    const char *tech, uid_t uid, const char *why)
{
	struct lock_now now;
	char msg[64];

	now_read(&now, NULL);
	if (console_lock_result(&a->lock, ok, &now) == 1) {
		snprintf(msg, sizeof(msg), "locked out for %" PRId64 " s",
		    a->lock.lock_ms / 1000);
		log_warnx("console: %" PRId64 " failed logins in a row: %s",
		    a->lock.fails, msg);
		console_each(a->cs, notice_one, msg);
	}
	lock_keep(a);
	note(a, ok ? "applied" : "rejected", method, tech, uid, why);
}

/*
 * A new session for this client: the token to the client (once; only its
 * hash is kept), who to the server. pw: the password's fingerprint, or "".
 */
static void
session_open(struct console_auth *a, struct console_client *cl, uint64_t id,
    const char *who, const char *pw)
{
	uint8_t token[SESS_TOKEN_LEN];
	char hex[2 * SESS_TOKEN_LEN + 1];
	struct lock_now now;
	int64_t boot;
	uint32_t gen;
	int slot = slot_of(cl, id, &gen);

	now_read(&now, &boot);
	if (getrandom(token, sizeof(token), 0) != (ssize_t)sizeof(token)) {
		console_err(cl, id, "login: no random token: %s", strerror(errno));
		return;
	}
	sessions_add(&a->sess, token, who, pw, boot, now.wall);
	if (slot >= 0) {
		a->live[slot].gen = gen;
		a->live[slot].on = 1;
		sessions_hash(token, a->live[slot].hash);
	}
	console_client_set_who(cl, who);
	techcred_hex(token, sizeof(token), hex);
	explicit_bzero(token, sizeof(token));
	console_ok(cl, id, json_pack("{s:s,s:s,s:i}", "who", who, "session", hex,
	    "idle_s", (int)a->cs->g->cfg->console.idle_s));
	explicit_bzero(hex, sizeof(hex));
}

static int
run_challenge(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	struct console_auth *a = auth_of(cs);
	uint8_t nonce[TECHCRED_NONCE_LEN];
	struct lock_now now;
	struct challenge *ch;
	uint32_t gen;
	int slot = slot_of(cl, rq->id, &gen);

	if (slot < 0 || getrandom(nonce, sizeof(nonce), 0) != sizeof(nonce)) {
		console_err(cl, rq->id, "login.challenge: no challenge can be made "
		    "now");
		return CCMD_DONE;
	}
	now_read(&now, NULL);
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
 * The response's checks, cheapest and least trusting first. 0 with who, or
 * -EACCES with why. tech gets the credential's name once it is known to be
 * the fleet's (a name from an unverified credential is not reported).
 */
static int
judge_response(struct console_auth *a, const char *challenge,
    const char *line, char *tech, char *who, size_t wlen, char *why,
    size_t len)
{
	static struct techcred_response r;	/* 2 KiB; the loop is one thread */
	static struct techcred tc;
	const char *gw = a->cs->g->cfg->gateway;
	struct lock_now now;
	char err[200], until[32];
	time_t t;
	struct tm tm;

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
	now_read(&now, NULL);
	if (console_cred_window(tc.nbf, tc.exp, &now, known_ms(a), err,
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
	t = (time_t)tc.exp;
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(until, sizeof(until), "%Y-%m-%dT%H:%MZ", &tm) == 0)
		snprintf(until, sizeof(until), "%" PRId64, tc.exp);
	snprintf(who, wlen, "tech %s (key, valid until %s%s)", tc.tech, until,
	    now.wall_valid ? "" : "; the gateway's clock is not synchronised");
	return 0;
}

static int
run_response(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	struct console_auth *a = auth_of(cs);
	char tech[TECHCRED_NAME_MAX + 1] = "", who[SESS_WHO_MAX + 1], why[300];
	char line[TECHCRED_RESPONSE_MAX + 1];
	const char *challenge = NULL;
	struct challenge *ch;
	uint32_t gen;
	int slot = slot_of(cl, rq->id, &gen), rc;
	size_t n = strlen(rq->argv[0]);

	if (attempt_begin(a, cl, rq->id, "key") != 0)
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
		    who, sizeof(who), why, sizeof(why));
	}
	if (slot >= 0)
		memset(&a->chal[slot], 0, sizeof(a->chal[slot]));
	if (rc == 0)
		session_open(a, cl, rq->id, who, "");
	else
		console_err(cl, rq->id, "login: %s", why);
	attempt_end(a, rc == 0, "key", tech[0] ? tech : NULL,
	    console_client_uid(cl), rc == 0 ? "logged in" : why);
	return CCMD_DONE;
}

/* A fingerprint of the password a session began under (console_sess.h). */
static void
pw_print(const struct pwhash *h, char out[SESS_PW_LEN + 1])
{
	uint8_t d[32];

	mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), h->hash,
	    sizeof(h->hash), d);
	techcred_hex(d, SESS_PW_LEN / 2, out);
}

/* The thread's verdict, on the loop. */
static void
pw_done(void *arg, int rc)
{
	struct console_auth *a = arg;
	struct console_client *cl = console_ticket_client(a->cs, &a->pw_ticket);
	char why[200], fp[SESS_PW_LEN + 1];

	a->pw = NULL;
	if (rc == 0 && (cl == NULL || a->pw_canceled))
		snprintf(why, sizeof(why), "the password was right, but the request "
		    "was gone before the check ended: no session");
	else if (rc == -EACCES)
		snprintf(why, sizeof(why), "wrong password");
	else if (rc < 0)
		snprintf(why, sizeof(why), "the password could not be checked: %s",
		    strerror(-rc));
	if (rc == 0 && cl != NULL && !a->pw_canceled) {
		pw_print(&a->pw_hash, fp);
		session_open(a, cl, a->pw_ticket.id, "password", fp);
		attempt_end(a, 1, "password", NULL, a->pw_uid, "logged in");
	} else {
		if (cl != NULL && !a->pw_canceled)
			console_err(cl, a->pw_ticket.id, "login: %s", why);
		/* A right password nobody saw the answer to: no reset, no count. */
		if (rc == 0)
			note(a, "rejected", "password", NULL, a->pw_uid, why);
		else
			attempt_end(a, 0, "password", NULL, a->pw_uid, why);
	}
	if (!a->pw_canceled)
		console_ticket_done(a->cs, &a->pw_ticket);
	explicit_bzero(&a->pw_hash, sizeof(a->pw_hash));
}

static int
run_password(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	struct console_auth *a = auth_of(cs);
	char err[300];
	int rc;

	if (a->pw != NULL) {
		console_err(cl, rq->id, "login: another password is being checked; "
		    "try again in a second");
		return CCMD_DONE;
	}
	if (attempt_begin(a, cl, rq->id, "password") != 0)
		return CCMD_DONE;
	rc = console_password_load(cs->g->cfg->store, &a->pw_hash, err,
	    sizeof(err));
	if (rc == -ENOENT)
		snprintf(err, sizeof(err), "no console password is set on this "
		    "gateway (the fleet sets one: console.password)");
	if (rc == 0 && (rc = pw_check_start(cs->g->loop, &a->pw_hash,
	    rq->argv[0], strlen(rq->argv[0]), pw_done, a, &a->pw)) < 0)
		snprintf(err, sizeof(err), "the password cannot be checked now: %s",
		    strerror(-rc));
	if (rc < 0) {
		console_err(cl, rq->id, "login: %s", err);
		attempt_end(a, 0, "password", NULL, console_client_uid(cl), err);
		return CCMD_DONE;
	}
	a->pw_ticket = console_ticket(cl, rq->id);
	a->pw_uid = console_client_uid(cl);
	a->pw_canceled = 0;
	return CCMD_LATER;
}

/* The check runs on (it cannot be stopped); its verdict still counts. */
static void
cancel_password(struct console *cs, const struct console_ticket *t)
{
	struct console_auth *a = auth_of(cs);

	if (a->pw != NULL && t->slot == a->pw_ticket.slot &&
	    t->gen == a->pw_ticket.gen && t->id == a->pw_ticket.id)
		a->pw_canceled = 1;
}

static int
run_resume(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	struct console_auth *a = auth_of(cs);
	const char *hex = rq->argv[0];
	uint8_t token[SESS_TOKEN_LEN];
	char why[300] = "", fp[SESS_PW_LEN + 1];
	struct pwhash h;
	struct sess *s = NULL;
	struct lock_now now;
	int64_t boot;
	uint32_t gen;
	int slot = slot_of(cl, rq->id, &gen), i = -ENOENT;

	if (attempt_begin(a, cl, rq->id, "resume") != 0)
		return CCMD_DONE;
	now_read(&now, &boot);
	if (techcred_unhex(hex, strlen(hex), token, sizeof(token)) < 0)
		snprintf(why, sizeof(why), "resume: not a session token (%d "
		    "lowercase hex digits)", 2 * SESS_TOKEN_LEN);
	else if ((i = sessions_find(&a->sess, token, boot)) < 0)
		snprintf(why, sizeof(why), "no such session: it ended (12 h, "
		    "logout, a reboot) or never was; log in again");
	if (i >= 0 && (s = &a->sess.s[i])->pw[0] != '\0') {
		/* A password session ends with the password it began under. */
		fp[0] = '\0';
		if (console_password_load(cs->g->cfg->store, &h, why,
		    sizeof(why)) == 0)
			pw_print(&h, fp);
		if (strcmp(fp, s->pw) != 0) {
			snprintf(why, sizeof(why), "the console password changed "
			    "since this session began; log in again");
			s = NULL;
		}
	}
	explicit_bzero(token, sizeof(token));
	if (s == NULL) {
		console_err(cl, rq->id, "login: %s", why);
		attempt_end(a, 0, "resume", NULL, console_client_uid(cl), why);
		return CCMD_DONE;
	}
	if (slot >= 0) {
		a->live[slot].gen = gen;
		a->live[slot].on = 1;
		memcpy(a->live[slot].hash, s->hash, SESS_HASH_LEN);
	}
	console_client_set_who(cl, s->who);
	console_ok(cl, rq->id, json_pack("{s:s,s:i}", "who", s->who, "idle_s",
	    (int)cs->g->cfg->console.idle_s));
	/* A token is not a secret guessed: a resume does not reset the count. */
	note(a, "applied", "resume", NULL, console_client_uid(cl), s->who);
	return CCMD_DONE;
}

static int
run_logout(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	struct console_auth *a = auth_of(cs);
	const char *who = console_client_who(cl);
	uint32_t gen;
	int slot = slot_of(cl, rq->id, &gen);

	if (slot >= 0 && a->live[slot].on && a->live[slot].gen == gen) {
		sessions_remove(&a->sess, a->live[slot].hash);
		memset(&a->live[slot], 0, sizeof(a->live[slot]));
	}
	if (who != NULL && who[0] != '\0')
		log_info("console: uid %u: logout (%.160s)",
		    (unsigned)console_client_uid(cl), who);
	console_client_set_who(cl, NULL);
	console_ok(cl, rq->id, NULL);
	return CCMD_DONE;
}

const struct console_cmd console_cmds_auth[] = {
	{ "login.challenge", "login.challenge", "a challenge for a technician "
	    "key to sign (wattgate-fleet tech-answer)", CCLASS_NONE, 0, 0, 0,
	    run_challenge, NULL },
	{ "login.response", "login.response RESPONSE", "log in with the "
	    "response line to this connection's challenge", CCLASS_NONE, 1, 1, 0,
	    run_response, NULL },
	{ "login.password", "login.password PASSWORD", "log in with this "
	    "gateway's console password", CCLASS_NONE, 1, 1, 0, run_password,
	    cancel_password },
	{ "resume", "resume TOKEN", "take back a session after a daemon restart",
	    CCLASS_NONE, 1, 1, 0, run_resume, NULL },
	{ "logout", "logout", "end this connection's session", CCLASS_NONE, 0, 0,
	    0, run_logout, NULL },
	{ NULL, NULL, NULL, CCLASS_NONE, 0, 0, 0, NULL, NULL },
};

/* Hourly, while the clock is synchronised: the latest true time, kept. */
static void
on_seen(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct console_auth *a = arg;
	struct lock_now now;

	(void)l;
	(void)events;
	loop_timer_ack(fd);
	now_read(&now, NULL);
	if (now.wall_valid && store_ctl_put(a->cs->g->store, "console.seen",
	    now.wall) < 0)
		log_warnx("console: %s", a->cs->g->store->err);
}

int
console_auth_start(struct console *cs)
{
	const struct site_config *cfg = cs->g->cfg;
	struct console_auth *a;
	struct lock_now now;
	int64_t fails = 0, locked = 0;
	char err[256];
	int rc;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -ENOMEM;
	cs->auth = a;
	a->cs = cs;
	a->seen_fd = -1;
	if (cfg->control.enabled && cmd_key_load_public(cfg->control.key_pem,
	    cfg->control.key_len, &a->fleet, err, sizeof(err)) < 0)
		log_warnx("console: %s: %s; key logins are refused",
		    cfg->control.key_file, err);
	store_ctl_get(cs->g->store, "console.fails", &fails);
	store_ctl_get(cs->g->store, "console.locked_until", &locked);
	now_read(&now, NULL);
	console_lock_init(&a->lock, cfg->console.lockout_after,
	    cfg->console.lockout_s, fails, locked, &now);
	lock_keep(a);
	if (fails > 0)
		log_info("console: %" PRId64 " failed login(s) in a row before this "
		    "start%s", fails, a->lock.locked_until != 0 ? "; locked out" :
		    "");
	if ((rc = sessions_load(&a->sess, cfg->store)) < 0)
		return rc;
	if ((a->seen_fd = loop_timer_new(CLOCK_MONOTONIC)) < 0)
		return a->seen_fd;
	if ((rc = loop_add(cs->g->loop, a->seen_fd, EPOLLIN, on_seen, a)) < 0 ||
	    (rc = loop_timer_after(a->seen_fd, 1000, SEEN_EVERY_MS)) < 0)
		return rc;
	return 0;
}

void
console_auth_stop(struct console *cs)
{
	struct console_auth *a = cs->auth;

	if (a == NULL)
		return;
	pw_check_abandon(a->pw);
	if (a->seen_fd >= 0) {
		loop_del(cs->g->loop, a->seen_fd);
		close(a->seen_fd);
	}
	cmd_pubkey_free(a->fleet);
	explicit_bzero(a, sizeof(*a));
	free(a);
	cs->auth = NULL;
}
