/*
 * The receiver's CoAP side (coap_server.h). A batch is answered only after
 * recv_batch() has decoded and printed it: a 2.04 means "the platform has it",
 * which is what lets the gateway delete it. What a path and a body mean is
 * coap_route.c's; this file is the libcoap glue.
 *
 * Block1 bodies are put together by the receiver (coap_blk.c, through
 * coap_route.c), not by libcoap. With COAP_BLOCK_USE_LIBCOAP |
 * COAP_BLOCK_SINGLE_BODY, libcoap 4.3.1 (src/block.c,
 * coap_handle_request_put_block) holds every block of a body before the
 * handler sees any of it, so a size check in the handler comes after the
 * whole body is in memory (a 20 MB POST peaked at 27 MB, then got its 4.13);
 * it allocates the body at the first block from the Size1 the peer states
 * (coap_block_build_body: Size1 2^31 is 2 GB of address space per datagram,
 * 80 datagrams 160 GB); and a Size1 below the real size cuts the body short
 * without a word. 4.3.1 has no hook before that and no bound to set (a
 * maximum body size came in later releases). Without SINGLE_BODY it still
 * keeps a record per transfer until MAX_TRANSMIT_WAIT after its last block.
 * So libcoap's block handling is off (block mode 0: libcoap then leaves
 * Block1 alone and every block reaches on_request as it comes), and the
 * receiver does its side of RFC 7959 itself: each block checked against the
 * bounds as it arrives, 2.31 Continue with the Block1 echoed, the body held
 * in a buffer that grows with what arrived. Block2 (a command frame or
 * result records larger than a datagram) is libcoap's: it only sends what
 * we hold already (coap_add_data_large_response).
 */
#include "tools/recv/coap_server.h"

#include <coap3/coap.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/base/clock.h"
#include "firmware/codec/batch.h"
#include "firmware/base/secret.h"
#include "firmware/base/psk.h"
#include "tools/recv/coap_blk.h"
#include "tools/recv/coap_route.h"
#include "tools/recv/recv.h"


struct coap_srv {
	struct recv *rv;
	coap_context_t *ctx;
	size_t max_body;
	unsigned refuse;	/* --coap-refuse: the code, until SIGUSR2 */
	char identity[PSK_ID_MAX + 1];
	uint8_t key[PSK_KEY_MAX];
	coap_bin_const_t psk;
	struct coap_blk blk;	/* Block1 bodies being put together */
	uint64_t requests, ok, bad, too_large, unavailable, refused_psk, dtls_failed;
	uint64_t blocks;	/* answered 2.31 Continue */
};

static volatile sig_atomic_t refuse_off;

static void
on_usr2(int sig)
{
	(void)sig;
	refuse_off = 1;
}

/*
 * The PSK file the gateway uses (docs/coap.md): identity on line 1, key in hex
 * on line 2; read and checked as the gateway does (secret_read refuses a file
 * group or others may read).
 */
static int
read_psk(struct coap_srv *cs, const char *path)
{
	char err[300], why[160], *text;
	size_t len, key_len;
	int rc;

	if (secret_read(path, &text, &len, err, sizeof(err)) < 0) {
		recv_warnx("--psk-file %s", err);
		return -1;
	}
	rc = psk_parse(text, len, cs->identity, cs->key, &key_len, why,
	    sizeof(why));
	secret_free(text, len);
	if (rc < 0) {
		recv_warnx("--psk-file %s: %s", path, why);
		return -1;
	}
	cs->psk.s = cs->key;
	cs->psk.length = key_len;
	return 0;
}

/* The key for a known identity; any other identity fails the handshake. */
static const coap_bin_const_t *
psk_for(coap_bin_const_t *id, coap_session_t *s, void *arg)
{
	struct coap_srv *cs = arg;

	(void)s;
	if (id != NULL && id->length == strlen(cs->identity) &&
	    memcmp(id->s, cs->identity, id->length) == 0)
		return &cs->psk;
	cs->refused_psk++;
	recv_warnx("coaps: unknown PSK identity '%.*s': refused",
	    id ? (int)id->length : 0, id ? (const char *)id->s : "");
	return NULL;
}

