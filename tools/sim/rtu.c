/*
 * RTU over a pty, framed here rather than by libmodbus: its RTU server drops every
 * frame not addressed to the one ctx->slave, and a simulated bus has several.
 *
 * The simulator keeps a slave fd of its own open (in raw mode) for its whole life,
 * so the master never sees EIO or a hangup when the gateway closes and reopens the
 * port; that fd is never read. The price: the tty, and whatever a gateway left
 * unread in it, outlives the gateway. A gateway killed between its request and
 * reading the reply would leave that reply for its successor, which would take it
 * for the answer to its own first request and stay one reply behind. So inotify
 * reports every open and close of the slave, and each one flushes the line.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "tools/sim/frame.h"
#include "tools/sim/rtu.h"

static int
make_link(const char *target, const char *link, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	struct stat st;
	int rc;

	if (lstat(link, &st) == 0 && !S_ISLNK(st.st_mode)) {
		snprintf(err, errlen, "--rtu %s: exists and is not a symlink",
		    link);
		return -EEXIST;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.%ld.tmp", link, (long)getpid()) >=
	    (int)sizeof(tmp)) {
		snprintf(err, errlen, "--rtu %s: path too long", link);
		return -ENAMETOOLONG;
	}
	/* symlink + rename: the link is replaced atomically, never missing. */
	unlink(tmp);
	if (symlink(target, tmp) != 0 || rename(tmp, link) != 0) {
		rc = -errno;
		snprintf(err, errlen, "--rtu %s: %s", link, strerror(-rc));
		unlink(tmp);
		return rc;
	}
	return 0;
}

