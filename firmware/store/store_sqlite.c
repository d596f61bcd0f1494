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
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "firmware/store/store.h"
#include "firmware/store/store_durable.h"

#define ACKS_MAX 1024

struct sq {
	sqlite3 *db;
	sqlite3_stmt *ins, *peek, *del, *put_schema, *get_schema, *gc_schema, *stats;
	uint64_t last_seq;	/* the highest number handed out */
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
 * synchronous=FULL for store_sync "full": a commit is on the card before the
 * batch can be sent. NORMAL for "normal": the commit is synced before the next
 * transaction instead (store_durable.c). Both are one fsync per cycle.
 */
static const char schema_sql[] =
	"PRAGMA page_size=1024;"
	"PRAGMA journal_mode=WAL;"
	"CREATE TABLE IF NOT EXISTS batch("
	" seq INTEGER PRIMARY KEY,"
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

static int
sq_fail(struct store *s, const char *what)
{
	struct sq *q = s->priv;

	snprintf(s->err, sizeof(s->err), "store: %s: %s", what,
	    q && q->db ? sqlite3_errmsg(q->db) : "out of memory");
	return -EIO;
}

/* mkdir -p of the database's directory: a fresh board has no state dir yet. */
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

/* Corruption, as opposed to I/O trouble or a full disk: only this is quarantined. */
static int
corrupt(sqlite3 *db)
{
	int e = db != NULL ? sqlite3_errcode(db) : SQLITE_OK;

	return e == SQLITE_CORRUPT || e == SQLITE_NOTADB;
}

/* Where numbering stands, with a skip after a power cut that may have cost one. */
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

/* Open, set up and check; on corruption *is_corrupt is set. */
static int
open_db(struct store *s, const char *path, int *is_corrupt)
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

static int
sq_open(struct store *s, const char *path)
{
	struct sq *q;
	int rc, is_corrupt;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -ENOMEM;
	s->priv = q;
	if ((rc = make_parent(path)) < 0) {
		snprintf(s->err, sizeof(s->err), "store: %s: cannot create its directory: %s",
		    path, strerror(-rc));
		goto fail;
	}
	if ((rc = open_db(s, path, &is_corrupt)) < 0 && is_corrupt) {
		sqlite3_close(q->db);
		q->db = NULL;
		if ((rc = quarantine(s, path)) < 0) {
			snprintf(s->err, sizeof(s->err), "store: %s is corrupt and cannot be "
			    "moved aside: %s", path, strerror(-rc));
			goto fail;
		}
		rc = open_db(s, path, &is_corrupt);
	}
	if (rc < 0)
		goto fail;
	if ((rc = prepare(s, &q->ins, "INSERT INTO batch(seq, schema_id, flags, t_first,"
	    " n_readings, raw_len, body) VALUES(?,?,?,?,?,?,?)")) < 0 ||
	    (rc = prepare(s, &q->peek, "SELECT seq, schema_id, flags, t_first, n_readings,"
	    " raw_len, body FROM batch WHERE seq > ? ORDER BY seq LIMIT 1")) < 0 ||
	    (rc = prepare(s, &q->del, "DELETE FROM batch WHERE seq = ?")) < 0 ||
	    (rc = prepare(s, &q->put_schema, "INSERT OR IGNORE INTO schema(id, json)"
	    " VALUES(?,?)")) < 0 ||
	    (rc = prepare(s, &q->get_schema, "SELECT json FROM schema WHERE id = ?")) < 0 ||
	    (rc = prepare(s, &q->gc_schema, "DELETE FROM schema WHERE id <> ? AND id NOT IN"
	    " (SELECT DISTINCT schema_id FROM batch)")) < 0 ||
	    (rc = prepare(s, &q->stats, "SELECT count(*), coalesce(sum(n_readings),0),"
	    " coalesce(sum(length(body)),0) FROM batch")) < 0)
		goto fail;
	return 0;
fail:
	sq_close(s);
	s->priv = NULL;
	return rc;
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

/*
 * BEGIN; the pending deletes; the append (if any); COMMIT — or ROLLBACK.
 *
 * Deletes first: in steady state the table holds just the batch acknowledged
 * since the last cycle. A body of 105 demo readings is ~270 B and two fit in
 * a 1 KiB page, but one over ~480 B (a bigger site, noisier values) does not:
 * inserted first, it would split the page and the delete merge it back,
 * several pages (WAL frames) per cycle instead of one.
 *
 * With store_sync "normal" the previous commit is fsynced here, before this
 * one writes: so a power cut takes at most the last commit (store_durable.c).
 * closing: also mark the run as ended cleanly.
 */
static int
transaction(struct store *s, struct store_batch *b, int closing)
{
	struct sq *q = s->priv;
	int rc;

	if (q->unsynced && durable_sync(q->db) < 0)
		return sq_fail(s, "sync");
	q->unsynced = 0;
	if (sqlite3_exec(q->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(s, "begin");
	if ((rc = delete_acked(s)) < 0)
		goto rollback;
	if (b != NULL) {
		sqlite3_stmt *st = q->ins;

		sqlite3_bind_int64(st, 1, (sqlite3_int64)(q->last_seq + 1));
		sqlite3_bind_int64(st, 2, b->schema_id);
		sqlite3_bind_int(st, 3, b->flags);
		sqlite3_bind_int64(st, 4, b->t_first);
		sqlite3_bind_int64(st, 5, b->n_readings);
		sqlite3_bind_int64(st, 6, (sqlite3_int64)b->raw_len);
		sqlite3_bind_blob(st, 7, b->body, (int)b->body_len, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		if (rc != SQLITE_DONE) {
			rc = sq_fail(s, "append");
			goto rollback;
		}
	} else if (closing || q->n_acked > 0) {
		/* No new row says how far numbering went: the floor does. */
		if ((closing ? durable_clean(q->db, q->last_seq) :
		    durable_floor(q->db, q->last_seq)) < 0) {
			rc = sq_fail(s, "sequence floor");
			goto rollback;
		}
	}
	if (sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		rc = sq_fail(s, "commit");
		goto rollback;
	}
	if (b != NULL)
		b->seq = ++q->last_seq;
	q->n_acked = 0;
	q->unsynced = s->opts.sync == STORE_SYNC_NORMAL;
	return 0;
rollback:
	sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static int
sq_append(struct store *s, struct store_batch *b)
{
	return transaction(s, b, 0);
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

static int
sq_peek(struct store *s, uint64_t after, struct store_batch *b)
{
	struct sq *q = s->priv;
	sqlite3_stmt *st = q->peek;
	const void *body;
	size_t len;
	int rc;

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
	b->schema_id = (uint32_t)sqlite3_column_int64(st, 1);
	b->flags = (uint8_t)sqlite3_column_int(st, 2);
	b->t_first = sqlite3_column_int64(st, 3);
	b->n_readings = (uint32_t)sqlite3_column_int64(st, 4);
	b->raw_len = (size_t)sqlite3_column_int64(st, 5);
	body = sqlite3_column_blob(st, 6);
	len = (size_t)sqlite3_column_bytes(st, 6);
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
	if (q->n_acked == ACKS_MAX && (rc = transaction(s, NULL, 0)) < 0)
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
	if (sqlite3_step(q->stats) == SQLITE_ROW) {
		st->batches = (uint64_t)sqlite3_column_int64(q->stats, 0);
		st->readings = (uint64_t)sqlite3_column_int64(q->stats, 1);
		st->bytes = (uint64_t)sqlite3_column_int64(q->stats, 2);
	}
	sqlite3_reset(q->stats);
	st->next_seq = q->last_seq + 1;
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
	sqlite3_finalize(q->ins);
	sqlite3_finalize(q->peek);
	sqlite3_finalize(q->del);
	sqlite3_finalize(q->put_schema);
	sqlite3_finalize(q->get_schema);
	sqlite3_finalize(q->gc_schema);
	sqlite3_finalize(q->stats);
	sqlite3_close(q->db);
	free(q->body);
	free(q);
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.append = sq_append,
	.peek = sq_peek,
	.ack = sq_ack,
	.put_schema = sq_put_schema,
	.get_schema = sq_get_schema,
	.stats = sq_stats,
	.close = sq_close,
};
