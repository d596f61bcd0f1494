/*
 * batch: wire format v1. Round trips (realistic meter cycles, sparse and invalid
 * readings, the per-value-exponent fallback, empty), the byte-exact example of
 * docs/batch-format.md, and a decoder that survives every truncation and
 * thousands of random mutations with nothing worse than -EBADMSG.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/codec/batch.h"

#define T0 1700000000000LL	/* 2023-11-14T22:13:20Z */

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t
rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static struct reading
rd(uint16_t dev, uint16_t point, int64_t ts, int64_t m, int e)
{
	struct reading r = { .ts_ms = ts, .dev = dev, .point = point,
	    .quality = Q_OK, .v = { .m = m, .e = (int16_t)e } };

	return r;
}

static struct reading
rd_f32(uint16_t dev, uint16_t point, int64_t ts, float f)
{
	struct reading r = rd(dev, point, ts, 0, 0);

	assert_int_equal(dec_from_f32(f, &r.v), 0);
	return r;
}

static struct reading
rd_invalid(uint16_t dev, uint16_t point, int64_t ts)
{
	struct reading r = rd(dev, point, ts, 0, 0);

	r.quality = Q_INVALID;
	return r;
}

static int
cmp_reading(const void *pa, const void *pb)
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

static const struct batch_hdr hdr0 = {
	.gw = "gw-0001", .seq = 42, .schema_id = 0xdeadbeef, .flags = 0,
};

/* Encode + wrap; returns a malloc'd message. */
static uint8_t *
make_batch(const struct reading *r, size_t n, const struct batch_hdr *h0,
    size_t *len, uint8_t *flags_out)
{
	size_t cap = batch_body_bound(n), blen = 0, raw = 0;
	struct batch_hdr h = *h0;
	uint8_t *body = malloc(cap), *msg;

	assert_non_null(body);
	assert_int_equal(batch_encode_body(r, n, body, cap, &blen, &h.flags, &raw),
	    0);
	assert_true(blen <= cap && raw <= cap);
	if (!(h.flags & 0x01))
		assert_int_equal(blen, raw);
	msg = malloc(batch_wrap_bound(blen));
	assert_non_null(msg);
	assert_int_equal(batch_wrap(&h, body, blen, raw, msg,
	    batch_wrap_bound(blen), len), 0);
	free(body);
	if (flags_out != NULL)
		*flags_out = h.flags;
	return msg;
}

/*
 * Tests of the body decoder edit bytes by hand: their check is made right
 * for FIXED_SCHEMA first (if the header parses), so that what is tested is
 * the body's rule, not the integrity check (test_bit_flips tests that).
 */
#define FIXED_SCHEMA	0x5ca1ab1eu

static int
decode_fixed(const uint8_t *msg, size_t len, struct batch_hdr *h,
    struct reading *out, size_t cap, size_t *n, const char **err)
{
	uint8_t *m = malloc(len + 1);
	int rc;

	assert_non_null(m);
	memcpy(m, msg, len);
	if (batch_peek_hdr(m, len, h, NULL) == 0)
		batch_set_check(m, len, h->check_off, FIXED_SCHEMA);
	rc = batch_decode(m, len, FIXED_SCHEMA, h, out, cap, n, err);
	free(m);
	return rc;
}

/* Decode msg and compare with r[0..n) in (dev, ts, point) order. */
static void
check_decode(const uint8_t *msg, size_t len, const struct reading *r, size_t n,
    const struct batch_hdr *h0)
{
	struct reading *want = calloc(n + 1, sizeof(*want));
	struct reading *got = calloc(n + 1, sizeof(*got));
	struct batch_hdr h;
	const char *err = NULL;
	size_t i, got_n = 0;
	int rc;

	assert_non_null(want);
	assert_non_null(got);
	if (n > 0)
		memcpy(want, r, n * sizeof(*r));
	qsort(want, n, sizeof(*want), cmp_reading);
	rc = batch_decode(msg, len, h0->schema_id, &h, got, n + 1, &got_n, &err);
	if (rc != 0)
		fail_msg("decode: %d %s", rc, err ? err : "");
	assert_int_equal(got_n, n);
	assert_string_equal(h.gw, h0->gw);
	assert_int_equal(h.seq, h0->seq);
	assert_int_equal(h.schema_id, h0->schema_id);
	for (i = 0; i < n; i++) {
		assert_int_equal(got[i].dev, want[i].dev);
		assert_int_equal(got[i].point, want[i].point);
		assert_int_equal(got[i].ts_ms, want[i].ts_ms);
		assert_int_equal(got[i].quality, want[i].quality);
		if (want[i].quality == Q_OK && !dec_equal(got[i].v, want[i].v))
			fail_msg("reading %zu: %lld e %d decoded as %lld e %d", i,
			    (long long)want[i].v.m, want[i].v.e,
			    (long long)got[i].v.m, got[i].v.e);
	}
	free(want);
	free(got);
}

static void
round_trip(const struct reading *r, size_t n)
{
	size_t len;
	uint8_t *msg = make_batch(r, n, &hdr0, &len, NULL);

	check_decode(msg, len, r, n, &hdr0);
	free(msg);
}

/* One cycle of an SDM630-like three-phase meter: 13 f32 registers. */
static size_t
meter_cycle(struct reading *r, uint16_t dev, int64_t ts, int k)
{
	float v[13] = {
		230.4f + 0.1f * (float)(k % 3), 231.1f, 229.8f - 0.1f * (float)(k % 2),
		5.23f + 0.01f * (float)(k % 5), 3.1f, 0.87f,
		1204.5f + (float)(k % 7), 716.3f, 199.2f, 2120.0f + (float)(k % 7),
		49.98f + 0.01f * (float)(k % 4), 12345.678f + 0.017f * (float)k,
		234.5f,
	};
	int i;

	for (i = 0; i < 13; i++)
		r[i] = rd_f32(dev, (uint16_t)i, ts, v[i]);
	return 13;
}

static void
test_meter_cycle(void **state)
{
	struct reading r[13];

	(void)state;
	meter_cycle(r, 0, T0, 0);
	round_trip(r, 13);
}

/*
 * BATCH_F_GW_TRANSPORT: the gateway id left out of the header (the topic or
 * path names it): the header is 1 + its length shorter, the readings the
 * same, the decoded header's gateway "" (the receiver fills it in); peek sees
 * the same; a gateway id the flag leaves out is not checked.
 */
