/*
 * Fault injection in the store, the way SQLite tests itself (issue 13, 2.):
 * allocation failures (SQLite's and the daemon's own) and I/O errors from
 * the VFS at every point of the steps a cycle's data goes through (steps[]
 * below: its commit, the read that sends it, its acknowledgement, the close
 * and the open after a restart). tests/unit/faultinj.h injects.
 *
 * For each step and each source of faults the step is first run clean,
 * counting the calls it makes (its injection points, printed as
 * fault_points_STEP_SOURCE=N); then, from a fresh copy of the same store,
 * once with a fault at the 1st call, once at the 2nd, ..., and once more
 * past the last, where no fault may fall and the step must succeed. Each
 * fault is injected once (transient) and then also from that call on
 * (persistent). After each:
 *
 *   - the step returned (no crash, no abort) and, if it failed, said why in
 *     the line the daemon logs (store->err, the open's err);
 *   - a copy of the files taken right then (what the next start would find
 *     after a kill -9) holds exactly the state before the step or exactly
 *     the state after it: the step happened whole or not at all;
 *   - with faults off, what the daemon does next succeeds on the same handle
 *     (collector.c and hold.c commit a failed cycle again with the next one;
 *     forward.c logs a failed ack and moves on; a failed open is fatal and
 *     the service starts again), and after a clean close the store holds
 *     exactly what a run without the fault leaves: nothing committed lost,
 *     no reading stored twice, the drop ledger counted once. The one
 *     difference allowed: an acknowledged batch whose delete did not commit
 *     may still be there, with its own seq, to be sent again and dropped by
 *     the receiver's dedupe (at-least-once on the wire).
 *
 * A step with more points than WG_FAULT_POINTS (default 400) gets faults at
 * that many of them: the first and last quarter one by one, the rest spread
 * evenly over the middle; it prints fault_injected_STEP_SOURCE=K then. The
 * two such steps are the ack (its thousand deletes are one statement run a
 * thousand times) and the open (SQLite's parser and quick_check).
 * WG_FAULT_POINTS=0 injects at every point (~20 s); under valgrind (found
 * by its preload) the default is 8, so the valgrind stage of tools/test/run
 * stays short. WG_FAULT_STEP=NAME runs one step. docs/testing.md has the
 * counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "firmware/store/store.h"
#include "tests/unit/faultinj.h"
#include "tests/unit/store_tmp.h"

#define ROWS_MAX	1100
#define BODY_MAX	32
/* The store's in-memory ack list (ACKS_MAX, sq_internal.h; reference() checks). */
#define ACKS_FULL	1024

/* One row of table batch, every column. */
struct row {
	int64_t v[9];		/* seq, seq_last, pending, thinned, schema_id,
				 * flags, t_first, n_readings, raw_len */
	char body[BODY_MAX];
	int body_len;
};

/* What the files hold: the batches and the drop ledger. */
struct dump {
	struct row r[ROWS_MAX];
	size_t n;
	int64_t drops[STORE_DROP_CAUSES][2];
};

/* A store a step starts from, made once; first: the seq of its first batch. */
struct tpl {
	char path[300];
	uint64_t first;
};

static struct tpl small, many, crashed;
static char work_dir[300], snap[300];
#define work	store_tmp_path

/* Batch i of the test: its body names it, so a reading stored twice shows. */
static struct store_batch
batch(unsigned i, char *body)
{
	snprintf(body, BODY_MAX, "batch-%u", i);
	return (struct store_batch){ .schema_id = 7, .flags = 1,
	    .t_first = 1000 * (int64_t)i, .n_readings = i,
	    .raw_len = strlen(body) + 5, .body = (const uint8_t *)body,
	    .body_len = strlen(body) };
}

static int
append_n(struct store *s, unsigned i)
{
	char body[BODY_MAX];
	struct store_batch b = batch(i, body);

	return store_append(s, &b);
}

