/*
 * What the MQTT uplink publishes and receives, apart from the link itself
 * (mqtt.c): batches (with their topic alias), schemas and metrics
 * (retained), every PUBACK; and the control plane (docs/commands.md):
 * commands arrive on <prefix>/<gw>/c (QoS 1, in a persistent session),
 * result records leave on <prefix>/<gw>/r (QoS 1), each reported
 * acknowledged at its PUBACK.
 */
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdio.h>
#include <string.h>

#include "firmware/base/log.h"
#include "firmware/uplink/mqtt_internal.h"

/* How long the broker keeps our session (and the commands sent to it) after
 * the link is gone: a week of outage. */
#define SESSION_EXPIRY_S	(7 * 86400)
/* Largest packet we take: a command frame (16449 bytes) and room to spare. */
#define MAX_PACKET		32768

/*
 * MQTT 5 ends a session with its connection unless the CONNECT says how long
 * to keep it (Session Expiry Interval, default 0): clean start off alone is
 * not enough (measured: commands published while away were lost). But
 * libmosquitto 2.0 takes CONNECT properties only through the blocking
 * mosquitto_connect_bind_v5(). That function stores the properties in the
 * client before it checks its arguments, and mosquitto_connect_async()
 * sends what is stored; so the properties go in through a call that is
 * refused at the argument check (keepalive 1 < 5) and connects nowhere.
 * Anything but that refusal means the library changed: we say so and go on
 * without a persistent session rather than risk a blocking connect (a test,
 * mqtt_commands' offline case, fails then).
 */
int
mqtt_session_setup(struct mqtt *q)
{
	mosquitto_property *props = NULL;
	int rc;

	if (q->v311)
		return 0;	/* 3.1.1: clean session off keeps it (broker's limit) */
	/* And what the broker may send us: a command frame and its topic, not
	 * the 256 MB libmosquitto would take from a hostile broker. */
	if (mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
	    SESSION_EXPIRY_S) != MOSQ_ERR_SUCCESS ||
	    mosquitto_property_add_int32(&props, MQTT_PROP_MAXIMUM_PACKET_SIZE,
	    MAX_PACKET) != MOSQ_ERR_SUCCESS) {
		mosquitto_property_free_all(&props);
		return -ENOMEM;
	}
	rc = mosquitto_connect_bind_v5(q->m, "0.0.0.0", 1, 1, NULL, props);
	mosquitto_property_free_all(&props);
	if (rc != MOSQ_ERR_INVAL) {
		log_warnx("mqtt: this libmosquitto took the session properties"
		    " differently (%s): commands sent while offline may be lost",
		    mosquitto_strerror(rc));
		return -ENOTSUP;
	}
	return 0;
}

void
mqtt_commands_subscribe(struct mqtt *q)
{
	int rc;

	if (!q->u->site->commands)
		return;
	if ((rc = mosquitto_subscribe(q->m, NULL, q->topic_cmd, 1)) !=
	    MOSQ_ERR_SUCCESS)
		log_warnx("mqtt: cannot subscribe to %s: %s", q->topic_cmd,
		    mosquitto_strerror(rc));
}

/*
 * The broker's answer to that subscription: only from now on does a
 * command published for this gateway reach it (on a first connection the
 * persistent session has no subscription yet), and a broker whose ACL
 * refuses the topic answers 0x80: the gateway would never hear the fleet.
 */
void
mqtt_on_subscribe(struct mosquitto *m, void *arg, int mid, int n,
    const int *granted)
{
	struct mqtt *q = arg;

	(void)m;
	(void)mid;
	if (n >= 1 && granted != NULL && granted[0] >= 0 && granted[0] <= 2)
		log_info("mqtt: subscribed to %s (commands)", q->topic_cmd);
	else
		log_warnx("mqtt: the broker refused the subscription to %s "
		    "(granted %d): no command from the fleet can reach this "
		    "gateway (the broker's ACL?)", q->topic_cmd,
		    n >= 1 && granted != NULL ? granted[0] : -1);
}

int
mqtt_result_acked(struct mqtt *q, int mid)
{
	int i;

	for (i = 0; i < q->n_results; i++) {
		if (q->results[i].mid != mid)
			continue;
		uint64_t r = q->results[i].seq;

		q->results[i] = q->results[--q->n_results];
		if (q->u->ev.result_acked != NULL)
			q->u->ev.result_acked(q->u->ev.arg, r);
		return 1;
	}
	return 0;
}

