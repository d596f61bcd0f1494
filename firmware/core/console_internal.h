/*
 * Shared by the console's files (docs/console.md): the server and its
 * dispatcher (console.c, H1), the information commands (console_info.c),
 * logins (console_auth.c) and actions (console_act.c and friends).
 *
 * A command is one entry of a table: it answers at once (console_ok or
 * console_err, CCMD_DONE) or keeps a ticket and answers later (CCMD_LATER:
 * a bus read, a scan, watch). Replies are queued per client and written
 * when the socket takes them: nothing here ever blocks the loop.
 *
 * A client pointer is valid only inside the callback that got it (a run,
 * console_each, console_ticket_client): a client can go away any time the
 * loop runs. Code that answers later keeps a ticket and asks for the client
 * again with console_ticket_client.
 */
#ifndef WG_CONSOLE_INTERNAL_H
#define WG_CONSOLE_INTERNAL_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "firmware/base/reading.h"
#include "firmware/codec/console_req.h"	/* CONSOLE_LINE_MAX, struct console_req */
#include "firmware/core/console.h"

#define CONSOLE_OUT_MAX    (256 * 1024)
#define CONSOLE_PROTOCOL   1

struct gateway;
struct console_client;
struct console_auth;
struct console_act;
struct console_srv;

struct console_ticket {		/* a request that answers later */
	unsigned slot;
	uint32_t gen;		/* the client in slot; a new client bumps it */
	uint64_t id;
};

enum console_class { CCLASS_NONE, CCLASS_READ, CCLASS_WRITE };
enum { CCMD_DONE, CCMD_LATER };

struct console_cmd {
	const char *name;	/* NULL ends a table */
	const char *usage;	/* "read DEV REG [COUNT] [TYPE]" */
	const char *help;	/* one line */
	enum console_class cls;
	unsigned min_args, max_args;
	int body;		/* 1: takes "body" */
	/* Replies itself (console_ok/console_err) and returns CCMD_DONE, or
	 * keeps a ticket and returns CCMD_LATER (one LATER per client). */
	int (*run)(struct console *cs, struct console_client *cl,
	    const struct console_req *rq);
	/* A LATER request canceled (cancel, its client gone, console_stop):
	 * stop it and forget the ticket; the server sends "canceled" itself.
	 * Match the job by the whole ticket (slot, gen and id). */
	void (*cancel)(struct console *cs, const struct console_ticket *t);
};

extern const struct console_cmd console_cmds_info[];	/* H1: console_info.c */
extern const struct console_cmd console_cmds_auth[];	/* H2: console_auth.c */
extern const struct console_cmd console_cmds_act[];	/* H3: console_act.c etc. */

struct console {
	struct gateway *g;
	struct console_srv *srv;	/* the server's own state (console.c) */
	struct console_auth *auth;	/* H2: console_auth_start/stop */
	struct console_act *act;	/* H3: console_act_start/stop */
};

/* Replies: queued, never block. data/ev taken (NULL: {}). */
void console_ok(struct console_client *cl, uint64_t id, json_t *data);
void console_err(struct console_client *cl, uint64_t id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void console_event(struct console_client *cl, uint64_t id, json_t *ev);	/* droppable */
void console_notice(struct console_client *cl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A LATER request's handle, and its client if still there (NULL: gone). */
struct console_ticket console_ticket(struct console_client *cl, uint64_t id);
struct console_client *console_ticket_client(struct console *cs,
    const struct console_ticket *t);
/* The request behind t ended: the client may start another LATER one. */
void console_ticket_done(struct console *cs, const struct console_ticket *t);
/* Login state (set by H2's console_auth.c, read by the dispatcher). The
 * server itself logs a client out after idle_s of silence (it is told
 * "session ended: idle for N s"), and closes one not logged in. */
void console_client_set_who(struct console_client *cl, const char *who);	/* NULL: logged out */
const char *console_client_who(const struct console_client *cl);
uid_t console_client_uid(const struct console_client *cl);
/* Each client, for broadcasts (watch) and logouts: fn(cl, arg). */
void console_each(struct console *cs, void (*fn)(struct console_client *cl, void *arg), void *arg);

/* H2 (console_auth.c) */
int console_auth_start(struct console *cs);	/* reads lockout state, sessions */
void console_auth_stop(struct console *cs);
/* H3 (console_act.c) */
int console_act_start(struct console *cs);
void console_act_reading(struct console *cs, const struct reading *r);
void console_act_stop(struct console *cs);	/* cancels its jobs */

/* ---- Additions by H1 (the spec allows adding) ---- */

/* The command called name in the three tables; NULL if none. */
const struct console_cmd *console_cmd_find(const char *name);
/* Is name listed in the site config's console.open? */
int console_cmd_open(const struct console *cs, const char *name);
/* The id of the client's LATER request under way, 0 if none: a command
 * that would start one may answer "busy" itself instead of starting it
 * (else the server cancels the new one at once and says busy). */
uint64_t console_client_later(const struct console_client *cl);
/* The connection's peer, for log lines and login records. */
pid_t console_client_pid(const struct console_client *cl);
/* s as a JSON string; bytes that are not UTF-8 as '?'. NULL: no memory. */
json_t *console_json_text(const char *s);
/* How many clients are connected. */
unsigned console_clients(const struct console *cs);

#endif
