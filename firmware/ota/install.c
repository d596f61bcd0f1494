/*
 * The update's worker thread (install.h): fetch, verify, write, read back.
 *
 * A chunk is fetched into memory whole before a byte of it reaches the
 * slot. A transfer that breaks in the middle of a chunk resumes at the byte
 * it reached (the range request starts there, the hash goes on), so a bad
 * link costs no byte twice; only a power cut loses the chunk under way.
 * Transient failures back off (1 s doubling to 60 s) and give up after
 * cfg->retries in a row without a new byte; a bad bundle or server gives up
 * at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/sha256.h>

#include "firmware/base/wfile.h"
#include "firmware/ota/fetch.h"
#include "firmware/ota/install.h"

#define QUEUE	32
#define BACKOFF_MAX_S	60
/* The download yields to the live data path: the loop's thread stays at 0. */
#define WORKER_NICE	10

struct ota_worker {
	struct ota_install_cfg cfg;
	pthread_t thread;
	int started;
	int efd;
	volatile int cancel;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ota_ev q[QUEUE];
	size_t head, len;
	uint64_t fetched;
	/* the chunk under way */
	uint8_t *buf;
	size_t have, want;
};

static void
post(struct ota_worker *w, enum ota_ev_kind kind, size_t chunk, int rc,
    const char *why)
{
	struct ota_ev *ev;
	uint64_t one = 1;

	pthread_mutex_lock(&w->mu);
	while (w->len == QUEUE && !w->cancel)
		pthread_cond_wait(&w->cv, &w->mu);
	if (w->len < QUEUE) {
		ev = &w->q[(w->head + w->len++) % QUEUE];
		memset(ev, 0, sizeof(*ev));
		ev->kind = kind;
		ev->chunk = chunk;
		ev->rc = rc;
		ev->fetched = w->fetched;
		snprintf(ev->why, sizeof(ev->why), "%s", why != NULL ? why : "");
	}
	pthread_mutex_unlock(&w->mu);
	(void)!write(w->efd, &one, sizeof(one));
}

static int
on_data(void *arg, const uint8_t *p, size_t n)
{
	struct ota_worker *w = arg;

	w->fetched += n;
	if (n > w->want - w->have)
		return -EMSGSIZE;	/* fetch refuses it too; never past the chunk */
	memcpy(w->buf + w->have, p, n);
	w->have += n;
	return 0;
}

/* Sleeps s seconds, or less if cancelled. */
static void
nap(struct ota_worker *w, unsigned s)
{
	unsigned i;

	for (i = 0; i < s * 10 && !w->cancel; i++)
		nanosleep(&(struct timespec){ 0, 100000000L }, NULL);
}

/* Fetches chunk k into w->buf whole. 0, or -EPERM/-ECANCELED/-EAGAIN (gave up). */
static int
fetch_chunk(struct ota_worker *w, size_t k, char *why, size_t len)
{
	const struct ota_install_cfg *c = &w->cfg;
	uint64_t at = (uint64_t)k * c->m.chunk;
	unsigned fails = 0, backoff = 1;
	struct fetch_req r = { 0 };
	char msg[sizeof(((struct ota_ev *)0)->why)];
	uint64_t got;
	int rc;

	w->want = (size_t)(c->m.size - at < c->m.chunk ? c->m.size - at : c->m.chunk);
	w->have = 0;
	r.url = c->url;
	r.ca_file = c->ca[0] != '\0' ? c->ca : NULL;
	r.psk_file = c->psk[0] != '\0' ? c->psk : NULL;
	r.allow_http = c->allow_http;
	r.rate_bps = c->rate_bps;
	r.stall_s = 30;
	for (;;) {
		size_t before = w->have;

		r.from = c->offset + at + w->have;
		r.to = c->offset + at + w->want;
		got = 0;
		rc = fetch_range(&r, on_data, w, &w->cancel, &got, msg, sizeof(msg));
		if (rc == 0 && w->have == w->want)
			return 0;
		if (w->cancel)
			return -ECANCELED;
		if (rc == 0)
			snprintf(msg, sizeof(msg), "%.200s: the transfer ended early", c->url);
		if (rc == -EPERM || rc == -EMSGSIZE || rc == -EINVAL) {
			snprintf(why, len, "%s", msg);
			return -EPERM;
		}
		fails = w->have > before ? 1 : fails + 1;
		if (w->have > before)
			backoff = 1;
		if (fails > c->retries) {
			snprintf(why, len, "gave up after %u tries without a byte: %.250s",
			    fails, msg);
			return -EAGAIN;
		}
		post(w, OTA_EV_RETRY, k, rc, msg);
		nap(w, backoff);
		backoff = backoff * 2 > BACKOFF_MAX_S ? BACKOFF_MAX_S : backoff * 2;
	}
}