static void
on_coap_log(coap_log_t level, const char *msg)
{
	if (level <= LOG_WARNING)
		recv_warnx("libcoap: %.*s", (int)strcspn(msg, "\n"), msg);
}

/* A refused handshake (wrong key, unknown certificate) is worth a line. */
static int
on_event(coap_session_t *s, const coap_event_t ev)
{
	struct coap_srv *cs = coap_get_app_data(coap_session_get_context(s));

	if (ev == COAP_EVENT_DTLS_ERROR) {
		cs->dtls_failed++;
		recv_warnx("coaps: %s: DTLS handshake failed", coap_session_str(s));
	}
	return 0;
}

/* The answer's code and text, counted for the stats. */
static void
answer(struct coap_srv *cs, coap_pdu_t *resp, int code, const char *why)
{
	coap_pdu_set_code(resp, COAP_RESPONSE_CODE(code));
	if (code / 100 == 2)
		cs->ok++;
	else if (code == 413)
		cs->too_large++;
	else if (code / 100 == 4)
		cs->bad++;
	else
		cs->unavailable++;
	if (why != NULL)
		coap_add_data(resp, strlen(why), (const uint8_t *)why);
}

/*
 * Who sent a block, for the transfer it belongs to: the session's protocol
 * and the peer's address, and its Request-Tag (RFC 9175; a libcoap client
 * sends a new one per body, the same in every block of it, while the token
 * changes from block to block). coap_route.c adds the path. Its length, or
 * 0 for a Request-Tag longer than RFC 9175's 8 bytes.
 */
static size_t
peer_key(coap_session_t *s, const coap_pdu_t *req, uint8_t *key)
{
	const coap_address_t *a = coap_session_get_addr_remote(s);
	coap_opt_iterator_t it;
	coap_opt_t *tag;
	size_t n = 0, tl;

	key[n++] = (uint8_t)coap_session_get_proto(s);
	key[n++] = (uint8_t)a->addr.sa.sa_family;
	if (a->addr.sa.sa_family == AF_INET6) {
		memcpy(key + n, &a->addr.sin6.sin6_port, 2);
		memcpy(key + n + 2, &a->addr.sin6.sin6_addr, 16);
		memcpy(key + n + 18, &a->addr.sin6.sin6_scope_id, 4);
		n += 22;
	} else {
		memcpy(key + n, &a->addr.sin.sin_port, 2);
		memcpy(key + n + 2, &a->addr.sin.sin_addr, 4);
		n += 6;
	}
	tag = coap_check_option(req, COAP_OPTION_RTAG, &it);
	if ((tl = tag != NULL ? coap_opt_length(tag) : 0) > 8)
		return 0;
	key[n++] = (uint8_t)tl;
	if (tl > 0)
		memcpy(key + n, coap_opt_value(tag), tl);
	return n + tl;
}

/*
 * The Block1 and Size1 options of a request into m. 0, or -1 for a Block1
 * option libcoap finds no block in (szx 7: BERT, TCP only; a number past
 * 2^20) or a Request-Tag too long.
 */
static int
read_blocks(coap_session_t *s, const coap_pdu_t *req, struct coap_msg *m,
    uint8_t *peer)
{
	coap_opt_iterator_t it;
	coap_block_b_t b;
	coap_opt_t *o;

	if (coap_check_option(req, COAP_OPTION_BLOCK1, &it) == NULL)
		return 0;
	if (!coap_get_block_b(s, req, COAP_OPTION_BLOCK1, &b) || b.bert ||
	    (m->peer_len = peer_key(s, req, peer)) == 0)
		return -1;
	m->block1 = 1;
	m->num = b.num;
	m->szx = b.szx;
	m->more = b.m;
	m->peer = peer;
	if ((o = coap_check_option(req, COAP_OPTION_SIZE1, &it)) != NULL) {
		m->has_size1 = 1;
		m->size1 = coap_opt_length(o) > 8 ? UINT64_MAX :
		    coap_decode_var_bytes8(coap_opt_value(o), coap_opt_length(o));
	}
	return 0;
}

