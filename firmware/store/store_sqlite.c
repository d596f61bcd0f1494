/*
 * SQLite backend: WAL mode, one row per batch, one transaction per append.
 *
 * Why a row per batch and not per reading: a poll cycle is one INSERT of a ~100 B
 * compressed body instead of ~100 row inserts with their index updates, which is
 * what keeps bytes written to the SD card per reading low. seq is assigned here,
 * never twice, even after the table was emptied or a power cut (store_durable.c):
 * the receiver deduplicates on it.
 *
 * This file holds the per-cycle path (append, peek, ack, stats, close, the
 * one transaction they share) and the ops table; opening and recovery are in
 * sq_open.c, eviction in sq_evict.c, the split of a span in sq_split.c, and
 * sq_internal.h has what they share.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/base/clock.h"
#include "firmware/store/sq_internal.h"
#include "firmware/store/store.h"
#include "firmware/store/store_durable.h"

/* -ENOSPC disk full, -EROFS read-only, else -EIO: the caller's policy differs. */
int
sq_fail(struct store *s, const char *what)
{
	struct sq *q = s->priv;
	int e = q && q->db ? sqlite3_errcode(q->db) : SQLITE_NOMEM;
	int x = q && q->db ? sqlite3_system_errno(q->db) : 0;

	/* SQLite says "disk I/O error" for a full disk too: errno says which. */
	int io = ((e & 0xff) == SQLITE_IOERR || (e & 0xff) == SQLITE_FULL) && x != 0;

	snprintf(s->err, sizeof(s->err), "store: %s: %s%s%s%s", what,
	    q && q->db ? sqlite3_errmsg(q->db) : "out of memory", io ? " (" : "",
	    io ? strerror(x) : "", io ? ")" : "");
	if (e == SQLITE_FULL || x == ENOSPC)
		return -ENOSPC;
	if (e == SQLITE_READONLY || x == EROFS)
		return -EROFS;
	return -EIO;
}

/*
 * The same for a failure SQLite's error state does not hold (the WAL sync
 * the store makes itself, store_durable.c), where sqlite3_errmsg() says
 * "not an error": err is -errno.
 */
int
sq_fail_errno(struct store *s, const char *what, int err)
{
	snprintf(s->err, sizeof(s->err), "store: %s: %s", what, strerror(-err));
	return err == -ENOSPC || err == -EROFS ? err : -EIO;
}


/* The pending deletes, inside the caller's transaction. */
int
sq_delete_acked(struct store *s)
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
int
sq_insert(struct store *s, struct store_batch *b, uint64_t seq, uint64_t seq_last)
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
int
sq_range_step(struct store *s, sqlite3_stmt *st, uint64_t first, uint64_t last,
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

int
sq_thin(struct store *s, uint64_t seq, const struct store_batch *b)
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
int
sq_begin(struct store *s)
{
	struct sq *q = s->priv;
	int rc;

	if (q->unsynced && (rc = durable_sync(q->db)) < 0)
		return sq_fail_errno(s, "sync", rc);
	q->unsynced = 0;
	memset(&q->tx_drops, 0, sizeof(q->tx_drops));
	if (sqlite3_exec(q->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(s, "begin");
	return 0;
}

int
sq_commit(struct store *s, const char *what)
{
	struct sq *q = s->priv;
	int rc;

	if ((rc = sq_ledger_write(s)) < 0)
		return rc;
	if (sqlite3_exec(q->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(s, what);
	sq_ledger_committed(s);
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

	if ((rc = sq_begin(s)) < 0)
		return rc;
	if ((rc = sq_delete_acked(s)) < 0)
		goto rollback;
	if (w != NULL && w->thin != NULL) {
		if ((rc = sq_ledger_rewrite(s, w->first, w->thin->n_readings)) == 0)
			rc = sq_thin(s, w->first, w->thin);
	} else if (w != NULL && w->drop) {
		if ((rc = sq_ledger_rewrite(s, w->first, -1)) == 0)
			rc = sq_range_step(s, q->del_range_any, w->first, w->first,
			    "evict");
	} else if (w != NULL && w->merge && w->b == NULL)
		rc = sq_range_step(s, q->seal, w->first, w->last, "seal");
	else if (w != NULL && w->merge) {
		if ((rc = sq_range_step(s, q->del_range, w->first, w->last, "merge")) == 0)
			rc = sq_insert(s, w->b, w->first, w->last);
	}
	else
		for (rc = 0, i = 0; w != NULL && i < w->n && rc == 0; i++)
			rc = sq_insert(s, &w->b[i], next++, 0);
	if (rc < 0)
		goto rollback;
	if ((w == NULL || w->n == 0) && (closing ? durable_clean(q->db, q->last_seq) :
	    durable_floor(q->db, q->last_seq)) < 0) {
		rc = sq_fail(s, "sequence floor");
		goto rollback;
	}
	if ((rc = sq_commit(s, "commit")) < 0)
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

	if ((rc = sq_reopen(s)) < 0)
		return rc;
	if ((rc = transaction(s, w, 0)) < 0)
		sq_release_failed(q);
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

int
sq_is_acked(const struct sq *q, uint64_t seq)
{
	size_t i;

	for (i = 0; i < q->n_acked; i++)
		if (q->acked[i] == seq)
			return 1;
	return 0;
}

static int
sq_peek(struct store *s, uint64_t after, int pending_only, struct store_batch *b)
{
	struct sq *q = s->priv;
	sqlite3_stmt *st = pending_only ? q->peek_pending : q->peek;
	const void *body;
	size_t len;
	int rc;

	if ((rc = sq_reopen(s)) < 0)
		return rc;
again:
	sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sq_is_acked(q, (uint64_t)sqlite3_column_int64(st, 0))) {
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
			snprintf(s->err, sizeof(s->err), "store: peek: no memory for "
			    "a batch of %zu bytes", len);
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

	if (sq_is_acked(q, seq))
		return 0;
	/*
	 * A long drain with no cycle in between: delete in a transaction of its
	 * own, a write like any other (a failed one releases the files: a
	 * ROLLBACK refused for want of memory left the connection inside the
	 * transaction, and every later BEGIN failed).
	 */
	if (q->n_acked == ACKS_MAX && (rc = write_tx(s, NULL)) < 0)
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

	if ((rc = sq_reopen(s)) < 0)
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

	if ((rc = sq_reopen(s)) < 0)
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
	if (sq_reopen(s) < 0)
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

void
sq_close(struct store *s)
{
	struct sq *q = s->priv;

	if (q == NULL)
		return;
	/* The pending deletes and the clean mark, synced: the next start skips nothing. */
	if (q->db != NULL && q->ins != NULL && transaction(s, NULL, 1) == 0)
		durable_sync(q->db);
	sq_release(q);
	free(q->body);
	free(q);
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.journal = &sq_journal_ops,
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
