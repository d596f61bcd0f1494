/*
 * A console connection's bytes (docs/console.md, "Protocol"): request lines
 * in, reply lines out, on the daemon's loop and never blocking it.
 *
 * In: at most CONSOLE_LINE_MAX bytes are buffered. A line that does not fit
 * is answered with an error and the rest of it, up to its LF, is dropped
 * as it comes; the connection stays. A client's lines are taken a few per
 * loop turn (CONSOLE_LINES_PER_TURN; the kick eventfd brings the next
 * turn), so one client's flood cannot hold the loop; and none while its
 * replies pile up unread (over half of CONSOLE_OUT_MAX): then its socket is
 * not read either, and the flood waits in the client's own socket buffer.
 *
 * Out: each client has a queue of at most CONSOLE_OUT_MAX bytes, written
 * with non-blocking sends, the rest on EPOLLOUT. A watch event that does not
 * fit is dropped and counted; any other reply that does not fit ends the
 * connection (a client that reads nothing must not make the daemon hold
 * its output without bound).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/core/console_srv.h"
#include "firmware/core/gateway_internal.h"

#define IN_MIN		4096
#define OUT_MIN		4096
#define OUT_KEEP	16384	/* a larger idle output buffer is given back */

struct console_client *
console_io_new(struct console *cs, int fd)
{
	struct console_client *cl = calloc(1, sizeof(*cl));

	if (cl == NULL)
		return NULL;
	cl->cs = cs;
	cl->fd = fd;
	cl->last_line_ms = clock_mono_ms();
	return cl;
}

void
console_io_free(struct console_client *cl)
{
	free(cl->in);
	free(cl->out);
	free(cl);
}

/* Replies pile up unread: take no more requests until they drain. */
static int
paused(const struct console_client *cl)
{
	return cl->out_len > CONSOLE_OUT_MAX / 2;
}

void
console_io_interest(struct console_client *cl)
{
	uint32_t ev = 0;

	if (cl->dead)
		return;
	if (!cl->eof && !cl->closing && !cl->pending && !paused(cl))
		ev |= EPOLLIN;
	if (cl->blocked)
		ev |= EPOLLOUT;
	if (ev != cl->events && loop_mod(cl->cs->g->loop, cl->fd, ev) == 0)
		cl->events = ev;
}

void
console_io_kill(struct console_client *cl, const char *why)
{
	if (cl->dead)
		return;
	if (why != NULL)
		log_warnx("console: uid %u pid %d: %s; closing", (unsigned)cl->uid,
		    (int)cl->pid, why);
	cl->dead = 1;
	/* No more events; the fd is closed and the LATER canceled at the reap. */
	loop_del(cl->cs->g->loop, cl->fd);
	console_kick(cl->cs);
}

void
console_io_maybe_finish(struct console_client *cl)
{
	if (!cl->dead && cl->eof && !cl->pending && cl->later == 0 &&
	    cl->out_len == 0)
		console_io_kill(cl, NULL);
}

void
console_io_flush(struct console_client *cl)
{
	int was_paused = paused(cl);
	ssize_t n;

	while (cl->out_len > 0 && !cl->dead) {
		n = send(cl->fd, cl->out + cl->out_head, cl->out_len,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			console_io_kill(cl, NULL);	/* the peer went away */
			return;
		}
		cl->out_head += (size_t)n;
		cl->out_len -= (size_t)n;
	}
	if (cl->dead)
		return;
	cl->blocked = cl->out_len > 0;
	if (cl->out_len == 0) {
		cl->out_head = 0;
		if (cl->out_cap > OUT_KEEP) {
			free(cl->out);
			cl->out = NULL;
			cl->out_cap = 0;
		}
		if (cl->closing) {
			console_io_kill(cl, NULL);
			return;
		}
	}
	if (was_paused && !paused(cl) && cl->pending)
		console_kick(cl->cs);
	console_io_interest(cl);
	console_io_maybe_finish(cl);
}

void
console_io_close_soon(struct console_client *cl)
{
	if (cl->dead || cl->closing)
		return;
	cl->closing = 1;
	cl->close_at = clock_mono_ms() + CONSOLE_CLOSE_GRACE_MS;
	console_io_flush(cl);
}

