/*
 * Small readings of libcoap's answers for the CoAP uplink (coap.c): what a
 * 4.13 says the server takes, what a refusal of the gateway means, a NACK's
 * reason in words for the log, and libcoap's own log lines in ours.
 */
#ifndef WG_COAP_MSG_H
#define WG_COAP_MSG_H

#include "firmware/base/coap_lib.h"

/* A 4.13's Size1 (RFC 7959 4): the body size the server takes; 0 if absent. */
unsigned coap_msg_size1(const coap_pdu_t *pdu);

/* "no answer", "reset by the server", ...: why libcoap gave up a request. */
const char *coap_msg_nack(coap_nack_reason_t r);

/*
 * 4.01, 4.03, 4.04, 4.05: the platform refuses this gateway (its credentials,
 * the URI's path, the method there), not one request: what it likely means,
 * for the ALARM. NULL for any other code.
 */
const char *coap_msg_refusal(coap_pdu_code_t code);

/* libcoap's log handler: its warnings in ours, each distinct line once in a row. */
void coap_msg_log(coap_log_t level, const char *msg);

/*
 * libcoap reports an ICMP error (a port or host unreachable) only in its log
 * ("coap_network_read: ICMP: Connection refused"); a DTLS handshake it ends
 * looks like any other close. 1 with the line's "ICMP: ..." in why (if not
 * NULL) if one came since the last call, which forgets it.
 */
int coap_msg_take_icmp(char *why, size_t len);

#endif
