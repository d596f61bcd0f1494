/*
 * wattgate-fleet send over CoAP (send.h). A gateway on CoAP is not pushed to:
 * the receiver holds the frame until the gateway asks (docs/coap.md,
 * "Commands and results"), and keeps the gateway's last result records,
 * which this tool reads by polling. A tool that blocks: one request at a
 * time, coap_io_process() until its answer or a NACK.
 *
 * Records are read with GET r/<gw>?after=N, N the highest r seen: the
 * receiver answers them in the order of r, as many as fit, so asking again
 * after the last one reads on.
 */
#include "tools/fleet/send.h"

#include <coap3/coap.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "firmware/base/clock.h"

#define POLL_MS		200
#define ANSWER_MS	30000	/* one request, retransmissions included */
#define BODY_MAX	(1u << 20)

struct exch {
	int done;		/* 1 answered, -1 no answer (NACK) */
	coap_pdu_code_t code;
	uint8_t *body;
	size_t len;
	char why[64];
};

static coap_response_t
on_response(coap_session_t *s, const coap_pdu_t *sent, const coap_pdu_t *rcvd,
    const coap_mid_t mid)
{
	struct exch *e = coap_get_app_data(coap_session_get_context(s));
	const uint8_t *data;
	size_t len, off, total;

	(void)sent;
	(void)mid;
	e->code = coap_pdu_get_code(rcvd);
	free(e->body);
	e->body = NULL;
	e->len = 0;
	if (coap_get_data_large(rcvd, &len, &data, &off, &total) && len > 0 &&
	    len <= BODY_MAX && (e->body = malloc(len)) != NULL) {
		memcpy(e->body, data, len);
		e->len = len;
	}
	e->done = 1;
	return COAP_RESPONSE_OK;
}

static void
on_nack(coap_session_t *s, const coap_pdu_t *sent, const coap_nack_reason_t r,
    const coap_mid_t mid)
{
	struct exch *e = coap_get_app_data(coap_session_get_context(s));

	(void)sent;
	(void)mid;
	snprintf(e->why, sizeof(e->why), "%s", r == COAP_NACK_RST ?
	    "reset by the server" : r == COAP_NACK_ICMP_ISSUE ?
	    "unreachable" : "no answer");
	e->done = -1;
}

/* One confirmable request to path (and query); its answer in *e. 0 or -1. */
static int
exchange(coap_session_t *sess, struct exch *e, coap_pdu_code_t code,
    const char *path, const char *query, const uint8_t *data, size_t len)
{
	coap_context_t *ctx = coap_session_get_context(sess);
	uint8_t tok[8], buf[4];
	size_t toklen;
	int64_t end = clock_mono_ms() + ANSWER_MS;
	const char *p = path, *slash;
	coap_pdu_t *pdu;

	pdu = coap_pdu_init(COAP_MESSAGE_CON, code, coap_new_message_id(sess),
	    coap_session_max_pdu_size(sess));
	if (pdu == NULL)
		return -1;
	coap_session_new_token(sess, &toklen, tok);
	coap_add_token(pdu, toklen, tok);
	for (; (slash = strchr(p, '/')) != NULL; p = slash + 1)
		coap_add_option(pdu, COAP_OPTION_URI_PATH, (size_t)(slash - p),
		    (const uint8_t *)p);
	coap_add_option(pdu, COAP_OPTION_URI_PATH, strlen(p), (const uint8_t *)p);
	if (data != NULL)
		coap_add_option(pdu, COAP_OPTION_CONTENT_FORMAT,
		    coap_encode_var_safe(buf, sizeof(buf),
		    COAP_MEDIATYPE_APPLICATION_OCTET_STREAM), buf);
	if (query != NULL)
		coap_add_option(pdu, COAP_OPTION_URI_QUERY, strlen(query),
		    (const uint8_t *)query);
	if (data != NULL && !coap_add_data_large_request(sess, pdu, len, data,
	    NULL, NULL)) {
		coap_delete_pdu(pdu);
		return -1;
	}
	e->done = 0;
	if (coap_send(sess, pdu) == COAP_INVALID_MID)
		return -1;
	while (e->done == 0 && clock_mono_ms() < end)
		coap_io_process(ctx, 100);
	if (e->done == 0)
		snprintf(e->why, sizeof(e->why), "no answer within %d s",
		    ANSWER_MS / 1000);
	return e->done == 1 ? 0 : -1;
}

static const char *const finals[] = {
	"applied", "rejected", "expired", "deviated", "failed", NULL
};

