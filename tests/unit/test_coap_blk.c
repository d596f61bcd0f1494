/*
 * The receiver's Block1 reassembly (tools/recv/coap_blk.c): a body put
 * together in order and handed over whole; refused as soon as Size1 or a
 * block shows it too large, with nothing kept; out-of-order and odd-sized
 * blocks; a repeated block and a repeated last block; the slots, the hold
 * budget (never passed, 5.03 past it) and the idle timeout.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "tools/recv/coap_blk.h"

#define LIMIT	(64u << 10)

static uint8_t body[LIMIT + 4096];

/* One block of body under key k (a short string), blocks of 2^(szx+4). */
static enum coap_blk_verdict
put(struct coap_blk *b, const char *k, uint32_t num, unsigned szx, int more,
    size_t len, int64_t now, struct coap_xfer **x)
{
	size_t off = (size_t)num << (szx + 4);
	struct coap_blk_req rq = { .key = (const uint8_t *)k,
		.key_len = strlen(k), .num = num, .szx = szx, .more = more,
		.len = len, .limit = LIMIT, .now_ms = now };

	/* Blocks past the body are refused unread: any bytes will do. */
	rq.data = off <= sizeof(body) - len ? body + off : body;
	return coap_blk_add(b, &rq, x);
}

/* A whole body of len bytes in blocks of 1024: the last verdict. */
static enum coap_blk_verdict
send_all(struct coap_blk *b, const char *k, size_t len, struct coap_xfer **x)
{
	uint32_t n = (uint32_t)((len + 1023) / 1024), i;
	enum coap_blk_verdict v = COAP_BLK_BAD;

	for (i = 0; i < n; i++) {
		int more = i + 1 < n;

		v = put(b, k, i, 6, more, more ? 1024 : len - i * 1024u, 0, x);
		if (v != (more ? COAP_BLK_CONTINUE : COAP_BLK_BODY))
			return v;
	}
	return v;
}

static void
setup_body(void)
{
	size_t i;

	for (i = 0; i < sizeof(body); i++)
		body[i] = (uint8_t)(i * 31 + (i >> 8));
}

static void
test_in_order(void **state)
{
	struct coap_blk b;
	struct coap_xfer *x;

	(void)state;
	setup_body();
	assert_int_equal(coap_blk_init(&b, 4, 1u << 20), 0);
	assert_int_equal(send_all(&b, "peer/a", 5000, &x), COAP_BLK_BODY);
	assert_non_null(x);
	assert_int_equal(x->len, 5000);
	assert_memory_equal(x->body, body, 5000);
	/* Grown by doubling from what came, not more than twice that. */
	assert_true(b.held >= 5000 && b.held <= 2 * 5000);
	coap_blk_done(&b, x, 204);
	assert_int_equal(b.held, 0);
	assert_int_equal(coap_blk_open(&b), 0);
	/* Its last block again (the 2.04 was lost): the same answer. */
	assert_int_equal(put(&b, "peer/a", 4, 6, 0, 5000 - 4096, 1, &x),
	    COAP_BLK_REPEAT);
	assert_int_equal(x->done_code, 204);
	/* A middle block of it now: no transfer for that. */
	assert_int_equal(put(&b, "peer/a", 2, 6, 1, 1024, 1, &x),
	    COAP_BLK_INCOMPLETE);
	/* Block 0 under the same key: a new body. */
	assert_int_equal(put(&b, "peer/a", 0, 6, 1, 1024, 2, &x),
	    COAP_BLK_CONTINUE);
	assert_int_equal(coap_blk_open(&b), 1);
	coap_blk_free(&b);
}

