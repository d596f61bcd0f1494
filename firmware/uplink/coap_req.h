/*
 * The CoAP uplink's requests in flight (split from coap.c, which keeps the
 * link's state): a fixed table of slots, each a batch, a schema, the metrics
 * or the probe, with its token. Batches wait ("queued") while a schema they
 * may need is unacknowledged, and go in the order given once it is.
 */
#ifndef WG_COAP_REQ_H
#define WG_COAP_REQ_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/base/coap_lib.h"

#define CO_WINDOW	16	/* batches in flight: the forwarder's window */
#define CO_SCHEMAS	8	/* schema PUTs in flight */
#define CO_RESULTS	8	/* result records in flight (coap_cmd.c) */
/* The probe, the metrics and the command resource's GET: one each. */
#define REQ_MAX		(CO_WINDOW + CO_SCHEMAS + CO_RESULTS + 3)

enum req_kind { REQ_FREE, REQ_BATCH, REQ_SCHEMA, REQ_METRICS, REQ_PROBE,
	REQ_RESULT, REQ_COMMANDS };

struct req {
	enum req_kind kind;
	int queued;		/* a batch waiting for the schemas before it */
	uint64_t order;		/* queued batches go in the order given */
	uint64_t seq;
	char sub[16];		/* its path below <base>/<gw>/ */
	uint8_t tok[8];
	size_t toklen;
	uint8_t *data;		/* while queued; libcoap owns it once sent */
	size_t len;
};

struct coap_reqs {
	struct req req[REQ_MAX];
	unsigned n_batches;		/* REQ_BATCH slots in use */
	unsigned schemas_unacked;	/* REQ_SCHEMA slots in use */
	unsigned n_results;		/* REQ_RESULT slots in use */
	uint64_t order;
};

/* A free slot of this kind, or NULL if the table is full. */
struct req *coap_req_new(struct coap_reqs *w, enum req_kind kind);
/* The slot is free again; its data, if still ours, is freed. */
void coap_req_clear(struct coap_reqs *w, struct req *r);
/* Every slot: the link went down, nothing in flight is worth anything now. */
void coap_req_clear_all(struct coap_reqs *w);
/* The sent request this token answers; NULL if none (a late answer). */
struct req *coap_req_by_token(struct coap_reqs *w, coap_bin_const_t tok);
/* The first slot of this kind; NULL if none. */
struct req *coap_req_of_kind(struct coap_reqs *w, enum req_kind kind);
/* The queued batch given first; NULL if none waits. */
struct req *coap_req_next_queued(struct coap_reqs *w);

/*
 * One confirmable request with r's data on sess, to <base>/<gw>/<sub>
 * (libcoap takes the data and frees it once the last block is out). 0, or
 * -errno: the caller clears r.
 */
int coap_req_send(coap_session_t *sess, const char *base, const char *gw,
    struct req *r, coap_pdu_code_t code, const char *sub, uint16_t format);

const char *coap_req_kind_name(enum req_kind k);

#endif