/* s and a LF appended to the queue: 0, or -ENOBUFS/-ENOMEM (nothing queued). */
static int
queue(struct console_client *cl, const char *s, size_t n)
{
	size_t need = n + 1, cap;
	char *p;

	if (cl->out_len + need > CONSOLE_OUT_MAX)
		return -ENOBUFS;
	if (cl->out_head + cl->out_len + need > cl->out_cap) {
		if (cl->out_head > 0) {
			memmove(cl->out, cl->out + cl->out_head, cl->out_len);
			cl->out_head = 0;
		}
		if (cl->out_len + need > cl->out_cap) {
			cap = cl->out_cap ? cl->out_cap : OUT_MIN;
			while (cap < cl->out_len + need)
				cap *= 2;
			if (cap > CONSOLE_OUT_MAX)
				cap = CONSOLE_OUT_MAX;
			if ((p = realloc(cl->out, cap)) == NULL)
				return -ENOMEM;
			cl->out = p;
			cl->out_cap = cap;
		}
	}
	memcpy(cl->out + cl->out_head + cl->out_len, s, n);
	cl->out[cl->out_head + cl->out_len + n] = '\n';
	cl->out_len += need;
	return 0;
}

/* msg (taken) as one line: 0, or -ENOBUFS if it does not fit (not queued). */
static int
send_msg(struct console_client *cl, json_t *msg, int droppable)
{
	char *s, why[128];
	size_t n;
	int rc;

	if (cl == NULL || cl->dead || cl->closing || msg == NULL) {
		json_decref(msg);
		return cl == NULL || msg == NULL ? -EINVAL : 0;
	}
	s = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (s == NULL) {
		console_io_kill(cl, "a reply could not be encoded (out of memory)");
		return -ENOMEM;
	}
	n = strlen(s);
	rc = queue(cl, s, n);
	free(s);
	if (rc == -ENOBUFS && droppable)
		return rc;
	if (rc < 0) {
		snprintf(why, sizeof(why), "a reply of %zu bytes does not fit beside "
		    "the %zu bytes it left unread", n + 1, cl->out_len);
		console_io_kill(cl, rc == -ENOBUFS ? why : "out of memory");
		return rc;
	}
	console_io_flush(cl);
	return 0;
}

json_t *
console_json_text(const char *s)
{
	json_t *j = json_string(s);
	char *copy;
	size_t i;

	if (j != NULL || s == NULL)
		return j != NULL ? j : json_null();
	/* Not UTF-8 (a device's string, a file's name): bytes as '?'. */
	if ((copy = strdup(s)) == NULL)
		return NULL;
	for (i = 0; copy[i] != '\0'; i++)
		if ((unsigned char)copy[i] >= 0x80)
			copy[i] = '?';
	j = json_string(copy);
	free(copy);
	return j;
}

void
console_ok(struct console_client *cl, uint64_t id, json_t *data)
{
	if (data == NULL)
		data = json_object();
	send_msg(cl, json_pack("{s:I, s:b, s:o}", "id", (json_int_t)id, "ok", 1,
	    "data", data), 0);
}

void
console_err(struct console_client *cl, uint64_t id, const char *fmt, ...)
{
	char msg[1024], line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_clean(line, sizeof(line), msg);	/* one line, whatever it quotes */
	send_msg(cl, json_pack("{s:I, s:b, s:o}", "id", (json_int_t)id, "ok", 0,
	    "error", console_json_text(line)), 0);
}

void
console_event(struct console_client *cl, uint64_t id, json_t *ev)
{
	if (ev == NULL)
		ev = json_object();
	if (cl == NULL || cl->dead || cl->closing) {
		json_decref(ev);
		return;
	}
	if (cl->dropped > 0 && json_is_object(ev))
		json_object_set_new(ev, "dropped", json_integer((json_int_t)cl->dropped));
	if (send_msg(cl, json_pack("{s:I, s:o}", "id", (json_int_t)id, "event", ev),
	    1) == -ENOBUFS)
		cl->dropped++;
	else
		cl->dropped = 0;
}

void
console_notice(struct console_client *cl, const char *fmt, ...)
{
	char msg[1024], line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_clean(line, sizeof(line), msg);
	send_msg(cl, json_pack("{s:I, s:o}", "id", (json_int_t)0, "notice",
	    console_json_text(line)), 0);
}

