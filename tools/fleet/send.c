/*
 * wattgate-fleet send over MQTT (send.h). A tool that blocks: one
 * connection, mosquitto_loop() until each step's acknowledgement, then the
 * results until a final one or the deadline.
 *
 * The subscription comes before the publish: a gateway that answers at once
 * must not answer into a topic nobody listens to yet.
 */
#include "tools/fleet/send.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <jansson.h>
#include <mosquitto.h>

#include "firmware/base/clock.h"

#define CONNECT_MS	10000	/* connect, subscribe and publish, each */

struct session {
	const char *id;
	char rtopic[256];
	int connected;		/* 1 accepted, -1 refused */
	int sub_mid, subscribed;
	int pub_mid, published;
	int final;
};

static const char *const finals[] = {
	"applied", "rejected", "expired", "deviated", "failed", NULL
};

static void
on_connect(struct mosquitto *m, void *arg, int rc)
{
	struct session *s = arg;

	(void)m;
	s->connected = rc == 0 ? 1 : -1;
	if (rc != 0)
		fprintf(stderr, "wattgate-fleet: broker refused the connection: "
		    "%s\n", mosquitto_connack_string(rc));
}

static void
on_subscribe(struct mosquitto *m, void *arg, int mid, int n, const int *qos)
{
	struct session *s = arg;

	(void)m;
	if (mid == s->sub_mid)
		s->subscribed = n == 1 && qos[0] == 1 ? 1 : -1;
}

static void
on_publish(struct mosquitto *m, void *arg, int mid)
{
	struct session *s = arg;

	(void)m;
	if (mid == s->pub_mid)
		s->published = 1;
}

/* A result record of this command: printed as it came, one line. */
static void
on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	struct session *s = arg;
	const char *state;
	json_t *r, *id;
	size_t i;

	(void)m;
	if (strcmp(msg->topic, s->rtopic) != 0 || msg->payloadlen <= 0)
		return;
	r = json_loadb(msg->payload, (size_t)msg->payloadlen, 0, NULL);
	id = json_is_object(r) ? json_object_get(r, "id") : NULL;
	if (json_is_string(id) && strcmp(json_string_value(id), s->id) == 0) {
		fwrite(msg->payload, 1, (size_t)msg->payloadlen, stdout);
		fputc('\n', stdout);
		fflush(stdout);
		state = json_string_value(json_object_get(r, "state"));
		for (i = 0; state != NULL && finals[i] != NULL; i++)
			if (strcmp(state, finals[i]) == 0)
				s->final = 1;
	}
	json_decref(r);
}

/* Run the loop until *flag is set (1) or refused (-1), or ms pass. */
static int
loop_until(struct mosquitto *m, const int *flag, int64_t ms, const char *what)
{
	int64_t end = clock_mono_ms() + ms;
	int rc;

	while (*flag == 0 && clock_mono_ms() < end) {
		if ((rc = mosquitto_loop(m, 100, 1)) != MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "wattgate-fleet: %s: %s\n", what,
			    rc == MOSQ_ERR_ERRNO ? strerror(errno) :
			    mosquitto_strerror(rc));
			return -1;
		}
	}
	if (*flag == 0)
		fprintf(stderr, "wattgate-fleet: %s: no answer within %lld s\n", what,
		    (long long)(ms / 1000));
	return *flag == 1 ? 0 : -1;
}

static int
session(struct mosquitto *m, struct session *s, const struct send_opts *o,
    const char *ctopic, const uint8_t *frame, size_t len)
{
	int rc;

	if (o->ca != NULL && (rc = mosquitto_tls_set(m, o->ca, NULL, o->cert,
	    o->key, NULL)) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "wattgate-fleet: TLS: %s\n", mosquitto_strerror(rc));
		return SEND_ERROR;
	}
	if ((rc = mosquitto_connect(m, o->host, o->port, 60)) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "wattgate-fleet: %s:%d: %s\n", o->host, o->port,
		    rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
		return SEND_ERROR;
	}
	if (loop_until(m, &s->connected, CONNECT_MS, "connect") < 0)
		return SEND_ERROR;
	if (o->wait_s > 0) {
		if ((rc = mosquitto_subscribe(m, &s->sub_mid, s->rtopic, 1)) !=
		    MOSQ_ERR_SUCCESS) {
			fprintf(stderr, "wattgate-fleet: subscribe %s: %s\n",
			    s->rtopic, mosquitto_strerror(rc));
			return SEND_ERROR;
		}
		if (loop_until(m, &s->subscribed, CONNECT_MS, s->rtopic) < 0)
			return SEND_ERROR;
	}
	if ((rc = mosquitto_publish(m, &s->pub_mid, ctopic, (int)len, frame, 1,
	    false)) != MOSQ_ERR_SUCCESS) {
		fprintf(stderr, "wattgate-fleet: publish %s: %s\n", ctopic,
		    mosquitto_strerror(rc));
		return SEND_ERROR;
	}
	if (loop_until(m, &s->published, CONNECT_MS, ctopic) < 0)
		return SEND_ERROR;
	if (o->wait_s == 0)
		return SEND_OK;
	if (loop_until(m, &s->final, (int64_t)o->wait_s * 1000,
	    "final result") < 0)
		return s->final == 0 ? SEND_TIMEOUT : SEND_ERROR;
	return SEND_OK;
}

int
send_mqtt(const struct send_opts *o, const char *gw, const char *id,
    const uint8_t *frame, size_t len)
{
	struct session s = { .id = id };
	char ctopic[256], cid[32];
	struct mosquitto *m;
	uint8_t rnd[8];
	int rc, i;

	if ((size_t)snprintf(ctopic, sizeof(ctopic), "%s/%s/c", o->prefix, gw) >=
	    sizeof(ctopic) || (size_t)snprintf(s.rtopic, sizeof(s.rtopic),
	    "%s/%s/r", o->prefix, gw) >= sizeof(s.rtopic)) {
		fprintf(stderr, "wattgate-fleet: --prefix: too long\n");
		return SEND_ERROR;
	}
	/* A random client id: two senders never take over each other's session. */
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		fprintf(stderr, "wattgate-fleet: getrandom: %s\n", strerror(errno));
		return SEND_ERROR;
	}
	i = snprintf(cid, sizeof(cid), "wattgate-fleet-");
	for (rc = 0; rc < (int)sizeof(rnd); rc++)
		i += snprintf(cid + i, sizeof(cid) - (size_t)i, "%02x", rnd[rc]);
	mosquitto_lib_init();
	if ((m = mosquitto_new(cid, true, &s)) == NULL) {
		fprintf(stderr, "wattgate-fleet: mosquitto_new: %s\n", strerror(errno));
		mosquitto_lib_cleanup();
		return SEND_ERROR;
	}
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_subscribe_callback_set(m, on_subscribe);
	mosquitto_publish_callback_set(m, on_publish);
	mosquitto_message_callback_set(m, on_message);
	rc = session(m, &s, o, ctopic, frame, len);
	if (s.connected == 1)
		mosquitto_disconnect(m);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	return rc;
}
