/*
 * One RFC 7959 Block2 answer checked against the request it answers, for
 * fetch_coap.c: pure, so every answer a server could give is tested on its
 * own (tests/unit/test_block2.c), as http_range.c is for Content-Range.
 */
#ifndef WG_OTA_BLOCK2_H
#define WG_OTA_BLOCK2_H

#include <stddef.h>
#include <stdint.h>

#define BLOCK2_NUM_MAX	0xfffffu	/* a 3-byte option: 20 bits of NUM */

/* What the answer said (its options as numbers) and how much it carried. */
struct block2_answer {
	int has_block;		/* a Block2 option: num, more, szx */
	uint32_t num;
	int more;
	unsigned szx;
	int has_size2;
	uint64_t size2;
	size_t len;		/* payload bytes */
};

/*
 * The answer a to GET for block num of 2^(szx+4) bytes, asked for because
 * it holds byte pos of the range [pos, to) still wanted. 0 with *skip (the
 * head before pos) and *n (the bytes of the range it holds, up to to), and
 * *next_szx the block size to ask in from now on (a server may choose a
 * smaller one, RFC 7959 2.4); or -EPERM with a one-line why: no Block2 to
 * a block other than 0, a larger or another block, a short block with M
 * set, a Size2 below to or overrun, a last block that ends before to.
 */
int block2_check(uint64_t pos, uint64_t to, uint32_t num, unsigned szx,
    const struct block2_answer *a, size_t *skip, size_t *n,
    unsigned *next_szx, char *why, size_t len);

#endif
