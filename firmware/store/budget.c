#include "firmware/store/budget.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/codec/batch.h"
#include "firmware/codec/schema.h"
#include "firmware/base/log.h"

int
budget_is_counter(const char *unit)
{
	static const char *const u[] = { "Wh", "kWh", "MWh", "varh", "kvarh",
	    "Mvarh", "VAh", "kVAh", "MVAh", NULL };
	size_t i;

	for (i = 0; u[i] != NULL; i++)
		if (strcmp(unit, u[i]) == 0)
			return 1;
	return 0;
}

static int
cmp_series_ts(const void *pa, const void *pb)
{
	const struct reading *a = pa, *b = pb;

	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	if (a->point != b->point)
		return a->point < b->point ? -1 : 1;
	return (a->ts_ms > b->ts_ms) - (a->ts_ms < b->ts_ms);
}

static int
cmp_i64(const void *pa, const void *pb)
{
	int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;

	return (a > b) - (a < b);
}

/* Index of ts among the batch's sorted distinct timestamps. */
static size_t
ts_index(const int64_t *t, size_t nt, int64_t ts)
{
	size_t lo = 0, hi = nt;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (t[mid] < ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int
counter_point(const struct schema *sc, const struct reading *r)
{
	return sc != NULL && r->dev < sc->n_devices &&
	    r->point < sc->devices[r->dev].n_points &&
	    budget_is_counter(sc->devices[r->dev].points[r->point].unit);
}

/*
 * Keep the readings at every THIN_EVERY-th timestamp of the batch, and the
 * last reading of a counter series in each window of THIN_EVERY timestamps.
 * Returns the number kept (r is compacted).
 */
static size_t
thin_readings(struct reading *r, size_t n, const struct schema *sc)
{
	int64_t *t = malloc((n ? n : 1) * sizeof(*t));
	size_t nt = 0, i, k = 0;

	if (t == NULL)
		return n;
	for (i = 0; i < n; i++)
		t[i] = r[i].ts_ms;
	qsort(t, n, sizeof(*t), cmp_i64);
	for (i = 0; i < n; i++)
		if (nt == 0 || t[nt - 1] != t[i])
			t[nt++] = t[i];
	qsort(r, n, sizeof(*r), cmp_series_ts);
	for (i = 0; i < n; i++) {
		size_t w = ts_index(t, nt, r[i].ts_ms);
		int last_in_window = i + 1 == n || r[i + 1].dev != r[i].dev ||
		    r[i + 1].point != r[i].point ||
		    ts_index(t, nt, r[i + 1].ts_ms) / THIN_EVERY != w / THIN_EVERY;

		if (w % THIN_EVERY == 0 || (last_in_window && counter_point(sc, &r[i])))
			r[k++] = r[i];
	}
	free(t);
	return k;
}

/* Thin batch b in place in the store; 0, 1 if nothing to gain, or -errno. */
static int
thin_batch(struct store *s, const struct store_batch *b, struct budget_counts *c)
{
	struct store_batch nb = *b;
	struct reading *r = NULL;
	struct schema sc, *scp = NULL;
	uint8_t *body = NULL;
	size_t n, k, len, raw_len;
	char *json = NULL, err[128];
	uint64_t seq = b->seq;
	uint32_t id;
	int rc;

	if ((r = calloc(b->n_readings ? b->n_readings : 1, sizeof(*r))) == NULL)
		return -ENOMEM;
	rc = batch_decode_body(b->body, b->body_len, b->raw_len, b->flags, r,
	    b->n_readings, &n, NULL);
	if (rc < 0) {
		free(r);
		return 1;	/* undecodable: can only be evicted */
	}
	/* b->body is the store's peek buffer: used up before the next store call. */
	if (store_get_schema(s, b->schema_id, &json) == 0 &&
	    schema_from_json(json, strlen(json), &sc, &id, err, sizeof(err)) == 0)
		scp = &sc;
	free(json);
	k = thin_readings(r, n, scp);
	if (scp != NULL)
		schema_free(scp);
	if (k == n) {
		free(r);
		return 1;
	}
	if ((body = malloc(batch_body_bound(k))) == NULL) {
		free(r);
		return -ENOMEM;
	}
	nb.flags = 0;
	rc = batch_encode_body(r, k, body, batch_body_bound(k), &len, &nb.flags,
	    &raw_len);
	if (rc == 0 && len >= b->body_len)
		rc = 1;		/* irregular times can cost more than they save */
	if (rc == 0) {
		nb.t_first = batch_t_first(r, k);
		nb.n_readings = (uint32_t)k;
		nb.raw_len = raw_len;
		nb.body = body;
		nb.body_len = len;
		if ((rc = store_rewrite(s, seq, &nb)) == 0) {
			c->thinned_batches++;
			c->thinned_readings += n - k;
			log_warnx("store budget: batch %llu thinned from %zu to %zu "
			    "readings", (unsigned long long)seq, n, k);
		}
	}
	free(body);
	free(r);
	return rc;
}

static int
evict(struct store *s, const struct store_batch *b, const char *why,
    struct budget_counts *c)
{
	uint64_t seq = b->seq, last = b->seq_last;
	uint32_t n = b->n_readings;
	int rc;

	if ((rc = store_rewrite(s, seq, NULL)) < 0)
		return rc;
	c->evicted_batches++;
	c->evicted_readings += n;
	log_warnx("store budget: batch %llu..%llu evicted (%u readings): %s",
	    (unsigned long long)seq, (unsigned long long)last, n, why);
	return 0;
}

int
budget_apply(struct store *s, uint64_t max_bytes, int64_t max_age_ms,
    int64_t now_ms, struct budget_counts *c)
{
	struct store_stats st;
	struct store_batch b;
	uint64_t after = 0;
	int rc;

	/* Age: whole batches whose newest possible reading is too old. */
	while (now_ms > 0 && max_age_ms > 0) {
		if ((rc = store_peek(s, 0, &b)) == -ENOENT)
			break;
		if (rc < 0)
			return rc;
		if (b.t_first >= now_ms - max_age_ms)
			break;
		if ((rc = evict(s, &b, "older than the age budget", c)) < 0)
			return rc;
	}
	/* Bytes: thin the oldest batches not thinned yet, then evict the oldest. */
	for (;;) {
		if ((rc = store_stats(s, &st)) < 0)
			return rc;
		if (st.bytes <= max_bytes)
			return 0;
		if ((rc = store_peek(s, after, &b)) == -ENOENT)
			break;
		if (rc < 0)
			return rc;
		after = b.seq_last;
		if (!b.thinned && (rc = thin_batch(s, &b, c)) < 0)
			return rc;
	}
	for (;;) {
		if ((rc = store_stats(s, &st)) < 0)
			return rc;
		if (st.bytes <= max_bytes)
			return 0;
		if ((rc = store_peek(s, 0, &b)) < 0)
			return rc == -ENOENT ? 0 : rc;
		if ((rc = evict(s, &b, "over the byte budget", c)) < 0)
			return rc;
	}
}
