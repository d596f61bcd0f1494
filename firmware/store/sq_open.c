/*
 * SQLite backend, opening and recovery: the schema and its pragmas, the
 * migration of older stores, where numbering stands after a power cut, the
 * quarantine of a corrupt file, the prepared statements, the reopen after a
 * failed write and the reserve file that gets a full disk unstuck. All of it
 * runs at start or after a fault, never on the per-cycle path
 * (store_sqlite.c), so it lives apart from it; what both share is in
 * sq_internal.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "firmware/base/rfile.h"
#include "firmware/store/sq_internal.h"
#include "firmware/store/store.h"
#include "firmware/store/store_durable.h"

/*
 * A full disk locks a WAL store up completely: even a DELETE needs new WAL
 * frames (measured on a full tmpfs: SQLITE_FULL for INSERT and DELETE alike).
 * So a reserve file of this size is kept beside the database and released
 * when the disk is full: then the deletes commit and a TRUNCATE checkpoint
 * gives the WAL's space (up to ~1 MiB at 1 KiB pages) back; after that the
 * reserve is taken again.
 */
#define RESERVE_BYTES	(64 * 1024)
#define PEEK_COLUMNS	"seq, coalesce(seq_last, seq), pending, schema_id, flags," \
	" t_first, n_readings, raw_len, body, thinned"

/*
 * locking_mode=EXCLUSIVE before WAL mode: SQLite keeps the WAL index in the
 * heap instead of a mmap'd -shm file. That file's 2-3 pages were written back
 * every cycle, more than the cycle's own WAL frame (docs/flash.md). The price:
 * no other process can open the store while the daemon runs; SIGUSR1 logs
 * what it holds instead.
 *
 * synchronous=FULL for store_sync "full": a commit is on the card before the
 * batch can be sent. NORMAL for "normal": the commit is synced before the next
 * transaction instead (store_durable.c). Both are one fsync per cycle.
 */
static const char schema_sql[] =
	"PRAGMA page_size=1024;"
	"PRAGMA cache_size=-64;"	/* KiB, not 2 MB: docs/memory.md */
	"PRAGMA locking_mode=EXCLUSIVE;"
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE IF NOT EXISTS batch("
	" seq INTEGER PRIMARY KEY,"
	" seq_last INTEGER,"		/* NULL: seq */
	" pending INTEGER NOT NULL DEFAULT 0,"
	" thinned INTEGER NOT NULL DEFAULT 0,"
	" schema_id INTEGER NOT NULL,"
	" flags INTEGER NOT NULL,"
	" t_first INTEGER NOT NULL,"
	" n_readings INTEGER NOT NULL,"
	" raw_len INTEGER NOT NULL,"
	" body BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS schema("
	" id INTEGER PRIMARY KEY,"
	" json TEXT NOT NULL);"
	/* The drop ledger (sq_ledger.c); IF NOT EXISTS also adds it to a store
	 * made before it, at its first open by this build. */
	"CREATE TABLE IF NOT EXISTS drops("
	" cause TEXT PRIMARY KEY,"
	" batches INTEGER NOT NULL,"
	" readings INTEGER NOT NULL);"
	DURABLE_SCHEMA;


/*
 * A store written before batches could be merged lacks seq_last and pending:
 * added (after body, so reading them costs more there; such stores drain away).
 */
static int
migrate(struct store *s)
{
	struct sq *q = s->priv;
	sqlite3_stmt *st;

	if (sqlite3_prepare_v2(q->db, "SELECT thinned FROM batch", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_finalize(st);
		return 0;
	}
	if (sqlite3_exec(q->db, "ALTER TABLE batch ADD COLUMN seq_last INTEGER;"
	    "ALTER TABLE batch ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;"
	    "ALTER TABLE batch ADD COLUMN thinned INTEGER NOT NULL DEFAULT 0", NULL,
	    NULL, NULL) != SQLITE_OK)
		return sq_fail(s, "adding merge columns");
	return 0;
}

/*
 * Where numbering stands, with a skip after a power cut that may have cost one.
 * Only at the first open: a reopen after a failed write is the same run, whose
 * numbering is in memory (and a full disk would refuse the state write).
 */
static int
open_sequence(struct store *s)
{
	struct sq *q = s->priv;
	struct durable_open d;
	int rc;

	if ((rc = durable_open(q->db, s->opts.sync, &d, s->err, sizeof(s->err))) < 0)
		return rc;
	q->last_seq = d.last_seq;
	if (d.skipped != 0)
		snprintf(s->notice, sizeof(s->notice), "store: the last run may have lost "
		    "its last commit at a power cut; sequence number %llu skipped, so a "
		    "batch already sent is never numbered twice",
		    (unsigned long long)d.skipped);
	return 0;
}


static int
make_parent(const char *path)
{
	char dir[PATH_MAX];
	char *p;

	if (strlen(path) >= sizeof(dir))
		return -ENAMETOOLONG;
	strcpy(dir, path);
	if ((p = strrchr(dir, '/')) == NULL || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0750) == -1 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0750) == -1 && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * The store and its journals are the site's data: readable by the daemon's
 * user only, whatever the umask and the directory's mode. SQLite creates a
 * database 0644 less the umask and gives its -wal and -journal the
 * database's mode, so the database is made (or narrowed) here first: 0600.
 * A path that names anything but a regular file (a device, a FIFO) is
 * refused before SQLite writes journals beside it.
 */
static int
narrow(const char *path, int create, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc = 0;

	/* Looked at before it is opened: opening a device may do something. */
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "store: %.200s: %s, not a regular file", path,
		    rfile_kind(st.st_mode));
		return -EINVAL;
	}
	fd = open(path, O_RDWR | O_NONBLOCK | O_NOCTTY | O_CLOEXEC |
	    (create ? O_CREAT : 0), 0600);
	if (fd < 0) {
		if (!create && errno == ENOENT)
			return 0;
		rc = -errno;
		snprintf(err, errlen, "store: %.200s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "store: %.200s: %s", path, strerror(-rc));
	} else if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "store: %.200s: %s, not a regular file", path,
		    rfile_kind(st.st_mode));
		rc = -EINVAL;
	} else if ((st.st_mode & 077) != 0) {
		/* Not ours to narrow (EPERM): SQLite opens it or says why. */
		(void)fchmod(fd, st.st_mode & 0700);
	}
	close(fd);
	return rc;
}

