/*
 * Batch wire format v1 (docs/batch-format.md): the encoder and the header.
 *
 * The encoder sorts, lays the body out column by column (a point's values over
 * time sit next to each other, so deltas are small and deflate finds repeats)
 * and keeps the deflated form only when it is smaller. A live batch has one
 * value per column, so what a column costs besides its value matters there:
 * the points of a device go as runs of consecutive indices, and a plain column
 * (every timestamp, every reading OK) costs two bits besides its values. The
 * decoder is batch_dec.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "firmware/codec/batch.h"
#include "firmware/codec/batch_layout.h"
#include "firmware/codec/varint.h"

#define HDR_FIXED_MAX	(3 + BATCH_GW_MAX + 2 * VARINT_MAX + 4 + VARINT_MAX)

/* How an encoded column is written: the outcome of col_plan(). */
struct col_plan {
	uint8_t code;		/* 0..CODE_PLAIN_MAX or CODE_ESCAPE */
	uint8_t mode;		/* mode byte, with CODE_ESCAPE */
	int16_t e;		/* shared exponent, unless COL_PERVALUE_EXP */
	size_t n_ok;		/* readings with a value */
	size_t cost;		/* bytes, besides the column's code */
};

int
batch_gw_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		char c = s[i];

		if (i >= BATCH_GW_MAX)
			return 0;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return i > 0;
}

/* (point, ts) within one device: the column order of the body. */
static int
cmp_point_ts(const void *pa, const void *pb)
{
	const struct reading *a = pa, *b = pb;

	if (a->point != b->point)
		return a->point < b->point ? -1 : 1;
	if (a->ts_ms != b->ts_ms)
		return a->ts_ms < b->ts_ms ? -1 : 1;
	return 0;
}

/*
 * The smallest exponent among the nonzero values of c[0..k) into *e: every
 * value is an integer multiple of 10^*e. Returns 0 (and leaves *e) when there
 * is no nonzero value: then any exponent is exact.
 */
static int
col_exponent(const struct reading *c, size_t k, int16_t *e)
{
	int any = 0;
	size_t i;

	for (i = 0; i < k; i++) {
		if (c[i].quality != Q_OK || c[i].v.m == 0)
			continue;
		if (!any || c[i].v.e < *e)
			*e = c[i].v.e;
		any = 1;
	}
	return any;
}

/* m * 10^(e - to), or -ERANGE when it is not an integer or leaves int64. */
static int
scale(struct dec v, int16_t to, int64_t *out)
{
	int64_t m = v.m;
	int i;

	if (m != 0 && to > v.e)
		return -ERANGE;
	if (m != 0)
		for (i = to; i < v.e; i++)
			if (__builtin_mul_overflow(m, 10, &m))
				return -ERANGE;
	*out = m;
	return 0;
}

/*
 * The values of a column on the shared exponent e: deltas from pred, then
 * from each other. Counts their bytes into *bytes, writes them if w is not
 * NULL, and gives the first scaled mantissa in *first (the next column's
 * prediction). -ERANGE when a scaled mantissa or a delta leaves int64: the
 * caller tries another exponent or falls back to per-value exponents.
 */
static int
col_values(struct wbuf *w, const struct reading *c, size_t k, int16_t e,
    int64_t pred, int64_t *first, size_t *bytes)
{
	int64_t m, prev = pred, d;
	size_t i, j = 0;

	*bytes = 0;
	for (i = 0; i < k; i++) {
		if (c[i].quality != Q_OK)
			continue;
		if (scale(c[i].v, e, &m) < 0 ||
		    __builtin_sub_overflow(m, prev, &d))
			return -ERANGE;
		if (j++ == 0)
			*first = m;
		*bytes += svarint_len(d);
		if (w != NULL)
			wbuf_svarint(w, d);
		prev = m;
	}
	return 0;
}

