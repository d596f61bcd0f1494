/*
 * cut_io's undo log and the cut itself (cut_io.c says what they model).
 * Records are appended by every process to one file, COUNTER.undo, with
 * the shared mutex held; the process that reaches the N-th operation reads
 * it back, plays it backwards and takes the process group down.
 */
#include "tests/preload/cut_io.h"

REAL(ssize_t, writev, int, const struct iovec *, int)
REAL(int, unlinkat, int, const char *, int)

/* A record and what follows it, padded so the next one is 8-byte aligned
 * (play_back reads them in place). */
static size_t
rec_span(const struct rec *r)
{
	return (sizeof(*r) + r->path_len + r->path2_len + (size_t)r->data_len + 7) &
	    ~(size_t)7;
}

static void
rec_append(struct rec *r, const char *path, const char *path2, const void *data)
{
	static const uint8_t pad[8];
	struct iovec v[5] = {
		{ r, sizeof(*r) },
		{ (void *)path, r->path_len },
		{ (void *)path2, r->path2_len },
		{ (void *)data, (size_t)r->data_len },
		{ (void *)pad, 0 },
	};

	v[4].iov_len = rec_span(r) - (sizeof(*r) + r->path_len + r->path2_len +
	    (size_t)r->data_len);
	bind_writev();
	if (real_writev(g.undo_fd, v, 5) < 0)
		dprintf(2, "cut_io: undo log: %s\n", strerror(errno));
}

static void
stash_name(uint64_t id, char *out)
{
	snprintf(out, PATH_MAX, "%s.stash/%llu", g.counter, (unsigned long long)id);
}

/* Hard-links path into the stash: 0 and *id, or -1 (nothing there, EXDEV). */
int
stash(const char *path, uint64_t *id)
{
	char s[PATH_MAX];

	*id = ((uint64_t)g.pid << 32) | ++g.stash_seq;
	stash_name(*id, s);
	return link(path, s) == 0 ? 0 : -1;
}

void
put_ns(enum kind k, const char *path, const char *path2, int stashed,
    uint64_t id)
{
	struct rec r = { .kind = k, .stashed = (uint32_t)stashed, .stash_id = id };
	char dir[PATH_MAX];
	struct stat st;

	dir_of(path2 != NULL ? path2 : path, dir);
	if (stat(dir, &st) == 0) {
		r.dev = st.st_dev;
		r.ino = st.st_ino;
	}
	r.path_len = (uint32_t)strlen(path);
	r.path2_len = path2 != NULL ? (uint32_t)strlen(path2) : 0;
	rec_append(&r, path, path2, NULL);
}

void
put_sync(int fd, enum kind k)
{
	struct rec r = { .kind = k };
	struct stat st;

	if (k == K_SYNC) {
		if (fstat(fd, &st) < 0)
			return;
		r.dev = st.st_dev;
		r.ino = st.st_ino;
	}
	rec_append(&r, "", NULL, NULL);
}

/*
 * The bytes before a write: through fd, or, if fd is write-only (the slot
 * writer's is), through a descriptor of our own on the same inode.
 */
static ssize_t
read_old(int fd, const char *path, const struct stat *st, void *buf,
    size_t len, off_t off)
{
	struct stat st2;
	ssize_t n;
	int rfd;

	if ((fcntl(fd, F_GETFL) & O_ACCMODE) != O_WRONLY)
		return pread(fd, buf, len, off);
	if ((rfd = sys_open(path, O_RDONLY, 0)) < 0)
		return -1;
	n = fstat(rfd, &st2) == 0 && st2.st_ino == st->st_ino &&
	    st2.st_dev == st->st_dev ? pread(rfd, buf, len, off) : -1;
	sys_close(rfd);
	return n;
}

/* What [off, off + len) of the file holds now, and its size. */
void
put_data(int fd, const char *path, off_t off, uint64_t len)
{
	struct rec r = { .kind = K_DATA, .off = off };
	struct stat st;
	uint8_t *buf = NULL;
	ssize_t n;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		return;
	r.dev = st.st_dev;
	r.ino = st.st_ino;
	r.old_size = st.st_size;
	if (off < st.st_size && len > 0) {
		r.data_len = (uint64_t)(st.st_size - off) < len ?
		    (uint64_t)(st.st_size - off) : len;
		if ((buf = malloc(r.data_len)) == NULL ||
		    (n = read_old(fd, path, &st, buf, r.data_len, off)) < 0) {
			dprintf(2, "cut_io: %s: cannot save what a write overwrites\n",
			    path);
			free(buf);
			return;
		}
		r.data_len = (uint64_t)n;
	}
	r.path_len = (uint32_t)strlen(path);
	rec_append(&r, path, NULL, buf);
	free(buf);
}


struct undo_stats {
	unsigned long data, create, unlink, rename, failed;
};

