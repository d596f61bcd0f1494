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

struct store_ops {
	const char *name;
	int (*open)(struct store *s, const char *path);
	int (*append)(struct store *s, struct store_batch *b);
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
/* The same with options; opts NULL: the defaults (STORE_SYNC_NORMAL). */
int store_open_opts(const char *name, const char *path, const struct store_opts *opts,
    struct store **out, char *err, size_t errlen);
void store_close(struct store *s);

/* Commit b (one transaction); sets b->seq. 0 or -errno. */
int store_append(struct store *s, struct store_batch *b);
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
	struct store_opts opts;
	void *priv;
	char err[256];
	char alarm[512];	/* set by open if the database had to be quarantined */
	char notice[256];	/* set by open if it skipped a sequence number */
};

extern const struct store_ops store_sqlite_ops;

#endif
