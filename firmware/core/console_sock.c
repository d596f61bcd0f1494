/*
 * The console's socket file and who may talk on it (docs/console.md,
 * "Peers"): made with the site config's mode and group, never briefly
 * wider; every connection's peer checked by the kernel's word
 * (SO_PEERCRED, SO_PEERGROUPS), not by anything the peer says; accepted
 * into a free slot, or refused with one line (and logged, a few a minute).
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/core/console_sock.h"
#include "firmware/core/console_srv.h"
#include "firmware/core/gateway_internal.h"

#define ACCEPTS_PER_TURN	32
#define PEER_LOG_WINDOW_MS	60000
#define PEER_LOG_PER_WINDOW	10

/*
 * A socket file already there: another daemon serving it (refused: two
 * daemons must not take each other's console), or left by one that died
 * (unlinked). Anything but a socket is never touched (config_console.c
 * refuses it at load; this is for one that appeared since).
 */
static int
clear_stale(const struct sockaddr_un *sa, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	if (lstat(sa->sun_path, &st) == -1)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%.200s exists and is not a socket", sa->sun_path);
		return -EEXIST;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa));
	close(fd);
	if (rc == 0 || errno == EAGAIN) {
		snprintf(err, errlen, "%.200s: another process serves it", sa->sun_path);
		return -EADDRINUSE;
	}
	if (unlink(sa->sun_path) == -1 && errno != ENOENT)
		return -errno;
	return 0;
}

