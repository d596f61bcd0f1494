#include "firmware/store/split.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/codec/batch.h"
#include "firmware/base/log.h"

static int
by_time(const void *a, const void *b)
{
	const struct reading *x = a, *y = b;

	if (x->ts_ms != y->ts_ms)
		return x->ts_ms < y->ts_ms ? -1 : 1;
	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	return x->point < y->point ? -1 : x->point > y->point;
}

/*
 * Where the older half ends: near the middle, on a change of timestamp if
 * there is one, so that the readings of one poll go into one half.
 */
static size_t
cut_at(const struct reading *r, size_t n)
{
	size_t mid = n / 2, d;

	for (d = 0; d < n / 2; d++) {
		if (mid + d < n && r[mid + d - 1].ts_ms != r[mid + d].ts_ms)
			return mid + d;
		if (mid - d > 1 && r[mid - d - 2].ts_ms != r[mid - d - 1].ts_ms)
			return mid - d - 1;
	}
	return mid;
}

/* Encode r[0..n) as the half h covering seqs first..last. */
static int
half(struct store_batch *h, const struct store_batch *b, const struct reading *r,
    size_t n, uint64_t first, uint64_t last)
{
	size_t cap = batch_body_bound(n), len, raw_len;
	uint8_t flags = b->flags & ~BATCH_F_DEFLATE, *body;
	int rc;

	if ((body = malloc(cap)) == NULL)
		return -ENOMEM;
	if ((rc = batch_encode_body(r, n, body, cap, &len, &flags, &raw_len)) < 0) {
		free(body);
		return rc;
	}
	memset(h, 0, sizeof(*h));
	h->seq = first;
	h->seq_last = last;
	h->thinned = b->thinned;
	h->schema_id = b->schema_id;
	h->flags = flags;
	h->t_first = batch_t_first(r, n);
	h->n_readings = (uint32_t)n;
	h->raw_len = raw_len;
	h->body = body;
	h->body_len = len;
	return 0;
}

int
split_batch(struct store *s, uint64_t seq, struct split_result *res)
{
	struct store_batch b, lo = { 0 }, hi = { 0 };
	struct reading *r = NULL;
	const char *why = NULL;
	uint64_t lo_last;
	size_t n, cut;
	int rc;

	if (seq == 0)
		return -ENOENT;
	if ((rc = store_peek(s, seq - 1, &b)) < 0)
		return rc;
	if (b.seq != seq)
		return -ENOENT;
	if (b.seq_last <= b.seq || b.n_readings < 2)
		return -EMSGSIZE;
	if ((r = calloc(b.n_readings, sizeof(*r))) == NULL)
		return -ENOMEM;
	rc = batch_decode_body(b.body, b.body_len, b.raw_len, b.flags, r,
	    b.n_readings, &n, &why);
	if (rc == 0 && n != b.n_readings)
		rc = -EBADMSG, why = "reading count differs from the stored one";
	if (rc < 0) {
		log_warnx("split: stored batch %llu does not decode (%s)",
		    (unsigned long long)seq, why ? why : strerror(-rc));
		rc = rc == -ENOMEM ? rc : -EBADMSG;
		goto out;
	}
	qsort(r, n, sizeof(*r), by_time);
	cut = cut_at(r, n);
	lo_last = b.seq + (b.seq_last - b.seq) / 2;
	if ((rc = half(&lo, &b, r, cut, b.seq, lo_last)) < 0 ||
	    (rc = half(&hi, &b, r + cut, n - cut, lo_last + 1, b.seq_last)) < 0 ||
	    (rc = store_split(s, &lo, &hi)) < 0)
		goto out;
	res->lo = lo.seq;
	res->lo_last = lo.seq_last;
	res->hi = hi.seq;
	res->hi_last = hi.seq_last;
	res->lo_readings = lo.n_readings;
	res->hi_readings = hi.n_readings;
out:
	free((void *)lo.body);
	free((void *)hi.body);
	free(r);
	return rc;
}
