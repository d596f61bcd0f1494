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
#include "tests/preload/cut_io.h"

struct cut_state cut_io_g;

REAL(int, open, const char *, int, ...)
REAL(ssize_t, write, int, const void *, size_t)
REAL(int, renameat2, int, const char *, int, const char *, unsigned)
REAL(int, close, int)
REAL(int, ftruncate, int, off_t)

int
sys_open(const char *path, int flags, mode_t mode)
{
	bind_open();
	return real_open(path, flags | O_CLOEXEC, mode);
}

ssize_t
sys_write(int fd, const void *p, size_t n)
{
	bind_write();
	return real_write(fd, p, n);
}

int
sys_rename(const char *from, const char *to)
{
	bind_renameat2();
	return real_renameat2(AT_FDCWD, from, AT_FDCWD, to, 0);
}

void
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
int
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

int
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

void
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

void
lock(void)
{
	if (pthread_mutex_lock(&g.sh->mu) == EOWNERDEAD)
		pthread_mutex_consistent(&g.sh->mu);
}

void
unlock(void)
{
	pthread_mutex_unlock(&g.sh->mu);
}

void
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


/*
 * Every counted operation starts here, with the mutex held: counted, and
 * the power goes if it is the N-th. 1: go on (and record its undo).
 */
int
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

/* --- descriptors ---------------------------------------------------------- */

const char *
fd_path(int fd)
{
	return g.active && fd >= 0 && fd < MAX_FD ? g.fd_path[fd] : NULL;
}

void
fd_set_path(int fd, const char *abs)
{
	if (fd < 0 || fd >= MAX_FD)
		return;
	free(g.fd_path[fd]);
	g.fd_path[fd] = abs != NULL ? strdup(abs) : NULL;
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

