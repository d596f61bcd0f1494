/*
 * The technician console's server (issue 16, docs/console.md): a Unix
 * socket on the daemon's loop, like ntpctl's or birdc's, so that the CLI is
 * a separate process that can crash, hang or be unplugged without touching
 * the daemon.
 *
 * Here: the clients' slots, the dispatcher over the three command tables,
 * the tickets of requests that answer later, idle sessions, and an orderly
 * stop. A connection's bytes are console_io.c's; the listening socket,
 * accepting and who may connect console_sock.c's.
 *
 * Nothing here waits: the socket is non-blocking, replies are queued, a
 * client that floods or never reads is bounded (console_io.c) and a silent
 * one is closed after idle_s. Clients are freed only at the next loop turn
 * (the kick eventfd), never under a command that still holds the pointer.
 */
#include "firmware/core/console.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/core/console_info.h"
#include "firmware/core/console_sock.h"
#include "firmware/core/console_srv.h"
#include "firmware/core/gateway_internal.h"

static const struct console_cmd *const tables[] = {
	console_cmds_info, console_cmds_auth, console_cmds_act,
};

const struct console_cmd *
console_cmd_find(const char *name)
{
	const struct console_cmd *c;
	size_t i;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
		for (c = tables[i]; c->name != NULL; c++)
			if (strcmp(c->name, name) == 0)
				return c;
	return NULL;
}

int
console_cmd_open(const struct console *cs, const char *name)
{
	const struct cfg_console *cc = cs->srv->cfg;
	size_t i;

	for (i = 0; i < cc->n_open; i++)
		if (strcmp(cc->open[i], name) == 0)
			return 1;
	return 0;
}

void
console_kick(struct console *cs)
{
	uint64_t one = 1;

	if (cs->srv->kicked)
		return;
	if (write(cs->srv->kfd, &one, sizeof(one)) == sizeof(one))
		cs->srv->kicked = 1;
}

/* The client in t's slot if it is t's, dead or not (NULL: long gone). */
static struct console_client *
slot_client(struct console *cs, const struct console_ticket *t)
{
	struct console_client *cl;

	if (t->slot >= CONSOLE_SLOTS || (cl = cs->srv->slots[t->slot]) == NULL)
		return NULL;
	return cl->gen == t->gen ? cl : NULL;
}

struct console_ticket
console_ticket(struct console_client *cl, uint64_t id)
{
	struct console_ticket t = { .slot = cl->slot, .gen = cl->gen, .id = id };

	return t;
}

struct console_client *
console_ticket_client(struct console *cs, const struct console_ticket *t)
{
	struct console_client *cl = slot_client(cs, t);

	return cl != NULL && !cl->dead ? cl : NULL;
}

void
console_ticket_done(struct console *cs, const struct console_ticket *t)
{
	struct console_client *cl = slot_client(cs, t);

	if (cl == NULL)
		return;
	if (cl->running == t->id)
		cl->running_done = 1;	/* ended inside its own run */
	if (cl->later == t->id) {
		cl->later = 0;
		cl->later_cmd = NULL;
		console_io_maybe_finish(cl);
	}
}

/* Takes the client's LATER request from it and has its owner stop it. */
static uint64_t
cancel_later(struct console *cs, struct console_client *cl)
{
	const struct console_cmd *cmd = cl->later_cmd;
	struct console_ticket t = console_ticket(cl, cl->later);

	if (t.id == 0)
		return 0;
	cl->later = 0;
	cl->later_cmd = NULL;
	if (cmd != NULL && cmd->cancel != NULL)
		cmd->cancel(cs, &t);
	return t.id;
}

void
console_cancel(struct console *cs, struct console_client *cl, uint64_t id,
    uint64_t n)
{
	if (n == 0 || cl->later != n) {
		console_err(cl, id, "cancel: request %llu is not running",
		    (unsigned long long)n);
		return;
	}
	cancel_later(cs, cl);
	console_err(cl, n, "canceled");
	console_ok(cl, id, NULL);
	console_io_maybe_finish(cl);
}

static int
allowed(const struct console *cs, const struct console_client *cl,
    const struct console_cmd *cmd)
{
	if (cmd->cls == CCLASS_NONE || cl->who[0] != '\0')
		return 1;
	return cmd->cls == CCLASS_READ && console_cmd_open(cs, cmd->name);
}

