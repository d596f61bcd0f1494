/*
 * Logins by the console password, and sessions taken back or ended
 * (docs/console.md "Login"). The password is checked in a thread
 * (console_pwcheck.c); its verdict comes back on the loop, counts and is
 * reported whether or not the client is still there to hear it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <mbedtls/md.h>

#include "firmware/base/log.h"
#include "firmware/core/console_auth_int.h"
#include "firmware/core/console_pw.h"
#include "firmware/core/gateway_internal.h"

static void
auth_pw_print(const struct pwhash *h, char out[SESS_PW_LEN + 1])
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
		auth_pw_print(&a->pw_hash, fp);
		auth_session_open(a, cl, a->pw_ticket.id, "password", fp);
		auth_attempt_end(a, 1, "password", NULL, a->pw_uid, "logged in");
	} else {
		if (cl != NULL && !a->pw_canceled)
			console_err(cl, a->pw_ticket.id, "login: %s", why);
		/* A right password nobody saw the answer to: no reset, no count. */
		if (rc == 0)
			auth_note(a, "rejected", "password", NULL, a->pw_uid, why);
		else
			auth_attempt_end(a, 0, "password", NULL, a->pw_uid, why);
	}
	if (!a->pw_canceled)
		console_ticket_done(a->cs, &a->pw_ticket);
	explicit_bzero(&a->pw_hash, sizeof(a->pw_hash));
}

int
run_password(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	struct console_auth *a = auth_of(cs);
	char err[300];
	int rc;

	/* Not attempts: nothing is counted or reported for these. */
	if (a->pw != NULL) {
		console_err(cl, rq->id, "login: another password is being checked; "
		    "try again in a second");
		return CCMD_DONE;
	}
	if (console_client_later(cl) != 0) {
		console_err(cl, rq->id, "busy: request %llu is still running (cancel "
		    "it first)", (unsigned long long)console_client_later(cl));
		return CCMD_DONE;
	}
	if (auth_attempt_begin(a, cl, rq->id, "password") != 0)
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
		auth_attempt_end(a, 0, "password", NULL, console_client_uid(cl), err);
		return CCMD_DONE;
	}
	a->pw_ticket = console_ticket(cl, rq->id);
	a->pw_uid = console_client_uid(cl);
	a->pw_canceled = 0;
	return CCMD_LATER;
}

/* The check runs on (it cannot be stopped); its verdict still counts. */
void
cancel_password(struct console *cs, const struct console_ticket *t)
{
	struct console_auth *a = auth_of(cs);

	if (a != NULL && a->pw != NULL && t->slot == a->pw_ticket.slot &&
	    t->gen == a->pw_ticket.gen && t->id == a->pw_ticket.id)
		a->pw_canceled = 1;
}

int
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
	int slot = auth_slot(cl, rq->id, &gen), i = -ENOENT;

	if (auth_attempt_begin(a, cl, rq->id, "resume") != 0)
		return CCMD_DONE;
	auth_now(&now, &boot);
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
			auth_pw_print(&h, fp);
		if (strcmp(fp, s->pw) != 0) {
			snprintf(why, sizeof(why), "the console password changed "
			    "since this session began; log in again");
			s = NULL;
		}
	}
	explicit_bzero(token, sizeof(token));
	if (s == NULL) {
		console_err(cl, rq->id, "login: %s", why);
		auth_attempt_end(a, 0, "resume", NULL, console_client_uid(cl), why);
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
	auth_note(a, "applied", "resume", NULL, console_client_uid(cl), s->who);
	return CCMD_DONE;
}

int
run_logout(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	struct console_auth *a = auth_of(cs);
	const char *who = console_client_who(cl);
	uint32_t gen;
	int slot = auth_slot(cl, rq->id, &gen);

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

