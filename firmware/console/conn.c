/*
 * The console socket, client side (conn.h). Requests are written whole
 * (a line is at most ~70 KB and the daemon reads as it can; the socket's
 * buffer takes it or poll() waits), replies are read as they come and
 * matched by id: an event or final reply of an earlier request (one that
 * timed out or was canceled) is dropped here, never shown as this one's.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "firmware/console/conn.h"
#include "firmware/console/out.h"

void
conn_init(struct conn *c, const char *path,
    void (*notice)(void *arg, const char *text, int is_error), void *arg)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->next_id = 1;
	c->notice = notice;
	c->arg = arg;
}

int
conn_open(struct conn *c, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int fd, rc;

	conn_close(c);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(c->path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%.200s: path too long for a socket", c->path);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, c->path, strlen(c->path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(-rc));
		return rc;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		rc = -errno;
		snprintf(err, errlen, "%.200s: %s", c->path, strerror(-rc));
		close(fd);
		return rc;
	}
	c->fd = fd;
	c->len = 0;
	c->refusal[0] = '\0';
	return 0;
}

void
conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes all of buf; poll() for room. 0 or -errno (-EINTR: told to stop). */
static int
write_all(struct conn *c, const char *buf, size_t len)
{
	struct pollfd p;
	ssize_t n;

	while (len > 0) {
		n = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		p.fd = c->fd;
		p.events = POLLOUT;
		if (poll(&p, 1, 5000) == 0)
			return -ETIMEDOUT;	/* the daemon reads nothing */
		if (out_gone())
			return -EINTR;
	}
	return 0;
}

/* The request as one line; id taken from c. 0 or -errno. */
static int
send_req(struct conn *c, const char *cmd, const char *const *argv,
    size_t argc, const char *body, size_t body_len, uint64_t *id)
{
	json_t *o, *a;
	char *line;
	size_t i;
	int rc;

	if (c->fd < 0)
		return -ENOTCONN;
	*id = c->next_id++;
	o = json_pack("{s:I,s:s}", "id", (json_int_t)*id, "cmd", cmd);
	if (o == NULL)
		return -ENOMEM;
	if (argc > 0) {
		a = json_array();
		for (i = 0; i < argc; i++)
			json_array_append_new(a, json_string(argv[i]));
		json_object_set_new(o, "args", a);
	}
	if (body != NULL)
		json_object_set_new(o, "body", json_stringn(body, body_len));
	line = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (line == NULL)
		return -EINVAL;	/* not UTF-8: json_string refused it */
	i = strlen(line);
	line[i] = '\n';		/* the NUL becomes the LF; not a string any more */
	rc = write_all(c, line, i + 1);
	free(line);
	return rc;
}

/*
 * One reply line: an object with an integer id; sorted into what the
 * caller waits for (k, id want), notices, or dropped. Returns 1 when it was
 * want's final reply.
 */
static int
take_line(struct conn *c, const char *line, size_t len, struct call *k,
    uint64_t want)
{
	json_error_t je;
	json_t *o, *v;
	json_int_t id;
	const char *s;
	int final = 0;

	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
	if (o == NULL || !json_is_object(o) ||
	    !json_is_integer(json_object_get(o, "id"))) {
		if (c->notice)
			c->notice(c->arg, "the daemon sent a line that is not a "
			    "reply; skipped", 1);
		json_decref(o);
		return 0;
	}
	id = json_integer_value(json_object_get(o, "id"));
	if (id == 0) {
		if ((s = json_string_value(json_object_get(o, "notice"))))
			c->notice(c->arg, s, 0);
		else if ((s = json_string_value(json_object_get(o, "error")))) {
			snprintf(c->refusal, sizeof(c->refusal), "%s", s);
			c->notice(c->arg, s, 1);
		}
	} else if (k != NULL && (uint64_t)id == want) {
		if ((v = json_object_get(o, "event")) != NULL) {
			if (k->event != NULL && json_is_object(v))
				k->event(k->arg, v);
		} else if (json_is_true(json_object_get(o, "ok"))) {
			v = json_object_get(o, "data");
			k->data = json_is_object(v) ? json_incref(v) :
			    json_object();
			final = 1;
		} else {
			s = json_string_value(json_object_get(o, "error"));
			snprintf(k->err, sizeof(k->err), "%s",
			    s ? s : "error without a message");
			final = 1;
		}
	}
	json_decref(o);
	return final;
}

/*
 * Reads what is there and handles each complete line. Returns 1 if want's
 * final reply came, 0 if not (yet), -EPIPE when the connection ended.
 */
