/*
 * SQLite backend, eviction on a full disk (hold.c): the pending acks' deletes
 * and then, if that frees too little, the oldest unsent batches, counted. It
 * is the one write that gives the reserve file (sq_open.c) back to the file
 * system and checkpoints the WAL down to nothing, which the per-cycle path
 * (store_sqlite.c) never does; it shares that path's transaction helpers
 * through sq_internal.h. The byte and age budget drops batches one at a time
 * through store_rewrite instead (budget.c).
 */
#include <stdio.h>
#include <unistd.h>

#include "firmware/store/sq_internal.h"
#include "firmware/store/store.h"
#include "firmware/store/store_durable.h"

/*
 * The oldest unacknowledged batches, until min_bytes of bodies: one SELECT
 * walks them in seq order, one DELETE takes them (and the pending acks) in
 * the same transaction. Then the reserve goes back to the file system for the
 * checkpoint that truncates the WAL, and is taken again.
 */
int
sq_evict_oldest(struct store *s, uint64_t min_bytes, struct store_evicted *ev)
{
	struct sq *q = s->priv;
	sqlite3_stmt *st = NULL;
	uint64_t bytes = 0, last = 0;
	int rc;

	if ((rc = sq_reopen(s)) < 0)
		return rc;
	unlink(q->reserve);
	if ((rc = sq_begin(s)) < 0)
		goto out;
	if (min_bytes > 0) {
		if (sqlite3_prepare_v2(q->db, "SELECT seq, n_readings, length(body)"
		    " FROM batch ORDER BY seq", -1, &st, NULL) != SQLITE_OK) {
			rc = sq_fail(s, "evict");
			goto rollback;
		}
		while (bytes < min_bytes && sqlite3_step(st) == SQLITE_ROW) {
			last = (uint64_t)sqlite3_column_int64(st, 0);
			if (sq_is_acked(q, last))
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
	if ((rc = sq_delete_acked(s)) < 0)
		goto rollback;
	/* Counted in the ledger by the same commit (sq_ledger.c). */
	q->tx_drops.c[STORE_DROP_DISK_FULL].batches += ev->batches;
	q->tx_drops.c[STORE_DROP_DISK_FULL].readings += ev->readings;
	if (durable_floor(q->db, q->last_seq) < 0) {
		rc = sq_fail(s, "sequence floor");
		goto rollback;
	}
	if ((rc = sq_commit(s, "evict")) < 0)
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
		sq_release_failed(q);
	sq_take_reserve(q);
	return rc;
}

