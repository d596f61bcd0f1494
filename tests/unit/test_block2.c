/*
 * block2_check: what fetch_coap.c takes from a CoAP server as the bytes of
 * a range. Good answers (the range from the middle of a block, a smaller
 * block size chosen by the server, a whole resource without Block2), and
 * every answer a server should not give: another block, a larger one, a
 * short block with more to come, a Size2 below the range or overrun, a last
 * block before the range's end.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "firmware/ota/block2.h"

static struct block2_answer
blk(uint32_t num, int more, unsigned szx, size_t len, int64_t size2)
{
	struct block2_answer a;

	memset(&a, 0, sizeof(a));
	a.has_block = 1;
	a.num = num;
	a.more = more;
	a.szx = szx;
	a.len = len;
	if (size2 >= 0) {
		a.has_size2 = 1;
		a.size2 = (uint64_t)size2;
	}
	return a;
}

static void
test_good(void **state)
{
	struct block2_answer a;
	size_t skip, n;
	unsigned szx;
	char why[160];

	(void)state;
	/* Block 0 of 440000 bytes, all of it wanted. */
	a = blk(0, 1, 6, 1024, 440000);
	assert_int_equal(block2_check(0, 440000, 0, 6, &a, &skip, &n, &szx, why,
	    sizeof(why)), 0);
	assert_true(skip == 0 && n == 1024 && szx == 6);
	/* From byte 123457 (block 120 holds 122880..123903) to 123500. */
	a = blk(120, 1, 6, 1024, 440000);
	assert_int_equal(block2_check(123457, 123500, 120, 6, &a, &skip, &n,
	    &szx, why, sizeof(why)), 0);
	assert_true(skip == 123457 - 122880 && n == 43);
	/* The last, short block. */
	a = blk(429, 0, 6, 440000 - 429 * 1024, 440000);
	assert_int_equal(block2_check(439999, 440000, 429, 6, &a, &skip, &n,
	    &szx, why, sizeof(why)), 0);
	assert_true(skip == 439999 - 429 * 1024 && n == 1);
	/* The server answers in blocks of 512: block 2 of 512 is block 1 of 1024. */
	a = blk(2, 1, 5, 512, -1);
	assert_int_equal(block2_check(1024, 4096, 1, 6, &a, &skip, &n, &szx, why,
	    sizeof(why)), 0);
	assert_true(skip == 0 && n == 512 && szx == 5);
	/* No Block2: the whole resource, to block 0. */
	memset(&a, 0, sizeof(a));
	a.len = 700;
	assert_int_equal(block2_check(100, 700, 0, 6, &a, &skip, &n, &szx, why,
	    sizeof(why)), 0);
	assert_true(skip == 100 && n == 600);
}

static void
expect_bad(uint64_t pos, uint64_t to, uint32_t num, unsigned szx,
    struct block2_answer a, const char *words)
{
	size_t skip, n;
	unsigned nszx;
	char why[160];

	why[0] = '\0';
	assert_int_equal(block2_check(pos, to, num, szx, &a, &skip, &n, &nszx,
	    why, sizeof(why)), -EPERM);
	if (strstr(why, words) == NULL)
		fail_msg("wanted \"%s\" in \"%s\"", words, why);
}

static void
test_bad(void **state)
{
	struct block2_answer a;

	(void)state;
	/* Another block than asked, or a larger one. */
	expect_bad(2048, 4096, 2, 6, blk(3, 1, 6, 1024, -1), "for block 2");
	expect_bad(2048, 4096, 2, 5, blk(1, 1, 6, 1024, -1), "block size 1024");
	expect_bad(0, 4096, 0, 6, blk(0, 1, 7, 1024, -1), "block size");
	/* A short block with more to come; a block longer than its size. */
	expect_bad(0, 4096, 0, 6, blk(0, 1, 6, 1000, -1), "1000 bytes");
	expect_bad(0, 4096, 0, 6, blk(0, 0, 6, 1025, -1), "1025 bytes");
	/* Size2 below the range's end; blocks past Size2. */
	expect_bad(0, 4096, 0, 6, blk(0, 1, 6, 1024, 4000), "Size2 4000");
	expect_bad(0, 1000, 0, 6, blk(0, 0, 6, 1024, 1000), "sent more than "
	    "the 1000 bytes");
	expect_bad(0, 1024, 0, 6, blk(0, 1, 6, 1024, 1024), "more to come");
	/* The resource ends before the range does. */
	expect_bad(0, 4096, 3, 6, blk(3, 0, 6, 100, -1), "ends at byte 3172");
	/* No Block2 to a block other than 0. */
	memset(&a, 0, sizeof(a));
	a.len = 700;
	expect_bad(2048, 4096, 2, 6, a, "no Block2");
	/* An empty last block that holds nothing of the range. */
	expect_bad(1024, 1025, 1, 6, blk(1, 0, 6, 0, -1), "ends at byte 1024");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
