#include "firmware/uplink/coap_req.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/codec/batch.h"
#include "firmware/uplink/coap_addr.h"
#include "firmware/uplink/coap_config.h"

static void
release_data(coap_session_t *s, void *p)
{
	(void)s;
	free(p);
}

void
coap_req_clear(struct coap_reqs *w, struct req *r)
{
	if (r->kind == REQ_BATCH)
		w->n_batches--;
	if (r->kind == REQ_SCHEMA)
		w->schemas_unacked--;
	if (r->kind == REQ_RESULT)
		w->n_results--;
	free(r->data);
	memset(r, 0, sizeof(*r));
}

void
coap_req_clear_all(struct coap_reqs *w)
{
	int i;

	for (i = 0; i < REQ_MAX; i++)
		coap_req_clear(w, &w->req[i]);
}

struct req *
coap_req_new(struct coap_reqs *w, enum req_kind kind)
{
	int i;

	for (i = 0; i < REQ_MAX; i++)
		if (w->req[i].kind == REQ_FREE) {
			w->req[i].kind = kind;
			if (kind == REQ_BATCH)
				w->n_batches++;
			if (kind == REQ_SCHEMA)
				w->schemas_unacked++;
			if (kind == REQ_RESULT)
				w->n_results++;
			return &w->req[i];
		}
	return NULL;
}

struct req *
coap_req_by_token(struct coap_reqs *w, coap_bin_const_t tok)
{
	int i;

	for (i = 0; i < REQ_MAX; i++)
		if (w->req[i].kind != REQ_FREE && !w->req[i].queued &&
		    w->req[i].toklen == tok.length &&
		    memcmp(w->req[i].tok, tok.s, tok.length) == 0)
			return &w->req[i];
	return NULL;
}

struct req *
coap_req_of_kind(struct coap_reqs *w, enum req_kind kind)
{
	int i;

	for (i = 0; i < REQ_MAX; i++)
		if (w->req[i].kind == kind)
			return &w->req[i];
	return NULL;
}

struct req *
coap_req_next_queued(struct coap_reqs *w)
{
	struct req *next = NULL;
	int i;

	for (i = 0; i < REQ_MAX; i++)
		if (w->req[i].kind == REQ_BATCH && w->req[i].queued &&
		    (next == NULL || w->req[i].order < next->order))
			next = &w->req[i];
	return next;
}

const char *
coap_req_kind_name(enum req_kind k)
{
	return k == REQ_BATCH ? "batch" : k == REQ_SCHEMA ? "schema" :
	    k == REQ_PROBE ? "probe" : k == REQ_RESULT ? "result" :
	    k == REQ_COMMANDS ? "command poll" : "metrics";
}

int
coap_req_send(coap_session_t *sess, const char *base, const char *gw,
    struct req *r, coap_pdu_code_t code, const char *sub, uint16_t format)
{
	char path[COAP_URI_MAX + BATCH_GW_MAX + 32];
	uint8_t fmt[4];
	coap_pdu_t *pdu;
	uint8_t *data = r->data;

	snprintf(path, sizeof(path), "%s%s%s/%s", base, base[0] ? "/" : "", gw,
	    sub);
	snprintf(r->sub, sizeof(r->sub), "%s", sub);
	pdu = coap_pdu_init(COAP_MESSAGE_CON, code, coap_new_message_id(sess),
	    coap_session_max_pdu_size(sess));
	if (pdu == NULL)
		return -ENOMEM;
	coap_session_new_token(sess, &r->toklen, r->tok);
	if (!coap_add_token(pdu, r->toklen, r->tok) || coap_addr_path(pdu, path) < 0 ||
	    !coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT,
	    coap_encode_var_safe(fmt, sizeof(fmt), format), fmt)) {
		coap_delete_pdu(pdu);
		return -ENOSPC;
	}
	r->data = NULL;		/* libcoap's now, freed by release_data */
	if (r->len > 0 && !coap_add_data_large_request(sess, pdu, r->len, data,
	    release_data, data)) {
		coap_delete_pdu(pdu);
		return -ENOMEM;
	}
	if (coap_send(sess, pdu) == COAP_INVALID_MID)
		return -EIO;
	return 0;
}
