/*
 * "mqtt": {"host", "port", "prefix", "keepalive_s", "client_id", "tls"}.
 * Only the shape is checked here: the TLS files are read at each connection
 * attempt (mqtt_tls.c), so credentials provisioned or fixed after the start
 * are taken without a restart, and a key with loose permissions is refused
 * there, where it is about to be used.
 */
#include "firmware/uplink/mqtt_config.h"

#include <stdio.h>
#include <string.h>

#include "firmware/base/kconfig.h"

/* A name the broker's certificate must carry: a DNS name or an IP literal. */
static int
valid_server_name(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '.' || *s == '-' || *s == ':'))
			return 0;
	return 1;
}

static int
parse_tls(struct jc *x, json_t *t, const struct uplink_site *site,
    struct mqtt_cfg *q)
{
	static const char *const keys[] = { "ca_file", "cert_file", "key_file",
		"server_name", NULL };
	struct mqtt_tls_cfg *tls = &q->tls;
	char shown[64];
	int rc;

	if ((rc = jc_object(x, t, "mqtt.tls")) < 0 ||
	    (rc = jc_check_keys(x, t, "mqtt.tls", keys)) < 0 ||
	    (rc = jc_get_str(x, t, "mqtt.tls", "ca_file", JC_REQUIRED, tls->ca_file,
	    sizeof(tls->ca_file))) < 0 ||
	    (rc = jc_get_str(x, t, "mqtt.tls", "cert_file", 0, tls->cert_file,
	    sizeof(tls->cert_file))) < 0 ||
	    (rc = jc_get_str(x, t, "mqtt.tls", "key_file", 0, tls->key_file,
	    sizeof(tls->key_file))) < 0 ||
	    (rc = jc_get_str(x, t, "mqtt.tls", "server_name", 0, tls->server_name,
	    sizeof(tls->server_name))) < 0)
		return rc;
	if (tls->cert_file[0] == '\0' && tls->key_file[0] != '\0')
		return jc_fail(x, "mqtt.tls.key_file", "given without 'cert_file': a "
		    "client key needs its certificate");
	if (tls->server_name[0] == '\0')
		snprintf(tls->server_name, sizeof(tls->server_name), "%s", q->host);
	else if (!valid_server_name(tls->server_name))
		return jc_fail(x, "mqtt.tls.server_name", "'%s' is not a host name or "
		    "an IP address", jc_shown(tls->server_name, shown, sizeof(shown)));
	/*
	 * A client certificate without key_file was issued for the device's own
	 * key (from `wattgate --identity`'s CSR; docs/identity.md): that is its
	 * key. It never leaves the device, and mqtt_tls.c reads it like any key.
	 */
	if (tls->cert_file[0] != '\0' && tls->key_file[0] == '\0') {
		if (!IS_ENABLED(CONFIG_IDENTITY) || site->identity_key[0] == '\0')
			return jc_fail(x, "mqtt.tls.cert_file", "given without "
			    "'key_file', which means the device identity key, and "
			    "that is not built into this image");
		snprintf(tls->key_file, sizeof(tls->key_file), "%s",
		    site->identity_key);
	}
	tls->enabled = 1;
	return 0;
}

int
mqtt_config_parse(struct jc *x, json_t *m, const struct uplink_site *site,
    const struct uplink_conf *confs, size_t n_confs, void *cfg)
{
	static const char *const keys[] = { "host", "port", "prefix", "keepalive_s",
		"client_id", "tls", NULL };
	struct mqtt_cfg *q = cfg;
	char shown[40];
	json_t *tls;
	int rc;

	(void)confs;
	(void)n_confs;
	if ((rc = jc_object(x, m, "mqtt")) < 0 ||
	    (rc = jc_check_keys(x, m, "mqtt", keys)) < 0)
		return rc;
	tls = json_object_get(m, "tls");
	q->port = tls != NULL ? 8883 : 1883;
	q->keepalive_s = 60;
	strcpy(q->prefix, "wg");
	if ((rc = jc_get_str(x, m, "mqtt", "host", JC_REQUIRED, q->host,
	    sizeof(q->host))) < 0 ||
	    (rc = jc_get_uint(x, m, "mqtt", "port", 0, 1, 65535, &q->port)) < 0 ||
	    (rc = jc_get_str(x, m, "mqtt", "prefix", 0, q->prefix,
	    sizeof(q->prefix))) < 0 ||
	    (rc = jc_get_uint(x, m, "mqtt", "keepalive_s", 0, 5, 3600,
	    &q->keepalive_s)) < 0 ||
	    (rc = jc_get_str(x, m, "mqtt", "client_id", 0, q->client_id,
	    sizeof(q->client_id))) < 0)
		return rc;
	jc_shown(q->prefix, shown, sizeof(shown));
	if (strpbrk(q->prefix, "+#") != NULL)
		return jc_fail(x, "mqtt.prefix", "'%s' contains a wildcard", shown);
	if (q->prefix[0] == '/' || q->prefix[strlen(q->prefix) - 1] == '/' ||
	    strstr(q->prefix, "//") != NULL)
		return jc_fail(x, "mqtt.prefix", "'%s' has an empty topic level", shown);
	if (tls != NULL && (rc = parse_tls(x, tls, site, q)) < 0)
		return rc;
	if (q->client_id[0] == '\0')
		snprintf(q->client_id, sizeof(q->client_id), "wattgate-%.54s",
		    site->gateway);
	return 0;
}