/* Keep exponent e (with code) in *pl if the column is cheapest that way. */
static void
col_try(const struct reading *c, size_t k, const struct col_pred *p,
    uint8_t code, int16_t e, size_t overhead, struct col_plan *pl, int *have)
{
	int64_t first;
	size_t bytes;

	if (e < -DEC_EXP_MAX || e > DEC_EXP_MAX ||
	    col_values(NULL, c, k, e, col_pred_for(p, e), &first, &bytes) < 0)
		return;
	if (*have && bytes + overhead >= pl->cost)
		return;
	pl->code = code;
	pl->e = e;
	pl->cost = bytes + overhead;
	*have = 1;
}

/*
 * How to write the column c[0..k) of a block with n_ts timestamps and
 * exponent e_base: the cheapest of the plain codes (when every reading is
 * there and OK; ties go to the larger exponent, the shorter mantissa), an
 * escape with the column's own exponent or the predicting column's, and per-
 * value exponents when no shared exponent fits in int64.
 */
static void
col_plan(const struct reading *c, size_t k, size_t n_ts, int16_t e_base,
    const struct col_pred *p, struct col_plan *pl)
{
	size_t i, esc;
	int16_t emin = e_base;
	int code, have = 0;

	pl->mode = 0;
	pl->n_ok = 0;
	for (i = 0; i < k; i++)
		if (c[i].quality == Q_OK)
			pl->n_ok++;
	if (k < n_ts)
		pl->mode |= COL_PRESENCE;
	if (pl->n_ok < k)
		pl->mode |= COL_INVALID;
	col_exponent(c, k, &emin);
	if (pl->mode == 0)
		for (code = CODE_PLAIN_MAX; code >= 0; code--)
			col_try(c, k, p, (uint8_t)code, (int16_t)(e_base + code),
			    0, pl, &have);
	if (pl->n_ok == 0) {
		pl->code = CODE_ESCAPE;
		return;
	}
	esc = 1 + ((pl->mode & COL_PRESENCE) ? (n_ts + 7) / 8 : 0) +
	    ((pl->mode & COL_INVALID) ? (k + 7) / 8 : 0);
	col_try(c, k, p, CODE_ESCAPE, emin, esc + svarint_len(emin), pl, &have);
	if (p->m != 0 && p->e < emin)
		col_try(c, k, p, CODE_ESCAPE, (int16_t)p->e,
		    esc + svarint_len(p->e), pl, &have);
	if (!have) {
		pl->code = CODE_ESCAPE;
		pl->mode |= COL_PERVALUE_EXP;
	}
}

/*
 * Room for a bitmap of nbits bits, zeroed; returns its offset, not a pointer,
 * because the next write may move the buffer.
 */
static size_t
wbuf_bitmap(struct wbuf *w, size_t nbits)
{
	size_t at = w->len;
	uint8_t *b = wbuf_reserve(w, (nbits + 7) / 8);

	if (b != NULL)
		memset(b, 0, (nbits + 7) / 8);
	return at;
}

static void
wbuf_setbits(struct wbuf *w, size_t at, size_t bit, unsigned v)
{
	if (!w->err)
		w->p[at + bit / 8] |= (uint8_t)(v << (bit % 8));
}

/*
 * One column as planned: the readings c[0..k) of one point, ascending in
 * time, against the device's timestamp list ts[0..n_ts). Updates the
 * prediction for the next column.
 */
static void
enc_column(struct wbuf *w, const struct reading *c, size_t k,
    const int64_t *ts, size_t n_ts, const struct col_plan *pl,
    struct col_pred *p)
{
	size_t i, j, pres = 0, inv = 0, bytes;
	int64_t first = 0;

