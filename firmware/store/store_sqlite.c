/*
 * SQLite backend: WAL mode, one row per batch, one transaction per append.
 *
 * Why a row per batch and not per reading: a poll cycle is one INSERT of a ~100 B
 * compressed body instead of ~100 row inserts with their index updates, which is
 * what keeps bytes written to the SD card per reading low. seq is assigned here,
 * never twice, even after the table was emptied or a power cut (store_durable.c):
 * the receiver deduplicates on it.
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

#include "firmware/core/clock.h"
#include "firmware/store/store.h"
#include "firmware/store/store_durable.h"

#define ACKS_MAX 1024

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

struct sq {
	char path[PATH_MAX];
	char reserve[PATH_MAX + 16];
	sqlite3 *db;		/* NULL after a failed write: reopened on the next */
	sqlite3_stmt *ins, *peek, *peek_pending, *del, *del_range, *del_range_any, *seal, *thin,
	    *put_schema, *get_schema, *gc_schema, *stats;
	uint64_t last_seq;	/* the highest number handed out (seq_last of spans) */
	int unsynced;		/* store_sync normal: a commit not fsynced yet */
	uint8_t *body;		/* copy of the last peeked body */
	size_t body_cap;
	/*
	 * Acknowledged batches not deleted yet: the deletes ride in the next
	 * cycle's append transaction, so steady state costs one transaction (one
	 * WAL sync) per cycle, not two. A crash before then only means those
	 * batches are sent again, and the receiver drops them as duplicates.
	 */
	uint64_t acked[ACKS_MAX];
	size_t n_acked;
};

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
	DURABLE_SCHEMA;

static int sq_fail(struct store *s, const char *what);

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