int
rtu_open(const char *link, struct rtu *r, char *err, size_t errlen)
{
	struct termios tio;
	int rc;

	r->master = r->slave = r->notify = -1;
	r->link[0] = '\0';
	if (strlen(link) >= sizeof(r->link)) {
		snprintf(err, errlen, "--rtu %.64s...: path too long", link);
		return -ENAMETOOLONG;
	}
	r->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (r->master < 0 || grantpt(r->master) != 0 ||
	    unlockpt(r->master) != 0 ||
	    ptsname_r(r->master, r->pts, sizeof(r->pts)) != 0) {
		rc = -errno;
		snprintf(err, errlen, "--rtu %s: pty: %s", link, strerror(errno));
		goto fail;
	}
	r->slave = open(r->pts, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (r->slave < 0 || tcgetattr(r->slave, &tio) != 0) {
		rc = -errno;
		snprintf(err, errlen, "--rtu %s: %s: %s", link, r->pts,
		    strerror(errno));
		goto fail;
	}
	/* Raw: no echo, no newline mapping, bytes pass unchanged both ways. */
	cfmakeraw(&tio);
	if (tcsetattr(r->slave, TCSANOW, &tio) != 0 ||
	    fcntl(r->master, F_SETFL, O_NONBLOCK) != 0) {
		rc = -errno;
		snprintf(err, errlen, "--rtu %s: %s: %s", link, r->pts,
		    strerror(errno));
		goto fail;
	}
	r->notify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (r->notify < 0 || inotify_add_watch(r->notify, r->pts,
	    IN_OPEN | IN_CLOSE) < 0) {
		rc = -errno;
		snprintf(err, errlen, "--rtu %s: inotify on %s: %s", link, r->pts,
		    strerror(errno));
		goto fail;
	}
	if ((rc = make_link(r->pts, link, err, errlen)) != 0)
		goto fail;
	strcpy(r->link, link);
	return 0;
fail:
	rtu_close(r);
	return rc;
}

/*
 * Answer one request ADU. A late answer blocks the line for its delay: on a
 * real RS-485 bus the late device holds it too, and whatever the gateway sends
 * meanwhile is read afterwards, as a transceiver would have buffered it.
 */
static void
answer(struct sim *s, int fd, const uint8_t *adu, size_t n)
{
	uint8_t out[FRAME_ADU_MAX];
	struct sim_reply how;
	size_t rlen;
	ssize_t w;

	rlen = sim_answer(s, adu[0], adu + 1, n - 3, sim_now_ms(), out + 1,
	    &how);
	if (rlen == 0)
		return;
	out[0] = how.unit >= 0 ? (uint8_t)how.unit : adu[0];
	rlen = frame_seal(out, 1 + rlen);
	if (how.corrupt == SIM_BAD_CRC)
		out[rlen - 1] ^= 0xa5;
	else if (how.corrupt == SIM_GARBAGE)
		sim_noise(out, rlen);
	if (how.delay_ms > 0)
		sim_sleep_ms(how.delay_ms);
	w = write(fd, out, rlen);
	if (w != (ssize_t)rlen)
		fprintf(stderr, "wattgate-sim: rtu: reply to unit %u: %s\n",
		    adu[0], w < 0 ? strerror(errno) : "short write");
}

/*
 * Someone opened or closed the port: what waits in either direction belongs to
 * a previous user. Returns 1 if there were events.
 */
static int
port_changed(struct rtu *r)
{
	char ev[16 * (sizeof(struct inotify_event) + NAME_MAX + 1)];
	int any = 0;

	while (read(r->notify, ev, sizeof(ev)) > 0)
		any = 1;
	if (any)
		tcflush(r->slave, TCIFLUSH);
	return any;
}

static void
garbage(size_t n, const char *why)
{
	fprintf(stderr, "wattgate-sim: rtu: dropped %zu byte%s (%s)\n", n,
	    n == 1 ? "" : "s", why);
}

void
rtu_rx_frames(struct sim *s, int fd, struct rtu_rx *rx)
{
	size_t n, skip;

	while ((n = frame_find(rx->buf, rx->len, &skip)) > 0) {
		if (skip > 0)
			garbage(skip, "before a frame");
		answer(s, fd, rx->buf + skip, n);
		rx->len -= skip + n;
		memmove(rx->buf, rx->buf + skip + n, rx->len);
	}
	if (rx->len > FRAME_ADU_MAX) {
		/* No frame is longer: the oldest bytes cannot start one. */
		garbage(rx->len - FRAME_ADU_MAX, "no frame in 256 bytes");
		memmove(rx->buf, rx->buf + rx->len - FRAME_ADU_MAX,
		    FRAME_ADU_MAX);
		rx->len = FRAME_ADU_MAX;
	}
}

void
rtu_rx_silence(struct sim *s, int fd, struct rtu_rx *rx)
{
	if (frame_whole(rx->buf, rx->len))
		answer(s, fd, rx->buf, rx->len);
	else
		garbage(rx->len, "no frame before a silence");
	rx->len = 0;
}

int
rtu_serve(struct sim *s, struct rtu *r, const sigset_t *mask,
    volatile sig_atomic_t *stop)
{
	const struct timespec silence = { 0, RTU_SILENCE_MS * 1000000L };
	struct pollfd pfd[2];
	struct rtu_rx rx;
	ssize_t got;
	int rc;

	rx.len = 0;
	while (!*stop) {
		sim_housekeep(s);
		pfd[0].fd = r->master;
		pfd[0].events = POLLIN;
		pfd[1].fd = r->notify;
		pfd[1].events = POLLIN;
		rc = ppoll(pfd, 2, rx.len > 0 ? &silence : NULL, mask);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0) {
			rc = -errno;
			fprintf(stderr, "wattgate-sim: ppoll: %s\n",
			    strerror(-rc));
			return rc;
		}
		if (rc == 0) {
			/* Silence: the frame is over, whatever it was. */
			rtu_rx_silence(s, r->master, &rx);
			continue;
		}
		/* Before the master: a new gateway's request follows its open. */
		if ((pfd[1].revents & POLLIN) && port_changed(r))
			rx.len = 0;
		if (!(pfd[0].revents & (POLLIN | POLLERR | POLLHUP)))
			continue;
		got = read(r->master, rx.buf + rx.len, sizeof(rx.buf) - rx.len);
		if (got < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (got < 0) {
			rc = -errno;
			fprintf(stderr, "wattgate-sim: rtu: %s: %s\n", r->pts,
			    strerror(-rc));
			return rc;
		}
		rx.len += (size_t)got;
		rtu_rx_frames(s, r->master, &rx);
	}
	return 0;
}

void
rtu_close(struct rtu *r)
{
	char target[sizeof(r->pts)];
	ssize_t n;

	if (r->link[0] != '\0') {
		n = readlink(r->link, target, sizeof(target) - 1);
		if (n >= 0) {
			target[n] = '\0';
			if (strcmp(target, r->pts) == 0)
				unlink(r->link);
		}
		r->link[0] = '\0';
	}
	if (r->notify >= 0)
		close(r->notify);
	if (r->slave >= 0)
		close(r->slave);
	if (r->master >= 0)
		close(r->master);
	r->master = r->slave = r->notify = -1;
}
