/*
 * wattgate-console's state: the connection, the session and what is known
 * about the gateway, shared by its commands (cmds.c), the login (login.c),
 * config apply (cfgcmd.c) and the formatting of replies (show.c).
 */
#ifndef WG_CONSOLE_APP_H
#define WG_CONSOLE_APP_H

#include <stdint.h>

#include <jansson.h>

#include "firmware/console/complete.h"
#include "firmware/console/conn.h"
#include "firmware/console/term.h"

#define EXIT_USAGE	2
#define TOKEN_MAX	128	/* a session token: hex of 16 bytes is 32 */
#define RECONNECT_MS	1000

struct app {
	struct conn conn;
	struct term *term;	/* NULL: one command (-c) */
	int json;		/* -c --json: the reply's data as JSON */
	int timeout_ms;		/* a short request's wait (--timeout) */
	char gw[64], version[64];
	char token[TOKEN_MAX + 1];	/* "": no session to resume */
	int own_session;	/* we logged in: logout when we leave */
	int logged_in;
	json_t *open;		/* hello's "open": commands without a login */
	json_t *help;		/* help's "commands", for completion and help */
	json_t *devs;		/* devices' "devices", for completion */
	int64_t devs_ms;
	int lost;		/* the connection is gone; retried every second */
	int idle_closed;	/* the daemon closed it for silence (no session) */
	int64_t retry_ms;
	char prompt[128];
};

int64_t app_now_ms(void);
int64_t app_wall_ms(void);	/* ms since the epoch, for times shown */
/*
 * The prompt for the state we are in, into a->prompt (the editor shows
 * that buffer, so a change shows at the next redraw): "wattgate GW> "
 * logged in, "wattgate GW*> " not, "wattgate GW (offline)> ".
 */
const char *app_prompt(struct app *a);

/*
 * Connects, says hello, resumes the session a->token names: 0, or -errno
 * with err. A resume the daemon refuses drops the token and says so.
 */
int app_connect(struct app *a, char *err, size_t errlen);
/*
 * Connects, retrying every second until it works or Ctrl-C (-ECANCELED) or
 * the terminal goes (-EINTR); says so once. what: "reconnecting".
 */
int app_reconnect(struct app *a, const char *what);
/*
 * A request: reconnects first if the connection is gone (interactive),
 * then conn_call. A failure is printed (app_fail) unless quiet; returns
 * conn_call's result.
 */
int app_call(struct app *a, struct call *k, int quiet);
/* A request with the usual timeout and args; 0 and *data (freed by the
 * caller), or -errno (printed). */
int app_req(struct app *a, const char *cmd, int argc, char **argv,
    json_t **data);

/* An error line: stderr, "wattgate-console: " before it with -c. */
void app_fail(struct app *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The notice hook of conn (a line from the daemon nobody asked for). */
void app_notice(void *arg, const char *text, int is_error);
/* Prompt hooks (term_hooks). */
int app_fd(void *arg);
int app_wait_ms(void *arg);
void app_tick(void *arg);

/* cmds.c: one command line: 0 done, 1 failed, EXIT_USAGE bad usage; -1 quit. */
int cmds_run(struct app *a, char *line);
void cmds_candidates(void *arg, int nw, char **w, struct cands *c);
/* Splits line into words (quotes '...' and "..."): count, or -1 bad. */
int cmds_split(char *line, char **w, int max);
/* The names the daemon's "devices" knows (for completion), refreshed. */
json_t *cmds_devices(struct app *a);

/* login.c */
int login_run(struct app *a, int argc, char **argv);
int logout_run(struct app *a, int argc, char **argv);
/* cfgcmd.c: config show|check FILE|apply FILE */
int config_run(struct app *a, int argc, char **argv);

#endif
