/*
 * The uplink part of the site config: "mqtt" (and its "tls"), "coap", and
 * "uplink" (one name, or a primary and a fallback). Split from config.c,
 * which keeps the file's frame, buses, devices and the store keys.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/core/config_parse.h"
#include "firmware/core/kconfig.h"
#include "firmware/core/secret.h"

/* ---- "mqtt": { "tls": { ... } } (branch tls) ---------------------------- */

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

/*
 * Only the shape is checked here: the files are read at each connection
 * attempt (mqtt_tls.c), so credentials provisioned or fixed after the start
 * are taken without a restart, and a key with loose permissions is refused
 * there, where it is about to be used.
 */
static int
parse_mqtt_tls(struct ctx *x, json_t *t, struct cfg_mqtt *q)
{
	static const char *const keys[] = { "ca_file", "cert_file", "key_file",
		"server_name", NULL };
	struct cfg_mqtt_tls *tls = &q->tls;
	int rc;

	if (!json_is_object(t))
		return fail(x, "mqtt.tls", "must be an object");
	if ((rc = check_keys(x, "mqtt.tls", t, keys)) < 0 ||
	    (rc = get_str(x, "mqtt.tls", t, "ca_file", 1, tls->ca_file,
	    sizeof(tls->ca_file))) < 0 ||
	    (rc = get_str(x, "mqtt.tls", t, "cert_file", 0, tls->cert_file,
	    sizeof(tls->cert_file))) < 0 ||
	    (rc = get_str(x, "mqtt.tls", t, "key_file", 0, tls->key_file,
	    sizeof(tls->key_file))) < 0 ||
	    (rc = get_str(x, "mqtt.tls", t, "server_name", 0, tls->server_name,
	    sizeof(tls->server_name))) < 0)
		return rc;
	/* cert_file alone: its key is the device identity's (config.c). */
	if (tls->cert_file[0] == '\0' && tls->key_file[0] != '\0')
		return fail(x, "mqtt.tls", "'key_file' without 'cert_file': a client "
		    "key needs its certificate");
	if (tls->server_name[0] == '\0')
		snprintf(tls->server_name, sizeof(tls->server_name), "%s", q->host);
	else if (!valid_server_name(tls->server_name))
		return fail(x, "mqtt.tls", "server_name '%s' is not a host name or "
		    "an IP address", tls->server_name);
	tls->enabled = 1;
	return 0;
}

/* ---- end of "mqtt.tls" ----------------------------------------------------- */

int
parse_mqtt(struct ctx *x, json_t *m, struct cfg_mqtt *q)
{
	static const char *const keys[] = { "host", "port", "prefix", "keepalive_s",
		"client_id", "tls", NULL };
	json_t *tls;
	int rc;

	if (!json_is_object(m))
		return fail(x, "mqtt", "must be an object");
	if ((rc = check_keys(x, "mqtt", m, keys)) < 0)
		return rc;
	tls = json_object_get(m, "tls");
	q->port = tls != NULL ? 8883 : 1883;
	q->keepalive_s = 60;
	strcpy(q->prefix, "wg");
	if ((rc = get_str(x, "mqtt", m, "host", 1, q->host, sizeof(q->host))) < 0 ||
	    (rc = get_uint(x, "mqtt", m, "port", 0, 1, 65535, &q->port)) < 0 ||
	    (rc = get_str(x, "mqtt", m, "prefix", 0, q->prefix, sizeof(q->prefix))) < 0 ||
	    (rc = get_uint(x, "mqtt", m, "keepalive_s", 0, 5, 3600, &q->keepalive_s)) < 0 ||
	    (rc = get_str(x, "mqtt", m, "client_id", 0, q->client_id,
	    sizeof(q->client_id))) < 0)
		return rc;
	if (strpbrk(q->prefix, "+#") != NULL)
		return fail(x, "mqtt", "prefix '%s' contains a wildcard", q->prefix);
	if (q->prefix[0] == '/' || q->prefix[strlen(q->prefix) - 1] == '/' ||
	    strstr(q->prefix, "//") != NULL)
		return fail(x, "mqtt", "prefix '%s' has an empty topic level", q->prefix);
	if (tls != NULL && (rc = parse_mqtt_tls(x, tls, q)) < 0)
		return rc;
	q->enabled = 1;
	return 0;
}

/*
 * ---- CoAP uplink (branch coap; docs/coap.md) ----
 * The URI is checked here so that `wattgate --check` names a bad one; the uplink
 * parses it again with libcoap. Only what the uplink supports passes: coap or
 * coaps, a host (IPv6 in brackets), an optional port, a path of plain segments;
 * no user info, query or fragment.
 */
