/*
 * cut_io: a power cut under plain file I/O, for every process of a test
 * at once (the launcher, fw_setenv, tar, the daemon and its threads).
 *
 *   LD_PRELOAD=libcut_io.so WG_CUT_PATHS=/t/board:/t/state \
 *       WG_CUT_COUNTER=/t/cut/n WG_CUT_AT=123 WG_CUT_LOG=/t/cut/log \
 *       board/host/launcher /t/board -c site.json
 *
 * WG_CUT_PATHS    Path prefixes, separated by ':'. Without it the shim only
 *                 passes calls through. Files and directories under them
 *                 are "tracked"; paths are made absolute and normalised
 *                 lexically (symbolic links inside are not followed).
 * WG_CUT_COUNTER  A file mapped shared by every process: the count of
 *                 operations on tracked files, a robust process-shared mutex
 *                 around each of them, the cut's flag. Beside it,
 *                 COUNTER.undo (the undo log) and COUNTER.stash/ (what an
 *                 unlink or a rename would have destroyed).
 * WG_CUT_AT=N     The N-th counted operation does not happen: the power goes
 *                 instead. Unset: only count (a test learns how many points a
 *                 whole run has).
 * WG_CUT_LOG      One line per cut: "cut N: OP PATH (pid P COMM): ...".
 * WG_CUT_TRACE    Optional: one line per counted operation, "N OP PATH".
 *
 * Counted: write, pwrite(64), writev, pwritev(2), ftruncate, truncate, an
 * open with O_TRUNC of a non-empty file, fsync, fdatasync, rename(at)(2),
 * unlink(at), rmdir, remove. Descriptors are followed through open, openat,
 * creat (and their 64 and _2 forms), dup, dup2, dup3 and close; those a
 * process inherits are found in /proc/self/fd when it starts.
 *
 * The power cut: before operation N, with the mutex held (no process can
 * be half way through a tracked operation), the undo log is played
 * backwards. Every write and truncate saved the bytes it overwrote and the
 * file's size before it (so its undo is exact); it is undone unless that
 * inode was fsynced or fdatasynced after it. A created file is removed, an
 * unlinked file comes back (it was hard-linked into the stash first), a
 * rename goes back (and the file it replaced comes back), unless the
 * directory holding the new name was fsynced after it. Then the whole
 * process group is SIGKILLed: the launcher runs in a session of its own, so
 * the cut takes it and everything it started, as a power cut takes a board.
 *
 * What it does not model: writes through stdio (fwrite reaches the kernel
 * inside libc, past any preload; fopen for writing a tracked file is
 * reported on stderr), writes through mmap (SQLite's -shm: the store runs
 * with locking_mode=EXCLUSIVE and has none; if one appears it is left as
 * is), descriptors made by fcntl(F_DUPFD), sendfile or copy_file_range,
 * mkdir (a directory made since the last sync stays), a torn write (each
 * write is all or nothing; SQLite's checksums and the environment's CRC
 * would see a torn one), and a disk that reorders or loses a synced write.
 * A file's creation is undone even when the file itself was fsynced (POSIX
 * asks for the directory's fsync; ext4 would keep it): stricter than ext4.
 * An unlink or rename whose stash cannot be linked (another file system)
 * is not undone; the cut's log line counts those.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FD		4096
#define MAX_PREFIX	8
#define COPY_MAX	(1 << 20)

struct shared {
	atomic_uint init;		/* 0, 1 (being set up), 2 */
	pthread_mutex_t mu;
	atomic_ullong count;
	atomic_uint cut;
};

enum kind { K_DATA = 1, K_SYNC, K_SYNC_ALL, K_CREATE, K_UNLINK, K_RMDIR,
	K_RENAME };

/* A record of the undo log; path, path2 and data follow it. */
struct rec {
	uint32_t kind;
	uint32_t path_len, path2_len;
	uint32_t stashed;		/* K_UNLINK, K_RENAME: a stash exists */
	uint64_t dev, ino;		/* K_DATA/K_SYNC: the file; else its dir */
	int64_t off, old_size;
	uint64_t data_len;
	uint64_t stash_id;
};

static struct {
	int active, undo;
	char prefix[MAX_PREFIX][PATH_MAX];
	size_t n_prefix;
	unsigned long long at;
	char counter[PATH_MAX - 64], log[PATH_MAX], trace[PATH_MAX];
	struct shared *sh;
	int undo_fd;
	pid_t pid;
	uint64_t stash_seq;
	char *fd_path[MAX_FD];
} g;

