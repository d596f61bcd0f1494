/*
 * The connection as the technician sees it: hello and resume on every
 * connect, a lost connection said once and retried every second (the
 * daemon restarts on a config apply, an update, a SIGHUP), notices from
 * the daemon printed where the technician is looking.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "firmware/console/app.h"
#include "firmware/console/out.h"

int64_t
app_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
app_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
app_fail(struct app *a, const char *fmt, ...)
{
	char line[1024], shown[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	out_clean(shown, sizeof(shown), line);
	if (a->term == NULL) {
		out_err("%s", shown);
	} else {
		fflush(stdout);
		fprintf(stderr, "%s\n", shown);
		fflush(stderr);
	}
}

static const char *
str_or(json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : "";
}

const char *
app_prompt(struct app *a)
{
	if (a->gw[0] == '\0')
		snprintf(a->prompt, sizeof(a->prompt), "wattgate> ");
	else if (a->lost)
		snprintf(a->prompt, sizeof(a->prompt), "wattgate %s (offline)> ",
		    a->gw);
	else
		snprintf(a->prompt, sizeof(a->prompt), "wattgate %s%s> ", a->gw,
		    a->logged_in ? "" : "*");
	return a->prompt;
}

static void
forget_session(struct app *a)
{
	a->token[0] = '\0';
	a->own_session = 0;
	a->logged_in = 0;
}

/* A short request during connect; 0 with *data or -errno with err. */
static int
quick(struct app *a, const char *cmd, const char *arg, json_t **data,
    char *err, size_t errlen)
{
	struct call k;
	int rc;

	memset(&k, 0, sizeof(k));
	k.cmd = cmd;
	k.argv[0] = arg;
	k.argc = arg != NULL;
	k.timeout_ms = a->timeout_ms;
	rc = conn_call(&a->conn, &k);
	*data = k.data;
	if (rc != 0)
		snprintf(err, errlen, "%s", k.err);
	return rc;
}

int
app_connect(struct app *a, char *err, size_t errlen)
{
	json_t *d, *v;
	char why[512];
	int rc;

	if ((rc = conn_open(&a->conn, err, errlen)) != 0)
		return rc;
	if ((rc = quick(a, "hello", NULL, &d, err, errlen)) != 0) {
		conn_close(&a->conn);
		return rc == -EREMOTEIO ? -EPROTO : rc;
	}
	out_clean(a->gw, sizeof(a->gw), str_or(json_object_get(d, "gateway")));
	out_clean(a->version, sizeof(a->version),
	    str_or(json_object_get(d, "version")));
	a->logged_in = json_is_true(json_object_get(d, "login"));
	v = json_object_get(d, "open");
	json_decref(a->open);
	a->open = json_is_array(v) ? json_incref(v) : json_array();
	json_decref(d);
	if (a->token[0] != '\0') {
		rc = quick(a, "resume", a->token, &d, why, sizeof(why));
		if (rc == 0) {
			a->logged_in = 1;
		} else if (rc == -EREMOTEIO) {
			app_fail(a, "session not resumed: %s", why);
			forget_session(a);
		} else {
			snprintf(err, errlen, "%s", why);
			conn_close(&a->conn);
			return rc;
		}
		json_decref(d);
	}
	/* The command list is for completion and help only: no reply, no harm. */
	if (quick(a, "help", NULL, &d, why, sizeof(why)) == 0) {
		v = json_object_get(d, "commands");
		if (json_is_array(v)) {
			json_decref(a->help);
			a->help = json_incref(v);
		}
		json_decref(d);
	}
	a->lost = 0;
	a->idle_closed = 0;
	return 0;
}

int
app_reconnect(struct app *a, const char *what)
{
	char err[512];
	int said = 0;

	for (;;) {
		if (app_connect(a, err, sizeof(err)) == 0) {
			if (said)
				out_printf("connected to %s%s\n", a->gw,
				    a->logged_in ? " (session resumed)" : "");
			return 0;
		}
		if (!said) {
			app_fail(a, "%s: %s; trying every %d s (Ctrl-C gives up)",
			    what, err, RECONNECT_MS / 1000);
			said = 1;
		}
		poll(NULL, 0, RECONNECT_MS);
		if (out_gone())
			return -EINTR;
		if (out_sigint) {
			out_sigint = 0;
			a->lost = 1;
			a->retry_ms = app_now_ms() + RECONNECT_MS;
			return -ECANCELED;
		}
	}
}