static void
test_size1_refused_at_once(void **state)
{
	struct coap_blk_req rq = { .key = (const uint8_t *)"k", .key_len = 1,
		.num = 0, .szx = 6, .more = 1, .has_size1 = 1,
		.size1 = 1ull << 31, .data = body, .len = 1024, .limit = LIMIT };
	struct coap_blk b;
	struct coap_xfer *x;

	(void)state;
	assert_int_equal(coap_blk_init(&b, 4, 1u << 20), 0);
	assert_int_equal(coap_blk_add(&b, &rq, &x), COAP_BLK_TOO_LARGE);
	assert_int_equal(b.held, 0);
	assert_int_equal(b.held_peak, 0);
	assert_int_equal(coap_blk_open(&b), 0);
	/* Size1 at the limit is fine; one past it is not, at any block. */
	rq.size1 = LIMIT;
	assert_int_equal(coap_blk_add(&b, &rq, &x), COAP_BLK_CONTINUE);
	rq.num = 1;
	rq.data = body + 1024;
	rq.size1 = LIMIT + 1;
	assert_int_equal(coap_blk_add(&b, &rq, &x), COAP_BLK_TOO_LARGE);
	assert_int_equal(b.held, 0);
	assert_int_equal(coap_blk_open(&b), 0);
	coap_blk_free(&b);
}

static void
test_blocks_past_limit(void **state)
{
	struct coap_blk b;
	struct coap_xfer *x;
	uint32_t i, last = LIMIT / 1024 - 1;

	(void)state;
	assert_int_equal(coap_blk_init(&b, 4, 1u << 20), 0);
	/* No Size1 (or a small one): the block that reaches the limit with
	 * more to come is refused, and what was held is let go. */
	for (i = 0; i < last; i++)
		assert_int_equal(put(&b, "k", i, 6, 1, 1024, 0, &x),
		    COAP_BLK_CONTINUE);
	assert_true(b.held <= LIMIT);
	assert_int_equal(put(&b, "k", last, 6, 1, 1024, 0, &x),
	    COAP_BLK_TOO_LARGE);
	assert_int_equal(b.held, 0);
	assert_int_equal(coap_blk_open(&b), 0);
	/* A body of exactly the limit is taken. */
	assert_int_equal(send_all(&b, "k", LIMIT, &x), COAP_BLK_BODY);
	assert_int_equal(x->len, LIMIT);
	assert_int_equal(x->cap, LIMIT);
	coap_blk_done(&b, x, 204);
	/* A block number far out: refused, nothing allocated for it. */
	assert_int_equal(put(&b, "k2", 0, 6, 1, 1024, 0, &x), COAP_BLK_CONTINUE);
	assert_int_equal(put(&b, "k2", 0xFFFFF, 0, 1, 16, 0, &x),
	    COAP_BLK_TOO_LARGE);
	assert_int_equal(b.held, 0);
	coap_blk_free(&b);
}

static void
test_order_and_sizes(void **state)
{
	struct coap_blk b;
	struct coap_xfer *x;

	(void)state;
	assert_int_equal(coap_blk_init(&b, 4, 1u << 20), 0);
	assert_int_equal(put(&b, "k", 1, 6, 1, 1024, 0, &x), COAP_BLK_INCOMPLETE);
	assert_int_equal(coap_blk_open(&b), 0);
	assert_int_equal(put(&b, "k", 0, 6, 1, 1000, 0, &x), COAP_BLK_BAD);
	assert_int_equal(put(&b, "k", 0, 6, 0, 1025, 0, &x), COAP_BLK_BAD);
	assert_int_equal(put(&b, "k", 0, 7, 1, 2048, 0, &x), COAP_BLK_BAD);
	assert_int_equal(put(&b, "k", 0, 6, 1, 1024, 0, &x), COAP_BLK_CONTINUE);
	assert_int_equal(put(&b, "k", 1, 6, 1, 1024, 0, &x), COAP_BLK_CONTINUE);
	/* Block 1 again, its 2.31 lost: 2.31 again, nothing added. */
	assert_int_equal(put(&b, "k", 1, 6, 1, 1024, 0, &x), COAP_BLK_CONTINUE);
	/* A gap: the transfer is given up. */
	assert_int_equal(put(&b, "k", 3, 6, 1, 1024, 0, &x), COAP_BLK_INCOMPLETE);
	assert_int_equal(coap_blk_open(&b), 0);
	assert_int_equal(b.held, 0);
	/* Smaller blocks half way, still in order (RFC 7959 2.5): fine. */
	assert_int_equal(put(&b, "k", 0, 6, 1, 1024, 0, &x), COAP_BLK_CONTINUE);
	assert_int_equal(put(&b, "k", 2, 5, 1, 512, 0, &x), COAP_BLK_CONTINUE);
	assert_int_equal(put(&b, "k", 3, 5, 0, 100, 0, &x), COAP_BLK_BODY);
	assert_int_equal(x->len, 1024 + 512 + 100);
	assert_memory_equal(x->body, body, 1024 + 512 + 100);
	coap_blk_done(&b, x, 400);
	assert_int_equal(put(&b, "k", 3, 5, 0, 100, 0, &x), COAP_BLK_REPEAT);
	assert_int_equal(x->done_code, 400);
	coap_blk_free(&b);
}

