/*
 * SQLite backend, the command journal and the result outbox
 * (store_journal.h). Commands are rare (a few a day), so every call prepares
 * its statement and finalizes it: nothing here sits on the per-cycle path,
 * and a reopen after a failed write has no statements of ours to renew.
 *
 * A journal write always takes the pending batch deletes along (like every
 * transaction of this backend: sq_commit forgets them) and is synced before
 * it returns, whatever store_sync says: a result the platform may already
 * have seen, or an accepted sequence number, must never be lost to a power
 * cut (the command would otherwise be numbered or run again).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/base/clock.h"
#include "firmware/store/sq_internal.h"
#include "firmware/store/store_durable.h"
#include "firmware/store/store_journal.h"

static const char journal_sql[] =
	"CREATE TABLE IF NOT EXISTS journal("
	" n INTEGER PRIMARY KEY AUTOINCREMENT,"
	" id TEXT NOT NULL,"
	" verified INTEGER NOT NULL,"
	" seq INTEGER NOT NULL,"
	" type TEXT NOT NULL,"
	" state TEXT NOT NULL,"
	" why TEXT NOT NULL,"
	" at INTEGER NOT NULL,"
	" result TEXT NOT NULL);"
	"CREATE UNIQUE INDEX IF NOT EXISTS journal_id ON journal(id)"
	" WHERE verified = 1;"
	"CREATE TABLE IF NOT EXISTS result("
	" r INTEGER PRIMARY KEY AUTOINCREMENT,"
	" unverified INTEGER NOT NULL DEFAULT 0,"
	" json TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS control_state("
	" k TEXT PRIMARY KEY,"
	" v INTEGER NOT NULL);";

/*
 * A journal made anew (a new gateway, or a store quarantined and started
 * empty) must not hand out record numbers the receiver has seen (it would
 * drop them as duplicates), nor forget which commands ran: the record
 * numbers start at the wall clock in ms (as batch numbers start at its
 * seconds, store_sqlite.c), and the journal's birth is kept, so that the
 * control plane refuses frames signed before it (a replay after the journal
 * was lost). Done once, with the tables; later with a valid clock if there
 * was none.
 */
static int
seed(struct store *s)
{
	struct sq *q = s->priv;
	struct clock_pair now;
	sqlite3_stmt *st;
	int rc;

	clock_read(&now);
	if (!clock_wall_valid(now.wall))
		return 0;
	if (sqlite3_prepare_v2(q->db, "INSERT INTO sqlite_sequence(name, seq)"
	    " SELECT 'result', ?1 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence"
	    " WHERE name = 'result') AND NOT EXISTS (SELECT 1 FROM control_state"
	    " WHERE k = 'created');"
	    , -1, &st, NULL) != SQLITE_OK)
		return sq_fail(s, "journal seed");
	sqlite3_bind_int64(st, 1, now.wall);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_fail(s, "journal seed");
	if (sqlite3_prepare_v2(q->db, "INSERT OR IGNORE INTO control_state(k, v)"
	    " VALUES('created', ?1)", -1, &st, NULL) != SQLITE_OK)
		return sq_fail(s, "journal seed");
	sqlite3_bind_int64(st, 1, now.wall);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sq_fail(s, "journal seed");
	q->journal_ready = 1;
	return 0;
}

/* Created at the first journal call, not at open: a store that never saw a
 * command keeps the schema it had (and older builds can still open it). */
static int
ensure(struct store *s)
{
	struct sq *q = s->priv;
	int rc;

	if ((rc = sq_reopen(s)) < 0)
		return rc;
	if (q->journal_ready)
		return 0;
	if (sqlite3_exec(q->db, journal_sql, NULL, NULL, NULL) != SQLITE_OK)
		return sq_fail(s, "journal schema");
	return seed(s);
}

static int
prep(struct store *s, const char *sql, sqlite3_stmt **st)
{
	struct sq *q = s->priv;

	if (sqlite3_prepare_v2(q->db, sql, -1, st, NULL) != SQLITE_OK)
		return sq_fail(s, "journal");
	return 0;
}

