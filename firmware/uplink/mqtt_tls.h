/*
 * Mutual TLS for the MQTT uplink (docs/mqtt.md): the OpenSSL context handed to
 * libmosquitto, and the one-line reason a TLS connection failed.
 */
#ifndef WG_MQTT_TLS_H
#define WG_MQTT_TLS_H

#include <stddef.h>

#include "firmware/uplink/mqtt_config.h"

struct mosquitto;

/*
 * Why the last TLS attempt failed, filled while the handshake runs (the
 * certificate check, libmosquitto's OpenSSL error lines); "" if no reason
 * was seen. The context points at it, so it must outlive the context.
 */
struct mqtt_tls_diag {
	char cause[768];
	/*
	 * Causes of one kind share it ("client-cert"), so that the log says it
	 * once however the broker's refusal reached us; NULL: the text is the
	 * kind.
	 */
	const char *kind;
	int handshake_done;
	const struct mqtt_tls_cfg *cfg;
	char sni[128];		/* cfg->server_name, writable as OpenSSL wants it */
};

/*
 * A fresh context for one connection attempt, set on m (MOSQ_OPT_SSL_CTX):
 * TLS >= 1.2, the broker's certificate checked against ca_file and
 * server_name, our certificate and key (the key read through secret_read,
 * so a key others could read is refused). 0, or -errno with err set to one
 * line naming the file and the reason.
 */
int mqtt_tls_setup(struct mosquitto *m, const struct mqtt_tls_cfg *c,
    struct mqtt_tls_diag *d, char *err, size_t errlen);

/* A libmosquitto log line: keep the first OpenSSL reason as the cause. */
void mqtt_tls_note(struct mqtt_tls_diag *d, const char *line);

/*
 * The connection ended before CONNACK with no reason seen: after a finished
 * handshake that is, with TLS 1.3, how a broker refusing our certificate
 * looks when its alert is lost to the reset that follows it.
 */
void mqtt_tls_closed(struct mqtt_tls_diag *d, const char *why);

/* "TLSv1.3 TLS_AES_256_GCM_SHA384" for the connection m has now, or "". */
void mqtt_tls_session(struct mosquitto *m, char *buf, size_t len);

#endif
