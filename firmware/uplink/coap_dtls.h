/*
 * Credentials of the CoAP uplink (coaps://): a pre-shared key, or a CA to verify
 * the server with (and optionally a client certificate and key). Read fresh at
 * every connection attempt through secret_read(), so a fixed file is taken up at
 * the next attempt without a restart, and wiped when the attempt is over.
 */
#ifndef WG_COAP_DTLS_H
#define WG_COAP_DTLS_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/base/coap_lib.h"

#include "firmware/uplink/coap_config.h"
#include "firmware/base/psk.h"


struct coap_creds {
	/* PSK */
	char identity[PSK_ID_MAX + 1];
	uint8_t key[PSK_KEY_MAX];
	size_t key_len;
	/* PKI: PEM buffers (key through secret_read) */
	char *ca, *cert, *pkey;
	size_t ca_len, cert_len, pkey_len;
	/* the URI's host: SNI (names only) and the server certificate's CN */
	char host[128];
	int host_is_ip;
};

/* Read the files cfg names. 0, or -errno with a one-line reason in err. */
int coap_creds_load(const struct coap_cfg *cfg, const char *host,
    struct coap_creds *cr, char *err, size_t errlen);
/* Wipes and frees what load read. */
void coap_creds_free(struct coap_creds *cr);

/*
 * 1 while a DTLS handshake waits for the server's Finished after sending ours
 * (OpenSSL's state, through libcoap). A server that cannot check our Finished
 * -- a wrong PSK key: the record does not decrypt -- drops it silently (DTLS
 * discards bad records, RFC 6347 4.1.2.7), so this wait is the only sign.
 */
int coap_creds_awaiting_finished(const coap_session_t *s);

enum coap_creds_fail {
	COAP_CREDS_ALERT,	/* the server refused the handshake (an alert) */
	COAP_CREDS_NO_FINISHED,	/* it answered our hello, not our Finished */
	COAP_CREDS_SILENT,	/* no answer at all */
};

/*
 * Why a handshake failed, in words for the log, naming the likely credential
 * at fault; ms: how long it waited (NO_FINISHED, SILENT).
 */
void coap_creds_why(const struct coap_cfg *cfg, const struct coap_creds *cr,
    enum coap_creds_fail f, long long ms, char *buf, size_t len);

/* A client session to dst with these credentials (plain if cfg is coap://). */
coap_session_t *coap_creds_session(coap_context_t *ctx, const coap_address_t *dst,
    const struct coap_cfg *cfg, struct coap_creds *cr);

#endif
