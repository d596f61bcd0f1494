/*
 * wattgate-recv's MQTT side: subscribes to the batches, schemas and status of
 * every gateway under a prefix, and runs the tool's one poll() loop, over the
 * MQTT client's socket and the CoAP server's fd, so one process takes both
 * uplinks. Topics: <prefix>/<gw>/b (batches), <prefix>/<gw>/s/<id> (schemas,
 * retained), <prefix>/<gw>/status (retained online/offline JSON; shown with
 * --verbose). Documented in docs/receiver.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <poll.h>

#include "firmware/base/clock.h"
#include "tools/recv/coap_server.h"
#include "tools/recv/recv.h"

static void
on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	/*
	 * No check of stop here: libmosquitto has acknowledged this message
	 * already, so dropping it now would lose it from a persistent session.
	 */
	(void)m;
	recv_topic(arg, msg->topic, msg->payload,
	    msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0);
}

/*
 * A batch matched none of gw's schemas: subscribe to its schema topic once
 * more, so that the broker sends the retained schemas again (one that came
 * before the receiver knew the gateway, or was lost to a full table), then
 * unsubscribe: the broker has queued them by then, and the wildcard
 * subscription brings new ones.
 */
static void
ask_schemas(struct recv *rv, const char *gw)
{
	char t[160];
	int rc;

	if (!rv->link_up)
		return;
	snprintf(t, sizeof(t), "%s/%s/s/+", rv->prefix, gw);
	rc = mosquitto_subscribe(rv->mosq, NULL, t, 1);
	if (rc == MOSQ_ERR_SUCCESS)
		rc = mosquitto_unsubscribe(rv->mosq, NULL, t);
	if (rc != MOSQ_ERR_SUCCESS)
		recv_warnx("%s: asking for its schemas: %s", gw,
		    mosquitto_strerror(rc));
	else if (rv->verbose)
		recv_warnx("%s: asked for its schemas again", gw);
}

static void
on_connect(struct mosquitto *m, void *arg, int rc)
{
	struct recv *rv = arg;
	char b[128], s[128], r[128], st[128];
	char *subs[] = { b, s, r, st };

	if (rc != 0) {
		/* The broker closes the connection next: link_down() stays
		 * quiet about that, this says why. */
		snprintf(b, sizeof(b), "refused: %s", mosquitto_connack_string(rc));
		if (strcmp(b, rv->last_error) != 0)
			recv_warnx("%s:%d: %s, retrying", rv->host, rv->port, b);
		snprintf(rv->last_error, sizeof(rv->last_error), "%s", b);
		rv->refused = 1;
		return;
	}
	if (rv->last_error[0] != '\0' || rv->verbose)
		recv_warnx("%s:%d: connected", rv->host, rv->port);
	rv->last_error[0] = '\0';
	rv->link_up = 1;
	snprintf(b, sizeof(b), "%s/+/b", rv->prefix);
	snprintf(s, sizeof(s), "%s/+/s/+", rv->prefix);
	snprintf(r, sizeof(r), "%s/+/r", rv->prefix);
	snprintf(st, sizeof(st), "%s/+/status", rv->prefix);
	rc = mosquitto_subscribe_multiple(m, NULL, rv->verbose ? 4 : 3, subs, 1,
	    0, NULL);
	if (rc != MOSQ_ERR_SUCCESS)
		recv_warnx("subscribe: %s", mosquitto_strerror(rc));
}

static void
on_subscribe(struct mosquitto *m, void *arg, int mid, int n, const int *qos)
{
	struct recv *rv = arg;
	int i;

	(void)m;
	(void)mid;
	for (i = 0; i < n; i++) {
		if (qos[i] < 0 || qos[i] > 2) {
			recv_warnx("subscription refused by the broker");
			rv->exit_code = 1;
			recv_stop = 1;
			return;
		}
	}
	if (!rv->subscribed)
		recv_warnx("subscribed");
	rv->subscribed = 1;
}

int
recv_mqtt_new(struct recv *rv)
{
	/* A named client keeps its session: batches queue while it is away. */
	if ((rv->mosq = mosquitto_new(rv->id, rv->id == NULL, rv)) == NULL) {
		recv_warnx("mosquitto_new: %s", strerror(errno));
		return -1;
	}
	mosquitto_connect_callback_set(rv->mosq, on_connect);
	mosquitto_subscribe_callback_set(rv->mosq, on_subscribe);
	mosquitto_message_callback_set(rv->mosq, on_message);
	rv->ask_schemas = ask_schemas;
	return 0;
}

