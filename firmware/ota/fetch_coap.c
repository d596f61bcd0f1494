/*
 * A byte range of an image over CoAP (fetch_coap.h): GET with Block2 (RFC
 * 7959), one block at a time, for the OTA worker thread.
 *
 * libcoap is the daemon's one loaded copy (firmware/base/coap_lib.c, shared
 * with the uplink), but this transfer has its own coap_context_t and
 * session, used from this thread only and freed before returning: nothing
 * of the uplink's is touched (libcoap 4.3 is not thread-safe within one
 * context; two contexts, each used by one thread, are fine: its maintainers
 * in obgm/libcoap#567). libcoap's own block handling stays off (block
 * mode 0, its default): the block numbers are ours, so a range from the
 * middle asks for the block that holds `from` and nothing before it, and
 * every answer is checked against what was asked before a byte of it is
 * handed on. The request waits in a loop of coap_io_process() slices of at
 * most 100 ms: the cancel flag, the stall limit and the pacing are looked
 * at between them.
 *
 * What an answer must be: 2.05 with a Block2 option whose block starts at
 * the byte asked for (a smaller block size than asked is the server's right,
 * RFC 7959 2.4: its NUM is then in its own units), a full block while M is
 * set, a Size2 (if any) that covers `to` and is not overrun, the same ETag
 * as the blocks before (or none), and a last block (M unset) at or after
 * `to`. Without Block2 an answer is the whole resource (one datagram), only
 * to a request for block 0.
 */
#include "firmware/ota/fetch_coap.h"

#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "firmware/base/clock.h"
#include "firmware/base/coap_lib.h"
#include "firmware/base/psk.h"
#include "firmware/base/secret.h"
#include "firmware/ota/block2.h"
#include "firmware/ota/fetch.h"

#define STALL_DEFAULT_S	30
#define SZX_MAX		6		/* 1024-byte blocks: one datagram each */
#define ANSWER_MAX	1280		/* a payload, at most (a PDU is 1152) */
#define SLICE_MS	100
#define SEGMENTS_MAX	16		/* Uri-Path and Uri-Query options */

/* The answer to the request in flight, as the response handler saw it. */
struct answer {
	int state;			/* 0 waiting, 1 answered, -errno failed */
	int code;			/* class * 100 + detail: 205, 404 */
	struct block2_answer b;		/* Block2, Size2, payload length */
	size_t etag_len;		/* 0: none */
	uint8_t etag[8];
	uint8_t data[ANSWER_MAX];
	char why[96];			/* a failure's words */
};

struct cxfer {
	const struct fetch_req *r;
	const char *where;
	char *why;
	size_t len;
	uint8_t token[8];
	size_t token_len;
	struct answer a;
};

static int __attribute__((format(printf, 3, 4)))
say(struct cxfer *x, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err = fetch_vsay(x->why, x->len, x->where, err, fmt, ap);
	va_end(ap);
	return err;
}

static uint64_t
opt_uint(const coap_pdu_t *pdu, uint16_t num, int *has)
{
	coap_opt_iterator_t it;
	coap_opt_t *o;

	if ((o = coap_check_option(pdu, num, &it)) == NULL) {
		*has = 0;
		return 0;
	}
	*has = 1;
	if (coap_opt_length(o) > 8)
		return UINT64_MAX;
	return coap_decode_var_bytes8(coap_opt_value(o), coap_opt_length(o));
}

/*
 * An answer: kept if it is to our request (its token), copied out of the
 * PDU libcoap frees after this returns. Its checks are in take().
 */
static coap_response_t
on_response(coap_session_t *s, const coap_pdu_t *sent, const coap_pdu_t *rcvd,
    const coap_mid_t mid)
{
	struct cxfer *x = coap_get_app_data(coap_session_get_context(s));
	struct answer *a = &x->a;
	coap_bin_const_t tok = coap_pdu_get_token(rcvd);
	coap_opt_iterator_t it;
	coap_opt_t *o;
	const uint8_t *p;
	uint64_t v;
	size_t n;
	int has;

	(void)sent;
	(void)mid;
	if (a->state != 0 || tok.length != x->token_len ||
	    memcmp(tok.s, x->token, tok.length) != 0)
		return COAP_RESPONSE_OK;
	a->code = COAP_RESPONSE_CLASS(coap_pdu_get_code(rcvd)) * 100 +
	    (coap_pdu_get_code(rcvd) & 0x1f);
	v = opt_uint(rcvd, COAP_OPTION_BLOCK2, &has);
	a->b.has_block = has;
	a->b.num = (uint32_t)(v >> 4);
	a->b.more = (v & 0x08) != 0;
	a->b.szx = (unsigned)(v & 0x07);
	if (has && v > 0xffffffu) {
		snprintf(a->why, sizeof(a->why), "an unreadable Block2 option");
		a->state = -EPERM;
		return COAP_RESPONSE_OK;
	}
	a->b.size2 = opt_uint(rcvd, COAP_OPTION_SIZE2, &a->b.has_size2);
	a->etag_len = 0;
	if ((o = coap_check_option(rcvd, COAP_OPTION_ETAG, &it)) != NULL) {
		if ((a->etag_len = coap_opt_length(o)) > sizeof(a->etag)) {
			snprintf(a->why, sizeof(a->why), "an ETag of %zu bytes "
			    "(8 at most)", a->etag_len);
			a->state = -EPERM;
			return COAP_RESPONSE_OK;
		}
		memcpy(a->etag, coap_opt_value(o), a->etag_len);
	}
	if (!coap_get_data(rcvd, &n, &p))
		n = 0;
	if (n > sizeof(a->data)) {
		snprintf(a->why, sizeof(a->why), "an answer of %zu bytes", n);
		a->state = -EPERM;
		return COAP_RESPONSE_OK;
	}
	if (n > 0)	/* no payload: p is NULL, and memcpy's must not be */
		memcpy(a->data, p, n);
	a->b.len = n;
	a->state = 1;
	return COAP_RESPONSE_OK;
}