static void
test_gateway_from_transport(void **state)
{
	struct batch_hdr h0 = hdr0, named = hdr0, h;
	struct reading r[13];
	size_t len_named, len;
	uint8_t *with, *without;

	(void)state;
	meter_cycle(r, 0, T0, 0);
	with = make_batch(r, 13, &named, &len_named, NULL);
	h0.flags = BATCH_F_GW_TRANSPORT;
	without = make_batch(r, 13, &h0, &len, NULL);
	assert_int_equal(len, len_named - 1 - strlen("gw-0001"));
	h0.gw[0] = '\0';
	check_decode(without, len, r, 13, &h0);
	assert_int_equal(batch_peek_hdr(without, len, &h, NULL), 0);
	assert_string_equal(h.gw, "");
	assert_int_equal(h.seq, 42);
	assert_true(h.flags & BATCH_F_GW_TRANSPORT);
	free(without);
	strcpy(h0.gw, "not valid!");	/* left out, so not looked at */
	without = make_batch(r, 13, &h0, &len, NULL);
	assert_int_equal(len, len_named - 1 - strlen("gw-0001"));
	free(without);
	free(with);
}

/*
 * A volatile batch has seq 0 and no span: the gateway sent one with flags
 * 0x0d and a span of 1796516776963, which a receiver honouring the span
 * would have taken for "every seq up to there seen".
 */
static void
test_volatile_has_no_span(void **state)
{
	static const uint8_t body[1] = { 0 };
	struct batch_hdr h = hdr0, got;
	uint8_t out[128];
	const char *err = NULL;
	size_t len;

	(void)state;
	h.flags = BATCH_F_VOLATILE | BATCH_F_SPAN;
	h.seq = 0;
	h.seq_last = 1796516776963ULL;
	assert_int_equal(batch_wrap(&h, body, 1, 1, out, sizeof(out), &len),
	    -EINVAL);
	h.flags = BATCH_F_VOLATILE;
	h.seq = 7;
	assert_int_equal(batch_wrap(&h, body, 1, 1, out, sizeof(out), &len),
	    -EINVAL);
	/* What that gateway sent, byte for byte: refused by the receiver. */
	h.flags = BATCH_F_SPAN;
	h.seq = 1;
	h.seq_last = 2;
	assert_int_equal(batch_wrap(&h, body, 1, 1, out, sizeof(out), &len), 0);
	out[1] |= BATCH_F_VOLATILE;
	assert_int_equal(batch_peek_hdr(out, len, &got, &err), -EBADMSG);
	assert_string_equal(err, "header: a volatile batch with a span");
	/* And a volatile batch with a seq. */
	h.flags = 0;
	h.seq = 5;
	assert_int_equal(batch_wrap(&h, body, 1, 1, out, sizeof(out), &len), 0);
	out[1] |= BATCH_F_VOLATILE;
	assert_int_equal(batch_peek_hdr(out, len, &got, &err), -EBADMSG);
	assert_string_equal(err, "header: a volatile batch with a seq");
}

/* Several devices and cycles, shuffled, with gaps and invalid readings. */
static void
test_multi_device_sparse(void **state)
{
	struct reading r[600];
	size_t n = 0, i;
	int k;

	(void)state;
	for (k = 0; k < 20; k++) {
		int64_t ts = T0 + 30000LL * k;

		n += meter_cycle(r + n, 0, ts, k);
		if (k % 3 != 1)	/* a meter that misses every third cycle */
			n += meter_cycle(r + n, 4, ts + 7, k);
		r[n++] = rd(9, 2, ts, 16 + k % 2, 0);	/* charger state */
		if (k % 4 == 0)
			r[n++] = rd_invalid(9, 5, ts);
		else
			r[n++] = rd(9, 5, ts, 11000 + k, -3);
		if (k == 7)
			r[n++] = rd(9, 600, ts + 1, -1, 0);
	}
	/* invalid readings in the middle of a regular column */
	r[5].quality = Q_INVALID;
	r[40].quality = Q_INVALID;
	for (i = n - 1; i > 0; i--) {
		size_t j = (size_t)(rng() % (i + 1));
		struct reading t = r[i];

		r[i] = r[j];
		r[j] = t;
	}
	round_trip(r, n);
}

/*
 * Values no shared exponent can hold: 9e18 and 1e-300 in one column, and a
 * delta INT64_MAX - INT64_MIN. The column must be escaped, its mode byte
 * PERVALUE_EXP.
 */
static void
test_pervalue_exponent(void **state)
{
	struct reading r[] = {
		rd(0, 0, T0, 9, 18), rd(0, 0, T0 + 1000, 1, -300),
		rd(0, 0, T0 + 2000, -12345, 4),
	};
	struct reading r2[] = {
		rd(1, 3, T0, 8888888888888888887LL, 0),
		rd(1, 3, T0 + 1, -7777777777777777777LL, 0),
	};
	uint8_t flags = 0, body[256];
	size_t len, raw;

	(void)state;
	round_trip(r, 3);
	round_trip(r2, 2);
	/*
	 * base(5) dev n_ts x0 x1(2) x2 n_runs gap len e_base(2: -300) -> the
	 * codes at 16 (column 0 escaped), its mode at 17
	 */
	assert_int_equal(batch_encode_body(r, 3, body, sizeof(body), &len, &flags,
	    &raw), 0);
	assert_int_equal(flags, 0);
	assert_int_equal(body[16], 0x03);
	assert_int_equal(body[17], 0x04);
	/* base(5) dev n_ts x0 x1 n_runs gap len e_base -> codes at 13, mode 14 */
	assert_int_equal(batch_encode_body(r2, 2, body, sizeof(body), &len, &flags,
	    &raw), 0);
	assert_int_equal(flags, 0);
	assert_int_equal(body[13], 0x03);
	assert_int_equal(body[14], 0x04);
	/* the shared exponent when it fits: a plain column on e_base 4 */
	r[1] = rd(0, 0, T0 + 1000, 1, 10);
	assert_int_equal(batch_encode_body(r, 3, body, sizeof(body), &len, &flags,
	    &raw), 0);
	assert_int_equal(body[14], 0x08);
	assert_int_equal(body[15], 0x00);
	round_trip(r, 3);
}