static void
test_slots(void **state)
{
	struct coap_blk b;
	struct coap_xfer *x;

	(void)state;
	assert_int_equal(coap_blk_init(&b, 2, 1u << 20), 0);
	assert_int_equal(put(&b, "a", 0, 6, 1, 1024, 0, &x), COAP_BLK_CONTINUE);
	assert_int_equal(put(&b, "b", 0, 6, 1, 1024, 0, &x), COAP_BLK_CONTINUE);
	assert_int_equal(put(&b, "c", 0, 6, 1, 1024, 0, &x), COAP_BLK_BUSY);
	assert_int_equal(put(&b, "d", 0, 6, 1, 1024, 0, &x), COAP_BLK_BUSY);
	assert_int_equal(b.busy, 2);
	assert_int_equal(b.busy_run, 2);
	/* "a" ends: its slot keeps only its answer and goes to the next one. */
	assert_int_equal(put(&b, "a", 1, 6, 0, 10, 0, &x), COAP_BLK_BODY);
	coap_blk_done(&b, x, 204);
	assert_int_equal(put(&b, "c", 0, 6, 1, 1024, 0, &x), COAP_BLK_CONTINUE);
	assert_int_equal(b.resumed, 2);
	assert_int_equal(b.busy_run, 0);
	/* "b" idle past the timeout: dropped, its memory with it. */
	assert_int_equal(put(&b, "d", 0, 6, 1, 1024, COAP_BLK_IDLE_MS, &x),
	    COAP_BLK_CONTINUE);
	assert_int_equal(b.expired, 2);	/* "b" and "c" */
	assert_int_equal(put(&b, "b", 1, 6, 1, 1024, COAP_BLK_IDLE_MS, &x),
	    COAP_BLK_INCOMPLETE);
	assert_int_equal(coap_blk_open(&b), 1);
	assert_int_equal(b.held, 1024);
	coap_blk_free(&b);
}

static void
test_budget(void **state)
{
	struct coap_blk b;
	struct coap_xfer *x;
	char k[8];
	int i, j, busy = 0;

	(void)state;
	/* 100 KiB for transfers of up to 64 KiB: never more held. */
	assert_int_equal(coap_blk_init(&b, 16, 100u << 10), 0);
	for (j = 0; j < 40; j++)
		for (i = 0; i < 4; i++) {
			snprintf(k, sizeof(k), "p%d", i);
			switch (put(&b, k, (uint32_t)j, 6, 1, 1024, 0, &x)) {
			case COAP_BLK_BUSY:
				busy++;
				break;
			case COAP_BLK_CONTINUE:
			case COAP_BLK_INCOMPLETE:	/* after its BUSY */
				break;
			default:
				fail();
			}
			assert_true(b.held <= b.budget);
		}
	assert_true(busy > 0);
	assert_true(b.held_peak <= 100u << 10);
	assert_int_equal(b.busy, (uint64_t)busy);
	coap_blk_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_size1_refused_at_once),
		cmocka_unit_test(test_blocks_past_limit),
		cmocka_unit_test(test_order_and_sizes),
		cmocka_unit_test(test_slots),
		cmocka_unit_test(test_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