static int
narrow_all(const char *path, char *err, size_t errlen)
{
	static const char *const sfx[] = { "-wal", "-journal", "-reserve" };
	char p[PATH_MAX];
	size_t i;
	int rc;

	if ((rc = narrow(path, 1, err, errlen)) < 0)
		return rc;
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		if (snprintf(p, sizeof(p), "%s%s", path, sfx[i]) >= (int)sizeof(p))
			return -ENAMETOOLONG;
		if ((rc = narrow(p, 0, err, errlen)) < 0)
			return rc;
	}
	return 0;
}

static int
prepare(struct store *s, sqlite3_stmt **st, const char *sql)
{
	struct sq *q = s->priv;

	if (sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) !=
	    SQLITE_OK)
		return sq_fail(s, "prepare");
	return 0;
}

static int prepare_all(struct store *s);

/* Corruption, as opposed to I/O trouble or a full disk: only this is quarantined. */
static int
corrupt(sqlite3 *db)
{
	int e = db != NULL ? sqlite3_errcode(db) : SQLITE_OK;

	return e == SQLITE_CORRUPT || e == SQLITE_NOTADB;
}

enum { CHECK_OK, CHECK_CORRUPT, CHECK_UNSURE, CHECK_FAILED };

/*
 * quick_check's verdict (its first finding into finding). Only what it finds
 * is corruption, and not all of it: a page it could not read for another
 * reason (no memory, an I/O error) is a finding too ("unable to get the
 * page. error code=7"), and so is every page behind that one ("never used").
 * Such a check proves nothing (CHECK_UNSURE), nor does one that could not run
 * (CHECK_FAILED, SQLite's error state says why): the store is kept and the
 * open fails, to be tried again. Moved aside, a healthy store's batches were
 * out of the daemon's reach for good.
 */
static int
quick_check(sqlite3_stmt *st, char *finding, size_t len)
{
	static const char unable[] = "unable to get the page. error code=";
	const char *row, *code;
	int rc, n = 0, unsure = 0, c;

	finding[0] = '\0';
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((row = (const char *)sqlite3_column_text(st, 0)) == NULL)
			return CHECK_FAILED;	/* no memory for the text */
		if (n++ == 0)
			snprintf(finding, len, "%s", row);
		if ((code = strstr(row, unable)) != NULL) {
			c = atoi(code + sizeof(unable) - 1) & 0xff;
			unsure |= c != SQLITE_CORRUPT && c != SQLITE_NOTADB;
		}
	}
	if (rc != SQLITE_DONE || n == 0)
		return CHECK_FAILED;
	if (n == 1 && strcmp(finding, "ok") == 0)
		return CHECK_OK;
	return unsure ? CHECK_UNSURE : CHECK_CORRUPT;
}

