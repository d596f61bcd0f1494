/*
 * RTU over TCP through a pty (see rtutcp.h).
 *
 * The bridge keeps a slave fd of its own open for its whole life, so libmodbus
 * may close and reopen the port (it does after a link failure) without the
 * master ever seeing a hangup. Bytes the pty delivers while no socket is up
 * are dropped: the request they made gets no answer, which is what a converter
 * that is off does to it too. A new connection starts with the pty flushed both
 * ways, so nothing of the old one can be read as an answer on the new one.
 *
 * The socket is never written blocking: a converter that stops reading must not
 * wedge the thread (and with it rtutcp_close()). What does not fit is dropped
 * and the request times out.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "drivers/bus/rtutcp.h"

/* A half-open link (converter unplugged, no FIN) is noticed in ~25 s. */
#define KEEPIDLE_S	10
#define KEEPINTVL_S	5
#define KEEPCNT		3

struct rtutcp {
	char host[128];
	char port[8];
	char name[160];
	int master, slave;	/* the pty; slave kept open, never read */
	int wake;		/* eventfd: a new socket, or stop */
	char pts[64];
	pthread_t thread;
	int started;

	pthread_mutex_t mu;	/* guards what follows */
	int sock;		/* -1: down; set by the worker, closed by the thread */
	int retired;		/* dropped by the worker, for the thread to close */
	int stop;
	char lost[128];		/* why the last link went down; "" after a connect */
};

