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
 */
#include <errno.h>
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/uplink/backoff.h"
#include "firmware/uplink/mqtt_config.h"
#include "firmware/uplink/mqtt_tls.h"
#include "firmware/uplink/uplink.h"

#define MQTT_WINDOW	16	/* batches in flight (awaiting PUBACK) */

struct inflight {
	int mid;
	uint64_t seq;
};

struct mqtt {
	struct uplink *u;
	struct mosquitto *m;
	int fd;			/* registered socket, -1 if none */
	uint32_t fd_events;
	int connected;
	int reconnect_fd;	/* timerfd: backoff before the next attempt */
	int misc_fd;		/* timerfd: keepalive and retries (loop_misc) */
	struct backoff backoff;
	int stopping;
	int reconnect_armed;	/* the backoff timer runs: one attempt at a time */
	char topic_batch[160];
	char topic_status[160];
	struct inflight inflight[MQTT_WINDOW];
	int n_inflight;
	char last_err[800];	/* last failure logged, to log changes only */
	int reported;		/* this attempt's failure was logged (or deduped) */
	int64_t up_since;	/* CLOCK_MONOTONIC ms of the last CONNACK */
	int64_t start_boot_ms;	/* CLOCK_BOOTTIME ms at start: the "start" stamp */
	struct mqtt_tls_diag tls;
};

#define STATUS_WILL	"{\"status\":\"offline\",\"reason\":\"lost\"}"
#define STATUS_STOP	"{\"status\":\"offline\",\"reason\":\"stop\"}"

static void schedule_reconnect(struct mqtt *q);

static const struct mqtt_cfg *
cfg(const struct mqtt *q)
{
	return q->u->cfg;
}

/*
 * One line per distinct reason a connection could not be made: a broker that
 * refuses us every 60 s for a week must not fill the log, but a new reason
 * (the CA was fixed, now the client certificate is refused) is news.
 */
static void
connect_failed(struct mqtt *q, const char *kind, const char *why)
{
	const struct mqtt_cfg *c = q->u->cfg;
	char key[sizeof(q->last_err)];

	if (q->reported)
		return;
	q->reported = 1;
	snprintf(key, sizeof(key), "%s", kind != NULL ? kind : why);
	if (strcmp(key, q->last_err) == 0)
		return;
	memcpy(q->last_err, key, sizeof(key));
	log_warnx("mqtt: cannot connect to %s:%u%s: %s", c->host, c->port,
	    c->tls.enabled ? " (TLS)" : "", why);
}