/* The request never got an answer: the link's failure, or DTLS's. */
static void
on_nack(coap_session_t *s, const coap_pdu_t *sent,
    const coap_nack_reason_t reason, const coap_mid_t mid)
{
	struct cxfer *x = coap_get_app_data(coap_session_get_context(s));
	struct answer *a = &x->a;

	(void)sent;
	(void)mid;
	if (a->state != 0)
		return;
	switch (reason) {
	case COAP_NACK_TLS_FAILED:
		snprintf(a->why, sizeof(a->why), "DTLS handshake failed");
		a->state = -EPERM;
		break;
	case COAP_NACK_RST:
		snprintf(a->why, sizeof(a->why), "reset by the server");
		a->state = -EAGAIN;
		break;
	case COAP_NACK_TOO_MANY_RETRIES:
		snprintf(a->why, sizeof(a->why), "no answer (retransmissions "
		    "exhausted)");
		a->state = -EAGAIN;
		break;
	default:
		snprintf(a->why, sizeof(a->why), "not delivered (%d)", (int)reason);
		a->state = -EAGAIN;
		break;
	}
}

/*
 * A refused DTLS handshake (an alert: a PSK identity the server does not
 * know) will not pass by itself. A wrong key is silent (the server drops
 * what it cannot decrypt): that is a stall.
 */
static int
on_event(coap_session_t *s, const coap_event_t ev)
{
	struct cxfer *x = coap_get_app_data(coap_session_get_context(s));

	if (ev == COAP_EVENT_DTLS_ERROR && x->a.state == 0) {
		snprintf(x->a.why, sizeof(x->a.why), "DTLS handshake refused by the "
		    "server (PSK identity unknown to it?)");
		x->a.state = -EPERM;
	}
	return 0;
}

/*
 * The URL's host, port, path and query; the session to the first address
 * the host has (psk: identity and key, coaps:// only). A name that does not
 * resolve may resolve later: -EAGAIN.
 */