/*
 * Columns of every kind in one block: an exponent far from the others (its
 * own, escaped), all invalid, all zero, sparse with an invalid reading,
 * per-value exponents; then zeros between predicted columns.
 */
static struct reading shapes[32];

static size_t
shape_readings(void)
{
	size_t n = 0;
	int k;

	for (k = 0; k < 3; k++) {
		int64_t ts = T0 + 30000LL * k;

		shapes[n++] = rd(5, 0, ts, 2304 + k, -1);
		shapes[n++] = rd(5, 1, ts, 2311 - k, -1);
		shapes[n++] = rd(5, 2, ts, 15 + k, 30);
		shapes[n++] = rd_invalid(5, 3, ts);
		shapes[n++] = rd(5, 4, ts, 0, 0);
		if (k != 1)
			shapes[n++] = k == 0 ? rd(5, 6, ts, 7, -3) :
			    rd_invalid(5, 6, ts);
		shapes[n++] = rd(5, 9, ts, k == 0 ? 9 : 1, k == 0 ? 18 : -300);
		shapes[n++] = rd(5, 10, ts, 5, -1);
	}
	shapes[n++] = rd(7, 65535, T0 + 5, -1, 0);
	return n;
}

static void
test_column_shapes(void **state)
{
	struct reading r[4];
	size_t n = shape_readings();

	(void)state;
	round_trip(shapes, n);
	/* zeros between and after predicted columns, on other exponents */
	r[0] = rd(0, 0, T0, 871401, -2);
	r[1] = rd(0, 1, T0, 0, 0);
	r[2] = rd(0, 2, T0, 871401, -2);
	r[3] = rd(0, 3, T0, -871401, -2);
	round_trip(r, 4);
}

/*
 * Timestamps: negative ones with milliseconds (the base is in seconds,
 * rounded toward zero) and the extremes, which are fine in separate blocks
 * but 2^63 ms apart in one device's list, which the format cannot hold.
 */
static void
test_timestamps(void **state)
{
	struct reading r[3] = {
		rd(0, 0, -1500, 1, 0), rd(0, 0, -999, 2, 0), rd(1, 0, 1001, 3, 0),
	};
	uint8_t flags = 0, body[64];
	size_t len, raw;

	(void)state;
	round_trip(r, 3);
	r[0] = rd(0, 0, -BATCH_TS_MAX, 1, 0);
	r[1] = rd(1, 0, BATCH_TS_MAX, 2, 0);
	r[2] = rd(1, 1, BATCH_TS_MAX - 1, 3, 0);
	round_trip(r, 3);
	r[1].dev = 0;
	assert_int_equal(batch_encode_body(r, 3, body, sizeof(body), &len,
	    &flags, &raw), -EINVAL);
}

static void
test_empty(void **state)
{
	uint8_t flags = 0, body[8];
	size_t len = 99, raw = 99;

	(void)state;
	assert_int_equal(batch_encode_body(NULL, 0, body, sizeof(body), &len,
	    &flags, &raw), 0);
	assert_int_equal(len, 1);	/* base 0, no block */
	assert_int_equal(raw, 1);
	assert_int_equal(flags, 0);
	assert_int_equal(body[0], 0);
	round_trip(NULL, 0);
}

/* The worked example of docs/batch-format.md, byte for byte. */
#define DOC_N 9
static const uint8_t doc_example[] = {
	/* header: version, flags, gateway "gw-1", seq 5, check, body_len 46 */
	0x02, 0x00, 0x04, 'g', 'w', '-', '1', 0x05, 0x1e, 0x6f, 0x34, 0xf6, 0x2e,
	/* base 1700000000 s */
	0x80, 0xc4, 0x9f, 0xd5, 0x0c,
	/* device 0: 3 timestamps (+0, dd +30000, dd 0) */
	0x00, 0x03, 0x00, 0xe0, 0xd4, 0x03, 0x00,
	/* runs: points 0..1, 3; e_base -1; codes 0, 0, escape */
	0x02, 0x00, 0x01, 0x01, 0x00, 0x01, 0x30,
	/* point 0: 2304 (predicted 0), +2, -1 */
	0x80, 0x24, 0x04, 0x01,
	/* point 1: +7 from point 0's 2304, -1, -1 */
	0x0e, 0x01, 0x01,
	/* point 3: mode PRESENCE|INVALID, presence 101, invalid 10, e -2, 125 */
	0x03, 0x05, 0x02, 0x03, 0xfa, 0x01,
	/* device 2: 1 timestamp (+30000), run 0..0, e_base -2, code 0, 1234567 */
	0x02, 0x01, 0xe0, 0xd4, 0x03, 0x01, 0x00, 0x00, 0x03, 0x00,
	0x8e, 0xda, 0x96, 0x01,
};

static void
doc_readings(struct reading *r)
{
	r[0] = rd_f32(0, 0, T0, 230.4f);
	r[1] = rd_f32(0, 0, T0 + 30000, 230.6f);
	r[2] = rd_f32(0, 0, T0 + 60000, 230.5f);
	r[3] = rd_f32(0, 1, T0, 231.1f);
	r[4] = rd_f32(0, 1, T0 + 30000, 231.0f);
	r[5] = rd_f32(0, 1, T0 + 60000, 230.9f);
	r[6] = rd(0, 3, T0, 125, -2);
	r[7] = rd_invalid(0, 3, T0 + 60000);
	r[8] = rd(2, 0, T0 + 30000, 1234567, -2);
}

static void
test_doc_example(void **state)
{
	struct batch_hdr h = { .gw = "gw-1", .seq = 5, .schema_id = 0xa1b2c3d4 };
	struct reading r[DOC_N];
	uint8_t *msg;
	size_t len, i;

	(void)state;
	doc_readings(r);
	msg = make_batch(r, DOC_N, &h, &len, &h.flags);
	assert_int_equal(h.flags, 0);
	for (i = 0; i < len; i++)
		printf("%02x%s", msg[i], i + 1 == len ? "\n" : " ");
	assert_int_equal(len, sizeof(doc_example));
	assert_memory_equal(msg, doc_example, sizeof(doc_example));
	check_decode(doc_example, sizeof(doc_example), r, DOC_N, &h);
	free(msg);
}

/*
 * A long steady series deflates; every prefix of it, of a raw one and of one
 * with every kind of column must fail.
 */
