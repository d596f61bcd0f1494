/*
 * Shared by the console's login files (docs/console.md "Login"):
 * console_auth.c (the brake, records, sessions given out, the command
 * table, start and stop), console_auth_key.c (challenges and technician
 * keys), console_auth_pw.c (the password, resume, logout).
 */
#ifndef WG_CONSOLE_AUTH_INT_H
#define WG_CONSOLE_AUTH_INT_H

#include <stdint.h>
#include <sys/types.h>

#include "firmware/codec/pwhash.h"
#include "firmware/codec/sig.h"
#include "firmware/codec/techcred.h"
#include "firmware/core/console_internal.h"
#include "firmware/core/console_lock.h"
#include "firmware/core/console_pwcheck.h"
#include "firmware/core/console_sess.h"

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
	/* the last refusal not reported on its own (lock.unnoted counts them) */
	const char *unnoted_method;
	uid_t unnoted_uid;
};


struct console_auth *auth_of(struct console *cs);
/* The clocks now; boot (CLOCK_BOOTTIME ms) if not NULL. */
void auth_now(struct lock_now *n, int64_t *boot);
/* The client's slot (its state here is its only while *gen matches); -1. */
int auth_slot(struct console_client *cl, uint64_t id, uint32_t *gen);
/* The brake's state to the store, when it changed. */
void auth_lock_keep(struct console_auth *a);
/* One attempt's record (control_note) and log line. */
void auth_note(struct console_auth *a, const char *state, const char *method,
    const char *tech, uid_t uid, const char *why);
/* Before an attempt: 0, or the client has its refusal. */
int auth_attempt_begin(struct console_auth *a, struct console_client *cl,
    uint64_t id, const char *method);
/* After one: counted, kept, reported (tech may be NULL). */
void auth_attempt_end(struct console_auth *a, int ok, const char *method,
    const char *tech, uid_t uid, const char *why);
/* A session for the client: token to it, who to the server. pw: "" or the
 * password's fingerprint. */
void auth_session_open(struct console_auth *a, struct console_client *cl,
    uint64_t id, const char *who, const char *pw);

/* The commands (console_cmds_auth). */
int run_challenge(struct console *cs, struct console_client *cl,
    const struct console_req *rq);
int run_response(struct console *cs, struct console_client *cl,
    const struct console_req *rq);
int run_password(struct console *cs, struct console_client *cl,
    const struct console_req *rq);
void cancel_password(struct console *cs, const struct console_ticket *t);
int run_resume(struct console *cs, struct console_client *cl,
    const struct console_req *rq);
int run_logout(struct console *cs, struct console_client *cl,
    const struct console_req *rq);

#endif
