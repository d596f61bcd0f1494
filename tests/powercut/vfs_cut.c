/*
 * vfs_cut: a simulated power cut for whatever process this is preloaded into.
 *
 *   LD_PRELOAD=libvfs_cut.so WG_CUT_SEED=7 WG_CUT_AFTER_MS=200-1500 \
 *       WG_CUT_AFTER_SYNCS=1-12 wattgate -c site.json
 *
 * The constructor registers a VFS wrapping "unix" as the default, so the
 * daemon's sqlite3_open_v2() uses it unchanged. Every write and truncate goes
 * through to the file, but its pre-image is kept in an undo log per file path
 * until that file's next successful xSync. At the cut the logs are played
 * backwards and each file is truncated to its size at its last sync: the disk
 * then holds exactly what had been synced, as after a power cut on a device
 * that keeps nothing it was not told to flush. Then the process SIGKILLs
 * itself, so nothing runs after the cut.
 *
 * Why write-through with undo and not an in-memory overlay: reads, xFileSize,
 * locking and the WAL index stay the real unix VFS's code, untouched; only
 * the cut itself is ours.
 *
 * The cut comes after a random time (WG_CUT_AFTER_MS=LO-HI, from a timer
 * thread) or at a random xSync (WG_CUT_AFTER_SYNCS=LO-HI, counted over all
 * files), whichever is first; at a sync it falls randomly just before the
 * sync (the transaction's writes are all issued, none durable) or just after
 * it. Both are drawn from WG_CUT_SEED. Without either variable the wrapper
 * only passes through.
 *
 * WG_CUT_CHECKPOINT=N sets wal_autocheckpoint to N on every connection that
 * sqlite3_open_v2 opens (the daemon does not set it): with a small N the cuts
 * also fall into checkpoints and WAL restarts, which overwrite files in place,
 * instead of only into appends to the WAL.
 *
 * WG_CUT_BOOT_ID=ID is what the process reads from
 * /proc/sys/kernel/random/boot_id: after a power cut the board boots again,
 * so each run under the shim is a boot of its own (the store skips a sequence
 * number after an unclean stop in another boot; firmware/store/store_durable.c).
 *
 * On stderr, before dying: "vfs_cut: cut ...: N unsynced write(s) dropped".
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/fixtures/vfs_wrap.h"

/* One write or truncate not yet synced: what was at off before it. */
struct undo {
	struct undo *prev;
	sqlite3_int64 off;
	int len;
	unsigned char data[];
};

/*
 * Kept per path, not per handle, and kept after xClose: fsync flushes the
 * inode whatever descriptor wrote, and a close does not make anything durable.
 */
struct track {
	struct track *next;
	char *path;
	int main_db;			/* its -shm goes at the cut */
	sqlite3_int64 synced_size;
	struct undo *log;		/* newest first */
	unsigned long n_pending;	/* writes and truncates since the sync */
};

/* tests/fixtures/vfs_wrap.h: the unix file right after this struct. */
struct cut_file {
	struct vfs_wrap_file w;
	struct track *t;		/* NULL: temp file, not tracked */
};

static sqlite3_vfs cut_vfs;
static struct sqlite3_io_methods cut_io;
static struct track *tracks;
/*
 * One lock around every tracked write, truncate and sync and around the cut:
 * the timer thread must not cut between a write and its undo record, nor let
 * a write land after the undo was played.
 */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned long n_syncs, cut_at_sync;
static int cut_after_sync;
static unsigned long cut_ms;
static uint64_t rng;

static uint64_t
rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* "LO-HI" (or "N") from the environment, drawn uniformly; 0 if unset. */
static unsigned long
draw(const char *name)
{
	const char *v = getenv(name);
	unsigned long lo, hi;

	if (v == NULL || *v == '\0')
		return 0;
	if (sscanf(v, "%lu-%lu", &lo, &hi) != 2)
		hi = lo = strtoul(v, NULL, 10);
	if (hi < lo)
		hi = lo;
	return lo + (unsigned long)(rnd() % (hi - lo + 1));
}

/*
 * Plays every undo log backwards and truncates to the synced size, through
 * fresh descriptors (SQLite's own may be closed already), then dies. The -shm
 * file is emptied: it is an index SQLite rebuilds from the WAL, and on a real
 * board it would not survive either. Called with mu held, never returns.
 */
