/*
 * Sequence numbers that survive power cuts.
 *
 * The receiver drops a batch whose (gateway, seq) it has seen. So a number,
 * once a batch carrying it may have left the gateway, must never be handed out
 * again: not after the table was emptied (the floor below), not in a store made
 * anew (the wall clock), and not after a power cut rolled back a commit whose
 * batch had already been sent.
 *
 * The last one is the price of store_sync "normal". A commit there is not
 * synced when append returns; it is synced at the start of the next
 * transaction (durable_sync, called by the backend), so a cut loses at most
 * the last commit, and one fsync per cycle keeps the flash writes of "full".
 * What "normal" buys is that the fsync is off the path from the poll to the
 * broker. But the lost commit may have been published and acknowledged: the
 * next start must not give its number to a new batch.
 *
 * Hence the row of store_state: the boot id of the run that may lose a commit
 * (at_risk), cleared at a clean close. At open, a run that was at risk and did
 * not close cleanly in another boot (/proc/sys/kernel/random/boot_id changed:
 * a power cut, a reset, a kernel panic) may have lost its last commit: one
 * number is skipped, and the skip is committed and synced before anything else.
 * A kill -9 or a crash of the daemon in the same boot loses nothing from the
 * page cache, so nothing is skipped there: the receiver sees no false gap.
 * A skip the cut did not need shows as one gap at the receiver; the daemon
 * logs it, so the gap has an explanation.
 *
 * Why a floor row and not AUTOINCREMENT: sqlite_sequence is a page of its own
 * that every insert rewrote, a second WAL frame per cycle (see store_sqlite.c
 * for the measurements). The floor is written only where the batch rows alone
 * would not say how far numbering went: a transaction that deletes without
 * appending, the open, the close.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "firmware/base/clock.h"
#include "firmware/store/store_durable.h"

#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"

/* The kernel's boot id, "" if unreadable (then every unclean stop counts as a cut). */
static void
boot_id(char *buf, size_t len)
{
	FILE *f;

	buf[0] = '\0';
	if ((f = fopen(BOOT_ID_PATH, "r")) == NULL)
		return;
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	fclose(f);
}

/* The first column of the first row of sql, as an integer; 0 if no row. */
static int
one_int(sqlite3 *db, const char *sql, int64_t *v)
{
	sqlite3_stmt *st;
	int rc;

	*v = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

static int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

/*
 * A new store (first boot, replaced card, quarantined file) starts at the wall
 * clock in ms, not at 1: the receiver has seen the old store's numbers, and the
 * old store used at most one per poll cycle since its own start, so "now" is
 * past them. With no valid clock (a board without RTC, before NTP) it stays
 * 0 here and the first append takes the wall clock once it is valid
 * (store_sqlite.c, next_seq).
 */
static int64_t
wall_ms(void)
{
	struct clock_pair now;

	clock_read(&now);
	return clock_wall_valid(now.wall) ? now.wall : 0;
}

/* The run before this one: was it at risk, in which boot, how far it numbered. */
static int
read_state(sqlite3 *db, int *have, int *at_risk, char *boot, size_t len,
    int64_t *floor)
{
	sqlite3_stmt *st;
	int rc;

	*have = *at_risk = 0;
	*floor = 0;
	boot[0] = '\0';
	if (sqlite3_prepare_v2(db, "SELECT boot, at_risk, seq_floor FROM store_state"
	    " WHERE id = 1", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*have = 1;
		snprintf(boot, len, "%s", (const char *)sqlite3_column_text(st, 0));
		*at_risk = sqlite3_column_int(st, 1);
		*floor = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

static int
write_state(sqlite3 *db, const char *boot, int at_risk, int64_t floor)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO store_state(id, boot, at_risk,"
	    " seq_floor) VALUES(1, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, boot, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, at_risk);
	sqlite3_bind_int64(st, 3, floor);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

/* The numbering before store_state existed: an older store's AUTOINCREMENT. */
static int
old_sequence(sqlite3 *db, int64_t *v)
{
	int64_t n;

	*v = 0;
	if (one_int(db, "SELECT count(*) FROM sqlite_master WHERE name ="
	    " 'sqlite_sequence'", &n) < 0)
		return -EIO;
	if (n == 0)
		return 0;
	return one_int(db, "SELECT seq FROM sqlite_sequence WHERE name = 'batch'", v);
}

int
durable_open(sqlite3 *db, enum store_sync sync, struct durable_open *d, char *err,
    size_t errlen)
{
	char boot[64], prev[64];
	int64_t top, floor, old, last;
	int have, at_risk, rc;

	memset(d, 0, sizeof(*d));
	boot_id(boot, sizeof(boot));
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		goto fail;
	if (read_state(db, &have, &at_risk, prev, sizeof(prev), &floor) < 0 ||
	    one_int(db, "SELECT coalesce(max(coalesce(seq_last, seq)), 0) FROM batch", &top) < 0 ||
	    old_sequence(db, &old) < 0)
		goto rollback;
	last = max64(max64(top, floor), old);
	if (!have && last == 0)
		last = wall_ms();
	if (have && at_risk && (boot[0] == '\0' || strcmp(boot, prev) != 0))
		d->skipped = (uint64_t)++last;
	if (write_state(db, boot, sync == STORE_SYNC_NORMAL, last) < 0 ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
		goto rollback;
	d->last_seq = (uint64_t)last;
	/* A skip must be on the card before a batch can take the next number. */
	if ((rc = durable_sync(db)) < 0) {
		snprintf(err, errlen, "store: sequence state: sync: %s", strerror(-rc));
		return -EIO;
	}
	return 0;
rollback:
	snprintf(err, errlen, "store: sequence state: %s", sqlite3_errmsg(db));
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -EIO;
fail:
	snprintf(err, errlen, "store: sequence state: %s", sqlite3_errmsg(db));
	return -EIO;
}

static int
set_floor(sqlite3 *db, const char *sql, uint64_t last_seq)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)last_seq);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int
durable_floor(sqlite3 *db, uint64_t last_seq)
{
	return set_floor(db, "UPDATE store_state SET seq_floor = max(seq_floor, ?)"
	    " WHERE id = 1", last_seq);
}

int
durable_clean(sqlite3 *db, uint64_t last_seq)
{
	return set_floor(db, "UPDATE store_state SET at_risk = 0, seq_floor ="
	    " max(seq_floor, ?) WHERE id = 1", last_seq);
}

/*
 * The WAL's own file handle (SQLite hands it out for exactly this kind of
 * thing): an fsync of it makes every commit written so far durable, without a
 * checkpoint, which would write the database pages as well.
 */
int
durable_sync(sqlite3 *db)
{
	sqlite3_file *f = NULL;
	int e = 0;

	if (sqlite3_file_control(db, "main", SQLITE_FCNTL_JOURNAL_POINTER, &f) !=
	    SQLITE_OK)
		return -EIO;
	if (f == NULL || f->pMethods == NULL)
		return 0;	/* no WAL open: nothing written to sync */
	if (f->pMethods->xSync(f, SQLITE_SYNC_NORMAL) == SQLITE_OK)
		return 0;
	/* What fsync said, where the VFS keeps it (unix does): ENOSPC matters. */
	if (f->pMethods->xFileControl(f, SQLITE_FCNTL_LAST_ERRNO, &e) != SQLITE_OK ||
	    e <= 0)
		e = EIO;
	return -e;
}
