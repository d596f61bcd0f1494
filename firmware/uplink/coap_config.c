/*
 * "coap": {"uri", "psk_file", "ca_file", "cert_file", "key_file",
 * "ack_timeout_ms", "max_retransmit"}.
 */
#include "firmware/uplink/coap_config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/base/rfile.h"
#include "firmware/base/secret.h"

/*
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
check_file(struct jc *x, const char *key, const char *path, int secret)
{
	char why[192];

	if (path[0] == '\0')
		return 0;
	if (secret) {
		if (secret_check(path, why, sizeof(why)) < 0)
			return jc_fail(x, key, "%s", why);
	} else if (rfile_check(path, why, sizeof(why)) < 0) {
		return jc_fail(x, key, "%s", why);
	}
	return 0;
}

int
coap_config_parse(struct jc *x, json_t *m, const struct uplink_site *site,
    const struct uplink_conf *confs, size_t n_confs, void *cfg)
{
	static const char *const keys[] = { "uri", "psk_file", "ca_file",
		"cert_file", "key_file", "ack_timeout_ms", "max_retransmit", NULL };
	struct coap_cfg *q = cfg;
	const char *why = NULL;
	char shown[64];
	int rc;

	(void)site;
	(void)confs;
	(void)n_confs;
	if ((rc = jc_object(x, m, "coap")) < 0 ||
	    (rc = jc_check_keys(x, m, "coap", keys)) < 0)
		return rc;
	q->ack_timeout_ms = 2000;
	q->max_retransmit = 4;
	if ((rc = jc_get_str(x, m, "coap", "uri", JC_REQUIRED, q->uri,
	    sizeof(q->uri))) < 0 ||
	    (rc = jc_get_str(x, m, "coap", "psk_file", 0, q->psk_file,
	    sizeof(q->psk_file))) < 0 ||
	    (rc = jc_get_str(x, m, "coap", "ca_file", 0, q->ca_file,
	    sizeof(q->ca_file))) < 0 ||
	    (rc = jc_get_str(x, m, "coap", "cert_file", 0, q->cert_file,
	    sizeof(q->cert_file))) < 0 ||
	    (rc = jc_get_str(x, m, "coap", "key_file", 0, q->key_file,
	    sizeof(q->key_file))) < 0 ||
	    (rc = jc_get_uint(x, m, "coap", "ack_timeout_ms", 0, 200, 60000,
	    &q->ack_timeout_ms)) < 0 ||
	    (rc = jc_get_uint(x, m, "coap", "max_retransmit", 0, 1, 10,
	    &q->max_retransmit)) < 0)
		return rc;
	jc_shown(q->uri, shown, sizeof(shown));
	if (!coap_uri_valid(q->uri, &q->secure, &why))
		return jc_fail(x, "coap.uri", "'%s': %s", shown, why);
	if (!q->secure && (q->psk_file[0] || q->ca_file[0] || q->cert_file[0] ||
	    q->key_file[0]))
		return jc_fail(x, "coap.uri", "credentials are given but '%s' is not "
		    "coaps://", shown);
	if (q->secure && !q->psk_file[0] && !q->ca_file[0])
		return jc_fail(x, "coap.uri", "coaps:// needs psk_file or ca_file");
	if (q->psk_file[0] && (q->ca_file[0] || q->cert_file[0] || q->key_file[0]))
		return jc_fail(x, "coap.psk_file", "either a pre-shared key or "
		    "certificates (ca_file, cert_file, key_file), not both");
	if (!q->cert_file[0] != !q->key_file[0])
		return jc_fail(x, q->cert_file[0] ? "coap.key_file" : "coap.cert_file",
		    "cert_file and key_file go together");
	if ((rc = check_file(x, "coap.psk_file", q->psk_file, 1)) < 0 ||
	    (rc = check_file(x, "coap.ca_file", q->ca_file, 0)) < 0 ||
	    (rc = check_file(x, "coap.cert_file", q->cert_file, 0)) < 0 ||
	    (rc = check_file(x, "coap.key_file", q->key_file, 1)) < 0)
		return rc;
	return 0;
}
