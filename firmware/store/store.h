/*
 * The outage buffer. Every poll cycle's readings are one encoded batch body,
 * committed in one transaction before anything is sent; a batch leaves the store
 * only when the platform side acknowledged it (store_ack). The sequence number is
 * assigned here, never reused (also across restarts and an emptied store), and is
 * what the receiver deduplicates on.
 *
 * Backends sit behind one ops table, chosen by name (OpenSMTPD's queue backends);
 * "sqlite" is the one for flash.
 */
#ifndef WG_STORE_H
#define WG_STORE_H

#include <stddef.h>
#include <stdint.h>

struct store_batch {
	uint64_t seq;		/* assigned by store_append */
	uint64_t seq_last;	/* > seq for a merged batch (store_merge), else seq */
	/*
	 * Never handed to the uplink: may still be merged. Set by the caller of
	 * store_append for a batch committed while the link is down; cleared by
	 * store_merge. A batch is sent only once it is not pending, so a seq
	 * that may have reached the platform is never merged into a span.
	 */
	uint8_t pending;
	uint8_t thinned;	/* downsampled once by the budget (budget.h) */
	uint32_t schema_id;
	uint8_t flags;		/* BATCH_F_* of the body */
	int64_t t_first;	/* oldest reading, unix ms */
	uint32_t n_readings;
	size_t raw_len;		/* body layout length before deflate */
	size_t body_len;
	const uint8_t *body;	/* store_peek: valid until the next store call */
};

struct store_stats {
	uint64_t batches;	/* on disk (acknowledged ones until their delete commits) */
	uint64_t readings;
	uint64_t bytes;		/* body bytes */
	uint64_t next_seq;	/* what the next append will get */
	uint64_t last_seq;	/* the highest number handed out; 0: none yet */
	uint64_t pending_readings;	/* in pending batches */
	uint64_t merged_readings;	/* in merged backlog batches (seq spans) */
};

/* What store_evict_oldest() deleted without an acknowledgement: counted loss. */
struct store_evicted {
	uint64_t batches;
	uint64_t readings;
};

/*
 * The drop ledger: lifetime totals of every counted drop, by cause, kept in
 * the store so a restart or a power cut does not reset them (the platform
 * would otherwise see sequence gaps with no cause). Drops the store makes
 * itself (store_rewrite, store_evict_oldest) are counted by the backend in
 * the transaction that makes them: both commit or neither. Drops made
 * outside the store are handed over with store_count_drop() and written by
 * the next transaction the store commits.
 */
enum store_drop_cause {
	STORE_DROP_THINNED,	/* budget: readings a thinning rewrite removed */
	STORE_DROP_EVICTED,	/* budget: batches deleted whole (store_rewrite NULL) */
	STORE_DROP_DISK_FULL,	/* store_evict_oldest on a full disk */
	STORE_DROP_MEMORY_FULL,	/* hold.c: store refusing and memory bound reached */
	STORE_DROP_COLLECTOR,	/* gateway.c: encode failure, cycle buffer full */
	STORE_DROP_PRESYNC,	/* presync hold full before the clock was valid */
	STORE_DROP_CAUSES
};

struct store_drop {
	uint64_t batches;	/* 0 for causes that drop readings, not batches */
	uint64_t readings;
};

struct store_drops {
	struct store_drop c[STORE_DROP_CAUSES];
};

/*
 * What a power cut may take (config key "store_sync").
 * NORMAL: the last commit may be lost, never more: each commit is synced
 * lazily, before the next one. Its batch may have been sent already, so after
 * an unclean stop in another boot the store skips one sequence number: a number
 * the receiver has seen is never handed out again.
 * FULL: every commit is synced before append returns; nothing committed is lost.
 */
enum store_sync {
	STORE_SYNC_NORMAL,
	STORE_SYNC_FULL,
};

struct store_opts {
	enum store_sync sync;
};

struct store;
struct store_journal_ops;

struct store_ops {
	const char *name;
	const struct store_journal_ops *journal;	/* store_journal.h */
	int (*open)(struct store *s, const char *path);
	int (*append)(struct store *s, struct store_batch *b, size_t n);
	int (*evict_oldest)(struct store *s, uint64_t min_bytes,
	    struct store_evicted *ev);
	int (*peek)(struct store *s, uint64_t after_seq, int pending_only,
	    struct store_batch *b);
	int (*merge)(struct store *s, uint64_t first, uint64_t last,
	    struct store_batch *merged);
	int (*rewrite)(struct store *s, uint64_t seq, const struct store_batch *b);
	int (*split)(struct store *s, struct store_batch *lo, struct store_batch *hi);
	int (*ack)(struct store *s, uint64_t seq);
	int (*put_schema)(struct store *s, uint32_t id, const char *json);
	int (*get_schema)(struct store *s, uint32_t id, char **json);
	int (*stats)(struct store *s, struct store_stats *st);
	void (*close)(struct store *s);
};

/*
 * Open backend "name" at path (created if missing, with its directory).
 * 0 or -errno; err gets one line.
 */