static void
cut(const char *why)
{
	unsigned long dropped = 0;
	struct track *t;
	struct undo *u;
	char shm[4096];
	int fd;

	for (t = tracks; t != NULL; t = t->next) {
		dropped += t->n_pending;
		/* synced_size < 0: deleted (durably) and not opened again. */
		if (t->synced_size >= 0 && (fd = open(t->path, O_RDWR)) >= 0) {
			for (u = t->log; u != NULL; u = u->prev)
				if (pwrite(fd, u->data, (size_t)u->len, u->off) != u->len)
					dprintf(2, "vfs_cut: %s: undo: %s\n", t->path,
					    strerror(errno));
			if (ftruncate(fd, t->synced_size) == -1)
				dprintf(2, "vfs_cut: %s: truncate: %s\n", t->path,
				    strerror(errno));
			close(fd);
		}
		if (t->main_db && snprintf(shm, sizeof(shm), "%s-shm", t->path) <
		    (int)sizeof(shm))
			(void)truncate(shm, 0);
	}
	dprintf(2, "vfs_cut: cut %s: %lu unsynced write(s) dropped\n", why, dropped);
	kill(getpid(), SIGKILL);
	_exit(137);
}

static void
forget(struct track *t, sqlite3_int64 size)
{
	struct undo *u;

	while ((u = t->log) != NULL) {
		t->log = u->prev;
		free(u);
	}
	t->n_pending = 0;
	t->synced_size = size;
}

/*
 * Records what [off, off+len) holds now (clipped to the file's size: beyond
 * it the final truncate restores the old state). Called with mu held.
 */
static int
remember(struct cut_file *f, sqlite3_int64 off, sqlite3_int64 len)
{
	sqlite3_int64 size;
	struct undo *u;
	int rc;

	f->t->n_pending++;
	if ((rc = f->w.real->pMethods->xFileSize(f->w.real, &size)) != SQLITE_OK)
		return rc;
	if (off >= size || len <= 0)
		return SQLITE_OK;
	if (len > size - off)
		len = size - off;
	if ((u = malloc(sizeof(*u) + (size_t)len)) == NULL)
		return SQLITE_NOMEM;
	if ((rc = f->w.real->pMethods->xRead(f->w.real, u->data, (int)len, off)) !=
	    SQLITE_OK) {
		free(u);
		return rc;
	}
	u->off = off;
	u->len = (int)len;
	u->prev = f->t->log;
	f->t->log = u;
	return SQLITE_OK;
}

static int
cut_write(sqlite3_file *pf, const void *buf, int n, sqlite3_int64 off)
{
	struct cut_file *f = (struct cut_file *)pf;
	int rc;

	if (f->t == NULL)
		return f->w.real->pMethods->xWrite(f->w.real, buf, n, off);
	pthread_mutex_lock(&mu);
	if ((rc = remember(f, off, n)) == SQLITE_OK)
		rc = f->w.real->pMethods->xWrite(f->w.real, buf, n, off);
	pthread_mutex_unlock(&mu);
	return rc;
}

static int
cut_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
	struct cut_file *f = (struct cut_file *)pf;
	int rc;

	if (f->t == NULL)
		return f->w.real->pMethods->xTruncate(f->w.real, size);
	pthread_mutex_lock(&mu);
	if ((rc = remember(f, size, INT32_MAX)) == SQLITE_OK)
		rc = f->w.real->pMethods->xTruncate(f->w.real, size);
	pthread_mutex_unlock(&mu);
	return rc;
}

/* A successful sync makes everything written to that path so far durable. */
static int
cut_sync(sqlite3_file *pf, int flags)
{
	struct cut_file *f = (struct cut_file *)pf;
	sqlite3_int64 size;
	const char *base;
	char why[256];
	int rc;

	pthread_mutex_lock(&mu);
	n_syncs++;
	base = f->t != NULL ? strrchr(f->t->path, '/') : NULL;
	snprintf(why, sizeof(why), "%s sync %lu (%s)", cut_after_sync ? "after" :
	    "before", n_syncs, base != NULL ? base + 1 : "temp file");
	if (n_syncs == cut_at_sync && !cut_after_sync)
		cut(why);
	rc = f->w.real->pMethods->xSync(f->w.real, flags);
	if (rc == SQLITE_OK && f->t != NULL &&
	    f->w.real->pMethods->xFileSize(f->w.real, &size) == SQLITE_OK)
		forget(f->t, size);
	if (n_syncs == cut_at_sync)
		cut(why);
	pthread_mutex_unlock(&mu);
	return rc;
}

static struct track *
track_find(const char *path, int main_db)
{
	struct track *t;

	for (t = tracks; t != NULL; t = t->next)
		if (strcmp(t->path, path) == 0)
			return t;
	if ((t = calloc(1, sizeof(*t))) == NULL || (t->path = strdup(path)) == NULL) {
		free(t);
		return NULL;
	}
	t->main_db = main_db;
	t->synced_size = -1;
	t->next = tracks;
	tracks = t;
	return t;
}

/*
 * A file found on disk at open counts as synced as it is: it is what the last
 * cut (or clean shutdown) left.
 */
