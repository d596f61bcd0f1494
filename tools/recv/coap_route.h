/*
 * What a CoAP request under the receiver's prefix means (docs/coap.md), apart
 * from libcoap so the fuzzer drives it (tests/fuzz/fuzz_recv_coap.c), as
 * topic.c is for MQTT:
 *   POST <prefix>/<gw>/b         a batch: recv_batch()
 *   PUT  <prefix>/<gw>/s/<id>    a schema: recv_schema()
 *   PUT  <prefix>/<gw>/metrics   the gateway's counters (shown with --verbose)
 *   POST <prefix>/<gw>/r         a result record: recv_result_record()
 *   GET  <prefix>/<gw>/c?after=K the gateway asks for its next command
 *   POST c/<gw>                  the fleet tool queues a command frame
 *   GET  r/<gw>?after=N          the fleet tool reads the results after r N
 *   GET  fw/<name>               an image file, in Block2 blocks (coap_files.c)
 * (c/, r/: coap_cmd.c; c/, r/ and fw/ are outside the prefix: the
 * platform's own API, not a gateway's).
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

#define COAP_ROUTE_GET		1	/* request codes, RFC 7252 12.1.1 */
#define COAP_ROUTE_POST		2
#define COAP_ROUTE_PUT		3
#define COAP_ROUTE_METRICS_MAX	(64u << 10)	/* bytes of counters */
#define COAP_ROUTE_RESULT_MAX	(64u << 10)	/* a result record */

enum coap_resource { COAP_RES_NONE, COAP_RES_BATCH, COAP_RES_SCHEMA,
	COAP_RES_METRICS, COAP_RES_RESULT, COAP_RES_CMD_NEXT,
	COAP_RES_CMD_QUEUE, COAP_RES_RESULTS_READ, COAP_RES_FILE };

struct coap_route {
	enum coap_resource res;		/* NONE: no such method there (4.04) */
	char where[BATCH_GW_MAX + 200];	/* "coap:/<path>", for log lines */
	char gw[BATCH_GW_MAX + 1];
	const char *rest;		/* in where, after "<gw>/" (fw/: the
					 * file's name) */
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
struct coap_reply;
/*
 * A whole body for it, handed to recv_batch(), recv_schema(), ...: the code
 * to answer (201, 204, 400, 404, 413, 500, 503), r->why its text or NULL,
 * r->body what to answer with, if anything.
 */
int coap_route_body(struct recv *rv, const struct coap_route *rt,
    const uint8_t *data, size_t len, size_t max_body, int64_t now_ms,
    struct coap_reply *r);

/* One request under the prefix, as coap_server.c read it off libcoap's PDU. */
struct coap_msg {
	int method;			/* COAP_ROUTE_POST, _PUT, ... */
	const uint8_t *path;		/* the Uri-Path options joined by '/' */
	size_t path_len;
	const uint8_t *query;		/* the Uri-Query options joined by '&' */
	size_t query_len;
	const uint8_t *data;
	size_t len;
	int block1;			/* a Block1 option: num, szx, more */
	uint32_t num;
	unsigned szx;
	int more;
	int has_size1;
	uint64_t size1;
	int block2;			/* a Block2 option (a GET's): num2, szx2 */
	uint32_t num2;
	unsigned szx2;
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
	uint8_t *body;			/* malloc'd, the caller's to free (or to
					 * hand to libcoap); NULL: none */
	size_t body_len;
	int format;			/* its Content-Format */
	uint64_t etag;			/* 0: no ETag; else sent as one */
	int block2;			/* body is block num2 of a file: */
	uint32_t num2;			/* Block2 num2, more2, szx2 and Size2 */
	unsigned szx2;			/* size2 go with it */
	int more2;
	uint64_t size2;
};

/* The answer to m; a Block1 body goes through blk until it is whole. */
void coap_route_request(struct recv *rv, struct coap_blk *blk,
    size_t max_body, const struct coap_msg *m, struct coap_reply *r);

#endif
