#include "firmware/base/rfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *
rfile_kind(mode_t mode)
{
	if (S_ISREG(mode))
		return "a regular file";
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

static int
not_regular(const char *path, const struct stat *st, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s, not a regular file", path,
	    rfile_kind(st->st_mode));
	return -EINVAL;
}

static int
too_big(const char *path, size_t max, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
	return -EFBIG;
}

int
rfile_read(const char *path, size_t max, char **buf, size_t *len,
    struct stat *st, char *err, size_t errlen)
{
	struct stat sb;
	char *b = NULL;
	size_t n = 0;
	ssize_t r;
	int fd, rc;

	*buf = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		rc = not_regular(path, &sb, err, errlen);
		goto out;
	}
	if (sb.st_size < 0 || (unsigned long long)sb.st_size > max) {
		rc = too_big(path, max, err, errlen);
		goto out;
	}
	/*
	 * Sized by the stat, plus one byte to notice a file that grew since
	 * (a log given by mistake, a config an editor is writing).
	 */
	if ((b = malloc((size_t)sb.st_size + 2)) == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		r = read(fd, b + n, (size_t)sb.st_size + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > (size_t)sb.st_size) {
			snprintf(err, errlen, "%s: grew while it was read "
			    "(being written?)", path);
			rc = -EAGAIN;
			goto out;
		}
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	b = NULL;
	if (st != NULL)
		*st = sb;
	rc = 0;
out:
	if (b != NULL) {
		/* What was read may be half a secret (secret.c reads through here). */
		explicit_bzero(b, n);
		free(b);
	}
	close(fd);
	return rc;
}

int
rfile_check(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	int rc;

	if (stat(path, &sb) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (!S_ISREG(sb.st_mode))
		return not_regular(path, &sb, err, errlen);
	if (access(path, R_OK) < 0) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	return 0;
}