static struct store *
open_at(const char *path, enum store_sync sync)
{
	struct store *s = NULL;
	char err[256];
	int rc;

	rc = store_open_opts("sqlite", path, &(struct store_opts){ .sync = sync }, &s,
	    err, sizeof(err));
	if (rc < 0)
		fail_msg("open %s: %s", path, err);
	if (s->alarm[0] != '\0')
		fail_msg("open %s: %s", path, s->alarm);
	return s;
}

static void
copy_file(const char *from, const char *to)
{
	char buf[65536];
	ssize_t n;
	int in, out;

	unlink(to);
	if ((in = open(from, O_RDONLY)) < 0)
		return;		/* nothing to copy: no WAL, say */
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	close(out);
}

/* The database and its WAL, as they are on disk now. */
static void
copy_db(const char *from, const char *to)
{
	char f[400], t[400];

	copy_file(from, to);
	snprintf(f, sizeof(f), "%s-wal", from);
	snprintf(t, sizeof(t), "%s-wal", to);
	copy_file(f, t);
	snprintf(t, sizeof(t), "%s-shm", to);
	unlink(t);
}

static void
empty_dir(const char *dir)
{
	char p[600];
	struct dirent *e;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	closedir(d);
}

/* Read path (closed, or a copy) with a connection of our own, faults off. */
static void
dump_db(const char *path, struct dump *d)
{
	sqlite3_stmt *st;
	sqlite3 *db;
	int i, k;

	memset(d, 0, sizeof(*d));
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK)
		fail_msg("%s: %s", path, sqlite3_errmsg(db));
	if (sqlite3_prepare_v2(db, "SELECT seq, coalesce(seq_last, seq), pending,"
	    " thinned, schema_id, flags, t_first, n_readings, raw_len, body FROM batch"
	    " ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", path, sqlite3_errmsg(db));
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct row *r = &d->r[d->n++];

		assert_true(d->n < ROWS_MAX);
		for (i = 0; i < 9; i++)
			r->v[i] = sqlite3_column_int64(st, i);
		r->body_len = sqlite3_column_bytes(st, 9);
		assert_true(r->body_len <= BODY_MAX);
		memcpy(r->body, sqlite3_column_blob(st, 9), (size_t)r->body_len);
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, "SELECT cause, batches, readings FROM drops", -1,
	    &st, NULL) != SQLITE_OK)
		fail_msg("%s: %s", path, sqlite3_errmsg(db));
	while (sqlite3_step(st) == SQLITE_ROW)
		for (k = 0; k < STORE_DROP_CAUSES; k++)
			if (strcmp((const char *)sqlite3_column_text(st, 0),
			    store_drop_name(k)) == 0) {
				d->drops[k][0] = sqlite3_column_int64(st, 1);
				d->drops[k][1] = sqlite3_column_int64(st, 2);
			}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static int
row_equal(const struct row *a, const struct row *b)
{
	return memcmp(a->v, b->v, sizeof(a->v)) == 0 && a->body_len == b->body_len &&
	    memcmp(a->body, b->body, (size_t)a->body_len) == 0;
}

static int
dump_equal(const struct dump *a, const struct dump *b)
{
	size_t i;

	if (a->n != b->n || memcmp(a->drops, b->drops, sizeof(a->drops)) != 0)
		return 0;
	for (i = 0; i < a->n; i++)
		if (!row_equal(&a->r[i], &b->r[i]))
			return 0;
	return 1;
}

static void
describe(const struct dump *d, char *buf, size_t len)
{
	size_t i, used = 0;

	used += (size_t)snprintf(buf, len, "%zu rows:", d->n);
	for (i = 0; i < d->n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, " %lld:%.*s",
		    (long long)d->r[i].v[0], d->r[i].body_len, d->r[i].body);
	if (used < len)
		snprintf(buf + used, len - used, "; drops collector %lld",
		    (long long)d->drops[STORE_DROP_COLLECTOR][1]);
}