/*
 * <prefix>/<gw>/b, <prefix>/<gw>/s/<id>, <prefix>/<gw>/metrics: one handler for
 * every path under the prefix (libcoap's "unknown resource"), since the
 * gateway ids are not known in advance. What to answer is coap_route.c's.
 */
/*
 * A body to answer with (a command frame, result records), in Block2 blocks
 * of up to 1024 bytes if larger (RFC 7959), sliced here: libcoap's block
 * handling is off in this server (see the top), and a block is asked for
 * with the same path and query, so every block comes from the same answer
 * (a frame by its index, results by their r) while it stands. The ETag says
 * which answer a block belongs to: a frame's index, or a hash of the
 * records; a client seeing it change starts over.
 */
static void
answer_body(struct coap_srv *cs, coap_session_t *s, const coap_pdu_t *req,
    coap_pdu_t *resp, const struct coap_reply *r)
{
	uint64_t etag = r->etag;
	uint8_t buf[8];
	coap_block_b_t b;
	size_t i, start, chunk;
	unsigned szx = 6;
	uint32_t num = 0;

	if (etag == 0) {	/* FNV-1a */
		etag = 0xcbf29ce484222325u;
		for (i = 0; i < r->body_len; i++)
			etag = (etag ^ r->body[i]) * 0x100000001b3u;
	}
	if (coap_get_block_b(s, req, COAP_OPTION_BLOCK2, &b) && !b.bert) {
		num = b.num;
		szx = b.szx < 6 ? b.szx : 6;
	}
	start = (size_t)num << (szx + 4);
	if (start > 0 && start >= r->body_len) {
		answer(cs, resp, 400, "no such block");
		return;
	}
	chunk = r->body_len - start < ((size_t)1 << (szx + 4)) ?
	    r->body_len - start : ((size_t)1 << (szx + 4));
	coap_pdu_set_code(resp, COAP_RESPONSE_CODE(r->code));
	cs->ok++;
	coap_add_option(resp, COAP_OPTION_ETAG, coap_encode_var_safe8(buf,
	    sizeof(buf), etag), buf);
	coap_add_option(resp, COAP_OPTION_CONTENT_FORMAT, coap_encode_var_safe(buf,
	    sizeof(buf), (unsigned)r->format), buf);
	if (start > 0 || chunk < r->body_len) {
		coap_add_option(resp, COAP_OPTION_BLOCK2, coap_encode_var_safe(buf,
		    sizeof(buf), num << 4 | (start + chunk < r->body_len) << 3 |
		    szx), buf);
		coap_add_option(resp, COAP_OPTION_SIZE2, coap_encode_var_safe(buf,
		    sizeof(buf), (unsigned)r->body_len), buf);
	}
	if (chunk > 0 && !coap_add_data(resp, chunk, r->body + start))
		recv_warnx("coap: cannot answer with %zu bytes", chunk);
}

/*
 * A block of a file (fw/<name>, coap_files.c): read for this request, so
 * the options come with it, not from a body held for the transfer. Block2
 * and Size2 always (a client checks the block it got against the one it
 * asked for, and the size against the range it wants); the ETag names the
 * file as it is.
 */
static void
answer_block(struct coap_srv *cs, coap_pdu_t *resp, const struct coap_reply *r)
{
	uint8_t buf[8];

	coap_pdu_set_code(resp, COAP_RESPONSE_CODE(r->code));
	cs->ok++;
	coap_add_option(resp, COAP_OPTION_ETAG, coap_encode_var_safe8(buf,
	    sizeof(buf), r->etag), buf);
	coap_add_option(resp, COAP_OPTION_CONTENT_FORMAT, coap_encode_var_safe(buf,
	    sizeof(buf), (unsigned)r->format), buf);
	coap_add_option(resp, COAP_OPTION_BLOCK2, coap_encode_var_safe(buf,
	    sizeof(buf), r->num2 << 4 | (unsigned)r->more2 << 3 | r->szx2), buf);
	coap_add_option(resp, COAP_OPTION_SIZE2, coap_encode_var_safe8(buf,
	    sizeof(buf), r->size2), buf);
	if (r->body_len > 0 && !coap_add_data(resp, r->body_len, r->body))
		recv_warnx("coap: cannot answer with %zu bytes", r->body_len);
}

