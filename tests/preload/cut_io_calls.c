/*
 * The calls cut_io interposes (cut_io.c): each passes straight through
 * unless it names a tracked path or descriptor; then, with the shared mutex
 * held, it is counted, its undo recorded, and only then done.
 */
#include "tests/preload/cut_io.h"

REAL(int, openat, int, const char *, int, ...)
REAL(ssize_t, write, int, const void *, size_t)
REAL(ssize_t, pwrite, int, const void *, size_t, off_t)
REAL(ssize_t, writev, int, const struct iovec *, int)
REAL(ssize_t, pwritev, int, const struct iovec *, int, off_t)
REAL(ssize_t, pwritev2, int, const struct iovec *, int, off_t, int)
REAL(int, fsync, int)
REAL(int, fdatasync, int)
REAL(void, sync, void)
REAL(int, syncfs, int)
REAL(int, ftruncate, int, off_t)
REAL(int, truncate, const char *, off_t)
REAL(int, renameat2, int, const char *, int, const char *, unsigned)
REAL(int, unlinkat, int, const char *, int)
REAL(int, close, int)
REAL(int, dup, int)
REAL(int, dup2, int, int)
REAL(int, dup3, int, int, int)
REAL(FILE *, fopen, const char *, const char *)
REAL(FILE *, fopen64, const char *, const char *)


/*
 * An open of a tracked path: O_TRUNC of a non-empty file is counted (and
 * its content saved), a file it creates is recorded.
 */
static int
do_open(int dirfd, const char *path, int flags, mode_t mode)
{
	char abs[PATH_MAX];
	struct stat st;
	int fd, exists, undo = 0;

	bind_openat();
	if (!g.active || resolve(dirfd, path, abs) < 0 || !tracked(abs))
		return real_openat(dirfd, path, flags, mode);
	lock();
	exists = stat(abs, &st) == 0;
	if ((flags & O_TRUNC) && exists && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (flags & O_ACCMODE) != O_RDONLY) {
		if ((undo = count("open-trunc", abs)) != 0 &&
		    (fd = sys_open(abs, O_RDONLY, 0)) >= 0) {
			put_data(fd, abs, 0, (uint64_t)st.st_size);
			sys_close(fd);
		}
	}
	fd = real_openat(dirfd, path, flags, mode);
	if (fd >= 0) {
		if (!exists && g.undo && (g.at == 0 ||
		    atomic_load(&g.sh->count) < g.at))
			put_ns(K_CREATE, abs, NULL, 0, 0);
		fd_set_path(fd, abs);
	}
	unlock();
	return fd;
}

/* --- interposed: open ----------------------------------------------------- */

/* glibc's fortified opens (bash, tar and libubootenv are built with them). */
int __open_2(const char *, int);
int __open64_2(const char *, int);
int __openat_2(int, const char *, int);
int __openat64_2(int, const char *, int);

#define MODE_ARG(flags) \
	mode_t mode = 0; \
	if ((flags) & (O_CREAT | O_TMPFILE)) { \
		va_list ap; \
		va_start(ap, flags); \
		mode = (mode_t)va_arg(ap, int); \
		va_end(ap); \
	}

int
open(const char *path, int flags, ...)
{
	MODE_ARG(flags);
	return do_open(AT_FDCWD, path, flags, mode);
}

int
open64(const char *path, int flags, ...)
{
	MODE_ARG(flags);
	return do_open(AT_FDCWD, path, flags, mode);
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	MODE_ARG(flags);
	return do_open(dirfd, path, flags, mode);
}

int
openat64(int dirfd, const char *path, int flags, ...)
{
	MODE_ARG(flags);
	return do_open(dirfd, path, flags, mode);
}

int
__open_2(const char *path, int flags)
{
	return do_open(AT_FDCWD, path, flags, 0);
}

int
__open64_2(const char *path, int flags)
{
	return do_open(AT_FDCWD, path, flags, 0);
}

int
__openat_2(int dirfd, const char *path, int flags)
{
	return do_open(dirfd, path, flags, 0);
}

int
__openat64_2(int dirfd, const char *path, int flags)
{
	return do_open(dirfd, path, flags, 0);
}

