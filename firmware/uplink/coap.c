/*
 * CoAP uplink through libcoap 3 (DTLS through its OpenSSL variant), hosted in our
 * event loop: libcoap's epoll fd (coap_context_get_coap_fd) is one more fd, each
 * readiness runs coap_io_process(ctx, COAP_IO_NO_WAIT), and a timerfd armed
 * before every wait from coap_io_prepare_epoll() wakes us for retransmissions.
 * No thread, no blocking call on the loop: the server's name is resolved off
 * it and each of its addresses tried in turn by the dial (dial.h).
 *
 * Resources (docs/coap.md), <base> being the URI's path:
 *   POST <base>/<gw>/b            a wrapped batch, confirmable, Block1 if large
 *   PUT  <base>/<gw>/s/<id>       a schema (JSON), before the batches using it
 *   PUT  <base>/<gw>/metrics      the gateway's counters (JSON)
 *   POST <base>/<gw>/r            a result record; GET <base>/<gw>/c?after=K
 *                                 asks for commands (coap_cmd.c)
 *
 * A 2.xx answer acknowledges a batch (ev.acked: only then does the forwarder
 * delete it). A timeout, a 5.xx, an RST or a DTLS failure takes the link down
 * (ev.down: the forwarder resends from the store after the next up) and backs
 * off; a 4.xx refuses that one batch (ev.refused: set aside, kept, counted) with
 * an ALARM line, except 4.13, too large (ev.too_large: the forwarder splits it),
 * and 4.01/4.03/4.04/4.05 to a batch or schema: those refuse this gateway
 * (credentials, URI path, method), so every batch in turn. That takes the link
 * down like a 5.xx, with one ALARM and nothing set aside, and keeps it down for
 * the forwarder: each later attempt first asks again with the refused method
 * on the refused path, no payload (the probe), and is "up" only if that is not
 * refused. One down, not an up and a down per backoff round: no ALARM per round,
 * and a failover's primary stays down until the fallback takes over. "Up" means
 * the server answered: a CoAP ping over UDP, the DTLS handshake over DTLS.
 *
 * Up to CO_WINDOW batches are in flight at once, each with its own token; libcoap's
 * NSTART is raised to match (RFC 7252 4.7 allows it where the path is known to
 * take it; the receiver is ours). Resends come from the store, never from
 * libcoap: on every down the session is released and made anew.
 */
#include <coap3/coap.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/codec/batch.h"
#include "firmware/uplink/dial.h"
#include "firmware/uplink/coap_addr.h"
#include "firmware/uplink/coap_cmd.h"
#include "firmware/uplink/coap_config.h"
#include "firmware/uplink/coap_dtls.h"
#include "firmware/uplink/coap_msg.h"
#include "firmware/uplink/coap_req.h"
#include "firmware/uplink/uplink.h"

/*
 * Our Finished out, the server's not back after this: the server could not
 * check ours. Two retransmissions of our last flight fit (OpenSSL's DTLS timer
 * as libcoap sets it: 1 s, then doubling).
 */
#define FINISHED_WAIT_MS 4000
/* An attempt's watchdog while other addresses are left to try. */
#define ATTEMPT_MORE_MS	10000

enum co_state { CO_WAIT, CO_CONNECTING, CO_UP };

struct co {
	struct uplink *u;
	const struct coap_cfg *cfg;
	coap_context_t *ctx;
	coap_session_t *sess;
	struct coap_creds creds;
	char host[128];
	unsigned port;
	char base[COAP_URI_MAX];	/* path segments, no leading or trailing '/' */
	int coap_fd, timer_fd;
	enum co_state st;
	struct dial dial;	/* where and when to connect (dial.h) */
	int dialing;		/* dial_start succeeded: dial_stop at the end */
	struct coap_reqs w;	/* requests in flight (coap_req.c) */
	struct coap_cmd cmd;	/* commands and results (coap_cmd.c) */
	uint64_t refused;	/* single requests refused (4.xx) */
	uint64_t refused_link;	/* refusals of the gateway (4.01/3/4/5) */
	coap_pdu_code_t refusing;	/* the last one, 0 once accepted again */
	enum req_kind probe_kind;	/* what it refused: the probe asks again */
	char probe_sub[16];
	coap_mid_t ping_mid;	/* the probe of a UDP connection attempt */
	int64_t fin_since;	/* DTLS: waiting for the server's Finished since */
	char last_err[192];	/* last failure logged: log changes only */
};