/*
 * The store's format, in SQLite's user_version: (the oldest format a reader
 * must understand) << 16 | (the format written). Both slots of an A/B
 * update share the store (docs/ota.md "The store across versions"): a new
 * image may add tables and columns an old one ignores (it raises the format
 * only), but a change an old image could not read raises the reader number,
 * and runs only once the new image is committed. An image that finds a
 * store it cannot read refuses it, and never quarantines it: the readings
 * in it are another image's to send.
 */
#define STORE_FORMAT	1
#define STORE_READER	1

static int
check_format(struct store *s, const char *path, int write)
{
	struct sq *q = s->priv;
	unsigned format, reader;
	sqlite3_stmt *st;
	char sql[64];
	int uv;

	if (sqlite3_prepare_v2(q->db, "PRAGMA user_version", -1, &st, NULL) !=
	    SQLITE_OK)
		return sq_fail(s, path);
	uv = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	if (uv < 0)
		return sq_fail(s, path);
	format = (unsigned)uv & 0xffff;
	reader = (unsigned)uv >> 16;
	if (reader > STORE_FORMAT) {
		snprintf(s->err, sizeof(s->err), "store: %.120s: format %u needs a "
		    "reader of format %u, this image reads %u: left as it is",
		    path, format, reader, STORE_FORMAT);
		return -EPROTO;
	}
	if (!write || (format >= STORE_FORMAT && reader >= STORE_READER))
		return 0;
	/* The reader number is raised by the migration that needs it, never
	 * here: such a migration runs only in a committed image. */
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%u", (reader > 0 ?
	    reader : STORE_READER) << 16 | (format > STORE_FORMAT ? format :
	    STORE_FORMAT));
	if (sqlite3_exec(q->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(s, path);
	return 0;
}

/* Whether open_db() has made its process-wide SQLite settings. */
static int sq_configured;

/* Open, set up and check; on corruption *is_corrupt is set. */
static int
open_db(struct store *s, const char *path, int first, int *is_corrupt)
{
	struct sq *q = s->priv;
	char finding[200];
	sqlite3_stmt *st;
	int rc;

	*is_corrupt = 0;
	/*
	 * No bulk page cache: each connection otherwise mallocs and keeps room
	 * for 20 pages up front (SQLITE_DEFAULT_PCACHE_INITSZ, ~23 KiB at 1 KiB
	 * pages), while a cycle uses 3-4 pages; pages are then malloc'd one by
	 * one as needed, still bounded by cache_size (docs/memory.md). Only
	 * possible before SQLite is initialised, i.e. before the first open:
	 * later calls fail harmlessly (SQLITE_MISUSE), so the result is not
	 * checked.
	 */
	if (!sq_configured) {
		sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
		sq_configured = 1;
	}
	if (sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(q->db, 2000);
	/* Read before anything is written (a new file's page size is set by
	 * schema_sql's first statement), written after. */
	if ((rc = check_format(s, path, 0)) < 0) {
		*is_corrupt = rc != -EPROTO && corrupt(q->db);
		return rc;
	}
	if (sqlite3_exec(q->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    check_format(s, path, 1) < 0 ||
	    sqlite3_exec(q->db, s->opts.sync == STORE_SYNC_FULL ?
	    "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", NULL, NULL,
	    NULL) != SQLITE_OK)
		goto fail;
	/* quick_check reads every page once: a damaged card shows here, at start,
	 * not as a failed append in the middle of an outage. */
	if (sqlite3_prepare_v2(q->db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	if ((rc = quick_check(st, finding, sizeof(finding))) != CHECK_OK) {
		snprintf(s->err, sizeof(s->err), "store: %s: quick_check: %s", path,
		    rc == CHECK_FAILED ? sqlite3_errmsg(q->db) : finding);
		*is_corrupt = rc == CHECK_CORRUPT ||
		    (rc == CHECK_FAILED && corrupt(q->db));
		sqlite3_finalize(st);
		return -EIO;
	}
	sqlite3_finalize(st);
	if ((rc = migrate(s)) < 0)
		return rc;
	if (!first)
		return 0;
	if ((rc = sq_ledger_load(s)) < 0)
		return rc;
	return open_sequence(s);
fail:
	*is_corrupt = corrupt(q->db);
	return sq_fail(s, path);
}

/*
 * A corrupt database is renamed, with its WAL, to PATH.corrupt-<unix time> for
 * forensics, and a fresh one takes its place: the daemon keeps polling and
 * storing instead of crash-looping on a file it cannot use. The caller raises
 * the alarm (store->alarm).
 */
static int
quarantine(struct store *s, const char *path)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char from[PATH_MAX], to[PATH_MAX + 32];
	long now = (long)time(NULL);
	size_t i;

	for (i = 0; i < 3; i++) {
		snprintf(from, sizeof(from), "%s%s", path, suffix[i]);
		snprintf(to, sizeof(to), "%s.corrupt-%ld%s", path, now, suffix[i]);
		if (rename(from, to) == -1 && errno != ENOENT)
			return -errno;
	}
	snprintf(s->alarm, sizeof(s->alarm), "%s; moved to %s.corrupt-%ld, started a "
	    "fresh store", s->err, path, now);
	return 0;
}

int
sq_open(struct store *s, const char *path)
{
	struct sq *q;
	int rc, is_corrupt;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		snprintf(s->err, sizeof(s->err), "store: %s: out of memory", path);
		return -ENOMEM;
	}
	s->priv = q;
	if (snprintf(q->path, sizeof(q->path), "%s", path) >= (int)sizeof(q->path)) {
		snprintf(s->err, sizeof(s->err), "store: %s: path too long", path);
		rc = -ENAMETOOLONG;
		goto fail;
	}
	snprintf(q->reserve, sizeof(q->reserve), "%s-reserve", path);
	if ((rc = make_parent(path)) < 0) {
		snprintf(s->err, sizeof(s->err), "store: %s: cannot create its directory: %s",
		    path, strerror(-rc));
		goto fail;
	}
	if ((rc = narrow_all(path, s->err, sizeof(s->err))) < 0)
		goto fail;
	if ((rc = open_db(s, path, 1, &is_corrupt)) < 0 && is_corrupt) {
		sqlite3_close(q->db);
		q->db = NULL;
		if ((rc = quarantine(s, path)) < 0) {
			snprintf(s->err, sizeof(s->err), "store: %s is corrupt and cannot be "
			    "moved aside: %s", path, strerror(-rc));
			goto fail;
		}
		/* The fresh store is private too. */
		if ((rc = narrow_all(path, s->err, sizeof(s->err))) < 0)
			goto fail;
		rc = open_db(s, path, 1, &is_corrupt);
	}
	if (rc < 0 || (rc = prepare_all(s)) < 0)
		goto fail;
	sq_take_reserve(q);
	return 0;
fail:
	sq_close(s);
	s->priv = NULL;
	return rc;
}

static int
prepare_all(struct store *s)
{
	struct sq *q = s->priv;
	int rc;

	if ((rc = prepare(s, &q->ins, "INSERT INTO batch(seq, seq_last, pending,"
	    " schema_id, flags, t_first, n_readings, raw_len, body)"
	    " VALUES(?,?,?,?,?,?,?,?,?)")) < 0 ||
	    (rc = prepare(s, &q->peek, "SELECT " PEEK_COLUMNS " FROM batch WHERE"
	    " seq > ? ORDER BY seq LIMIT 1")) < 0 ||
	    (rc = prepare(s, &q->peek_pending, "SELECT " PEEK_COLUMNS " FROM batch"
	    " WHERE seq > ? AND pending = 1 ORDER BY seq LIMIT 1")) < 0 ||
	    (rc = prepare(s, &q->del, "DELETE FROM batch WHERE seq = ?")) < 0 ||
	    (rc = prepare(s, &q->del_range, "DELETE FROM batch WHERE seq BETWEEN ?"
	    " AND ? AND pending = 1")) < 0 ||
	    (rc = prepare(s, &q->del_range_any, "DELETE FROM batch WHERE seq BETWEEN ?"
	    " AND ?")) < 0 ||
	    (rc = prepare(s, &q->thin, "UPDATE batch SET thinned = 1, flags = ?,"
	    " t_first = ?, n_readings = ?, raw_len = ?, body = ? WHERE seq = ?")) < 0 ||
	    (rc = prepare(s, &q->seal, "UPDATE batch SET pending = 0 WHERE seq BETWEEN"
	    " ? AND ? AND pending = 1")) < 0 ||
	    (rc = prepare(s, &q->put_schema, "INSERT OR IGNORE INTO schema(id, json)"
	    " VALUES(?,?)")) < 0 ||
	    (rc = prepare(s, &q->get_schema, "SELECT json FROM schema WHERE id = ?")) < 0 ||
	    (rc = prepare(s, &q->gc_schema, "DELETE FROM schema WHERE id <> ? AND id NOT IN"
	    " (SELECT DISTINCT schema_id FROM batch)")) < 0 ||
	    (rc = prepare(s, &q->stats, "SELECT count(*), coalesce(sum(n_readings),0),"
	    " coalesce(sum(length(body)),0), coalesce(sum(n_readings * pending),0),"
	    " coalesce(sum(n_readings * (seq_last > seq)),0) FROM batch")) < 0)
		return rc;
	return 0;
}
/*
 * After a failed write the connection goes, but the WAL and -shm files stay
 * (at a clean close SQLite deletes them): recreating them is one more thing a
 * full disk can refuse, and a deleted -shm that a reader still holds keeps the
 * file system from being remounted read-only.
 */
void
sq_release_failed(struct sq *q)
{
	int persist = 1;

	if (q->db != NULL)
		sqlite3_file_control(q->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	sq_release(q);
}

/* Statements and connection go; the pending acks stay for the next open. */
void
sq_release(struct sq *q)
{
	sqlite3_stmt **st[] = { &q->ins, &q->peek, &q->peek_pending, &q->del,
	    &q->del_range, &q->del_range_any, &q->seal, &q->thin, &q->put_schema,
	    &q->get_schema, &q->gc_schema, &q->stats };
	size_t i;

	for (i = 0; i < sizeof(st) / sizeof(st[0]); i++) {
		sqlite3_finalize(*st[i]);
		*st[i] = NULL;
	}
	sqlite3_close(q->db);
	q->db = NULL;
}

/*
 * A COMMIT that failed may have reached the disk all the same: in WAL mode
 * SQLite writes a transaction's frames, commit mark last, and then (store_sync
 * full) syncs them. A failed sync fails the COMMIT and the connection forgets
 * the transaction, but its frames are in the WAL, and the reopen's recovery
 * reads them back: the transaction happened after all. Its caller was told it
 * did not.
 *
 * Batches numbered past last_seq can only come from such an append. Its
 * caller holds the cycle and commits it again (hold.c), so they go here,
 * before anything can send them: kept, they were the same readings twice
 * under two seqs, and the next append collided with them on its seq at every
 * cycle until a restart. Checked before deleting: a reopen on a file system
 * gone read-only must still be able to read. What the same transaction wrote
 * to the drop ledger stays written (sq_ledger_reconcile).
 */
static int
reconcile(struct store *s)
{
	struct sq *q = s->priv;
	sqlite3_stmt *st;
	int rc, rows;

	if (sqlite3_prepare_v2(q->db, "SELECT 1 FROM batch WHERE seq > ? LIMIT 1", -1,
	    &st, NULL) != SQLITE_OK)
		return sq_fail(s, "reopen");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)q->last_seq);
	rows = (rc = sqlite3_step(st)) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return sq_fail(s, "reopen");
	if (rows && (rc = sq_range_step(s, q->del_range_any, q->last_seq + 1,
	    INT64_MAX, "reopen: undoing a failed commit")) < 0)
		return rc;
	return sq_ledger_reconcile(s);
}

/*
 * After a failed write the files are closed (see store.h); each later call
 * tries to open them again. A database that has turned corrupt meanwhile is
 * not quarantined here: the next start does that.
 */
int
sq_reopen(struct store *s)
{
	struct sq *q = s->priv;
	int rc, is_corrupt;

	if (q->db != NULL)
		return 0;
	if ((rc = open_db(s, q->path, 0, &is_corrupt)) < 0 ||
	    (rc = prepare_all(s)) < 0 || (rc = reconcile(s)) < 0) {
		sq_release(q);
		return rc;
	}
	return 0;
}

/* Best effort: without it a full disk can still be survived, only less well. */
void
sq_take_reserve(struct sq *q)
{
	int fd;

	if (access(q->reserve, F_OK) == 0)
		return;
	if ((fd = open(q->reserve, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return;
	if (posix_fallocate(fd, 0, RESERVE_BYTES) != 0) {
		close(fd);
		unlink(q->reserve);
		return;
	}
	close(fd);
}