/* -ENOSPC disk full, -EROFS read-only, else -EIO: the caller's policy differs. */
static int
sq_fail(struct store *s, const char *what)
{
	struct sq *q = s->priv;
	int e = q && q->db ? sqlite3_errcode(q->db) : SQLITE_NOMEM;
	int x = q && q->db ? sqlite3_system_errno(q->db) : 0;

	snprintf(s->err, sizeof(s->err), "store: %s: %s", what,
	    q && q->db ? sqlite3_errmsg(q->db) : "out of memory");
	if (e == SQLITE_FULL || x == ENOSPC)
		return -ENOSPC;
	if (e == SQLITE_READONLY || x == EROFS)
		return -EROFS;
	return -EIO;
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

static int
prepare(struct store *s, sqlite3_stmt **st, const char *sql)
{
	struct sq *q = s->priv;

	if (sqlite3_prepare_v3(q->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) !=
	    SQLITE_OK)
		return sq_fail(s, "prepare");
	return 0;
}

static void sq_close(struct store *s);
static int prepare_all(struct store *s);
static void take_reserve(struct sq *q);
static void release(struct sq *q);

/* Corruption, as opposed to I/O trouble or a full disk: only this is quarantined. */
static int
corrupt(sqlite3 *db)
{
	int e = db != NULL ? sqlite3_errcode(db) : SQLITE_OK;

	return e == SQLITE_CORRUPT || e == SQLITE_NOTADB;
}

/* Open, set up and check; on corruption *is_corrupt is set. */
static int
open_db(struct store *s, const char *path, int first, int *is_corrupt)
{
	struct sq *q = s->priv;
	sqlite3_stmt *st;
	int rc;

	*is_corrupt = 0;
	if (sqlite3_open_v2(path, &q->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(q->db, 2000);
	if (sqlite3_exec(q->db, schema_sql, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(q->db, s->opts.sync == STORE_SYNC_FULL ?
	    "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", NULL, NULL,
	    NULL) != SQLITE_OK)
		goto fail;
	/* quick_check reads every page once: a damaged card shows here, at start,
	 * not as a failed append in the middle of an outage. */
	if (sqlite3_prepare_v2(q->db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok")) {
		snprintf(s->err, sizeof(s->err), "store: %s: quick_check: %s", path,
		    rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) :
		    sqlite3_errmsg(q->db));
		sqlite3_finalize(st);
		*is_corrupt = 1;
		return -EIO;
	}
	sqlite3_finalize(st);
	if ((rc = migrate(s)) < 0)
		return rc;
	return first ? open_sequence(s) : 0;
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

static int
sq_open(struct store *s, const char *path)
{
	struct sq *q;
	int rc, is_corrupt;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -ENOMEM;
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
	if ((rc = open_db(s, path, 1, &is_corrupt)) < 0 && is_corrupt) {
		sqlite3_close(q->db);
		q->db = NULL;
		if ((rc = quarantine(s, path)) < 0) {
			snprintf(s->err, sizeof(s->err), "store: %s is corrupt and cannot be "
			    "moved aside: %s", path, strerror(-rc));
			goto fail;
		}
		rc = open_db(s, path, 1, &is_corrupt);
	}
	if (rc < 0 || (rc = prepare_all(s)) < 0)
		goto fail;
	take_reserve(q);
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
static void
release_failed(struct sq *q)
{
	int persist = 1;

	if (q->db != NULL)
		sqlite3_file_control(q->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	release(q);
}

/* Statements and connection go; the pending acks stay for the next open. */
static void
release(struct sq *q)
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
 * After a failed write the files are closed (see store.h); each later call
 * tries to open them again. A database that has turned corrupt meanwhile is
 * not quarantined here: the next start does that.
 */
static int
reopen(struct store *s)
{
	struct sq *q = s->priv;
	int rc, is_corrupt;

	if (q->db != NULL)
		return 0;
	if ((rc = open_db(s, q->path, 0, &is_corrupt)) < 0 ||
	    (rc = prepare_all(s)) < 0) {
		release(q);
		return rc;
	}
	return 0;
}

/* Best effort: without it a full disk can still be survived, only less well. */
static void
take_reserve(struct sq *q)
{
	int fd;

	if (access(q->reserve, F_OK) == 0)
		return;
	if ((fd = open(q->reserve, O_WRONLY | O_CREAT | O_CLOEXEC, 0640)) < 0)
		return;
	if (posix_fallocate(fd, 0, RESERVE_BYTES) != 0) {
		close(fd);
		unlink(q->reserve);
		return;
	}
	close(fd);
}


/* The pending deletes, inside the caller's transaction. */
static int
delete_acked(struct store *s)
{
	struct sq *q = s->priv;
	size_t i;
	int rc;

	for (i = 0; i < q->n_acked; i++) {
		sqlite3_bind_int64(q->del, 1, (sqlite3_int64)q->acked[i]);
		rc = sqlite3_step(q->del);
		sqlite3_reset(q->del);
		if (rc != SQLITE_DONE)
			return sq_fail(s, "ack");
	}
	return 0;
}

/* One row numbered seq (b->seq gets it); seq_last 0 means seq. */
static int
insert(struct store *s, struct store_batch *b, uint64_t seq, uint64_t seq_last)
{
	struct sq *q = s->priv;
	sqlite3_stmt *st = q->ins;
	int rc;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	if (seq_last > seq)
		sqlite3_bind_int64(st, 2, (sqlite3_int64)seq_last);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_int(st, 3, b->pending ? 1 : 0);
	sqlite3_bind_int64(st, 4, b->schema_id);
	sqlite3_bind_int(st, 5, b->flags);
	sqlite3_bind_int64(st, 6, b->t_first);
	sqlite3_bind_int64(st, 7, b->n_readings);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)b->raw_len);
	sqlite3_bind_blob(st, 9, b->body, (int)b->body_len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return sq_fail(s, "append");
	b->seq = seq;
	b->seq_last = seq_last > seq ? seq_last : seq;
	return 0;
}

/* Bind first, last to st and step it once. */
static int
range_step(struct store *s, sqlite3_stmt *st, uint64_t first, uint64_t last,
    const char *what)
{
	int rc;

	sqlite3_bind_int64(st, 1, (sqlite3_int64)first);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)last);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, what);
}

struct work {
	struct store_batch *b;	/* appended (or the merged batch) */
	size_t n;		/* appends: b[0..n) */
	uint64_t first, last;	/* merge: the pending batches it replaces */
	int merge;
	const struct store_batch *thin;	/* rewrite of batch first; */
	int drop;			/* or its delete */
};

static int
thin(struct store *s, uint64_t seq, const struct store_batch *b)
{
	struct sq *q = s->priv;
	sqlite3_stmt *st = q->thin;
	int rc;

	sqlite3_bind_int(st, 1, b->flags);
	sqlite3_bind_int64(st, 2, b->t_first);
	sqlite3_bind_int64(st, 3, b->n_readings);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)b->raw_len);
	sqlite3_bind_blob(st, 5, b->body, (int)b->body_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)seq);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, "rewrite");
}

