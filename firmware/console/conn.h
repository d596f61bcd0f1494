/*
 * wattgate-console's side of the console socket (docs/console.md): one
 * Unix stream connection, JSON lines both ways, a request at a time.
 *
 * The daemon is the only peer, but nothing it says is trusted to be short
 * or well formed: a line longer than CONN_LINE_MAX drops the connection
 * (there is no way to find the next reply in a stream cut at random), and a
 * line that is not the JSON object the protocol says is skipped. Strings
 * from replies reach the terminal only through out_clean() (out.h).
 */
#ifndef WG_CONSOLE_CONN_H
#define WG_CONSOLE_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/*
 * The longest reply line taken. The daemon queues at most 256 KiB for a
 * client (CONSOLE_OUT_MAX), so a reply is shorter than that; twice it
 * leaves room for a daemon that grows its limit.
 */
#define CONN_LINE_MAX	(512 * 1024)
/* A request's args (protocol: at most 8, each at most 1024 bytes). */
#define CONN_ARGS_MAX	8
#define CONN_ARG_MAX	1024
/* config check|apply: the file's text (protocol: body at most 60000 bytes). */
#define CONN_BODY_MAX	60000
/* How long a cancel's "canceled" reply is waited for before giving up. */
#define CONN_CANCEL_MS	2000

struct conn {
	int fd;			/* -1: not connected */
	char path[108];		/* sun_path */
	uint64_t next_id;
	char *buf;		/* what came after the last complete line */
	size_t len, cap;
	char refusal[256];	/* an id-0 error just before a close */
	/* Unsolicited lines ({"id":0,"notice"} and id-0 errors). */
	void (*notice)(void *arg, const char *text, int is_error);
	void *arg;
};

/* One request and what it waits on. */
struct call {
	const char *cmd;
	const char *argv[CONN_ARGS_MAX];
	size_t argc;
	const char *body;	/* NULL: none */
	size_t body_len;
	int timeout_ms;		/* < 0: wait for ever (Ctrl-C ends it) */
	int key_ends;		/* a byte on stdin cancels it (watch) */
	/* Streamed events of this request (watch, scan progress); taken: no. */
	void (*event)(void *arg, json_t *ev);
	void *arg;
	/* Out: the reply's data (ok; the caller frees it), or why not. */
	json_t *data;
	char err[512];
};

/*
 * conn_call's results besides 0 (ok, k->data set):
 *   -EREMOTEIO  the daemon answered with an error (k->err: its line)
 *   -ETIMEDOUT  no reply in k->timeout_ms; the request was canceled
 *   -ECANCELED  Ctrl-C or (key_ends) a key; the request was canceled
 *   -EPIPE      the connection is gone (k->err says how); conn is closed
 *   -ENOTCONN   not connected
 *   -EINTR      SIGHUP/SIGTERM or the terminal went away (out.h: out_gone)
 */
void conn_init(struct conn *c, const char *path,
    void (*notice)(void *arg, const char *text, int is_error), void *arg);
/* Connects (no request sent). 0, or -errno with err "PATH: WHAT". */
int conn_open(struct conn *c, char *err, size_t errlen);
void conn_close(struct conn *c);
int conn_call(struct conn *c, struct call *k);
/*
 * Reads what the daemon sent while no request runs (notices), without
 * blocking. 0, or -EPIPE when the connection is gone (closed; err says how).
 */
int conn_pump(struct conn *c, char *err, size_t errlen);

#endif
