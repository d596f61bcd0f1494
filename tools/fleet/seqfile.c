/*
 * Per-gateway sequence files (seqfile.h): lock, read, add one, write a
 * temporary file, fsync, rename over, fsync the directory, unlock.
 */
#include "tools/fleet/seqfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firmware/codec/command.h"

static int
sys_fail(char *err, size_t errlen, const char *path, const char *what)
{
	int e = errno;

	snprintf(err, errlen, "%s: %s: %s", path, what, strerror(e));
	return -e;
}

/* The last seq in path: 0 if there is no file yet. */
static int
seq_read(const char *path, uint64_t *seq, char *err, size_t errlen)
{
	char buf[32], *end;
	unsigned long long v;
	ssize_t n;
	int fd;

	*seq = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? 0 : sys_fail(err, errlen, path, "open");
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return sys_fail(err, errlen, path, "read");
	buf[n] = '\0';
	errno = 0;
	v = strtoull(buf, &end, 10);
	/* A damaged file must stop signing: guessing could reuse a seq. */
	if (n == 0 || buf[0] < '0' || buf[0] > '9' || errno != 0 ||
	    strcmp(end, "\n") != 0 || v > CMD_SEQ_MAX) {
		snprintf(err, errlen, "%s: not one decimal seq line (fix or "
		    "remove it by hand; a seq must not be reused)", path);
		return -EINVAL;
	}
	*seq = v;
	return 0;
}

static int
seq_write(const char *path, const char *tmp, const char *dir, uint64_t seq,
    char *err, size_t errlen)
{
	char line[32];
	int fd, n, rc = 0;

	n = snprintf(line, sizeof(line), "%" PRIu64 "\n", seq);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
	    0600)) < 0)
		return sys_fail(err, errlen, tmp, "create");
	if (write(fd, line, (size_t)n) != n || fsync(fd) != 0)
		rc = sys_fail(err, errlen, tmp, "write");
	if (close(fd) != 0 && rc == 0)
		rc = sys_fail(err, errlen, tmp, "close");
	if (rc == 0 && rename(tmp, path) != 0)
		rc = sys_fail(err, errlen, path, "rename");
	if (rc < 0) {
		unlink(tmp);
		return rc;
	}
	/* The rename is durable only once the directory is. */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return sys_fail(err, errlen, dir, "open");
	if (fsync(fd) != 0)
		rc = sys_fail(err, errlen, dir, "fsync");
	close(fd);
	return rc;
}

int
seqfile_next(const char *dir, const char *gw, uint64_t *seq, char *err,
    size_t errlen)
{
	char sdir[PATH_MAX], path[PATH_MAX], lock[PATH_MAX], tmp[PATH_MAX];
	uint64_t last;
	int fd, rc;

	/* "." and ".." pass the gateway id's alphabet but name directories. */
	if (strcmp(gw, ".") == 0 || strcmp(gw, "..") == 0 || strchr(gw, '/')) {
		snprintf(err, errlen, "seq: gateway id '%s' cannot name a file", gw);
		return -EINVAL;
	}
	if ((size_t)snprintf(sdir, sizeof(sdir), "%s/seq", dir) >= sizeof(sdir) ||
	    (size_t)snprintf(path, sizeof(path), "%s/%s", sdir, gw) >= sizeof(path) ||
	    (size_t)snprintf(lock, sizeof(lock), "%s.lock", path) >= sizeof(lock) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -ENAMETOOLONG;
	}
	if (mkdir(sdir, 0700) != 0 && errno != EEXIST)
		return sys_fail(err, errlen, sdir, "mkdir");
	if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return sys_fail(err, errlen, lock, "open");
	if (flock(fd, LOCK_EX) != 0) {
		rc = sys_fail(err, errlen, lock, "flock");
		close(fd);
		return rc;
	}
	if ((rc = seq_read(path, &last, err, errlen)) == 0) {
		if (last >= CMD_SEQ_MAX) {
			snprintf(err, errlen, "%s: seq %" PRIu64 " is the last there is",
			    path, last);
			rc = -ERANGE;
		} else if ((rc = seq_write(path, tmp, sdir, last + 1, err,
		    errlen)) == 0)
			*seq = last + 1;
	}
	close(fd);		/* and the lock with it */
	return rc;
}