/*
 * A store opened before the wall clock was valid with nothing ever numbered
 * (a new store on a board without RTC) starts at the wall clock once it is
 * valid, like one made with a valid clock (store_durable.c): the gateway
 * appends nothing before that (docs/clock.md).
 */
static uint64_t
next_seq(const struct sq *q)
{
	struct clock_pair now;

	if (q->last_seq != 0)
		return q->last_seq + 1;
	clock_read(&now);
	return clock_wall_valid(now.wall) ? (uint64_t)now.wall + 1 : 1;
}

/*
 * BEGIN, with the previous commit synced first under store_sync "normal": so
 * a power cut takes at most the last commit (store_durable.c).
 */
static int
begin(struct store *s)
{
	struct sq *q = s->priv;

	if (q->unsynced && durable_sync(q->db) < 0)
		return sq_fail(s, "sync");
	q->unsynced = 0;
	if (sqlite3_exec(q->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(s, "begin");
	return 0;
}

static int
commit(struct store *s, const char *what)
{
	struct sq *q = s->priv;

	if (sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(s, what);
	q->n_acked = 0;
	q->unsynced = s->opts.sync == STORE_SYNC_NORMAL;
	return 0;
}

/*
 * BEGIN; the pending deletes; the work; COMMIT — or ROLLBACK.
 *
 * Deletes first: in steady state the table holds just the batch acknowledged
 * since the last cycle. A body of 105 demo readings is ~270 B and two fit in
 * a 1 KiB page, but one over ~480 B (a bigger site, noisier values) does not:
 * inserted first, it would split the page and the delete merge it back,
 * several pages (WAL frames) per cycle instead of one.
 *
 * A transaction that appends nothing records how far numbering went (the
 * floor): the rows it deletes may have held the highest number. closing:
 * also mark the run as ended cleanly.
 */
static int
transaction(struct store *s, const struct work *w, int closing)
{
	struct sq *q = s->priv;
	uint64_t next = next_seq(q);
	size_t i;
	int rc;

	if ((rc = begin(s)) < 0)
		return rc;
	if ((rc = delete_acked(s)) < 0)
		goto rollback;
	if (w != NULL && w->thin != NULL)
		rc = thin(s, w->first, w->thin);
	else if (w != NULL && w->drop)
		rc = range_step(s, q->del_range_any, w->first, w->first, "evict");
	else if (w != NULL && w->merge && w->b == NULL)
		rc = range_step(s, q->seal, w->first, w->last, "seal");
	else if (w != NULL && w->merge) {
		if ((rc = range_step(s, q->del_range, w->first, w->last, "merge")) == 0)
			rc = insert(s, w->b, w->first, w->last);
	}
	else
		for (rc = 0, i = 0; w != NULL && i < w->n && rc == 0; i++)
			rc = insert(s, &w->b[i], next++, 0);
	if (rc < 0)
		goto rollback;
	if ((w == NULL || w->n == 0) && (closing ? durable_clean(q->db, q->last_seq) :
	    durable_floor(q->db, q->last_seq)) < 0) {
		rc = sq_fail(s, "sequence floor");
		goto rollback;
	}
	if ((rc = commit(s, "commit")) < 0)
		goto rollback;
	if (w != NULL && w->n > 0)
		q->last_seq = next - 1;
	return 0;
rollback:
	sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* A write: the files are opened again if a failed one closed them. */
static int
write_tx(struct store *s, const struct work *w)
{
	struct sq *q = s->priv;
	int rc;

	if ((rc = reopen(s)) < 0)
		return rc;
	if ((rc = transaction(s, w, 0)) < 0)
		release_failed(q);
	return rc;
}

static int
sq_append(struct store *s, struct store_batch *b, size_t n)
{
	struct work w = { .b = b, .n = n };

	return write_tx(s, &w);
}

static int
sq_rewrite(struct store *s, uint64_t seq, const struct store_batch *b)
{
	struct work w = { .first = seq, .thin = b, .drop = b == NULL };

	return write_tx(s, &w);
}

static int
sq_merge(struct store *s, uint64_t first, uint64_t last,
    struct store_batch *merged)
{
	struct work w = { .b = merged, .first = first, .last = last, .merge = 1 };

	if (merged != NULL)
		merged->pending = 0;
	return write_tx(s, &w);
}

static int
is_acked(const struct sq *q, uint64_t seq)
{
	size_t i;

	for (i = 0; i < q->n_acked; i++)
		if (q->acked[i] == seq)
			return 1;
	return 0;
}

/*
 * The oldest unacknowledged batches, until min_bytes of bodies: one SELECT
 * walks them in seq order, one DELETE takes them (and the pending acks) in
 * the same transaction. Then the reserve goes back to the file system for the
 * checkpoint that truncates the WAL, and is taken again.
 */
static int
sq_evict_oldest(struct store *s, uint64_t min_bytes, struct store_evicted *ev)
{
	struct sq *q = s->priv;
	sqlite3_stmt *st = NULL;
	uint64_t bytes = 0, last = 0;
	int rc;

	if ((rc = reopen(s)) < 0)
		return rc;
	unlink(q->reserve);
	if ((rc = begin(s)) < 0)
		goto out;
	if (min_bytes > 0) {
		if (sqlite3_prepare_v2(q->db, "SELECT seq, n_readings, length(body)"
		    " FROM batch ORDER BY seq", -1, &st, NULL) != SQLITE_OK) {
			rc = sq_fail(s, "evict");
			goto rollback;
		}
		while (bytes < min_bytes && sqlite3_step(st) == SQLITE_ROW) {
			last = (uint64_t)sqlite3_column_int64(st, 0);
			if (is_acked(q, last))
				continue;
			ev->batches++;
			ev->readings += (uint64_t)sqlite3_column_int64(st, 1);
			bytes += (uint64_t)sqlite3_column_int64(st, 2);
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	if (last > 0) {
		char sql[80];

		snprintf(sql, sizeof(sql), "DELETE FROM batch WHERE seq <= %llu",
		    (unsigned long long)last);
		if (sqlite3_exec(q->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
			rc = sq_fail(s, "evict");
			goto rollback;
		}
	}
	if ((rc = delete_acked(s)) < 0)
		goto rollback;
	if (durable_floor(q->db, q->last_seq) < 0) {
		rc = sq_fail(s, "sequence floor");
		goto rollback;
	}
	if ((rc = commit(s, "evict")) < 0)
		goto rollback;
	/* Not waiting for readers: the loop must not stall behind one. */
	sqlite3_busy_timeout(q->db, 0);
	rc = sqlite3_wal_checkpoint_v2(q->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
	    NULL);
	sqlite3_busy_timeout(q->db, 2000);
	if (rc != SQLITE_OK) {
		rc = sq_fail(s, "checkpoint");
		goto out;
	}
	rc = 0;
	goto out;
rollback:
	sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	ev->batches = ev->readings = 0;
out:
	if (rc < 0)
		release_failed(q);
	take_reserve(q);
	return rc;
}

static int
sq_peek(struct store *s, uint64_t after, int pending_only, struct store_batch *b)
{
	struct sq *q = s->priv;
	sqlite3_stmt *st = pending_only ? q->peek_pending : q->peek;
	const void *body;
	size_t len;
	int rc;

	if ((rc = reopen(s)) < 0)
		return rc;
again:
	sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && is_acked(q, (uint64_t)sqlite3_column_int64(st, 0))) {
		/* acknowledged, its delete still pending: not to be sent again */
		after = (uint64_t)sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		goto again;
	}
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return -ENOENT;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return sq_fail(s, "peek");
	}
	b->seq = (uint64_t)sqlite3_column_int64(st, 0);
	b->seq_last = (uint64_t)sqlite3_column_int64(st, 1);
	b->pending = (uint8_t)sqlite3_column_int(st, 2);
	b->schema_id = (uint32_t)sqlite3_column_int64(st, 3);
	b->flags = (uint8_t)sqlite3_column_int(st, 4);
	b->t_first = sqlite3_column_int64(st, 5);
	b->n_readings = (uint32_t)sqlite3_column_int64(st, 6);
	b->raw_len = (size_t)sqlite3_column_int64(st, 7);
	b->thinned = (uint8_t)sqlite3_column_int(st, 9);
	body = sqlite3_column_blob(st, 8);
	len = (size_t)sqlite3_column_bytes(st, 8);
	if (len > q->body_cap) {
		uint8_t *nb = realloc(q->body, len);

		if (nb == NULL) {
			sqlite3_reset(st);
			return -ENOMEM;
		}
		q->body = nb;
		q->body_cap = len;
	}
	if (len > 0)
		memcpy(q->body, body, len);
	b->body = q->body;
	b->body_len = len;
	sqlite3_reset(st);
	return 0;
}

static int
sq_ack(struct store *s, uint64_t seq)
{
	struct sq *q = s->priv;
	int rc;

	if (is_acked(q, seq))
		return 0;
	/* A long drain with no cycle in between: delete in a transaction of its own. */
	if (q->n_acked == ACKS_MAX && ((rc = reopen(s)) < 0 ||
	    (rc = transaction(s, NULL, 0)) < 0))
		return rc;
	q->acked[q->n_acked++] = seq;
	return 0;
}

/*
 * Stores the schema and drops those no stored batch refers to any more (the
 * current one is kept): schemas change only with the site config, so this runs
 * once per start and the table stays tiny.
 */
static int
sq_put_schema(struct store *s, uint32_t id, const char *json)
{
	struct sq *q = s->priv;
	int rc;

	if ((rc = reopen(s)) < 0)
		return rc;
	sqlite3_bind_int64(q->put_schema, 1, id);
	sqlite3_bind_text(q->put_schema, 2, json, -1, SQLITE_STATIC);
	rc = sqlite3_step(q->put_schema);
	sqlite3_reset(q->put_schema);
	sqlite3_clear_bindings(q->put_schema);
	if (rc != SQLITE_DONE)
		return sq_fail(s, "schema");
	sqlite3_bind_int64(q->gc_schema, 1, id);
	rc = sqlite3_step(q->gc_schema);
	sqlite3_reset(q->gc_schema);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, "schema cleanup");
}

static int
sq_get_schema(struct store *s, uint32_t id, char **json)
{
	struct sq *q = s->priv;
	int rc;

	if ((rc = reopen(s)) < 0)
		return rc;
	sqlite3_bind_int64(q->get_schema, 1, id);
	rc = sqlite3_step(q->get_schema);
	if (rc == SQLITE_ROW) {
		*json = strdup((const char *)sqlite3_column_text(q->get_schema, 0));
		sqlite3_reset(q->get_schema);
		return *json ? 0 : -ENOMEM;
	}
	sqlite3_reset(q->get_schema);
	return rc == SQLITE_DONE ? -ENOENT : sq_fail(s, "schema");
}

static int
sq_stats(struct store *s, struct store_stats *st)
{
	struct sq *q = s->priv;

	memset(st, 0, sizeof(*st));
	if (reopen(s) < 0)
		return -EAGAIN;
	if (sqlite3_step(q->stats) == SQLITE_ROW) {
		st->batches = (uint64_t)sqlite3_column_int64(q->stats, 0);
		st->readings = (uint64_t)sqlite3_column_int64(q->stats, 1);
		st->bytes = (uint64_t)sqlite3_column_int64(q->stats, 2);
		st->pending_readings = (uint64_t)sqlite3_column_int64(q->stats, 3);
		st->merged_readings = (uint64_t)sqlite3_column_int64(q->stats, 4);
	}
	sqlite3_reset(q->stats);
	st->next_seq = next_seq(q);
	st->last_seq = q->last_seq;
	return 0;
}

static void
sq_close(struct store *s)
{
	struct sq *q = s->priv;

	if (q == NULL)
		return;
	/* The pending deletes and the clean mark, synced: the next start skips nothing. */
	if (q->db != NULL && q->ins != NULL && transaction(s, NULL, 1) == 0)
		durable_sync(q->db);
	release(q);
	free(q->body);
	free(q);
}

/* ---- store_split (split.h): a separate block, its own statement ---------- */

/*
 * The span lo->seq..hi->seq_last goes and its two halves come, in one
 * transaction (with the pending deletes, like every write). The DELETE names
 * the span's exact seqs and that it was sent (not pending): if it was
 * acknowledged meanwhile (its delete just ran) nothing is inserted.
 */
static int
split_tx(struct store *s, struct store_batch *lo, struct store_batch *hi)
{
	struct sq *q = s->priv;
	sqlite3_stmt *del = NULL;
	int rc;

	if (sqlite3_prepare_v2(q->db, "DELETE FROM batch WHERE seq = ? AND"
	    " coalesce(seq_last, seq) = ? AND pending = 0", -1, &del, NULL) !=
	    SQLITE_OK)
		return sq_fail(s, "split");
	if ((rc = begin(s)) < 0)
		goto out;
	lo->pending = hi->pending = 0;
	if ((rc = delete_acked(s)) < 0 ||
	    (rc = range_step(s, del, lo->seq, hi->seq_last, "split")) < 0)
		goto rollback;
	if (sqlite3_changes(q->db) != 1) {
		snprintf(s->err, sizeof(s->err), "store: split: batch %llu..%llu is "
		    "not stored", (unsigned long long)lo->seq,
		    (unsigned long long)hi->seq_last);
		rc = -ENOENT;
		goto rollback;
	}
	if ((rc = insert(s, lo, lo->seq, lo->seq_last)) < 0 ||
	    (rc = insert(s, hi, hi->seq, hi->seq_last)) < 0 ||
	    (lo->thinned && (rc = thin(s, lo->seq, lo)) < 0) ||
	    (hi->thinned && (rc = thin(s, hi->seq, hi)) < 0) ||
	    (rc = commit(s, "split")) < 0)
		goto rollback;
	goto out;
rollback:
	sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
out:
	sqlite3_finalize(del);
	return rc;
}

static int
sq_split(struct store *s, struct store_batch *lo, struct store_batch *hi)
{
	struct sq *q = s->priv;
	int rc;

	if ((rc = reopen(s)) < 0)
		return rc;
	/* Nothing was wrong with the files, only that batch: keep them open. */
	if ((rc = split_tx(s, lo, hi)) < 0 && rc != -ENOENT)
		release_failed(q);
	return rc;
}

/* ---- end of store_split ----------------------------------------------------- */

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.append = sq_append,
	.evict_oldest = sq_evict_oldest,
	.peek = sq_peek,
	.merge = sq_merge,
	.rewrite = sq_rewrite,
	.split = sq_split,
	.ack = sq_ack,
	.put_schema = sq_put_schema,
	.get_schema = sq_get_schema,
	.stats = sq_stats,
	.close = sq_close,
};
