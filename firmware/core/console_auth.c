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
 *
 * This file: the brake, the records, sessions given out, the command table,
 * start and stop. Keys: console_auth_key.c; the password, resume and
 * logout: console_auth_pw.c.
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

#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/codec/command.h"
#include "firmware/core/console_auth_int.h"
#include "firmware/core/control.h"
#include "firmware/core/gateway_internal.h"
#include "firmware/store/store_journal.h"

void
auth_now(struct lock_now *n, int64_t *boot)
{
	struct clock_pair p;

	clock_read(&p);
	n->mono = clock_mono_ms();
	n->wall = p.wall;
	n->wall_valid = clock_wall_valid(p.wall);
	if (boot != NULL)
		*boot = p.boot;
}

struct console_auth *
auth_of(struct console *cs)
{
	return cs->auth;
}

/* The slot's state belongs to the client in it only while gen matches. */
int
auth_slot(struct console_client *cl, uint64_t id, uint32_t *gen)
{
	struct console_ticket t = console_ticket(cl, id);

	*gen = t.gen;
	return t.slot < AUTH_SLOTS ? (int)t.slot : -1;
}

/* The brake's state to the store, when it changed. */
void
auth_lock_keep(struct console_auth *a)
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
void
auth_note(struct console_auth *a, const char *state, const char *method,
    const char *tech, uid_t uid, const char *why)
{
	struct control *c = a->cs->g->ctl;
	json_t *r;
	int rc;

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
	/* -EBUSY: the control plane's note bucket is empty; it logs that itself. */
	if ((rc = control_note(c, "console.login", state, why, r)) < 0 &&
	    rc != -EBUSY)
		log_warnx("console: the login attempt above is not journaled: %s",
		    strerror(-rc));
}

/*
 * Before any attempt: the brake. 0: go on. Else the client has its answer
 * (and the first refusal of a wait its record).
 */
int
auth_attempt_begin(struct console_auth *a, struct console_client *cl, uint64_t id,
    const char *method)
{
	struct lock_now now;
	char why[160];
	int rc;

	auth_now(&now, NULL);
	rc = console_lock_check(&a->lock, &now, why, sizeof(why));
	auth_lock_keep(a);
	if (rc == 0)
		return 0;
	if (a->lock.first_refusal) {
		auth_note(a, "rejected", method, NULL, console_client_uid(cl), why);
	} else {
		a->unnoted_method = method;
		a->unnoted_uid = console_client_uid(cl);
	}
	console_err(cl, id, "login: %s", why);
	return rc;
}

static void
notice_one(struct console_client *cl, void *arg)
{
	console_notice(cl, "%s", (const char *)arg);
}

/* After an attempt: counted, kept, reported. */
void
auth_attempt_end(struct console_auth *a, int ok, const char *method,
    const char *tech, uid_t uid, const char *why)
{
	struct lock_now now;
	char msg[64];

	auth_now(&now, NULL);
	if (console_lock_result(&a->lock, ok, &now) == 1) {
		snprintf(msg, sizeof(msg), "locked out for %" PRId64 " s",
		    a->lock.lock_ms / 1000);
		log_warnx("console: %" PRId64 " failed logins in a row: %s",
		    a->lock.fails, msg);
		console_each(a->cs, notice_one, msg);
	}
	auth_lock_keep(a);
	auth_note(a, ok ? "applied" : "rejected", method, tech, uid, why);
}

/*
 * A new session for this client: the token to the client (once; only its
 * hash is kept), who to the server. pw: the password's fingerprint, or "".
 */
void
auth_session_open(struct console_auth *a, struct console_client *cl, uint64_t id,
    const char *who, const char *pw)
{
	uint8_t token[SESS_TOKEN_LEN];
	char hex[2 * SESS_TOKEN_LEN + 1];
	struct lock_now now;
	int64_t boot;
	uint32_t gen;
	int slot = auth_slot(cl, id, &gen);

	auth_now(&now, &boot);
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
	auth_now(&now, NULL);
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
	/* A count that cannot be read must not read as none: a whole lockout. */
	if (((rc = store_ctl_get(cs->g->store, "console.fails", &fails)) < 0 &&
	    rc != -ENOENT) || ((rc = store_ctl_get(cs->g->store,
	    "console.locked_until", &locked)) < 0 && rc != -ENOENT)) {
		log_warnx("console: the failed-login count cannot be read (%s): "
		    "logins are locked out for %u s", cs->g->store->err,
		    cfg->console.lockout_s);
		fails = cfg->console.lockout_after;
		locked = -1;
	}
	auth_now(&now, NULL);
	console_lock_init(&a->lock, cfg->console.lockout_after,
	    cfg->console.lockout_s, fails, locked, &now);
	auth_lock_keep(a);
	if (fails > 0)
		log_info("console: %" PRId64 " failed login(s) in a row before this "
		    "start%s", fails, a->lock.locked_until != 0 ? "; locked out" :
		    "");
	rc = sessions_load(&a->sess, cfg->store);
	if (rc == 0 && (rc = a->seen_fd = loop_timer_new(CLOCK_MONOTONIC)) >= 0 &&
	    (rc = loop_add(cs->g->loop, a->seen_fd, EPOLLIN, on_seen, a)) == 0)
		rc = loop_timer_after(a->seen_fd, 1000, SEEN_EVERY_MS);
	/* The server does not stop what did not start: undone here. */
	if (rc < 0)
		console_auth_stop(cs);
	return rc < 0 ? rc : 0;
}

void
console_auth_stop(struct console *cs)
{
	struct console_auth *a = cs->auth;
	char why[128];

	if (a == NULL)
		return;
	pw_check_abandon(a->pw);
	/* Refusals counted but not reported yet: before the control plane stops. */
	if (a->lock.unnoted > 0) {
		snprintf(why, sizeof(why), "%" PRId64 " more attempt(s) refused while "
		    "locked out or waiting, not reported one by one",
		    a->lock.unnoted);
		auth_note(a, "rejected", a->unnoted_method != NULL ? a->unnoted_method :
		    "-", NULL, a->unnoted_uid, why);
	}
	if (a->seen_fd >= 0) {
		loop_del(cs->g->loop, a->seen_fd);
		close(a->seen_fd);
	}
	cmd_pubkey_free(a->fleet);
	explicit_bzero(a, sizeof(*a));
	free(a);
	cs->auth = NULL;
}