/* One step of a cycle's data through the store. */
struct step {
	const char *name;
	const struct tpl *tpl;	/* the store it starts from */
	enum store_sync sync;
	/* Set the scene on an open store (faults off); NULL: run opens it. */
	void (*scene)(struct store *s);
	/* The step, under fault; *s may be opened or closed by it. */
	int (*run)(struct store **s, char *err, size_t len);
	/* What the daemon does next, faults off; rc is what run returned. 0 or
	 * -errno (s->err says why). */
	int (*next)(struct store **s, int rc);
	/* Whether row seq may still be there at the end although acknowledged. */
	int (*may_stay)(uint64_t seq, int rc);
	/*
	 * It commits a write: the files change (a check that the scene is
	 * right: the ack step's ack must overflow the store's ack list), and
	 * a full disk must fail it with -ENOSPC, the one error hold.c answers
	 * by evicting.
	 */
	int writes;
};

/* The seq of the first batch of the store the step under way started from. */
static uint64_t first_seq;

static int
stay_none(uint64_t seq, int rc)
{
	(void)seq;
	(void)rc;
	return 0;
}

/* commit: the previous cycle committed (its sync still owed), an ack, a drop
 * handed over; the cycle's append carries the delete and the ledger. */
static void
commit_scene(struct store *s)
{
	assert_int_equal(append_n(s, 5), 0);
	assert_int_equal(store_ack(s, first_seq), 0);
	store_count_drop(s, STORE_DROP_COLLECTOR, 0, 3);
}

static int
commit_run(struct store **s, char *err, size_t len)
{
	int rc = append_n(*s, 6);

	snprintf(err, len, "%s", (*s)->err);
	return rc;
}

/* hold.c: a refused cycle is held and committed with the next one. */
static int
commit_next(struct store **s, int rc)
{
	char b0[BODY_MAX], b1[BODY_MAX];
	struct store_batch v[2] = { batch(6, b0), batch(7, b1) };

	return rc < 0 ? store_append_many(*s, v, 2) : store_append(*s, &v[1]);
}

static void
no_scene(struct store *s)
{
	(void)s;
}

/* peek: what the forwarder sends next. */
static int
peek_run(struct store **s, char *err, size_t len)
{
	struct store_batch b;
	int rc = store_peek(*s, 0, &b);

	snprintf(err, len, "%s", (*s)->err);
	if (rc == 0 && (b.seq != first_seq || b.body_len != 7 ||
	    memcmp(b.body, "batch-1", 7) != 0))
		fail_msg("peek: batch %llu '%.*s'", (unsigned long long)b.seq,
		    (int)b.body_len, b.body);
	return rc;
}

static int
peek_next(struct store **s, int rc)
{
	char err[256];

	return rc < 0 ? peek_run(s, err, sizeof(err)) : 0;
}

/* ack: a drain that filled the ack list; the next ack deletes in its own
 * transaction. */
static void
ack_scene(struct store *s)
{
	unsigned i;

	assert_int_equal(append_n(s, 2000), 0);
	for (i = 0; i < ACKS_FULL; i++)
		assert_int_equal(store_ack(s, first_seq + i), 0);
}

static int
ack_run(struct store **s, char *err, size_t len)
{
	int rc = store_ack(*s, first_seq + ACKS_FULL);

	snprintf(err, len, "%s", (*s)->err);
	return rc;
}

/* forward.c logs a failed ack and goes on; the next cycle commits. */
static int
ack_next(struct store **s, int rc)
{
	(void)rc;
	return append_n(*s, 2001);
}

/* The ack that failed: its batch is sent again, the receiver drops it. */
static int
ack_may_stay(uint64_t seq, int rc)
{
	return rc < 0 && seq == first_seq + ACKS_FULL;
}

/* close: acks pending, the last commit's sync owed; close commits both. */
static void
close_scene(struct store *s)
{
	assert_int_equal(append_n(s, 5), 0);
	assert_int_equal(store_ack(s, first_seq), 0);
	assert_int_equal(store_ack(s, first_seq + 1), 0);
}

/* store_close says nothing: whether its transaction committed is unknown (1). */
static int
close_run(struct store **s, char *err, size_t len)
{
	snprintf(err, len, "(close reports nothing)");
	store_close(*s);
	*s = NULL;
	return 1;
}

