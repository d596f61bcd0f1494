/*
 * SQLite backend, the drop ledger (store.h): table drops holds the lifetime
 * totals per cause, one row per cause that ever dropped anything.
 *
 * Every write transaction goes through sq_begin/sq_commit (store_sqlite.c),
 * and sq_commit writes here, just before its COMMIT, what that transaction
 * dropped itself (sq->tx_drops: a budget rewrite, an eviction on a full disk)
 * together with the drops handed over from outside (store->drops_pending).
 * So a drop the store makes and its count commit together or not at all, and
 * a drop outside the store is on disk after the next commit, whatever that
 * transaction was for. A transaction with nothing to count writes nothing
 * here: the per-cycle WAL frame stays the same (docs/flash.md).
 */
#include <stdio.h>
#include <string.h>

#include "firmware/store/sq_internal.h"
#include "firmware/store/store.h"

/* At the first open: the totals so far. A cause this build does not know is
 * kept on disk untouched (a newer build wrote it). */
int
sq_ledger_load(struct store *s)
{
	struct sq *q = s->priv;
	sqlite3_stmt *st;
	int rc, i;

	memset(&s->drops, 0, sizeof(s->drops));
	if (sqlite3_prepare_v2(q->db, "SELECT cause, batches, readings FROM drops",
	    -1, &st, NULL) != SQLITE_OK)
		return sq_fail(s, "drop ledger");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *cause = (const char *)sqlite3_column_text(st, 0);

		for (i = 0; i < STORE_DROP_CAUSES && cause != NULL; i++)
			if (strcmp(cause, store_drop_name(i)) == 0) {
				s->drops.c[i].batches =
				    (uint64_t)sqlite3_column_int64(st, 1);
				s->drops.c[i].readings =
				    (uint64_t)sqlite3_column_int64(st, 2);
			}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, "drop ledger");
}

/* What the transaction under way adds: its own drops and the handed-over ones. */
static struct store_drop
delta(const struct store *s, const struct sq *q, int i)
{
	return (struct store_drop){
		q->tx_drops.c[i].batches + s->drops_pending.c[i].batches,
		q->tx_drops.c[i].readings + s->drops_pending.c[i].readings,
	};
}

/*
 * Inside the transaction, before COMMIT. The statement is prepared only when
 * there is something to write: drops are rare, the per-cycle path skips it.
 */
int
sq_ledger_write(struct store *s)
{
	struct sq *q = s->priv;
	sqlite3_stmt *st = NULL;
	int i, rc = 0;

	for (i = 0; i < STORE_DROP_CAUSES && rc == 0; i++) {
		struct store_drop d = delta(s, q, i);

		if (d.batches == 0 && d.readings == 0)
			continue;
		if (st == NULL && sqlite3_prepare_v2(q->db, "INSERT INTO drops(cause,"
		    " batches, readings) VALUES(?,?,?) ON CONFLICT(cause) DO UPDATE"
		    " SET batches = batches + excluded.batches, readings = readings +"
		    " excluded.readings", -1, &st, NULL) != SQLITE_OK)
			return sq_fail(s, "drop ledger");
		sqlite3_bind_text(st, 1, store_drop_name(i), -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)d.batches);
		sqlite3_bind_int64(st, 3, (sqlite3_int64)d.readings);
		if (sqlite3_step(st) != SQLITE_DONE)
			rc = sq_fail(s, "drop ledger");
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

/* After COMMIT: what was written joins the totals. */
void
sq_ledger_committed(struct store *s)
{
	struct sq *q = s->priv;
	int i;

	for (i = 0; i < STORE_DROP_CAUSES; i++) {
		struct store_drop d = delta(s, q, i);

		s->drops.c[i].batches += d.batches;
		s->drops.c[i].readings += d.readings;
	}
	memset(&s->drops_pending, 0, sizeof(s->drops_pending));
	memset(&q->tx_drops, 0, sizeof(q->tx_drops));
}

/*
 * A budget rewrite of batch seq, about to run in the caller's transaction:
 * what it will take is counted from the row as stored (new_n: the readings
 * the new body keeps; -1: the batch goes whole). A row that is not there (its
 * acknowledged delete just ran) is changed by nothing and counts nothing.
 */
int
sq_ledger_rewrite(struct store *s, uint64_t seq, int64_t new_n)
{
	struct sq *q = s->priv;
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(q->db, "SELECT n_readings FROM batch WHERE seq = ?",
	    -1, &st, NULL) != SQLITE_OK)
		return sq_fail(s, "drop ledger");
	sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t old = sqlite3_column_int64(st, 0);
		struct store_drop *d = &q->tx_drops.c[new_n < 0 ?
		    STORE_DROP_EVICTED : STORE_DROP_THINNED];

		if (new_n < 0 || old > new_n) {
			d->batches++;
			d->readings += (uint64_t)(new_n < 0 ? old : old - new_n);
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_fail(s, "drop ledger");
}

/* a - b, or 0 if b is larger. */
static uint64_t
less(uint64_t a, uint64_t b)
{
	return a > b ? a - b : 0;
}

/*
 * At a reopen after a failed write, whose COMMIT may have reached the disk
 * after all (sq_open.c, reconcile): the ledger on disk is then ahead of
 * s->drops by what that transaction wrote, its own drops (still in
 * q->tx_drops: no transaction began since) and handed-over ones. Those
 * handed-over drops are written; left pending, the next commit added them a
 * second time.
 */
int
sq_ledger_reconcile(struct store *s)
{
	struct sq *q = s->priv;
	struct store_drops mem = s->drops;
	int rc, i;

	if ((rc = sq_ledger_load(s)) < 0) {
		s->drops = mem;
		return rc;
	}
	for (i = 0; i < STORE_DROP_CAUSES; i++) {
		struct store_drop *p = &s->drops_pending.c[i];
		uint64_t b = less(less(s->drops.c[i].batches, mem.c[i].batches),
		    q->tx_drops.c[i].batches);
		uint64_t r = less(less(s->drops.c[i].readings, mem.c[i].readings),
		    q->tx_drops.c[i].readings);

		p->batches = less(p->batches, b);
		p->readings = less(p->readings, r);
	}
	memset(&q->tx_drops, 0, sizeof(q->tx_drops));
	return 0;
}
