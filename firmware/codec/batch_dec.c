/*
 * Batch wire format v2 (docs/batch-format.md): the decoder.
 *
 * It trusts nothing: every count is checked against the bytes that remain
 * before it is used, every varint is minimal and bounded, and the only
 * allocation is the inflate buffer, whose size is bounded by BATCH_BODY_MAX.
 * Work is linear in the input: a column costs at least one byte per
 * timestamp it has, or a bitmap bit per timestamp it has not.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "firmware/codec/batch.h"
#include "firmware/codec/batch_layout.h"
#include "firmware/codec/varint.h"

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
	/* A span on a volatile batch would mark real seqs as seen. */
	if ((h->flags & BATCH_F_VOLATILE) && (h->flags & BATCH_F_SPAN))
		return rbuf_fail(r, "header: a volatile batch with a span");
	h->gw[0] = '\0';
	if (h->flags & BATCH_F_GW_TRANSPORT)
		goto seq;	/* the transport names the gateway */
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
seq:
	if (RBUF_VARINT(r, &h->seq, "header: seq") < 0)
		return -EBADMSG;
	if ((h->flags & BATCH_F_VOLATILE) && h->seq != 0)
		return rbuf_fail(r, "header: a volatile batch with a seq");
	h->seq_last = h->seq;
	if (h->flags & BATCH_F_SPAN) {
		if (RBUF_VARINT(r, &u, "header: span") < 0)
			return -EBADMSG;
		if (u == 0)
			return rbuf_fail(r, "header: span of 0");
		if (u > BATCH_SPAN_MAX)
			return rbuf_fail(r, "header: span over BATCH_SPAN_MAX");
		if (u > UINT64_MAX - h->seq)
			return rbuf_fail(r, "header: span past the largest seq");
		h->seq_last = h->seq + u;
	}
	h->check_off = (uint32_t)r->pos;
	for (i = 0; i < 4; i++)
		if (rbuf_u8(r, &s[i], "header: truncated check") < 0)
			return -EBADMSG;
	h->check = (uint32_t)s[0] | (uint32_t)s[1] << 8 |
	    (uint32_t)s[2] << 16 | (uint32_t)s[3] << 24;
	h->schema_id = 0;
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

/* One value of a column: shared exponent and running sum, or its own pair. */
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
 * The head of an escaped column: mode byte, bitmaps, and the exponent when
 * the column has values on a shared one. *n_present comes in as n_ts (no
 * presence bitmap: every timestamp); *e_col is set only when it is sent.
 */
static int
dec_escape(struct rbuf *r, size_t n_ts, uint8_t *mode, const uint8_t **pres,
    const uint8_t **inv, size_t *n_present, size_t *n_invalid, int64_t *e_col)
{
	if (rbuf_u8(r, mode, "body: truncated column") < 0)
		return -EBADMSG;
	if (*mode & ~COL_KNOWN)
		return rbuf_fail(r, "body: unknown column mode bit");
	if ((*mode & COL_PRESENCE) && dec_bitmap(r, n_ts, pres, n_present) < 0)
		return -EBADMSG;
	if (*n_present == 0)
		return rbuf_fail(r, "body: column without readings");
	if ((*mode & COL_INVALID) &&
	    dec_bitmap(r, *n_present, inv, n_invalid) < 0)
		return -EBADMSG;
	if (!(*mode & COL_PERVALUE_EXP) && *n_present > *n_invalid &&
	    RBUF_SVARINT(r, e_col, "body: column exponent") < 0)
		return -EBADMSG;
	return 0;
}

/*
 * One column of a block, of the given code. The device's timestamps are
 * decoded again from ts_at for each column instead of being kept in an
 * array: no allocation sized by the wire, and the work stays linear in the
 * input. p predicts the first value and is updated for the next column.
 */
static int
dec_column(struct dec_ctx *c, struct reading *rd, const struct rbuf *ts_at,
    size_t n_ts, int64_t base, unsigned code, int64_t e_base,
    struct col_pred *p)
{
	struct rbuf *r = &c->r, tr = *ts_at;
	const uint8_t *pres = NULL, *inv = NULL;
	size_t n_present = n_ts, n_invalid = 0, n_ok, i, j, k = 0;
	int64_t e_col = e_base + code, m = 0, first = 0, ts = 0, d = 0;
	uint8_t mode = 0;
	int shared;

