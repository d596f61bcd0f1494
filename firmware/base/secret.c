#include "firmware/base/secret.h"

#include "firmware/base/rfile.h"

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
	int rc;

	/*
	 * Checked on the descriptor that was read: no window between check and
	 * read. rfile refuses a FIFO or device before anything is read.
	 */
	if ((rc = rfile_read(path, SECRET_MAX, buf, len, &sb, err, errlen)) < 0) {
		if (rc == -EFBIG)
			snprintf(err, errlen, "%s: more than a secrets file holds "
			    "(%d bytes)", path, SECRET_MAX);
		return rc;
	}
	if ((rc = check_stat(path, &sb, err, errlen)) < 0) {
		secret_free(*buf, *len + 1);
		*buf = NULL;
		*len = 0;
	}
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