/*
 * Log a connection failure once per change of what went wrong: a broker down for
 * an hour is one line ("connection lost", then "Connection refused"), not 300.
 */
static void
link_down(struct recv *rv, int rc)
{
	const char *why;

	if (rc == MOSQ_ERR_ERRNO)
		why = strerror(errno);
	else if (rc == MOSQ_ERR_CONN_LOST)
		why = "connection lost";
	else
		why = mosquitto_strerror(rc);

	rv->link_up = 0;
	if (rv->refused) {
		rv->refused = 0;
		return;
	}
	if (strcmp(why, rv->last_error) == 0)
		return;
	recv_warnx("%s:%d: %s, retrying", rv->host, rv->port, why);
	snprintf(rv->last_error, sizeof(rv->last_error), "%s", why);
}

/*
 * The tool's own loop (not the daemon's event loop): one poll() over the MQTT
 * client's socket and the CoAP server's fd, so one process takes both uplinks.
 * MQTT connects and reconnects with backoff forever; a signal or --count ends it.
 */
int
recv_mqtt_run(struct recv *rv)
{
	int rc = MOSQ_ERR_NO_CONN, delay = 1, n, mfd, ms;
	int64_t retry_at = 0;
	struct pollfd pf[2];

	if (rv->mqtt) {
		rc = mosquitto_connect(rv->mosq, rv->host, rv->port, RECV_KEEPALIVE);
		if (rc == MOSQ_ERR_INVAL) {
			recv_warnx("%s:%d: invalid broker address", rv->host, rv->port);
			return 1;
		}
	}
	while (!recv_stop) {
		n = 0;
		mfd = -1;
		ms = 500;
		if (rv->mqtt && rc == MOSQ_ERR_SUCCESS &&
		    (mfd = mosquitto_socket(rv->mosq)) >= 0) {
			pf[n].fd = mfd;
			pf[n].events = POLLIN |
			    (mosquitto_want_write(rv->mosq) ? POLLOUT : 0);
			pf[n++].revents = 0;
		}
		if (rv->coap != NULL) {
			pf[n].fd = coap_srv_fd(rv->coap);
			pf[n].events = POLLIN;
			pf[n++].revents = 0;
			ms = coap_srv_timeout(rv->coap, ms);
		}
		if (poll(pf, (nfds_t)n, ms) < 0 && errno != EINTR) {
			recv_warnx("poll: %s", strerror(errno));
			return 1;
		}
		if (rv->coap != NULL)
			coap_srv_process(rv->coap);
		recv_tick(rv, clock_mono_ms());
		if (!rv->mqtt || recv_stop)
			continue;
		if (rc == MOSQ_ERR_SUCCESS && mfd >= 0) {
			if (pf[0].revents & (POLLIN | POLLERR | POLLHUP))
				rc = mosquitto_loop_read(rv->mosq, 1);
			if (rc == MOSQ_ERR_SUCCESS && (pf[0].revents & POLLOUT))
				rc = mosquitto_loop_write(rv->mosq, 1);
			if (rc == MOSQ_ERR_SUCCESS)
				rc = mosquitto_loop_misc(rv->mosq);
			if (rc == MOSQ_ERR_SUCCESS) {
				if (rv->link_up)
					delay = 1;
				continue;
			}
		} else if (rc == MOSQ_ERR_SUCCESS) {
			rc = MOSQ_ERR_NO_CONN;
		}
		/* Down: say why once, then reconnect after the backoff, polling on. */
		if (retry_at == 0) {
			link_down(rv, rc);
			retry_at = clock_mono_ms() + delay * 1000;
			if (delay < RECV_DELAY_MAX)
				delay *= 2;
		}
		if (clock_mono_ms() >= retry_at) {
			retry_at = 0;
			rc = mosquitto_reconnect(rv->mosq);
		}
	}
	if (rv->mqtt && rv->link_up)
		mosquitto_disconnect(rv->mosq);
	return rv->exit_code;
}
