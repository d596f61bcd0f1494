/*
 * Modbus TCP without libmodbus on the server side: libmodbus's modbus_receive()
 * blocks until a whole frame is in, so one client sending half a frame would stall
 * every other client, and its reply path knows one mapping per context. Here each
 * client has its own buffer and the loop never blocks on one of them.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tools/sim/tcp.h"

#define MBAP_LEN	7			/* header, with the unit id */
#define TCP_ADU_MAX	(MBAP_LEN + SIM_PDU_MAX)

struct client {
	int fd;				/* -1: free slot */
	size_t len;
	uint8_t buf[TCP_ADU_MAX];
};

/* Split "host:port" or "[v6]:port" in place. */
static int
split_spec(char *spec, char **host, char **port)
{
	char *colon;

	if (spec[0] == '[') {
		if ((colon = strstr(spec, "]:")) == NULL)
			return -EINVAL;
		*colon = '\0';
		*host = spec + 1;
		*port = colon + 2;
	} else {
		if ((colon = strrchr(spec, ':')) == NULL)
			return -EINVAL;
		*colon = '\0';
		*host = spec;
		*port = colon + 1;
	}
	if (**host == '\0' || **port == '\0' ||
	    strspn(*port, "0123456789") != strlen(*port) || strlen(*port) > 5 ||
	    atoi(*port) > 65535)
		return -EINVAL;
	return 0;
}

static int
bound_name(int fd, char *name, size_t namelen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0)
		return -errno;
	if (getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port,
	    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return -EINVAL;
	snprintf(name, namelen, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
	    host, port);
	return 0;
}

int
tcp_listen(const char *spec, char *name, size_t namelen, char *err,
    size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char copy[256], *host, *port;
	int fd = -1, rc, one = 1, gai;

	if (strlen(spec) >= sizeof(copy) ||
	    split_spec(strcpy(copy, spec), &host, &port) != 0) {
		snprintf(err, errlen, "'%s': expected HOST:PORT", spec);
		return -EINVAL;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((gai = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "'%s': %s", spec, gai_strerror(gai));
		return -EINVAL;
	}
	rc = -EADDRNOTAVAIL;
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0) {
			rc = -errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 16) == 0)
			break;
		rc = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "'%s': %s", spec, strerror(-rc));
		return rc;
	}
	if ((rc = bound_name(fd, name, namelen)) != 0) {
		snprintf(err, errlen, "'%s': getsockname: %s", spec,
		    strerror(-rc));
		close(fd);
		return rc;
	}
	return fd;
}

static void
client_drop(struct client *c, const char *why)
{
	if (why != NULL)
		fprintf(stderr, "wattgate-sim: tcp client %d: %s; closing\n",
		    c->fd, why);
	close(c->fd);
	c->fd = -1;
	c->len = 0;
}

/*
 * Answer every complete request in the client's buffer. The MBAP header is
 * checked before its length is used: protocol 0, length 2..254 (unit + PDU).
 * Returns 0, or -1 when the client was dropped.
 */
static int
client_frames(struct sim *s, struct client *c)
{
	uint8_t out[TCP_ADU_MAX];
	struct sim_reply how;
	char why[96];
	size_t plen, rlen;
	unsigned proto;

	while (c->len >= MBAP_LEN) {
		proto = (unsigned)c->buf[2] << 8 | c->buf[3];
		plen = (size_t)c->buf[4] << 8 | c->buf[5];
		if (proto != 0 || plen < 2 || plen > 1 + SIM_PDU_MAX) {
			snprintf(why, sizeof(why), "bad MBAP header (protocol %u, "
			    "length %zu)", proto, plen);
			client_drop(c, why);
			return -1;
		}
		if (c->len < 6 + plen)
			return 0;
		rlen = sim_answer(s, c->buf[6], c->buf + MBAP_LEN, plen - 1,
		    sim_now_ms(), out + MBAP_LEN, &how);
		/* TCP has no CRC: a crc fault spoils the PDU like garbage. */
		if (how.corrupt != SIM_SEND)
			sim_noise(out + MBAP_LEN, rlen);
		if (how.delay_ms > 0)
			sim_sleep_ms(how.delay_ms);
		if (rlen > 0) {
			memcpy(out, c->buf, 2);		/* transaction */
			out[2] = (uint8_t)(how.protocol >> 8);
			out[3] = (uint8_t)how.protocol;
			out[4] = (uint8_t)((rlen + 1) >> 8);
			out[5] = (uint8_t)(rlen + 1);
			out[6] = how.unit >= 0 ? (uint8_t)how.unit : c->buf[6];
			if (send(c->fd, out, MBAP_LEN + rlen, MSG_NOSIGNAL) !=
			    (ssize_t)(MBAP_LEN + rlen)) {
				client_drop(c, "send failed or would block");
				return -1;
			}
		}
		c->len -= 6 + plen;
		memmove(c->buf, c->buf + 6 + plen, c->len);
	}
	return 0;
}

static void
client_read(struct sim *s, struct client *c)
{
	ssize_t n;

	n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
	if (n == 0) {
		client_drop(c, c->len > 0 ? "closed inside a frame" : NULL);
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			client_drop(c, strerror(errno));
		return;
	}
	c->len += (size_t)n;
	client_frames(s, c);
}

static int
accept_clients(int lfd, struct client *cl)
{
	int fd;
	size_t i;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		for (i = 0; i < TCP_CLIENTS_MAX && cl[i].fd >= 0; i++)
			;
		if (i == TCP_CLIENTS_MAX) {
			fprintf(stderr, "wattgate-sim: tcp: more than %d clients; "
			    "refusing one\n", TCP_CLIENTS_MAX);
			close(fd);
			continue;
		}
		cl[i].fd = fd;
		cl[i].len = 0;
	}
	/* A client that gave up before accept() is not the server's failure. */
	if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED ||
	    errno == EPROTO || errno == EMFILE || errno == ENFILE)
		return 0;
	return -errno;
}

int
tcp_serve(struct sim *s, int lfd, const sigset_t *mask,
    volatile sig_atomic_t *stop)
{
	struct pollfd pfd[1 + TCP_CLIENTS_MAX];
	struct client *cl;
	size_t map[1 + TCP_CLIENTS_MAX], nfds, i;
	int rc = 0;

	if ((cl = calloc(TCP_CLIENTS_MAX, sizeof(*cl))) == NULL)
		return -ENOMEM;
	for (i = 0; i < TCP_CLIENTS_MAX; i++)
		cl[i].fd = -1;
	while (!*stop) {
		sim_housekeep(s);
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		for (nfds = 1, i = 0; i < TCP_CLIENTS_MAX; i++) {
			if (cl[i].fd < 0)
				continue;
			pfd[nfds].fd = cl[i].fd;
			pfd[nfds].events = POLLIN;
			map[nfds++] = i;
		}
		if (ppoll(pfd, nfds, NULL, mask) < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			fprintf(stderr, "wattgate-sim: ppoll: %s\n",
			    strerror(-rc));
			break;
		}
		for (i = 1; i < nfds; i++)
			if (pfd[i].revents != 0)
				client_read(s, &cl[map[i]]);
		if ((pfd[0].revents & POLLIN) &&
		    (rc = accept_clients(lfd, cl)) != 0) {
			fprintf(stderr, "wattgate-sim: tcp accept: %s\n",
			    strerror(-rc));
			break;
		}
	}
	for (i = 0; i < TCP_CLIENTS_MAX; i++)
		if (cl[i].fd >= 0)
			close(cl[i].fd);
	free(cl);
	return rc;
}
