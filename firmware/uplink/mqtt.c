/*
 * MQTT uplink through libmosquitto, hosted in our event loop: the client's socket
 * is one more fd (mosquitto_socket), driven by mosquitto_loop_read/write/misc; no
 * thread of libmosquitto's own.
 *
 * Topics (docs/mqtt.md): <prefix>/<gw>/b batches (QoS 1), <prefix>/<gw>/s/<id>
 * schemas (QoS 1, retained), <prefix>/<gw>/metrics (JSON counters, QoS 1,
 * retained), <prefix>/<gw>/status online/offline JSON (QoS 1, retained; the
 * offline one is also the Last Will, so a gateway that dies or loses its link
 * is shown offline by the broker).
 *
 * With "mqtt": { "tls": ... } the link is mutual TLS (mqtt_tls.c). A failed
 * attempt, TLS or not, is logged once per distinct reason, not at every
 * retry: the line names the cause, the backoff goes on, the store keeps
 * everything.
 *
 * Resends come from the store, never from libmosquitto's own queue: on every
 * disconnect the client is destroyed and made anew, so nothing it held survives,
 * and the forwarder starts again from the oldest unacknowledged batch.
 *
 * Where and when to connect is the dial's (dial.h): the broker's name is
 * resolved off the loop and each of its addresses tried in turn, libmosquitto
 * gets a numeric address (so it never blocks on a name), and the backoff
 * starts only when a round is over. An address that refuses, resets or stays
 * silent (the attempt's deadlines below) is a transport failure: the next one
 * is tried at once. A broker that answers no (a TLS alert, a certificate it
 * does not take, a CONNACK refusal) ends the round: every address would
 * say the same.
 */
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/uplink/dial.h"
#include "firmware/uplink/mqtt_config.h"
#include "firmware/uplink/mqtt_internal.h"
#include "firmware/uplink/mqtt_tls.h"
#include "firmware/uplink/uplink.h"

/*
 * An attempt's deadlines: the TCP connection (a SYN to an address that drops
 * it would otherwise wait the kernel's ~2 min of retries), then TLS and the
 * CONNACK over a slow LTE link.
 */
#define MQTT_TCP_MS		5000
#define MQTT_HANDSHAKE_MS	15000
#define STOP_FLUSH_MS		1000	/* the goodbye's bytes, at most this */

/*
 * One line per distinct reason a round could not connect: a broker that
 * refuses us every 60 s for a week must not fill the log, but a new reason
 * (the CA was fixed, now the client certificate is refused) is news.
 */
static void
connect_failed(struct mqtt *q, const char *kind, const char *why)
{
	const struct mqtt_cfg *c = cfg(q);
	char key[sizeof(q->last_err)];

	snprintf(key, sizeof(key), "%s", kind != NULL ? kind : why);
	if (strcmp(key, q->last_err) == 0)
		return;
	memcpy(q->last_err, key, sizeof(key));
	log_warnx("mqtt: cannot connect to %s:%u%s: %s", c->host, c->port,
	    c->tls.enabled ? " (TLS)" : "", why);
}

/*
 * The retained "online" status: which firmware, since when this board and
 * this daemon run (Unix seconds, from the boot clock, so a wall clock set by
 * NTP after the start still gives the right instants; null while the wall
 * clock is not valid).
 */
static void
status_online(const struct mqtt *q, char *buf, size_t len)
{
	struct clock_pair now;
	char boot[24] = "null", start[24] = "null";

	clock_read(&now);
	if (clock_wall_valid(now.wall)) {
		snprintf(boot, sizeof(boot), "%lld", (long long)((now.wall - now.boot) /
		    1000));
		snprintf(start, sizeof(start), "%lld", (long long)((now.wall -
		    now.boot + q->start_boot_ms) / 1000));
	}
	snprintf(buf, len, "{\"status\":\"online\",\"version\":\"%s\",\"boot\":%s,"
	    "\"start\":%s}", WG_VERSION, boot, start);
}

static void
unregister_fd(struct mqtt *q)
{
	if (q->fd >= 0) {
		loop_del(q->u->loop, q->fd);
		q->fd = -1;
	}
}

/*
 * The client is made anew for each attempt: see the file comment. Never from
 * inside one of its own callbacks: the dial calls ops.attempt from the loop.
 */
