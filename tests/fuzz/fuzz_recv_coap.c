/*
 * The receiver's CoAP path (tools/recv/coap_route.c, coap_blk.c): requests as
 * coap_server.c reads them off libcoap's PDUs, several per input, so Block1
 * transfers and their bounds, and the dedupe, schema and pending state of a
 * gateway, are driven across messages. Input: records of
 *   [ctl u8][dt u8][block number u24 LE][Size1 u32 LE]
 *   [path length u8][path][payload length u16 LE][payload]
 * ctl: bit 0 PUT (else POST; GET if bits 0 and 6 are both set, and then
 * the Size1 field is the query "after=N" with N that number); bit 1 a Block1 option, bit 2 its More flag,
 * bits 3-5 its szx; bit 6 a Size1 option; bit 7 the second of two peers.
 * dt: seconds since the record before (a transfer idles out after 93).
 * The receiver here takes batches of 4 KiB, 4 transfers at once, 16 KiB held
 * for all of them, so every bound is reached; after each request the
 * bounds must hold and the budget's count must match the buffers. The prefix
 * is "wg"; printed readings go to /dev/null, the log to stderr (tools/fuzz/run
 * closes it for this harness).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/recv/coap_blk.h"
#include "tools/recv/coap_cmd.h"
#include "tools/recv/coap_route.h"
#include "tools/recv/recv.h"

#define MAX_BODY	4096
#define SLOTS		4
#define HOLD		(16u << 10)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (freopen("/dev/null", "w", stdout) == NULL)
		abort();
	return 0;
}

/* What the budget counts is what the buffers have, and never past it. */
static void
check_blk(const struct coap_blk *b)
{
	size_t i, held = 0;

	for (i = 0; i < b->slots; i++) {
		const struct coap_xfer *x = &b->x[i];

		if (x->len > x->cap || (x->state != COAP_BLK_OPEN && x->cap != 0))
			abort();
		held += x->cap;
	}
	if (held != b->held || b->held > b->budget || b->held_peak > b->budget)
		abort();
}

static void
check_reply(const struct coap_msg *m, const struct coap_reply *r)
{
	switch (r->code) {
	case 231:
		if (!m->block1 || !m->more || r->block1 != 2)
			abort();
		break;
	case 413:
		if (r->size1 == 0)
			abort();
		break;
	case 201: case 205:
		if (r->body == NULL)
			abort();
		break;
	case 204: case 400: case 404: case 408: case 500: case 503:
		break;
	default:
		abort();
	}
	if (r->block1 != 0 && (!m->block1 || r->code / 100 != 2))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct recv rv;
	struct coap_blk blk;
	struct coap_reply r;
	struct coap_msg m;
	uint8_t peer;
	char query[32];
	size_t pos = 0, pl, bl;
	int64_t now = 1000;

	memset(&rv, 0, sizeof(rv));
	rv.prefix = "wg";
	rv.host = "fuzz";
	rv.verbose = 1;		/* metrics are shown (and cleaned) then */
	rv.volbudget.max = 2 * VOLKEYS_FIRST;	/* reach the bound */
	pending_init(&rv.pending, 64, 1 << 20);
	if (gwtab_init(&rv.gws, 16) < 0 || coap_blk_init(&blk, SLOTS, HOLD) < 0)
		abort();
	while (size - pos >= 10) {
		const uint8_t *h = data + pos;

		memset(&m, 0, sizeof(m));
		m.method = h[0] & 1 ? COAP_ROUTE_PUT : COAP_ROUTE_POST;
		m.block1 = (h[0] >> 1) & 1;
		m.more = (h[0] >> 2) & 1;
		m.szx = (h[0] >> 3) & 7;
		m.has_size1 = (h[0] >> 6) & 1;
		peer = h[0] >> 7;
		now += (int64_t)h[1] * 1000;
		m.num = (uint32_t)h[2] | (uint32_t)h[3] << 8 | (uint32_t)h[4] << 16;
		m.size1 = (uint64_t)h[5] | (uint64_t)h[6] << 8 |
		    (uint64_t)h[7] << 16 | (uint64_t)h[8] << 24;
		pl = h[9];
		pos += 10;
		if (size - pos < pl + 2)
			break;
		m.path = data + pos;
		m.path_len = pl;
		pos += pl;
		bl = (size_t)data[pos] | (size_t)data[pos + 1] << 8;
		pos += 2;
		if (bl > size - pos)
			bl = size - pos;
		m.data = bl > 0 ? data + pos : NULL;
		m.len = bl;
		pos += bl;
		m.peer = &peer;
		m.peer_len = 1;
		m.now_ms = now;
		if ((h[0] & 0x41) == 0x41) {
			m.method = COAP_ROUTE_GET;
			m.has_size1 = 0;
			m.query = (const uint8_t *)query;
			m.query_len = (size_t)snprintf(query, sizeof(query),
			    "after=%llu", (unsigned long long)m.size1);
			if (h[1] == 0xff)	/* a bad one, too */
				m.query_len = 7;
			query[6] = h[1] == 0xff ? 'x' : query[6];
		}
		coap_route_request(&rv, &blk, MAX_BODY, &m, &r);
		check_reply(&m, &r);
		check_blk(&blk);
		free(r.body);
	}
	coap_blk_free(&blk);
	if (blk.held != 0)
		abort();
	coap_cmdq_free(&rv);
	pending_free(&rv.pending);
	gwtab_free(&rv.gws);
	free(rv.r);
	return 0;
}