	if (pl->code == CODE_ESCAPE) {
		wbuf_u8(w, pl->mode);
		if (pl->mode & COL_PRESENCE)
			pres = wbuf_bitmap(w, n_ts);
		if (pl->mode & COL_INVALID)
			inv = wbuf_bitmap(w, k);
		for (i = 0, j = 0; i < k; i++) {
			while (ts[j] != c[i].ts_ms)
				j++;
			if (pl->mode & COL_PRESENCE)
				wbuf_setbits(w, pres, j, 1);
			if (c[i].quality != Q_OK)
				wbuf_setbits(w, inv, i, 1);
		}
		if (pl->n_ok > 0 && !(pl->mode & COL_PERVALUE_EXP))
			wbuf_svarint(w, pl->e);
	}
	if (pl->mode & COL_PERVALUE_EXP) {
		for (i = 0; i < k; i++) {
			if (c[i].quality != Q_OK)
				continue;
			wbuf_svarint(w, c[i].v.e);
			wbuf_svarint(w, c[i].v.m);
		}
		return;
	}
	if (pl->n_ok == 0)
		return;
	col_values(w, c, k, pl->e, col_pred_for(p, pl->e), &first, &bytes);
	p->e = pl->e;
	p->m = first;
}

/*
 * The points of a block (r sorted by point) as runs of consecutive indices:
 * a count, then per run the gap after the previous run and its length - 1.
 * Returns the number of columns.
 */
static size_t
enc_runs(struct wbuf *w, const struct reading *r, size_t n)
{
	size_t i, n_cols = 0, n_runs = 0;
	long first = 0, end = -1;	/* end: the last point of the last run */

	for (i = 0; i < n; i++) {
		if (i > 0 && r[i].point == r[i - 1].point)
			continue;
		n_cols++;
		if (i == 0 || r[i].point != r[i - 1].point + 1)
			n_runs++;
	}
	wbuf_varint(w, n_runs);
	for (i = 0; i <= n; i++) {
		if (i > 0 && i < n && r[i].point <= r[i - 1].point + 1)
			continue;	/* same column, or the run goes on */
		if (i > 0) {
			wbuf_varint(w, (uint64_t)(first - end - 1));
			wbuf_varint(w, (uint64_t)(r[i - 1].point - first));
			end = r[i - 1].point;
		}
		if (i < n)
			first = r[i].point;
	}
	return n_cols;
}

/*
 * The block's exponent. A plain column (all there, all OK) has the smallest
 * exponent of its nonzero values; e_base is the smallest of these for which
 * the most plain columns have theirs within e_base .. e_base +
 * CODE_PLAIN_MAX, 0 without such columns. Those columns then cost nothing
 * for their exponent, and one column far off (0.000001 among values in
 * tenths) is escaped rather than scaling all the others.
 */
static int16_t
block_exponent(const struct reading *r, size_t n, size_t n_ts)
{
	static const size_t span = 2 * DEC_EXP_MAX + 1;
	size_t count[2 * DEC_EXP_MAX + 1 + CODE_PLAIN_MAX];
	size_t i, j, in, best = 0;
	int16_t e = 0, ce = 0;

	memset(count, 0, sizeof(count));
	for (i = 0; i < n; i = j) {
		int ok = 1;

		for (j = i; j < n && r[j].point == r[i].point; j++)
			if (r[j].quality != Q_OK)
				ok = 0;
		if (ok && j - i == n_ts && col_exponent(r + i, j - i, &ce))
			count[ce + DEC_EXP_MAX]++;
	}
	for (i = 0; i < span; i++) {
		if (count[i] == 0)
			continue;
		for (in = 0, j = i; j <= i + CODE_PLAIN_MAX; j++)
			in += count[j];
		if (in > best) {
			best = in;
			e = (int16_t)((long)i - DEC_EXP_MAX);
		}
	}
	return e;
}

/*
 * A device's timestamp list: an offset from base, then deltas of deltas.
 * Every timestamp is within +-2^62, but two of them can still be 2^63 apart,
 * which no svarint holds: such a batch is refused.
 */
static int
enc_timestamps(struct wbuf *w, const int64_t *tsl, size_t n_ts, int64_t base)
{
	int64_t d, dprev = 0;
	size_t i;

	for (i = 0; i < n_ts; i++) {
		if (__builtin_sub_overflow(tsl[i], i > 0 ? tsl[i - 1] : base, &d)) {
			if (!w->err)
				w->err = -EINVAL;
			return -EINVAL;
		}
		/* x_0 is the offset from base; both deltas are in 1..2^63-1 */
		wbuf_svarint(w, i == 0 ? d : d - dprev);
		if (i > 0)
			dprev = d;
	}
	return 0;
}