static void
test_truncation(void **state)
{
	struct reading r[13 * 40];
	struct reading out[13 * 40];
	struct batch_hdr h;
	size_t n = 0, len, cut, got;
	const char *err;
	uint8_t flags, *msg;
	int k, pass, rc;

	(void)state;
	for (k = 0; k < 40; k++)
		n += meter_cycle(r + n, 1, T0 + 30000LL * k, k);
	for (pass = 0; pass < 3; pass++) {
		msg = pass == 0 ? make_batch(r, n, &hdr0, &len, &flags) :
		    pass == 1 ? make_batch(r, 13, &hdr0, &len, &flags) :
		    make_batch(shapes, shape_readings(), &hdr0, &len, &flags);
		assert_int_equal(flags & BATCH_F_DEFLATE, pass == 0 ? BATCH_F_DEFLATE : 0);
		for (cut = 0; cut < len; cut++) {
			err = NULL;
			rc = decode_fixed(msg, cut, &h, out, n, &got, &err);
			if (rc != -EBADMSG || err == NULL)
				fail_msg("prefix %zu of %zu: rc %d", cut, len, rc);
		}
		assert_int_equal(batch_decode(msg, len, hdr0.schema_id, &h, out, n,
		    &got, &err), 0);
		free(msg);
	}
}

/*
 * Random byte flips, insertions and deletions of valid batches (deflated, raw,
 * and raw with every kind of column) never crash; whatever decodes has at
 * most cap readings written.
 */
static void
test_mutations(void **state)
{
	static struct reading out[4096];
	struct reading r[13 * 30 + 2];
	struct batch_hdr h;
	size_t n = 0, len[3], got, i;
	uint8_t *msg[3], buf[8192];
	const char *err;
	int k, ok = 0, rc;

	(void)state;
	for (k = 0; k < 30; k++)
		n += meter_cycle(r + n, (uint16_t)(k % 2), T0 + 30000LL * k, k);
	r[n++] = rd_invalid(3, 3, T0);
	r[n++] = rd(3, 4, T0 + 5, 1, -300);
	msg[0] = make_batch(r, n, &hdr0, &len[0], NULL);
	msg[1] = make_batch(r + n - 8, 8, &hdr0, &len[1], NULL);
	msg[2] = make_batch(shapes, shape_readings(), &hdr0, &len[2], NULL);
	assert_true(msg[0][1] & BATCH_F_DEFLATE);
	assert_false(msg[1][1] & BATCH_F_DEFLATE);
	assert_false(msg[2][1] & BATCH_F_DEFLATE);
	for (i = 0; i < 15000; i++) {
		int which = (int)(i % 3), edits = 1 + (int)(rng() % 4), e;
		size_t l = len[which];

		memcpy(buf, msg[which], l);
		for (e = 0; e < edits; e++) {
			size_t at = (size_t)(rng() % l);

			switch (rng() % 4) {
			case 0:
				buf[at] ^= (uint8_t)(1u << (rng() % 8));
				break;
			case 1:
				buf[at] = (uint8_t)rng();
				break;
			case 2:
				if (l + 1 < sizeof(buf)) {
					memmove(buf + at + 1, buf + at, l - at);
					buf[at] = (uint8_t)rng();
					l++;
				}
				break;
			default:
				if (l > 1) {
					memmove(buf + at, buf + at + 1, l - at - 1);
					l--;
				}
				break;
			}
		}
		err = NULL;
		got = 0;
		rc = decode_fixed(buf, l, &h, out, (i % 3) ? 4096 : 10, &got, &err);
		if (rc == 0) {
			ok++;
			assert_true(got <= 4096);
		} else if (rc == -ENOSPC) {
			assert_true(got > 10);
		} else if (rc != -EBADMSG || err == NULL) {
			fail_msg("mutation %zu: rc %d", i, rc);
		}
	}
	printf("mutations: %d of 15000 still decode\n", ok);
	free(msg[0]);
	free(msg[1]);
	free(msg[2]);
}

/* Random readings of every shape: round trips and the body bound holds. */
static void
test_random_round_trip(void **state)
{
	static struct reading r[300];
	int iter;

	(void)state;
	for (iter = 0; iter < 300; iter++) {
		size_t n = (size_t)(rng() % 300), i, j;

		for (i = 0; i < n; i++) {
			r[i] = rd((uint16_t)(rng() % 4), (uint16_t)(rng() % 8),
			    T0 + (int64_t)(rng() % 20) * (rng() % 2 ? 30000 : 1),
			    (int64_t)(rng() >> (rng() % 64)) * (rng() % 2 ? 1 : -1),
			    (int)(rng() % 41) - 20);
			if (rng() % 10 == 0)
				r[i] = rd_invalid(r[i].dev, r[i].point, r[i].ts_ms);
			if (iter % 10 == 0)
				r[i].v.e = (int16_t)((int)(rng() % 761) - 380);
			if (iter == 7)
				r[i].ts_ms = (int64_t)(rng() % 2 ? 1 : -1) *
				    (int64_t)(rng() >> 2);
			for (j = 0; j < i; j++)
				if (cmp_reading(&r[i], &r[j]) == 0)
					break;
			if (j < i)
				i--;	/* duplicate: draw again */
		}
		round_trip(r, n);
	}
}

static void
test_encode_errors(void **state)
{
	struct reading r[2] = { rd(0, 1, T0, 5, 0), rd(0, 1, T0, 6, 0) };
	uint8_t flags = 0, body[64];
	size_t len, raw;

	(void)state;
	assert_int_equal(batch_encode_body(r, 2, body, sizeof(body), &len, &flags,
	    &raw), -EINVAL);	/* duplicate (dev, point, ts) */
	r[1].point = 2;
	r[1].quality = 7;
	assert_int_equal(batch_encode_body(r, 2, body, sizeof(body), &len, &flags,
	    &raw), -EINVAL);
	r[1] = rd(0, 1, BATCH_TS_MAX + 1, 1, 0);
	assert_int_equal(batch_encode_body(r, 2, body, sizeof(body), &len, &flags,
	    &raw), -EINVAL);
	r[1] = rd(0, 1, T0 + 1, 1, 401);
	assert_int_equal(batch_encode_body(r, 2, body, sizeof(body), &len, &flags,
	    &raw), -EINVAL);
	r[1] = rd(0, 1, T0 + 1, 1000, 398);	/* normalizes to 1e401 */
	assert_int_equal(batch_encode_body(r, 2, body, sizeof(body), &len, &flags,
	    &raw), -EINVAL);
	r[1] = rd(0, 1, T0 + 1, 10, 399);	/* 1e400: fine */
	assert_int_equal(batch_encode_body(r, 2, body, sizeof(body), &len, &flags,
	    &raw), 0);
	assert_int_equal(batch_encode_body(r, 2, body, 5, &len, &flags, &raw),
	    -ENOSPC);
	assert_int_equal(flags, 0);
}