int
ota_hash_file(const char *path, uint64_t len, uint8_t out[32])
{
	mbedtls_sha256_context h;
	uint8_t buf[65536];
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	/* What is on the medium, not what the page cache remembers writing. */
	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	mbedtls_sha256_init(&h);
	mbedtls_sha256_starts_ret(&h, 0);
	while (len > 0) {
		ssize_t n = read(fd, buf, len < sizeof(buf) ? (size_t)len : sizeof(buf));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -ENODATA;
			break;
		}
		mbedtls_sha256_update_ret(&h, buf, (size_t)n);
		len -= (uint64_t)n;
	}
	mbedtls_sha256_finish_ret(&h, out);
	mbedtls_sha256_free(&h);
	close(fd);
	return rc;
}

static int
install(struct ota_worker *w, char *why, size_t len)
{
	const struct ota_install_cfg *c = &w->cfg;
	uint8_t sum[32];
	size_t k;
	int fd, rc;

	if ((fd = open(c->slot, O_WRONLY | O_CLOEXEC)) < 0) {
		snprintf(why, len, "slot %.200s: %s", c->slot, strerror(errno));
		return -EIO;
	}
	for (k = c->first_chunk; k < c->m.n_chunks; k++) {
		if ((rc = fetch_chunk(w, k, why, len)) < 0)
			goto out;
		mbedtls_sha256_ret(w->buf, w->want, sum, 0);
		if (memcmp(sum, c->m.chunks[k], 32) != 0) {
			snprintf(why, len, "chunk %zu of %zu (bytes %llu..%llu): its "
			    "SHA-256 is not the manifest's", k, c->m.n_chunks,
			    (unsigned long long)k * c->m.chunk,
			    (unsigned long long)k * c->m.chunk + w->want);
			rc = -EPERM;
			goto out;
		}
		if ((rc = wfile_pwrite_all(fd, w->buf, w->want,
		    (off_t)k * c->m.chunk)) < 0 ||
		    (fdatasync(fd) < 0 && (rc = -errno) < 0)) {
			snprintf(why, len, "slot %.200s: writing chunk %zu: %s", c->slot, k,
			    strerror(-rc));
			rc = -EIO;
			goto out;
		}
		post(w, OTA_EV_CHUNK, k, 0, NULL);
	}
	close(fd);
	fd = -1;
	if ((rc = ota_hash_file(c->slot, c->m.size, sum)) < 0) {
		snprintf(why, len, "slot %.200s: reading back: %s", c->slot, strerror(-rc));
		rc = -EIO;
	} else if (memcmp(sum, c->m.sha256, 32) != 0) {
		snprintf(why, len, "slot %.200s read back does not match the manifest's "
		    "SHA-256", c->slot);
		rc = -EIO;
	}
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

static void *
run(void *arg)
{
	struct ota_worker *w = arg;
	char why[sizeof(((struct ota_ev *)0)->why)] = "";
	int rc;

	(void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WORKER_NICE);
	rc = install(w, why, sizeof(why));
	if (rc == 0)
		post(w, OTA_EV_VERIFIED, w->cfg.m.n_chunks, 0, NULL);
	else
		post(w, OTA_EV_FAILED, 0, w->cancel ? -ECANCELED : rc,
		    w->cancel ? "cancelled" : why);
	return NULL;
}

int
ota_worker_start(const struct ota_install_cfg *cfg, struct ota_worker **out)
{
	struct ota_worker *w;
	int rc;

	*out = NULL;
	if (cfg->m.chunk == 0 || cfg->m.size > cfg->slot_size)
		return -EINVAL;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -ENOMEM;
	w->cfg = *cfg;
	w->efd = -1;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	if ((w->buf = malloc(cfg->m.chunk)) == NULL) {
		rc = -ENOMEM;
		goto fail;
	}
	if ((w->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		rc = -errno;
		goto fail;
	}
	if ((rc = pthread_create(&w->thread, NULL, run, w)) != 0) {
		rc = -rc;
		goto fail;
	}
	w->started = 1;
	*out = w;
	return 0;
fail:
	ota_worker_free(w);
	return rc;
}

int
ota_worker_fd(const struct ota_worker *w)
{
	return w->efd;
}

int
ota_worker_next(struct ota_worker *w, struct ota_ev *ev)
{
	uint64_t v;
	int rc = -EAGAIN;

	(void)!read(w->efd, &v, sizeof(v));
	pthread_mutex_lock(&w->mu);
	if (w->len > 0) {
		*ev = w->q[w->head];
		w->head = (w->head + 1) % QUEUE;
		w->len--;
		rc = 0;
		pthread_cond_signal(&w->cv);
		if (w->len > 0) {
			uint64_t one = 1;

			(void)!write(w->efd, &one, sizeof(one));
		}
	}
	pthread_mutex_unlock(&w->mu);
	return rc;
}

void
ota_worker_cancel(struct ota_worker *w)
{
	pthread_mutex_lock(&w->mu);
	w->cancel = 1;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void
ota_worker_free(struct ota_worker *w)
{
	if (w == NULL)
		return;
	if (w->started) {
		ota_worker_cancel(w);
		pthread_join(w->thread, NULL);
	}
	if (w->efd >= 0)
		close(w->efd);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w->buf);
	free(w);
}