void
mqtt_results_void(struct mqtt *q)
{
	q->n_results = 0;
}

enum uplink_result
mqtt_send_result(struct uplink *u, const char *json, uint64_t r)
{
	struct mqtt *q = u->priv;
	int mid, rc;

	if (!q->connected || q->n_results == MQTT_RESULTS)
		return UPLINK_RETRY;
	rc = mosquitto_publish(q->m, &mid, q->topic_result, (int)strlen(json), json,
	    1, false);
	if (rc == MOSQ_ERR_PAYLOAD_SIZE)
		return UPLINK_ERROR;
	if (rc != MOSQ_ERR_SUCCESS)
		return UPLINK_RETRY;
	q->results[q->n_results].mid = mid;
	q->results[q->n_results].seq = r;
	q->n_results++;
	return UPLINK_OK;
}

enum uplink_result
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

enum uplink_result
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
 * Over MQTT 5 with aliases the batch topic ("wg/gw-0001/b") is paid once per
 * connection: the first PUBLISH carries it with alias 1, every later one the
 * alias alone (4 bytes of properties for 14 of topic: 8 bytes, ~0.4 B a
 * reading of a 21-point meter). Subscribers get the full topic from the
 * broker. The client is made anew on every connection, and so is the alias.
 */
static int
publish_batch(struct mqtt *q, int *mid, const uint8_t *buf, size_t len)
{
	mosquitto_property *props = NULL;
	int rc;

	if (!q->alias_ok)
		return mosquitto_publish(q->m, mid, q->topic_batch, (int)len, buf, 1,
		    false);
	if (mosquitto_property_add_int16(&props, MQTT_PROP_TOPIC_ALIAS, 1) !=
	    MOSQ_ERR_SUCCESS)
		return MOSQ_ERR_NOMEM;
	rc = mosquitto_publish_v5(q->m, mid, q->alias_sent ? NULL : q->topic_batch,
	    (int)len, buf, 1, false, props);
	mosquitto_property_free_all(&props);
	if (rc == MOSQ_ERR_SUCCESS)
		q->alias_sent = 1;
	return rc;
}

enum uplink_result
mqtt_send_batch(struct uplink *u, const uint8_t *buf, size_t len, uint64_t seq)
{
	struct mqtt *q = u->priv;
	int mid, rc;

	if (!q->connected || q->n_inflight == MQTT_WINDOW)
		return UPLINK_RETRY;
	rc = publish_batch(q, &mid, buf, len);
	if (rc == MOSQ_ERR_PAYLOAD_SIZE)
		return UPLINK_ERROR;
	if (rc != MOSQ_ERR_SUCCESS)
		return UPLINK_RETRY;
	q->inflight[q->n_inflight].mid = mid;
	q->inflight[q->n_inflight].seq = seq;
	q->n_inflight++;
	return UPLINK_OK;
}

void
mqtt_on_publish(struct mosquitto *m, void *arg, int mid)
{
	struct mqtt *q = arg;
	int i;

	(void)m;
	/* Stopping: only the goodbye's ack matters; batches go again next run. */
	if (q->stopping) {
		q->bye_acked |= mid == q->bye_mid;
		return;
	}
	if (mqtt_result_acked(q, mid))
		return;
	for (i = 0; i < q->n_inflight; i++) {
		if (q->inflight[i].mid != mid)
			continue;
		uint64_t seq = q->inflight[i].seq;

		q->inflight[i] = q->inflight[--q->n_inflight];
		q->u->ev.acked(q->u->ev.arg, seq);
		return;
	}
}

/* A command frame (the only topic we subscribe to), passed on unchecked:
 * the control plane judges it, and journals what it refuses. Also while
 * stopping: libmosquitto has acknowledged it already, so the control plane
 * keeps it for the next run (firmware/core/inbox.h). */
void
mqtt_on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	struct mqtt *q = arg;

	(void)m;
	if (q->u->ev.command == NULL || msg->topic == NULL ||
	    strcmp(msg->topic, q->topic_cmd) != 0)
		return;
	q->cmd_in++;
	q->u->ev.command(q->u->ev.arg, msg->payload, msg->payloadlen > 0 ?
	    (size_t)msg->payloadlen : 0);
}