/* A GET's Block2 option into m: 0, or -1 for one libcoap reads no block in. */
static int
read_block2(coap_session_t *s, const coap_pdu_t *req, struct coap_msg *m)
{
	coap_opt_iterator_t it;
	coap_block_b_t b;

	if (coap_check_option(req, COAP_OPTION_BLOCK2, &it) == NULL)
		return 0;
	if (!coap_get_block_b(s, req, COAP_OPTION_BLOCK2, &b) || b.bert)
		return -1;
	m->block2 = 1;
	m->num2 = b.num;
	m->szx2 = b.szx;
	return 0;
}

static void
on_request(coap_resource_t *res, coap_session_t *s, const coap_pdu_t *req,
    const coap_string_t *query, coap_pdu_t *resp)
{
	struct coap_srv *cs = coap_get_app_data(coap_session_get_context(s));
	uint8_t peer[64], buf[4];
	struct coap_reply r;
	struct coap_msg m;
	coap_string_t *path;

	(void)res;
	cs->requests++;
	if (cs->refuse != 0 && refuse_off) {
		recv_warnx("coap: SIGUSR2: --coap-refuse %u off, answering normally",
		    cs->refuse);
		cs->refuse = 0;
	}
	if (cs->refuse != 0) {
		answer(cs, resp, (int)cs->refuse, "refused (--coap-refuse)");
		return;
	}
	if ((path = coap_get_uri_path(req)) == NULL) {
		answer(cs, resp, 404, NULL);
		return;
	}
	memset(&m, 0, sizeof(m));
	m.method = coap_pdu_get_code(req);
	m.path = path->s;
	m.path_len = path->length;
	if (query != NULL) {
		m.query = query->s;
		m.query_len = query->length;
	}
	if (!coap_get_data(req, &m.len, &m.data))
		m.len = 0;
	m.now_ms = clock_mono_ms();
	if (read_blocks(s, req, &m, peer) < 0 ||
	    (m.method == COAP_ROUTE_GET && read_block2(s, req, &m) < 0)) {
		coap_delete_string(path);
		answer(cs, resp, 400, "bad Block1, Block2 or Request-Tag");
		return;
	}
	coap_route_request(cs->rv, &cs->blk, cs->max_body, &m, &r);
	coap_delete_string(path);
	if (r.block1)
		/* The request's block echoed (RFC 7959 2.3). */
		coap_add_option(resp, COAP_OPTION_BLOCK1, coap_encode_var_safe(buf,
		    sizeof(buf), m.num << 4 | (unsigned)(r.block1 - 1) << 3 | m.szx),
		    buf);
	if (r.code == 413)
		coap_add_option(resp, COAP_OPTION_SIZE1, coap_encode_var_safe(buf,
		    sizeof(buf), (unsigned)r.size1), buf);
	if (r.block2 && r.code == 205) {
		answer_block(cs, resp, &r);
	} else if (r.body != NULL && r.code / 100 == 2) {
		answer_body(cs, s, req, resp, &r);
	} else if (r.code == 231) {
		coap_pdu_set_code(resp, COAP_RESPONSE_CODE(231));
		cs->blocks++;
	} else if (r.repeat) {
		coap_pdu_set_code(resp, COAP_RESPONSE_CODE(r.code));
	} else {
		answer(cs, resp, r.code, r.why);
	}
	free(r.body);
}

