/*
 * The "coap" section of the site config (docs/coap.md): the platform's CoAP
 * server and, for coaps://, the DTLS credentials. Files holding secrets
 * (psk_file, key_file) are checked with secret_check() here and read with
 * secret_read() at each connection attempt, so a fixed file is picked up
 * without a restart.
 */
#ifndef WG_COAP_CONFIG_H
#define WG_COAP_CONFIG_H

#include "firmware/uplink/uplink.h"

#define COAP_URI_MAX	256

struct coap_cfg {
	char uri[COAP_URI_MAX];		/* coap://host[:port]/base or coaps://... */
	int secure;			/* coaps:// */
	char psk_file[UPLINK_PATH_MAX];	/* coaps with a pre-shared key */
	char ca_file[UPLINK_PATH_MAX];	/* coaps with certificates: the server's CA */
	char cert_file[UPLINK_PATH_MAX]; /* optional client certificate ... */
	char key_file[UPLINK_PATH_MAX];	/* ... and its key */
	unsigned ack_timeout_ms;	/* RFC 7252 ACK_TIMEOUT */
	unsigned max_retransmit;	/* RFC 7252 MAX_RETRANSMIT */
};

/* uplink_ops.parse of the CoAP uplink. */
int coap_config_parse(struct jc *x, json_t *m, const struct uplink_site *site,
    const struct uplink_conf *confs, size_t n_confs, void *cfg);

#endif
