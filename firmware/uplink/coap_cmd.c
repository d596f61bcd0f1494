/*
 * The control plane over CoAP (coap_cmd.h, docs/coap.md "Commands and
 * results"). MQTT pushes commands into a persistent session; CoAP has no
 * session to push into (and a gateway behind NAT takes nothing unasked), so
 * the gateway asks: GET <base>/<gw>/c?after=K right after each up and then
 * every command_poll_s seconds. K is the platform's index of the last frame
 * the gateway took (ETag of the 2.05, big-endian, 1..8 bytes), kept in memory
 * only: after a restart K is 0 and the platform offers again what it still
 * holds; the control plane applies a command id at most once anyway. A frame
 * is followed at once by the next question (there may be more), a 4.04 waits
 * for the next period.
 *
 * Results are POSTed to <base>/<gw>/r, each its own confirmable request and
 * token, at most CO_RESULTS in flight; a 2.xx is result_acked(r). A timeout
 * takes the link down (coap.c) and voids them; the control plane resends from
 * the store after the next up.
 *
 * A frame larger than one datagram comes in Block2 blocks. libcoap 4.3.1's
 * single-body mode would allocate the whole body at the first block from the
 * Size2 the server states (up to 4 GB: the receiver's own problem with Block1,
 * docs/coap.md), so coap.c does not ask for it: libcoap asks for the blocks
 * and hands them here one at a time, and this file keeps at most
 * CMD_FRAME_MAX bytes. A larger frame is skipped (K moves past it) without
 * being held.
 */
#include "firmware/uplink/coap_cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "firmware/base/log.h"
#include "firmware/codec/batch.h"
#include "firmware/codec/command.h"
#include "firmware/uplink/coap_addr.h"
#include "firmware/uplink/coap_config.h"

static void ask(struct coap_cmd *cc);

static void
on_timer(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct coap_cmd *cc = arg;

	(void)l;
	(void)events;
	loop_timer_ack(fd);
	ask(cc);
}

int
coap_cmd_start(struct coap_cmd *cc, struct uplink *u, struct coap_reqs *w,
    const char *base)
{
	int rc;

	memset(cc, 0, sizeof(*cc));
	cc->u = u;
	cc->w = w;
	cc->base = base;
	cc->timer_fd = -1;
	if (!u->site->commands)
		return 0;
	if ((cc->frame = malloc(CMD_FRAME_MAX)) == NULL)
		return -ENOMEM;
	if ((cc->timer_fd = loop_timer_new(CLOCK_MONOTONIC)) < 0)
		return cc->timer_fd;
	if ((rc = loop_add(u->loop, cc->timer_fd, EPOLLIN, on_timer, cc)) < 0) {
		close(cc->timer_fd);
		cc->timer_fd = -1;
		return rc;
	}
	return 0;
}

/*
 * GET <base>/<gw>/c?after=K: one at a time (the answer moves K), only while
 * up. Nothing to do if one is in flight already: the timer found it asking.
 */
static void
ask(struct coap_cmd *cc)
{
	char path[COAP_URI_MAX + BATCH_GW_MAX + 8], query[32];
	struct req *r;
	coap_pdu_t *pdu;
	int n;

	if (cc->sess == NULL || cc->timer_fd < 0 ||
	    coap_req_of_kind(cc->w, REQ_COMMANDS) != NULL ||
	    (r = coap_req_new(cc->w, REQ_COMMANDS)) == NULL)
		return;
	snprintf(path, sizeof(path), "%s%s%s/c", cc->base, cc->base[0] ? "/" : "",
	    cc->u->site->gateway);
	n = snprintf(query, sizeof(query), "after=%" PRIu64, cc->after);
	snprintf(r->sub, sizeof(r->sub), "c");
	cc->have = 0;
	cc->refusing = 0;
	pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET,
	    coap_new_message_id(cc->sess), coap_session_max_pdu_size(cc->sess));
	if (pdu == NULL)
		goto fail;
	coap_session_new_token(cc->sess, &r->toklen, r->tok);
	if (!coap_add_token(pdu, r->toklen, r->tok) || coap_addr_path(pdu, path) < 0 ||
	    !coap_add_option(pdu, COAP_OPTION_URI_QUERY, (size_t)n,
	    (const uint8_t *)query)) {
		coap_delete_pdu(pdu);
		goto fail;
	}
	if (coap_send(cc->sess, pdu) == COAP_INVALID_MID)
		goto fail;
	cc->polls++;
	return;
fail:
	log_warnx("coap: cannot ask for commands (GET %s?%s)", path, query);
	coap_req_clear(cc->w, r);
}

void
coap_cmd_up(struct coap_cmd *cc, coap_session_t *sess)
{
	int64_t ms;

	cc->sess = sess;
	if (cc->timer_fd < 0)
		return;
	ms = (int64_t)cc->u->site->command_poll_s * 1000;
	if (loop_timer_after(cc->timer_fd, ms, ms) < 0)
		log_warnx("coap: cannot arm the command poll timer: commands come "
		    "only after each up");
	ask(cc);
}

void
coap_cmd_down(struct coap_cmd *cc)
{
	cc->sess = NULL;
	cc->have = 0;
	if (cc->u != NULL && cc->timer_fd >= 0)
		loop_timer_disarm(cc->timer_fd);
}

