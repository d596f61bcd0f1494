/*
 * Fetching a byte range of an update image: blocking, for the OTA worker
 * thread, never the event loop. The caller keeps the position: it asks for
 * [from, to), gets the bytes in order through data(), and after a failure
 * that may pass (-EAGAIN) asks again from from + *got. Nothing here retries,
 * sleeps between attempts or remembers anything between calls: the OTA state
 * machine owns the backoff, the progress and the verification of every chunk
 * against the manifest.
 *
 * https:// through libcurl: the server is verified like the MQTT broker
 * (peer and host name; with ca_file, its certificates are the only trust
 * anchors), nothing but https (http:// only with allow_http, for tests), no
 * redirects, no proxy from the environment, TLS 1.2 or later. A range that
 * is not from 0 must come back as 206 with a Content-Range of exactly that
 * range; a 200 to it means the server ignored the range.
 *
 * coap:// and coaps:// (CoAP sites; fetch_coap.c): GET in RFC 7959 Block2
 * blocks of 1024 bytes from the block that holds `from`, each answer checked
 * against the block asked for (its number, its More flag, Size2, ETag). A
 * coaps:// server is known by its pre-shared key: psk_file, the CoAP
 * uplink's file format (docs/coap.md). libcoap is the daemon's one loaded
 * copy (firmware/base/coap_lib.c); the transfer has its own context.
 */
#ifndef WG_OTA_FETCH_H
#define WG_OTA_FETCH_H

#include <stddef.h>
#include <stdint.h>

/* Room for one line of why (the URL, its query dropped, and what happened). */
#define FETCH_WHY_MAX	512

struct fetch_req {
	const char *url;	/* https://, http:// (allow_http only), coap://,
				 * coaps:// */
	uint64_t from, to;	/* byte range [from, to) of the resource */
	const char *ca_file;	/* https: PEM trust anchors; NULL: the system's */
	int allow_http;
	uint64_t rate_bps;	/* 0: unlimited */
	int stall_s;		/* no byte for this long: -EAGAIN; 0: 30 s */
	/* Last, so that initialisers written before it stay right. */
	const char *psk_file;	/* coaps://: PSK identity and hex key, as the
				 * CoAP uplink's (docs/coap.md); NULL else */
};

/*
 * data() gets every byte in order; returning <0 stops the transfer with that
 * value. Returns 0 when exactly to - from bytes came; -EAGAIN for what may
 * pass (refused, dropped, timed out, stalled, 5xx, 408, 429; CoAP 5.xx,
 * no answer, a resource that changed its ETag), -EPERM for what will not
 * (4xx, 3xx, TLS verification failed, a protocol not allowed, a server that
 * sends more than asked or ignores the range; CoAP 4.xx, a DTLS handshake
 * refused, a block not the one asked for, a resource shorter than `to` or
 * longer than its Size2), -ECANCELED when
 * *cancel became nonzero (checked at least once a second), -EINVAL for a
 * request that makes no sense (to <= from, no URL), -ENOMEM. *got: bytes
 * delivered to data() (also on failure). why: one line, e.g.
 * "https://h:1/x: HTTP 404" (may be NULL).
 */
int fetch_range(const struct fetch_req *r,
    int (*data)(void *arg, const uint8_t *p, size_t n), void *arg,
    const volatile int *cancel, uint64_t *got, char *why, size_t len);

/*
 * libcurl's global state, once, before any thread fetches (curl_global_init
 * is not thread-safe). If it fails, fetch_range says so.
 */
void fetch_global_init(void);

#endif