/* A diagonal (each reading its own point and time) is quadratic: refused. */
static void
test_encode_too_big(void **state)
{
	size_t n = 6000, i, len, raw;
	struct reading *r = calloc(n, sizeof(*r));
	uint8_t flags = 0, *body = malloc(BATCH_BODY_MAX);

	(void)state;
	assert_non_null(r);
	assert_non_null(body);
	for (i = 0; i < n; i++)
		r[i] = rd(0, (uint16_t)i, T0 + (int64_t)i, 1, 0);
	assert_int_equal(batch_encode_body(r, n, body, BATCH_BODY_MAX, &len, &flags,
	    &raw), -EMSGSIZE);
	assert_int_equal(batch_body_bound(n), BATCH_BODY_MAX);
	free(body);
	free(r);
}

/* Decoding fails with a reason containing why; so does peeking if hdr_too. */
static void
expect_bad_(const uint8_t *msg, size_t len, const char *why, int hdr_too)
{
	struct reading out[8];
	struct batch_hdr h;
	const char *err = NULL;
	size_t n;

	if (decode_fixed(msg, len, &h, out, 8, &n, &err) != -EBADMSG)
		fail_msg("expected \"%s\", but it decodes", why);
	assert_non_null(err);
	if (strstr(err, why) == NULL)
		fail_msg("expected \"%s\", got \"%s\"", why, err);
	err = NULL;
	if (hdr_too) {
		assert_int_equal(batch_peek_hdr(msg, len, &h, &err), -EBADMSG);
		assert_non_null(err);
		if (strstr(err, why) == NULL)
			fail_msg("peek: expected \"%s\", got \"%s\"", why, err);
	} else {
		assert_int_equal(batch_peek_hdr(msg, len, &h, &err), 0);
	}
}

static void
expect_bad(const uint8_t *msg, size_t len, const char *why)
{
	expect_bad_(msg, len, why, 1);
}

static void
test_bad_header(void **state)
{
	uint8_t m[sizeof(doc_example) + 80];
	struct batch_hdr h = hdr0;
	size_t len;

	(void)state;
	memcpy(m, doc_example, sizeof(doc_example));
	m[0] = 1;	/* version 1 had no check: refused */
	expect_bad(m, sizeof(doc_example), "unknown version");
	m[0] = 3;
	expect_bad(m, sizeof(doc_example), "unknown version");
	m[0] = 2;
	m[1] = 0x20;
	expect_bad(m, sizeof(doc_example), "unknown flag");
	m[1] = 0x80;
	expect_bad(m, sizeof(doc_example), "unknown flag");
	m[1] = 0;
	m[2] = 0;
	expect_bad(m, sizeof(doc_example), "gateway id length");
	m[2] = 65;
	expect_bad(m, sizeof(doc_example), "gateway id length");
	m[2] = 4;
	m[4] = '/';
	expect_bad(m, sizeof(doc_example), "bad character");
	m[4] = 0;
	expect_bad(m, sizeof(doc_example), "bad character");
	m[4] = 'w';
	/* body_len BATCH_BODY_MAX + 1 = 0x400001: 81 80 80 02 */
	memcpy(m + 12, "\x81\x80\x80\x02", 4);
	memcpy(m + 16, doc_example + 13, sizeof(doc_example) - 13);
	expect_bad(m, sizeof(doc_example) + 3, "over BATCH_BODY_MAX");
	m[1] = BATCH_F_DEFLATE;
	expect_bad(m, sizeof(doc_example) + 3, "over BATCH_BODY_MAX");
	/* body_len with a padding byte: 0xa2 0x00 is overlong */
	memcpy(m, doc_example, 12);
	memcpy(m + 12, "\xa2\x00", 2);
	memcpy(m + 14, doc_example + 13, sizeof(doc_example) - 13);
	expect_bad(m, sizeof(doc_example) + 1, "body_len: overlong varint");
	/* seq of 11 bytes */
	memcpy(m, doc_example, 7);
	memset(m + 7, 0xff, 9);
	m[16] = 0x02;
	expect_bad(m, 17 + 4 + 1, "seq: overlong varint");
	/* body one byte short / long */
	expect_bad(doc_example, sizeof(doc_example) - 1, "body: truncated");
	memcpy(m, doc_example, sizeof(doc_example));
	m[sizeof(doc_example)] = 0;
	expect_bad(m, sizeof(doc_example) + 1, "trailing bytes");

	assert_int_equal(batch_peek_hdr(doc_example, sizeof(doc_example), &h, NULL),
	    0);
	assert_string_equal(h.gw, "gw-1");
	assert_int_equal(h.seq, 5);
	assert_int_equal(h.check, 0xf6346f1e);
	assert_int_equal(h.check_off, 8);
	assert_int_equal(h.schema_id, 0);	/* not known until matched */

	assert_true(batch_gw_valid("gw-0001"));
	assert_true(batch_gw_valid("A.b_c-9"));
	assert_false(batch_gw_valid(""));
	assert_false(batch_gw_valid("gw 1"));
	assert_false(batch_gw_valid("gw/1"));
	assert_false(batch_gw_valid("gw\xc3\xa9"));
	memset(h.gw, 'a', BATCH_GW_MAX);
	h.gw[BATCH_GW_MAX] = '\0';
	assert_true(batch_gw_valid(h.gw));
	h.flags = 0;
	assert_int_equal(batch_wrap(&h, m, 2, 2, m + 2, sizeof(m) - 2, &len), 0);
	assert_int_equal(len, 3 + BATCH_GW_MAX + 1 + 4 + 1 + 2);
	strcpy(h.gw, "bad id");
	assert_int_equal(batch_wrap(&h, m, 2, 2, m, sizeof(m), &len), -EINVAL);
	strcpy(h.gw, "gw");
	h.flags = 0x40;
	assert_int_equal(batch_wrap(&h, m, 2, 2, m, sizeof(m), &len), -EINVAL);
	h.flags = 0;
	assert_int_equal(batch_wrap(&h, m, 2, 3, m, sizeof(m), &len), -EINVAL);
	h.flags = BATCH_F_DEFLATE;
	assert_int_equal(batch_wrap(&h, m, 2, BATCH_BODY_MAX + 1, m, sizeof(m),
	    &len), -EINVAL);
	assert_int_equal(batch_wrap(&h, m, 2, 3, m, 10, &len), -ENOSPC);
}