enum uplink_result
coap_cmd_result(struct coap_cmd *cc, const char *json, uint64_t r)
{
	struct req *q;

	if (cc->sess == NULL || cc->w->n_results >= CO_RESULTS ||
	    (q = coap_req_new(cc->w, REQ_RESULT)) == NULL)
		return UPLINK_RETRY;
	q->len = strlen(json);
	if ((q->data = malloc(q->len + 1)) == NULL) {
		coap_req_clear(cc->w, q);
		return UPLINK_RETRY;
	}
	memcpy(q->data, json, q->len + 1);
	q->seq = r;
	if (coap_req_send(cc->sess, cc->base, cc->u->site->gateway, q,
	    COAP_REQUEST_CODE_POST, "r", COAP_MEDIATYPE_APPLICATION_JSON) < 0) {
		coap_req_clear(cc->w, q);
		return UPLINK_RETRY;
	}
	return UPLINK_OK;
}

/* The frame's index: the ETag the receiver sets, 1..8 bytes big-endian. */
static uint64_t
frame_index(const coap_pdu_t *rcvd)
{
	coap_opt_iterator_t it;
	coap_opt_t *o = coap_check_option(rcvd, COAP_OPTION_ETAG, &it);

	if (o == NULL || coap_opt_length(o) == 0 || coap_opt_length(o) > 8)
		return 0;
	return coap_decode_var_bytes8(coap_opt_value(o), coap_opt_length(o));
}

/*
 * One 2.05 (or one block of it): kept while it fits, handed over whole. 1 when
 * the frame is done (taken or skipped, K moved), 0 while blocks are to come,
 * -1 if the answer is unusable (no index, a gap, K not moving).
 */
static int
take_block(struct coap_cmd *cc, const coap_pdu_t *rcvd)
{
	uint64_t idx = frame_index(rcvd);
	size_t len = 0, off = 0, total = 0;
	const uint8_t *data = NULL;

	if (idx <= cc->after) {
		log_warnx("coap: a command frame with index %" PRIu64 " asked "
		    "after %" PRIu64 " (no ETag?): ignored", idx, cc->after);
		return -1;
	}
	if (!coap_get_data_large(rcvd, &len, &data, &off, &total))
		len = off = total = 0;
	if (total > CMD_FRAME_MAX || off + len > CMD_FRAME_MAX) {
		if (!cc->refusing)
			log_warnx("coap: command frame %" PRIu64 " is %zu bytes or "
			    "more, over %d: skipped", idx, total > off + len ? total :
			    off + len, CMD_FRAME_MAX);
		cc->refusing = 1;
	} else if (!cc->refusing && off > cc->have) {
		log_warnx("coap: command frame %" PRIu64 ": block at %zu, %zu "
		    "bytes in: dropped", idx, off, cc->have);
		return -1;
	} else if (!cc->refusing && off + len > cc->have) {
		memcpy(cc->frame + off, data, len);
		cc->have = off + len;
	}
	if (off + len < total)
		return 0;	/* libcoap asks for the next block */
	cc->after = idx;
	if (cc->refusing) {
		cc->too_large++;
		return 1;
	}
	cc->frames++;
	if (cc->u->ev.command != NULL)
		cc->u->ev.command(cc->u->ev.arg, cc->frame, cc->have);
	return 1;
}

int
coap_cmd_response(struct coap_cmd *cc, struct req *r, const coap_pdu_t *rcvd)
{
	coap_pdu_code_t code = coap_pdu_get_code(rcvd);
	unsigned cls = COAP_RESPONSE_CLASS(code), detail = code & 0x1f;
	uint64_t seq = r->seq;
	int rc;

	if (r->kind == REQ_RESULT) {
		coap_req_clear(cc->w, r);
		if (cls == 2) {
			cc->results_acked++;
			if (cc->u->ev.result_acked != NULL)
				cc->u->ev.result_acked(cc->u->ev.arg, seq);
			return 0;
		}
		if (cls == 4) {
			/* Kept in the store: offered again after the next up. */
			log_warnx("coap: the platform refuses result %" PRIu64
			    ": %u.%02u; kept, sent again after the next connection",
			    seq, cls, detail);
			return 0;
		}
		return -EIO;
	}
	if (code == COAP_RESPONSE_CODE(205)) {
		if ((rc = take_block(cc, rcvd)) == 0)
			return 0;
		coap_req_clear(cc->w, r);
		if (rc > 0)
			ask(cc);	/* there may be more */
		return 0;
	}
	coap_req_clear(cc->w, r);
	/* 4.04 (or 2.03): nothing new; anything else waits for the next period. */
	if (code != COAP_RESPONSE_CODE(404) && code != COAP_RESPONSE_CODE(203))
		log_warnx("coap: the command resource answers %u.%02u; asking "
		    "again in %u s", cls, detail, cc->u->site->command_poll_s);
	return 0;
}

void
coap_cmd_stop(struct coap_cmd *cc)
{
	if (cc->u == NULL)
		return;		/* never started */
	if (cc->u->site->commands)
		log_info("coap: commands: %" PRIu64 " polls, %" PRIu64 " frames, %"
		    PRIu64 " too large, %" PRIu64 " results acknowledged",
		    cc->polls, cc->frames, cc->too_large, cc->results_acked);
	if (cc->timer_fd >= 0) {
		loop_del(cc->u->loop, cc->timer_fd);
		close(cc->timer_fd);
		cc->timer_fd = -1;
	}
	free(cc->frame);
	cc->frame = NULL;
}
