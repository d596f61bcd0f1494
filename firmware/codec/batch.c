/*
 * Batch wire format v1 (docs/batch-format.md): header, columnar body, deflate.
 *
 * The encoder sorts, lays the body out column by column (a point's values over
 * time sit next to each other, so deltas are small and deflate finds repeats)
 * and keeps the deflated form only when it is smaller. The decoder trusts
 * nothing: every count is checked against the bytes that remain before it is
 * used, and the only allocation is the inflate buffer, whose size is bounded by
 * BATCH_BODY_MAX.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "firmware/codec/batch.h"
#include "firmware/codec/varint.h"

/* Column mode bits */
#define COL_PRESENCE	0x01
#define COL_INVALID	0x02
#define COL_PERVALUE_EXP 0x04
#define COL_KNOWN	(COL_PRESENCE | COL_INVALID | COL_PERVALUE_EXP)

#define HDR_FIXED_MAX	(3 + BATCH_GW_MAX + VARINT_MAX + 4 + VARINT_MAX)

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

static int
ts_valid(int64_t ts)
{
	return ts >= -BATCH_TS_MAX && ts <= BATCH_TS_MAX;
}

/* (dev, ts, point): the order of the timestamp list and of decoded output. */
static int
cmp_dev_ts_point(const void *pa, const void *pb)
{
	const struct reading *a = pa, *b = pb;

	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	if (a->ts_ms != b->ts_ms)
		return a->ts_ms < b->ts_ms ? -1 : 1;
	if (a->point != b->point)
		return a->point < b->point ? -1 : 1;
	return 0;
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

/* The exponent a column's values are scaled to: the smallest among nonzero values. */
static int16_t
col_exponent(const struct reading *c, size_t k)
{
	int16_t e = 0;
	int any = 0;
	size_t i;

	for (i = 0; i < k; i++) {
		if (c[i].quality != Q_OK || c[i].v.m == 0)
			continue;
		if (!any || c[i].v.e < e)
			e = c[i].v.e;
		any = 1;
	}
	return e;
}

/* m * 10^(e - to), or -ERANGE when it leaves int64. */
static int
scale(struct dec v, int16_t to, int64_t *out)
{
	int64_t m = v.m;
	int i;

	if (m != 0)
		for (i = to; i < v.e; i++)
			if (__builtin_mul_overflow(m, 10, &m))
				return -ERANGE;
	*out = m;
	return 0;
}

/*
 * Values of one column with a shared exponent (e_col, then deltas). With
 * write == 0 only checks: -ERANGE when some scaled mantissa or delta does not
 * fit in int64, and the caller falls back to per-value exponents.
 */
static int
col_values_shared(struct wbuf *w, const struct reading *c, size_t k, int write)
{
	int16_t e = col_exponent(c, k);
	int64_t m, prev = 0, d;
	size_t i;

	if (write)
		wbuf_svarint(w, e);
	for (i = 0; i < k; i++) {
		if (c[i].quality != Q_OK)
			continue;
		if (scale(c[i].v, e, &m) < 0 || __builtin_sub_overflow(m, prev, &d))
			return -ERANGE;
		if (write)
			wbuf_svarint(w, d);
		prev = m;
	}
	return 0;
}

/*
 * Room for a bitmap of nbits bits, zeroed; returns its offset, not a pointer,
 * because the next write may move the buffer.
 */
static size_t
col_bitmap(struct wbuf *w, size_t nbits)
{
	size_t at = w->len;
	uint8_t *b = wbuf_reserve(w, (nbits + 7) / 8);

	if (b != NULL)
		memset(b, 0, (nbits + 7) / 8);
	return at;
}

/*
 * One column: the readings c[0..k) of one point, ascending in time, against the
 * device's timestamp list ts[0..n_ts).
 */
static void
enc_column(struct wbuf *w, const struct reading *c, size_t k,
    const int64_t *ts, size_t n_ts)
{
	size_t i, j, pres = 0, inv = 0;
	uint8_t mode = 0;

	if (k < n_ts)
		mode |= COL_PRESENCE;
	for (i = 0; i < k; i++)
		if (c[i].quality != Q_OK)
			mode |= COL_INVALID;
	if (col_values_shared(w, c, k, 0) < 0)
		mode |= COL_PERVALUE_EXP;
	wbuf_varint(w, c[0].point);
	wbuf_u8(w, mode);
	if (mode & COL_PRESENCE)
		pres = col_bitmap(w, n_ts);
	if (mode & COL_INVALID)
		inv = col_bitmap(w, k);
	for (i = 0, j = 0; i < k && !w->err; i++) {
		while (ts[j] != c[i].ts_ms)
			j++;
		if (mode & COL_PRESENCE)
			w->p[pres + j / 8] |= (uint8_t)(1u << (j % 8));
		if ((mode & COL_INVALID) && c[i].quality != Q_OK)
			w->p[inv + i / 8] |= (uint8_t)(1u << (i % 8));
	}
	if (!(mode & COL_PERVALUE_EXP)) {
		col_values_shared(w, c, k, 1);
		return;
	}
	for (i = 0; i < k; i++) {
		if (c[i].quality != Q_OK)
			continue;
		wbuf_svarint(w, c[i].v.e);
		wbuf_svarint(w, c[i].v.m);
	}
}

/*
 * One device block from r[0..n), sorted by (ts, point) on entry and by
 * (point, ts) on return. tsl has room for n timestamps.
 */
static void
enc_block(struct wbuf *w, struct reading *r, size_t n, int64_t base,
    int64_t *tsl)
{
	size_t n_ts = 0, n_cols = 0, i, j;

	for (i = 0; i < n; i++)
		if (n_ts == 0 || tsl[n_ts - 1] != r[i].ts_ms)
			tsl[n_ts++] = r[i].ts_ms;
	wbuf_varint(w, r[0].dev);
	wbuf_varint(w, n_ts);
	wbuf_svarint(w, tsl[0] - base);
	for (i = 1; i < n_ts; i++) {
		int64_t d = tsl[i] - tsl[i - 1];
		int64_t dprev = i > 1 ? tsl[i - 1] - tsl[i - 2] : 0;

		wbuf_svarint(w, d - dprev);
	}
	qsort(r, n, sizeof(*r), cmp_point_ts);
	for (i = 0; i < n; i++)
		if (i == 0 || r[i].point != r[i - 1].point)
			n_cols++;
	wbuf_varint(w, n_cols);
	for (i = 0; i < n; i = j) {
		for (j = i + 1; j < n && r[j].point == r[i].point; j++)
			;
		enc_column(w, r + i, j - i, tsl, n_ts);
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
 * Raw-deflate the layout straight into out, allowing one byte less than the
 * layout: if it does not fit there, it is not worth it. Returns the deflated
 * length, 0 if not smaller, or -ENOMEM.
 */
static long
enc_deflate(const uint8_t *raw, size_t raw_len, uint8_t *out, size_t cap)
{
	z_stream zs;
	long rc;
	int zrc;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return -ENOMEM;
	zs.next_in = (Bytef *)(uintptr_t)raw;
	zs.avail_in = (uInt)raw_len;
	zs.next_out = out;
	zs.avail_out = (uInt)(cap < raw_len - 1 ? cap : raw_len - 1);
	zrc = deflate(&zs, Z_FINISH);
	rc = zrc == Z_STREAM_END ? (long)zs.total_out : 0;
	deflateEnd(&zs);
	return rc;
}

int
batch_encode_body(const struct reading *in, size_t n, uint8_t *out,
    size_t cap, size_t *len, uint8_t *flags, size_t *raw_len)
{
	struct wbuf w = { .limit = BATCH_BODY_MAX };
	struct reading *r = NULL;
	int64_t *tsl = NULL, base = 0;
	size_t a, b, n_blocks = 0;
	long zlen;
	int rc;

	if (n > 0) {
		r = calloc(n, sizeof(*r));
		tsl = calloc(n, sizeof(*tsl));
		if (r == NULL || tsl == NULL) {
			rc = -ENOMEM;
			goto out;
		}
		if ((rc = enc_prepare(in, n, r)) < 0)
			goto out;
		base = r[0].ts_ms;
		for (a = 0; a < n; a++) {
			if (r[a].ts_ms < base)
				base = r[a].ts_ms;
			if (a == 0 || r[a].dev != r[a - 1].dev)
				n_blocks++;
		}
	}
	wbuf_svarint(&w, base);
	wbuf_varint(&w, n_blocks);
	for (a = 0; a < n; a = b) {
		for (b = a + 1; b < n && r[b].dev == r[a].dev; b++)
			;
		enc_block(&w, r + a, b - a, base, tsl);
	}
	if ((rc = w.err) < 0)
		goto out;
	if ((zlen = enc_deflate(w.p, w.len, out, cap)) < 0) {
		rc = (int)zlen;
		goto out;
	}
	if (zlen > 0) {
		*len = (size_t)zlen;
		*flags |= BATCH_F_DEFLATE;
	} else if (w.len <= cap) {
		memcpy(out, w.p, w.len);
		*len = w.len;
	} else {
		rc = -ENOSPC;
		goto out;
	}
	*raw_len = w.len;
	rc = 0;
out:
	free(w.p);
	free(tsl);
	free(r);
	return rc;
}

size_t
batch_body_bound(size_t n)
{
	/*
	 * Per reading at worst: its own block (dev 3, n_ts 10, n_cols 10), its own
	 * timestamp (10), its own column (point 3, mode 1, e_col 2, 2 bytes of
	 * bitmap rounding), a value (e 2, m 10) and 1 for its invalid bit.
	 * Presence bitmaps add ceil(n_ts/8) per column: quadratic in n. The
	 * encoder refuses layouts over BATCH_BODY_MAX, so that caps the bound.
	 */
	size_t bound;

	if (n >= 8192)		/* n * n/8 alone passes the cap; keeps 32-bit size_t safe */
		return BATCH_BODY_MAX;
	bound = 20 + 54 * n + n * ((n + 7) / 8);
	return bound < BATCH_BODY_MAX ? bound : BATCH_BODY_MAX;
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
	size_t n = 0, gl;

	if (!batch_gw_valid(h->gw) || (h->flags & ~BATCH_F_KNOWN) ||
	    raw_len > BATCH_BODY_MAX ||
	    (!(h->flags & BATCH_F_DEFLATE) && body_len != raw_len))
		return -EINVAL;
	gl = strlen(h->gw);
	hdr[n++] = BATCH_VERSION;
	hdr[n++] = h->flags;
	hdr[n++] = (uint8_t)gl;
	memcpy(hdr + n, h->gw, gl);
	n += gl;
	n += varint_put(hdr + n, h->seq);
	hdr[n++] = (uint8_t)h->schema_id;
	hdr[n++] = (uint8_t)(h->schema_id >> 8);
	hdr[n++] = (uint8_t)(h->schema_id >> 16);
	hdr[n++] = (uint8_t)(h->schema_id >> 24);
	n += varint_put(hdr + n, raw_len);
	if (body_len > cap || n > cap - body_len)
		return -ENOSPC;
	memcpy(out, hdr, n);
	if (body_len > 0)
		memmove(out + n, body, body_len);
	*len = n + body_len;
	return 0;
}

/*
 * The header, up to the first body byte. Shared by batch_peek_hdr() so that a
 * receiver can drop a duplicate (gateway, seq) before paying for inflate.
 */
static int
dec_hdr(struct rbuf *r, struct batch_hdr *h, size_t *body_len)
{
	uint8_t v, gl, s[4];
	uint64_t u;
	size_t i;

	if (rbuf_u8(r, &v, "header: truncated") < 0)
		return -EBADMSG;
	if (v != BATCH_VERSION)
		return rbuf_fail(r, "header: unknown version");
	if (rbuf_u8(r, &h->flags, "header: truncated") < 0)
		return -EBADMSG;
	if (h->flags & ~BATCH_F_KNOWN)
		return rbuf_fail(r, "header: unknown flag bit");
	if (rbuf_u8(r, &gl, "header: truncated") < 0)
		return -EBADMSG;
	if (gl == 0 || gl > BATCH_GW_MAX)
		return rbuf_fail(r, "header: gateway id length not in 1..64");
	if (rbuf_left(r) < gl)
		return rbuf_fail(r, "header: truncated gateway id");
	memcpy(h->gw, r->p + r->pos, gl);
	h->gw[gl] = '\0';
	r->pos += gl;
	if (strlen(h->gw) != gl || !batch_gw_valid(h->gw))
		return rbuf_fail(r, "header: gateway id: bad character");
	if (RBUF_VARINT(r, &h->seq, "header: seq") < 0)
		return -EBADMSG;
	for (i = 0; i < 4; i++)
		if (rbuf_u8(r, &s[i], "header: truncated schema id") < 0)
			return -EBADMSG;
	h->schema_id = (uint32_t)s[0] | (uint32_t)s[1] << 8 |
	    (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24;
	if (RBUF_VARINT(r, &u, "header: body_len") < 0)
		return -EBADMSG;
	if (u > BATCH_BODY_MAX)
		return rbuf_fail(r, "header: body_len over BATCH_BODY_MAX");
	if (!(h->flags & BATCH_F_DEFLATE) && u != rbuf_left(r))
		return rbuf_fail(r, u > rbuf_left(r) ? "body: truncated" :
		    "body: trailing bytes");
	*body_len = (size_t)u;
	return 0;
}

int
batch_peek_hdr(const uint8_t *in, size_t len, struct batch_hdr *h,
    const char **err)
{
	struct rbuf r = { .p = in, .len = len };
	struct batch_hdr tmp;
	size_t body_len;

	if (dec_hdr(&r, &tmp, &body_len) < 0) {
		if (err != NULL)
			*err = r.err;
		return -EBADMSG;
	}
	*h = tmp;
	return 0;
}

/*
 * Inflate exactly body_len bytes; the stream must end there and use all input.
 * A second call with a one-byte sink tells "ends exactly here" from "has more".
 */
static int
dec_inflate(const uint8_t *in, size_t len, uint8_t *out, size_t body_len,
    const char **err)
{
	z_stream zs;
	uint8_t sink;
	int zrc, rc = -EBADMSG;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, -15) != Z_OK) {
		*err = "body: inflate: out of memory";
		return -ENOMEM;
	}
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)body_len;
	zrc = inflate(&zs, Z_FINISH);
	if (zrc != Z_STREAM_END && zs.avail_out == 0) {
		zs.next_out = &sink;
		zs.avail_out = 1;
		zrc = inflate(&zs, Z_FINISH);
		if (zs.avail_out == 0) {
			*err = "body: inflates to more than body_len";
			goto out;
		}
	}
	if (zrc == Z_MEM_ERROR) {
		*err = "body: inflate: out of memory";
		rc = -ENOMEM;
	} else if (zrc == Z_DATA_ERROR || zrc == Z_NEED_DICT)
		*err = "body: bad deflate stream";
	else if (zrc != Z_STREAM_END)
		*err = "body: truncated deflate stream";
	else if (zs.total_out != body_len)
		*err = "body: inflates to less than body_len";
	else if (zs.avail_in != 0)
		*err = "body: trailing bytes after deflate stream";
	else
		rc = 0;
out:
	inflateEnd(&zs);
	return rc;
}

struct dec_ctx {
	struct rbuf r;
	struct reading *out;
	size_t cap;
	size_t n;		/* readings decoded, also those beyond cap */
};

/*
 * Next timestamp of a device: the first is an offset from base, later ones a
 * delta-of-delta. Checked arithmetic: the deltas come off the wire.
 */
static int
ts_next(struct rbuf *r, size_t i, int64_t base, int64_t *ts, int64_t *d)
{
	int64_t x, nd;

	if (RBUF_SVARINT(r, &x, "body: timestamp") < 0)
		return -EBADMSG;
	if (i == 0) {
		*d = 0;
		if (__builtin_add_overflow(base, x, ts))
			return rbuf_fail(r, "body: timestamp out of range");
	} else {
		if (__builtin_add_overflow(*d, x, &nd) || nd <= 0)
			return rbuf_fail(r, "body: timestamps not ascending");
		if (__builtin_add_overflow(*ts, nd, ts))
			return rbuf_fail(r, "body: timestamp out of range");
		*d = nd;
	}
	if (!ts_valid(*ts))
		return rbuf_fail(r, "body: timestamp out of range");
	return 0;
}

/* Take a bitmap of nbits bits; padding bits must be 0. Returns its popcount. */
static int
dec_bitmap(struct rbuf *r, size_t nbits, const uint8_t **bm, size_t *ones)
{
	size_t nb = (nbits + 7) / 8, i;

	if (rbuf_left(r) < nb)
		return rbuf_fail(r, "body: truncated bitmap");
	*bm = r->p + r->pos;
	r->pos += nb;
	if ((nbits % 8) != 0 && ((*bm)[nb - 1] >> (nbits % 8)) != 0)
		return rbuf_fail(r, "body: bitmap padding bits not zero");
	*ones = 0;
	for (i = 0; i < nb; i++)
		*ones += (size_t)__builtin_popcount((*bm)[i]);
	return 0;
}

static int
bit(const uint8_t *bm, size_t i)
{
	return (bm[i / 8] >> (i % 8)) & 1;
}

static void
emit(struct dec_ctx *c, const struct reading *rd)
{
	if (c->n < c->cap)
		c->out[c->n] = *rd;
	c->n++;
}

/* One value of a column: shared exponent and running delta, or its own pair. */
static int
dec_value(struct rbuf *r, uint8_t mode, int64_t e_col, int64_t *prev,
    struct dec *v)
{
	int64_t e, m;

	if (mode & COL_PERVALUE_EXP) {
		if (RBUF_SVARINT(r, &e, "body: value exponent") < 0 ||
		    RBUF_SVARINT(r, &m, "body: value") < 0)
			return -EBADMSG;
		if (e < -DEC_EXP_MAX || e > DEC_EXP_MAX)
			return rbuf_fail(r, "body: value exponent out of range");
	} else {
		if (RBUF_SVARINT(r, &m, "body: value") < 0)
			return -EBADMSG;
		if (__builtin_add_overflow(*prev, m, &m))
			return rbuf_fail(r, "body: value delta overflows");
		*prev = m;
		e = e_col;
	}
	v->m = m;
	v->e = (int16_t)e;
	*v = dec_normalize(*v);
	if (!dec_in_range(*v))
		return rbuf_fail(r, "body: value exponent out of range");
	return 0;
}

/*
 * One column of a block. The device's timestamps are decoded again from
 * ts_at for each column instead of being kept in an array: no allocation
 * sized by the wire, and a column costs at least n_ts/8 bytes, so the work
 * stays linear in the input.
 */
static int
dec_column(struct dec_ctx *c, struct reading *rd, const struct rbuf *ts_at,
    size_t n_ts, int64_t base)
{
	struct rbuf *r = &c->r, tr = *ts_at;
	const uint8_t *pres = NULL, *inv = NULL;
	size_t n_present = n_ts, n_invalid = 0, i, j;
	int64_t e_col = 0, prev = 0, ts = 0, d = 0;
	uint8_t mode;

	if (rbuf_u8(r, &mode, "body: truncated column") < 0)
		return -EBADMSG;
	if (mode & ~COL_KNOWN)
		return rbuf_fail(r, "body: unknown column mode bit");
	if ((mode & COL_PRESENCE) && dec_bitmap(r, n_ts, &pres, &n_present) < 0)
		return -EBADMSG;
	if (n_present == 0)
		return rbuf_fail(r, "body: column without readings");
	if ((mode & COL_INVALID) && dec_bitmap(r, n_present, &inv, &n_invalid) < 0)
		return -EBADMSG;
	if (!(mode & COL_PERVALUE_EXP)) {
		if (RBUF_SVARINT(r, &e_col, "body: column exponent") < 0)
			return -EBADMSG;
		if (e_col < -DEC_EXP_MAX || e_col > DEC_EXP_MAX ||
		    (n_present == n_invalid && e_col != 0))
			return rbuf_fail(r, "body: bad column exponent");
	}
	if (n_present - n_invalid > rbuf_left(r))
		return rbuf_fail(r, "body: truncated values");
	for (i = 0, j = 0; i < n_ts; i++) {
		if (ts_next(&tr, i, base, &ts, &d) < 0)
			return rbuf_fail(r, tr.err);
		if (pres != NULL && !bit(pres, i))
			continue;
		rd->ts_ms = ts;
		rd->quality = inv != NULL && bit(inv, j) ? Q_INVALID : Q_OK;
		rd->v = dec_from_int(0);
		j++;
		if (rd->quality == Q_OK &&
		    dec_value(r, mode, e_col, &prev, &rd->v) < 0)
			return -EBADMSG;
		emit(c, rd);
	}
	return 0;
}

/*
 * One device block; its readings come out column by column and are then
 * sorted into (ts, point) order, the order batch_decode() promises.
 */
static int
dec_block(struct dec_ctx *c, int64_t base, long *prev_dev)
{
	struct rbuf *r = &c->r, ts_at;
	uint64_t dev, n_ts, n_cols, point;
	int64_t ts = 0, d = 0;
	long prev_point = -1;
	size_t first = c->n, i;
	struct reading rd;

	if (RBUF_VARINT(r, &dev, "body: device index") < 0)
		return -EBADMSG;
	if (dev > UINT16_MAX || (long)dev <= *prev_dev)
		return rbuf_fail(r, "body: device index not ascending or over 65535");
	*prev_dev = (long)dev;
	if (RBUF_VARINT(r, &n_ts, "body: timestamp count") < 0)
		return -EBADMSG;
	if (n_ts == 0 || n_ts > rbuf_left(r))
		return rbuf_fail(r, "body: bad timestamp count");
	ts_at = *r;
	for (i = 0; i < n_ts; i++)
		if (ts_next(r, i, base, &ts, &d) < 0)
			return -EBADMSG;
	if (RBUF_VARINT(r, &n_cols, "body: column count") < 0)
		return -EBADMSG;
	if (n_cols == 0 || n_cols > rbuf_left(r))
		return rbuf_fail(r, "body: bad column count");
	memset(&rd, 0, sizeof(rd));
	rd.dev = (uint16_t)dev;
	for (i = 0; i < n_cols; i++) {
		if (RBUF_VARINT(r, &point, "body: point index") < 0)
			return -EBADMSG;
		if (point > UINT16_MAX || (long)point <= prev_point)
			return rbuf_fail(r, "body: point index not ascending or over 65535");
		prev_point = (long)point;
		rd.point = (uint16_t)point;
		if (dec_column(c, &rd, &ts_at, (size_t)n_ts, base) < 0)
			return -EBADMSG;
	}
	if (c->n > first && c->n <= c->cap)
		qsort(c->out + first, c->n - first, sizeof(*c->out),
		    cmp_dev_ts_point);
	return 0;
}

static int
dec_layout(struct dec_ctx *c)
{
	struct rbuf *r = &c->r;
	uint64_t n_blocks, i;
	int64_t base;
	long prev_dev = -1;

	if (RBUF_SVARINT(r, &base, "body: base timestamp") < 0)
		return -EBADMSG;
	if (!ts_valid(base))
		return rbuf_fail(r, "body: base timestamp out of range");
	if (RBUF_VARINT(r, &n_blocks, "body: block count") < 0)
		return -EBADMSG;
	if (n_blocks > rbuf_left(r))
		return rbuf_fail(r, "body: bad block count");
	for (i = 0; i < n_blocks; i++)
		if (dec_block(c, base, &prev_dev) < 0)
			return -EBADMSG;
	if (rbuf_left(r) != 0)
		return rbuf_fail(r, "body: trailing bytes");
	return 0;
}

int
batch_decode(const uint8_t *in, size_t len, struct batch_hdr *h,
    struct reading *out, size_t cap, size_t *n, const char **err)
{
	struct rbuf hr = { .p = in, .len = len };
	struct dec_ctx c = { .out = out, .cap = cap };
	const char *why = NULL;
	uint8_t *buf = NULL;
	size_t body_len;
	int rc;

	if ((rc = dec_hdr(&hr, h, &body_len)) < 0) {
		why = hr.err;
		goto out;
	}
	c.r.p = in + hr.pos;
	c.r.len = body_len;
	if (h->flags & BATCH_F_DEFLATE) {
		/* Also keeps the length within zlib's uInt. */
		if (len - hr.pos > 2 * (size_t)BATCH_BODY_MAX) {
			why = "body: deflate stream over 2 * BATCH_BODY_MAX";
			rc = -EBADMSG;
			goto out;
		}
		if ((buf = malloc(body_len + 1)) == NULL) {
			why = "body: out of memory";
			rc = -ENOMEM;
			goto out;
		}
		rc = dec_inflate(in + hr.pos, len - hr.pos, buf, body_len, &why);
		if (rc < 0)
			goto out;
		c.r.p = buf;
	}
	if ((rc = dec_layout(&c)) < 0) {
		why = c.r.err;
		goto out;
	}
	*n = c.n;
	if (c.n > cap) {
		why = "more readings than cap";
		rc = -ENOSPC;
	}
out:
	if (err != NULL)
		*err = why;
	free(buf);
	return rc;
}
