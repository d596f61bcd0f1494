/*
 * SQLite backend, store_split (split.h): a stored span replaced by its two
 * halves when the platform answered that it is too large (CoAP 4.13). A
 * separate block with its own statement, prepared per call rather than kept
 * with the persistent ones (sq_open.c); it shares the per-cycle path's
 * insert, rewrite and transaction helpers (store_sqlite.c) through
 * sq_internal.h.
 */
#include <errno.h>
#include <stdio.h>

#include "firmware/store/sq_internal.h"
#include "firmware/store/store.h"

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
	if ((rc = sq_begin(s)) < 0)
		goto out;
	lo->pending = hi->pending = 0;
	if ((rc = sq_delete_acked(s)) < 0 ||
	    (rc = sq_range_step(s, del, lo->seq, hi->seq_last, "split")) < 0)
		goto rollback;
	if (sqlite3_changes(q->db) != 1) {
		snprintf(s->err, sizeof(s->err), "store: split: batch %llu..%llu is "
		    "not stored", (unsigned long long)lo->seq,
		    (unsigned long long)hi->seq_last);
		rc = -ENOENT;
		goto rollback;
	}
	if ((rc = sq_insert(s, lo, lo->seq, lo->seq_last)) < 0 ||
	    (rc = sq_insert(s, hi, hi->seq, hi->seq_last)) < 0 ||
	    (lo->thinned && (rc = sq_thin(s, lo->seq, lo)) < 0) ||
	    (hi->thinned && (rc = sq_thin(s, hi->seq, hi)) < 0) ||
	    (rc = sq_commit(s, "split")) < 0)
		goto rollback;
	goto out;
rollback:
	sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
out:
	sqlite3_finalize(del);
	return rc;
}

int
sq_split(struct store *s, struct store_batch *lo, struct store_batch *hi)
{
	struct sq *q = s->priv;
	int rc;

	if ((rc = sq_reopen(s)) < 0)
		return rc;
	/* Nothing was wrong with the files, only that batch: keep them open. */
	if ((rc = split_tx(s, lo, hi)) < 0 && rc != -ENOENT)
		sq_release_failed(q);
	return rc;
}

