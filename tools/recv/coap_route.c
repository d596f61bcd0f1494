/*
 * The receiver's CoAP resources (coap_route.h): a path into a resource, a
 * body (whole, or put together from its blocks by coap_blk.c) into
 * recv_batch() or recv_schema(), their result into a response code. libcoap
 * stays in coap_server.c.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "firmware/codec/command.h"
#include "tools/recv/coap_blk.h"
#include "tools/recv/coap_cmd.h"
#include "tools/recv/coap_files.h"
#include "tools/recv/coap_route.h"
#include "tools/recv/recv.h"

int
coap_route_parse(const struct recv *rv, int method, const uint8_t *path,
    size_t len, struct coap_route *rt, const char **why)
{
	size_t plen = strlen(rv->prefix), glen;
	const char *p, *slash;

	*why = NULL;
	rt->res = COAP_RES_NONE;
	rt->gw[0] = '\0';
	rt->rest = "";
	/* Longer than any resource of ours, or a NUL that would cut it short. */
	if (len > sizeof(rt->where) - 7 || memchr(path, '\0', len) != NULL) {
		snprintf(rt->where, sizeof(rt->where), "coap:/(%zu bytes)", len);
		return 404;
	}
	snprintf(rt->where, sizeof(rt->where), "coap:/%.*s", (int)len,
	    (const char *)path);
	p = rt->where + 6;
	/* An image, fw/<name>: coap_files.c checks the name. */
	if (strncmp(p, "fw/", 3) == 0 && strchr(p + 3, '/') == NULL) {
		rt->rest = p + 3;
		if (method == COAP_ROUTE_GET)
			rt->res = COAP_RES_FILE;
		return 0;
	}
	/* The fleet's c/<gw> and r/<gw>: two segments, no prefix. */
	if ((p[0] == 'c' || p[0] == 'r') && p[1] == '/' &&
	    strchr(p + 2, '/') == NULL) {
		if (p[2] == '\0' || strlen(p + 2) > BATCH_GW_MAX ||
		    !batch_gw_valid(p + 2)) {
			*why = "bad gateway id";
			return 400;
		}
		snprintf(rt->gw, sizeof(rt->gw), "%s", p + 2);
		if (p[0] == 'c' && method == COAP_ROUTE_POST)
			rt->res = COAP_RES_CMD_QUEUE;
		else if (p[0] == 'r' && method == COAP_ROUTE_GET)
			rt->res = COAP_RES_RESULTS_READ;
		return 0;
	}
	if (strncmp(p, rv->prefix, plen) != 0 || p[plen] != '/' ||
	    (slash = strchr(p + plen + 1, '/')) == NULL)
		return 404;
	glen = (size_t)(slash - (p + plen + 1));
	if (glen == 0 || glen > BATCH_GW_MAX) {
		*why = "bad gateway id";
		return 400;
	}
	memcpy(rt->gw, p + plen + 1, glen);
	rt->gw[glen] = '\0';
	if (!batch_gw_valid(rt->gw)) {
		recv_warnx("%s: not a valid gateway id in the path", rt->where);
		rt->gw[0] = '\0';
		*why = "bad gateway id";
		return 400;
	}
	rt->rest = slash + 1;
	if (strcmp(rt->rest, "b") == 0 && method == COAP_ROUTE_POST)
		rt->res = COAP_RES_BATCH;
	else if (strncmp(rt->rest, "s/", 2) == 0 && method == COAP_ROUTE_PUT)
		rt->res = COAP_RES_SCHEMA;
	else if (strcmp(rt->rest, "metrics") == 0 && method == COAP_ROUTE_PUT)
		rt->res = COAP_RES_METRICS;
	else if (strcmp(rt->rest, "r") == 0 && method == COAP_ROUTE_POST)
		rt->res = COAP_RES_RESULT;
	else if (strcmp(rt->rest, "c") == 0 && method == COAP_ROUTE_GET)
		rt->res = COAP_RES_CMD_NEXT;
	return 0;
}

