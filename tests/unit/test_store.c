/* The SQLite store: append/peek/ack, sequence numbers never reused, survives reopen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "firmware/store/store.h"
#include "tests/unit/store_tmp.h"


static int
setup(void **state)
{
	(void)state;
	/* A directory that does not exist yet: the store makes it. */
	return store_tmp_setup("state/sub/store.db");
}

static struct store *
open_store(void)
{
	struct store *s = NULL;
	char err[256];

	assert_int_equal(store_open("sqlite", store_tmp_path, &s, err, sizeof(err)), 0);
	return s;
}

static uint64_t
append(struct store *s, const char *body, uint32_t n)
{
	struct store_batch b = { .schema_id = 0xabcdef01u, .flags = 1, .t_first = 1000,
		.n_readings = n, .raw_len = strlen(body) + 5,
		.body = (const uint8_t *)body, .body_len = strlen(body) };

	assert_int_equal(store_append(s, &b), 0);
	return b.seq;
}

static void
test_append_peek_ack(void **state)
{
	struct store *s = open_store();
	struct store_batch b;
	struct store_stats st;
	uint64_t a, c;

	(void)state;
	assert_int_equal(store_peek(s, 0, &b), -ENOENT);
	a = append(s, "first", 13);
	c = append(s, "second", 13);
	assert_true(c > a);
	assert_int_equal(store_peek(s, 0, &b), 0);
	assert_int_equal(b.seq, a);
	assert_int_equal(b.schema_id, 0xabcdef01u);
	assert_int_equal(b.flags, 1);
	assert_int_equal(b.n_readings, 13);
	assert_int_equal(b.raw_len, 10);
	assert_memory_equal(b.body, "first", 5);
	assert_int_equal(store_peek(s, a, &b), 0);
	assert_int_equal(b.seq, c);
	assert_int_equal(store_peek(s, c, &b), -ENOENT);
	assert_int_equal(store_stats(s, &st), 0);
	assert_int_equal(st.batches, 2);
	assert_int_equal(st.readings, 26);
	assert_int_equal(store_ack(s, a), 0);
	assert_int_equal(store_ack(s, a), 0);	/* twice is fine */
	assert_int_equal(store_peek(s, 0, &b), 0);
	assert_int_equal(b.seq, c);
	store_close(s);
}

static void
test_seq_survives_restart_and_empty_store(void **state)
{
	struct store *s = open_store();
	struct store_batch b;
	uint64_t last, again;

	(void)state;
	last = append(s, "x", 1);
	assert_int_equal(store_ack(s, last), 0);
	while (store_peek(s, 0, &b) == 0)
		assert_int_equal(store_ack(s, b.seq), 0);
	store_close(s);

	/* Reopened and empty: the next number is still new (receivers dedupe on it). */
	s = open_store();
	again = append(s, "y", 1);
	assert_true(again > last);
	store_close(s);
}

static void
test_new_store_does_not_restart_at_one(void **state)
{
	struct store *s = open_store();
	uint64_t first, second;

	(void)state;
	/* A store made anew (replaced card, deleted file) must not reuse the numbers
	 * an earlier store gave the receiver: it starts from the wall clock. */
	first = append(s, "a", 1);
	store_close(s);
	assert_int_equal(remove(store_tmp_path), 0);
	s = open_store();
	second = append(s, "b", 1);
	store_close(s);
	assert_true(first > UINT64_C(1577836800000));	/* 2020 in ms */
	assert_true(second >= first);
}

static void
test_unacked_batches_survive_reopen(void **state)
{
	struct store *s = open_store();
	struct store_batch b;
	uint64_t a;

	(void)state;
	a = append(s, "kept", 3);
	store_close(s);
	s = open_store();
	assert_int_equal(store_peek(s, a - 1, &b), 0);
	assert_int_equal(b.seq, a);
	assert_memory_equal(b.body, "kept", 4);
	store_close(s);
}