/* --- the real functions --------------------------------------------------- */

#define REAL(ret, name, ...) \
	static ret (*real_##name)(__VA_ARGS__); \
	static void bind_##name(void) { \
		if (real_##name == NULL) \
			*(void **)&real_##name = dlsym(RTLD_NEXT, #name); \
	}
REAL(int, open, const char *, int, ...)
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

static int
sys_open(const char *path, int flags, mode_t mode)
{
	bind_open();
	return real_open(path, flags | O_CLOEXEC, mode);
}

static ssize_t
sys_write(int fd, const void *p, size_t n)
{
	bind_write();
	return real_write(fd, p, n);
}

static int
sys_rename(const char *from, const char *to)
{
	bind_renameat2();
	return real_renameat2(AT_FDCWD, from, AT_FDCWD, to, 0);
}

static void
sys_close(int fd)
{
	bind_close();
	real_close(fd);
}

/* --- paths ---------------------------------------------------------------- */

/* Lexical: "." and ".." and repeated slashes go. */
static void
normalise(char *p)
{
	char out[PATH_MAX], *seg, *save = NULL;
	size_t n = 0;

	out[0] = '\0';
	for (seg = strtok_r(p, "/", &save); seg != NULL;
	    seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			while (n > 0 && out[n - 1] != '/')
				n--;
			if (n > 0)
				n--;
			out[n] = '\0';
			continue;
		}
		n += (size_t)snprintf(out + n, sizeof(out) - n, "/%s", seg);
		if (n >= sizeof(out))
			n = sizeof(out) - 1;
	}
	snprintf(p, PATH_MAX, "%s", n ? out : "/");
}

/* path (relative to dirfd) made absolute into out; 0, or -1. */
static int
resolve(int dirfd, const char *path, char *out)
{
	char base[PATH_MAX], link[64];
	ssize_t n;

	if (path == NULL)
		return -1;
	if (path[0] == '/') {
		snprintf(out, PATH_MAX, "%s", path);
	} else {
		if (dirfd == AT_FDCWD) {
			if (getcwd(base, sizeof(base)) == NULL)
				return -1;
		} else {
			snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
			if ((n = readlink(link, base, sizeof(base) - 1)) <= 0)
				return -1;
			base[n] = '\0';
		}
		if (snprintf(out, PATH_MAX, "%s/%s", base, path) >= PATH_MAX)
			return -1;
	}
	normalise(out);
	return 0;
}

static int
tracked(const char *abs)
{
	size_t i, n;

	for (i = 0; i < g.n_prefix; i++) {
		n = strlen(g.prefix[i]);
		if (strncmp(abs, g.prefix[i], n) == 0 && (abs[n] == '\0' ||
		    abs[n] == '/'))
			return 1;
	}
	return 0;
}

static void
dir_of(const char *path, char *out)
{
	char *slash;

	snprintf(out, PATH_MAX, "%s", path);
	if ((slash = strrchr(out, '/')) == NULL || slash == out)
		snprintf(out, PATH_MAX, "/");
	else
		*slash = '\0';
}

/* --- the lock, the count, the log ----------------------------------------- */

static void
lock(void)
{
	if (pthread_mutex_lock(&g.sh->mu) == EOWNERDEAD)
		pthread_mutex_consistent(&g.sh->mu);
}

static void
unlock(void)
{
	pthread_mutex_unlock(&g.sh->mu);
}

static void
say(const char *file, const char *fmt, ...)
{
	char line[PATH_MAX + 256];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	if ((fd = sys_open(file, O_WRONLY | O_CREAT | O_APPEND, 0644)) >= 0) {
		(void)!sys_write(fd, line, (size_t)n);
		sys_close(fd);
	}
}

static void
rec_append(struct rec *r, const char *path, const char *path2, const void *data)
{
	struct iovec v[4] = {
		{ r, sizeof(*r) },
		{ (void *)path, r->path_len },
		{ (void *)path2, r->path2_len },
		{ (void *)data, (size_t)r->data_len },
	};

	bind_writev();
	if (real_writev(g.undo_fd, v, 4) < 0)
		dprintf(2, "cut_io: undo log: %s\n", strerror(errno));
}

static void
stash_name(uint64_t id, char *out)
{
	snprintf(out, PATH_MAX, "%s.stash/%llu", g.counter, (unsigned long long)id);
}

