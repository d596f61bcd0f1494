/*
 * Fault injection for the store's unit tests, after SQLite's own test suite:
 * an allocator that fails the Nth allocation, once or from then on
 * (test/malloc_common.tcl, "transient" and "persistent"), and a VFS whose Nth
 * call returns an I/O error (the ioerr tests). Test-only: nothing here is
 * linked into the daemon, and the daemon has no hook for it.
 *
 * Three sources of faults, each with its own counter:
 *
 *   FI_SQLITE_MALLOC  SQLite's allocations: a wrapper around its default
 *                     methods, installed with sqlite3_config(SQLITE_CONFIG_MALLOC)
 *   FI_OWN_MALLOC     the daemon's own: malloc, calloc, realloc and strdup
 *                     called from any object linked statically into the test
 *                     binary (the store, base, codec), redirected here with
 *                     -Wl,--wrap (test_store_faults in tests/unit/core.cmake);
 *                     what shared libraries allocate (SQLite, libc inside
 *                     fopen) is not counted
 *   FI_VFS            every call of the VFS "faultinj", registered as the
 *                     default and wrapping "unix": file reads, writes,
 *                     truncates, syncs, sizes and locks (not unlocks: see
 *                     faultinj.c), and opens, deletes and access checks;
 *                     the Nth returns SQLITE_IOERR_<OP> (SQLITE_CANTOPEN for
 *                     an open), or SQLITE_FULL for a write or truncate with
 *                     fi_arm(..., FI_DISK_FULL)
 *
 * Disarmed, everything passes straight through and nothing is counted.
 */
#ifndef WG_TEST_FAULTINJ_H
#define WG_TEST_FAULTINJ_H

enum fi_source {
	FI_SQLITE_MALLOC,
	FI_OWN_MALLOC,
	FI_VFS,
	FI_SOURCES
};

/* How an armed fault behaves (flags). */
#define FI_PERSISTENT	1	/* the Nth call and every one after it fail */
#define FI_DISK_FULL	2	/* FI_VFS: writes and truncates fail with SQLITE_FULL;
				 * other calls are counted only */

/*
 * Install the allocator: before SQLite is initialised (before the first
 * sqlite3_open, sqlite3_initialize or sqlite3_vfs_find), since SQLite takes
 * its allocator only then. 0, or -1 if SQLite refused (already initialised).
 */
int fi_install_malloc(void);
/*
 * Register the VFS as the default, for every connection opened after it.
 * This initialises SQLite: call it after the code under test made its own
 * sqlite3_config() calls (the store's first open does, firmware/store/sq_open.c),
 * so the test runs with the same settings as the daemon. 0 or -1.
 */
int fi_install_vfs(void);

/*
 * Count calls of src from now on and fail the nth (1-based; 0: only count).
 * One source at a time: arming one disarms the others.
 */
void fi_arm(enum fi_source src, unsigned long nth, int flags);
/* Stop counting and failing; the counts stay readable until the next fi_arm. */
void fi_disarm(void);
/* Calls of the armed source since fi_arm, the failed ones included. */
unsigned long fi_calls(void);
/* Faults injected since fi_arm. */
unsigned long fi_fired(void);
/*
 * The FI_VFS calls since fi_arm by operation, "write=3 sync=1 ..." (those
 * with none left out), into buf.
 */
void fi_vfs_calls(char *buf, unsigned long len);

#endif
