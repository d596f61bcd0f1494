/*
 * The receiver's side of the control plane over CoAP (docs/coap.md,
 * "Commands and results"): command frames queued in memory per gateway
 * until the gateway takes them, and the last result records per gateway for
 * the fleet tool to read. coap_route.c calls these; the answer goes into a
 * struct coap_reply (code, body, ETag).
 *
 * Bounds: CMDQ_FRAMES frames per gateway (5.03 when full), CMDQ_RESULTS
 * records per gateway (the oldest goes), CMDQ_GWS gateways (5.03 past it),
 * a GET of results at most CMDQ_READ_MAX bytes (the fleet asks again after
 * the last r it got).
 */
#ifndef WG_RECV_COAP_CMD_H
#define WG_RECV_COAP_CMD_H

#include <stddef.h>
#include <stdint.h>

struct recv;
struct coap_reply;

#define CMDQ_FRAMES	64
#define CMDQ_RESULTS	256
#define CMDQ_GWS	1024
#define CMDQ_READ_MAX	(64u << 10)
#define CMDQ_KEEP_MS	(10 * 60 * 1000)	/* after the gateway took it */

/* POST c/<gw>: the frame queued; 201 with its index (ETag, and as text). */
int coap_cmdq_post(struct recv *rv, const char *gw, const uint8_t *frame,
    size_t len, int64_t now_ms, struct coap_reply *r);
/* GET <prefix>/<gw>/c?after=K: 205 with the next frame (ETag its index), 404. */
int coap_cmdq_next(struct recv *rv, const char *gw, const uint8_t *query,
    size_t qlen, int64_t now_ms, struct coap_reply *r);
/* A result record recv_result_record() took: kept; its command leaves the queue. */
void coap_cmdq_result(struct recv *rv, const char *gw, const uint8_t *json,
    size_t len);
/* GET r/<gw>?after=N: 205 with a JSON array of the records with r > N. */
int coap_cmdq_results(struct recv *rv, const char *gw, const uint8_t *query,
    size_t qlen, struct coap_reply *r);
void coap_cmdq_free(struct recv *rv);

#endif