/* The one integer a query gives (bound to key if not NULL): 0, -ENOENT, -errno. */
static int
one_value(struct store *s, const char *sql, const char *key, int64_t *v,
    const char *what)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = ensure(s)) < 0 || (rc = prep(s, sql, &st)) < 0)
		return rc;
	if (key != NULL)
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : sq_fail(s, what);
}

static void
copy_text(char *dst, size_t cap, sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(dst, cap, "%s", t != NULL ? (const char *)t : "");
}

static void
row_to_cmd(sqlite3_stmt *st, struct store_cmd *c)
{
	memset(c, 0, sizeof(*c));
	copy_text(c->id, sizeof(c->id), st, 0);
	c->verified = sqlite3_column_int(st, 1);
	c->seq = (uint64_t)sqlite3_column_int64(st, 2);
	copy_text(c->type, sizeof(c->type), st, 3);
	copy_text(c->state, sizeof(c->state), st, 4);
	copy_text(c->why, sizeof(c->why), st, 5);
	c->at_ms = sqlite3_column_int64(st, 6);
}

#define ROW_COLUMNS "id, verified, seq, type, state, why, at"

static int
sq_cmd_get(struct store *s, const char *id, struct store_cmd *c, char **result)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = ensure(s)) < 0 || (rc = prep(s, "SELECT " ROW_COLUMNS ", result"
	    " FROM journal WHERE id = ? AND verified = 1", &st)) < 0)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_to_cmd(st, c);
		rc = 0;
		if (result != NULL &&
		    (*result = strdup((const char *)sqlite3_column_text(st, 7))) == NULL)
			rc = -ENOMEM;
	} else
		rc = rc == SQLITE_DONE ? -ENOENT : sq_fail(s, "journal");
	sqlite3_finalize(st);
	return rc;
}

static int
step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, what);
}

/* The row: a verified command is one row by its id, updated at each state;
 * an unverified frame's rejection is a row of its own. */
static int
put_row(struct store *s, const struct store_cmd *c, const char *result_json)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = prep(s, c->verified ?
	    "INSERT INTO journal(" ROW_COLUMNS ", result) VALUES(?,?,?,?,?,?,?,?)"
	    " ON CONFLICT(id) WHERE verified = 1 DO UPDATE SET state = excluded.state,"
	    " why = excluded.why, at = excluded.at, result = excluded.result" :
	    "INSERT INTO journal(" ROW_COLUMNS ", result) VALUES(?,?,?,?,?,?,?,?)",
	    &st)) < 0)
		return rc;
	sqlite3_bind_text(st, 1, c->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, c->verified ? 1 : 0);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)c->seq);
	sqlite3_bind_text(st, 4, c->type, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, c->state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, c->why, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, c->at_ms);
	sqlite3_bind_text(st, 8, result_json, -1, SQLITE_STATIC);
	return step_done(s, st, "journal");
}

/* The journal's bound: the oldest rows of c's kind beyond the limit go. */
static int
prune(struct store *s, int verified)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = prep(s, "DELETE FROM journal WHERE verified = ?1 AND n <="
	    " (SELECT n FROM journal WHERE verified = ?1 ORDER BY n DESC"
	    " LIMIT 1 OFFSET ?2)", &st)) < 0)
		return rc;
	sqlite3_bind_int(st, 1, verified);
	sqlite3_bind_int(st, 2, verified ? STORE_CMD_VERIFIED_MAX :
	    STORE_CMD_UNVERIFIED_MAX);
	return step_done(s, st, "journal bound");
}

static int
raise_seq(struct store *s, uint64_t seq)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = prep(s, "INSERT INTO control_state(k, v) VALUES('last_seq', ?)"
	    " ON CONFLICT(k) DO UPDATE SET v = max(v, excluded.v)", &st)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)seq);
	return step_done(s, st, "command sequence");
}

/*
 * A record; those of frames that did not verify are bounded apart (a flood
 * of junk, or a broker that never acknowledges, must not fill the card):
 * beyond STORE_CMD_UNVERIFIED_MAX the oldest of them go, counted in *gone.
 */