/* GET <prefix>/stats: what this receiver took, for people and for tests. */
static void
on_stats(coap_resource_t *res, coap_session_t *s, const coap_pdu_t *req,
    const coap_string_t *query, coap_pdu_t *resp)
{
	struct coap_srv *cs = coap_get_app_data(coap_session_get_context(s));
	struct recv *rv = cs->rv;
	char json[768];
	uint8_t buf[4];
	int n;

	(void)res;
	(void)req;
	(void)query;
	n = snprintf(json, sizeof(json), "{\"readings\":%" PRIu64 ",\"bad_batches\":%"
	    PRIu64 ",\"bad_schemas\":%" PRIu64 ",\"coap_requests\":%" PRIu64
	    ",\"coap_ok\":%" PRIu64 ",\"coap_bad\":%" PRIu64 ",\"coap_too_large\":%"
	    PRIu64 ",\"coap_unavailable\":%" PRIu64 ",\"psk_refused\":%" PRIu64
	    ",\"dtls_failed\":%" PRIu64 ",\"coap_blocks\":%" PRIu64
	    ",\"coap_block_busy\":%" PRIu64 ",\"coap_transfers_open\":%zu"
	    ",\"coap_held\":%zu,\"coap_held_peak\":%zu,\"coap_hold\":%zu}",
	    rv->printed, rv->bad_batches, rv->bad_schemas, cs->requests, cs->ok,
	    cs->bad, cs->too_large, cs->unavailable, cs->refused_psk,
	    cs->dtls_failed, cs->blocks, cs->blk.busy, coap_blk_open(&cs->blk),
	    cs->blk.held, cs->blk.held_peak, cs->blk.budget);
	coap_pdu_set_code(resp, COAP_RESPONSE_CODE(205));
	coap_add_option(resp, COAP_OPTION_CONTENT_FORMAT, coap_encode_var_safe(buf,
	    sizeof(buf), COAP_MEDIATYPE_APPLICATION_JSON), buf);
	coap_add_data(resp, (size_t)n, (const uint8_t *)json);
}

