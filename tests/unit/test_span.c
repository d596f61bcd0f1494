/*
 * Merged backlog batches: the SPAN header field, and decoding a stored body
 * without a header (what the store's merge does).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/codec/batch.h"

static const struct reading rd[] = {
	{ 1763827200000LL, 0, 0, Q_OK, { 2301, -1 } },
	{ 1763827200000LL, 0, 1, Q_OK, { 15, 0 } },
	{ 1763827230000LL, 0, 0, Q_OK, { 2302, -1 } },
	{ 1763827230000LL, 0, 1, Q_INVALID, { 0, 0 } },
};
#define NR (sizeof(rd) / sizeof(rd[0]))

static size_t
wrap(struct batch_hdr *h, uint8_t *msg, size_t cap)
{
	uint8_t body[256];
	size_t len, raw_len, n;
	uint8_t flags = 0;

	assert_int_equal(batch_encode_body(rd, NR, body, sizeof(body), &len, &flags,
	    &raw_len), 0);
	h->flags |= flags;
	assert_int_equal(batch_wrap(h, body, len, raw_len, msg, cap, &n), 0);
	return n;
}

static void
test_span_roundtrip(void **state)
{
	struct batch_hdr h = { .gw = "gw-1", .seq = 1000, .seq_last = 1119,
	    .schema_id = 7, .flags = BATCH_F_SPAN | BATCH_F_HISTORICAL }, d;
	struct reading out[8];
	uint8_t msg[512];
	size_t len, n;

	(void)state;
	len = wrap(&h, msg, sizeof(msg));
	assert_int_equal(batch_decode(msg, len, 7, &d, out, 8, &n, NULL), 0);
	assert_int_equal(d.seq, 1000);
	assert_int_equal(d.seq_last, 1119);
	assert_true(d.flags & BATCH_F_SPAN);
	assert_int_equal(n, NR);
	assert_int_equal(batch_peek_hdr(msg, len, &d, NULL), 0);
	assert_int_equal(d.seq_last, 1119);

	/* Without the flag seq_last is seq, whatever the caller left in it. */
	h.flags = 0;
	h.seq_last = 5;
	len = wrap(&h, msg, sizeof(msg));
	assert_int_equal(batch_peek_hdr(msg, len, &d, NULL), 0);
	assert_int_equal(d.seq_last, 1000);
}

static void
test_span_invalid(void **state)
{
	struct batch_hdr h = { .gw = "gw-1", .seq = 10, .seq_last = 10,
	    .flags = BATCH_F_SPAN };
	uint8_t msg[512], body[1] = { 0 };
	const char *err;
	size_t len;

	(void)state;
	/* A span must cover at least two seqs: one encoding per batch. */
	assert_int_equal(batch_wrap(&h, body, 1, 1, msg, sizeof(msg), &len), -EINVAL);
	h.seq_last = 9;
	assert_int_equal(batch_wrap(&h, body, 1, 1, msg, sizeof(msg), &len), -EINVAL);
	h.seq_last = 11;
	assert_int_equal(batch_wrap(&h, body, 1, 1, msg, sizeof(msg), &len), 0);
	/* version, flags, len 4, "gw-1", seq 10, span 1: set the span to 0 */
	assert_int_equal(msg[8], 1);
	msg[8] = 0;
	err = NULL;
	assert_int_equal(batch_peek_hdr(msg, len, &h, &err), -EBADMSG);
	assert_string_equal(err, "header: span of 0");
	/* a span past 2^64 - 1 */
	h.seq = UINT64_MAX - 1;
	h.seq_last = UINT64_MAX;
	assert_int_equal(batch_wrap(&h, body, 1, 1, msg, sizeof(msg), &len), 0);
	msg[7 + 10] = 2;
	assert_int_equal(batch_peek_hdr(msg, len, &h, &err), -EBADMSG);
	assert_string_equal(err, "header: span past the largest seq");
}

static void
test_decode_body(void **state)
{
	uint8_t body[256];
	struct reading out[8];
	size_t len, raw_len, n;
	uint8_t flags = 0;
	const char *err;

	(void)state;
	assert_int_equal(batch_encode_body(rd, NR, body, sizeof(body), &len, &flags,
	    &raw_len), 0);
	assert_int_equal(batch_decode_body(body, len, raw_len, flags, out, 8, &n,
	    &err), 0);
	assert_int_equal(n, NR);
	assert_int_equal(out[2].v.m, 2302);
	assert_int_equal(out[3].quality, Q_INVALID);
	assert_int_equal(batch_decode_body(body, len, raw_len, flags, out, 2, &n,
	    &err), -ENOSPC);
	assert_int_equal(n, NR);
	assert_int_equal(batch_decode_body(body, len - 1, raw_len, flags, out, 8, &n,
	    &err), -EBADMSG);
	assert_non_null(err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_span_roundtrip),
		cmocka_unit_test(test_span_invalid),
		cmocka_unit_test(test_decode_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