static int
blank(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

static void
bad_line(struct console_client *cl, uint64_t id, const char *err)
{
	console_err(cl, id, "%s", err);
	if (++cl->bad < CONSOLE_BAD_LINES)
		return;
	console_err(cl, 0, "request: %d bad lines in a row; closing",
	    CONSOLE_BAD_LINES);
	console_log_peer(cl->cs, "console: uid %u pid %d: %d bad lines in a row; "
	    "closed", (unsigned)cl->uid, (int)cl->pid, CONSOLE_BAD_LINES);
	console_io_close_soon(cl);
}

static void
one_line(struct console_client *cl, const char *s, size_t len)
{
	struct console_req rq;
	char err[512];

	/* An empty line (Enter on a raw terminal) is not a request. */
	if (blank(s, len))
		return;
	cl->last_line_ms = clock_mono_ms();
	if (console_req_parse(s, len, &rq, err, sizeof(err)) < 0) {
		bad_line(cl, rq.id, err);
		return;
	}
	cl->bad = 0;
	console_dispatch(cl->cs, cl, &rq);
	console_req_free(&rq);
}

void
console_io_lines(struct console_client *cl)
{
	unsigned budget = CONSOLE_LINES_PER_TURN;
	char *start, *lf;

	cl->pending = 0;
	while (!cl->dead && !cl->closing) {
		lf = memchr(cl->in + cl->in_scan, '\n', cl->in_len - cl->in_scan);
		if (lf == NULL) {
			cl->in_scan = cl->in_len;
			break;
		}
		if (paused(cl) || budget-- == 0) {
			cl->pending = 1;	/* paused: the flush kicks */
			if (!paused(cl))
				console_kick(cl->cs);
			break;
		}
		start = cl->in + cl->in_head;
		cl->in_head = cl->in_scan = (size_t)(lf - cl->in) + 1;
		one_line(cl, start, (size_t)(lf - start));
	}
	console_io_interest(cl);
	console_io_maybe_finish(cl);
}

/* Room to read into: consumed lines moved out, the buffer grown. 0 or -ENOMEM. */
static int
make_room(struct console_client *cl)
{
	size_t cap;
	char *p;

	if (cl->in_head > 0) {
		memmove(cl->in, cl->in + cl->in_head, cl->in_len - cl->in_head);
		cl->in_len -= cl->in_head;
		cl->in_scan -= cl->in_head;
		cl->in_head = 0;
	}
	if (cl->in_len == 0 && cl->in_cap > IN_MIN) {
		free(cl->in);	/* a long line is over: its memory goes back */
		cl->in = NULL;
		cl->in_cap = 0;
	}
	if (cl->in_len < cl->in_cap)
		return 0;
	cap = cl->in_cap ? cl->in_cap * 2 : IN_MIN;
	if (cap > CONSOLE_LINE_MAX)
		cap = CONSOLE_LINE_MAX;
	if ((p = realloc(cl->in, cap)) == NULL)
		return -ENOMEM;
	cl->in = p;
	cl->in_cap = cap;
	return 0;
}

static void
oversized(struct console_client *cl)
{
	char err[96];

	snprintf(err, sizeof(err), "request: line longer than %d bytes; discarded",
	    CONSOLE_LINE_MAX);
	cl->in_head = cl->in_len = cl->in_scan = 0;
	cl->discarding = 1;
	bad_line(cl, 0, err);
}

static void
io_read(struct console_client *cl)
{
	char *lf;
	ssize_t n;

	if (make_room(cl) < 0) {
		console_io_kill(cl, "no memory for its input");
		return;
	}
	n = recv(cl->fd, cl->in + cl->in_len, cl->in_cap - cl->in_len, 0);
	if (n == 0) {
		cl->eof = 1;	/* what is complete is still answered */
		console_io_interest(cl);
		console_io_maybe_finish(cl);
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			console_io_kill(cl, NULL);
		return;
	}
	if (cl->discarding) {
		lf = memchr(cl->in + cl->in_len, '\n', (size_t)n);
		if (lf == NULL)
			return;		/* still inside the oversized line */
		n -= lf + 1 - (cl->in + cl->in_len);
		memmove(cl->in + cl->in_len, lf + 1, (size_t)n);
		cl->discarding = 0;
	}
	cl->in_len += (size_t)n;
	console_io_lines(cl);
	if (!cl->dead && !cl->closing && !cl->pending &&
	    cl->in_len - cl->in_head >= CONSOLE_LINE_MAX)
		oversized(cl);
}

void
console_io_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct console_client *cl = arg;

	(void)l;
	(void)fd;
	if (cl->dead)
		return;
	if (events & EPOLLOUT)
		console_io_flush(cl);
	/* Hung up both ways: nothing we answer could arrive any more. */
	if (events & (EPOLLERR | EPOLLHUP)) {
		console_io_kill(cl, NULL);
		return;
	}
	if ((events & EPOLLIN) && !cl->dead)
		io_read(cl);
}