size_t
coap_route_limit(const struct coap_route *rt, size_t max_body)
{
	switch (rt->res) {
	case COAP_RES_SCHEMA:
		return RECV_SCHEMA_MAX;
	case COAP_RES_METRICS:
		return COAP_ROUTE_METRICS_MAX;
	case COAP_RES_RESULT:
		return COAP_ROUTE_RESULT_MAX;
	case COAP_RES_CMD_QUEUE:
		return CMD_FRAME_MAX;
	case COAP_RES_CMD_NEXT:
	case COAP_RES_RESULTS_READ:
	case COAP_RES_FILE:
		return 0;
	default:
		return max_body;
	}
}

int
coap_route_body(struct recv *rv, const struct coap_route *rt,
    const uint8_t *data, size_t len, size_t max_body, int64_t now_ms,
    struct coap_reply *rp)
{
	size_t limit = coap_route_limit(rt, max_body);
	const char **why = &rp->why;
	enum recv_result r;

	*why = NULL;
	/* No body: a gateway asking whether it is still refused (docs/coap.md). */
	if (len == 0) {
		*why = "empty";
		return 400;
	}
	if (rt->res == COAP_RES_NONE)
		return 404;
	if (len > limit) {
		recv_warnx("%s: %zu bytes, more than %s %zu: 4.13", rt->where, len,
		    rt->res == COAP_RES_BATCH ? "--coap-max" : "it takes,", limit);
		return 413;
	}
	switch (rt->res) {
	case COAP_RES_CMD_QUEUE:
		return coap_cmdq_post(rv, rt->gw, data, len, now_ms, rp);
	case COAP_RES_RESULT:
		if ((r = recv_result_record(rv, rt->where, rt->gw, data, len)) ==
		    RECV_DONE)
			coap_cmdq_result(rv, rt->gw, data, len);
		break;
	case COAP_RES_BATCH:
		r = recv_batch(rv, rt->where, rt->gw, data, len, 0);
		break;
	case COAP_RES_SCHEMA:
		r = recv_schema(rv, rt->where, rt->gw, rt->rest + 2,
		    (const char *)data, len);
		break;
	default:
		if (rv->verbose)
			recv_warnx("%s: metrics %.*s", rt->gw,
			    (int)(len < 512 ? len : 512), (const char *)data);
		r = RECV_DONE;
		break;
	}
	switch (r) {
	case RECV_DONE:
		return 204;
	case RECV_BAD:
		*why = "undecodable";
		return 400;
	case RECV_HELD:
		*why = "schema unknown";
		return 503;
	default:
		return 500;
	}
}

/* What the limit is called in a log line. */
static const char *
limit_name(const struct coap_route *rt)
{
	return rt->res == COAP_RES_BATCH ? "--coap-max" : "its limit";
}

/*
 * One block: into its transfer (the peer and the path), answered at once,
 * 2.31 until the last; the whole body then goes where an unblocked one goes.
 */
static void
on_block(struct recv *rv, struct coap_blk *blk, size_t max_body,
    const struct coap_msg *m, const struct coap_route *rt,
    struct coap_reply *r)
{
	uint8_t key[COAP_BLK_KEY_MAX];
	size_t wl = strlen(rt->where);
	struct coap_blk_req rq;
	struct coap_xfer *x;