/* Hand-made bodies (raw, behind a fixed header) that break one rule each. */
static size_t
body_msg(uint8_t *m, const char *body, size_t blen)
{
	static const uint8_t h[] = { 2, 0, 1, 'g', 0, 0, 0, 0, 0 };

	assert_true(blen < 128);
	memcpy(m, h, sizeof(h));
	m[9] = (uint8_t)blen;
	memcpy(m + 10, body, blen);
	return 10 + blen;
}

static void
expect_bad_body(const char *body, size_t blen, const char *why)
{
	uint8_t m[160];

	expect_bad_(m, body_msg(m, body, blen), why, 0);
}

/* A hand-made body that must decode to n readings; returns the first ones. */
static void
expect_good_body(const char *body, size_t blen, size_t n, struct reading *out)
{
	struct batch_hdr h;
	const char *err = NULL;
	uint8_t m[160];
	size_t got = 0, len = body_msg(m, body, blen);

	if (decode_fixed(m, len, &h, out, 8, &got, &err) != 0)
		fail_msg("expected to decode, got \"%s\"", err ? err : "");
	assert_int_equal(got, n);
}

static void
test_bad_body(void **state)
{
	struct reading out[8];

	(void)state;
	/*
	 * base 0; dev 0, n_ts 2: +0, +30 s; 1 run: gap 0, length 1; e_base 0;
	 * codes: plain 0; deltas 1 1
	 */
#define OK_BODY "\x00\x00\x02\x00\xe0\xd4\x03\x01\x00\x00\x00\x00\x02\x02"
	expect_good_body(OK_BODY, 14, 2, out);
	assert_int_equal(out[1].ts_ms, 30000);
	assert_int_equal(out[1].v.m, 2);
	/* a byte after the last block is the start of a block */
	expect_bad_body(OK_BODY "\x00", 15, "device index not ascending");
	expect_bad_body(OK_BODY "\x01", 15, "timestamp count: truncated");
	expect_bad_body("\x00\x01\x01\x00\x01\x00\x00\x00\x00\x02"
	    "\x00\x01\x00\x01\x00\x00\x00\x00\x02", 19,
	    "device index not ascending");
	expect_bad_body("\x00\x80\x80\x04\x01\x00\x01\x00\x00\x00\x00\x02", 12,
	    "over 65535");
	expect_bad_body("\x00\x00\x00\x01", 4, "bad timestamp count");
	expect_bad_body("\x00\x00\x02\x00\x00\x01\x00\x00\x00\x00\x02\x02", 12,
	    "timestamps not ascending");
	/* runs: none; more than the bytes allow; past point 65535 */
	expect_bad_body("\x00\x00\x01\x00\x00\x00\x00\x02", 8, "bad run count");
	expect_bad_body("\x00\x00\x01\x00\x03\x00\x00\x00\x00\x02", 10,
	    "bad run count");
	expect_bad_body("\x00\x00\x01\x00\x01\xff\xff\x03\x01\x00\x00\x02\x02",
	    13, "point index over 65535");
	expect_bad_body("\x00\x00\x01\x00\x01\x80\x80\x04\x00\x00\x00\x02", 12,
	    "point index over 65535");	/* gap 65536 */
	expect_good_body("\x00\x00\x01\x00\x01\xfe\xff\x03\x01\x00\x00\x02\x02",
	    13, 2, out);			/* 65534, 65535 */
	assert_int_equal(out[1].point, 65535);
	/* two runs, 1 and 3..4: gap 2 after the first */
	expect_good_body("\x00\x00\x01\x00\x02\x01\x00\x01\x01\x00\x00"
	    "\x02\x04\x06", 14, 3, out);
	assert_int_equal(out[0].point, 1);
	assert_int_equal(out[1].point, 3);
	assert_int_equal(out[2].point, 4);
	/* the second column predicted from the first: 1, then 2 + 1 */
	assert_int_equal(out[1].v.m, 3);
	expect_bad_body("\x00\x00\x01\x00\x01\x00\x00\xa2\x06\x00\x02", 11,
	    "block exponent out of range");
	expect_bad_body("\x00\x00\x01\x00\x01\x00\x00\x00\x04\x02", 10,
	    "bitmap padding");		/* code bits of a second column */
	expect_bad_body("\x00\x00\x01\x00\x01\x00\x00\x00", 8,
	    "truncated bitmap");
	/* escaped columns: mode bits, presence, invalid, exponent */
	expect_bad_body("\x00\x00\x01\x00\x01\x00\x00\x00\x03\x08\x00\x02", 12,
	    "unknown column mode");
	expect_bad_body("\x00\x00\x02\x00\x02\x01\x00\x00\x00\x03\x01\x00", 12,
	    "column without readings");
	expect_bad_body("\x00\x00\x02\x00\x02\x01\x00\x00\x00\x03\x01\x07"
	    "\x00\x02", 14, "bitmap padding");
	expect_good_body("\x00\x00\x02\x00\x02\x01\x00\x00\x00\x03\x03\x02"
	    "\x01", 13, 1, out);		/* one present reading, invalid */
	assert_int_equal(out[0].quality, Q_INVALID);
	assert_int_equal(out[0].ts_ms, 1);
	expect_bad_body("\x00\x00\x01\x00\x01\x00\x00\x00\x03\x00\xa2\x06\x02",
	    13, "column exponent out of range");
	expect_bad_body("\x00\x00\x01\x00\x01\x00\x00\xa0\x06\x01\x02", 11,
	    "column exponent out of range");	/* e_base 400 + code 1 */
	expect_bad_body("\x00\x00\x01\x00\x01\x00\x00\x00\x03\x00", 10,
	    "column exponent: truncated");
	expect_bad_body("\x00\x00\x01\x00\x01\x00\x00\x00\x03\x00\x00", 11,
	    "truncated values");
	/* base timestamp: overlong, out of range; a timestamp out of range */
	expect_bad_body("\x80\x80\x80\x80\x80\x80\x80\x80\x80\x02", 10,
	    "base timestamp: overlong");
	expect_bad_body("\xf8\xa7\x8d\xaf\xba\x93\xb1\x10", 8,
	    "base timestamp out of range");
	expect_good_body("\xf6\xa7\x8d\xaf\xba\x93\xb1\x10", 8, 0, out);
	expect_bad_body("\xf6\xa7\x8d\xaf\xba\x93\xb1\x10\x00\x01\xd0\x0f"
	    "\x01\x00\x00\x00\x00\x02", 18, "timestamp out of range");
	/* value delta overflow: INT64_MAX then +1, in a column and across two */
	expect_bad_body("\x00\x00\x02\x00\x02\x01\x00\x00\x00\x00"
	    "\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01\x02", 21, "delta overflows");
	expect_bad_body("\x00\x00\x01\x00\x01\x00\x01\x00\x00"
	    "\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01\x02", 20, "delta overflows");
	/* per-value exponent 401 */
	expect_bad_body("\x00\x00\x01\x00\x01\x00\x00\x00\x03\x04\xa2\x06\x02",
	    13, "value exponent out of range");
	/* shared exponent 400, mantissa 10 -> 1e401 */
	expect_bad_body("\x00\x00\x01\x00\x01\x00\x00\xa0\x06\x00\x14", 11,
	    "value exponent out of range");
	expect_bad_body(OK_BODY, 13, "truncated");
#undef OK_BODY
}

