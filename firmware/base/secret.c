#include "firmware/base/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int
check_stat(const char *path, const struct stat *sb, char *err, size_t errlen)
{
	if (!S_ISREG(sb->st_mode)) {
		snprintf(err, errlen, "%s: a secrets file must be a regular file", path);
		return -EINVAL;
	}
	if (sb->st_uid != geteuid() && sb->st_uid != 0) {
		snprintf(err, errlen, "%s: owned by uid %u, not by this daemon's user "
		    "(%u) or root: refused", path, (unsigned)sb->st_uid,
		    (unsigned)geteuid());
		return -EPERM;
	}
	if (sb->st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "%s: mode %04o lets group or others at a secret: "
		    "refused (chmod 600 %s)", path, (unsigned)(sb->st_mode & 07777),
		    path);
		return -EPERM;
	}
	return 0;
}

int
secret_check(const char *path, char *err, size_t errlen)
{
	struct stat sb;

	if (stat(path, &sb) == -1) {
		int e = errno;

		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	return check_stat(path, &sb, err, errlen);
}

int
secret_read(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	struct stat sb;
	ssize_t n;
	size_t got = 0;
	char *b;
	int fd, rc;

	*buf = NULL;
	*len = 0;
	/* Checked on the open descriptor: no window between check and read. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &sb) == -1) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-rc));
		goto out;
	}
	if ((rc = check_stat(path, &sb, err, errlen)) < 0)
		goto out;
	if (sb.st_size > SECRET_MAX) {
		snprintf(err, errlen, "%s: %lld bytes, more than a secrets file holds "
		    "(%d)", path, (long long)sb.st_size, SECRET_MAX);
		rc = -EFBIG;
		goto out;
	}
	if ((b = malloc((size_t)sb.st_size + 1)) == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "%s: out of memory", path);
		goto out;
	}
	while (got < (size_t)sb.st_size &&
	    (n = read(fd, b + got, (size_t)sb.st_size - got)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			snprintf(err, errlen, "%s: %s", path, strerror(-rc));
			secret_free(b, (size_t)sb.st_size + 1);
			goto out;
		}
		got += (size_t)n;
	}
	b[got] = '\0';
	*buf = b;
	*len = got;
	rc = 0;
out:
	close(fd);
	return rc;
}

void
secret_free(char *buf, size_t len)
{
	volatile char *p = buf;

	if (buf == NULL)
		return;
	while (len-- > 0)
		*p++ = 0;
	free(buf);
}