	if (code == CODE_ESCAPE && dec_escape(r, n_ts, &mode, &pres, &inv,
	    &n_present, &n_invalid, &e_col) < 0)
		return -EBADMSG;
	n_ok = n_present - n_invalid;
	shared = !(mode & COL_PERVALUE_EXP) && n_ok > 0;
	if (shared) {
		if (e_col < -DEC_EXP_MAX || e_col > DEC_EXP_MAX)
			return rbuf_fail(r, "body: column exponent out of range");
		m = col_pred_for(p, e_col);
	}
	if (n_ok > rbuf_left(r))
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
		if (rd->quality == Q_OK) {
			if (dec_value(r, mode, e_col, &m, &rd->v) < 0)
				return -EBADMSG;
			if (k++ == 0)
				first = m;
		}
		emit(c, rd);
	}
	if (shared) {
		p->e = e_col;
		p->m = first;
	}
	return 0;
}

/* The column set of a block, read back run by run. */
struct runs {
	struct rbuf r;		/* at the next run */
	long next;		/* point of the next column */
	long end;		/* last point of the current run */
};

/*
 * Check the runs of a block and count its columns; *it is left at the first
 * run for runs_next(). Points stay within 65535, so a block has at most
 * 65536 columns.
 */
static int
dec_runs(struct rbuf *r, struct runs *it, size_t *n_cols)
{
	uint64_t n_runs, gap, len1, i;
	long end = -1;

	if (RBUF_VARINT(r, &n_runs, "body: run count") < 0)
		return -EBADMSG;
	if (n_runs == 0 || n_runs > rbuf_left(r) / 2)
		return rbuf_fail(r, "body: bad run count");
	it->r = *r;
	it->next = 0;
	it->end = -1;
	*n_cols = 0;
	for (i = 0; i < n_runs; i++) {
		if (RBUF_VARINT(r, &gap, "body: run") < 0 ||
		    RBUF_VARINT(r, &len1, "body: run") < 0)
			return -EBADMSG;
		if (gap > UINT16_MAX || len1 > UINT16_MAX ||
		    end + 1 + (long)gap + (long)len1 > UINT16_MAX)
			return rbuf_fail(r, "body: point index over 65535");
		end += 1 + (long)gap + (long)len1;
		*n_cols += (size_t)len1 + 1;
	}
	return 0;
}

/* The point of the next column; the runs were checked by dec_runs(). */
static long
runs_next(struct runs *it)
{
	uint64_t gap = 0, len1 = 0;

	if (it->next > it->end) {
		if (RBUF_VARINT(&it->r, &gap, "run") < 0 ||
		    RBUF_VARINT(&it->r, &len1, "run") < 0)
			return -1;
		it->next = it->end + 1 + (long)gap;
		it->end = it->next + (long)len1;
	}
	return it->next++;
}

/*
 * One device block; its readings come out column by column and are then
 * sorted into (ts, point) order, the order batch_decode() promises.
 */
static int
dec_block(struct dec_ctx *c, int64_t base, long *prev_dev)
{
	struct rbuf *r = &c->r, ts_at;
	struct col_pred p = { .e = 0, .m = 0 };
	struct runs runs;
	const uint8_t *codes;
	uint64_t dev, n_ts;
	int64_t ts = 0, d = 0, e_base;
	size_t first = c->n, n_cols, ones, i;
	struct reading rd;
	unsigned code;
	long point;

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
	if (dec_runs(r, &runs, &n_cols) < 0)
		return -EBADMSG;
	if (RBUF_SVARINT(r, &e_base, "body: block exponent") < 0)
		return -EBADMSG;
	if (e_base < -DEC_EXP_MAX || e_base > DEC_EXP_MAX)
		return rbuf_fail(r, "body: block exponent out of range");
	if (dec_bitmap(r, CODE_BITS * n_cols, &codes, &ones) < 0)
		return -EBADMSG;
	memset(&rd, 0, sizeof(rd));
	rd.dev = (uint16_t)dev;
	for (i = 0; i < n_cols; i++) {
		if ((point = runs_next(&runs)) < 0)
			return rbuf_fail(r, "body: bad run");
		rd.point = (uint16_t)point;
		code = (codes[i * CODE_BITS / 8] >> (i * CODE_BITS % 8)) &
		    ((1u << CODE_BITS) - 1);
		if (dec_column(c, &rd, &ts_at, (size_t)n_ts, base, code, e_base,
		    &p) < 0)
			return -EBADMSG;
	}
	if (c->n > first && c->n <= c->cap)
		qsort(c->out + first, c->n - first, sizeof(*c->out),
		    cmp_dev_ts_point);
	return 0;
}