static void
test_acks_ride_in_the_next_append(void **state)
{
	struct store *s = open_store();
	struct store_batch b;
	struct store_stats st;
	uint64_t a, c;

	(void)state;
	a = append(s, "one", 1);
	c = append(s, "two", 1);
	assert_int_equal(store_ack(s, a), 0);
	/* Not deleted yet (no transaction of its own), but never peeked again. */
	assert_int_equal(store_stats(s, &st), 0);
	assert_int_equal(st.batches, 2);
	assert_int_equal(store_peek(s, 0, &b), 0);
	assert_int_equal(b.seq, c);
	/* The next cycle's append commits the delete with it. */
	append(s, "three", 1);
	assert_int_equal(store_stats(s, &st), 0);
	assert_int_equal(st.batches, 2);
	/* At close the pending deletes are committed too. */
	assert_int_equal(store_ack(s, c), 0);
	store_close(s);
	s = open_store();
	assert_int_equal(store_stats(s, &st), 0);
	assert_int_equal(st.batches, 1);
	assert_int_equal(store_peek(s, 0, &b), 0);
	assert_memory_equal(b.body, "three", 5);
	store_close(s);
}

static void
test_many_acks_without_appends(void **state)
{
	struct store *s = open_store();
	struct store_batch b;
	uint64_t seq[1500];
	int i;

	(void)state;
	for (i = 0; i < 1500; i++)
		seq[i] = append(s, "x", 1);
	/* A drain with no cycle in between: more acks than are held in memory. */
	for (i = 0; i < 1500; i++)
		assert_int_equal(store_ack(s, seq[i]), 0);
	assert_int_equal(store_peek(s, 0, &b), -ENOENT);
	store_close(s);
	s = open_store();
	assert_int_equal(store_peek(s, 0, &b), -ENOENT);
	store_close(s);
}

static long
wal_size(void)
{
	char wal[320];
	struct stat sb;

	snprintf(wal, sizeof(wal), "%s-wal", store_tmp_path);
	return stat(wal, &sb) == 0 ? (long)sb.st_size : -1;
}

/*
 * Flash wear: in steady state a cycle acks the last batch and appends one, in
 * one transaction that writes one page (a WAL frame of 1 KiB + 24 B): no
 * second transaction, no sequence page, no page split (a 500 B body, as of a
 * bigger site, does not fit beside the acknowledged one in a 1 KiB page).
 */
static uint64_t
steady_cycles(struct store *s, const char *body)
{
	uint64_t prev = append(s, body, 105);
	long before;
	int i;

	for (i = 0; i < 3; i++) {
		assert_int_equal(store_ack(s, prev), 0);
		before = wal_size();
		prev = append(s, body, 105);
		if (i > 0)
			assert_int_equal(wal_size() - before, 1024 + 24);
	}
	return prev;
}

