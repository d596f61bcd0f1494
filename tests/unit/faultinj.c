/*
 * Fault injection for the unit tests (faultinj.h): SQLite's allocator wrapped
 * through sqlite3_config, the daemon's own allocations through the linker's
 * --wrap, and a VFS around "unix". One counter, for the armed source; the
 * tests are single-threaded, and so is the store.
 */
#include "tests/unit/faultinj.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

enum op {
	OP_OPEN, OP_DELETE, OP_ACCESS, OP_READ, OP_WRITE, OP_TRUNCATE, OP_SYNC,
	OP_SIZE, OP_LOCK, OP_RESERVED, OP_SHM_MAP, OP_SHM_LOCK, OPS
};

static const struct {
	const char *name;
	int err;
} ops[OPS] = {
	[OP_OPEN] = { "open", SQLITE_CANTOPEN },
	[OP_DELETE] = { "delete", SQLITE_IOERR_DELETE },
	[OP_ACCESS] = { "access", SQLITE_IOERR_ACCESS },
	[OP_READ] = { "read", SQLITE_IOERR_READ },
	[OP_WRITE] = { "write", SQLITE_IOERR_WRITE },
	[OP_TRUNCATE] = { "truncate", SQLITE_IOERR_TRUNCATE },
	[OP_SYNC] = { "sync", SQLITE_IOERR_FSYNC },
	[OP_SIZE] = { "filesize", SQLITE_IOERR_FSTAT },
	[OP_LOCK] = { "lock", SQLITE_IOERR_LOCK },
	[OP_RESERVED] = { "reserved", SQLITE_IOERR_CHECKRESERVEDLOCK },
	[OP_SHM_MAP] = { "shm_map", SQLITE_IOERR_SHMMAP },
	[OP_SHM_LOCK] = { "shm_lock", SQLITE_IOERR_SHMLOCK },
};

static struct {
	int armed;
	enum fi_source src;
	unsigned long nth, calls, fired;
	int flags;
	unsigned long op_calls[OPS];
} fi;

/* Count a call of src; 1 if it is to fail. */
static int
fail(enum fi_source src)
{
	if (!fi.armed || fi.src != src)
		return 0;
	fi.calls++;
	if (fi.nth == 0 || fi.calls < fi.nth ||
	    (fi.calls > fi.nth && !(fi.flags & FI_PERSISTENT)))
		return 0;
	fi.fired++;
	return 1;
}

/*
 * A VFS call: 0 to go through, else the error to return. Under FI_DISK_FULL
 * only writes and truncates count (and fail with SQLITE_FULL).
 */
static int
vfs_fail(enum op op)
{
	int full = fi.flags & FI_DISK_FULL;

	if (!fi.armed || fi.src != FI_VFS ||
	    (full && op != OP_WRITE && op != OP_TRUNCATE))
		return 0;
	fi.op_calls[op]++;
	if (!fail(FI_VFS))
		return 0;
	return full ? SQLITE_FULL : ops[op].err;
}

void
fi_arm(enum fi_source src, unsigned long nth, int flags)
{
	memset(&fi, 0, sizeof(fi));
	fi.src = src;
	fi.nth = nth;
	fi.flags = flags;
	fi.armed = 1;
}

void
fi_disarm(void)
{
	fi.armed = 0;
}

unsigned long
fi_calls(void)
{
	return fi.calls;
}

unsigned long
fi_fired(void)
{
	return fi.fired;
}

const char *
fi_source_name(enum fi_source src)
{
	static const char *const name[FI_SOURCES] = {
		[FI_SQLITE_MALLOC] = "sqlite_malloc",
		[FI_OWN_MALLOC] = "own_malloc",
		[FI_VFS] = "vfs",
	};

	return (unsigned)src < FI_SOURCES ? name[src] : "?";
}

void
fi_vfs_calls(char *buf, unsigned long len)
{
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < OPS && used < len; i++)
		if (fi.op_calls[i] > 0)
			used += (size_t)snprintf(buf + used, len - used, "%s%s=%lu",
			    used > 0 ? " " : "", ops[i].name, fi.op_calls[i]);
}

/* SQLite's allocator: its default methods, each allocation counted first. */
static sqlite3_mem_methods real_mem;