static void
drop_client(struct mqtt *q)
{
	unregister_fd(q);
	if (q->m != NULL) {
		mosquitto_destroy(q->m);
		q->m = NULL;
	}
	q->n_inflight = 0;
	mqtt_results_void(q);
}

/* The link was up and is lost: the forwarder resends, the dial backs off. */
static void
link_lost(struct mqtt *q)
{
	if (!q->connected)
		return;
	q->connected = 0;
	q->n_inflight = 0;
	mqtt_results_void(q);
	unregister_fd(q);
	q->u->ev.down(q->u->ev.arg);
	dial_down(&q->dial);
}

/*
 * This attempt is over without a link. answered: the broker said no (the
 * round ends); else the address did not answer (the next one is tried).
 */
static void
attempt_over(struct mqtt *q, int answered, const char *why)
{
	if (q->ended || q->connected)
		return;
	q->ended = 1;
	unregister_fd(q);
	if (answered) {
		q->fail_kind = q->tls.kind;
		dial_refused(&q->dial, why);
	} else {
		dial_failed(&q->dial, why);
	}
}

/* A failed attempt: what TLS saw, if it saw anything, is the broker's answer. */
static void
attempt_failed(struct mqtt *q, const char *why)
{
	if (cfg(q)->tls.enabled) {
		mqtt_tls_closed(&q->tls, why);
		if (q->tls.cause[0] != '\0') {
			attempt_over(q, 1, q->tls.cause);
			return;
		}
	}
	attempt_over(q, 0, why);
}

static const char *
mosq_why(int rc)
{
	return rc == MOSQ_ERR_ERRNO ? strerror(errno) :
	    rc == 0 ? "closed by the broker" : mosquitto_strerror(rc);
}

/*
 * A broker that speaks only 3.1.1 answers a version 5 CONNECT with 3.1.1's
 * "unacceptable protocol version" (1), a version 5 one with 132: then this
 * run speaks 3.1.1 to it, and the same address is asked again at once.
 */
static int
version_refused(struct mqtt *q, int rc)
{
	if (q->v311 || (rc != CONNACK_REFUSED_PROTOCOL_VERSION &&
	    rc != MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION))
		return 0;
	log_info("mqtt: %s:%u does not take MQTT 5: 3.1.1 from now on",
	    cfg(q)->host, cfg(q)->port);
	q->v311 = 1;
	if (!q->ended) {
		q->ended = 1;
		unregister_fd(q);
		dial_again(&q->dial);
	}
	return 1;
}

static void
on_connect(struct mosquitto *m, void *arg, int rc, int flags,
    const mosquitto_property *props)
{
	struct mqtt *q = arg;
	char status[160], tls[96], at[ADDRS_STR_MAX + 8] = "";
	uint16_t aliases = 0;

	(void)flags;
	if (rc != 0) {
		if (version_refused(q, rc))
			return;
		snprintf(status, sizeof(status), "refused: %s", q->v311 ?
		    mosquitto_connack_string(rc) : mosquitto_reason_string(rc));
		attempt_over(q, 1, status);
		return;		/* on_disconnect follows */
	}
	if (!q->v311)
		mosquitto_property_read_int16(props, MQTT_PROP_TOPIC_ALIAS_MAXIMUM,
		    &aliases, false);
	q->alias_ok = aliases >= 1;
	q->alias_sent = 0;
	mqtt_tls_session(m, tls, sizeof(tls));
	if (strcmp(dial_addr(&q->dial), cfg(q)->host) != 0)
		snprintf(at, sizeof(at), " (%s)", dial_addr(&q->dial));
	log_info("mqtt: connected to %s:%u%s%s%s", cfg(q)->host, cfg(q)->port, at,
	    tls[0] != '\0' ? " over " : "", tls);
	q->connected = 1;
	q->last_err[0] = '\0';
	dial_up(&q->dial);
	status_online(q, status, sizeof(status));
	mosquitto_publish(m, NULL, q->topic_status, (int)strlen(status), status, 1,
	    true);
	mqtt_commands_subscribe(q);
	q->u->ev.up(q->u->ev.arg);
}