static int
next_none(struct store **s, int rc)
{
	(void)s;
	(void)rc;
	return 0;
}

/* A close that failed to commit the deletes: the batches go again. */
static int
close_may_stay(uint64_t seq, int rc)
{
	(void)rc;
	return seq == first_seq || seq == first_seq + 1;
}

/* open: a start after a kill -9 (a WAL to recover, a run at risk). */
static int
open_run(struct store **s, char *err, size_t len)
{
	int rc = store_open("sqlite", work, s, err, len);

	if (rc == 0 && (*s)->alarm[0] != '\0')
		fail_msg("a healthy store quarantined: %s", (*s)->alarm);
	return rc;
}

/* A failed open is fatal: the service manager starts the daemon again. */
static int
open_next(struct store **s, int rc)
{
	if (rc < 0)
		*s = open_at(work, STORE_SYNC_NORMAL);
	return 0;
}

static const struct step steps[] = {
	{ "commit", &small, STORE_SYNC_NORMAL, commit_scene, commit_run, commit_next,
	    stay_none, 1 },
	{ "commit_full", &small, STORE_SYNC_FULL, commit_scene, commit_run,
	    commit_next, stay_none, 1 },
	{ "peek", &small, STORE_SYNC_NORMAL, no_scene, peek_run, peek_next, stay_none,
	    0 },
	{ "ack", &many, STORE_SYNC_NORMAL, ack_scene, ack_run, ack_next, ack_may_stay,
	    1 },
	{ "close", &small, STORE_SYNC_NORMAL, close_scene, close_run, next_none,
	    close_may_stay, 1 },
	{ "open", &crashed, STORE_SYNC_NORMAL, NULL, open_run, open_next, stay_none,
	    0 },
};

/* The sources of faults, as the test sweeps them. */
static const struct source {
	enum fi_source src;
	int flags;
	const char *name;
} sources[] = {
	{ FI_SQLITE_MALLOC, 0, "sqlite_malloc" },
	{ FI_OWN_MALLOC, 0, "own_malloc" },
	{ FI_VFS, 0, "vfs" },
	{ FI_VFS, FI_DISK_FULL, "vfs_full" },
};

/* What a run without a fault leaves: before the step, after it, at the end. */
struct refs {
	struct dump pre, post, final;
	unsigned long points;
	char ops[256];
};

static struct refs refs;
static struct dump got;

/* A fresh copy of the step's store, opened and its scene set (unless the
 * step opens it itself). */
static struct store *
start(const struct step *st)
{
	struct store *s = NULL;

	empty_dir(work_dir);
	copy_db(st->tpl->path, work);
	first_seq = st->tpl->first;
	if (st->scene != NULL) {
		s = open_at(work, st->sync);
		st->scene(s);
	}
	return s;
}

/* What the daemon does next; then a clean close, and the files. */
static void
finish(const struct step *st, struct store *s, int rc, struct dump *final,
    const char *what)
{
	int next = st->next(&s, rc);

	if (next < 0)
		fail_msg("%s (rc %d): what comes next fails: %s", what, rc, s->err);
	store_close(s);
	dump_db(work, final);
}

/* The state files copied now: what a start after a kill -9 would find. */
static void
snapshot(struct dump *d)
{
	copy_db(work, snap);
	dump_db(snap, d);
}

static void
reference(const struct step *st, const struct source *so, struct refs *r)
{
	struct store *s = start(st);
	char err[256];
	int rc;

	snapshot(&r->pre);
	err[0] = '\0';
	fi_arm(so->src, 0, so->flags);
	rc = st->run(&s, err, sizeof(err));
	r->points = fi_calls();
	fi_vfs_calls(r->ops, sizeof(r->ops));
	fi_disarm();
	if (rc < 0)
		fail_msg("%s: fails without a fault: %s", st->name, err);
	snapshot(&r->post);
	if (st->writes && dump_equal(&r->pre, &r->post))
		fail_msg("%s: the step wrote nothing", st->name);
	finish(st, s, rc, &r->final, st->name);
}

static int
in_dump(const struct dump *d, const struct row *r)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (row_equal(&d->r[i], r))
			return 1;
	return 0;
}