static int
add_result(struct store *s, const char *json, int unverified, uint64_t *r,
    int *gone)
{
	struct sq *q = s->priv;
	sqlite3_stmt *st;
	int rc;

	if ((rc = prep(s, "INSERT INTO result(unverified, json) VALUES(?, ?)",
	    &st)) < 0)
		return rc;
	sqlite3_bind_int(st, 1, unverified);
	sqlite3_bind_text(st, 2, json, -1, SQLITE_STATIC);
	if ((rc = step_done(s, st, "result")) < 0)
		return rc;
	if (r != NULL)
		*r = (uint64_t)sqlite3_last_insert_rowid(q->db);
	if (!unverified)
		return 0;
	if ((rc = prep(s, "DELETE FROM result WHERE unverified = 1 AND r <= (SELECT r"
	    " FROM result WHERE unverified = 1 ORDER BY r DESC LIMIT 1 OFFSET ?)",
	    &st)) < 0)
		return rc;
	sqlite3_bind_int(st, 1, STORE_CMD_UNVERIFIED_MAX);
	if ((rc = step_done(s, st, "result bound")) == 0)
		*gone = sqlite3_changes(q->db);
	return rc;
}

/*
 * A frame that did not verify is written lazily (synced with the next
 * commit, store_sync "normal"): a power cut may lose its rejection, which
 * decided nothing, and a flood of them costs no fsync each.
 */
static int
sq_cmd_record(struct store *s, const struct store_cmd *c, const char *result_json,
    int flags, uint64_t *r)
{
	struct sq *q = s->priv;
	uint64_t rr = 0;
	int rc, gone = 0;

	if (result_json == NULL || result_json[0] != '{')
		return -EINVAL;
	if ((rc = ensure(s)) < 0 || (rc = sq_begin(s)) < 0)
		return rc;
	if ((rc = sq_delete_acked(s)) < 0 || (rc = put_row(s, c, result_json)) < 0 ||
	    (rc = prune(s, c->verified)) < 0 ||
	    ((flags & STORE_CMD_ACCEPT_SEQ) && (rc = raise_seq(s, c->seq)) < 0) ||
	    (rc = add_result(s, result_json, !c->verified, &rr, &gone)) < 0 ||
	    (rc = sq_commit(s, "journal commit")) < 0) {
		sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
		sq_release_failed(q);
		return rc;
	}
	s->results_dropped += (uint64_t)gone;
	if (q->unsynced && c->verified) {
		if ((rc = durable_sync(q->db)) < 0) {
			/* Committed, not known durable: the files are let go like
			 * after any failed write; the caller runs nothing on it. */
			rc = sq_fail_errno(s, "journal sync", rc);
			sq_release_failed(q);
			return rc;
		}
		q->unsynced = 0;
	}
	if (r != NULL)
		*r = rr;
	return 0;
}

static int sq_ctl_get(struct store *s, const char *key, int64_t *v);

static int
sq_cmd_last_seq(struct store *s, uint64_t *seq)
{
	int64_t v = 0;
	int rc = sq_ctl_get(s, "last_seq", &v);

	*seq = rc == 0 ? (uint64_t)v : 0;
	return rc == -ENOENT ? 0 : rc;
}

static int
sq_cmd_open(struct store *s, struct store_cmd *c, size_t n, size_t *found)
{
	sqlite3_stmt *st;
	int rc;

	*found = 0;
	if ((rc = ensure(s)) < 0 || (rc = prep(s, "SELECT " ROW_COLUMNS " FROM journal"
	    " WHERE verified = 1 AND state NOT IN ('applied', 'rejected', 'expired',"
	    " 'deviated', 'failed', 'committed', 'rolled-back', 'canceled')"
	    " ORDER BY n", &st)) < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*found < n)
			row_to_cmd(st, &c[*found]);
		(*found)++;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : sq_fail(s, "journal");
}

/* Reception order: a row keeps its n through its states. */
static int
sq_cmd_recent(struct store *s, struct store_cmd *c, size_t n, size_t *found)
{
	sqlite3_stmt *st;
	int rc;

	*found = 0;
	if (n == 0)
		return 0;
	if ((rc = ensure(s)) < 0 || (rc = prep(s, "SELECT " ROW_COLUMNS " FROM journal"
	    " ORDER BY n DESC LIMIT ?", &st)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)n);
	while (*found < n && (rc = sqlite3_step(st)) == SQLITE_ROW)
		row_to_cmd(st, &c[(*found)++]);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sq_fail(s, "journal");
}

