/*
 * Private to the console's server: console.c (socket, peers, dispatcher,
 * tickets) and console_io.c (a connection's bytes: lines in, replies out).
 * Commands see none of this (console_internal.h).
 */
#ifndef WG_CONSOLE_SRV_H
#define WG_CONSOLE_SRV_H

#include <stdint.h>
#include <sys/types.h>

#include "firmware/base/loop.h"
#include "firmware/core/config.h"
#include "firmware/core/console_internal.h"

#define CONSOLE_SLOTS		64	/* console.max_clients at most */
#define CONSOLE_WHO_MAX		200
#define CONSOLE_BAD_LINES	16	/* bad lines in a row: the connection ends */
#define CONSOLE_LINES_PER_TURN	16	/* a client's lines per loop turn */
#define CONSOLE_CLOSE_GRACE_MS	2000	/* to write the last words */
#define CONSOLE_ZOMBIES		4	/* identity's children not reaped yet */

struct console_client {
	struct console *cs;
	unsigned slot;
	uint32_t gen;
	int fd;
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char who[CONSOLE_WHO_MAX + 1];	/* "": not logged in */
	/* Input: bytes [in_head, in_len) of in, no LF before in_scan. */
	char *in;
	size_t in_head, in_len, in_cap, in_scan;
	int discarding;		/* an oversized line: dropped up to its LF */
	int eof;		/* the peer shut its side: finish, then close */
	int pending;		/* complete lines wait for the next turn */
	unsigned bad;		/* bad lines in a row */
	/* Output: bytes [out_head, out_head + out_len) of out. */
	char *out;
	size_t out_head, out_len, out_cap;
	int blocked;		/* the socket took less than we had */
	uint32_t events;	/* registered with the loop */
	uint64_t dropped;	/* watch events dropped since one went out */
	/* The LATER request under way (0: none) and whose it is. */
	uint64_t later;
	const struct console_cmd *later_cmd;
	uint64_t running;	/* the request being dispatched */
	int running_done;	/* ...already ended (console_ticket_done) */
	int64_t last_line_ms;	/* CLOCK_MONOTONIC: the last complete line */
	int closing;		/* write what is queued, then close */
	int64_t close_at;
	int dead;		/* closed at the next turn (console.c reaps) */
};

struct console_srv {
	const struct cfg_console *cfg;
	int lfd, tfd, kfd;	/* listening socket, 1 s tick, "more to do" */
	int kicked;
	int accept_paused;	/* out of fds: accepting again at the next tick */
	dev_t dev;		/* the socket file we made (unlinked only if so) */
	ino_t ino;
	struct console_client *slots[CONSOLE_SLOTS];
	unsigned n;
	uint32_t gen;
	struct console_idjob *idjob;	/* identity's child (console_identity.c) */
	pid_t zombies[CONSOLE_ZOMBIES];	/* its children that exited late */
	/* Refusals logged: a few per minute, then a count. */
	int64_t log_from;
	unsigned log_n, log_quiet;
};

/* console.c */
/* One parsed request: checks, then its command's run. */
void console_dispatch(struct console *cs, struct console_client *cl,
    const struct console_req *rq);
/* Another turn soon (lines left, clients to reap): the kick eventfd. */
void console_kick(struct console *cs);
/* The cancel command: N of this client. */
void console_cancel(struct console *cs, struct console_client *cl, uint64_t id,
    uint64_t n);
/* A line about a peer, rate limited (a flood of connections); console_sock.c. */
void console_log_peer(struct console *cs, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* console_sock.c: the listening socket's callback. */
void console_accept(struct loop *l, int fd, uint32_t events, void *arg);

/* console_io.c */
struct console_client *console_io_new(struct console *cs, int fd);
void console_io_free(struct console_client *cl);
/* The loop's callback for a client's fd. */
void console_io_event(struct loop *l, int fd, uint32_t events, void *arg);
/* Lines left from an earlier turn (budgeted). */
void console_io_lines(struct console_client *cl);
/* Write what is queued; EPOLLOUT if the socket is full. */
void console_io_flush(struct console_client *cl);
/* The connection ends after what is queued went out (or the grace). */
void console_io_close_soon(struct console_client *cl);
/* Closed for good now; reaped at the next turn. */
void console_io_kill(struct console_client *cl, const char *why);
/* Interest (EPOLLIN/EPOLLOUT) as the client's state says. */
void console_io_interest(struct console_client *cl);
/* A half-closed client with nothing left to do is closed. */
void console_io_maybe_finish(struct console_client *cl);

#endif