static void
on_disconnect(struct mosquitto *m, void *arg, int rc)
{
	struct mqtt *q = arg;

	(void)m;
	if (q->stopping)
		return;
	if (q->connected) {
		log_warnx("mqtt: connection to %s:%u lost (%s)", cfg(q)->host,
		    cfg(q)->port, rc == 0 ? "closed" : mosquitto_strerror(rc));
		link_lost(q);
	} else {
		attempt_failed(q, mosq_why(rc));
	}
}

/* The socket's pending error (a refused or unreachable connect), or 0. */
static int
socket_error(int fd)
{
	socklen_t len = sizeof(int);
	int err = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return errno;
	return err;
}

static void
on_socket(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct mqtt *q = arg;
	int rc = MOSQ_ERR_SUCCESS, err;

	(void)l;
	/*
	 * Writable the first time: the TCP connection is made, or it failed;
	 * refused or reset before a handshake, the address did not answer.
	 */
	if (!q->connected && !q->tcp_up && (events & (EPOLLOUT | EPOLLERR |
	    EPOLLHUP))) {
		if ((err = socket_error(fd)) != 0 || (events & (EPOLLERR | EPOLLHUP))) {
			attempt_over(q, 0, err != 0 ? strerror(err) :
			    "connection refused or reset");
			return;
		}
		q->tcp_up = 1;
		dial_deadline(&q->dial, MQTT_HANDSHAKE_MS);
	}
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		rc = mosquitto_loop_read(q->m, 1);
	if (rc == MOSQ_ERR_SUCCESS && q->m != NULL && q->fd >= 0 &&
	    (events & EPOLLOUT))
		rc = mosquitto_loop_write(q->m, 1);
	if (q->fd < 0)
		return;		/* a callback ended this attempt or the link */
	/*
	 * A TLS connection refused or reset before its handshake is done leaves
	 * libmosquitto retrying the handshake's write and answering success, on
	 * a socket that is dead: without this, epoll would wake us for it
	 * forever and no new attempt would ever be made.
	 */
	if (rc == MOSQ_ERR_SUCCESS && !q->connected &&
	    (events & (EPOLLERR | EPOLLHUP))) {
		attempt_failed(q, "connection refused or reset");
		return;
	}
	if (rc != MOSQ_ERR_SUCCESS) {
		if (q->connected) {
			log_warnx("mqtt: %s", mosquitto_strerror(rc));
			link_lost(q);
		} else {
			attempt_failed(q, mosq_why(rc));
		}
	}
}

/* Before each wait: ask for EPOLLOUT only while libmosquitto has bytes to send. */
static void
prepare(struct loop *l, void *arg)
{
	struct mqtt *q = arg;
	uint32_t want;

	if (q->m == NULL || q->fd < 0)
		return;
	/* Until the TCP connection is made, its writability is the news. */
	want = EPOLLIN | (!q->tcp_up || mosquitto_want_write(q->m) ? EPOLLOUT : 0);
	if (want != q->fd_events && loop_mod(l, q->fd, want) == 0)
		q->fd_events = want;
}

static void
on_misc(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct mqtt *q = arg;

	(void)l;
	(void)events;
	loop_timer_ack(fd);
	/* libmosquitto reports a keepalive timeout through on_disconnect itself;
	 * this catches any error it returns without doing so. */
	if (q->m == NULL || q->fd < 0 || !q->tcp_up ||
	    mosquitto_loop_misc(q->m) == MOSQ_ERR_SUCCESS || q->fd < 0)
		return;
	if (q->connected)
		link_lost(q);
	else
		attempt_failed(q, "the connection failed");
}

/* libmosquitto's own log: only its OpenSSL errors matter, as a TLS cause. */
static void
on_log(struct mosquitto *m, void *arg, int level, const char *line)
{
	struct mqtt *q = arg;

	(void)m;
	if (level & MOSQ_LOG_ERR)
		mqtt_tls_note(&q->tls, line);
}