/* The reason of a failed attempt: what TLS saw if it saw anything. */
static void
attempt_failed(struct mqtt *q, int rc)
{
	const char *why = rc == MOSQ_ERR_ERRNO ? strerror(errno) :
	    rc == 0 ? "closed by the broker" : mosquitto_strerror(rc);

	if (cfg(q)->tls.enabled) {
		mqtt_tls_closed(&q->tls, why);
		if (q->tls.cause[0] != '\0') {
			connect_failed(q, q->tls.kind, q->tls.cause);
			return;
		}
	}
	connect_failed(q, NULL, why);
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

/* The client is made anew for each connection: see the file comment. */
static void
drop_client(struct mqtt *q)
{
	unregister_fd(q);
	if (q->m != NULL) {
		mosquitto_destroy(q->m);
		q->m = NULL;
	}
	q->n_inflight = 0;
	if (q->connected) {
		q->connected = 0;
		q->u->ev.down(q->u->ev.arg);
	}
}

static void
on_connect(struct mosquitto *m, void *arg, int rc)
{
	struct mqtt *q = arg;
	char status[160], tls[96];

	if (rc != 0) {
		snprintf(status, sizeof(status), "refused: %s",
		    mosquitto_connack_string(rc));
		connect_failed(q, NULL, status);
		return;		/* on_disconnect follows */
	}
	mqtt_tls_session(m, tls, sizeof(tls));
	log_info("mqtt: connected to %s:%u%s%s", cfg(q)->host,
	    cfg(q)->port, tls[0] != '\0' ? " over " : "", tls);
	q->connected = 1;
	q->up_since = clock_mono_ms();
	q->last_err[0] = '\0';
	status_online(q, status, sizeof(status));
	mosquitto_publish(m, NULL, q->topic_status, (int)strlen(status), status, 1,
	    true);
	q->u->ev.up(q->u->ev.arg);
}

static void
on_disconnect(struct mosquitto *m, void *arg, int rc)
{
	struct mqtt *q = arg;

	(void)m;
	if (q->connected && !q->stopping)
		log_warnx("mqtt: connection to %s:%u lost (%s)", cfg(q)->host,
		    cfg(q)->port, rc == 0 ? "closed" : mosquitto_strerror(rc));
	else if (!q->stopping)
		attempt_failed(q, rc);
	/* Destroying the client inside its own callback is not allowed: defer. */
	if (!q->stopping)
		schedule_reconnect(q);
}

static void
on_publish(struct mosquitto *m, void *arg, int mid)
{
	struct mqtt *q = arg;
	int i;

	(void)m;
	for (i = 0; i < q->n_inflight; i++) {
		if (q->inflight[i].mid != mid)
			continue;
		uint64_t seq = q->inflight[i].seq;

		q->inflight[i] = q->inflight[--q->n_inflight];
		q->u->ev.acked(q->u->ev.arg, seq);
		return;
	}
}

static void
on_socket(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct mqtt *q = arg;
	int rc = MOSQ_ERR_SUCCESS;

	(void)l;
	(void)fd;
	if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
		rc = mosquitto_loop_read(q->m, 1);
	if (rc == MOSQ_ERR_SUCCESS && q->m != NULL && (events & EPOLLOUT))
		rc = mosquitto_loop_write(q->m, 1);
	/*
	 * A TLS connection refused or reset before its handshake is done leaves
	 * libmosquitto retrying the handshake's write and answering success, on
	 * a socket that is dead: without this, epoll would wake us for it
	 * forever and no new attempt would ever be made.
	 */
	if (rc == MOSQ_ERR_SUCCESS && !q->connected && q->fd >= 0 &&
	    (events & (EPOLLERR | EPOLLHUP))) {
		if (q->tls.cause[0] == '\0')
			connect_failed(q, NULL, "connection refused or reset");
		else
			attempt_failed(q, MOSQ_ERR_CONN_LOST);
		unregister_fd(q);
		schedule_reconnect(q);
		return;
	}
	if (rc != MOSQ_ERR_SUCCESS && q->fd >= 0) {
		if (q->connected)
			log_warnx("mqtt: %s", mosquitto_strerror(rc));
		else
			attempt_failed(q, rc);
		unregister_fd(q);
		schedule_reconnect(q);
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
	want = EPOLLIN | (mosquitto_want_write(q->m) ? EPOLLOUT : 0);
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
	if (q->m != NULL && q->fd >= 0 && mosquitto_loop_misc(q->m) != MOSQ_ERR_SUCCESS &&
	    q->fd >= 0)
		schedule_reconnect(q);
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

static int
attempt(struct mqtt *q)
{
	const struct mqtt_cfg *c = q->u->cfg;
	char err[768];
	int rc;

	q->reported = 0;
	q->tls.cause[0] = '\0';
	q->m = mosquitto_new(c->client_id, true, q);
	if (q->m == NULL)
		return -ENOMEM;
	mosquitto_int_option(q->m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_max_inflight_messages_set(q->m, MQTT_WINDOW + 4);
	mosquitto_will_set(q->m, q->topic_status, (int)strlen(STATUS_WILL),
	    STATUS_WILL, 1, true);
	mosquitto_connect_callback_set(q->m, on_connect);
	mosquitto_disconnect_callback_set(q->m, on_disconnect);
	mosquitto_publish_callback_set(q->m, on_publish);
	if (c->tls.enabled) {
		mosquitto_log_callback_set(q->m, on_log);
		if ((rc = mqtt_tls_setup(q->m, &c->tls, &q->tls, err, sizeof(err))) < 0) {
			connect_failed(q, NULL, err);
			return rc;
		}
	}
	rc = mosquitto_connect_async(q->m, c->host, (int)c->port, (int)c->keepalive_s);
	if (rc != MOSQ_ERR_SUCCESS) {
		attempt_failed(q, rc);
		return -ECONNREFUSED;
	}
	q->fd = mosquitto_socket(q->m);
	q->fd_events = EPOLLIN | EPOLLOUT;
	if (q->fd < 0 || loop_add(q->u->loop, q->fd, q->fd_events, on_socket, q) < 0) {
		q->fd = -1;
		return -EIO;
	}
	return 0;
}

static void
on_reconnect(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct mqtt *q = arg;

	(void)l;
	(void)events;
	loop_timer_ack(fd);
	q->reconnect_armed = 0;
	drop_client(q);
	if (attempt(q) < 0)
		schedule_reconnect(q);
}

/* The next attempt after the backoff (backoff.h). */
static void
schedule_reconnect(struct mqtt *q)
{
	int64_t delay;

	/*
	 * libmosquitto reports one failure twice (on_disconnect, then the
	 * loop_read error): the first one counts, or the backoff would
	 * quadruple per attempt.
	 */
	if (q->reconnect_armed) {
		unregister_fd(q);
		return;
	}
	delay = backoff_next(&q->backoff, q->connected ?
	    clock_mono_ms() - q->up_since : 0);
	if (q->connected) {
		q->connected = 0;
		q->n_inflight = 0;
		q->u->ev.down(q->u->ev.arg);
	}
	unregister_fd(q);
	q->reconnect_armed = 1;
	loop_timer_after(q->reconnect_fd, delay, 0);
}

static int
mqtt_start(struct uplink *u)
{
	const struct mqtt_cfg *c = u->cfg;
	struct clock_pair now;
	struct mqtt *q;
	int rc;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -ENOMEM;
	u->priv = q;
	q->u = u;
	q->fd = -1;
	backoff_init(&q->backoff);
	clock_read(&now);
	q->start_boot_ms = now.boot;
	snprintf(q->topic_batch, sizeof(q->topic_batch), "%s/%s/b", c->prefix,
	    u->site->gateway);
	snprintf(q->topic_status, sizeof(q->topic_status), "%s/%s/status",
	    c->prefix, u->site->gateway);
	mosquitto_lib_init();
	q->reconnect_fd = loop_timer_new(CLOCK_MONOTONIC);
	q->misc_fd = loop_timer_new(CLOCK_MONOTONIC);
	if (q->reconnect_fd < 0 || q->misc_fd < 0)
		return -EIO;
	if ((rc = loop_add(u->loop, q->reconnect_fd, EPOLLIN, on_reconnect, q)) < 0 ||
	    (rc = loop_add(u->loop, q->misc_fd, EPOLLIN, on_misc, q)) < 0 ||
	    (rc = loop_prepare_add(u->loop, prepare, q)) < 0 ||
	    (rc = loop_timer_after(q->misc_fd, 1000, 1000)) < 0)
		return rc;
	if (attempt(q) < 0)
		schedule_reconnect(q);
	return 0;
}

static enum uplink_result
mqtt_send_batch(struct uplink *u, const uint8_t *buf, size_t len, uint64_t seq)
{
	struct mqtt *q = u->priv;
	int mid, rc;

	if (!q->connected || q->n_inflight == MQTT_WINDOW)
		return UPLINK_RETRY;
	rc = mosquitto_publish(q->m, &mid, q->topic_batch, (int)len, buf, 1, false);
	if (rc == MOSQ_ERR_PAYLOAD_SIZE)
		return UPLINK_ERROR;
	if (rc != MOSQ_ERR_SUCCESS)
		return UPLINK_RETRY;
	q->inflight[q->n_inflight].mid = mid;
	q->inflight[q->n_inflight].seq = seq;
	q->n_inflight++;
	return UPLINK_OK;
}

static enum uplink_result
mqtt_send_metrics(struct uplink *u, const char *json)
{
	struct mqtt *q = u->priv;
	char topic[192];

	if (!q->connected)
		return UPLINK_RETRY;
	snprintf(topic, sizeof(topic), "%s/%s/metrics", cfg(q)->prefix,
	    u->site->gateway);
	return mosquitto_publish(q->m, NULL, topic, (int)strlen(json), json, 1, true) ==
	    MOSQ_ERR_SUCCESS ? UPLINK_OK : UPLINK_RETRY;
}

static enum uplink_result
mqtt_send_schema(struct uplink *u, uint32_t id, const char *json)
{
	struct mqtt *q = u->priv;
	char topic[192];

	if (!q->connected)
		return UPLINK_RETRY;
	snprintf(topic, sizeof(topic), "%s/%s/s/%08x", cfg(q)->prefix,
	    u->site->gateway, id);
	return mosquitto_publish(q->m, NULL, topic, (int)strlen(json), json, 1, true) ==
	    MOSQ_ERR_SUCCESS ? UPLINK_OK : UPLINK_RETRY;
}

/*
 * A clean stop says goodbye: "offline" on the status topic and a DISCONNECT, with
 * a short bounded wait so the bytes leave before the process does.
 */
static void
mqtt_stop(struct uplink *u)
{
	struct mqtt *q = u->priv;
	int i;

	if (q == NULL)
		return;
	q->stopping = 1;
	if (q->m != NULL && q->connected) {
		q->connected = 0;	/* the disconnect below is ours, not a loss */
		mosquitto_publish(q->m, NULL, q->topic_status, (int)strlen(STATUS_STOP),
		    STATUS_STOP, 1, true);
		mosquitto_disconnect(q->m);
		for (i = 0; i < 20 && mosquitto_want_write(q->m); i++)
			if (mosquitto_loop_write(q->m, 1) != MOSQ_ERR_SUCCESS)
				break;
	}
	q->connected = 0;
	unregister_fd(q);
	if (q->m != NULL)
		mosquitto_destroy(q->m);
	loop_del(u->loop, q->reconnect_fd);
	loop_del(u->loop, q->misc_fd);
	close(q->reconnect_fd);
	close(q->misc_fd);
	mosquitto_lib_cleanup();
	free(q);
	u->priv = NULL;
}

const struct uplink_ops mqtt_uplink_ops = {
	.name = "mqtt",
	.cfg_size = sizeof(struct mqtt_cfg),
	.parse = mqtt_config_parse,
	.start = mqtt_start,
	.send_batch = mqtt_send_batch,
	.send_schema = mqtt_send_schema,
	.send_metrics = mqtt_send_metrics,
	.stop = mqtt_stop,
};