static int
coap_uri_valid(const char *uri, int *secure, const char **why)
{
	const char *p, *h, *e;
	unsigned long port;
	char *end;

	if (strncmp(uri, "coaps://", 8) == 0) {
		*secure = 1;
		p = uri + 8;
	} else if (strncmp(uri, "coap://", 7) == 0) {
		*secure = 0;
		p = uri + 7;
	} else {
		*why = "scheme is neither coap:// nor coaps://";
		return 0;
	}
	h = p;
	if (*p == '[') {
		if ((e = strchr(p, ']')) == NULL || e == p + 1) {
			*why = "unterminated or empty [IPv6] host";
			return 0;
		}
		p = e + 1;
	} else {
		for (; *p != '\0' && *p != ':' && *p != '/'; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= '0' && *p <= '9') || *p == '.' || *p == '-')) {
				*why = "host may use only letters, digits, '.' and '-'";
				return 0;
			}
		if (p == h) {
			*why = "no host";
			return 0;
		}
	}
	if (*p == ':') {
		errno = 0;
		port = strtoul(p + 1, &end, 10);
		if (end == p + 1 || errno != 0 || port < 1 || port > 65535 ||
		    (*end != '\0' && *end != '/')) {
			*why = "port is not 1..65535";
			return 0;
		}
		p = end;
	}
	for (; *p != '\0'; p++) {
		if (*p == '/' && (p[1] == '/' || p[1] == '\0')) {
			*why = "path has an empty segment";
			return 0;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '.' || *p == '-' || *p == '_' ||
		    *p == '~' || *p == '/')) {
			*why = "path may use only letters, digits, '/', '.', '-', '_', '~'";
			return 0;
		}
	}
	return 1;
}

/* A file named by a key must be there now: a typo is found by --check. */
static int
check_file(struct ctx *x, const char *key, const char *path, int secret)
{
	char why[192];

	if (path[0] == '\0')
		return 0;
	if (secret) {
		if (secret_check(path, why, sizeof(why)) < 0)
			return fail(x, key, "%s", why);
	} else if (access(path, R_OK) < 0) {
		return fail(x, key, "%s: %s", path, strerror(errno));
	}
	return 0;
}

static int
parse_coap(struct ctx *x, json_t *m, struct cfg_coap *q)
{
	static const char *const keys[] = { "uri", "psk_file", "ca_file",
		"cert_file", "key_file", "ack_timeout_ms", "max_retransmit", NULL };
	const char *why = NULL;
	int rc;

	if (!json_is_object(m))
		return fail(x, "coap", "must be an object");
	if ((rc = check_keys(x, "coap", m, keys)) < 0)
		return rc;
	q->ack_timeout_ms = 2000;
	q->max_retransmit = 4;
	if ((rc = get_str(x, "coap.uri", m, "uri", 1, q->uri, sizeof(q->uri))) < 0 ||
	    (rc = get_str(x, "coap.psk_file", m, "psk_file", 0, q->psk_file,
	    sizeof(q->psk_file))) < 0 ||
	    (rc = get_str(x, "coap.ca_file", m, "ca_file", 0, q->ca_file,
	    sizeof(q->ca_file))) < 0 ||
	    (rc = get_str(x, "coap.cert_file", m, "cert_file", 0, q->cert_file,
	    sizeof(q->cert_file))) < 0 ||
	    (rc = get_str(x, "coap.key_file", m, "key_file", 0, q->key_file,
	    sizeof(q->key_file))) < 0 ||
	    (rc = get_uint(x, "coap.ack_timeout_ms", m, "ack_timeout_ms", 0, 200,
	    60000, &q->ack_timeout_ms)) < 0 ||
	    (rc = get_uint(x, "coap.max_retransmit", m, "max_retransmit", 0, 1, 10,
	    &q->max_retransmit)) < 0)
		return rc;
	if (!coap_uri_valid(q->uri, &q->secure, &why))
		return fail(x, "coap.uri", "'%s': %s", q->uri, why);
	if (!q->secure && (q->psk_file[0] || q->ca_file[0] || q->cert_file[0] ||
	    q->key_file[0]))
		return fail(x, "coap.uri", "credentials are given but '%s' is not "
		    "coaps://", q->uri);
	if (q->secure && !q->psk_file[0] && !q->ca_file[0])
		return fail(x, "coap.uri", "coaps:// needs psk_file or ca_file");
	if (q->psk_file[0] && (q->ca_file[0] || q->cert_file[0] || q->key_file[0]))
		return fail(x, "coap.psk_file", "either a pre-shared key or "
		    "certificates (ca_file, cert_file, key_file), not both");
	if (!q->cert_file[0] != !q->key_file[0])
		return fail(x, q->cert_file[0] ? "coap.key_file" : "coap.cert_file",
		    "cert_file and key_file go together");
	if ((rc = check_file(x, "coap.psk_file", q->psk_file, 1)) < 0 ||
	    (rc = check_file(x, "coap.ca_file", q->ca_file, 0)) < 0 ||
	    (rc = check_file(x, "coap.cert_file", q->cert_file, 0)) < 0 ||
	    (rc = check_file(x, "coap.key_file", q->key_file, 1)) < 0)
		return rc;
	q->enabled = 1;
	return 0;
}

