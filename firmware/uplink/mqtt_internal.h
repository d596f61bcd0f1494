/*
 * The MQTT uplink's state, shared by mqtt.c (the link and the batches) and
 * mqtt_pub.c (schemas, metrics, the control plane's commands and results).
 * Nothing outside firmware/uplink/mqtt*.c includes it.
 */
#ifndef WG_MQTT_INTERNAL_H
#define WG_MQTT_INTERNAL_H

#include <mosquitto.h>
#include <stdint.h>

#include "firmware/uplink/dial.h"
#include "firmware/uplink/mqtt_config.h"
#include "firmware/uplink/mqtt_tls.h"
#include "firmware/uplink/uplink.h"

#define MQTT_WINDOW	16	/* batches in flight (awaiting PUBACK) */
#define MQTT_RESULTS	8	/* result records in flight */

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
	int misc_fd;		/* timerfd: keepalive and retries (loop_misc) */
	struct dial dial;	/* where and when to connect (dial.h) */
	int dialing;		/* dial_start succeeded: dial_stop at the end */
	int stopping;
	int bye_mid, bye_acked;	/* the goodbye's PUBLISH, and its PUBACK */
	int tcp_up;		/* this attempt's TCP connection is made */
	int ended;		/* this attempt's end is reported (libmosquitto
				   reports one failure twice) */
	char topic_batch[160];
	char topic_status[160];
	char topic_cmd[160];	/* <prefix>/<gw>/c, if commands */
	char topic_result[160];
	struct inflight results[MQTT_RESULTS];	/* seq: the record's r */
	int n_results;
	uint64_t cmd_in;	/* command frames taken off the topic */
	struct inflight inflight[MQTT_WINDOW];
	int n_inflight;
	char last_err[800];	/* last failure logged, to log changes only */
	const char *fail_kind;	/* this round's refusal, for the dedupe */
	int64_t start_boot_ms;	/* CLOCK_BOOTTIME ms at start: the "start" stamp */
	struct mqtt_tls_diag tls;
	/*
	 * MQTT 5 unless the broker refused it once (then 3.1.1 for this run).
	 * With 5, the batch topic goes once per connection with alias 1 and
	 * after that the alias alone, if the broker takes aliases (CONNACK).
	 */
	int v311;
	int alias_ok;
	int alias_sent;
};

#define STATUS_WILL	"{\"status\":\"offline\",\"reason\":\"lost\"}"
#define STATUS_STOP	"{\"status\":\"offline\",\"reason\":\"stop\"}"

static inline const struct mqtt_cfg *
cfg(const struct mqtt *q)
{
	return q->u->cfg;
}


/* mqtt_pub.c */
/*
 * Before a connect with the control plane on: a persistent session (clean
 * start off, a session that outlives the connection) so commands published
 * while the gateway is away wait at the broker. 0 or -errno.
 */
int mqtt_session_setup(struct mqtt *q);
/* At CONNACK: the command topic's subscription, QoS 1. */
void mqtt_commands_subscribe(struct mqtt *q);
/* A PUBACK: 1 if it was a result record's (reported), else 0. */
int mqtt_result_acked(struct mqtt *q, int mid);
/* The link is gone: results in flight are void (sent again from the store). */
void mqtt_results_void(struct mqtt *q);
enum uplink_result mqtt_send_result(struct uplink *u, const char *json,
    uint64_t r);
enum uplink_result mqtt_send_batch(struct uplink *u, const uint8_t *buf,
    size_t len, uint64_t seq);
/* libmosquitto's callbacks: a PUBACK (a batch's or a record's), a message. */
void mqtt_on_publish(struct mosquitto *m, void *arg, int mid);
void mqtt_on_subscribe(struct mosquitto *m, void *arg, int mid, int n,
    const int *granted);
void mqtt_on_message(struct mosquitto *m, void *arg,
    const struct mosquitto_message *msg);
enum uplink_result mqtt_send_metrics(struct uplink *u, const char *json);
enum uplink_result mqtt_send_schema(struct uplink *u, uint32_t id,
    const char *json);

#endif