/* The records in e's body: ours printed; *after moves to the highest r. 1 final. */
static int
take_records(const struct exch *e, const char *id, uint64_t *after)
{
	json_t *a, *rec;
	const char *state;
	size_t i, k;
	char *line;
	int final = 0;

	if ((a = json_loadb((const char *)e->body, e->len, 0, NULL)) == NULL ||
	    !json_is_array(a)) {
		json_decref(a);
		return 0;
	}
	json_array_foreach(a, i, rec) {
		json_t *r = json_object_get(rec, "r"), *rid = json_object_get(rec, "id");

		if (json_is_integer(r) && (uint64_t)json_integer_value(r) > *after)
			*after = (uint64_t)json_integer_value(r);
		if (!json_is_string(rid) || strcmp(json_string_value(rid), id) != 0)
			continue;
		if ((line = json_dumps(rec, JSON_COMPACT)) != NULL) {
			printf("%s\n", line);
			free(line);
		}
		state = json_string_value(json_object_get(rec, "state"));
		for (k = 0; state != NULL && finals[k] != NULL; k++)
			if (strcmp(state, finals[k]) == 0)
				final = 1;
	}
	fflush(stdout);
	json_decref(a);
	return final;
}

static int
session(coap_session_t *sess, struct exch *e, const struct send_opts *o,
    const char *gw, const char *id, const uint8_t *frame, size_t len)
{
	char path[128], query[32];
	uint64_t after = 0;
	int64_t end;

	snprintf(path, sizeof(path), "c/%s", gw);
	if (exchange(sess, e, COAP_REQUEST_CODE_POST, path, NULL, frame, len) < 0) {
		fprintf(stderr, "wattgate-fleet: POST %s: %s\n", path, e->why);
		return SEND_ERROR;
	}
	if (e->code != COAP_RESPONSE_CODE(201)) {
		fprintf(stderr, "wattgate-fleet: POST %s: %u.%02u %.*s\n", path,
		    COAP_RESPONSE_CLASS(e->code), e->code & 0x1f, (int)e->len,
		    e->body != NULL ? (const char *)e->body : "");
		return SEND_ERROR;
	}
	if (o->wait_s == 0)
		return SEND_OK;
	snprintf(path, sizeof(path), "r/%s", gw);
	end = clock_mono_ms() + (int64_t)o->wait_s * 1000;
	while (clock_mono_ms() < end) {
		snprintf(query, sizeof(query), "after=%" PRIu64, after);
		if (exchange(sess, e, COAP_REQUEST_CODE_GET, path, query, NULL, 0) < 0) {
			fprintf(stderr, "wattgate-fleet: GET %s: %s\n", path, e->why);
			return SEND_ERROR;
		}
		if (e->code == COAP_RESPONSE_CODE(205) && e->body != NULL &&
		    take_records(e, id, &after))
			return SEND_OK;
		usleep(POLL_MS * 1000);
	}
	fprintf(stderr, "wattgate-fleet: final result: no answer within %d s\n",
	    o->wait_s);
	return SEND_TIMEOUT;
}

int
send_coap(const struct send_opts *o, const char *uri, const char *gw,
    const char *id, const uint8_t *frame, size_t len)
{
	struct exch e = { 0 };
	struct addrinfo hints, *res = NULL;
	coap_context_t *ctx = NULL;
	coap_session_t *sess = NULL;
	coap_address_t dst;
	coap_uri_t u;
	char host[256], port[8];
	int rc = SEND_ERROR;

	coap_startup();
	coap_set_log_level(LOG_ERR);
	if (coap_split_uri((const uint8_t *)uri, strlen(uri), &u) < 0 ||
	    u.host.length == 0 || u.host.length >= sizeof(host)) {
		fprintf(stderr, "wattgate-fleet: --coap %s: not a coap:// URI\n", uri);
		goto out;
	}
	memcpy(host, u.host.s, u.host.length);
	host[u.host.length] = '\0';
	snprintf(port, sizeof(port), "%u", u.port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		fprintf(stderr, "wattgate-fleet: %s: %s\n", host, gai_strerror(rc));
		rc = SEND_ERROR;
		goto out;
	}
	rc = SEND_ERROR;
	coap_address_init(&dst);
	dst.size = res->ai_addrlen;
	memcpy(&dst.addr, res->ai_addr, res->ai_addrlen);
	if ((ctx = coap_new_context(NULL)) == NULL) {
		fprintf(stderr, "wattgate-fleet: cannot make a CoAP context\n");
		goto out;
	}
	/* Before the session: it takes the context's block mode. */
	coap_context_set_block_mode(ctx, COAP_BLOCK_USE_LIBCOAP |
	    COAP_BLOCK_SINGLE_BODY);
	if ((sess = coap_new_client_session(ctx, NULL, &dst, COAP_PROTO_UDP)) == NULL) {
		fprintf(stderr, "wattgate-fleet: %s: cannot make a CoAP session\n", uri);
		goto out;
	}
	coap_set_app_data(ctx, &e);
	coap_register_response_handler(ctx, on_response);
	coap_register_nack_handler(ctx, on_nack);
	rc = session(sess, &e, o, gw, id, frame, len);
out:
	free(e.body);
	if (sess != NULL)
		coap_session_release(sess);
	if (ctx != NULL)
		coap_free_context(ctx);
	if (res != NULL)
		freeaddrinfo(res);
	coap_cleanup();
	return rc;
}
