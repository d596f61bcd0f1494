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
};

/* What store_evict_oldest() deleted without an acknowledgement: counted loss. */
struct store_evicted {
	uint64_t batches;
	uint64_t readings;
};

struct store;

struct store_ops {
	const char *name;
	int (*open)(struct store *s, const char *path);
	int (*append)(struct store *s, struct store_batch *b, size_t n);
	int (*evict_oldest)(struct store *s, uint64_t min_bytes,
	    struct store_evicted *ev);
	int (*peek)(struct store *s, uint64_t after_seq, struct store_batch *b);
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
 * *ev counts what went unacknowledged: the caller logs it as a counted drop.
 * This is the one hook a storage budget policy plugs into. 0 or -errno.
 */
int store_evict_oldest(struct store *s, uint64_t min_bytes,
    struct store_evicted *ev);
/* The oldest batch with seq > after_seq: 0, -ENOENT if none, -errno. */
int store_peek(struct store *s, uint64_t after_seq, struct store_batch *b);
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

/* Backend internals: a backend's private state follows this header. */
struct store {
	const struct store_ops *ops;
	void *priv;
	char err[256];
	char alarm[512];	/* set by open if the database had to be quarantined */
};

extern const struct store_ops store_sqlite_ops;

#endif
