/*
 * wattgate-recv's CoAP and CoAPS server (libcoap 3, DTLS through OpenSSL), fed
 * into the same decoding, dedupe and output as MQTT (recv.h). Resources under
 * the receiver's prefix (docs/coap.md):
 *   POST <prefix>/<gw>/b         batch: 2.04 once printed (or a duplicate),
 *                                4.00 undecodable, 4.13 over --coap-max
 *                                (at the first block that shows it),
 *                                5.03 schema unknown (the gateway resends)
 *   PUT  <prefix>/<gw>/s/<id>    schema: 2.04 once known, 4.00 if bad
 *   PUT  <prefix>/<gw>/metrics   counters: 2.04 (shown with --verbose)
 *   POST <prefix>/<gw>/r         a result record: 2.04, 4.00 if bad
 *   GET  <prefix>/<gw>/c?after=K the next command frame: 2.05 (ETag: its
 *                                index), 4.04 none
 *   POST c/<gw>                  a command frame queued: 2.01, 5.03 full
 *   GET  r/<gw>?after=N          result records with r > N: 2.05, JSON array
 *   GET  <prefix>/stats          the receiver's counters as JSON
 * With --coap-refuse CODE every request under the prefix but stats is answered
 * CODE (a platform refusing the gateway, for tests) until SIGUSR2.
 * Block1 bodies are bounded (coap_blk.h): each by its resource's limit, all
 * of them together by hold bytes and COAP_BLK_SLOTS transfers.
 */
#ifndef WG_COAP_SERVER_H
#define WG_COAP_SERVER_H

#include <stddef.h>

struct recv;
struct coap_srv;

struct coap_srv_opts {
	const char *coap, *coaps;	/* ADDR:PORT to listen on, or NULL */
	const char *psk_file;		/* identity and hex key (docs/coap.md) */
	const char *ca_file;		/* clients must have a certificate from it */
	const char *cert_file, *key_file;	/* the server's own */
	size_t max_body;		/* larger batches get 4.13 */
	size_t hold;			/* all partial Block1 bodies together
					 * (--coap-hold); 0: COAP_BLK_HOLD */
	unsigned refuse;		/* e.g. 403: every request under the prefix
					 * gets it until SIGUSR2; 0: none */
};

/* 0, or -1 with the reason already printed. */
int coap_srv_start(struct recv *rv, const struct coap_srv_opts *o,
    struct coap_srv **out);
/* The fd to poll for reading, and how long poll may wait at most (ms). */
int coap_srv_fd(struct coap_srv *cs);
int coap_srv_timeout(struct coap_srv *cs, int max_ms);
/* Run libcoap's I/O: call after every poll. */
void coap_srv_process(struct coap_srv *cs);
void coap_srv_stop(struct coap_srv *cs);

#endif