int
console_sock_listen(const struct cfg_console *cc, int *out, dev_t *dev,
    ino_t *ino, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, rc;

	if (strlen(cc->socket) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%.200s: path too long", cc->socket);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, cc->socket, strlen(cc->socket) + 1);
	err[0] = '\0';
	if ((rc = clear_stale(&sa, err, errlen)) < 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%.200s: %s", cc->socket, strerror(-rc));
		return rc;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1) {
		rc = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	/*
	 * Owner-only while it is made (umask is the process's: no thread of
	 * ours makes files meanwhile, and narrower only ever hurts nobody),
	 * then the group, then the mode: it is never wider than asked.
	 */
	old = umask(0177);
	rc = bind(fd, (const struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc == -1) {
		rc = -errno;
		snprintf(err, errlen, "%.200s: bind: %s", cc->socket, strerror(errno));
		goto fail_fd;
	}
	if (cc->group[0] != '\0' && chown(cc->socket, (uid_t)-1, cc->gid) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%.200s: chown to group '%.64s': %s", cc->socket,
		    cc->group, strerror(errno));
		goto fail_file;
	}
	if (chmod(cc->socket, (mode_t)cc->mode) == -1 ||
	    lstat(cc->socket, &st) == -1 || listen(fd, 16) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%.200s: %s", cc->socket, strerror(errno));
		goto fail_file;
	}
	*dev = st.st_dev;
	*ino = st.st_ino;
	*out = fd;
	return 0;
fail_file:
	unlink(cc->socket);
fail_fd:
	close(fd);
	return rc;
}

void
console_sock_unlink(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;

	/* Only ours: a newer daemon may have made the path its own already. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == dev &&
	    st.st_ino == ino)
		unlink(path);
}

static int
in_groups(int fd, gid_t want)
{
	gid_t small[64], *g = small;
	socklen_t len = sizeof(small);
	size_t i, n;
	int found = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == -1) {
		if (errno != ERANGE || len == 0 || len > 65536 * sizeof(gid_t) ||
		    (g = malloc(len)) == NULL)
			return 0;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, g, &len) == -1) {
			free(g);
			return 0;
		}
	}
	n = len / sizeof(gid_t);
	for (i = 0; i < n && !found; i++)
		found = g[i] == want;
	if (g != small)
		free(g);
	return found;
}

int
console_sock_peer(int fd, const struct cfg_console *cc, struct ucred *cred,
    char *why, size_t whylen)
{
	socklen_t len = sizeof(*cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cred, &len) == -1 ||
	    len != sizeof(*cred)) {
		snprintf(why, whylen, "refused: the peer's credentials are unknown");
		return -EACCES;
	}
	if (cred->uid == 0 || cred->uid == geteuid())
		return 0;
	if (cc->group[0] != '\0' && (cred->gid == cc->gid || in_groups(fd, cc->gid)))
		return 0;
	if (cc->group[0] != '\0')
		snprintf(why, whylen, "refused: uid %u is not root, the daemon's user "
		    "or a member of group '%.64s'", (unsigned)cred->uid, cc->group);
	else
		snprintf(why, whylen, "refused: uid %u is not root or the daemon's "
		    "user", (unsigned)cred->uid);
	return -EACCES;
}

void
console_log_peer(struct console *cs, const char *fmt, ...)
{
	struct console_srv *srv = cs->srv;
	int64_t now = clock_mono_ms();
	char line[512];
	va_list ap;

	if (now - srv->log_from >= PEER_LOG_WINDOW_MS) {
		if (srv->log_quiet > 0)
			log_warnx("console: %u more such connection(s) in the last "
			    "minute, not logged one by one", srv->log_quiet);
		srv->log_from = now;
		srv->log_n = srv->log_quiet = 0;
	}
	if (srv->log_n >= PEER_LOG_PER_WINDOW) {
		srv->log_quiet++;	/* a flood: counted, not a line each */
		return;
	}
	srv->log_n++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	log_warnx("%s", line);
}

/* A refusal is one line into a fresh socket's empty buffer, then close. */
static void
refuse(int fd, const char *why)
{
	json_t *j = json_pack("{s:i, s:b, s:s}", "id", 0, "ok", 0, "error", why);
	char *s = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL, line[512];
	int n;

	if (s != NULL && (n = snprintf(line, sizeof(line), "%s\n", s)) > 0 &&
	    (size_t)n < sizeof(line))
		(void)send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	free(s);
	json_decref(j);
	close(fd);
}

static void
take(struct console *cs, int fd)
{
	struct console_srv *srv = cs->srv;
	struct console_client *cl;
	struct ucred cred = { .pid = 0, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	char why[256];
	unsigned i;

	if (console_sock_peer(fd, srv->cfg, &cred, why, sizeof(why)) < 0) {
		console_log_peer(cs, "console: pid %d: %s", (int)cred.pid, why);
		refuse(fd, why);
		return;
	}
	for (i = 0; i < srv->cfg->max_clients && srv->slots[i] != NULL; i++)
		;
	if (i == srv->cfg->max_clients || i >= CONSOLE_SLOTS) {
		snprintf(why, sizeof(why), "busy: %u consoles connected", srv->n);
		console_log_peer(cs, "console: uid %u pid %d: refused: %u consoles "
		    "connected already", (unsigned)cred.uid, (int)cred.pid, srv->n);
		refuse(fd, why);
		return;
	}
	if ((cl = console_io_new(cs, fd)) == NULL) {
		refuse(fd, "busy: out of memory");
		return;
	}
	cl->uid = cred.uid;
	cl->gid = cred.gid;
	cl->pid = cred.pid;
	cl->slot = i;
	if (++srv->gen == 0)
		srv->gen = 1;
	cl->gen = srv->gen;
	if (loop_add(cs->g->loop, fd, EPOLLIN, console_io_event, cl) < 0) {
		console_io_free(cl);
		refuse(fd, "busy: cannot watch the connection");
		return;
	}
	cl->events = EPOLLIN;
	srv->slots[i] = cl;
	srv->n++;
	log_debug("console: uid %u pid %d connected (%u of %u)", (unsigned)cl->uid,
	    (int)cl->pid, srv->n, srv->cfg->max_clients);
}

void
console_accept(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct console *cs = arg;
	int i, c;

	(void)events;
	for (i = 0; i < ACCEPTS_PER_TURN; i++) {
		if ((c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
			take(cs, c);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return;
		/* Out of fds: level-triggered, it would spin; the tick resumes. */
		console_log_peer(cs, "console: accept: %s; pausing for a second",
		    strerror(errno));
		if (loop_mod(l, fd, 0) == 0)
			cs->srv->accept_paused = 1;
		return;
	}
}