/* Deflated bodies whose stream is longer or shorter than body_len, or trails. */
static void
test_inflate_exact(void **state)
{
	struct reading r[13 * 10], out[13 * 10];
	uint8_t *msg, m[4096];
	struct batch_hdr h;
	const char *err;
	size_t len, n = 0, got, hl = 3 + 7 + 1 + 4;	/* up to body_len */
	uint64_t bl = 0;
	int k, sh = 0;

	(void)state;
	for (k = 0; k < 10; k++)
		n += meter_cycle(r + n, 0, T0 + 30000LL * k, k);
	msg = make_batch(r, n, &hdr0, &len, NULL);
	assert_true(msg[1] & BATCH_F_DEFLATE);
	for (k = 0; msg[hl + k] & 0x80; k++, sh += 7)
		bl |= (uint64_t)(msg[hl + k] & 0x7f) << sh;
	bl |= (uint64_t)msg[hl + k] << sh;
	assert_true(bl > 128 && bl < 16384);	/* a 2-byte varint */
	memcpy(m, msg, len);
	m[hl] = (uint8_t)(((bl - 1) & 0x7f) | 0x80);
	m[hl + 1] = (uint8_t)((bl - 1) >> 7);
	expect_bad_(m, len, "more than body_len", 0);
	m[hl] = (uint8_t)(((bl + 1) & 0x7f) | 0x80);
	m[hl + 1] = (uint8_t)((bl + 1) >> 7);
	expect_bad_(m, len, "less than body_len", 0);
	memcpy(m, msg, len);
	m[len] = 0;
	expect_bad_(m, len + 1, "trailing bytes after deflate", 0);
	expect_bad_(m, len - 1, "truncated deflate", 0);
	m[hl + 2] ^= 0xff;
	assert_int_equal(decode_fixed(m, len, &h, out, n, &got, &err), -EBADMSG);
	assert_int_equal(batch_decode(msg, len, hdr0.schema_id, &h, out, n, &got,
	    &err), 0);
	assert_int_equal(got, n);
	free(msg);
}

static void
test_enospc(void **state)
{
	struct reading r[13 * 3], out[13 * 3];
	struct batch_hdr h;
	const char *err = NULL;
	size_t n = 0, len, got = 0;
	uint8_t *msg;
	int k;

	(void)state;
	for (k = 0; k < 3; k++)
		n += meter_cycle(r + n, (uint16_t)k, T0 + 30000LL * k, k);
	msg = make_batch(r, n, &hdr0, &len, NULL);
	assert_int_equal(batch_decode(msg, len, hdr0.schema_id, &h, out, 20, &got,
	    &err), -ENOSPC);
	assert_int_equal(got, 39);
	assert_non_null(err);
	assert_int_equal(batch_decode(msg, len, hdr0.schema_id, &h, NULL, 0, &got,
	    &err), -ENOSPC);
	assert_int_equal(got, 39);
	assert_int_equal(batch_decode(msg, len, hdr0.schema_id, &h, out, 39, &got,
	    &err), 0);
	assert_int_equal(got, 39);
	free(msg);
}

/* One poll of the shipped SDM630 profile (21 points), from tools/sim/model.c. */
static const struct { int64_t m; int e; } sdm630_cycle[21] = {
	{ 23056, -2 }, { 22995, -2 }, { 22822, -2 }, { 361, -3 }, { 402, -3 },
	{ 6779, -3 }, { 773, -1 }, { 899, -1 }, { 1462, 0 }, { 929, -3 },
	{ 972, -3 }, { 945, -3 }, { 7542, -3 }, { 16292, -1 }, { 17227, -1 },
	{ 5581, -1 }, { 946, -3 }, { 4996, -2 }, { 871401, -2 }, { 0, 0 },
	{ 871401, -2 },
};

/* Bytes of an MQTT PUBLISH (QoS 1) of a batch on "wg/gw-demo/b". */
static size_t
publish_size(size_t len)
{
	return 1 + (len + 16 < 128 ? 1 : 2) + 2 + 12 + 2 + len;
}

/*
 * What the fleet pays: live cycles, where a column costs its value and two
 * bits, and a steady backlog block of 120 cycles of 13 slowly varying values
 * (random walks of a few LSB).
 */