/*
 * The end state is the reference's, but for acknowledged batches the step
 * allows to stay (unchanged, with their own seq: sent again, deduplicated).
 */
static int
final_ok(const struct step *st, const struct dump *d, const struct refs *r, int rc)
{
	size_t i = 0, j = 0;

	if (memcmp(d->drops, r->final.drops, sizeof(d->drops)) != 0)
		return 0;
	while (i < d->n) {
		if (j < r->final.n && row_equal(&d->r[i], &r->final.r[j])) {
			i++;
			j++;
		} else if (in_dump(&r->pre, &d->r[i]) &&
		    st->may_stay((uint64_t)d->r[i].v[0], rc)) {
			i++;
		} else
			return 0;
	}
	return j == r->final.n;
}

static void
inject(const struct step *st, const struct source *so, unsigned long nth, int flags,
    const struct refs *r)
{
	char err[256], what[128], a[2048], b[2048], c[2048];
	struct store *s = start(st);
	unsigned long fired;
	int rc;

	err[0] = '\0';
	fi_arm(so->src, nth, so->flags | flags);
	rc = st->run(&s, err, sizeof(err));
	fired = fi_fired();
	fi_disarm();
	snprintf(what, sizeof(what), "%s, %s fault at %lu of %lu%s", st->name,
	    so->name, nth, r->points, flags & FI_PERSISTENT ? " on" : "");
	if ((nth <= r->points) != (fired > 0))
		fail_msg("%s: %lu faults injected", what, fired);
	if (fired == 0 && rc < 0)
		fail_msg("%s: failed without a fault: %s", what, err);
	if (rc < 0 && (err[0] == '\0' || strstr(err, "not an error") != NULL))
		fail_msg("%s: failed (%s) with no reason to log: '%s'", what,
		    strerror(-rc), err);
	/* hold.c makes room on -ENOSPC only: a full disk must say so. */
	if (rc < 0 && (so->flags & FI_DISK_FULL) && st->writes && rc != -ENOSPC)
		fail_msg("%s: a full disk reported as %s: %s", what, strerror(-rc), err);
	snapshot(&got);
	if (!dump_equal(&got, &r->post) && (rc == 0 || !dump_equal(&got, &r->pre))) {
		describe(&got, a, sizeof(a));
		describe(&r->pre, b, sizeof(b));
		describe(&r->post, c, sizeof(c));
		fail_msg("%s (rc %d: %s): the files hold neither the state before the "
		    "step nor after it:\n  now    %s\n  before %s\n  after  %s", what,
		    rc, err, a, b, c);
	}
	finish(st, s, rc, &got, what);
	if (!final_ok(st, &got, r, rc)) {
		describe(&got, a, sizeof(a));
		describe(&r->final, b, sizeof(b));
		fail_msg("%s (rc %d: %s): after the daemon went on:\n  got  %s\n  want "
		    "%s", what, rc, err, a, b);
	}
}

/* WG_FAULT_POINTS (0: all); by default 400, or 8 under valgrind. */
static unsigned long
points_wanted(void)
{
	const char *v = getenv("WG_FAULT_POINTS"), *pre = getenv("LD_PRELOAD");

	if (v != NULL && *v != '\0')
		return strtoul(v, NULL, 10);
	return pre != NULL && strstr(pre, "vgpreload") != NULL ? 8 : 400;
}

/*
 * The kth point (0-based) of want, of a step with n points: all of them if
 * they are few enough; else the first and last quarter of want one by one
 * (where the step begins and commits, or the open's first and last phases)
 * and the half between spread evenly over the middle (the ack's thousand
 * deletes are one statement run a thousand times).
 */
static unsigned long
point(unsigned long k, unsigned long want, unsigned long n)
{
	unsigned long edge = want / 4, mid = want - 2 * edge;

	if (want == 0 || want >= n)
		return k + 1;
	if (k < edge)
		return k + 1;
	if (k >= edge + mid)
		return n - (want - k) + 1;
	return edge + 1 + (k - edge) * (n - 2 * edge) / mid;
}

