/*
 * What the SQLite backend keeps so that a power cut never makes it hand out a
 * sequence number twice, whatever store_sync says (store.h): one row of table
 * store_state, and the lazy WAL sync of STORE_SYNC_NORMAL. Internal to the
 * store; see store_durable.c for the reasoning.
 */
#ifndef WG_STORE_DURABLE_H
#define WG_STORE_DURABLE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/store/store.h"

#define DURABLE_SCHEMA \
	"CREATE TABLE IF NOT EXISTS store_state(" \
	" id INTEGER PRIMARY KEY CHECK (id = 1)," \
	" boot TEXT NOT NULL," \
	" at_risk INTEGER NOT NULL," \
	" seq_floor INTEGER NOT NULL);"

struct durable_open {
	uint64_t last_seq;	/* highest number ever handed out, skip included */
	uint64_t skipped;	/* the number skipped at this open, 0 if none */
};

/*
 * At open, in one transaction made durable before it returns: the highest
 * sequence number used so far (batch rows, the recorded floor, an older
 * store's sqlite_sequence; the wall clock for a new store), one more if the
 * last run was at risk and ended uncleanly in another boot, and this run's
 * own risk recorded. 0 or -EIO with err set.
 */
int durable_open(sqlite3 *db, enum store_sync sync, struct durable_open *d,
    char *err, size_t errlen);

/* Inside a transaction that deletes batches and appends none: the floor. */
int durable_floor(sqlite3 *db, uint64_t last_seq);

/* Inside the last transaction of a clean close: nothing at risk any more. */
int durable_clean(sqlite3 *db, uint64_t last_seq);

/*
 * fsync the WAL now: what is committed so far survives a power cut. 0 or
 * -errno (fsync's, -EIO if unknown); SQLite's error state does not have it.
 */
int durable_sync(sqlite3 *db);

#endif