static void
kick(struct rtutcp *t)
{
	uint64_t one = 1;

	if (write(t->wake, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow at one write per connect. */
	}
}

/* The thread's view of a socket it read EOF or an error from. */
static void
lost(struct rtutcp *t, int sock, const char *why)
{
	pthread_mutex_lock(&t->mu);
	if (t->sock == sock) {
		close(sock);
		t->sock = -1;
		snprintf(t->lost, sizeof(t->lost), "%s", why);
	}
	pthread_mutex_unlock(&t->mu);
}

/*
 * Pty to socket: whatever libmodbus sent. Dropped while the link is down.
 * Returns the socket still in use, or -1 if it was lost (and closed) here.
 */
static int
upstream(struct rtutcp *t, int sock)
{
	uint8_t buf[512];
	ssize_t n, w;
	size_t off;

	while ((n = read(t->master, buf, sizeof(buf))) > 0) {
		for (off = 0; sock >= 0 && off < (size_t)n; off += (size_t)w) {
			w = send(sock, buf + off, (size_t)n - off,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				break;		/* dropped; the request times out */
			if (w < 0) {
				lost(t, sock, strerror(errno));
				return -1;
			}
		}
	}
	return sock;
}

/* Socket to pty: the converter's bytes, as if they came off the line. */
static void
downstream(struct rtutcp *t, int sock)
{
	uint8_t buf[512];
	ssize_t n;

	n = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);
	if (n == 0) {
		lost(t, sock, "closed by the converter");
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			lost(t, sock, strerror(errno));
		return;
	}
	/* Cannot block: an answer is far below the tty's 4 KiB buffer. */
	if (write(t->master, buf, (size_t)n) != n) {
		/* Dropped; libmodbus sees a short or bad frame and says so. */
	}
}

static void *
run(void *arg)
{
	struct rtutcp *t = arg;
	struct pollfd pfd[3];
	const struct timespec retry = { 0, 100 * 1000 * 1000 };
	uint64_t v;
	int sock, stop;

	for (;;) {
		pthread_mutex_lock(&t->mu);
		/* Not polled or read any more: its number may be reused now. */
		if (t->retired >= 0) {
			close(t->retired);
			t->retired = -1;
		}
		sock = t->sock;
		stop = t->stop;
		pthread_mutex_unlock(&t->mu);
		if (stop)
			return NULL;
		pfd[0].fd = t->wake;
		pfd[1].fd = t->master;
		pfd[2].fd = sock;	/* -1: ignored by poll */
		pfd[0].events = pfd[1].events = pfd[2].events = POLLIN;
		if (poll(pfd, 3, -1) < 0) {
			/*
			 * ENOMEM and the like pass: returning would leave every
			 * later request on this bus to time out until a restart.
			 */
			if (errno != EINTR)
				nanosleep(&retry, NULL);
			continue;
		}
		if (pfd[0].revents & POLLIN) {
			if (read(t->wake, &v, sizeof(v)) < 0) {
				/* EAGAIN: someone else's kick was read already. */
			}
			continue;	/* a new socket or stop: look again */
		}
		/*
		 * A socket upstream() lost is closed: its number may already
		 * be another thread's new fd (the MQTT socket, a file), which
		 * downstream() must not read from.
		 */
		if (pfd[1].revents & POLLIN)
			sock = upstream(t, sock);
		if (sock >= 0 && (pfd[2].revents & (POLLIN | POLLHUP | POLLERR)))
			downstream(t, sock);
	}
}

int
rtutcp_open(const char *host, unsigned port, const char *name,
    struct rtutcp **out, char *err, size_t errlen)
{
	struct rtutcp *t;
	struct termios tio;
	int rc;

	*out = NULL;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -ENOMEM;
	}
	t->master = t->slave = t->wake = t->sock = t->retired = -1;
	snprintf(t->host, sizeof(t->host), "%s", host);
	snprintf(t->port, sizeof(t->port), "%u", port);
	snprintf(t->name, sizeof(t->name), "%s", name);
	pthread_mutex_init(&t->mu, NULL);
	t->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (t->master < 0 || grantpt(t->master) != 0 ||
	    unlockpt(t->master) != 0 ||
	    ptsname_r(t->master, t->pts, sizeof(t->pts)) != 0)
		goto fail;
	t->slave = open(t->pts, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (t->slave < 0 || tcgetattr(t->slave, &tio) != 0)
		goto fail;
	/* Raw: RTU bytes pass unchanged both ways. */
	cfmakeraw(&tio);
	if (tcsetattr(t->slave, TCSANOW, &tio) != 0 ||
	    fcntl(t->master, F_SETFL, O_NONBLOCK) != 0)
		goto fail;
	if ((t->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
		goto fail;
	if ((rc = pthread_create(&t->thread, NULL, run, t)) != 0) {
		errno = rc;
		goto fail;
	}
	t->started = 1;
	*out = t;
	return 0;
fail:
	rc = -errno;
	snprintf(err, errlen, "%s: RTU-over-TCP pty: %s", name, strerror(errno));
	rtutcp_close(t);
	return rc;
}

const char *
rtutcp_pty(const struct rtutcp *t)
{
	return t->pts;
}

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One address: 0 and the socket in *out, or -errno. */
static int
try_addr(const struct addrinfo *ai, int64_t deadline, int *out)
{
	struct pollfd pfd;
	socklen_t sl = sizeof(int);
	int fd, e = 0, rc, one = 1, v;
	int64_t left;

	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol);
	if (fd < 0)
		return -errno;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		if (errno != EINPROGRESS) {
			e = errno;
			goto fail;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do {
			left = deadline - now_ms();
			rc = poll(&pfd, 1, left > 0 ? (int)left : 0);
		} while (rc < 0 && errno == EINTR);
		if (rc == 0) {
			e = ETIMEDOUT;
			goto fail;
		}
		if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) != 0)
			e = errno;
		if (e != 0)
			goto fail;
	}
	/* Frames are small and latency is the point: no Nagle. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	v = KEEPIDLE_S;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v));
	v = KEEPINTVL_S;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof(v));
	v = KEEPCNT;
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(v));
	*out = fd;
	return 0;
fail:
	close(fd);
	return -e;
}

int
rtutcp_connect(struct rtutcp *t, unsigned timeout_ms, char *err,
    size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	int64_t deadline = now_ms() + timeout_ms;
	char name[sizeof(t->name) + sizeof(t->lost) + 40];
	int fd = -1, rc = -EHOSTUNREACH, gai;

	/* After a loss, every line says so: the first cause is the one to fix. */
	pthread_mutex_lock(&t->mu);
	rc = t->sock >= 0 ? 0 : -ENOTCONN;
	if (t->lost[0] != '\0')
		snprintf(name, sizeof(name), "%s: connection lost (%s); reconnect",
		    t->name, t->lost);
	else
		snprintf(name, sizeof(name), "%s", t->name);
	pthread_mutex_unlock(&t->mu);
	if (rc == 0)
		return 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((gai = getaddrinfo(t->host, t->port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: host unknown (%s)", name,
		    gai == EAI_SYSTEM ? strerror(errno) : gai_strerror(gai));
		return -EHOSTUNREACH;
	}
	rc = -EHOSTUNREACH;
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		rc = try_addr(ai, deadline, &fd);
	freeaddrinfo(res);
	if (fd < 0) {
		if (rc == -ECONNREFUSED)
			snprintf(err, errlen, "%s: connection refused", name);
		else if (rc == -ETIMEDOUT)
			snprintf(err, errlen, "%s: no connection within %u ms",
			    name, timeout_ms);
		else
			snprintf(err, errlen, "%s: cannot connect: %s", name,
			    strerror(-rc));
		return rc;
	}
	/* Whatever waits in the pty belongs to the old link. */
	tcflush(t->slave, TCIOFLUSH);
	pthread_mutex_lock(&t->mu);
	t->sock = fd;
	t->lost[0] = '\0';
	pthread_mutex_unlock(&t->mu);
	kick(t);
	return 0;
}

int
rtutcp_up(struct rtutcp *t, char *err, size_t errlen)
{
	int up;

	pthread_mutex_lock(&t->mu);
	up = t->sock >= 0;
	if (!up && t->lost[0] != '\0')
		snprintf(err, errlen, "%s: connection lost (%s)", t->name,
		    t->lost);
	pthread_mutex_unlock(&t->mu);
	return up;
}

void
rtutcp_drop(struct rtutcp *t, const char *why)
{
	int kicked = 0;

	pthread_mutex_lock(&t->mu);
	/*
	 * The thread may be in poll() or recv() on the socket: it closes it
	 * when it next looks, so its number cannot be reused under it. Until
	 * then a second drop waits for the next one.
	 */
	if (t->sock >= 0 && t->retired < 0) {
		t->retired = t->sock;
		t->sock = -1;
		snprintf(t->lost, sizeof(t->lost), "%s", why);
		kicked = 1;
	}
	pthread_mutex_unlock(&t->mu);
	if (kicked)
		kick(t);
}

void
rtutcp_close(struct rtutcp *t)
{
	if (t == NULL)
		return;
	if (t->started) {
		pthread_mutex_lock(&t->mu);
		t->stop = 1;
		pthread_mutex_unlock(&t->mu);
		kick(t);
		pthread_join(t->thread, NULL);
	}
	if (t->sock >= 0)
		close(t->sock);
	if (t->retired >= 0)
		close(t->retired);
	if (t->wake >= 0)
		close(t->wake);
	if (t->slave >= 0)
		close(t->slave);
	if (t->master >= 0)
		close(t->master);
	pthread_mutex_destroy(&t->mu);
	free(t);
}