static int
listen_on(struct coap_srv *cs, const char *spec, coap_proto_t proto)
{
	struct addrinfo hints, *res;
	coap_address_t a;
	char host[128];
	const char *colon = strrchr(spec, ':');
	size_t hl;
	int rc;

	if (colon == NULL || colon == spec || (hl = (size_t)(colon - spec)) >= sizeof(host)) {
		recv_warnx("%s: want ADDR:PORT", spec);
		return -1;
	}
	memcpy(host, spec[0] == '[' ? spec + 1 : spec, hl);
	host[spec[0] == '[' ? hl - 2 : hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		recv_warnx("%s: %s", spec, gai_strerror(rc));
		return -1;
	}
	coap_address_init(&a);
	a.size = res->ai_addrlen;
	memcpy(&a.addr, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if (coap_new_endpoint(cs->ctx, &a, proto) == NULL) {
		recv_warnx("%s: cannot listen (%s)", spec, proto == COAP_PROTO_DTLS ?
		    "coaps" : "coap");
		return -1;
	}
	recv_warnx("coap: listening on %s://%s", proto == COAP_PROTO_DTLS ? "coaps" :
	    "coap", spec);
	return 0;
}

static int
setup_dtls(struct coap_srv *cs, const struct coap_srv_opts *o)
{
	if (!coap_dtls_is_supported()) {
		recv_warnx("--coaps: this libcoap has no DTLS");
		return -1;
	}
	if (o->psk_file != NULL) {
		coap_dtls_spsk_t sp;

		if (read_psk(cs, o->psk_file) < 0)
			return -1;
		memset(&sp, 0, sizeof(sp));
		sp.version = COAP_DTLS_SPSK_SETUP_VERSION;
		sp.validate_id_call_back = psk_for;
		sp.id_call_back_arg = cs;
		sp.psk_info.key = cs->psk;
		if (!coap_context_set_psk2(cs->ctx, &sp)) {
			recv_warnx("--psk-file %s: libcoap refused the key", o->psk_file);
			return -1;
		}
	}
	if (o->cert_file != NULL) {
		coap_dtls_pki_t p;

		memset(&p, 0, sizeof(p));
		p.version = COAP_DTLS_PKI_SETUP_VERSION;
		/* With a CA: only clients holding a certificate from it. */
		p.verify_peer_cert = o->ca_file != NULL;
		p.check_common_ca = o->ca_file != NULL;
		p.cert_chain_validation = 1;
		p.cert_chain_verify_depth = 3;
		p.pki_key.key_type = COAP_PKI_KEY_PEM;
		p.pki_key.key.pem.ca_file = o->ca_file;
		p.pki_key.key.pem.public_cert = o->cert_file;
		p.pki_key.key.pem.private_key = o->key_file;
		if (!coap_context_set_pki(cs->ctx, &p)) {
			recv_warnx("--cert-file %s / --key-file %s: libcoap refused them",
			    o->cert_file, o->key_file);
			return -1;
		}
	}
	return 0;
}

int
coap_srv_start(struct recv *rv, const struct coap_srv_opts *o,
    struct coap_srv **out)
{
	struct coap_srv *cs;
	coap_resource_t *r;
	char stats[128];

	coap_startup();
	coap_set_log_handler(on_coap_log);
	coap_set_log_level(LOG_WARNING);
	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		return -1;
	*out = cs;
	cs->rv = rv;
	cs->max_body = o->max_body;
	if ((cs->refuse = o->refuse) != 0) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_usr2;	/* no SA_RESTART: wake the poll */
		sigaction(SIGUSR2, &sa, NULL);
	}
	if ((cs->ctx = coap_new_context(NULL)) == NULL)
		return -1;
	coap_set_app_data(cs->ctx, cs);
	/* No coap_context_set_block_mode(): Block1 is ours (see the top). */
	if (coap_blk_init(&cs->blk, 0, o->hold) < 0)
		return -1;
	coap_register_event_handler(cs->ctx, on_event);
	if (o->coaps != NULL && setup_dtls(cs, o) < 0)
		return -1;
	if ((o->coap != NULL && listen_on(cs, o->coap, COAP_PROTO_UDP) < 0) ||
	    (o->coaps != NULL && listen_on(cs, o->coaps, COAP_PROTO_DTLS) < 0))
		return -1;
	if ((r = coap_resource_unknown_init2(on_request, 0)) == NULL)
		return -1;
	coap_register_request_handler(r, COAP_REQUEST_POST, on_request);
	coap_register_request_handler(r, COAP_REQUEST_GET, on_request);
	coap_add_resource(cs->ctx, r);
	snprintf(stats, sizeof(stats), "%s/stats", rv->prefix);
	if ((r = coap_resource_init(coap_new_str_const((const uint8_t *)stats,
	    strlen(stats)),
	    COAP_RESOURCE_FLAGS_RELEASE_URI)) == NULL)
		return -1;
	coap_register_request_handler(r, COAP_REQUEST_GET, on_stats);
	coap_add_resource(cs->ctx, r);
	if (coap_context_get_coap_fd(cs->ctx) < 0) {
		recv_warnx("coap: libcoap has no epoll fd");
		return -1;
	}
	return 0;
}

int
coap_srv_fd(struct coap_srv *cs)
{
	return coap_context_get_coap_fd(cs->ctx);
}

int
coap_srv_timeout(struct coap_srv *cs, int max_ms)
{
	coap_tick_t now;
	unsigned ms;

	coap_ticks(&now);
	ms = coap_io_prepare_epoll(cs->ctx, now);
	return ms > 0 && ms < (unsigned)max_ms ? (int)ms : max_ms;
}

void
coap_srv_process(struct coap_srv *cs)
{
	coap_io_process(cs->ctx, COAP_IO_NO_WAIT);
}

void
coap_srv_stop(struct coap_srv *cs)
{
	if (cs == NULL)
		return;
	if (cs->ctx != NULL)
		coap_free_context(cs->ctx);
	coap_blk_free(&cs->blk);
	explicit_bzero(cs->key, sizeof(cs->key));
	free(cs);
	coap_cleanup();
}