static int
cut_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags,
    int *oflags)
{
	struct cut_file *f = (struct cut_file *)pf;
	sqlite3_int64 size;
	int rc;

	(void)vfs;
	if ((rc = vfs_wrap_open(name, pf, sizeof(*f), &cut_io, flags, oflags)) !=
	    SQLITE_OK)
		return rc;
	if (name == NULL || (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_WAL |
	    SQLITE_OPEN_MAIN_JOURNAL)) == 0)
		return SQLITE_OK;
	pthread_mutex_lock(&mu);
	f->t = track_find(name, (flags & SQLITE_OPEN_MAIN_DB) != 0);
	if (f->t != NULL && f->t->synced_size < 0) {
		f->t->synced_size = 0;
		if (f->w.real->pMethods->xFileSize(f->w.real, &size) == SQLITE_OK)
			f->t->synced_size = size;
	}
	pthread_mutex_unlock(&mu);
	return f->t != NULL ? SQLITE_OK : SQLITE_NOMEM;
}

/*
 * unix's xDelete syncs the directory when asked; a deleted file is gone and
 * its pending writes with it.
 */
static int
cut_delete(sqlite3_vfs *vfs, const char *name, int dirsync)
{
	struct track *t;
	int rc;

	(void)vfs;
	pthread_mutex_lock(&mu);
	rc = vfs_wrap_unix->xDelete(vfs_wrap_unix, name, dirsync);
	for (t = tracks; t != NULL; t = t->next)
		if (strcmp(t->path, name) == 0) {
			forget(t, 0);
			t->synced_size = -1;
		}
	pthread_mutex_unlock(&mu);
	return rc;
}

static void *
timer(void *arg)
{
	struct timespec ts = { (time_t)(cut_ms / 1000), (long)(cut_ms % 1000) * 1000000 };
	char why[64];

	(void)arg;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
	pthread_mutex_lock(&mu);
	snprintf(why, sizeof(why), "at %lu ms", cut_ms);
	cut(why);
	return NULL;
}

/*
 * Interposed on the daemon's sqlite3_open_v2 (the preload comes first in the
 * symbol lookup): an auto extension cannot do this, since open sets the
 * default autocheckpoint after running them.
 */
int
sqlite3_open_v2(const char *name, sqlite3 **db, int flags, const char *vfs)
{
	int (*real)(const char *, sqlite3 **, int, const char *);
	const char *ckpt = getenv("WG_CUT_CHECKPOINT");
	int rc;

	*(void **)&real = dlsym(RTLD_NEXT, "sqlite3_open_v2");
	if (real == NULL)
		return SQLITE_ERROR;
	rc = real(name, db, flags, vfs);
	if (rc == SQLITE_OK && ckpt != NULL && atoi(ckpt) > 0)
		sqlite3_wal_autocheckpoint(*db, atoi(ckpt));
	return rc;
}

/*
 * The boot id (see the top): fopen is what the store reads it with; fopen64
 * is the same function under the large-file name.
 */
static FILE *
boot_fopen(const char *sym, const char *path, const char *mode)
{
	FILE *(*real)(const char *, const char *);
	const char *id = getenv("WG_CUT_BOOT_ID");

	if (id != NULL && path != NULL &&
	    strcmp(path, "/proc/sys/kernel/random/boot_id") == 0)
		return fmemopen((void *)id, strlen(id), "r");
	*(void **)&real = dlsym(RTLD_NEXT, sym);
	if (real == NULL) {
		errno = ENOSYS;
		return NULL;
	}
	return real(path, mode);
}

FILE *
fopen(const char *path, const char *mode)
{
	return boot_fopen("fopen", path, mode);
}

FILE *
fopen64(const char *path, const char *mode)
{
	return boot_fopen("fopen64", path, mode);
}

/*
 * Through vfs_wrap's iVersion 2 methods SQLite never reads through mmap:
 * every byte goes through xRead/xWrite, where the wrapper sees it.
 */
__attribute__((constructor)) static void
vfs_cut_init(void)
{
	const char *seed = getenv("WG_CUT_SEED");
	sigset_t all, old;
	pthread_t th;

	/* Everything else passes through to unix. */
	cut_io = (struct sqlite3_io_methods){ .xWrite = cut_write,
	    .xTruncate = cut_truncate, .xSync = cut_sync };
	cut_vfs = (sqlite3_vfs){ .xOpen = cut_open, .xDelete = cut_delete };
	if (vfs_wrap_register(&cut_vfs, &cut_io, "vfs_cut", sizeof(struct cut_file)) <
	    0) {
		dprintf(2, "vfs_cut: cannot register the VFS\n");
		_exit(99);
	}
	rng = (seed ? strtoull(seed, NULL, 10) : 1) * 0x9e3779b97f4a7c15ULL | 1;
	cut_ms = draw("WG_CUT_AFTER_MS");
	cut_at_sync = draw("WG_CUT_AFTER_SYNCS");
	cut_after_sync = (int)(rnd() & 1);
	if (cut_ms == 0)
		return;
	/* The timer thread takes no signal meant for the daemon (signalfd). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_create(&th, NULL, timer, NULL) != 0) {
		dprintf(2, "vfs_cut: cannot start the timer\n");
		_exit(99);
	}
	pthread_detach(th);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}
