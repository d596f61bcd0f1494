/*
 * Sending a signed frame to one gateway over MQTT and following its results
 * (docs/commands.md, "The fleet tool").
 */
#ifndef WG_FLEET_SEND_H
#define WG_FLEET_SEND_H

#include <stddef.h>
#include <stdint.h>

struct send_opts {
	const char *host;
	int port;
	const char *prefix;		/* topics <prefix>/<gw>/c and /r */
	const char *ca, *cert, *key;	/* TLS: all NULL for plain MQTT */
	int wait_s;			/* 0: publish and return */
};

/* What wattgate-fleet exits with. */
#define SEND_OK		0	/* published; a final result if waited for */
#define SEND_ERROR	1
#define SEND_TIMEOUT	3	/* no final result within wait_s */

/*
 * Subscribe (QoS 1) to <prefix>/<gw>/r, publish frame (QoS 1, not retained)
 * to <prefix>/<gw>/c and wait for its PUBACK; then print, one line each on
 * stdout, every result record whose "id" is id, until one has a final
 * state or wait_s pass. Errors go to stderr as one line.
 */
int send_mqtt(const struct send_opts *o, const char *gw, const char *id,
    const uint8_t *frame, size_t len);

/*
 * The same over CoAP (send_coap.c) to wattgate-recv at uri (coap://HOST:PORT):
 * POST c/<gw> with the frame, then GET r/<gw>?after=N every 200 ms, printing
 * the records whose "id" is id, until a final state or wait_s pass.
 */
int send_coap(const struct send_opts *o, const char *uri, const char *gw,
    const char *id, const uint8_t *frame, size_t len);

#endif
