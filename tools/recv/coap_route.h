/*
 * What a CoAP request under the receiver's prefix means (docs/coap.md), apart
 * from libcoap so the fuzzer drives it (tests/fuzz/fuzz_recv_coap.c), as
 * topic.c is for MQTT:
 *   POST <prefix>/<gw>/b         a batch: recv_batch()
 *   PUT  <prefix>/<gw>/s/<id>    a schema: recv_schema()
 *   PUT  <prefix>/<gw>/metrics   the gateway's counters (shown with --verbose)
 * A body in Block1 blocks is put together first (coap_blk.h), refused as
 * soon as it is known to be too large. The answers are CoAP response codes
 * as three digits (204, 231, 400, 413, ...).
 */
#ifndef WG_RECV_COAP_ROUTE_H
#define WG_RECV_COAP_ROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/codec/batch.h"

struct recv;
struct coap_blk;

#define COAP_ROUTE_POST		2	/* request codes, RFC 7252 12.1.1 */
#define COAP_ROUTE_PUT		3
#define COAP_ROUTE_METRICS_MAX	(64u << 10)	/* bytes of counters */

enum coap_resource { COAP_RES_NONE, COAP_RES_BATCH, COAP_RES_SCHEMA,
	COAP_RES_METRICS };

struct coap_route {
	enum coap_resource res;		/* NONE: no such method there (4.04) */
	char where[BATCH_GW_MAX + 200];	/* "coap:/<path>", for log lines */
	char gw[BATCH_GW_MAX + 1];
	const char *rest;		/* in where, after "<gw>/" */
};

/*
 * The resource of a request with this method and path (libcoap's Uri-Path
 * joined by '/'): 0, or the code to answer at once (404 outside the prefix,
 * 400 a bad gateway id) with *why its text or NULL.
 */
int coap_route_parse(const struct recv *rv, int method, const uint8_t *path,
    size_t len, struct coap_route *rt, const char **why);
/* The most a body of that resource may hold: batches max_body (--coap-max). */
size_t coap_route_limit(const struct coap_route *rt, size_t max_body);
/*
 * A whole body for it, handed to recv_batch() or recv_schema(): the code to
 * answer (204, 400, 404, 413, 500, 503), *why its text or NULL.
 */
int coap_route_body(struct recv *rv, const struct coap_route *rt,
    const uint8_t *data, size_t len, size_t max_body, const char **why);

/* One request under the prefix, as coap_server.c read it off libcoap's PDU. */
struct coap_msg {
	int method;			/* COAP_ROUTE_POST, _PUT, ... */
	const uint8_t *path;		/* the Uri-Path options joined by '/' */
	size_t path_len;
	const uint8_t *data;
	size_t len;
	int block1;			/* a Block1 option: num, szx, more */
	uint32_t num;
	unsigned szx;
	int more;
	int has_size1;
	uint64_t size1;
	const uint8_t *peer;		/* its sender: address and Request-Tag,
					 * which with the path name the
					 * transfer a block belongs to */
	size_t peer_len;
	int64_t now_ms;			/* a monotonic clock */
};

struct coap_reply {
	int code;			/* 204, 231, 400, ... */
	const char *why;		/* its text, or NULL */
	int block1;			/* echo Block1: 0 no, 1 More 0, 2 More 1 */
	size_t size1;			/* with 4.13: the limit, sent as Size1 */
	int repeat;			/* an answer given (and counted) before,
					 * to a last block sent again */
};

/* The answer to m; a Block1 body goes through blk until it is whole. */
void coap_route_request(struct recv *rv, struct coap_blk *blk,
    size_t max_body, const struct coap_msg *m, struct coap_reply *r);

#endif