/* Blocks follow the base timestamp up to the end of the body. */
static int
dec_layout(struct dec_ctx *c)
{
	struct rbuf *r = &c->r;
	int64_t base_s;
	long prev_dev = -1;

	if (RBUF_SVARINT(r, &base_s, "body: base timestamp") < 0)
		return -EBADMSG;
	if (base_s < -BATCH_TS_MAX / BASE_UNIT_MS ||
	    base_s > BATCH_TS_MAX / BASE_UNIT_MS)
		return rbuf_fail(r, "body: base timestamp out of range");
	while (rbuf_left(r) > 0)
		if (dec_block(c, base_s * BASE_UNIT_MS, &prev_dev) < 0)
			return -EBADMSG;
	return 0;
}

/* The body of a batch: in[0..len) is raw deflate if flags say so. */
static int
dec_body(const uint8_t *in, size_t len, size_t body_len, uint8_t flags,
    struct reading *out, size_t cap, size_t *n, const char **why)
{
	struct dec_ctx c = { .out = out, .cap = cap };
	uint8_t *buf = NULL;
	int rc;

	c.r.p = in;
	c.r.len = body_len;
	if (body_len > BATCH_BODY_MAX) {
		*why = "header: body_len over BATCH_BODY_MAX";
		return -EBADMSG;
	}
	if (!(flags & BATCH_F_DEFLATE) && len != body_len) {
		*why = len > body_len ? "body: trailing bytes" : "body: truncated";
		return -EBADMSG;
	}
	if (flags & BATCH_F_DEFLATE) {
		/* Also keeps the length within zlib's uInt. */
		if (len > 2 * (size_t)BATCH_BODY_MAX) {
			*why = "body: deflate stream over 2 * BATCH_BODY_MAX";
			return -EBADMSG;
		}
		if ((buf = malloc(body_len + 1)) == NULL) {
			*why = "body: out of memory";
			return -ENOMEM;
		}
		rc = dec_inflate(in, len, buf, body_len, why);
		if (rc < 0)
			goto out;
		c.r.p = buf;
	}
	if ((rc = dec_layout(&c)) < 0) {
		*why = c.r.err;
		goto out;
	}
	*n = c.n;
	if (c.n > cap) {
		*why = "more readings than cap";
		rc = -ENOSPC;
	}
out:
	free(buf);
	return rc;
}

int
batch_decode(const uint8_t *in, size_t len, uint32_t schema_id,
    struct batch_hdr *h, struct reading *out, size_t cap, size_t *n,
    const char **err)
{
	struct rbuf hr = { .p = in, .len = len };
	const char *why = NULL;
	size_t body_len;
	int rc;

	if ((rc = dec_hdr(&hr, h, &body_len)) < 0)
		why = hr.err;
	else if (batch_match(in, len, h, &schema_id, 1) < 0)
		why = "header: integrity check failed", rc = -EBADMSG;
	else
		rc = dec_body(in + hr.pos, len - hr.pos, body_len, h->flags, out, cap,
		    n, &why);
	if (err != NULL)
		*err = why;
	return rc;
}

int
batch_decode_body(const uint8_t *body, size_t body_len, size_t raw_len,
    uint8_t flags, struct reading *out, size_t cap, size_t *n, const char **err)
{
	const char *why = NULL;
	int rc;

	rc = dec_body(body, body_len, raw_len, flags, out, cap, n, &why);
	if (err != NULL)
		*err = why;
	return rc;
}