static int
read_some(struct conn *c, struct call *k, uint64_t want, char *err,
    size_t errlen)
{
	char *nl, *p;
	ssize_t n;
	int final = 0;

	for (;;) {
		if (c->cap - c->len < 4096) {
			size_t cap = c->cap ? c->cap * 2 : 16384;

			if (cap > CONN_LINE_MAX + 4096)
				cap = CONN_LINE_MAX + 4096;
			if (cap - c->len < 1024) {
				snprintf(err, errlen, "a reply longer than %d bytes; "
				    "connection dropped", CONN_LINE_MAX);
				conn_close(c);
				return -EPIPE;
			}
			if ((p = realloc(c->buf, cap)) == NULL) {
				snprintf(err, errlen, "out of memory");
				conn_close(c);
				return -EPIPE;
			}
			c->buf = p;
			c->cap = cap;
		}
		n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			if (c->refusal[0] != '\0')
				snprintf(err, errlen, "%s", c->refusal);
			else if (n == 0)
				snprintf(err, errlen, "the daemon closed the "
				    "connection");
			else
				snprintf(err, errlen, "%.200s: %s", c->path,
				    strerror(errno));
			conn_close(c);
			return -EPIPE;
		}
		if (n < 0)
			return final;
		c->len += (size_t)n;
		p = c->buf;
		while ((nl = memchr(p, '\n', c->len - (size_t)(p - c->buf)))) {
			if (take_line(c, p, (size_t)(nl - p), k, want))
				final = 1;
			p = nl + 1;
		}
		c->len -= (size_t)(p - c->buf);
		memmove(c->buf, p, c->len);
		if (c->len > CONN_LINE_MAX) {
			snprintf(err, errlen, "a reply longer than %d bytes; "
			    "connection dropped", CONN_LINE_MAX);
			conn_close(c);
			return -EPIPE;
		}
		if (final)
			return 1;
	}
}

int
conn_pump(struct conn *c, char *err, size_t errlen)
{
	if (c->fd < 0)
		return -EPIPE;
	return read_some(c, NULL, 0, err, errlen) < 0 ? -EPIPE : 0;
}

/* Asks the daemon to cancel request id; its reply is dropped by id. */
static void
send_cancel(struct conn *c, uint64_t id)
{
	char num[24];
	const char *argv[1] = { num };
	uint64_t cid;

	snprintf(num, sizeof(num), "%" PRIu64, id);
	send_req(c, "cancel", argv, 1, NULL, 0, &cid);
}

/* Drains stdin while a key ends the call: 1 a key, -1 stdin is gone. */
static int
key_pressed(void)
{
	char b[64];
	ssize_t n = read(0, b, sizeof(b));

	if (n > 0)
		return 1;
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		return -1;
	return 0;
}

int
conn_call(struct conn *c, struct call *k)
{
	int64_t deadline, cancel_by = 0;
	struct pollfd p[2];
	uint64_t id;
	int rc, why = 0, wait, n;

	k->data = NULL;
	k->err[0] = '\0';
	if (c->fd < 0) {
		snprintf(k->err, sizeof(k->err), "not connected");
		return -ENOTCONN;
	}
	rc = send_req(c, k->cmd, k->argv, k->argc, k->body, k->body_len, &id);
	if (rc < 0) {
		snprintf(k->err, sizeof(k->err), "sending '%s': %s", k->cmd,
		    strerror(-rc));
		if (rc == -EINTR)
			return rc;
		conn_close(c);
		return -EPIPE;
	}
	deadline = k->timeout_ms < 0 ? 0 : now_ms() + k->timeout_ms;
	for (;;) {
		if (out_gone())
			return -EINTR;
		if (out_sigint && why == 0) {
			out_sigint = 0;
			why = -ECANCELED;
			send_cancel(c, id);
			cancel_by = now_ms() + CONN_CANCEL_MS;
		}
		wait = -1;
		if (why != 0)
			wait = (int)(cancel_by - now_ms());
		else if (deadline != 0)
			wait = (int)(deadline - now_ms());
		if (wait < 0 && (why != 0 || deadline != 0)) {
			if (why != 0)
				return why;	/* no "canceled": given up on */
			why = -ETIMEDOUT;
			send_cancel(c, id);
			cancel_by = now_ms() + CONN_CANCEL_MS;
			continue;
		}
		p[0].fd = c->fd;
		p[0].events = POLLIN;
		p[1].fd = k->key_ends && why == 0 ? 0 : -1;
		p[1].events = POLLIN;
		n = poll(p, 2, wait);
		if (n < 0 && errno != EINTR) {
			snprintf(k->err, sizeof(k->err), "poll: %s", strerror(errno));
			return -EIO;
		}
		if (n <= 0)
			continue;
		if (p[1].revents != 0) {
			rc = key_pressed();
			if (rc < 0)
				out_set_gone();
			if (rc != 0 && why == 0) {
				why = -ECANCELED;
				send_cancel(c, id);
				cancel_by = now_ms() + CONN_CANCEL_MS;
			}
		}
		if (p[0].revents == 0)
			continue;
		rc = read_some(c, k, id, k->err, sizeof(k->err));
		if (rc < 0)
			return -EPIPE;
		if (rc == 0)
			continue;
		if (why != 0) {
			json_decref(k->data);
			k->data = NULL;
			return why;
		}
		return k->data != NULL ? 0 : -EREMOTEIO;
	}
}