static void *
sq_malloc(int n)
{
	return fail(FI_SQLITE_MALLOC) ? NULL : real_mem.xMalloc(n);
}

static void
sq_free(void *p)
{
	real_mem.xFree(p);
}

static void *
sq_realloc(void *p, int n)
{
	return fail(FI_SQLITE_MALLOC) ? NULL : real_mem.xRealloc(p, n);
}

static int
sq_size(void *p)
{
	return real_mem.xSize(p);
}

static int
sq_roundup(int n)
{
	return real_mem.xRoundup(n);
}

static int
sq_init(void *app)
{
	(void)app;
	return real_mem.xInit(real_mem.pAppData);
}

static void
sq_shutdown(void *app)
{
	(void)app;
	real_mem.xShutdown(real_mem.pAppData);
}

/*
 * The daemon's own allocations: the linker sends every call to malloc,
 * calloc, realloc and strdup from the test binary's own objects here
 * (-Wl,--wrap=malloc,...), and __real_X is the C library's X.
 */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);

static int
own_fail(void)
{
	if (!fail(FI_OWN_MALLOC))
		return 0;
	errno = ENOMEM;
	return 1;
}

void *
__wrap_malloc(size_t n)
{
	return own_fail() ? NULL : __real_malloc(n);
}

void *
__wrap_calloc(size_t n, size_t size)
{
	return own_fail() ? NULL : __real_calloc(n, size);
}

void *
__wrap_realloc(void *p, size_t n)
{
	return own_fail() ? NULL : __real_realloc(p, n);
}

char *
__wrap_strdup(const char *s)
{
	return own_fail() ? NULL : __real_strdup(s);
}

/*
 * The VFS: "unix" underneath, right after our part of each file. Unlocks
 * (xUnlock, xShmLock with SQLITE_SHM_UNLOCK) are never failed: SQLite ignores
 * what they return, so a failed one leaves a lock held that SQLite believes
 * released, and the next lock waits on itself (WAL readers retry for ~10 s,
 * then SQLITE_PROTOCOL). On Linux an unlock of a valid descriptor does not
 * fail; that state tests the wrapper, not the store.
 */
struct fi_file {
	sqlite3_file base;
	sqlite3_file *real;
};

static sqlite3_vfs *real_vfs;
static sqlite3_vfs fi_vfs;
static sqlite3_io_methods fi_io;

#define REAL(pf)	(((struct fi_file *)(pf))->real)

static int
f_close(sqlite3_file *pf)
{
	return REAL(pf)->pMethods->xClose(REAL(pf));
}

static int
f_read(sqlite3_file *pf, void *buf, int n, sqlite3_int64 off)
{
	int rc = vfs_fail(OP_READ);

	return rc ? rc : REAL(pf)->pMethods->xRead(REAL(pf), buf, n, off);
}

static int
f_write(sqlite3_file *pf, const void *buf, int n, sqlite3_int64 off)
{
	int rc = vfs_fail(OP_WRITE);

	return rc ? rc : REAL(pf)->pMethods->xWrite(REAL(pf), buf, n, off);
}

static int
f_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
	int rc = vfs_fail(OP_TRUNCATE);

	return rc ? rc : REAL(pf)->pMethods->xTruncate(REAL(pf), size);
}

static int
f_sync(sqlite3_file *pf, int flags)
{
	int rc = vfs_fail(OP_SYNC);

	return rc ? rc : REAL(pf)->pMethods->xSync(REAL(pf), flags);
}

static int
f_size(sqlite3_file *pf, sqlite3_int64 *size)
{
	int rc = vfs_fail(OP_SIZE);

	return rc ? rc : REAL(pf)->pMethods->xFileSize(REAL(pf), size);
}

static int
f_lock(sqlite3_file *pf, int l)
{
	int rc = vfs_fail(OP_LOCK);

	return rc ? rc : REAL(pf)->pMethods->xLock(REAL(pf), l);
}

static int
f_unlock(sqlite3_file *pf, int l)
{
	return REAL(pf)->pMethods->xUnlock(REAL(pf), l);
}

