/*
 * The SQLite backend's own header, for firmware/store/sq_*.c and store_sqlite.c
 * only: nothing outside firmware/store includes it (the rest of the daemon sees
 * struct store_ops in store.h). The backend is split along its seams so each
 * file reads in one sitting: opening, recovery and the reserve file
 * (sq_open.c); the per-cycle path and the ops table (store_sqlite.c); eviction
 * on a full disk (sq_evict.c); the split of a stored span (sq_split.c); the
 * drop ledger every commit writes to when something was dropped (sq_ledger.c). They
 * share the connection state below and the few transaction helpers declared
 * after it; each helper is documented where it is defined.
 */
#ifndef WG_STORE_SQ_INTERNAL_H
#define WG_STORE_SQ_INTERNAL_H

#include <limits.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/store/store.h"

#define ACKS_MAX 1024

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
	/* What the transaction under way drops itself: sq_commit writes it to
	 * the ledger with it (sq_ledger.c); sq_begin clears it. */
	struct store_drops tx_drops;
	int journal_ready;	/* sq_journal.c: its tables made in this run */
};

/* sq_open.c */
/* store_ops.open: create, check (quarantine if corrupt) and prepare. */
int sq_open(struct store *s, const char *path);
/* Open the files again if a failed write closed them; 0 if they are open. */
int sq_reopen(struct store *s);
/* Finalize the statements and close the connection; pending acks stay. */
void sq_release(struct sq *q);
/* sq_release after a failed write, keeping the WAL file for the reopen. */
void sq_release_failed(struct sq *q);
/* Create the reserve file beside the database if it is missing (best effort). */
void sq_take_reserve(struct sq *q);

/* store_sqlite.c */
/* Record what failed in s->err; -ENOSPC, -EROFS or -EIO. */
int sq_fail(struct store *s, const char *what);
/* The same for a failure outside SQLite's error state; err is -errno. */
int sq_fail_errno(struct store *s, const char *what, int err);
/* BEGIN IMMEDIATE, syncing the previous commit first under store_sync normal. */
int sq_begin(struct store *s);
/* The ledger, then COMMIT; the pending acks are then gone. */
int sq_commit(struct store *s, const char *what);
/* The pending acks' deletes, inside the caller's transaction. */
int sq_delete_acked(struct store *s);
/* Whether seq was acknowledged and its delete is still pending. */
int sq_is_acked(const struct sq *q, uint64_t seq);
/* Insert b numbered seq..seq_last (0: seq). */
int sq_insert(struct store *s, struct store_batch *b, uint64_t seq,
    uint64_t seq_last);
/* Bind first, last to st and step it once. */
int sq_range_step(struct store *s, sqlite3_stmt *st, uint64_t first,
    uint64_t last, const char *what);
/* Replace the body (and counts) of batch seq by b's, marking it thinned. */
int sq_thin(struct store *s, uint64_t seq, const struct store_batch *b);
/* store_ops.close: the pending deletes and the clean mark, then free. */
void sq_close(struct store *s);

/* sq_evict.c */
/* store_ops.evict_oldest. */
int sq_evict_oldest(struct store *s, uint64_t min_bytes, struct store_evicted *ev);

/* sq_split.c */
/* store_ops.split. */
int sq_split(struct store *s, struct store_batch *lo, struct store_batch *hi);

/* sq_journal.c: the ops of store_journal.h */
extern const struct store_journal_ops sq_journal_ops;

/* sq_ledger.c */
/* The ledger's totals into s->drops (first open). */
int sq_ledger_load(struct store *s);
/* Inside the transaction: its own drops and the handed-over ones, if any. */
int sq_ledger_write(struct store *s);
/* After COMMIT: what sq_ledger_write wrote joins s->drops. */
void sq_ledger_committed(struct store *s);
/* Count what a rewrite of seq keeping new_n readings (-1: none) will drop. */
int sq_ledger_rewrite(struct store *s, uint64_t seq, int64_t new_n);
/* At a reopen: what a failed COMMIT wrote after all stops being pending. */
int sq_ledger_reconcile(struct store *s);

#endif