static void
test_size(void **state)
{
	static struct reading r[13 * 120];
	struct batch_hdr h = { .gw = "gw-demo", .seq = 1000 };
	float v[13] = { 230.4f, 231.1f, 229.8f, 5.23f, 3.1f, 0.87f, 1204.5f,
	    716.3f, 199.2f, 2120.0f, 49.98f, 12345.678f, 234.5f };
	float step[13] = { 0.1f, 0.1f, 0.1f, 0.01f, 0.01f, 0.01f, 0.1f, 0.1f,
	    0.1f, 0.1f, 0.01f, 0.001f, 0.0f };
	uint8_t flags = 0, body[256];
	size_t n = 0, len, raw;
	uint8_t *msg;
	int k, i;

	(void)state;
	rng_state = 0x2545f4914f6cdd1dULL;	/* the same walks whatever ran before */
	msg = make_batch(r, meter_cycle(r, 0, T0, 0), &hdr0, &len, NULL);
	printf("one 13-value cycle: %zu bytes with header (%.2f B/reading)\n", len,
	    (double)len / 13);
	assert_true(len <= 60);
	free(msg);
	for (i = 0; i < 21; i++)
		r[i] = rd(0, (uint16_t)i, T0, sdm630_cycle[i].m, sdm630_cycle[i].e);
	msg = make_batch(r, 21, &h, &len, NULL);
	printf("one SDM630 cycle: %zu bytes with header, %.2f B/reading as a "
	    "PUBLISH\n", len, (double)publish_size(len) / 21);
	assert_true(publish_size(len) <= 96);
	check_decode(msg, len, r, 21, &h);
	free(msg);
	/*
	 * 21 zeros: base(5) dev n_ts x0, one run (3), e_base, 6 bytes of codes,
	 * and one byte per value (before deflate, which shrinks this one)
	 */
	for (i = 0; i < 21; i++)
		r[i] = rd(0, (uint16_t)i, T0, 0, 0);
	assert_int_equal(batch_encode_body(r, 21, body, sizeof(body), &len,
	    &flags, &raw), 0);
	assert_int_equal(raw, 5 + 3 + 3 + 1 + 6 + 21);
	for (k = 0; k < 120; k++) {
		for (i = 0; i < 13; i++) {
			if (i == 11)	/* energy counter only goes up */
				v[i] += step[i] * (float)(rng() % 20);
			else
				v[i] += step[i] * (float)((int)(rng() % 5) - 2);
			r[n++] = rd_f32(0, (uint16_t)i, T0 + 30000LL * k, v[i]);
		}
	}
	msg = make_batch(r, n, &hdr0, &len, NULL);
	printf("120 cycles x 13 points: %zu bytes with header (%.2f B/reading)\n",
	    len, (double)len / (double)n);
	assert_true(len * 100 < 95 * n);
	check_decode(msg, len, r, n, &hdr0);
	free(msg);
}

/*
 * Issue 13, defect 1: of 3,000 bit-flipped batches 171 were accepted with
 * altered data. Now every single-bit flip of a live batch, and of a
 * merged one, is refused: by the header's rules or by the check.
 */
static void
test_bit_flips(void **state)
{
	struct batch_hdr h0 = { .seq = 1796516776963ULL, .schema_id = 0x1234abcd,
	    .flags = BATCH_F_GW_TRANSPORT };
	struct reading r[13 * 20], out[13 * 20];
	uint32_t ids[2] = { 0x0badf00d, 0x1234abcd };
	struct batch_hdr h;
	size_t n, len, i, got, refused = 0;
	uint8_t *msg;
	int pass, k;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		n = 0;
		for (k = 0; k < (pass ? 20 : 1); k++)
			n += meter_cycle(r + n, 0, T0 + 30000LL * k, k);
		if (pass) {
			h0.flags |= BATCH_F_SPAN | BATCH_F_HISTORICAL;
			h0.seq_last = h0.seq + 19;
		}
		msg = make_batch(r, n, &h0, &len, NULL);
		assert_int_equal(batch_peek_hdr(msg, len, &h, NULL), 0);
		assert_int_equal(batch_match(msg, len, &h, ids, 2), 1);
		assert_int_equal(h.schema_id, 0x1234abcd);
		for (i = 0; i < len * 8; i++) {
			msg[i / 8] ^= (uint8_t)(1u << (i % 8));
			if (batch_peek_hdr(msg, len, &h, NULL) == 0)
				assert_int_equal(batch_match(msg, len, &h, ids, 2), -1);
			assert_int_equal(batch_decode(msg, len, 0x1234abcd, &h, out,
			    n, &got, NULL), -EBADMSG);
			refused++;
			msg[i / 8] ^= (uint8_t)(1u << (i % 8));
		}
		/* Another schema than the one it was made for does not match. */
		assert_int_equal(batch_decode(msg, len, 0x0badf00d, &h, out, n, &got,
		    NULL), -EBADMSG);
		free(msg);
	}
	assert_true(refused > 1000);
}

/* A span is bounded: seq 10 with a span of 2^63 is refused, both ways. */
static void
test_span_bounded(void **state)
{
	struct batch_hdr h = { .gw = "gw-1", .seq = 10, .seq_last = 10 +
	    BATCH_SPAN_MAX, .flags = BATCH_F_SPAN };
	uint8_t m[64] = { 0 };
	const char *err = NULL;
	size_t len;

	(void)state;
	assert_int_equal(batch_wrap(&h, m, 0, 0, m, sizeof(m), &len), 0);
	assert_int_equal(batch_peek_hdr(m, len, &h, NULL), 0);
	assert_int_equal(h.seq_last - h.seq, BATCH_SPAN_MAX);
	h.seq_last++;
	assert_int_equal(batch_wrap(&h, m, 0, 0, m, sizeof(m), &len), -EINVAL);
	/* by hand: 02 04 04 'gw-1' 0a, span 2^63 = 80 80 .. 80 01, check, 00 */
	memcpy(m, "\x02\x04\x04gw-1\x0a", 8);
	memcpy(m + 8, "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 10);
	memset(m + 18, 0, 4);
	m[22] = 0;
	assert_int_equal(batch_peek_hdr(m, 23, &h, &err), -EBADMSG);
	assert_string_equal(err, "header: span over BATCH_SPAN_MAX");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_span_bounded),
		cmocka_unit_test(test_meter_cycle),
		cmocka_unit_test(test_gateway_from_transport),
		cmocka_unit_test(test_volatile_has_no_span),
		cmocka_unit_test(test_multi_device_sparse),
		cmocka_unit_test(test_pervalue_exponent),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_column_shapes),
		cmocka_unit_test(test_timestamps),
		cmocka_unit_test(test_doc_example),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_random_round_trip),
		cmocka_unit_test(test_encode_errors),
		cmocka_unit_test(test_encode_too_big),
		cmocka_unit_test(test_bad_header),
		cmocka_unit_test(test_bad_body),
		cmocka_unit_test(test_inflate_exact),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_size),
	};

	return cmocka_run_group_tests_name("batch", tests, NULL, NULL);
}