int store_open(const char *name, const char *path, struct store **out, char *err,
    size_t errlen);
/* The same with options; opts NULL: the defaults (STORE_SYNC_NORMAL). */
int store_open_opts(const char *name, const char *path, const struct store_opts *opts,
    struct store **out, char *err, size_t errlen);
void store_close(struct store *s);

/*
 * Commit b (one transaction); sets b->seq. 0 or -errno: -ENOSPC disk full,
 * -EROFS read-only, -EIO other trouble; s->err says which in one line.
 * After a failed write a backend releases its files (so the state filesystem
 * can be remounted, checked or swapped) and opens them again on the next call.
 */
int store_append(struct store *s, struct store_batch *b);
/* n batches in one transaction (the cycles held in memory through an outage). */
int store_append_many(struct store *s, struct store_batch *b, size_t n);
/*
 * Make room on a full disk: commit the pending acknowledged deletes, then
 * delete the oldest unacknowledged batches until at least min_bytes of bodies
 * are gone (0: none), then hand the freed space back to the file system.
 * *ev counts what went unacknowledged: the caller logs it as a counted drop;
 * the ledger's STORE_DROP_DISK_FULL gets it in the same transaction.
 * This is the one hook a storage budget policy plugs into. 0 or -errno.
 */
int store_evict_oldest(struct store *s, uint64_t min_bytes,
    struct store_evicted *ev);
/* The oldest batch with seq > after_seq: 0, -ENOENT if none, -errno. */
int store_peek(struct store *s, uint64_t after_seq, struct store_batch *b);
/* The same among pending batches only. */
int store_peek_pending(struct store *s, uint64_t after_seq, struct store_batch *b);
/*
 * In one transaction: the pending batches first..last (consecutive seqs, all
 * pending, as store_peek_pending returned them) are replaced by merged, which
 * gets seq = first, seq_last = last and is not pending. With merged NULL they
 * are kept as they are and only stop being pending. 0 or -errno.
 */
int store_merge(struct store *s, uint64_t first, uint64_t last,
    struct store_batch *merged);
/*
 * The budget's tool: batch seq gets b's body (flags, t_first, n_readings,
 * raw_len, body) and is marked thinned, keeping its seqs; with b NULL it is
 * deleted. One transaction, which also adds to the ledger what went: the
 * readings the new body lacks (STORE_DROP_THINNED) or the whole batch
 * (STORE_DROP_EVICTED). 0 or -errno.
 */
int store_rewrite(struct store *s, uint64_t seq, const struct store_batch *b);
/*
 * The splitter's tool (split.h): in one transaction the stored, not pending
 * batch lo->seq..hi->seq_last is replaced by lo (lo->seq..lo->seq_last) and hi
 * (hi->seq = lo->seq_last + 1 ..hi->seq_last), neither pending, both thinned
 * if their b->thinned says so. -ENOENT if no such batch is stored (its seqs
 * must match exactly), -EINVAL if the halves do not partition them; 0 or
 * -errno.
 */
int store_split(struct store *s, struct store_batch *lo, struct store_batch *hi);
/*
 * An acknowledged batch: never returned by store_peek again, deleted with the
 * next append's transaction (or at close). Acking an absent seq is not an error.
 */
int store_ack(struct store *s, uint64_t seq);
/* Schemas the stored batches refer to; kept until no batch needs them. */
int store_put_schema(struct store *s, uint32_t id, const char *json);
/* *json malloc'd; -ENOENT if unknown. */
int store_get_schema(struct store *s, uint32_t id, char **json);
int store_stats(struct store *s, struct store_stats *st);
/*
 * A drop made outside the store (STORE_DROP_MEMORY_FULL and later causes):
 * added to the lifetime totals in memory at once, and to the ledger on disk
 * by the next transaction the store commits (the next cycle's append), so a
 * cycle with nothing dropped writes nothing more.
 */
void store_count_drop(struct store *s, enum store_drop_cause cause,
    uint64_t batches, uint64_t readings);
/*
 * The lifetime totals: what the ledger held at open plus everything counted
 * since, including the drops store_count_drop() handed over that no commit has
 * written yet (those a power cut before the next commit would lose).
 */
void store_drops(const struct store *s, struct store_drops *d);
/* The ledger's name of a cause ("thinned", "disk_full", ...). */
const char *store_drop_name(enum store_drop_cause cause);

/* Backend internals: a backend's private state follows this header. */
struct store {
	const struct store_ops *ops;
	struct store_opts opts;
	void *priv;
	char err[256];
	char alarm[512];	/* set by open if the database had to be quarantined */
	char notice[256];	/* set by open if it skipped a sequence number */
	/*
	 * The drop ledger (store_drops): totals committed to disk, loaded by
	 * the backend's open; and drops handed over by store_count_drop() that
	 * the backend's next committed transaction writes and moves over.
	 */
	struct store_drops drops;
	struct store_drops drops_pending;
	/* Result records of unverified frames let go at their bound
	 * (store_journal.h), this run. */
	uint64_t results_dropped;
};

extern const struct store_ops store_sqlite_ops;

#endif
