#include "firmware/base/notify.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/base/log.h"

static struct {
	int fd;			/* -1: nothing to send to */
	struct sockaddr_un sa;
	socklen_t len;
	int logged;		/* a failure was logged: the later ones are not */
} nt = { .fd = -1 };

int
notify_addr(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n;

	if (name == NULL || name[0] == '\0')
		return -ENOENT;
	if (strncmp(name, "vsock:", 6) == 0)
		return -EAFNOSUPPORT;
	if (name[0] != '/' && name[0] != '@')
		return -EINVAL;
	n = strlen(name);
	if (name[0] == '@' && n == 1)
		return -EINVAL;
	/*
	 * A path keeps its NUL inside sun_path (the kernel takes one without,
	 * but not every reader does); an abstract name has no terminator, its
	 * '@' becomes the leading NUL and may use all of sun_path (as
	 * systemd's own parser allows).
	 */
	if (n > sizeof(sa->sun_path) - (name[0] == '/'))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, name, n);
	if (name[0] == '@') {
		sa->sun_path[0] = '\0';
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
	}
	return 0;
}

static const char *
why(int rc)
{
	switch (rc) {
	case -EINVAL:
		return "neither an absolute path nor an @abstract name";
	case -ENAMETOOLONG:
		return "longer than a socket address can be";
	case -EAFNOSUPPORT:
		return "not an AF_UNIX socket";
	default:
		return strerror(-rc);
	}
}

int
notify_init(void)
{
	const char *name = getenv("NOTIFY_SOCKET");
	int rc;

	notify_close();
	nt.logged = 0;
	if ((rc = notify_addr(name, &nt.sa, &nt.len)) == -ENOENT)
		return 0;
	if (rc < 0) {
		log_warnx("NOTIFY_SOCKET=%s: %s; the service manager is not told "
		    "of readiness or the watchdog", name, why(rc));
		nt.logged = 1;
		return rc;
	}
	if ((nt.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		rc = -errno;
		log_warn("NOTIFY_SOCKET=%s: socket", name);
		nt.logged = 1;
		return rc;
	}
	return 1;
}

int
notify_send(const char *msg)
{
	size_t n = strlen(msg);
	ssize_t k;
	int e;

	if (nt.fd < 0)
		return 0;
	/* DONTWAIT: a full queue loses this one; NOSIGNAL: no SIGPIPE. */
	k = sendto(nt.fd, msg, n, MSG_DONTWAIT | MSG_NOSIGNAL,
	    (const struct sockaddr *)&nt.sa, nt.len);
	if (k == (ssize_t)n)
		return 0;
	e = k < 0 ? errno : EMSGSIZE;
	if (!nt.logged) {
		char first[32];

		/* The message's first line names it: "WATCHDOG=1". */
		snprintf(first, sizeof(first), "%.*s", (int)strcspn(msg, "\n"), msg);
		log_warnx("NOTIFY_SOCKET: %s not sent: %s (later failures are "
		    "not logged)", first, strerror(e));
		nt.logged = 1;
	}
	return -e;
}

/* A decimal number, digits only: strtoull would take " 5", "+5" and "-5". */
static int
digits(const char *s, unsigned long long *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 10);
	return isdigit((unsigned char)s[0]) && errno == 0 && *end == '\0' ?
	    0 : -EINVAL;
}

int
notify_watchdog(const char *usec_env, const char *pid_env, pid_t self,
    uint64_t *usec)
{
	unsigned long long v;

	*usec = 0;
	if (usec_env == NULL || usec_env[0] == '\0')
		return 0;
	if (pid_env != NULL && pid_env[0] != '\0') {
		if (digits(pid_env, &v) < 0 || v == 0)
			return -EINVAL;
		if (v != (unsigned long long)self)
			return 0;
	}
	if (digits(usec_env, &v) < 0)
		return -EINVAL;
	if (v == 0)
		return 0;
	*usec = v;
	return 1;
}

void
notify_close(void)
{
	if (nt.fd >= 0)
		close(nt.fd);
	nt.fd = -1;
}