/* The session timeouts: the watchdog of a connection attempt is one exchange. */
static int64_t
exchange_ms(const struct co *c)
{
	return (int64_t)c->cfg->ack_timeout_ms * 3 / 2 *
	    ((1 << (c->cfg->max_retransmit + 1)) - 1) + 1000;
}

/* A failure is logged when it differs from the last one: one line per outage. */
__attribute__((format(printf, 2, 3)))
static void
co_warn(struct co *c, const char *fmt, ...)
{
	char line[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (strcmp(line, c->last_err) == 0)
		return;
	snprintf(c->last_err, sizeof(c->last_err), "%s", line);
	log_warnx("coap: %s", line);
}

/*
 * The link, or the attempt under way, is over; everything in flight is void
 * (the session is released by the next attempt, not here: this may run
 * inside a libcoap callback). A link that was up: the forwarder resends from
 * the store and the dial backs off (dial.h: only a link that stayed up a
 * while resets the backoff). An attempt: the next address if this one did
 * not answer, the end of the round if the server answered (answered).
 */
__attribute__((format(printf, 3, 4)))
static void
go_down(struct co *c, int answered, const char *fmt, ...)
{
	enum co_state was = c->st;
	char why[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	coap_req_clear_all(&c->w);
	coap_cmd_down(&c->cmd);
	c->st = CO_WAIT;
	if (was == CO_UP) {
		co_warn(c, "%s:%u: %s; backing off", c->host, c->port, why);
		c->u->ev.down(c->u->ev.arg);
		dial_down(&c->dial);
	} else if (was == CO_CONNECTING) {
		if (answered)
			dial_refused(&c->dial, why);
		else
			dial_failed(&c->dial, why);
	}
}

static int send_probe(struct co *c);

static void
go_up(struct co *c)
{
	if (c->st != CO_CONNECTING)
		return;
	if (c->refusing != 0) {
		/* Still refused? The probe's answer says (on_response), within one
		 * exchange; the handshake is over. */
		c->fin_since = 0;
		dial_deadline(&c->dial, exchange_ms(c));
		if (send_probe(c) < 0)
			go_down(c, 0, "cannot send the probe");
		return;
	}
	log_info("coap: %s:%u answers (%s)", c->host, c->port,
	    c->cfg->secure ? (c->cfg->psk_file[0] ? "DTLS, PSK" :
	    "DTLS, certificate") : "no DTLS");
	c->last_err[0] = '\0';
	c->st = CO_UP;
	dial_up(&c->dial);
	c->u->ev.up(c->u->ev.arg);
	if (c->st == CO_UP)
		coap_cmd_up(&c->cmd, c->sess);
}

/* One confirmable request on this link's session, to <base>/<gw>/<sub>. */
static int
send_req(struct co *c, struct req *r, coap_pdu_code_t code, const char *sub,
    uint16_t format)
{
	return coap_req_send(c->sess, c->base, c->u->site->gateway, r, code, sub,
	    format);
}

static int
send_batch_req(struct co *c, struct req *r)
{
	r->queued = 0;
	return send_req(c, r, COAP_REQUEST_CODE_POST, "b",
	    COAP_MEDIATYPE_APPLICATION_OCTET_STREAM);
}

/* The schemas are in: the batches held for them go, in the order given. */
static void
flush_queued(struct co *c)
{
	struct req *next;

	while (c->st == CO_UP && c->w.schemas_unacked == 0) {
		if ((next = coap_req_next_queued(&c->w)) == NULL)
			return;
		if (send_batch_req(c, next) < 0) {
			go_down(c, 0, "cannot send batch %llu; link reset",
			    (unsigned long long)next->seq);
			return;
		}
	}
}

/*
 * The refused request's method on its path, with no payload: a refusal of the
 * gateway is about who asks where, not about what is sent, so this asks the
 * same question for a few bytes, and nothing the forwarder must track.
 */
static int
send_probe(struct co *c)
{
	struct req *r;
	int batch = c->probe_kind == REQ_BATCH, rc;

	if (coap_req_of_kind(&c->w, REQ_PROBE) != NULL)
		return 0;	/* one probe per attempt */
	if ((r = coap_req_new(&c->w, REQ_PROBE)) == NULL)
		return -ENOMEM;
	if ((rc = send_req(c, r, batch ? COAP_REQUEST_CODE_POST :
	    COAP_REQUEST_CODE_PUT, c->probe_sub, batch ?
	    COAP_MEDIATYPE_APPLICATION_OCTET_STREAM :
	    COAP_MEDIATYPE_APPLICATION_JSON)) < 0)
		coap_req_clear(&c->w, r);
	return rc;
}

/*
 * 4.01/4.03/4.04/4.05 to a batch, schema or probe: the platform refuses this
 * gateway. One ALARM per refusal (a new code is news), not one per attempt;
 * down and back off; what was in flight stays in the store, set aside nowhere.
 */
static void
link_refused(struct co *c, const struct req *done, coap_pdu_code_t code,
    const char *why)
{
	c->refused_link++;
	if (c->refusing != code)
		log_warnx("ALARM: coap: %s:%u answers %u.%02u to a %s: %s; link "
		    "refused, backing off (nothing set aside: the store keeps it all "
		    "and resends it once accepted)", c->host, c->port,
		    COAP_RESPONSE_CLASS(code), code & 0x1f, coap_req_kind_name(done->kind), why);
	if (done->kind != REQ_PROBE) {
		c->probe_kind = done->kind;
		snprintf(c->probe_sub, sizeof(c->probe_sub), "%s", done->sub);
	}
	c->refusing = code;
	go_down(c, 1, "link refused (%u.%02u)", COAP_RESPONSE_CLASS(code),
	    code & 0x1f);
}

/*
 * An answer: 2.xx acknowledges, 4.xx refuses this one request for good (but
 * 4.01/4.03/4.04/4.05 the whole gateway: link_refused), 5.xx (and anything
 * else) is a server in trouble: down and back off, resend from the store. The
 * probe's answer, the only one while connecting, lets the link up or not.
 */
static coap_response_t
on_response(coap_session_t *s, const coap_pdu_t *sent, const coap_pdu_t *rcvd,
    const coap_mid_t mid)
{
	struct co *c = coap_get_app_data(coap_session_get_context(s));
	coap_pdu_code_t code = coap_pdu_get_code(rcvd);
	unsigned cls = COAP_RESPONSE_CLASS(code), detail = code & 0x1f;
	const char *why = coap_msg_refusal(code);
	struct req *r, done;

	(void)sent;
	(void)mid;
	if (s != c->sess || c->st == CO_WAIT ||
	    (r = coap_req_by_token(&c->w, coap_pdu_get_token(rcvd))) == NULL ||
	    (c->st == CO_CONNECTING) != (r->kind == REQ_PROBE))
		return COAP_RESPONSE_OK;	/* late answer of a void request */
	if (r->kind == REQ_RESULT || r->kind == REQ_COMMANDS) {
		if (coap_cmd_response(&c->cmd, r, rcvd) < 0)
			go_down(c, 1, "answers %u.%02u to a result", cls, detail);
		return COAP_RESPONSE_OK;
	}
	done = *r;
	done.data = NULL;
	if (done.kind == REQ_PROBE && why == NULL && (cls == 2 || cls == 4)) {
		/* 2.xx, or a 4.xx about the empty payload: the gateway is let in. */
		coap_req_clear(&c->w, r);
		log_info("coap: %s:%u no longer refuses this gateway (%u.%02u to the "
		    "probe, %llu refusals)", c->host, c->port, cls, detail,
		    (unsigned long long)c->refused_link);
		c->refusing = 0;
		go_up(c);
		return COAP_RESPONSE_OK;
	}
	/* Metrics only report: their refusal is logged, the data goes on. */
	if (why != NULL && done.kind != REQ_METRICS) {
		link_refused(c, &done, code, why);
		return COAP_RESPONSE_OK;
	}
	if (cls == 2) {
		coap_req_clear(&c->w, r);
		if (done.kind == REQ_BATCH)
			c->u->ev.acked(c->u->ev.arg, done.seq);
		else if (done.kind == REQ_SCHEMA)
			flush_queued(c);
		return COAP_RESPONSE_OK;
	}
	if (cls == 4 && done.kind != REQ_SCHEMA) {
		coap_req_clear(&c->w, r);
		c->refused++;
		if (done.kind == REQ_METRICS) {
			co_warn(c, "%s:%u refuses the metrics: %u.%02u", c->host,
			    c->port, cls, detail);
			return COAP_RESPONSE_OK;
		}
		if (code == COAP_RESPONSE_CODE(413) && c->u->ev.too_large != NULL) {
			/* The forwarder splits it, or sets it aside with the ALARM. */
			log_warnx("coap: %s:%u: batch %llu is %zu bytes, more than it "
			    "takes (4.13, limit %u)", c->host, c->port,
			    (unsigned long long)done.seq, done.len, coap_msg_size1(rcvd));
			c->u->ev.too_large(c->u->ev.arg, done.seq, coap_msg_size1(rcvd));
			return COAP_RESPONSE_OK;
		}
		log_warnx("ALARM: coap: %s:%u refuses batch %llu: %u.%02u; "
		    "set aside, kept in the store", c->host, c->port,
		    (unsigned long long)done.seq, cls, detail);
		if (c->u->ev.refused != NULL)
			c->u->ev.refused(c->u->ev.arg, done.seq);
		return COAP_RESPONSE_OK;
	}
	go_down(c, 1, "answers %u.%02u to a %s", cls, detail,
	    coap_req_kind_name(done.kind));
	return COAP_RESPONSE_OK;
}

static void
on_nack(coap_session_t *s, const coap_pdu_t *sent, const coap_nack_reason_t why,
    const coap_mid_t mid)
{
	struct co *c = coap_get_app_data(coap_session_get_context(s));

	(void)sent;
	if (s != c->sess || c->st == CO_WAIT)
		return;
	/* A CoAP ping is answered with an RST (RFC 7252 4.3): the server is there. */
	if (why == COAP_NACK_RST && c->st == CO_CONNECTING && mid == c->ping_mid) {
		go_up(c);
		return;
	}
	/* An RST or a failed handshake is the server's answer; the rest is not. */
	go_down(c, why == COAP_NACK_RST || why == COAP_NACK_TLS_FAILED, "%s",
	    coap_msg_nack(why));
}

static void
on_pong(coap_session_t *s, const coap_pdu_t *rcvd, const coap_mid_t mid)
{
	struct co *c = coap_get_app_data(coap_session_get_context(s));

	(void)rcvd;
	(void)mid;
	if (s == c->sess && !c->cfg->secure)
		go_up(c);
}

static int
on_event(coap_session_t *s, const coap_event_t ev)
{
	struct co *c = coap_get_app_data(coap_session_get_context(s));
	char why[192];

	if (s != c->sess)
		return 0;
	switch (ev) {
	case COAP_EVENT_DTLS_CONNECTED:
		go_up(c);
		break;
	case COAP_EVENT_DTLS_ERROR:
	case COAP_EVENT_DTLS_CLOSED:
		if (c->st == CO_WAIT)
			break;
		if (c->st == CO_UP) {
			go_down(c, 0, "DTLS session closed");
			break;
		}
		/* An ICMP error closes the handshake too: nobody listens there. */
		if (coap_msg_take_icmp(why, sizeof(why))) {
			go_down(c, 0, "%s", why);
			break;
		}
		coap_creds_why(c->cfg, &c->creds, COAP_CREDS_ALERT, 0, why,
		    sizeof(why));
		go_down(c, 1, "%s", why);
		break;
	default:
		break;
	}
	return 0;
}

static void
drop_session(struct co *c)
{
	if (c->sess != NULL) {
		coap_session_release(c->sess);
		c->sess = NULL;
	}
	coap_creds_free(&c->creds);
}

/*
 * The watchdog of an attempt: one exchange; shorter while other addresses
 * are left to try, so a silent one does not hold up the next for a minute
 * and a half (two retransmissions of the ping or the ClientHello fit).
 */
static int64_t
attempt_ms(const struct co *c)
{
	int64_t ms = exchange_ms(c);

	return dial_more(&c->dial) && ms > ATTEMPT_MORE_MS ? ATTEMPT_MORE_MS : ms;
}

/* dial_ops.attempt: a session to one address of the server. */
static int
co_attempt(void *arg, const struct addr *a, const char *addr)
{
	struct co *c = arg;
	coap_address_t dst;
	coap_fixed_point_t ack;
	char err[256];
	int rc;

	(void)addr;
	drop_session(c);
	coap_req_clear_all(&c->w);
	coap_msg_take_icmp(NULL, 0);
	c->st = CO_CONNECTING;
	c->fin_since = 0;
	/* Our own files, not the server: no other address does better. */
	if ((rc = coap_creds_load(c->cfg, c->host, &c->creds, err, sizeof(err))) < 0) {
		go_down(c, 1, "%s", err);
		return rc;
	}
	coap_address_init(&dst);
	dst.size = a->len;
	memcpy(&dst.addr, &a->ss, a->len);
	c->sess = coap_creds_session(c->ctx, &dst, c->cfg, &c->creds);
	if (c->sess == NULL) {
		go_down(c, 0, "cannot make a %s session (see libcoap's line)",
		    c->cfg->secure ? "DTLS" : "UDP");
		return -EIO;
	}
	ack.integer_part = (uint16_t)(c->cfg->ack_timeout_ms / 1000);
	ack.fractional_part = (uint16_t)(c->cfg->ack_timeout_ms % 1000);
	coap_session_set_ack_timeout(c->sess, ack);
	coap_session_set_max_retransmit(c->sess, (uint16_t)c->cfg->max_retransmit);
	coap_session_set_nstart(c->sess, REQ_MAX);
	/* Over UDP nothing answers until asked: a ping (empty CON) asks. */
	if (!c->cfg->secure &&
	    (c->ping_mid = coap_session_send_ping(c->sess)) == COAP_INVALID_MID) {
		go_down(c, 0, "cannot send a ping");
		return -EIO;
	}
	dial_deadline(&c->dial, attempt_ms(c));
	return 0;
}

/* dial_ops.timeout: connecting took too long; why it was silent, if known. */
static void
co_timeout(void *arg, char *why, size_t len)
{
	struct co *c = arg;

	/* A DTLS peer that cannot check our Finished (wrong PSK) stays silent. */
	if (c->fin_since != 0)
		coap_creds_why(c->cfg, &c->creds, COAP_CREDS_NO_FINISHED,
		    FINISHED_WAIT_MS, why, len);
	else if (c->cfg->secure && coap_req_of_kind(&c->w, REQ_PROBE) == NULL)
		coap_creds_why(c->cfg, &c->creds, COAP_CREDS_SILENT,
		    attempt_ms(c), why, len);
	else
		snprintf(why, len, "no answer%s within %lld ms",
		    coap_req_of_kind(&c->w, REQ_PROBE) != NULL ? " to the probe" : "",
		    (long long)attempt_ms(c));
	coap_req_clear_all(&c->w);
	c->st = CO_WAIT;
}

/* dial_ops.failed: the round is over; logged once per distinct reason. */
static void
co_failed(void *arg, const char *why)
{
	struct co *c = arg;

	co_warn(c, "%s:%u: %s; backing off", c->host, c->port, why);
}

static void
on_io(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct co *c = arg;

	(void)l;
	(void)events;
	if (fd == c->timer_fd)
		loop_timer_ack(fd);
	coap_io_process(c->ctx, COAP_IO_NO_WAIT);
	/*
	 * Our half of the handshake is done: the server's Finished follows at
	 * once or, if it could not check ours, never. Shorten the watchdog.
	 */
	if (c->st == CO_CONNECTING && c->cfg->secure && c->fin_since == 0 &&
	    coap_creds_awaiting_finished(c->sess)) {
		c->fin_since = clock_mono_ms();
		dial_deadline(&c->dial, FINISHED_WAIT_MS);
	}
}

/* Before each wait: libcoap's next retransmission or timeout on our timerfd. */
static void
prepare(struct loop *l, void *arg)
{
	struct co *c = arg;
	coap_tick_t now;
	unsigned ms;

	(void)l;
	coap_ticks(&now);
	ms = coap_io_prepare_epoll(c->ctx, now);
	if (ms > 0)
		loop_timer_arm(c->timer_fd, ms, "coap: retransmissions");
	else
		loop_timer_stop(c->timer_fd, "coap: retransmissions");
}

static int
co_start(struct uplink *u)
{
	struct dial_ops ops = { co_attempt, co_timeout, co_failed, NULL };
	struct co *c;
	int rc;

	/*
	 * libcoap with OpenSSL only for coaps:// (coap_lib.c); before u->priv,
	 * as co_stop calls into libcoap.
	 */
	if ((rc = coap_lib_load(((const struct coap_cfg *)u->cfg)->secure)) < 0)
		return rc;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	u->priv = c;
	c->u = u;
	c->cfg = u->cfg;
	c->coap_fd = c->timer_fd = -1;
	c->st = CO_WAIT;
	coap_startup();
	coap_set_log_handler(coap_msg_log);
	coap_set_log_level(LOG_WARNING);
	if ((rc = coap_addr_parse(c->cfg->uri, c->host, sizeof(c->host), &c->port,
	    c->base, sizeof(c->base))) < 0)
		return rc;
	if (c->cfg->secure && !coap_dtls_is_supported()) {
		log_warnx("coap: this libcoap has no DTLS: coaps:// cannot work");
		return -ENOTSUP;
	}
	if ((c->ctx = coap_new_context(NULL)) == NULL)
		return -ENOMEM;
	coap_set_app_data(c->ctx, c);
	/*
	 * libcoap sends Block1 and asks for Block2 blocks; not single-body: a
	 * Block2 answer comes block by block, bounded by us (coap_cmd.c).
	 */
	coap_context_set_block_mode(c->ctx, COAP_BLOCK_USE_LIBCOAP);
	if ((rc = coap_cmd_start(&c->cmd, u, &c->w, c->base)) < 0)
		return rc;
	coap_register_response_handler(c->ctx, on_response);
	coap_register_nack_handler(c->ctx, on_nack);
	coap_register_pong_handler(c->ctx, on_pong);
	coap_register_event_handler(c->ctx, on_event);
	c->coap_fd = coap_context_get_coap_fd(c->ctx);
	c->timer_fd = loop_timer_new(CLOCK_MONOTONIC);
	if (c->coap_fd < 0 || c->timer_fd < 0) {
		log_warnx("coap: libcoap has no epoll fd (built without epoll?)");
		return -EIO;
	}
	if ((rc = loop_add(u->loop, c->coap_fd, EPOLLIN, on_io, c)) < 0 ||
	    (rc = loop_add(u->loop, c->timer_fd, EPOLLIN, on_io, c)) < 0 ||
	    (rc = loop_prepare_add(u->loop, prepare, c)) < 0)
		return rc;
	ops.arg = c;
	if ((rc = dial_start(&c->dial, u->loop, u->resolver, c->host, c->port,
	    SOCK_DGRAM, &ops)) < 0)
		return rc;
	c->dialing = 1;
	return 0;
}

static enum uplink_result
co_send_batch(struct uplink *u, const uint8_t *buf, size_t len, uint64_t seq)
{
	struct co *c = u->priv;
	struct req *r;

	if (c->st != CO_UP || c->w.n_batches == CO_WINDOW ||
	    (r = coap_req_new(&c->w, REQ_BATCH)) == NULL)
		return UPLINK_RETRY;
	if ((r->data = malloc(len)) == NULL) {
		coap_req_clear(&c->w, r);
		return UPLINK_RETRY;
	}
	memcpy(r->data, buf, len);
	r->len = len;
	r->seq = seq;
	r->order = ++c->w.order;
	r->queued = 1;
	if (c->w.schemas_unacked > 0)
		return UPLINK_OK;	/* flush_queued sends it */
	if (send_batch_req(c, r) < 0) {
		coap_req_clear(&c->w, r);
		return UPLINK_RETRY;
	}
	return UPLINK_OK;
}

static enum uplink_result
send_json(struct co *c, enum req_kind kind, const char *sub, const char *json)
{
	struct req *r;

	if (c->st != CO_UP || (r = coap_req_new(&c->w, kind)) == NULL)
		return UPLINK_RETRY;
	r->len = strlen(json);
	if ((r->data = malloc(r->len + 1)) == NULL) {
		coap_req_clear(&c->w, r);
		return UPLINK_RETRY;
	}
	memcpy(r->data, json, r->len + 1);
	if (send_req(c, r, COAP_REQUEST_CODE_PUT, sub,
	    COAP_MEDIATYPE_APPLICATION_JSON) < 0) {
		coap_req_clear(&c->w, r);
		return UPLINK_RETRY;
	}
	return UPLINK_OK;
}

/*
 * Batches wait for their schema's 2.04 (held in the uplink, answered OK): the
 * receiver can only decode, and so only acknowledge, a batch whose schema it has.
 */
static enum uplink_result
co_send_schema(struct uplink *u, uint32_t id, const char *json)
{
	char sub[16];

	snprintf(sub, sizeof(sub), "s/%08x", id);
	return send_json(u->priv, REQ_SCHEMA, sub, json);
}

static enum uplink_result
co_send_metrics(struct uplink *u, const char *json)
{
	struct co *c = u->priv;

	if (coap_req_of_kind(&c->w, REQ_METRICS) != NULL)
		return UPLINK_RETRY;	/* the next counters follow soon */
	return send_json(c, REQ_METRICS, "metrics", json);
}

static enum uplink_result
co_send_result(struct uplink *u, const char *json, uint64_t r)
{
	struct co *c = u->priv;

	return c->st == CO_UP ? coap_cmd_result(&c->cmd, json, r) : UPLINK_RETRY;
}

static void
co_stop(struct uplink *u)
{
	struct co *c = u->priv;

	if (c == NULL)
		return;
	log_info("coap: this run: the link refused %llu time(s)%s, %llu single "
	    "request(s) refused", (unsigned long long)c->refused_link,
	    c->refusing ? " (still refused)" : "", (unsigned long long)c->refused);
	coap_req_clear_all(&c->w);
	coap_cmd_stop(&c->cmd);
	c->st = CO_WAIT;	/* the session's close at stop is no failure */
	if (c->dialing)
		dial_stop(&c->dial);
	drop_session(c);
	if (c->coap_fd >= 0)
		loop_del(u->loop, c->coap_fd);
	if (c->ctx != NULL)
		coap_free_context(c->ctx);
	if (c->timer_fd >= 0) {
		loop_del(u->loop, c->timer_fd);
		close(c->timer_fd);
	}
	coap_cleanup();
	free(c);
	u->priv = NULL;
}

const struct uplink_ops coap_uplink_ops = {
	.name = "coap",
	.names_gateway = 1,
	.cfg_size = sizeof(struct coap_cfg),
	.parse = coap_config_parse,
	.start = co_start,
	.send_batch = co_send_batch,
	.send_schema = co_send_schema,
	.send_result = co_send_result,
	.send_metrics = co_send_metrics,
	.stop = co_stop,
};