/* Every point of the step (or want of them), once and then on; then past them. */
static void
sweep(const struct step *st, const struct source *so)
{
	static const int modes[] = { 0, FI_PERSISTENT };
	unsigned long want = points_wanted(), k, n;
	size_t m;

	reference(st, so, &refs);
	n = want == 0 || want > refs.points ? refs.points : want;
	printf("fault_points_%s_%s=%lu\n", st->name, so->name, refs.points);
	if (n < refs.points)
		printf("fault_injected_%s_%s=%lu\n", st->name, so->name, n);
	if (so->src == FI_VFS && refs.points > 0)
		printf("fault_ops_%s_%s=%s\n", st->name, so->name, refs.ops);
	for (m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
		for (k = 0; k < n; k++)
			inject(st, so, point(k, n, refs.points), modes[m], &refs);
	inject(st, so, refs.points + 1, 0, &refs);
}

static void
test_step(void **state)
{
	const struct step *st = *state;
	const char *only = getenv("WG_FAULT_STEP");
	size_t i;

	if (only != NULL && *only != '\0' && strcmp(only, st->name) != 0)
		skip();

	for (i = 0; i < sizeof(sources) / sizeof(sources[0]); i++)
		sweep(st, &sources[i]);
}

/*
 * The stores the steps start from: a few batches; the ack list's worth and
 * more; and one as a kill -9 leaves it (a WAL to recover, the run at risk).
 */
static void
make_tpl(struct tpl *t, const char *name, unsigned n, int crash)
{
	static char body[ROWS_MAX][BODY_MAX];
	static struct store_batch v[ROWS_MAX];
	char src[340];
	struct store *s;
	unsigned i;

	snprintf(t->path, sizeof(t->path), "%s/%s", store_tmp_dir, name);
	snprintf(src, sizeof(src), "%s.src", t->path);
	s = open_at(crash ? src : t->path, STORE_SYNC_NORMAL);
	for (i = 0; i < n; i++)
		v[i] = batch(i + 1, body[i]);
	if (crash)
		for (i = 0; i < n; i++)
			assert_int_equal(store_append(s, &v[i]), 0);
	else
		assert_int_equal(store_append_many(s, v, n), 0);
	t->first = v[0].seq;
	if (crash)
		copy_db(src, t->path);
	store_close(s);
}

static int
group_setup(void **state)
{
	struct stat sb;

	(void)state;
	/*
	 * Thousands of stores opened, committed and closed, each with its
	 * fsyncs: on a disk that is most of the run (20 s against 8 s). The
	 * faults come from the VFS above the file system, so a file system in
	 * memory serves as well, unless TMPDIR says where to go.
	 */
	if (getenv("TMPDIR") == NULL && stat("/dev/shm", &sb) == 0 &&
	    S_ISDIR(sb.st_mode) && access("/dev/shm", W_OK) == 0)
		setenv("TMPDIR", "/dev/shm", 0);
	if (store_tmp_setup("work/store.db") < 0)
		return -1;
	snprintf(work_dir, sizeof(work_dir), "%s/work", store_tmp_dir);
	if (mkdir(work_dir, 0700) < 0)
		return -1;
	snprintf(snap, sizeof(snap), "%s/snap.db", store_tmp_dir);
	make_tpl(&small, "small.db", 4, 0);
	make_tpl(&many, "many.db", ACKS_FULL + 1, 0);
	make_tpl(&crashed, "crashed.db", 4, 1);
	/* After the store's first open, which makes its own sqlite3_config(). */
	return fi_install_vfs();
}

int
main(void)
{
	struct CMUnitTest tests[sizeof(steps) / sizeof(steps[0])];
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		tests[i] = (struct CMUnitTest){ steps[i].name, test_step, NULL, NULL,
		    (void *)&steps[i] };

	/* Before anything starts SQLite: it takes its allocator only then. */
	if (fi_install_malloc() < 0) {
		fprintf(stderr, "test_store_faults: SQLite refused the allocator\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, group_setup, store_tmp_teardown);
}