static int
open_session(struct cxfer *x, coap_context_t *ctx, const coap_uri_t *u,
    int secure, const char *identity, const uint8_t *key, size_t key_len,
    coap_session_t **out)
{
	struct addrinfo hints, *res;
	coap_address_t dst;
	char host[256], port[8];
	coap_dtls_cpsk_t p;
	int rc;

	if (u->host.length == 0 || u->host.length >= sizeof(host))
		return say(x, -EPERM, "no host in the URL");
	memcpy(host, u->host.s, u->host.length);
	host[u->host.length] = '\0';
	snprintf(port, sizeof(port), "%u", (unsigned)u->port);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		return say(x, -EAGAIN, "%s: %s", host, gai_strerror(rc));
	coap_address_init(&dst);
	dst.size = res->ai_addrlen;
	memcpy(&dst.addr, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (!secure)
		*out = coap_new_client_session(ctx, NULL, &dst, COAP_PROTO_UDP);
	else {
		memset(&p, 0, sizeof(p));
		p.version = COAP_DTLS_CPSK_SETUP_VERSION;
		p.psk_info.identity.s = (const uint8_t *)identity;
		p.psk_info.identity.length = strlen(identity);
		p.psk_info.key.s = key;
		p.psk_info.key.length = key_len;
		*out = coap_new_client_session_psk2(ctx, NULL, &dst,
		    COAP_PROTO_DTLS, &p);
	}
	if (*out == NULL)
		return say(x, -ENOMEM, "libcoap: no session");
	return 0;
}

/*
 * GET for block num of 2^(szx+4) bytes, with the URL's path and query as
 * options, a fresh token that marks its answer.
 */
static int
send_get(struct cxfer *x, coap_session_t *s, const coap_uri_t *u,
    uint32_t num, unsigned szx)
{
	const uint8_t *p, *end, *seg;
	uint8_t buf[4];
	coap_pdu_t *pdu;
	int pass, n = 0;

	if ((pdu = coap_pdu_init(COAP_MESSAGE_CON, COAP_REQUEST_CODE_GET,
	    coap_new_message_id(s), coap_session_max_pdu_size(s))) == NULL)
		return say(x, -ENOMEM, "libcoap: no PDU");
	coap_session_new_token(s, &x->token_len, x->token);
	coap_add_token(pdu, x->token_len, x->token);
	/* Options in number order: Uri-Path (11), Uri-Query (15), Block2 (23). */
	for (pass = 0; pass < 2; pass++) {
		p = pass == 0 ? u->path.s : u->query.s;
		if ((pass == 0 ? u->path.length : u->query.length) == 0)
			continue;
		end = p + (pass == 0 ? u->path.length : u->query.length);
		while (p < end) {
			for (seg = p; seg < end && *seg != (pass == 0 ? '/' : '&');
			    seg++)
				;
			if (++n > SEGMENTS_MAX) {
				coap_delete_pdu(pdu);
				return say(x, -EPERM, "more than %d path and query "
				    "segments", SEGMENTS_MAX);
			}
			coap_add_option(pdu, pass == 0 ? COAP_OPTION_URI_PATH :
			    COAP_OPTION_URI_QUERY, (size_t)(seg - p), p);
			p = seg + 1;
		}
	}
	coap_add_option(pdu, COAP_OPTION_BLOCK2, coap_encode_var_safe(buf,
	    sizeof(buf), num << 4 | szx), buf);
	memset(&x->a, 0, sizeof(x->a));
	if (coap_send(s, pdu) == COAP_INVALID_MID)
		return say(x, -EAGAIN, "libcoap could not send block %" PRIu32, num);
	return 0;
}

/*
 * Wait for the answer: in slices, so a cancel is seen within one; -EAGAIN
 * past the stall limit. 0 once answered.
 */
static int
await(struct cxfer *x, coap_context_t *ctx, const volatile int *cancel,
    int64_t deadline, uint64_t got, uint32_t num)
{
	int64_t now;

	while (x->a.state == 0) {
		if (cancel != NULL && *cancel)
			return say(x, -ECANCELED, "cancelled after %" PRIu64
			    " bytes", got);
		if ((now = clock_mono_ms()) >= deadline)
			return say(x, -EAGAIN, "no answer to block %" PRIu32 " for "
			    "%d s (after %" PRIu64 " bytes)", num, x->r->stall_s >
			    0 ? x->r->stall_s : STALL_DEFAULT_S, got);
		if (coap_io_process(ctx, (uint32_t)(deadline - now < SLICE_MS ?
		    deadline - now : SLICE_MS)) < 0)
			return say(x, -EAGAIN, "libcoap: I/O failed");
	}
	if (x->a.state < 0)
		return say(x, x->a.state, "%s (after %" PRIu64 " bytes)", x->a.why,
		    got);
	return 0;
}

/* Wait until the bytes so far fit rate_bps since t0; a cancel ends it. */
static int
pace(struct cxfer *x, const volatile int *cancel, int64_t t0, uint64_t got)
{
	int64_t due, now;
	struct timespec ts;

	if (x->r->rate_bps == 0)
		return 0;
	due = t0 + (int64_t)(got * 1000 / x->r->rate_bps);
	while ((now = clock_mono_ms()) < due) {
		if (cancel != NULL && *cancel)
			return say(x, -ECANCELED, "cancelled after %" PRIu64
			    " bytes", got);
		ts.tv_sec = 0;
		ts.tv_nsec = (due - now > SLICE_MS ? SLICE_MS : due - now) *
		    1000000L;
		nanosleep(&ts, NULL);
	}
	return 0;
}

/* A status other than 2.05: may it pass, or will it not? */
static int
status_error(struct cxfer *x, int code)
{
	if (code / 100 == 5)
		return say(x, -EAGAIN, "CoAP %d.%02d", code / 100, code % 100);
	return say(x, -EPERM, "CoAP %d.%02d%s", code / 100, code % 100,
	    code / 100 == 4 ? "" : " (not an answer to a GET)");
}

/*
 * The transfer proper: block after block from the one that holds from
 * until to, each answer checked (block2_check, and its ETag the first
 * one's) before a byte of it reaches data().
 */
static int
blocks(struct cxfer *x, coap_context_t *ctx, coap_session_t *s,
    const coap_uri_t *u, int (*data)(void *, const uint8_t *, size_t),
    void *arg, const volatile int *cancel, uint64_t *got)
{
	const struct fetch_req *r = x->r;
	struct answer *a = &x->a;
	int stall = r->stall_s > 0 ? r->stall_s : STALL_DEFAULT_S;
	uint64_t pos = r->from;
	unsigned szx = SZX_MAX;
	uint8_t etag[8];
	size_t etag_len = 0, skip, n;
	char why[160];
	int64_t t0 = 0;
	int first = 1, rc;
	uint32_t num;

	while (pos < r->to) {
		if ((pos >> (szx + 4)) > BLOCK2_NUM_MAX)
			return say(x, -EPERM, "byte %" PRIu64 " is past what Block2 "
			    "can number", pos);
		num = (uint32_t)(pos >> (szx + 4));
		if ((rc = send_get(x, s, u, num, szx)) < 0 ||
		    (rc = await(x, ctx, cancel, clock_mono_ms() + stall * 1000LL,
		    *got, num)) < 0)
			return rc;
		if (a->code != 205)
			return status_error(x, a->code);
		if (block2_check(pos, r->to, num, szx, &a->b, &skip, &n, &szx, why,
		    sizeof(why)) < 0)
			return say(x, -EPERM, "%s", why);
		if (first) {
			etag_len = a->etag_len;
			memcpy(etag, a->etag, etag_len);
			first = 0;
		} else if (a->etag_len != etag_len ||
		    memcmp(a->etag, etag, etag_len) != 0)
			return say(x, -EAGAIN, "the ETag changed at block %" PRIu32
			    ": the resource changed during the transfer", num);
		if (t0 == 0)
			t0 = clock_mono_ms();
		if ((rc = data(arg, a->data + skip, n)) < 0)
			return say(x, rc, "stopped by the receiver after %" PRIu64
			    " bytes: %s", *got, strerror(-rc));
		*got += n;
		pos += n;
		if (pos < r->to && (rc = pace(x, cancel, t0, *got)) < 0)
			return rc;
	}
	return 0;
}

int
fetch_coap(const struct fetch_req *r, const char *where,
    int (*data)(void *arg, const uint8_t *p, size_t n), void *arg,
    const volatile int *cancel, uint64_t *got, char *why, size_t len)
{
	struct cxfer *x;
	coap_context_t *ctx = NULL;
	coap_session_t *s = NULL;
	coap_uri_t u;
	char identity[PSK_ID_MAX + 1], err[256], *text;
	uint8_t key[PSK_KEY_MAX];
	size_t key_len = 0, tlen;
	int secure, rc;

	*got = 0;
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -ENOMEM;
	x->r = r;
	x->where = where;
	x->why = why;
	x->len = len;
	secure = strncasecmp(r->url, "coaps://", 8) == 0;
	identity[0] = '\0';
	if (secure && r->psk_file == NULL) {
		rc = say(x, -EPERM, "coaps:// needs a psk_file");
		goto out;
	}
	if (secure) {
		if ((rc = secret_read(r->psk_file, &text, &tlen, err,
		    sizeof(err))) < 0) {
			rc = say(x, -EPERM, "psk_file %s", err);
			goto out;
		}
		rc = psk_parse(text, tlen, identity, key, &key_len, err,
		    sizeof(err));
		secret_free(text, tlen);
		if (rc < 0) {
			rc = say(x, -EPERM, "psk_file %s: %s", r->psk_file, err);
			goto out;
		}
	}
	if ((rc = coap_lib_load(secure)) < 0) {
		rc = say(x, -EPERM, "libcoap%s cannot be loaded (see the log)",
		    secure ? " with DTLS" : "");
		goto out;
	}
	coap_startup();
	if (coap_split_uri((const uint8_t *)r->url, strlen(r->url), &u) < 0 ||
	    (u.scheme != COAP_URI_SCHEME_COAP && u.scheme !=
	    COAP_URI_SCHEME_COAPS)) {
		rc = say(x, -EPERM, "not a CoAP URL");
		goto out;
	}
	if (secure && !coap_dtls_is_supported()) {
		rc = say(x, -EPERM, "this libcoap has no DTLS");
		goto out;
	}
	if ((ctx = coap_new_context(NULL)) == NULL) {
		rc = say(x, -ENOMEM, "libcoap: no context");
		goto out;
	}
	coap_set_app_data(ctx, x);
	coap_register_response_handler(ctx, on_response);
	coap_register_nack_handler(ctx, on_nack);
	coap_register_event_handler(ctx, on_event);
	if ((rc = open_session(x, ctx, &u, secure, identity, key, key_len,
	    &s)) < 0)
		goto out;
	rc = blocks(x, ctx, s, &u, data, arg, cancel, got);
out:
	if (s != NULL)
		coap_session_release(s);
	if (ctx != NULL)
		coap_free_context(ctx);
	explicit_bzero(key, sizeof(key));
	free(x);
	return rc;
}