static void
undo_one(const struct rec *r, const char *path, const char *path2,
    const uint8_t *data, struct undo_stats *s)
{
	char st_name[PATH_MAX];
	struct stat st;
	int fd;

	switch (r->kind) {
	case K_DATA:
		if ((fd = sys_open(path, O_WRONLY, 0)) < 0 || fstat(fd, &st) < 0 ||
		    st.st_ino != r->ino || st.st_dev != r->dev) {
			s->failed++;
			if (fd >= 0)
				sys_close(fd);
			return;
		}
		if ((r->data_len > 0 && pwrite(fd, data, r->data_len, r->off) !=
		    (ssize_t)r->data_len) || ftruncate(fd, r->old_size) < 0)
			s->failed++;
		sys_close(fd);
		s->data++;
		return;
	case K_CREATE:
		bind_unlinkat();
		s->create += real_unlinkat(AT_FDCWD, path, 0) == 0;
		return;
	case K_RMDIR:
		s->unlink += mkdir(path, 0755) == 0;
		return;
	case K_UNLINK:
		stash_name(r->stash_id, st_name);
		if (!r->stashed || sys_rename(st_name, path) < 0)
			s->failed++;
		else
			s->unlink++;
		return;
	case K_RENAME:
		if (sys_rename(path2, path) < 0) {
			s->failed++;
			return;
		}
		stash_name(r->stash_id, st_name);
		if (r->stashed && sys_rename(st_name, path2) < 0)
			s->failed++;
		s->rename++;
		return;
	}
}

/*
 * Plays the undo log backwards. Walking from the end, a sync adds its inode
 * to the set of those synced later: a record of such an inode (a file's
 * write, a directory's names) is durable and stays.
 */
static void
play_back(struct undo_stats *s)
{
	const struct rec **recs = NULL, **more;
	uint64_t (*synced)[2] = NULL;
	size_t len = 0, cap = 0, n = 0, n_synced = 0, i, j, off;
	uint8_t *log = NULL, *bigger;
	char path[PATH_MAX], path2[PATH_MAX];
	int fd, all = 0;
	ssize_t got;

	snprintf(path, sizeof(path), "%s.undo", g.counter);
	if ((fd = sys_open(path, O_RDONLY, 0)) < 0)
		return;
	for (;;) {
		if (len == cap) {
			if ((bigger = realloc(log, cap = cap ? cap * 2 : 1 << 20)) == NULL)
				break;
			log = bigger;
		}
		if ((got = read(fd, log + len, cap - len)) <= 0)
			break;
		len += (size_t)got;
	}
	sys_close(fd);
	for (off = 0; log != NULL && off + sizeof(struct rec) <= len; n++) {
		const struct rec *r = (const struct rec *)(log + off);

		off += rec_span(r);
		if (off > len)
			break;		/* cut short: it never happened */
		if ((n & (n - 1)) == 0) {
			if ((more = realloc(recs, (n ? n * 2 : 1) * sizeof(*recs))) ==
			    NULL)
				break;
			recs = more;
		}
		recs[n] = r;
	}
	if ((synced = calloc(n + 1, sizeof(*synced))) == NULL)
		n = 0;
	for (i = n; i-- > 0 && !all;) {
		const struct rec *r = recs[i];
		const char *p = (const char *)(r + 1);
		int durable = 0;

		if (r->kind == K_SYNC_ALL) {
			all = 1;
			continue;
		}
		for (j = 0; j < n_synced && !durable; j++)
			durable = synced[j][0] == r->dev && synced[j][1] == r->ino;
		if (r->kind == K_SYNC) {
			if (!durable) {
				synced[n_synced][0] = r->dev;
				synced[n_synced++][1] = r->ino;
			}
			continue;
		}
		if (durable)
			continue;
		snprintf(path, sizeof(path), "%.*s", (int)r->path_len, p);
		snprintf(path2, sizeof(path2), "%.*s", (int)r->path2_len,
		    p + r->path_len);
		undo_one(r, path, path2, (const uint8_t *)(p + r->path_len +
		    r->path2_len), s);
	}
	free(synced);
	free(recs);
	free(log);
}

void
cut(const char *op, const char *path, unsigned long long n)
{
	struct undo_stats s = { 0 };
	char comm[64] = "?";
	int fd;
	ssize_t k;

	atomic_store(&g.sh->cut, 1);
	if (g.undo)
		play_back(&s);
	if ((fd = sys_open("/proc/self/comm", O_RDONLY, 0)) >= 0) {
		if ((k = read(fd, comm, sizeof(comm) - 1)) > 0)
			comm[k - (comm[k - 1] == '\n')] = '\0';
		sys_close(fd);
	}
	if (g.log[0] != '\0')
		say(g.log, "cut %llu: %s %s (pid %d %s): undone %lu write(s), %lu "
		    "creation(s), %lu unlink(s), %lu rename(s); %lu not undone\n", n,
		    op, path, (int)g.pid, comm, s.data, s.create, s.unlink, s.rename,
		    s.failed);
	kill(0, SIGKILL);
	kill(getpid(), SIGKILL);
	_exit(137);
}