/* dial_ops.attempt: a new client, connecting to one numeric address. */
static int
attempt(void *arg, const struct addr *a, const char *addr)
{
	struct mqtt *q = arg;
	const struct mqtt_cfg *c = cfg(q);
	char err[768];
	int rc;

	(void)a;
	drop_client(q);
	q->tcp_up = 0;
	q->ended = 0;
	q->tls.cause[0] = '\0';
	q->tls.kind = NULL;
	/* The control plane's commands wait at the broker while we are away:
	 * a persistent session (mqtt_pub.c). */
	if ((q->m = mosquitto_new(c->client_id, !q->u->site->commands, q)) == NULL) {
		attempt_over(q, 1, "out of memory for a client");
		return -ENOMEM;
	}
	mosquitto_int_option(q->m, MOSQ_OPT_PROTOCOL_VERSION, q->v311 ?
	    MQTT_PROTOCOL_V311 : MQTT_PROTOCOL_V5);
	if (q->u->site->commands)
		(void)mqtt_session_setup(q);
	mosquitto_message_callback_set(q->m, mqtt_on_message);
	mosquitto_subscribe_callback_set(q->m, mqtt_on_subscribe);
	mosquitto_max_inflight_messages_set(q->m, MQTT_WINDOW + 4);
	mosquitto_will_set(q->m, q->topic_status, (int)strlen(STATUS_WILL),
	    STATUS_WILL, 1, true);
	mosquitto_connect_v5_callback_set(q->m, on_connect);
	mosquitto_disconnect_callback_set(q->m, on_disconnect);
	mosquitto_publish_callback_set(q->m, mqtt_on_publish);
	if (c->tls.enabled) {
		mosquitto_log_callback_set(q->m, on_log);
		if ((rc = mqtt_tls_setup(q->m, &c->tls, &q->tls, err,
		    sizeof(err))) < 0) {
			/* Our own files, not the broker: no address does better. */
			attempt_over(q, 1, err);
			return rc;
		}
	}
	/* A numeric address: libmosquitto's getaddrinfo does not block on it. */
	rc = mosquitto_connect_async(q->m, addr, (int)c->port, (int)c->keepalive_s);
	if (rc != MOSQ_ERR_SUCCESS) {
		attempt_failed(q, mosq_why(rc));
		return -ECONNREFUSED;
	}
	q->fd = mosquitto_socket(q->m);
	q->fd_events = EPOLLIN | EPOLLOUT;
	if (q->fd < 0 || loop_add(q->u->loop, q->fd, q->fd_events, on_socket, q) < 0) {
		q->fd = -1;
		attempt_over(q, 0, "cannot watch the socket");
		return -EIO;
	}
	dial_deadline(&q->dial, MQTT_TCP_MS);
	return 0;
}

/* dial_ops.timeout: this address stayed silent. */
static void
attempt_timeout(void *arg, char *why, size_t len)
{
	struct mqtt *q = arg;

	q->ended = 1;
	unregister_fd(q);
	snprintf(why, len, "no %s within %d ms", q->tcp_up ? "CONNACK" :
	    "TCP connection", q->tcp_up ? MQTT_HANDSHAKE_MS : MQTT_TCP_MS);
}

/* dial_ops.failed: the round is over; the reason is logged once. */
static void
round_failed(void *arg, const char *why)
{
	struct mqtt *q = arg;

	connect_failed(q, q->fail_kind, why);
	q->fail_kind = NULL;
}

static int
mqtt_start(struct uplink *u)
{
	const struct mqtt_cfg *c = u->cfg;
	const struct dial_ops ops = { attempt, attempt_timeout, round_failed, NULL };
	struct dial_ops o = ops;
	struct clock_pair now;
	struct mqtt *q;
	int rc;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -ENOMEM;
	u->priv = q;
	q->u = u;
	q->fd = -1;
	q->misc_fd = -1;
	clock_read(&now);
	q->start_boot_ms = now.boot;
	snprintf(q->topic_batch, sizeof(q->topic_batch), "%s/%s/b", c->prefix,
	    u->site->gateway);
	snprintf(q->topic_status, sizeof(q->topic_status), "%s/%s/status",
	    c->prefix, u->site->gateway);
	snprintf(q->topic_cmd, sizeof(q->topic_cmd), "%s/%s/c", c->prefix,
	    u->site->gateway);
	snprintf(q->topic_result, sizeof(q->topic_result), "%s/%s/r", c->prefix,
	    u->site->gateway);
	mosquitto_lib_init();
	if ((q->misc_fd = loop_timer_new(CLOCK_MONOTONIC)) < 0)
		return q->misc_fd;
	if ((rc = loop_add(u->loop, q->misc_fd, EPOLLIN, on_misc, q)) < 0 ||
	    (rc = loop_prepare_add(u->loop, prepare, q)) < 0 ||
	    (rc = loop_timer_after(q->misc_fd, 1000, 1000)) < 0)
		return rc;
	o.arg = q;
	if ((rc = dial_start(&q->dial, u->loop, u->resolver, c->host, c->port,
	    SOCK_STREAM, &o)) < 0)
		return rc;
	q->dialing = 1;
	return 0;
}