	if (rt->res == COAP_RES_NONE) {
		r->code = 404;
		return;
	}
	if (m->peer_len + wl > sizeof(key)) {
		r->code = 400;
		r->why = "bad Request-Tag";
		return;
	}
	memcpy(key, m->peer, m->peer_len);
	memcpy(key + m->peer_len, rt->where, wl);
	memset(&rq, 0, sizeof(rq));
	rq.key = key;
	rq.key_len = m->peer_len + wl;
	rq.num = m->num;
	rq.szx = m->szx;
	rq.more = m->more;
	rq.has_size1 = m->has_size1;
	rq.size1 = m->size1;
	rq.data = m->data;
	rq.len = m->len;
	rq.limit = coap_route_limit(rt, max_body);
	rq.now_ms = m->now_ms;
	switch (coap_blk_add(blk, &rq, &x)) {
	case COAP_BLK_CONTINUE:
		r->code = 231;
		r->block1 = 2;
		break;
	case COAP_BLK_BODY:
		r->code = coap_route_body(rv, rt, x->body, x->len, max_body,
		    m->now_ms, r);
		coap_blk_done(blk, x, r->code);
		r->block1 = r->code / 100 == 2;
		break;
	case COAP_BLK_REPEAT:
		r->code = x->done_code;
		r->block1 = r->code / 100 == 2;
		r->repeat = 1;
		break;
	case COAP_BLK_TOO_LARGE:
		if (m->has_size1 && m->size1 > rq.limit)
			recv_warnx("%s: Size1 %" PRIu64 " at block %" PRIu32 ", more "
			    "than %s %zu: 4.13", rt->where, m->size1, m->num,
			    limit_name(rt), rq.limit);
		else
			recv_warnx("%s: block %" PRIu32 " (of %u bytes%s) takes the "
			    "body past %s %zu: 4.13", rt->where, m->num,
			    1u << ((m->szx & 7) + 4), m->more ? ", more to come" : "",
			    limit_name(rt), rq.limit);
		r->code = 413;
		break;
	case COAP_BLK_INCOMPLETE:
		recv_warnx("%s: block %" PRIu32 " of no transfer in progress, or "
		    "past a gap: 4.08", rt->where, m->num);
		r->code = 408;
		r->why = "blocks in order from 0, please";
		break;
	case COAP_BLK_BAD:
		recv_warnx("%s: block %" PRIu32 ": %zu bytes, not a block of %u: "
		    "4.00", rt->where, m->num, m->len, 1u << ((m->szx & 7) + 4));
		r->code = 400;
		r->why = "bad block";
		break;
	case COAP_BLK_BUSY:
		if (blk->busy_run == 1)
			recv_warnx("coap: %zu Block1 transfers open, %zu bytes held "
			    "(--coap-hold %zu): blocks refused with 5.03 until there "
			    "is room", coap_blk_open(blk), blk->held, blk->budget);
		r->code = 503;
		r->why = "busy";
		break;
	}
	if (blk->resumed > 0) {
		recv_warnx("coap: room for Block1 transfers again (%" PRIu64
		    " blocks refused with 5.03)", blk->resumed);
		blk->resumed = 0;
	}
}

void
coap_route_request(struct recv *rv, struct coap_blk *blk, size_t max_body,
    const struct coap_msg *m, struct coap_reply *r)
{
	struct coap_route rt;

	memset(r, 0, sizeof(*r));
	r->code = coap_route_parse(rv, m->method, m->path, m->path_len, &rt,
	    &r->why);
	if (r->code != 0)
		return;
	/* The GETs: no body, whatever a hostile client puts in one. */
	if (rt.res == COAP_RES_CMD_NEXT || rt.res == COAP_RES_RESULTS_READ ||
	    rt.res == COAP_RES_FILE) {
		if (m->block1) {
			r->code = 400;
			r->why = "no body here";
		} else if (rt.res == COAP_RES_FILE)
			r->code = coap_files_get(rv, rt.rest, m->block2 ? m->num2 :
			    0, m->block2 ? m->szx2 : COAP_FILES_SZX_MAX, r);
		else if (rt.res == COAP_RES_CMD_NEXT)
			r->code = coap_cmdq_next(rv, rt.gw, m->query, m->query_len,
			    m->now_ms, r);
		else
			r->code = coap_cmdq_results(rv, rt.gw, m->query,
			    m->query_len, r);
		return;
	}
	if (m->block1)
		on_block(rv, blk, max_body, m, &rt, r);
	else
		r->code = coap_route_body(rv, &rt, m->data, m->len, max_body,
		    m->now_ms, r);
	if (r->code == 413)
		r->size1 = coap_route_limit(&rt, max_body);
}
