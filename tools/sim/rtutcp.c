/*
 * RTU frames on a TCP socket. The framing is rtu.c's: frames found in the
 * stream as it comes, and a silence of RTU_SILENCE_MS ends an unfinished one.
 * A new client starts with an empty buffer: bytes of the one before can never
 * be read as part of its first request.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tools/sim/rtu.h"
#include "tools/sim/rtutcp.h"

static void
take_client(int lfd, int *cfd, struct rtu_rx *rx)
{
	int fd;

	fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
			fprintf(stderr, "wattgate-sim: rtu-tcp: accept: %s\n",
			    strerror(errno));
		return;
	}
	if (*cfd >= 0) {
		fprintf(stderr, "wattgate-sim: rtu-tcp: new client replaces "
		    "the previous one\n");
		close(*cfd);
	}
	*cfd = fd;
	rx->len = 0;
}

int
rtutcp_serve(struct sim *s, int lfd, const sigset_t *mask,
    volatile sig_atomic_t *stop)
{
	const struct timespec silence = { 0, RTU_SILENCE_MS * 1000000L };
	struct pollfd pfd[2];
	struct rtu_rx rx;
	ssize_t got;
	int cfd = -1, rc = 0;

	rx.len = 0;
	while (!*stop) {
		sim_housekeep(s);
		pfd[0].fd = lfd;
		pfd[0].events = POLLIN;
		pfd[1].fd = cfd;
		pfd[1].events = POLLIN;
		rc = ppoll(pfd, 2, rx.len > 0 ? &silence : NULL, mask);
		if (rc < 0 && errno == EINTR) {
			rc = 0;
			continue;
		}
		if (rc < 0) {
			rc = -errno;
			fprintf(stderr, "wattgate-sim: ppoll: %s\n",
			    strerror(-rc));
			break;
		}
		rc = 0;
		if (pfd[1].revents == 0 && pfd[0].revents == 0) {
			rtu_rx_silence(s, cfd, &rx);
			continue;
		}
		if (pfd[0].revents & POLLIN) {
			take_client(lfd, &cfd, &rx);
			continue;
		}
		if (!(pfd[1].revents & (POLLIN | POLLERR | POLLHUP)))
			continue;
		got = read(cfd, rx.buf + rx.len, sizeof(rx.buf) - rx.len);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (got <= 0) {
			/* The gateway went: what it left unanswered goes too. */
			close(cfd);
			cfd = -1;
			rx.len = 0;
			continue;
		}
		rx.len += (size_t)got;
		rtu_rx_frames(s, cfd, &rx);
	}
	if (cfd >= 0)
		close(cfd);
	return rc;
}