static int
sq_result_peek(struct store *s, uint64_t after, uint64_t *r, char **json)
{
	sqlite3_stmt *st;
	int rc;

	if ((rc = ensure(s)) < 0 || (rc = prep(s, "SELECT r, json FROM result"
	    " WHERE r > ? ORDER BY r LIMIT 1", &st)) < 0)
		return rc;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)after);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *body = (const char *)sqlite3_column_text(st, 1);
		size_t len = strlen(body) + 32;

		*r = (uint64_t)sqlite3_column_int64(st, 0);
		/* The number goes first, spliced into the object stored without it. */
		if ((*json = malloc(len)) == NULL)
			rc = -ENOMEM;
		else {
			snprintf(*json, len, "{\"r\":%" PRIu64 "%s%s", *r,
			    strcmp(body, "{}") == 0 ? "" : ",", body + 1);
			rc = 0;
		}
	} else
		rc = rc == SQLITE_DONE ? -ENOENT : sq_fail(s, "result");
	sqlite3_finalize(st);
	return rc;
}

static int
sq_result_ack(struct store *s, uint64_t r)
{
	struct sq *q = s->priv;
	sqlite3_stmt *st;
	int rc;

	if ((rc = ensure(s)) < 0 || (rc = sq_begin(s)) < 0)
		return rc;
	if ((rc = sq_delete_acked(s)) < 0 ||
	    (rc = prep(s, "DELETE FROM result WHERE r = ?", &st)) < 0)
		goto rollback;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)r);
	if ((rc = step_done(s, st, "result ack")) < 0 ||
	    (rc = sq_commit(s, "result ack")) < 0)
		goto rollback;
	return 0;
rollback:
	sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	sq_release_failed(q);
	return rc;
}

static int
sq_ctl_get(struct store *s, const char *key, int64_t *v)
{
	return one_value(s, "SELECT v FROM control_state WHERE k = ?", key, v,
	    "control state");
}

/* One small synced transaction: what must hold across a power cut. */
static int
sq_ctl_put(struct store *s, const char *key, int64_t v)
{
	struct sq *q = s->priv;
	sqlite3_stmt *st;
	int rc;

	if ((rc = ensure(s)) < 0 || (rc = sq_begin(s)) < 0)
		return rc;
	if ((rc = sq_delete_acked(s)) < 0 || (rc = prep(s, "INSERT INTO"
	    " control_state(k, v) VALUES(?, ?) ON CONFLICT(k) DO UPDATE SET"
	    " v = excluded.v", &st)) < 0)
		goto rollback;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	if ((rc = step_done(s, st, "control state")) < 0 ||
	    (rc = sq_commit(s, "control state")) < 0)
		goto rollback;
	if (q->unsynced) {
		if ((rc = durable_sync(q->db)) < 0) {
			rc = sq_fail_errno(s, "control state sync", rc);
			sq_release_failed(q);
			return rc;
		}
		q->unsynced = 0;
	}
	return 0;
rollback:
	sqlite3_exec(q->db, "ROLLBACK", NULL, NULL, NULL);
	sq_release_failed(q);
	return rc;
}

static int
sq_result_count(struct store *s, uint64_t *n)
{
	int64_t v = 0;
	int rc = one_value(s, "SELECT count(*) FROM result", NULL, &v, "result");

	*n = (uint64_t)v;
	return rc;
}

const struct store_journal_ops sq_journal_ops = {
	.cmd_get = sq_cmd_get,
	.cmd_record = sq_cmd_record,
	.cmd_last_seq = sq_cmd_last_seq,
	.cmd_open = sq_cmd_open,
	.result_peek = sq_result_peek,
	.result_ack = sq_result_ack,
	.result_count = sq_result_count,
	.ctl_get = sq_ctl_get,
	.ctl_put = sq_ctl_put,
	.cmd_recent = sq_cmd_recent,
};