int
app_call(struct app *a, struct call *k, int quiet)
{
	int rc;

	if (a->conn.fd < 0 && a->term != NULL) {
		rc = app_reconnect(a, "not connected");
		if (rc != 0) {
			snprintf(k->err, sizeof(k->err), "not connected");
			return rc == -EINTR ? rc : -ENOTCONN;
		}
	}
	rc = conn_call(&a->conn, k);
	if (rc == 0 || rc == -EINTR)
		return rc;
	if (rc == -EPIPE) {
		a->lost = 1;
		a->retry_ms = app_now_ms() + RECONNECT_MS;
	}
	if (quiet)
		return rc;
	switch (rc) {
	case -ETIMEDOUT:
		app_fail(a, "%s: no reply in %d s; canceled", k->cmd,
		    k->timeout_ms / 1000);
		break;
	case -ECANCELED:
		app_fail(a, "%s: canceled", k->cmd);
		break;
	case -EPIPE:
		app_fail(a, "connection lost: %s%s", k->err,
		    a->term ? "; reconnecting every 1 s" : "");
		break;
	default:
		app_fail(a, "%s", k->err);
		break;
	}
	return rc;
}

int
app_req(struct app *a, const char *cmd, int argc, char **argv, json_t **data)
{
	struct call k;
	int i, rc;

	memset(&k, 0, sizeof(k));
	k.cmd = cmd;
	for (i = 0; i < argc && i < CONN_ARGS_MAX; i++)
		k.argv[i] = argv[i];
	k.argc = (size_t)i;
	k.timeout_ms = a->timeout_ms;
	rc = app_call(a, &k, 0);
	*data = k.data;
	return rc;
}

/* Output from a tick lands above the line being edited. */
static int in_tick;

void
app_notice(void *arg, const char *text, int is_error)
{
	struct app *a = arg;
	char shown[512];

	if (strncmp(text, "session ended", 13) == 0)
		forget_session(a);	/* idle: a new login, not a resume */
	if (strncmp(text, "closing: idle", 13) == 0)
		a->idle_closed = 1;	/* the next command connects again */
	out_clean(shown, sizeof(shown), text);
	if (in_tick && a->term)
		term_say_begin(a->term);
	out_printf("%s%s\n", is_error ? "error: " : "notice: ", shown);
	if (in_tick && a->term) {
		app_prompt(a);
		term_say_end(a->term);
	}
}

int
app_fd(void *arg)
{
	return ((struct app *)arg)->conn.fd;
}

int
app_wait_ms(void *arg)
{
	struct app *a = arg;
	int64_t left;

	if (!a->lost)
		return -1;
	left = a->retry_ms - app_now_ms();
	return left < 0 ? 0 : (int)left;
}

void
app_tick(void *arg)
{
	struct app *a = arg;
	char err[512];

	in_tick = 1;
	if (a->conn.fd >= 0) {
		if (conn_pump(&a->conn, err, sizeof(err)) != 0 && a->idle_closed) {
			/*
			 * Closed for silence, without a session: nothing is
			 * lost, and a console left at its prompt should not
			 * say so every idle_s. The next command connects.
			 */
			a->idle_closed = 0;
		} else if (a->conn.fd < 0) {
			term_say_begin(a->term);
			out_printf("connection lost: %s; reconnecting every %d s\n",
			    err, RECONNECT_MS / 1000);
			a->lost = 1;
			a->retry_ms = app_now_ms() + RECONNECT_MS;
			app_prompt(a);
			term_say_end(a->term);
		}
	} else if (a->lost && app_now_ms() >= a->retry_ms) {
		if (app_connect(a, err, sizeof(err)) == 0) {
			term_say_begin(a->term);
			out_printf("connected to %s%s\n", a->gw, a->logged_in ?
			    " (session resumed)" : "");
			app_prompt(a);
			term_say_end(a->term);
		} else {
			a->retry_ms = app_now_ms() + RECONNECT_MS;
		}
	}
	in_tick = 0;
}