/*
 * One device block from r[0..n), sorted by (ts, point) on entry and by
 * (point, ts) on return. tsl has room for n timestamps.
 */
static void
enc_block(struct wbuf *w, struct reading *r, size_t n, int64_t base,
    int64_t *tsl)
{
	struct col_pred p = { .e = 0, .m = 0 };
	struct col_plan pl;
	size_t n_ts = 0, n_cols, codes, ci, i, j;
	int16_t e_base;

	for (i = 0; i < n; i++)
		if (n_ts == 0 || tsl[n_ts - 1] != r[i].ts_ms)
			tsl[n_ts++] = r[i].ts_ms;
	wbuf_varint(w, r[0].dev);
	wbuf_varint(w, n_ts);
	if (enc_timestamps(w, tsl, n_ts, base) < 0)
		return;
	qsort(r, n, sizeof(*r), cmp_point_ts);
	n_cols = enc_runs(w, r, n);
	e_base = block_exponent(r, n, n_ts);
	wbuf_svarint(w, e_base);
	codes = wbuf_bitmap(w, CODE_BITS * n_cols);
	for (i = 0, ci = 0; i < n; i = j, ci++) {
		for (j = i + 1; j < n && r[j].point == r[i].point; j++)
			;
		col_plan(r + i, j - i, n_ts, e_base, &p, &pl);
		wbuf_setbits(w, codes, CODE_BITS * ci, pl.code);
		enc_column(w, r + i, j - i, tsl, n_ts, &pl, &p);
	}
}

/* Check and normalize a copy of the input; sorted by (dev, ts, point). */
static int
enc_prepare(const struct reading *in, size_t n, struct reading *r)
{
	size_t i;

	for (i = 0; i < n; i++) {
		r[i] = in[i];
		if (!ts_valid(r[i].ts_ms))
			return -EINVAL;
		if (r[i].quality == Q_OK) {
			if (!dec_in_range(r[i].v))
				return -EINVAL;
			r[i].v = dec_normalize(r[i].v);
		} else if (r[i].quality == Q_INVALID)
			r[i].v = dec_from_int(0);
		else
			return -EINVAL;
	}
	qsort(r, n, sizeof(*r), cmp_dev_ts_point);
	for (i = 1; i < n; i++)
		if (cmp_dev_ts_point(&r[i - 1], &r[i]) == 0)
			return -EINVAL;
	return 0;
}

/*
 * An encoder kept across calls: the daemon encodes a cycle every 30 s for
 * years, and allocating zlib's state and the scratch arrays each time is
 * churn on a small heap for nothing. The deflate state is sized to what it
 * compresses: a window of 2^wbits >= the layout (a cycle's layout is a few
 * hundred bytes; a 32 KiB window and zlib's default 256 KiB state would buy
 * no byte), grown when a bigger layout comes, never shrunk.
 */
struct batch_enc {
	z_stream zs;
	int wbits;		/* of zs; 0: none yet */
	struct reading *r;	/* sorted, normalized copy of the input */
	int64_t *tsl;		/* a device's timestamps */
	size_t cap;		/* readings r and tsl hold */
	struct wbuf w;		/* the layout */
};

/* The smallest raw-deflate window that holds len bytes: 2^9 .. 2^15. */
static int
window_bits(size_t len)
{
	int b = 9;

	while (b < 15 && ((size_t)1 << b) < len)
		b++;
	return b;
}

/*
 * Raw-deflate the layout straight into out, allowing one byte less than the
 * layout: if it does not fit there, it is not worth it. Returns the deflated
 * length, 0 if not smaller, or -ENOMEM.
 */