/* Hard-links path into the stash: 0 and *id, or -1 (nothing there, EXDEV). */
static int
stash(const char *path, uint64_t *id)
{
	char s[PATH_MAX];

	*id = ((uint64_t)g.pid << 32) | ++g.stash_seq;
	stash_name(*id, s);
	return link(path, s) == 0 ? 0 : -1;
}

static void
put_ns(enum kind k, const char *path, const char *path2, int stashed,
    uint64_t id)
{
	struct rec r = { .kind = k, .stashed = (uint32_t)stashed, .stash_id = id };
	char dir[PATH_MAX];
	struct stat st;

	dir_of(path2 != NULL ? path2 : path, dir);
	if (stat(dir, &st) == 0) {
		r.dev = st.st_dev;
		r.ino = st.st_ino;
	}
	r.path_len = (uint32_t)strlen(path);
	r.path2_len = path2 != NULL ? (uint32_t)strlen(path2) : 0;
	rec_append(&r, path, path2, NULL);
}

static void
put_sync(int fd, enum kind k)
{
	struct rec r = { .kind = k };
	struct stat st;

	if (k == K_SYNC) {
		if (fstat(fd, &st) < 0)
			return;
		r.dev = st.st_dev;
		r.ino = st.st_ino;
	}
	rec_append(&r, "", NULL, NULL);
}

/* What [off, off + len) of the file holds now, and its size. */
static void
put_data(int fd, const char *path, off_t off, uint64_t len)
{
	struct rec r = { .kind = K_DATA, .off = off };
	struct stat st;
	uint8_t *buf = NULL;
	ssize_t n;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	r.dev = st.st_dev;
	r.ino = st.st_ino;
	r.old_size = st.st_size;
	if (off < st.st_size && len > 0) {
		r.data_len = (uint64_t)(st.st_size - off) < len ?
		    (uint64_t)(st.st_size - off) : len;
		if ((buf = malloc(r.data_len)) == NULL ||
		    (n = pread(fd, buf, r.data_len, off)) < 0) {
			dprintf(2, "cut_io: %s: cannot save what a write overwrites\n",
			    path);
			free(buf);
			return;
		}
		r.data_len = (uint64_t)n;
	}
	r.path_len = (uint32_t)strlen(path);
	rec_append(&r, path, NULL, buf);
	free(buf);
}

static void cut(const char *op, const char *path, unsigned long long n);

/*
 * Every counted operation starts here, with the mutex held: counted, and
 * the power goes if it is the N-th. 1: go on (and record its undo).
 */
static int
count(const char *op, const char *path)
{
	unsigned long long n;

	if (atomic_load(&g.sh->cut)) {
		unlock();
		kill(0, SIGKILL);
		kill(getpid(), SIGKILL);
	}
	n = atomic_fetch_add(&g.sh->count, 1) + 1;
	if (g.trace[0] != '\0')
		say(g.trace, "%llu %s %s\n", n, op, path);
	if (g.at != 0 && n == g.at)
		cut(op, path, n);
	return g.undo && (g.at == 0 || n < g.at);
}

/* --- the cut -------------------------------------------------------------- */

struct undo_stats {
	unsigned long data, create, unlink, rename, failed;
};

static void
undo_one(const struct rec *r, const char *path, const char *path2,
    const uint8_t *data, struct undo_stats *s)
{
	char st_name[PATH_MAX];
	struct stat st;
	int fd;

	switch (r->kind) {
	case K_DATA:
		if ((fd = sys_open(path, O_WRONLY, 0)) < 0 || fstat(fd, &st) < 0 ||
		    st.st_ino != r->ino || st.st_dev != r->dev) {
			s->failed++;
			if (fd >= 0)
				sys_close(fd);
			return;
		}
		if ((r->data_len > 0 && pwrite(fd, data, r->data_len, r->off) !=
		    (ssize_t)r->data_len) || ftruncate(fd, r->old_size) < 0)
			s->failed++;
		sys_close(fd);
		s->data++;
		return;
	case K_CREATE:
		bind_unlinkat();
		s->create += real_unlinkat(AT_FDCWD, path, 0) == 0;
		return;
	case K_RMDIR:
		s->unlink += mkdir(path, 0755) == 0;
		return;
	case K_UNLINK:
		stash_name(r->stash_id, st_name);
		if (!r->stashed || sys_rename(st_name, path) < 0)
			s->failed++;
		else
			s->unlink++;
		return;
	case K_RENAME:
		if (sys_rename(path2, path) < 0) {
			s->failed++;
			return;
		}
		stash_name(r->stash_id, st_name);
		if (r->stashed && sys_rename(st_name, path2) < 0)
			s->failed++;
		s->rename++;
		return;
	}
}

