/*
 * DTLS credentials for the CoAP uplink: the PSK file (parsed by coap_psk.c),
 * PEM files, and the libcoap client session that uses them (docs/coap.md).
 *
 * The server is always verified when certificates are used: libcoap checks the
 * chain against ca_file only (check_common_ca, no system CAs), refuses expired
 * and self-signed certificates, and cn_check() below compares the certificate's
 * name with the URI's host, which libcoap 4.3 does not do by itself.
 */
#include "firmware/uplink/coap_dtls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "firmware/base/log.h"
#include "firmware/base/rfile.h"
#include "firmware/base/secret.h"

/* A public PEM file (CA, certificate): not a secret, but size-checked. */
static int
read_pem(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
	int rc;

	if ((rc = rfile_read(path, SECRET_MAX, buf, len, NULL, err, errlen)) < 0)
		return rc;
	if (strstr(*buf, "-----BEGIN") == NULL) {
		snprintf(err, errlen, "%s: not a PEM file", path);
		free(*buf);
		*buf = NULL;
		return -EINVAL;
	}
	(*len)++;		/* libcoap wants the NUL counted for PEM buffers */
	return 0;
}

int
coap_creds_load(const struct coap_cfg *cfg, const char *host,
    struct coap_creds *cr, char *err, size_t errlen)
{
	struct in6_addr a6;
	char why[192];
	char *text;
	size_t len;
	int rc;

	memset(cr, 0, sizeof(*cr));
	snprintf(cr->host, sizeof(cr->host), "%s", host);
	cr->host_is_ip = inet_pton(AF_INET, host, &a6) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1;
	if (cfg->psk_file[0] != '\0') {
		if ((rc = secret_read(cfg->psk_file, &text, &len, err, errlen)) < 0)
			return rc;
		rc = psk_parse(text, len, cr->identity, cr->key, &cr->key_len,
		    why, sizeof(why));
		secret_free(text, len);
		if (rc < 0)
			snprintf(err, errlen, "%s: %s", cfg->psk_file, why);
		return rc;
	}
	if (cfg->ca_file[0] == '\0')
		return 0;
	if ((rc = read_pem(cfg->ca_file, &cr->ca, &cr->ca_len, err, errlen)) < 0)
		goto fail;
	if (cfg->cert_file[0] == '\0')
		return 0;
	if ((rc = read_pem(cfg->cert_file, &cr->cert, &cr->cert_len, err,
	    errlen)) < 0 ||
	    (rc = secret_read(cfg->key_file, &cr->pkey, &cr->pkey_len, err,
	    errlen)) < 0)
		goto fail;
	cr->pkey_len++;		/* secret_read NUL-terminates; count it, as above */
	return 0;
fail:
	coap_creds_free(cr);
	return rc;
}

void
coap_creds_free(struct coap_creds *cr)
{
	if (cr->pkey != NULL)
		secret_free(cr->pkey, cr->pkey_len);
	free(cr->ca);
	free(cr->cert);
	explicit_bzero(cr, sizeof(*cr));
}

/*
 * The server certificate must name the host we asked for. libcoap hands us the
 * first subjectAltName (DNS) or else the CN; depth > 0 is a CA, checked by the
 * chain validation already.
 */
static int
cn_check(const char *cn, const uint8_t *der, size_t der_len, coap_session_t *s,
    unsigned depth, int validated, void *arg)
{
	struct coap_creds *cr = arg;

	(void)der;
	(void)der_len;
	(void)s;
	if (depth > 0)
		return validated;
	if (cn == NULL || strcasecmp(cn, cr->host) != 0) {
		log_warnx("coap: server certificate names '%s', not '%s': refused",
		    cn ? cn : "(nothing)", cr->host);
		return 0;
	}
	return validated;
}

int
coap_creds_awaiting_finished(const coap_session_t *s)
{
	coap_tls_library_t lib;
	SSL *ssl;

	if (s == NULL || (ssl = coap_session_get_tls(s, &lib)) == NULL ||
	    lib != COAP_TLS_LIBRARY_OPENSSL)
		return 0;
	return SSL_get_state(ssl) == TLS_ST_CW_FINISHED;
}

coap_session_t *
coap_creds_session(coap_context_t *ctx, const coap_address_t *dst,
    const struct coap_cfg *cfg, struct coap_creds *cr)
{
	if (!cfg->secure)
		return coap_new_client_session(ctx, NULL, dst, COAP_PROTO_UDP);
	if (cfg->psk_file[0] != '\0') {
		coap_dtls_cpsk_t p;

		memset(&p, 0, sizeof(p));
		p.version = COAP_DTLS_CPSK_SETUP_VERSION;
		p.client_sni = cr->host_is_ip ? NULL : cr->host;
		p.psk_info.identity.s = (const uint8_t *)cr->identity;
		p.psk_info.identity.length = strlen(cr->identity);
		p.psk_info.key.s = cr->key;
		p.psk_info.key.length = cr->key_len;
		return coap_new_client_session_psk2(ctx, NULL, dst, COAP_PROTO_DTLS, &p);
	} else {
		coap_dtls_pki_t p;

		memset(&p, 0, sizeof(p));
		p.version = COAP_DTLS_PKI_SETUP_VERSION;
		p.verify_peer_cert = 1;
		p.check_common_ca = 1;
		p.allow_self_signed = 0;
		p.allow_expired_certs = 0;
		p.cert_chain_validation = 1;
		p.cert_chain_verify_depth = 3;
		p.validate_cn_call_back = cn_check;
		p.cn_call_back_arg = cr;
		p.client_sni = cr->host_is_ip ? NULL : cr->host;
		p.pki_key.key_type = COAP_PKI_KEY_PEM_BUF;
		p.pki_key.key.pem_buf.ca_cert = (const uint8_t *)cr->ca;
		p.pki_key.key.pem_buf.ca_cert_len = cr->ca_len;
		p.pki_key.key.pem_buf.public_cert = (const uint8_t *)cr->cert;
		p.pki_key.key.pem_buf.public_cert_len = cr->cert_len;
		p.pki_key.key.pem_buf.private_key = (const uint8_t *)cr->pkey;
		p.pki_key.key.pem_buf.private_key_len = cr->pkey_len;
		return coap_new_client_session_pki(ctx, NULL, dst, COAP_PROTO_DTLS, &p);
	}
}

/*
 * A wrong PSK key is silent (the server cannot decrypt our Finished, so it
 * drops it); an identity the server does not know is refused with an alert,
 * before our Finished; a refused certificate is named by OpenSSL's line before.
 */
void
coap_creds_why(const struct coap_cfg *cfg, const struct coap_creds *cr,
    enum coap_creds_fail f, long long ms, char *buf, size_t len)
{
	int psk = cfg->psk_file[0] != '\0';

	if (f == COAP_CREDS_ALERT && psk)
		snprintf(buf, len, "DTLS handshake failed: refused by the server "
		    "(PSK identity '%s' unknown to it?)", cr->identity);
	else if (f == COAP_CREDS_ALERT)
		snprintf(buf, len, "DTLS handshake failed (certificate refused? see "
		    "the line before)");
	else if (f == COAP_CREDS_NO_FINISHED)
		snprintf(buf, len, "DTLS handshake failed: the server answered our "
		    "hello but not our Finished within %lld ms (%s)", ms, psk ?
		    "decrypt error on its side: wrong PSK key?" :
		    "our certificate or key refused?");
	else
		snprintf(buf, len, "DTLS handshake failed: no answer within %lld ms "
		    "(server down, or %s)", ms, psk ? "wrong PSK identity or key" :
		    "our certificate refused");
}