static long
enc_deflate(struct batch_enc *e, const uint8_t *raw, size_t raw_len,
    uint8_t *out, size_t cap)
{
	int need = window_bits(raw_len), zrc;
	long rc;

	if (e->wbits < need) {
		if (e->wbits > 0)
			deflateEnd(&e->zs);
		e->wbits = 0;
		memset(&e->zs, 0, sizeof(e->zs));
		/*
		 * memLevel with the window: its symbol buffer (2^(memLevel + 6)
		 * symbols, 4 bytes each) still holds the whole layout, so the
		 * body stays one deflate block, and its hash table is as small;
		 * zlib's default 8 from 4 KiB windows on, where a backlog's
		 * merged batches compress best with it. A cycle's state is a
		 * few KiB this way (docs/memory.md).
		 */
		if (deflateInit2(&e->zs, 6, Z_DEFLATED, -need, need >= 12 ? 8 :
		    need - 6, Z_DEFAULT_STRATEGY) != Z_OK)
			return -ENOMEM;
		e->wbits = need;
	} else if (deflateReset(&e->zs) != Z_OK) {
		return -ENOMEM;
	}
	e->zs.next_in = (Bytef *)(uintptr_t)raw;
	e->zs.avail_in = (uInt)raw_len;
	e->zs.next_out = out;
	e->zs.avail_out = (uInt)(cap < raw_len - 1 ? cap : raw_len - 1);
	zrc = deflate(&e->zs, Z_FINISH);
	rc = zrc == Z_STREAM_END ? (long)e->zs.total_out : 0;
	return rc;
}

int
batch_enc_new(size_t n, struct batch_enc **out)
{
	struct batch_enc *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return -ENOMEM;
	e->w.limit = BATCH_BODY_MAX;
	if (n > 0 && ((e->r = calloc(n, sizeof(*e->r))) == NULL ||
	    (e->tsl = calloc(n, sizeof(*e->tsl))) == NULL)) {
		batch_enc_free(e);
		return -ENOMEM;
	}
	e->cap = n;
	*out = e;
	return 0;
}

void
batch_enc_free(struct batch_enc *e)
{
	if (e == NULL)
		return;
	if (e->wbits > 0)
		deflateEnd(&e->zs);
	free(e->r);
	free(e->tsl);
	free(e->w.p);
	free(e);
}

/* Room for n readings: the scratch arrays grow, never shrink. */
static int
enc_room(struct batch_enc *e, size_t n)
{
	struct reading *r;
	int64_t *tsl;

	if (n <= e->cap)
		return 0;
	if ((r = realloc(e->r, n * sizeof(*r))) == NULL)
		return -ENOMEM;
	e->r = r;
	if ((tsl = realloc(e->tsl, n * sizeof(*tsl))) == NULL)
		return -ENOMEM;
	e->tsl = tsl;
	e->cap = n;
	return 0;
}

int
batch_enc_body(struct batch_enc *e, const struct reading *in, size_t n,
    uint8_t *out, size_t cap, size_t *len, uint8_t *flags, size_t *raw_len)
{
	struct wbuf *w = &e->w;
	int64_t base_s = 0;
	size_t a, b;
	long zlen;
	int rc;

	w->len = 0;
	w->err = 0;
	if (n > 0) {
		if ((rc = enc_room(e, n)) < 0)
			return rc;
		if ((rc = enc_prepare(in, n, e->r)) < 0)
			return rc;
		base_s = e->r[0].ts_ms;
		for (a = 1; a < n; a++)
			if (e->r[a].ts_ms < base_s)
				base_s = e->r[a].ts_ms;
		base_s /= BASE_UNIT_MS;	/* toward zero: within +-BATCH_TS_MAX */
	}
	wbuf_svarint(w, base_s);
	for (a = 0; a < n; a = b) {
		for (b = a + 1; b < n && e->r[b].dev == e->r[a].dev; b++)
			;
		enc_block(w, e->r + a, b - a, base_s * BASE_UNIT_MS, e->tsl);
	}
	if ((rc = w->err) < 0)
		return rc;
	if ((zlen = enc_deflate(e, w->p, w->len, out, cap)) < 0)
		return (int)zlen;
	if (zlen > 0) {
		*len = (size_t)zlen;
		*flags |= BATCH_F_DEFLATE;
	} else if (w->len <= cap) {
		memcpy(out, w->p, w->len);
		*len = w->len;
	} else {
		return -ENOSPC;
	}
	*raw_len = w->len;
	return 0;
}