/*
 * Plays the undo log backwards. Walking from the end, a sync adds its inode
 * to the set of those synced later: a record of such an inode (a file's
 * write, a directory's names) is durable and stays.
 */
static void
play_back(struct undo_stats *s)
{
	const struct rec **recs = NULL, **more;
	uint64_t (*synced)[2] = NULL;
	size_t len = 0, cap = 0, n = 0, n_synced = 0, i, j, off;
	uint8_t *log = NULL, *bigger;
	char path[PATH_MAX], path2[PATH_MAX];
	int fd, all = 0;
	ssize_t got;

	snprintf(path, sizeof(path), "%s.undo", g.counter);
	if ((fd = sys_open(path, O_RDONLY, 0)) < 0)
		return;
	for (;;) {
		if (len == cap) {
			if ((bigger = realloc(log, cap = cap ? cap * 2 : 1 << 20)) == NULL)
				break;
			log = bigger;
		}
		if ((got = read(fd, log + len, cap - len)) <= 0)
			break;
		len += (size_t)got;
	}
	sys_close(fd);
	for (off = 0; log != NULL && off + sizeof(struct rec) <= len; n++) {
		const struct rec *r = (const struct rec *)(log + off);

		off += sizeof(*r) + r->path_len + r->path2_len + r->data_len;
		if (off > len)
			break;		/* cut short: it never happened */
		if ((n & (n - 1)) == 0) {
			if ((more = realloc(recs, (n ? n * 2 : 1) * sizeof(*recs))) ==
			    NULL)
				break;
			recs = more;
		}
		recs[n] = r;
	}
	if ((synced = calloc(n + 1, sizeof(*synced))) == NULL)
		n = 0;
	for (i = n; i-- > 0 && !all;) {
		const struct rec *r = recs[i];
		const char *p = (const char *)(r + 1);
		int durable = 0;

		if (r->kind == K_SYNC_ALL) {
			all = 1;
			continue;
		}
		for (j = 0; j < n_synced && !durable; j++)
			durable = synced[j][0] == r->dev && synced[j][1] == r->ino;
		if (r->kind == K_SYNC) {
			if (!durable) {
				synced[n_synced][0] = r->dev;
				synced[n_synced++][1] = r->ino;
			}
			continue;
		}
		if (durable)
			continue;
		snprintf(path, sizeof(path), "%.*s", (int)r->path_len, p);
		snprintf(path2, sizeof(path2), "%.*s", (int)r->path2_len,
		    p + r->path_len);
		undo_one(r, path, path2, (const uint8_t *)(p + r->path_len +
		    r->path2_len), s);
	}
	free(synced);
	free(recs);
	free(log);
}

static void
cut(const char *op, const char *path, unsigned long long n)
{
	struct undo_stats s = { 0 };
	char comm[64] = "?";
	int fd;
	ssize_t k;

	atomic_store(&g.sh->cut, 1);
	if (g.undo)
		play_back(&s);
	if ((fd = sys_open("/proc/self/comm", O_RDONLY, 0)) >= 0) {
		if ((k = read(fd, comm, sizeof(comm) - 1)) > 0)
			comm[k - (comm[k - 1] == '\n')] = '\0';
		sys_close(fd);
	}
	if (g.log[0] != '\0')
		say(g.log, "cut %llu: %s %s (pid %d %s): undone %lu write(s), %lu "
		    "creation(s), %lu unlink(s), %lu rename(s); %lu not undone\n", n,
		    op, path, (int)g.pid, comm, s.data, s.create, s.unlink, s.rename,
		    s.failed);
	kill(0, SIGKILL);
	kill(getpid(), SIGKILL);
	_exit(137);
}

/* --- descriptors ---------------------------------------------------------- */

static const char *
fd_path(int fd)
{
	return g.active && fd >= 0 && fd < MAX_FD ? g.fd_path[fd] : NULL;
}

static void
fd_set_path(int fd, const char *abs)
{
	if (fd < 0 || fd >= MAX_FD)
		return;
	free(g.fd_path[fd]);
	g.fd_path[fd] = abs != NULL ? strdup(abs) : NULL;
}

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