void
console_dispatch(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	const struct console_cmd *cmd = console_cmd_find(rq->cmd);
	struct console_ticket t;
	int rc;

	if (cmd == NULL) {
		console_err(cl, rq->id, "unknown command '%s' (see 'help')", rq->cmd);
		return;
	}
	if (rq->argc < cmd->min_args || rq->argc > cmd->max_args) {
		console_err(cl, rq->id, "%s: usage: %s", cmd->name, cmd->usage);
		return;
	}
	if (rq->body != NULL && !cmd->body) {
		console_err(cl, rq->id, "%s: takes no body", cmd->name);
		return;
	}
	if (!allowed(cs, cl, cmd)) {
		console_err(cl, rq->id, "login required: '%s' (see 'help login')",
		    cmd->name);
		return;
	}
	if (cl->later == rq->id) {
		console_err(cl, rq->id, "request %llu is still running: each request "
		    "needs its own id", (unsigned long long)rq->id);
		return;
	}
	cl->running = rq->id;
	cl->running_done = 0;
	rc = cmd->run(cs, cl, rq);
	cl->running = 0;
	if (rc != CCMD_LATER || cl->running_done)
		return;
	t = console_ticket(cl, rq->id);
	if (cl->later != 0) {
		/* One long request per client: the owner did not check, so the
		 * new one stops at once (console_client_later lets it check). */
		if (cmd->cancel != NULL)
			cmd->cancel(cs, &t);
		console_err(cl, rq->id, "busy: request %llu is still running (cancel "
		    "it first)", (unsigned long long)cl->later);
		return;
	}
	cl->later = rq->id;
	cl->later_cmd = cmd;
}

void
console_client_set_who(struct console_client *cl, const char *who)
{
	snprintf(cl->who, sizeof(cl->who), "%s", who != NULL ? who : "");
}

const char *
console_client_who(const struct console_client *cl)
{
	return cl->who[0] != '\0' ? cl->who : NULL;
}

uid_t
console_client_uid(const struct console_client *cl)
{
	return cl->uid;
}

pid_t
console_client_pid(const struct console_client *cl)
{
	return cl->pid;
}

uint64_t
console_client_later(const struct console_client *cl)
{
	return cl->later;
}

unsigned
console_clients(const struct console *cs)
{
	unsigned i, n = 0;

	for (i = 0; i < CONSOLE_SLOTS; i++)
		n += cs->srv->slots[i] != NULL && !cs->srv->slots[i]->dead;
	return n;
}

void
console_each(struct console *cs, void (*fn)(struct console_client *cl, void *arg),
    void *arg)
{
	unsigned i;

	for (i = 0; i < CONSOLE_SLOTS; i++)
		if (cs->srv->slots[i] != NULL && !cs->srv->slots[i]->dead)
			fn(cs->srv->slots[i], arg);
}

/* A client closed for good: its LATER request canceled, its slot free. */
static void
reap(struct console *cs, struct console_client *cl)
{
	cancel_later(cs, cl);
	if (!cl->dead)
		loop_del(cs->g->loop, cl->fd);
	close(cl->fd);
	cs->srv->slots[cl->slot] = NULL;
	cs->srv->n--;
	console_io_free(cl);
}

static void
on_kick(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct console *cs = arg;
	struct console_client *cl;
	uint64_t v;
	unsigned i;

	(void)l;
	(void)events;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("console: kick");
	cs->srv->kicked = 0;
	for (i = 0; i < CONSOLE_SLOTS; i++) {
		if ((cl = cs->srv->slots[i]) == NULL)
			continue;
		if (cl->dead)
			reap(cs, cl);
		else if (cl->pending)
			console_io_lines(cl);
	}
}

/* Once a second: idle sessions, closing clients' grace, a paused accept. */
static void
on_tick(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct console *cs = arg;
	struct console_srv *srv = cs->srv;
	int64_t now = clock_mono_ms(), idle = (int64_t)srv->cfg->idle_s * 1000;
	struct console_client *cl;
	unsigned i;

	(void)events;
	loop_timer_ack(fd);
	console_identity_tick(cs);
	if (srv->accept_paused && loop_mod(l, srv->lfd, EPOLLIN) == 0)
		srv->accept_paused = 0;
	for (i = 0; i < CONSOLE_SLOTS; i++) {
		if ((cl = srv->slots[i]) == NULL || cl->dead)
			continue;
		if (cl->closing) {
			if (now >= cl->close_at)
				console_io_kill(cl, NULL);
			continue;
		}
		/* Silence is counted in complete lines; a running request is not. */
		if (cl->later != 0 || now - cl->last_line_ms < idle)
			continue;
		cl->last_line_ms = now;
		if (cl->who[0] != '\0') {
			log_info("console: uid %u pid %d: session of %s ended: idle for "
			    "%u s", (unsigned)cl->uid, (int)cl->pid, cl->who,
			    srv->cfg->idle_s);
			console_notice(cl, "session ended: idle for %u s",
			    srv->cfg->idle_s);
			console_client_set_who(cl, NULL);
		} else {
			console_notice(cl, "closing: idle for %u s", srv->cfg->idle_s);
			console_io_close_soon(cl);
		}
	}
}