/* A name given for an uplink: one this image has. */
static int
uplink_name(struct ctx *x, const char *key, const char *name, int need_built)
{
	if (strcmp(name, "mqtt") != 0 && strcmp(name, "coap") != 0)
		return fail(x, key, "'%s' is neither \"mqtt\" nor \"coap\"", name);
	if (strcmp(name, "coap") == 0 && !IS_ENABLED(CONFIG_UPLINK_COAP))
		return fail(x, key, "the CoAP uplink is not built into this image");
	if (need_built && strcmp(name, "mqtt") == 0 && !IS_ENABLED(CONFIG_UPLINK_MQTT))
		return fail(x, key, "the MQTT uplink is not built into this image");
	return 0;
}

/* "uplink": {"primary", "fallback", "failover_s"}: docs/uplinks.md. */
static int
parse_failover(struct ctx *x, json_t *v, struct site_config *c)
{
	static const char *const keys[] = { "primary", "fallback", "failover_s",
		NULL };
	struct cfg_failover *f = &c->failover;
	int rc;

	f->failover_s = 60;
	if (!IS_ENABLED(CONFIG_UPLINK_FAILOVER))
		return fail(x, "uplink", "failover (primary and fallback) is not built "
		    "into this image");
	if ((rc = check_keys(x, "uplink", v, keys)) < 0 ||
	    (rc = get_str(x, "uplink.primary", v, "primary", 1, f->primary,
	    sizeof(f->primary))) < 0 ||
	    (rc = uplink_name(x, "uplink.primary", f->primary, 1)) < 0 ||
	    (rc = get_str(x, "uplink.fallback", v, "fallback", 1, f->fallback,
	    sizeof(f->fallback))) < 0 ||
	    (rc = uplink_name(x, "uplink.fallback", f->fallback, 1)) < 0 ||
	    (rc = get_uint(x, "uplink.failover_s", v, "failover_s", 0, 1, 3600,
	    &f->failover_s)) < 0)
		return rc;
	if (strcmp(f->primary, f->fallback) == 0)
		return fail(x, "uplink.fallback", "'%s' is the primary too: the "
		    "fallback must be the other uplink", f->fallback);
	strcpy(c->uplink, "failover");
	return 0;
}

/* Whether the configured uplink, or one of a failover pair, is this one. */
int
uses_uplink(const struct site_config *c, const char *name)
{
	if (strcmp(c->uplink, "failover") == 0)
		return strcmp(c->failover.primary, name) == 0 ||
		    strcmp(c->failover.fallback, name) == 0;
	return strcmp(c->uplink, name) == 0;
}

/* "uplink" and the block of each uplink it names. */
int
parse_uplink(struct ctx *x, json_t *root, struct site_config *c)
{
	json_t *v;
	int rc;

	strcpy(c->uplink, "mqtt");
	v = json_object_get(root, "uplink");
	if (json_is_object(v)) {
		if ((rc = parse_failover(x, v, c)) < 0)
			return rc;
	} else if ((rc = get_str(x, "uplink", root, "uplink", 0, c->uplink,
	    sizeof(c->uplink))) < 0 ||
	    (rc = uplink_name(x, "uplink", c->uplink, 0)) < 0)
		return rc;
	v = json_object_get(root, "coap");
	if (v == NULL && uses_uplink(c, "coap"))
		return fail(x, "coap", "missing: \"uplink\" names \"coap\" but no "
		    "server is given");
	if (v != NULL && (rc = parse_coap(x, v, &c->coap)) < 0)
		return rc;
	return 0;
}
/* ---- end CoAP uplink ---- */
