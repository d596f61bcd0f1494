/*
 * The "mqtt" section of the site config (docs/config.md, docs/mqtt.md): the
 * broker and, with "tls", mutual TLS to it. Parsed by mqtt_config.c, used by
 * mqtt.c and mqtt_tls.c.
 */
#ifndef WG_MQTT_CONFIG_H
#define WG_MQTT_CONFIG_H

#include "firmware/uplink/uplink.h"

/* "mqtt": { "tls": { ... } } */
struct mqtt_tls_cfg {
	int enabled;			/* "tls" present */
	char ca_file[UPLINK_PATH_MAX];	/* CA(s) the broker's certificate must chain to */
	char cert_file[UPLINK_PATH_MAX]; /* our certificate (chain); "" if none */
	char key_file[UPLINK_PATH_MAX];	/* its private key: a secrets file */
	char server_name[128];		/* name checked in the broker's certificate */
};

struct mqtt_cfg {
	char host[128];
	unsigned port;
	char prefix[32];
	unsigned keepalive_s;
	char client_id[64];
	struct mqtt_tls_cfg tls;
};

/* uplink_ops.parse of the MQTT uplink. */
int mqtt_config_parse(struct jc *x, json_t *m, const struct uplink_site *site,
    const struct uplink_conf *confs, size_t n_confs, void *cfg);

#endif