static void
free_console(struct console *cs)
{
	struct console_srv *srv = cs->srv;
	int *fds[] = { &srv->lfd, &srv->tfd, &srv->kfd };
	size_t i;

	for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0) {
			loop_del(cs->g->loop, *fds[i]);
			close(*fds[i]);
		}
	if (srv->ino != 0)
		console_sock_unlink(srv->cfg->socket, srv->dev, srv->ino);
	free(srv);
	free(cs);
}

int
console_start(struct gateway *g, struct console **out)
{
	const struct cfg_console *cc = &g->cfg->console;
	struct console_srv *srv;
	struct console *cs;
	char err[512];
	int rc;

	*out = NULL;
	if (!cc->enabled)
		return 0;
	if ((cs = calloc(1, sizeof(*cs))) == NULL ||
	    (srv = calloc(1, sizeof(*srv))) == NULL) {
		free(cs);
		return -ENOMEM;
	}
	cs->g = g;
	cs->srv = srv;
	srv->cfg = cc;
	srv->lfd = srv->tfd = srv->kfd = -1;
	srv->log_from = clock_mono_ms();
	if ((rc = console_sock_listen(cc, &srv->lfd, &srv->dev, &srv->ino, err,
	    sizeof(err))) < 0)
		goto fail;
	if ((srv->tfd = loop_timer_new(CLOCK_MONOTONIC)) < 0) {
		rc = srv->tfd;
		snprintf(err, sizeof(err), "timer: %s", strerror(-rc));
		goto fail;
	}
	if ((srv->kfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		rc = -errno;
		snprintf(err, sizeof(err), "eventfd: %s", strerror(errno));
		goto fail;
	}
	if ((rc = loop_timer_after(srv->tfd, 1000, 1000)) < 0 ||
	    (rc = loop_add(g->loop, srv->lfd, EPOLLIN, console_accept, cs)) < 0 ||
	    (rc = loop_add(g->loop, srv->tfd, EPOLLIN, on_tick, cs)) < 0 ||
	    (rc = loop_add(g->loop, srv->kfd, EPOLLIN, on_kick, cs)) < 0) {
		snprintf(err, sizeof(err), "loop: %s", strerror(-rc));
		goto fail;
	}
	if ((rc = console_auth_start(cs)) < 0) {
		snprintf(err, sizeof(err), "logins: %s", strerror(-rc));
		goto fail;
	}
	if ((rc = console_act_start(cs)) < 0) {
		console_auth_stop(cs);
		snprintf(err, sizeof(err), "actions: %s", strerror(-rc));
		goto fail;
	}
	log_info("console: serving %s (mode %04o%s%s, at most %u clients, idle "
	    "after %u s)", cc->socket, cc->mode, cc->group[0] ? ", group " : "",
	    cc->group, cc->max_clients, cc->idle_s);
	*out = cs;
	return 0;
fail:
	/* The daemon's work does not depend on its console. */
	log_warnx("console: %s; the daemon runs without its console", err);
	free_console(cs);
	return rc == -ENOMEM ? -ENOMEM : 0;
}

void
console_reading(struct console *cs, const struct reading *r)
{
	if (cs != NULL)
		console_act_reading(cs, r);
}

void
console_stop(struct console *cs)
{
	struct console_client *cl;
	uint64_t id;
	unsigned i;

	if (cs == NULL)
		return;
	for (i = 0; i < CONSOLE_SLOTS; i++) {
		if ((cl = cs->srv->slots[i]) == NULL)
			continue;
		if ((id = cancel_later(cs, cl)) != 0)
			console_err(cl, id, "canceled");
		console_notice(cl, "stopping");
	}
	console_identity_stop(cs);
	console_act_stop(cs);
	console_auth_stop(cs);
	for (i = 0; i < CONSOLE_SLOTS; i++)
		if ((cl = cs->srv->slots[i]) != NULL)
			reap(cs, cl);
	free_console(cs);
}