int
batch_encode_body(const struct reading *in, size_t n, uint8_t *out,
    size_t cap, size_t *len, uint8_t *flags, size_t *raw_len)
{
	struct batch_enc *e;
	int rc;

	if ((rc = batch_enc_new(n, &e)) < 0)
		return rc;
	rc = batch_enc_body(e, in, n, out, cap, len, flags, raw_len);
	batch_enc_free(e);
	return rc;
}

size_t
batch_body_bound(size_t n)
{
	/*
	 * Per reading at worst: its own block (dev 3, n_ts 10, n_runs 10, a run
	 * 6, e_base 2, 1 byte of code rounding), its own timestamp (10), its own
	 * escaped column (mode 1, 2 bytes of bitmap rounding, e_col 2), a value
	 * (e 2, m 10) and 1 for its invalid bit. Presence bitmaps add
	 * ceil(n_ts/8) per column: quadratic in n. The encoder refuses layouts
	 * over BATCH_BODY_MAX, so that caps the bound.
	 */
	size_t bound;

	if (n >= 8192)		/* n * n/8 alone passes the cap; keeps 32-bit size_t safe */
		return BATCH_BODY_MAX;
	bound = 20 + 60 * n + n * ((n + 7) / 8);
	return bound < BATCH_BODY_MAX ? bound : BATCH_BODY_MAX;
}

int64_t
batch_t_first(const struct reading *r, size_t n)
{
	int64_t t = r[0].ts_ms;
	size_t i;

	for (i = 1; i < n; i++)
		if (r[i].ts_ms < t)
			t = r[i].ts_ms;
	return t;
}

size_t
batch_wrap_bound(size_t body_len)
{
	return HDR_FIXED_MAX + body_len;
}

int
batch_wrap(const struct batch_hdr *h, const uint8_t *body, size_t body_len,
    size_t raw_len, uint8_t *out, size_t cap, size_t *len)
{
	uint8_t hdr[HDR_FIXED_MAX];
	size_t n = 0, gl, off;
	int named = !(h->flags & BATCH_F_GW_TRANSPORT);

	if ((named && !batch_gw_valid(h->gw)) || (h->flags & ~BATCH_F_KNOWN) ||
	    raw_len > BATCH_BODY_MAX ||
	    (!(h->flags & BATCH_F_DEFLATE) && body_len != raw_len) ||
	    ((h->flags & BATCH_F_SPAN) && (h->seq_last <= h->seq ||
	    h->seq_last - h->seq > BATCH_SPAN_MAX)) ||
	    ((h->flags & BATCH_F_VOLATILE) &&
	    (h->seq != 0 || (h->flags & BATCH_F_SPAN))))
		return -EINVAL;
	hdr[n++] = BATCH_VERSION;
	hdr[n++] = h->flags;
	if (named) {
		gl = strlen(h->gw);
		hdr[n++] = (uint8_t)gl;
		memcpy(hdr + n, h->gw, gl);
		n += gl;
	}
	n += varint_put(hdr + n, h->seq);
	if (h->flags & BATCH_F_SPAN)
		n += varint_put(hdr + n, h->seq_last - h->seq);
	off = n;
	n += 4;			/* the check, filled in below */
	n += varint_put(hdr + n, raw_len);
	if (body_len > cap || n > cap - body_len)
		return -ENOSPC;
	memcpy(out, hdr, n);
	if (body_len > 0)
		memmove(out + n, body, body_len);
	*len = n + body_len;
	batch_set_check(out, *len, off, h->schema_id);
	return 0;
}