static int
f_reserved(sqlite3_file *pf, int *out)
{
	int rc = vfs_fail(OP_RESERVED);

	return rc ? rc : REAL(pf)->pMethods->xCheckReservedLock(REAL(pf), out);
}

static int
f_fcntl(sqlite3_file *pf, int op, void *arg)
{
	return REAL(pf)->pMethods->xFileControl(REAL(pf), op, arg);
}

static int
f_sector(sqlite3_file *pf)
{
	return REAL(pf)->pMethods->xSectorSize(REAL(pf));
}

static int
f_devchar(sqlite3_file *pf)
{
	return REAL(pf)->pMethods->xDeviceCharacteristics(REAL(pf));
}

static int
f_shm_map(sqlite3_file *pf, int pg, int pgsz, int extend, void volatile **p)
{
	int rc = vfs_fail(OP_SHM_MAP);

	return rc ? rc : REAL(pf)->pMethods->xShmMap(REAL(pf), pg, pgsz, extend, p);
}

static int
f_shm_lock(sqlite3_file *pf, int off, int n, int flags)
{
	int rc = flags & SQLITE_SHM_UNLOCK ? 0 : vfs_fail(OP_SHM_LOCK);

	return rc ? rc : REAL(pf)->pMethods->xShmLock(REAL(pf), off, n, flags);
}

static void
f_shm_barrier(sqlite3_file *pf)
{
	REAL(pf)->pMethods->xShmBarrier(REAL(pf));
}

static int
f_shm_unmap(sqlite3_file *pf, int del)
{
	return REAL(pf)->pMethods->xShmUnmap(REAL(pf), del);
}

/* A failed open leaves pMethods NULL: SQLite then does not close the file. */
static int
v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags, int *oflags)
{
	struct fi_file *f = (struct fi_file *)pf;
	int rc;

	(void)vfs;
	memset(f, 0, sizeof(*f));
	if ((rc = vfs_fail(OP_OPEN)) != 0)
		return rc;
	f->real = (sqlite3_file *)(f + 1);
	if ((rc = real_vfs->xOpen(real_vfs, name, f->real, flags, oflags)) != SQLITE_OK)
		return rc;
	f->base.pMethods = &fi_io;
	return SQLITE_OK;
}

static int
v_delete(sqlite3_vfs *vfs, const char *name, int dirsync)
{
	int rc = vfs_fail(OP_DELETE);

	(void)vfs;
	return rc ? rc : real_vfs->xDelete(real_vfs, name, dirsync);
}

static int
v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	int rc = vfs_fail(OP_ACCESS);

	(void)vfs;
	return rc ? rc : real_vfs->xAccess(real_vfs, name, flags, out);
}

int
fi_install_malloc(void)
{
	static sqlite3_mem_methods mem = { sq_malloc, sq_free, sq_realloc, sq_size,
	    sq_roundup, sq_init, sq_shutdown, NULL };

	if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &real_mem) != SQLITE_OK ||
	    sqlite3_config(SQLITE_CONFIG_MALLOC, &mem) != SQLITE_OK)
		return -1;
	return 0;
}

int
fi_install_vfs(void)
{
	if ((real_vfs = sqlite3_vfs_find("unix")) == NULL)
		return -1;
	/*
	 * iVersion 2 methods: no xFetch, so SQLite never reads through mmap
	 * and every byte goes through xRead and xWrite, where faults fall.
	 */
	fi_io = (sqlite3_io_methods){ 2, f_close, f_read, f_write, f_truncate,
	    f_sync, f_size, f_lock, f_unlock, f_reserved, f_fcntl, f_sector,
	    f_devchar, f_shm_map, f_shm_lock, f_shm_barrier, f_shm_unmap, NULL,
	    NULL };
	/* The rest (full path names, randomness, time) is unix's, with its pAppData. */
	fi_vfs = *real_vfs;
	fi_vfs.zName = "faultinj";
	fi_vfs.szOsFile = (int)sizeof(struct fi_file) + real_vfs->szOsFile;
	fi_vfs.xOpen = v_open;
	fi_vfs.xDelete = v_delete;
	fi_vfs.xAccess = v_access;
	fi_vfs.pNext = NULL;
	return sqlite3_vfs_register(&fi_vfs, 1) == SQLITE_OK ? 0 : -1;
}