/* --- start ------------------------------------------------------------------ */

/* Descriptors this process inherited on tracked paths. */
static void
scan_fds(void)
{
	char link[64], abs[PATH_MAX];
	struct dirent *d;
	DIR *dir;
	ssize_t n;
	int fd;

	if ((dir = opendir("/proc/self/fd")) == NULL)
		return;
	while ((d = readdir(dir)) != NULL) {
		if ((fd = atoi(d->d_name)) < 0 || fd >= MAX_FD || d->d_name[0] == '.')
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		if ((n = readlink(link, abs, sizeof(abs) - 1)) <= 0)
			continue;
		abs[n] = '\0';
		if (abs[0] == '/' && tracked(abs))
			g.fd_path[fd] = strdup(abs);
	}
	closedir(dir);
}

static int
map_counter(void)
{
	pthread_mutexattr_t a;
	struct stat st;
	unsigned expect = 0;
	int fd;

	if ((fd = sys_open(g.counter, O_RDWR | O_CREAT, 0644)) < 0)
		return -1;
	if (fstat(fd, &st) < 0 || (st.st_size < 4096 && (bind_ftruncate(),
	    real_ftruncate(fd, 4096)) < 0)) {
		sys_close(fd);
		return -1;
	}
	g.sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	sys_close(fd);
	if (g.sh == MAP_FAILED)
		return -1;
	if (atomic_compare_exchange_strong(&g.sh->init, &expect, 1)) {
		pthread_mutexattr_init(&a);
		pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
		pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
		pthread_mutex_init(&g.sh->mu, &a);
		pthread_mutexattr_destroy(&a);
		atomic_store(&g.sh->init, 2);
	}
	while (atomic_load(&g.sh->init) != 2)
		usleep(1000);
	return 0;
}

static void
after_fork(void)
{
	g.pid = getpid();
	g.stash_seq = 0;
}

__attribute__((constructor)) static void
cut_io_init(void)
{
	const char *paths = getenv("WG_CUT_PATHS"), *v;
	char buf[PATH_MAX * MAX_PREFIX], *p, *save = NULL, real[PATH_MAX];

	if (paths == NULL || *paths == '\0')
		return;
	if ((v = getenv("WG_CUT_COUNTER")) == NULL || *v == '\0') {
		dprintf(2, "cut_io: WG_CUT_PATHS without WG_CUT_COUNTER\n");
		_exit(99);
	}
	snprintf(g.counter, sizeof(g.counter), "%s", v);
	snprintf(g.log, sizeof(g.log), "%s", (v = getenv("WG_CUT_LOG")) ? v : "");
	snprintf(g.trace, sizeof(g.trace), "%s", (v = getenv("WG_CUT_TRACE")) ? v :
	    "");
	g.at = (v = getenv("WG_CUT_AT")) != NULL ? strtoull(v, NULL, 10) : 0;
	g.undo = g.at > 0;
	snprintf(buf, sizeof(buf), "%s", paths);
	for (p = strtok_r(buf, ":", &save); p != NULL && g.n_prefix < MAX_PREFIX;
	    p = strtok_r(NULL, ":", &save)) {
		if (resolve(AT_FDCWD, p, g.prefix[g.n_prefix]) < 0)
			continue;
		/* Both spellings: as given and with its links resolved. */
		if (realpath(g.prefix[g.n_prefix], real) != NULL &&
		    strcmp(real, g.prefix[g.n_prefix]) != 0 && g.n_prefix + 1 <
		    MAX_PREFIX)
			snprintf(g.prefix[++g.n_prefix], PATH_MAX, "%s", real);
		g.n_prefix++;
	}
	if (map_counter() < 0) {
		dprintf(2, "cut_io: %s: %s\n", g.counter, strerror(errno));
		_exit(99);
	}
	g.pid = getpid();
	if (g.undo) {
		snprintf(real, sizeof(real), "%s.stash", g.counter);
		(void)mkdir(real, 0755);
		snprintf(real, sizeof(real), "%s.undo", g.counter);
		if ((g.undo_fd = sys_open(real, O_WRONLY | O_CREAT | O_APPEND,
		    0644)) < 0) {
			dprintf(2, "cut_io: %s: %s\n", real, strerror(errno));
			_exit(99);
		}
	}
	pthread_atfork(NULL, NULL, after_fork);
	scan_fds();
	g.active = 1;
}
