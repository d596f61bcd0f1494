/*
 * Block1 bodies (RFC 7959) the receiver puts together itself, bounded. One
 * transfer per key (the peer's address, its Request-Tag and the path: see
 * coap_route.c), blocks in order, held in a buffer that grows with what
 * arrived, never with what Size1 announces. Three bounds: a transfer gets
 * 4.13 as soon as Size1 or its next block passes the resource's limit; at most
 * COAP_BLK_SLOTS transfers at once; and all their buffers together at most
 * the hold budget (--coap-hold), past which a block gets 5.03. A transfer
 * idle for COAP_BLK_IDLE_MS is dropped. Pure: no libcoap, no I/O, the time is
 * passed in; so the fuzzer and the unit test drive it (coap_server.c
 * explains why libcoap's own reassembly is off).
 */
#ifndef WG_RECV_COAP_BLK_H
#define WG_RECV_COAP_BLK_H

#include <stddef.h>
#include <stdint.h>

#define COAP_BLK_SLOTS		256
#define COAP_BLK_HOLD		(16u << 20)	/* default budget, bytes */
#define COAP_BLK_KEY_MAX	400
/* RFC 7252 MAX_TRANSMIT_WAIT with the default parameters (93 s): a client
 * still sending a block after that has given it up long ago. */
#define COAP_BLK_IDLE_MS	93000

enum coap_blk_state { COAP_BLK_FREE, COAP_BLK_OPEN, COAP_BLK_DONE };

struct coap_xfer {
	enum coap_blk_state state;
	size_t key_len;
	uint8_t key[COAP_BLK_KEY_MAX];
	uint8_t *body;
	size_t len, cap;	/* bytes in order so far; allocated */
	int64_t last_ms;	/* the last block's arrival */
	uint32_t last_num;	/* DONE: its last block, answered done_code */
	int done_code;
};

struct coap_blk {
	struct coap_xfer *x;
	size_t slots, budget, held, held_peak;
	uint64_t busy;		/* blocks answered 5.03: no slot or no budget */
	uint64_t busy_run;	/* of those, since a transfer was last let in */
	uint64_t resumed;	/* busy_run when one was let in again; 0 once read */
	uint64_t expired;	/* transfers dropped for idleness */
};

/* One request carrying a Block1 option, as the server read it. */
struct coap_blk_req {
	const uint8_t *key;
	size_t key_len;
	uint32_t num;		/* block number, < 2^20 */
	unsigned szx;		/* block size 2^(szx+4), szx <= 6 */
	int more;
	int has_size1;
	uint64_t size1;		/* the client's estimate of the whole body */
	const uint8_t *data;
	size_t len;
	size_t limit;		/* the most the resource takes (coap_route_limit) */
	int64_t now_ms;		/* a monotonic clock */
};

enum coap_blk_verdict {
	COAP_BLK_CONTINUE,	/* 2.31 Continue: the next block, please */
	COAP_BLK_BODY,		/* the whole body is in *x: hand it over, then
				 * coap_blk_done() */
	COAP_BLK_REPEAT,	/* the last block of a body already taken: answer
				 * (*x)->done_code again */
	COAP_BLK_TOO_LARGE,	/* 4.13 with Size1 = limit; the transfer is gone */
	COAP_BLK_INCOMPLETE,	/* 4.08: a block past a gap, or of no transfer */
	COAP_BLK_BAD,		/* 4.00: a block of the wrong size, a bad option */
	COAP_BLK_BUSY,		/* 5.03: no slot or no budget now; transfer gone */
};

/* slots and budget 0: the defaults. 0, or -ENOMEM. */
int coap_blk_init(struct coap_blk *b, size_t slots, size_t budget);
void coap_blk_free(struct coap_blk *b);

/* Take one block. *x is the transfer for BODY and REPEAT, else NULL. */
enum coap_blk_verdict coap_blk_add(struct coap_blk *b,
    const struct coap_blk_req *rq, struct coap_xfer **x);
/* A BODY handed over and answered code: its buffer freed, the answer kept
 * for a repeat of the last block. */
void coap_blk_done(struct coap_blk *b, struct coap_xfer *x, int code);
/* Transfers open now. */
size_t coap_blk_open(const struct coap_blk *b);

#endif