/*
 * The goodbye leaves before the client is destroyed: written as the socket
 * takes it, for at most STOP_FLUSH_MS (the loop is over: waiting here holds
 * up nothing but the stop). Writing without waiting, as before, gave up
 * after 20 tries in a row on a busy machine, and a TLS record cut short made
 * the broker drop the connection and publish the Will ("lost") instead of
 * the "stop" just sent.
 */
static void
flush_goodbye(struct mqtt *q)
{
	int64_t until = clock_mono_ms() + STOP_FLUSH_MS, left;
	struct pollfd pfd;
	int fd;

	while (q->m != NULL && mosquitto_want_write(q->m) &&
	    (fd = mosquitto_socket(q->m)) >= 0 &&
	    (left = until - clock_mono_ms()) > 0) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, (int)left) <= 0)
			break;
		if (mosquitto_loop_write(q->m, 1) != MOSQ_ERR_SUCCESS)
			break;
	}
}

/*
 * The goodbye's PUBACK, for at most STOP_FLUSH_MS. A DISCONNECT sent right
 * behind a QoS 1 PUBLISH, and the socket closed, races the broker's PUBACK:
 * mosquitto (2.0.11) failed to write it, dropped the client as if lost
 * ("disconnected due to out of memory", mosquitto#3253) and published the
 * Will over the "stop" (seen once in mqtt_status).
 */
static void
await_bye(struct mqtt *q)
{
	int64_t until = clock_mono_ms() + STOP_FLUSH_MS, left;
	struct pollfd pfd;

	while (q->m != NULL && !q->bye_acked &&
	    (pfd.fd = mosquitto_socket(q->m)) >= 0 &&
	    (left = until - clock_mono_ms()) > 0) {
		pfd.events = POLLIN | (mosquitto_want_write(q->m) ? POLLOUT : 0);
		if (poll(&pfd, 1, (int)left) <= 0)
			break;
		if (((pfd.revents & POLLOUT) &&
		    mosquitto_loop_write(q->m, 1) != MOSQ_ERR_SUCCESS) ||
		    ((pfd.revents & (POLLIN | POLLHUP | POLLERR)) &&
		    mosquitto_loop_read(q->m, 1) != MOSQ_ERR_SUCCESS))
			break;
	}
}

/*
 * A clean stop says goodbye: "offline" on the status topic, acknowledged,
 * and a DISCONNECT, with short bounded waits so the bytes leave before the
 * process does.
 */
static void
mqtt_stop(struct uplink *u)
{
	struct mqtt *q = u->priv;

	if (q == NULL)
		return;
	q->stopping = 1;
	if (q->m != NULL && q->connected) {
		q->connected = 0;	/* the disconnect below is ours, not a loss */
		q->bye_mid = -1;
		if (mosquitto_publish(q->m, &q->bye_mid, q->topic_status,
		    (int)strlen(STATUS_STOP), STATUS_STOP, 1, true) ==
		    MOSQ_ERR_SUCCESS)
			await_bye(q);
		mosquitto_disconnect(q->m);
		flush_goodbye(q);
	}
	q->connected = 0;
	if (q->dialing)
		dial_stop(&q->dial);
	drop_client(q);
	if (q->misc_fd >= 0) {
		loop_del(u->loop, q->misc_fd);
		close(q->misc_fd);
	}
	mosquitto_lib_cleanup();
	free(q);
	u->priv = NULL;
}

const struct uplink_ops mqtt_uplink_ops = {
	.name = "mqtt",
	.names_gateway = 1,
	.cfg_size = sizeof(struct mqtt_cfg),
	.parse = mqtt_config_parse,
	.start = mqtt_start,
	.send_batch = mqtt_send_batch,
	.send_schema = mqtt_send_schema,
	.send_metrics = mqtt_send_metrics,
	.send_result = mqtt_send_result,
	.stop = mqtt_stop,
};
