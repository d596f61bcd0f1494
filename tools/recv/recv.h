/*
 * wattgate-recv's state and the two entry points every transport feeds: a batch
 * and a schema, whether they came over MQTT (wattgate-recv.c) or CoAP
 * (coap_server.c). Each says what became of the message, so that CoAP can answer
 * only once the platform has it.
 */
#ifndef WG_RECV_H
#define WG_RECV_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/recv/gwtab.h"
#include "tools/recv/pending.h"

#define RECV_READINGS_MAX	(1u << 20)	/* per batch: refuse bigger */
#define RECV_SCHEMA_MAX		(256u << 10)	/* schema document bytes */
#define RECV_DELAY_MAX		16		/* reconnect backoff cap, s */
#define RECV_KEEPALIVE		30
#define RECV_PENDING_TTL_MS	60000	/* a batch waits this long for its schema */
#define RECV_ASK_MS		10000	/* ask a gateway's schemas again at most so often */

struct mosquitto;
struct coap_srv;
struct coap_cmdq;

struct recv {
	/* options */
	const char *host, *prefix, *id;
	int port, verbose, mqtt;
	uint64_t count;
	const char *spool;		/* unmatched batches are kept here, if set */
	int64_t pending_ttl_ms;		/* 0: RECV_PENDING_TTL_MS */
	const char *files;		/* --coap-files DIR (coap_files.h), or NULL */
	int files_fd;			/* ... its descriptor */
	/*
	 * Ask the transport for gw's schemas again (MQTT: subscribe to its
	 * retained schema topic once more); NULL where there is nothing to ask.
	 */
	void (*ask_schemas)(struct recv *rv, const char *gw);
	/* state */
	struct mosquitto *mosq;
	struct coap_srv *coap;
	struct coap_cmdq *cmdq;		/* commands and results over CoAP
					 * (coap_cmd.c), made when first used */
	struct gwtab gws;
	struct volbudget volbudget;	/* volatile keys of all gateways */
	struct pending pending;
	struct reading *r;
	size_t cap;
	uint64_t printed, bad_batches, bad_schemas, dropped, unmatched;
	uint64_t refused_schemas;	/* over the schema memory bounds */
	uint64_t vol_refused;		/* volatile keys not kept: memory bound */
	int subscribed, link_up, refused, exit_code;
	char last_error[128];
};

enum recv_result {
	RECV_DONE,	/* printed now, or printed before (a duplicate) */
	RECV_HELD,	/* schema unknown: held (MQTT) or not taken (CoAP) */
	RECV_BAD,	/* can never be decoded: logged and counted */
	RECV_FAILED,	/* not taken now (no memory, output failed); may come again */
};

/*
 * A wrapped batch for gateway gw; where names it in log lines (topic or path).
 * hold: keep it in memory until its schema comes (MQTT); else RECV_HELD means
 * "not taken" (CoAP: the gateway resends).
 */
enum recv_result recv_batch(struct recv *rv, const char *where, const char *gw,
    const uint8_t *p, size_t len, int hold);
/* A schema document; idtxt is its id as 8 lowercase hex digits. */
enum recv_result recv_schema(struct recv *rv, const char *where, const char *gw,
    const char *idtxt, const char *p, size_t len);

/* An MQTT message of topic t (NUL-terminated): dispatched on its topic. */
/* A control plane result record from gw (results.c): printed once per r. */
enum recv_result recv_result_record(struct recv *rv, const char *where,
    const char *gw, const uint8_t *p, size_t len);
void recv_topic(struct recv *rv, const char *t, const void *payload,
    size_t len);

/* The MQTT client in rv->mosq, its callbacks set: 0, or -1 (logged). */
int recv_mqtt_new(struct recv *rv);
/* The transports' loop: MQTT (and the CoAP server, if any) until stop. */
int recv_mqtt_run(struct recv *rv);
/*
 * Time passes (now_ms monotonic): pending batches past the TTL leave
 * unmatched (spooled or counted lost). Call it from the loop, every second
 * or so.
 */
void recv_tick(struct recv *rv, int64_t now_ms);
/* One line per gateway, then its gaps and anything left pending. */
void recv_summary(struct recv *rv);

void recv_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern volatile sig_atomic_t recv_stop;

#endif
