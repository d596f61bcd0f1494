/*
 * Fault injection for the unit tests (faultinj.h): SQLite's allocator wrapped
 * through sqlite3_config, the daemon's own allocations through the linker's
 * --wrap, and a VFS around "unix" (tests/fixtures/vfs_wrap.h). One counter,
 * for the armed source; the tests are single-threaded, and so is the store.
 */
#include "tests/unit/faultinj.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "tests/fixtures/vfs_wrap.h"

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
 * The VFS: tests/fixtures/vfs_wrap.h over "unix", failing what is counted.
 * Unlocks (xUnlock, xShmLock with SQLITE_SHM_UNLOCK) are never failed:
 * SQLite ignores what they return, so a failed one leaves a lock held that
 * SQLite believes released, and the next lock waits on itself (WAL readers
 * retry for ~10 s, then SQLITE_PROTOCOL). On Linux an unlock of a valid
 * descriptor does not fail; that state tests the wrapper, not the store.
 */
static sqlite3_vfs fi_vfs;
static sqlite3_io_methods fi_io;

static int
f_read(sqlite3_file *pf, void *buf, int n, sqlite3_int64 off)
{
	int rc = vfs_fail(OP_READ);

	return rc ? rc : VFS_REAL(pf)->pMethods->xRead(VFS_REAL(pf), buf, n, off);
}

static int
f_write(sqlite3_file *pf, const void *buf, int n, sqlite3_int64 off)
{
	int rc = vfs_fail(OP_WRITE);

	return rc ? rc : VFS_REAL(pf)->pMethods->xWrite(VFS_REAL(pf), buf, n, off);
}

static int
f_truncate(sqlite3_file *pf, sqlite3_int64 size)
{
	int rc = vfs_fail(OP_TRUNCATE);

	return rc ? rc : VFS_REAL(pf)->pMethods->xTruncate(VFS_REAL(pf), size);
}

static int
f_sync(sqlite3_file *pf, int flags)
{
	int rc = vfs_fail(OP_SYNC);

	return rc ? rc : VFS_REAL(pf)->pMethods->xSync(VFS_REAL(pf), flags);
}

static int
f_size(sqlite3_file *pf, sqlite3_int64 *size)
{
	int rc = vfs_fail(OP_SIZE);

	return rc ? rc : VFS_REAL(pf)->pMethods->xFileSize(VFS_REAL(pf), size);
}

static int
f_lock(sqlite3_file *pf, int l)
{
	int rc = vfs_fail(OP_LOCK);

	return rc ? rc : VFS_REAL(pf)->pMethods->xLock(VFS_REAL(pf), l);
}

static int
f_reserved(sqlite3_file *pf, int *out)
{
	int rc = vfs_fail(OP_RESERVED);

	return rc ? rc : VFS_REAL(pf)->pMethods->xCheckReservedLock(VFS_REAL(pf), out);
}

static int
f_shm_map(sqlite3_file *pf, int pg, int pgsz, int extend, void volatile **p)
{
	int rc = vfs_fail(OP_SHM_MAP);

	return rc ? rc : VFS_REAL(pf)->pMethods->xShmMap(VFS_REAL(pf), pg, pgsz, extend,
	    p);
}

static int
f_shm_lock(sqlite3_file *pf, int off, int n, int flags)
{
	int rc = flags & SQLITE_SHM_UNLOCK ? 0 : vfs_fail(OP_SHM_LOCK);

	return rc ? rc : VFS_REAL(pf)->pMethods->xShmLock(VFS_REAL(pf), off, n, flags);
}

static int
v_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *pf, int flags, int *oflags)
{
	int rc;

	(void)vfs;
	if ((rc = vfs_fail(OP_OPEN)) != 0) {
		pf->pMethods = NULL;	/* SQLite then does not close it */
		return rc;
	}
	return vfs_wrap_open(name, pf, sizeof(struct vfs_wrap_file), &fi_io, flags,
	    oflags);
}

static int
v_delete(sqlite3_vfs *vfs, const char *name, int dirsync)
{
	int rc = vfs_fail(OP_DELETE);

	(void)vfs;
	return rc ? rc : vfs_wrap_unix->xDelete(vfs_wrap_unix, name, dirsync);
}

static int
v_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	int rc = vfs_fail(OP_ACCESS);

	(void)vfs;
	return rc ? rc : vfs_wrap_unix->xAccess(vfs_wrap_unix, name, flags, out);
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
	fi_io = (sqlite3_io_methods){ .xRead = f_read, .xWrite = f_write,
	    .xTruncate = f_truncate, .xSync = f_sync, .xFileSize = f_size,
	    .xLock = f_lock, .xCheckReservedLock = f_reserved,
	    .xShmMap = f_shm_map, .xShmLock = f_shm_lock };
	fi_vfs = (sqlite3_vfs){ .xOpen = v_open, .xDelete = v_delete,
	    .xAccess = v_access };
	return vfs_wrap_register(&fi_vfs, &fi_io, "faultinj",
	    sizeof(struct vfs_wrap_file));
}
