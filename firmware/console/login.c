/*
 * Logging in at the console (docs/console.md "Login"): a challenge the
 * technician's key answers (wattgate-fleet tech-answer, offline), or the
 * gateway's own password. The session token the daemon returns is kept in
 * memory only, to resume the session after a daemon restart; it is never
 * written anywhere, and logged out when the console leaves (main.c).
 *
 * The response and the password are read outside the line editor, so they
 * never enter the history.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "firmware/codec/console_req.h"
#include "firmware/codec/pwhash.h"
#include "firmware/console/app.h"
#include "firmware/console/out.h"
#include "firmware/console/show.h"

/* The daemon takes no longer argument (a response or a password). */
#define RESPONSE_MAX	CONSOLE_ARG_MAX
/* As long as wattgate-fleet password-hash lets the fleet set one. */
#define PASSWORD_MAX	PWHASH_PASSWORD_MAX

static void
wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

/* The session of a login reply; 0, or -EPROTO for a token that is not hex. */
static int
take_session(struct app *a, json_t *d)
{
	const char *tok = json_string_value(json_object_get(d, "session"));
	size_t n;
	char who[256], idle[32];
	json_t *is = json_object_get(d, "idle_s");

	if (tok == NULL || (n = strlen(tok)) == 0 || n > TOKEN_MAX ||
	    strspn(tok, "0123456789abcdefABCDEF") != n) {
		app_fail(a, "login: the daemon's reply has no usable session");
		return -EPROTO;
	}
	memcpy(a->token, tok, n + 1);
	a->own_session = 1;
	a->logged_in = 1;
	out_printf("logged in as %s", show_val(d, "who", who, sizeof(who)));
	if (json_is_integer(is))
		out_printf("; the session ends after %s without input",
		    show_dur(json_integer_value(is), idle, sizeof(idle)));
	out_printf("\n");
	return 0;
}

static int
with_password(struct app *a)
{
	char pw[PASSWORD_MAX + 1];
	struct call k;
	int rc;

	rc = term_ask(a->term, "password: ", 0, pw, sizeof(pw));
	if (rc != 1 || pw[0] == '\0') {
		wipe(pw, sizeof(pw));
		app_fail(a, rc == -E2BIG ? "login: password too long" :
		    "login: canceled");
		return 1;
	}
	memset(&k, 0, sizeof(k));
	k.cmd = "login.password";
	k.argv[0] = pw;
	k.argc = 1;
	/* The hash takes ~0.5 s on the board; a refusal may wait longer. */
	k.timeout_ms = a->timeout_ms * 3;
	rc = app_call(a, &k, 1);
	wipe(pw, sizeof(pw));
	if (rc == 0)
		rc = take_session(a, k.data);
	else if (rc != -EINTR)
		app_fail(a, "%s", k.err);
	json_decref(k.data);
	return rc == 0 ? 0 : 1;
}

static int
with_key(struct app *a)
{
	char resp[RESPONSE_MAX + 2], ch[512], exp[32];
	struct call k;
	json_t *d;
	int rc;

	if (app_req(a, "login.challenge", 0, NULL, &d) != 0)
		return 1;
	show_val(d, "challenge", ch, sizeof(ch));
	if (json_is_integer(json_object_get(d, "expires_s")))
		show_dur(json_integer_value(json_object_get(d, "expires_s")), exp,
		    sizeof(exp));
	else
		snprintf(exp, sizeof(exp), "a short while");
	json_decref(d);
	out_printf("challenge (valid for %s):\n%s\n"
	    "answer it with: wattgate-fleet tech-answer --cred CRED --key KEY "
	    "--challenge '...'\n", exp, ch);
	rc = term_ask(a->term, "response: ", 1, resp, sizeof(resp));
	if (rc != 1 || resp[0] == '\0') {
		if (rc == -E2BIG)
			app_fail(a, "login: response longer than %d bytes",
			    RESPONSE_MAX);
		else
			app_fail(a, "login: canceled");
		return 1;
	}
	memset(&k, 0, sizeof(k));
	k.cmd = "login.response";
	k.argv[0] = resp;
	k.argc = 1;
	k.timeout_ms = a->timeout_ms;
	rc = app_call(a, &k, 1);
	if (rc == 0)
		rc = take_session(a, k.data);
	else if (rc != -EINTR)
		app_fail(a, "%s", k.err);
	json_decref(k.data);
	return rc == 0 ? 0 : 1;
}

int
login_run(struct app *a, int argc, char **argv)
{
	if (a->term == NULL) {
		app_fail(a, "login: needs a terminal (a script passes a session "
		    "in WATTGATE_CONSOLE_SESSION)");
		return 1;
	}
	if (argc == 1 && strcmp(argv[0], "password") != 0) {
		app_fail(a, "usage: login [password]");
		return EXIT_USAGE;
	}
	if (a->conn.fd < 0 && app_reconnect(a, "not connected") != 0)
		return 1;
	return argc == 1 ? with_password(a) : with_key(a);
}

int
logout_run(struct app *a, int argc, char **argv)
{
	json_t *d;
	int rc;

	rc = app_req(a, "logout", argc, argv, &d);
	json_decref(d);
	if (rc != 0)
		return 1;
	a->token[0] = '\0';
	a->own_session = 0;
	a->logged_in = 0;
	if (!a->json)
		out_printf("logged out\n");
	else
		out_printf("{}\n");
	return 0;
}