static void
test_steady_cycle_writes_one_page(void **state)
{
	struct store *s = open_store();
	char body[500];

	(void)state;
	memset(body, 'b', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	steady_cycles(s, body);
	store_close(s);
}

/* Run sql on the store's file while the store is closed (it locks the file). */
static void
raw_exec(const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(store_tmp_path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		fail_msg("%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_close(db);
}

static void
assert_drop(struct store *s, enum store_drop_cause cause, uint64_t batches,
    uint64_t readings)
{
	struct store_drops d;

	store_drops(s, &d);
	if (d.c[cause].batches != batches || d.c[cause].readings != readings)
		fail_msg("%s: %llu batches, %llu readings; want %llu, %llu",
		    store_drop_name(cause), (unsigned long long)d.c[cause].batches,
		    (unsigned long long)d.c[cause].readings,
		    (unsigned long long)batches, (unsigned long long)readings);
}

static int
raw_user_version(void)
{
	sqlite3_stmt *st;
	sqlite3 *db;
	int v;

	assert_int_equal(sqlite3_open(store_tmp_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/*
 * Both slots of an A/B update share the store (docs/ota.md): a store a
 * newer image wrote in a format this one reads (only added tables) opens and
 * keeps its format; one this image cannot read is refused and left as it is
 * (never quarantined: its readings are the other image's to send).
 */
static void
test_store_format(void **state)
{
	struct store *s = open_store();
	char err[256];
	uint64_t seq;

	(void)state;
	seq = append(s, "kept", 3);
	store_close(s);
	assert_int_equal(raw_user_version(), 1 << 16 | 1);
	raw_exec("PRAGMA user_version=" "65541");	/* reader 1, format 5 */
	s = open_store();
	store_close(s);
	assert_int_equal(raw_user_version(), 1 << 16 | 5);
	raw_exec("PRAGMA user_version=131074");		/* reader 2, format 2 */
	s = NULL;
	assert_int_equal(store_open("sqlite", store_tmp_path, &s, err, sizeof(err)),
	    -EPROTO);
	assert_non_null(strstr(err, "needs a reader of format 2"));
	assert_int_equal(raw_user_version(), 2 << 16 | 2);
	raw_exec("PRAGMA user_version=65537");
	s = open_store();
	{
		struct store_batch b;

		assert_int_equal(store_peek(s, 0, &b), 0);
		assert_int_equal(b.seq, seq);
	}
	store_close(s);
}

/*
 * The drop ledger: the store counts what its own drops take (a budget
 * rewrite or delete, an eviction on a full disk) from the rows themselves;
 * drops handed over from outside are written by the next commit; all of it
 * survives close and open.
 */
static void
test_drop_ledger_survives_reopen(void **state)
{
	struct store *s = open_store();
	struct store_batch thin = { .flags = 1, .t_first = 1000, .n_readings = 4,
		.raw_len = 9, .body = (const uint8_t *)"thin", .body_len = 4 };
	struct store_evicted ev;
	uint64_t a, b, c;

	(void)state;
	a = append(s, "aaaa", 10);
	b = append(s, "bbbb", 20);
	c = append(s, "cccc", 30);
	append(s, "dddd", 40);
	assert_int_equal(store_rewrite(s, a, NULL), 0);
	assert_int_equal(store_rewrite(s, b, &thin), 0);
	assert_drop(s, STORE_DROP_EVICTED, 1, 10);
	assert_drop(s, STORE_DROP_THINNED, 1, 16);
	/* a rewrite of a batch that is not there drops nothing */
	assert_int_equal(store_rewrite(s, a, NULL), 0);
	assert_drop(s, STORE_DROP_EVICTED, 1, 10);
	/* oldest first: b (4 readings now), then c */
	assert_int_equal(store_evict_oldest(s, 5, &ev), 0);
	assert_int_equal(ev.batches, 2);
	assert_drop(s, STORE_DROP_DISK_FULL, 2, 34);
	(void)c;
	/* handed over: counted at once, on disk with the next commit */
	store_count_drop(s, STORE_DROP_MEMORY_FULL, 0, 7);
	store_count_drop(s, STORE_DROP_PRESYNC, 0, 3);
	assert_drop(s, STORE_DROP_MEMORY_FULL, 0, 7);
	append(s, "eeee", 50);
	store_close(s);

	s = open_store();
	assert_drop(s, STORE_DROP_EVICTED, 1, 10);
	assert_drop(s, STORE_DROP_THINNED, 1, 16);
	assert_drop(s, STORE_DROP_DISK_FULL, 2, 34);
	assert_drop(s, STORE_DROP_MEMORY_FULL, 0, 7);
	assert_drop(s, STORE_DROP_PRESYNC, 0, 3);
	assert_drop(s, STORE_DROP_COLLECTOR, 0, 0);
	/* lifetime totals: a second run adds to them */
	store_count_drop(s, STORE_DROP_MEMORY_FULL, 0, 1);
	store_close(s);		/* the clean close's transaction writes it */
	s = open_store();
	assert_drop(s, STORE_DROP_MEMORY_FULL, 0, 8);
	store_close(s);
}

/*
 * Flash wear: once the ledger has rows, a cycle that drops nothing still
 * writes one page; a cycle that hands over a drop writes its row too.
 */
static void
test_ledger_costs_nothing_without_drops(void **state)
{
	struct store *s = open_store();
	char body[500];
	uint64_t prev;
	long before;

	(void)state;
	memset(body, 'b', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	store_count_drop(s, STORE_DROP_COLLECTOR, 0, 2);
	/* the first append writes the ledger's row; the later cycles nothing more */
	prev = steady_cycles(s, body);
	store_count_drop(s, STORE_DROP_COLLECTOR, 0, 1);
	assert_int_equal(store_ack(s, prev), 0);
	before = wal_size();
	append(s, body, 105);
	assert_true(wal_size() - before > 1024 + 24);
	store_close(s);
}

/* A drop that fails (the delete refused) counts nothing, in memory or on disk. */
static void
test_failed_drop_writes_no_count(void **state)
{
	struct store *s = open_store();
	struct store_stats st;
	uint64_t a;

	(void)state;
	a = append(s, "aaaa", 10);
	store_close(s);
	raw_exec("CREATE TRIGGER no_delete BEFORE DELETE ON batch BEGIN"
	    " SELECT RAISE(ABORT, 'injected'); END");
	s = open_store();
	assert_true(store_rewrite(s, a, NULL) < 0);
	assert_drop(s, STORE_DROP_EVICTED, 0, 0);
	store_close(s);
	raw_exec("DROP TRIGGER no_delete");
	s = open_store();
	assert_drop(s, STORE_DROP_EVICTED, 0, 0);
	assert_int_equal(store_stats(s, &st), 0);
	assert_int_equal(st.batches, 1);
	store_close(s);
}

/*
 * Drop and count are one transaction: with the ledger's write refused, the
 * eviction is rolled back with it, and a handed-over drop stays counted in
 * memory for the next commit that succeeds.
 */
static void
test_drop_and_count_are_atomic(void **state)
{
	struct store *s = open_store();
	struct store_evicted ev;
	struct store_stats st;
	uint64_t a;

	(void)state;
	a = append(s, "aaaa", 10);
	append(s, "bbbb", 20);
	store_close(s);
	raw_exec("CREATE TRIGGER no_count BEFORE INSERT ON drops BEGIN"
	    " SELECT RAISE(ABORT, 'injected'); END");
	s = open_store();
	assert_true(store_rewrite(s, a, NULL) < 0);
	assert_true(store_evict_oldest(s, 1, &ev) < 0);
	assert_int_equal(ev.batches, 0);
	assert_drop(s, STORE_DROP_EVICTED, 0, 0);
	assert_drop(s, STORE_DROP_DISK_FULL, 0, 0);
	store_count_drop(s, STORE_DROP_MEMORY_FULL, 0, 5);
	assert_true(store_append(s, &(struct store_batch){ .n_readings = 1,
	    .body = (const uint8_t *)"c", .body_len = 1 }) < 0);
	assert_drop(s, STORE_DROP_MEMORY_FULL, 0, 5);
	assert_int_equal(store_stats(s, &st), 0);
	assert_int_equal(st.batches, 2);
	store_close(s);
	raw_exec("DROP TRIGGER no_count");
	s = open_store();
	assert_int_equal(store_stats(s, &st), 0);
	assert_int_equal(st.batches, 2);
	assert_drop(s, STORE_DROP_EVICTED, 0, 0);
	assert_drop(s, STORE_DROP_DISK_FULL, 0, 0);
	assert_int_equal(store_rewrite(s, a, NULL), 0);
	assert_drop(s, STORE_DROP_EVICTED, 1, 10);
	store_close(s);
}

/* A store made before the ledger gets it at its first open by this build. */
static void
test_ledger_added_to_an_old_store(void **state)
{
	struct store *s = open_store();
	uint64_t a;

	(void)state;
	a = append(s, "aaaa", 10);
	store_close(s);
	raw_exec("DROP TABLE drops");
	s = open_store();
	assert_drop(s, STORE_DROP_EVICTED, 0, 0);
	assert_int_equal(store_rewrite(s, a, NULL), 0);
	store_close(s);
	s = open_store();
	assert_drop(s, STORE_DROP_EVICTED, 1, 10);
	store_close(s);
}

/*
 * Sequence numbers without AUTOINCREMENT: an emptied table, a clean close and
 * a kill -9 in the same boot (a run at risk that never closed) skip nothing;
 * a run at risk in another boot (a power cut) skips exactly one.
 */
static void
test_seq_skip_only_after_a_cut_in_another_boot(void **state)
{
	struct store *s = open_store();
	struct store_batch b;
	struct store_stats st;
	uint64_t a;
	char cmd[600];

	(void)state;
	a = append(s, "x", 1);
	assert_int_equal(store_ack(s, a), 0);
	store_close(s);			/* empties the table */
	s = open_store();
	assert_string_equal(s->notice, "");
	assert_int_equal(store_peek(s, 0, &b), -ENOENT);
	assert_int_equal(store_stats(s, &st), 0);
	assert_int_equal(st.next_seq, a + 1);
	assert_int_equal(append(s, "y", 1), a + 1);
	/* A run that ended without close in this boot: like a kill -9. */
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'UPDATE store_state SET at_risk = 1'",
	    store_tmp_path);
	store_close(s);
	assert_int_equal(system(cmd), 0);
	s = open_store();
	assert_string_equal(s->notice, "");
	assert_int_equal(append(s, "z", 1), a + 2);
	store_close(s);
	/* The same, but the last run's boot was another one: a power cut. */
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"UPDATE store_state SET at_risk = 1,"
	    " boot = 'another-boot'\"", store_tmp_path);
	assert_int_equal(system(cmd), 0);
	s = open_store();
	assert_non_null(strstr(s->notice, "skipped"));
	assert_int_equal(append(s, "w", 1), a + 4);
	store_close(s);
	/* Strict mode never records a risk: the next open skips nothing. */
	{
		struct store_opts o = { .sync = STORE_SYNC_FULL };
		char err[256];

		assert_int_equal(system(cmd), 0);
		assert_int_equal(store_open_opts("sqlite", store_tmp_path, &o, &s, err,
		    sizeof(err)), 0);
		assert_non_null(strstr(s->notice, "skipped"));	/* the normal run's risk */
		assert_int_equal(append(s, "v", 1), a + 6);
		store_close(s);
		snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"SELECT at_risk FROM store_state\""
		    " | grep -qx 0", store_tmp_path);
		assert_int_equal(system(cmd), 0);
	}
}

/* Count files in dir whose name starts with prefix. */
static int
count_prefixed(const char *d, const char *prefix)
{
	char cmd[700], out[32];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "ls '%s' | grep -c '^%s'", d, prefix);
	f = popen(cmd, "r");
	assert_non_null(f);
	if (fgets(out, sizeof(out), f) == NULL)
		out[0] = '\0';
	pclose(f);
	return atoi(out);
}

static void
test_garbage_file_is_quarantined(void **state)
{
	struct store *s;
	char sub[300];
	FILE *f;

	(void)state;
	s = open_store();	/* creates the directory */
	store_close(s);
	assert_int_equal(remove(store_tmp_path), 0);
	f = fopen(store_tmp_path, "w");
	assert_non_null(f);
	fputs("this is not an SQLite database, it is what a bad card returns\n", f);
	fclose(f);
	s = open_store();
	assert_non_null(strstr(s->alarm, "moved to"));
	append(s, "fresh", 1);
	store_close(s);
	snprintf(sub, sizeof(sub), "%s/state/sub", store_tmp_dir);
	assert_int_equal(count_prefixed(sub, "store.db.corrupt-"), 1);
}

static void
test_damaged_page_is_quarantined(void **state)
{
	struct store *s = open_store();
	struct store_batch b;
	char big[3000], sub[300];
	FILE *f;
	int i;

	(void)state;
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (i = 0; i < 40; i++)
		append(s, big, 1);
	store_close(s);		/* checkpoints the WAL into the file */
	f = fopen(store_tmp_path, "r+");
	assert_non_null(f);
	/* The page size is bytes 16-17 of the header (big-endian). Page 2 is the
	 * root of table batch, an interior page with 40 rows: scribble over its
	 * right-child and cell pointers. */
	fseek(f, 16, SEEK_SET);
	i = fgetc(f) << 8;
	i |= fgetc(f);
	assert_true(i >= 512 && i <= 32768);
	fseek(f, (long)i + 8, SEEK_SET);
	for (int k = 0; k < 64; k++)
		fputc(0xA5, f);
	fclose(f);
	s = open_store();
	if (strstr(s->alarm, "moved to") == NULL)
		fail_msg("not quarantined: alarm '%s' err '%s'", s->alarm, s->err);
	assert_int_equal(store_peek(s, 0, &b), -ENOENT);	/* fresh */
	store_close(s);
	snprintf(sub, sizeof(sub), "%s/state/sub", store_tmp_dir);
	assert_int_equal(count_prefixed(sub, "store.db.corrupt-"), 1);
}

static void
test_schemas(void **state)
{
	struct store *s = open_store();
	char *json = NULL;

	(void)state;
	assert_int_equal(store_put_schema(s, 7, "{\"a\":1}"), 0);
	assert_int_equal(store_get_schema(s, 7, &json), 0);
	assert_string_equal(json, "{\"a\":1}");
	free(json);
	assert_int_equal(store_get_schema(s, 8, &json), -ENOENT);
	store_close(s);
}

static void
test_bad_path(void **state)
{
	struct store *s = NULL;
	char err[256];

	(void)state;
	assert_true(store_open("sqlite", "/proc/no/such/dir/store.db", &s, err,
	    sizeof(err)) < 0);
	assert_non_null(strstr(err, "/proc/no/such/dir/store.db"));
	assert_true(store_open("tape", store_tmp_path, &s, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "tape"));
}

static mode_t
mode_of(const char *suffix)
{
	char p[400];
	struct stat st;

	snprintf(p, sizeof(p), "%s%s", store_tmp_path, suffix);
	assert_int_equal(stat(p, &st), 0);
	return st.st_mode & 07777;
}

/*
 * The store, its WAL and its reserve are the site's data: 0600 whatever the
 * umask or the directory (store.db and its WAL were created 0644), and a
 * store left 0644 by an older build is narrowed when opened.
 */
static void
test_files_are_private(void **state)
{
	struct store *s;
	mode_t old = umask(0);

	(void)state;
	s = open_store();
	append(s, "first", 13);
	assert_int_equal(mode_of(""), 0600);
	assert_int_equal(mode_of("-wal"), 0600);
	assert_int_equal(mode_of("-reserve"), 0600);
	store_close(s);
	assert_int_equal(chmod(store_tmp_path, 0644), 0);
	s = open_store();
	assert_int_equal(mode_of(""), 0600);
	store_close(s);
	/* A corrupt store is moved aside; the fresh one is private too. */
	{
		FILE *f = fopen(store_tmp_path, "w");

		assert_non_null(f);
		fputs("not a database, not at all, but long enough to be read"
		    " as a header by SQLite: 0123456789abcdef0123456789", f);
		fclose(f);
	}
	assert_int_equal(chmod(store_tmp_path, 0644), 0);
	s = open_store();
	assert_int_equal(mode_of(""), 0600);
	store_close(s);
	umask(old);
}

/* A device or FIFO as the store's path: refused, nothing made beside it. */
static void
test_not_a_file(void **state)
{
	struct store *s = NULL;
	char err[256];

	(void)state;
	assert_int_equal(store_open("sqlite", "/dev/zero", &s, err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(err, "store: /dev/zero: a character device, not a "
	    "regular file");
	assert_int_equal(access("/dev/zero-journal", F_OK), -1);
	assert_int_equal(access("/dev/zero-wal", F_OK), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_peek_ack, setup,
		    store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_seq_survives_restart_and_empty_store,
		    setup, store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_new_store_does_not_restart_at_one,
		    setup, store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_unacked_batches_survive_reopen, setup,
		    store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_acks_ride_in_the_next_append, setup,
		    store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_many_acks_without_appends, setup,
		    store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_steady_cycle_writes_one_page, setup,
		    store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_seq_skip_only_after_a_cut_in_another_boot,
		    setup, store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_garbage_file_is_quarantined, setup,
		    store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_damaged_page_is_quarantined, setup,
		    store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_schemas, setup, store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_drop_ledger_survives_reopen, setup,
		    store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_ledger_costs_nothing_without_drops,
		    setup, store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_failed_drop_writes_no_count, setup,
		    store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_drop_and_count_are_atomic, setup,
		    store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_ledger_added_to_an_old_store, setup,
		    store_tmp_teardown),
		cmocka_unit_test_setup_teardown(test_store_format, setup,
		    store_tmp_teardown),
		cmocka_unit_test(test_bad_path),
		cmocka_unit_test(test_not_a_file),
		cmocka_unit_test_setup_teardown(test_files_are_private, setup,
		    store_tmp_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