int
creat(const char *path, mode_t mode)
{
	return do_open(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

int
creat64(const char *path, mode_t mode)
{
	return do_open(AT_FDCWD, path, O_WRONLY | O_CREAT | O_TRUNC, mode);
}

static FILE *
do_fopen(FILE *(*real)(const char *, const char *), const char *path,
    const char *mode)
{
	char abs[PATH_MAX];

	if (g.active && strpbrk(mode, "wa+") != NULL && resolve(AT_FDCWD, path,
	    abs) == 0 && tracked(abs))
		dprintf(2, "cut_io: %s: stdio writes are not seen by the shim\n",
		    abs);
	return real(path, mode);
}

FILE *
fopen(const char *path, const char *mode)
{
	bind_fopen();
	return do_fopen(real_fopen, path, mode);
}

FILE *
fopen64(const char *path, const char *mode)
{
	bind_fopen64();
	return do_fopen(real_fopen64, path, mode);
}

int
close(int fd)
{
	bind_close();
	if (fd_path(fd) != NULL) {
		lock();
		fd_set_path(fd, NULL);
		unlock();
	}
	return real_close(fd);
}

int
dup(int fd)
{
	int nfd;

	bind_dup();
	nfd = real_dup(fd);
	if (nfd >= 0 && (fd_path(fd) != NULL || fd_path(nfd) != NULL)) {
		lock();
		fd_set_path(nfd, fd_path(fd));
		unlock();
	}
	return nfd;
}

static int
dup_to(int fd, int nfd, int rc)
{
	if (rc >= 0 && fd != nfd && (fd_path(fd) != NULL || fd_path(nfd) != NULL)) {
		lock();
		fd_set_path(nfd, fd_path(fd));
		unlock();
	}
	return rc;
}

int
dup2(int fd, int nfd)
{
	bind_dup2();
	return dup_to(fd, nfd, real_dup2(fd, nfd));
}

int
dup3(int fd, int nfd, int flags)
{
	bind_dup3();
	return dup_to(fd, nfd, real_dup3(fd, nfd, flags));
}

/* --- interposed: writes ---------------------------------------------------- */

/* off < 0: at the descriptor's offset (or the end, with O_APPEND). */
static void
before_write(int fd, const char *path, const char *op, off_t off, uint64_t len)
{
	if (!count(op, path))
		return;
	if (off < 0 && ((fcntl(fd, F_GETFL) & O_APPEND) ||
	    (off = lseek(fd, 0, SEEK_CUR)) < 0)) {
		struct stat st;

		off = fstat(fd, &st) == 0 ? st.st_size : 0;
	}
	put_data(fd, path, off, len);
}

static uint64_t
iov_len(const struct iovec *v, int n)
{
	uint64_t len = 0;
	int i;

	for (i = 0; i < n; i++)
		len += v[i].iov_len;
	return len;
}

ssize_t
write(int fd, const void *p, size_t n)
{
	const char *path = fd_path(fd);
	ssize_t rc;

	bind_write();
	if (path == NULL)
		return real_write(fd, p, n);
	lock();
	if ((path = fd_path(fd)) != NULL)
		before_write(fd, path, "write", -1, n);
	rc = real_write(fd, p, n);
	unlock();
	return rc;
}

ssize_t
pwrite(int fd, const void *p, size_t n, off_t off)
{
	const char *path = fd_path(fd);
	ssize_t rc;

	bind_pwrite();
	if (path == NULL)
		return real_pwrite(fd, p, n, off);
	lock();
	if ((path = fd_path(fd)) != NULL)
		before_write(fd, path, "pwrite", off, n);
	rc = real_pwrite(fd, p, n, off);
	unlock();
	return rc;
}

ssize_t
pwrite64(int fd, const void *p, size_t n, off_t off)
{
	return pwrite(fd, p, n, off);
}

ssize_t
writev(int fd, const struct iovec *v, int cnt)
{
	const char *path = fd_path(fd);
	ssize_t rc;

	bind_writev();
	if (path == NULL)
		return real_writev(fd, v, cnt);
	lock();
	if ((path = fd_path(fd)) != NULL)
		before_write(fd, path, "writev", -1, iov_len(v, cnt));
	rc = real_writev(fd, v, cnt);
	unlock();
	return rc;
}

ssize_t
pwritev(int fd, const struct iovec *v, int cnt, off_t off)
{
	const char *path = fd_path(fd);
	ssize_t rc;

	bind_pwritev();
	if (path == NULL)
		return real_pwritev(fd, v, cnt, off);
	lock();
	if ((path = fd_path(fd)) != NULL)
		before_write(fd, path, "pwritev", off, iov_len(v, cnt));
	rc = real_pwritev(fd, v, cnt, off);
	unlock();
	return rc;
}

ssize_t
pwritev64(int fd, const struct iovec *v, int cnt, off_t off)
{
	return pwritev(fd, v, cnt, off);
}

ssize_t
pwritev2(int fd, const struct iovec *v, int cnt, off_t off, int flags)
{
	const char *path = fd_path(fd);
	ssize_t rc;

	bind_pwritev2();
	if (path == NULL)
		return real_pwritev2(fd, v, cnt, off, flags);
	lock();
	if ((path = fd_path(fd)) != NULL)
		before_write(fd, path, "pwritev2", off, iov_len(v, cnt));
	rc = real_pwritev2(fd, v, cnt, off, flags);
	unlock();
	return rc;
}

int
ftruncate(int fd, off_t len)
{
	const char *path = fd_path(fd);
	int rc;

	bind_ftruncate();
	if (path == NULL)
		return real_ftruncate(fd, len);
	lock();
	if ((path = fd_path(fd)) != NULL && count("ftruncate", path))
		put_data(fd, path, len, UINT64_MAX);
	rc = real_ftruncate(fd, len);
	unlock();
	return rc;
}

int
ftruncate64(int fd, off_t len)
{
	return ftruncate(fd, len);
}

int
truncate(const char *path, off_t len)
{
	char abs[PATH_MAX];
	int fd, rc;

	bind_truncate();
	if (!g.active || resolve(AT_FDCWD, path, abs) < 0 || !tracked(abs))
		return real_truncate(path, len);
	lock();
	if (count("truncate", abs) && (fd = sys_open(abs, O_RDONLY, 0)) >= 0) {
		put_data(fd, abs, len, UINT64_MAX);
		sys_close(fd);
	}
	rc = real_truncate(path, len);
	unlock();
	return rc;
}

int
truncate64(const char *path, off_t len)
{
	return truncate(path, len);
}

/* --- interposed: syncs ------------------------------------------------------ */

static int
do_sync(int fd, int (*real)(int), const char *op)
{
	const char *path = fd_path(fd);
	int rc;

	if (path == NULL)
		return real(fd);
	lock();
	if ((path = fd_path(fd)) != NULL)
		count(op, path);
	rc = real(fd);
	if (rc == 0 && g.undo)
		put_sync(fd, K_SYNC);
	unlock();
	return rc;
}

int
fsync(int fd)
{
	bind_fsync();
	return do_sync(fd, real_fsync, "fsync");
}

int
fdatasync(int fd)
{
	bind_fdatasync();
	return do_sync(fd, real_fdatasync, "fdatasync");
}

void
sync(void)
{
	bind_sync();
	if (!g.active) {
		real_sync();
		return;
	}
	lock();
	real_sync();
	if (g.undo)
		put_sync(-1, K_SYNC_ALL);
	unlock();
}

int
syncfs(int fd)
{
	int rc;

	bind_syncfs();
	if (!g.active)
		return real_syncfs(fd);
	lock();
	if ((rc = real_syncfs(fd)) == 0 && g.undo)
		put_sync(-1, K_SYNC_ALL);
	unlock();
	return rc;
}

/* --- interposed: names ------------------------------------------------------ */

int
renameat2(int od, const char *op, int nd, const char *np, unsigned flags)
{
	char o[PATH_MAX], n[PATH_MAX];
	uint64_t id = 0;
	int rc, stashed = 0, undo;

	bind_renameat2();
	if (!g.active || resolve(od, op, o) < 0 || resolve(nd, np, n) < 0 ||
	    (!tracked(o) && !tracked(n)))
		return real_renameat2(od, op, nd, np, flags);
	lock();
	if ((undo = count("rename", n)) != 0)
		stashed = stash(n, &id) == 0;
	rc = real_renameat2(od, op, nd, np, flags);
	if (rc == 0 && undo)
		put_ns(K_RENAME, o, n, stashed, id);
	unlock();
	return rc;
}

int
renameat(int od, const char *op, int nd, const char *np)
{
	return renameat2(od, op, nd, np, 0);
}

int
rename(const char *op, const char *np)
{
	return renameat2(AT_FDCWD, op, AT_FDCWD, np, 0);
}

int
unlinkat(int dirfd, const char *path, int flags)
{
	char abs[PATH_MAX];
	uint64_t id = 0;
	int rc, stashed = 0, undo;

	bind_unlinkat();
	if (!g.active || resolve(dirfd, path, abs) < 0 || !tracked(abs))
		return real_unlinkat(dirfd, path, flags);
	lock();
	undo = count((flags & AT_REMOVEDIR) ? "rmdir" : "unlink", abs);
	if (undo && !(flags & AT_REMOVEDIR))
		stashed = stash(abs, &id) == 0;
	rc = real_unlinkat(dirfd, path, flags);
	if (rc == 0 && undo)
		put_ns((flags & AT_REMOVEDIR) ? K_RMDIR : K_UNLINK, abs, NULL,
		    stashed, id);
	unlock();
	return rc;
}

int
unlink(const char *path)
{
	return unlinkat(AT_FDCWD, path, 0);
}

int
rmdir(const char *path)
{
	return unlinkat(AT_FDCWD, path, AT_REMOVEDIR);
}

int
remove(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return rmdir(path);
	return unlink(path);
}

