/*
 * Mutual TLS for the MQTT uplink.
 *
 * We build the OpenSSL context ourselves and hand it to libmosquitto
 * (MOSQ_OPT_SSL_CTX, without its defaults) rather than use mosquitto_tls_set:
 *
 *  - libmosquitto checks the broker's certificate against the host it
 *    connects to, with no way to name another (server_name); OpenSSL's own
 *    check (X509_VERIFY_PARAM host or IP, RFC 6125 matching, no partial
 *    wildcards) takes any name, and fails the handshake itself;
 *  - mosquitto_tls_set takes a key path and opens it later, so a check of
 *    that path and the read that follows are two different moments; here
 *    the key is read once through secret_read (checked on the open file) and
 *    parsed from memory, and so are the CA and the certificate (rfile: a
 *    FIFO or device named by mistake is refused, never waited on);
 *  - our verify callback sees why a certificate was refused (expired, not
 *    from our CA, not for this name) and keeps it for the one log line.
 *
 * The context is made anew for each attempt, like the client (mqtt.c): a CA,
 * certificate or key replaced on disk is used at the next attempt, no restart.
 * TLS 1.2 is the floor; 1.3 is negotiated whenever the broker offers it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <mosquitto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/base/rfile.h"
#include "firmware/base/secret.h"
#include "firmware/uplink/mqtt_tls.h"

/*
 * The first OpenSSL reason queued: the root cause ("No such file or
 * directory"), where the later ones only say which layer passed it on.
 */
static const char *
ssl_reason(void)
{
	unsigned long e = ERR_get_error();
	const char *r = e == 0 ? NULL : ERR_GET_LIB(e) == ERR_LIB_SYS ?
	    strerror(ERR_GET_REASON(e)) : ERR_reason_error_string(e);

	ERR_clear_error();
	return r != NULL ? r : "unknown error";
}

/* An encrypted key would make OpenSSL prompt on a tty: refuse instead. */
static int
no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/* Alerts a server sends about the client's certificate (RFC 8446 6.2). */
static int
is_cert_alert(int desc)
{
	switch (desc) {
	case SSL3_AD_BAD_CERTIFICATE:
	case SSL3_AD_UNSUPPORTED_CERTIFICATE:
	case SSL3_AD_CERTIFICATE_REVOKED:
	case SSL3_AD_CERTIFICATE_EXPIRED:
	case SSL3_AD_CERTIFICATE_UNKNOWN:
	case TLS1_AD_UNKNOWN_CA:
	case TLS1_AD_ACCESS_DENIED:
	case TLS13_AD_CERTIFICATE_REQUIRED:
		return 1;
	}
	return 0;
}

/* An IPv4 or IPv6 address (which SNI must not carry), not a name. */
static int
is_ip_literal(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/*
 * Runs for each certificate of the broker's chain; a refusal keeps the first
 * reason, named for an operator ("not signed by our CA" beats error 20).
 */
static int
verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs,
	    SSL_get_ex_data_X509_STORE_CTX_idx());
	struct mqtt_tls_diag *d;
	X509 *cert;
	char cn[96] = "?";
	int e;

	if (ok || ssl == NULL ||
	    (d = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl))) == NULL ||
	    d->cause[0] != '\0')
		return ok;
	e = X509_STORE_CTX_get_error(xs);
	if ((cert = X509_STORE_CTX_get_current_cert(xs)) != NULL &&
	    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName,
	    cn, sizeof(cn)) < 0)
		snprintf(cn, sizeof(cn), "?");
	switch (e) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
	case X509_V_ERR_IP_ADDRESS_MISMATCH:
		snprintf(d->cause, sizeof(d->cause), "the broker's certificate "
		    "(CN=%s) is not for '%s' (hostname mismatch; mqtt.tls."
		    "server_name sets the name to expect)", cn, d->cfg->server_name);
		break;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		snprintf(d->cause, sizeof(d->cause), "the broker's certificate "
		    "(CN=%s, depth %d): %s (or this clock is wrong)", cn,
		    X509_STORE_CTX_get_error_depth(xs), X509_verify_cert_error_string(e));
		break;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_SIGNATURE_FAILURE:
		snprintf(d->cause, sizeof(d->cause), "the broker's certificate "
		    "chain (at CN=%s) is not signed by the CA in %s (%s)", cn,
		    d->cfg->ca_file, X509_verify_cert_error_string(e));
		break;
	default:
		snprintf(d->cause, sizeof(d->cause), "the broker's certificate "
		    "(CN=%s, depth %d) was refused: %s", cn,
		    X509_STORE_CTX_get_error_depth(xs), X509_verify_cert_error_string(e));
	}
	return ok;
}

static void
refused_cert(struct mqtt_tls_diag *d, const char *why)
{
	snprintf(d->cause, sizeof(d->cause), "the broker refused our client "
	    "certificate %s (%s)", d->cfg->cert_file, why);
	d->kind = "client-cert";
}

/*
 * The handshake's start (SNI), its end and the broker's alerts, read as they arrive: with
 * TLS 1.3 our side is done before the broker has checked our certificate,
 * so its refusal comes as an alert after the handshake.
 */
static void
info_cb(const SSL *ssl, int where, int ret)
{
	struct mqtt_tls_diag *d = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	char why[96];

	if (d == NULL)
		return;
	/*
	 * libmosquitto connects to the numeric address the dial chose and
	 * names that in the ClientHello's SNI; the broker must see the name
	 * (RFC 6066 allows no addresses there, and a broker behind a
	 * name-routing proxy needs it). This runs inside SSL_connect, before
	 * the ClientHello is built.
	 */
	if ((where & SSL_CB_HANDSHAKE_START) && !SSL_is_server(ssl)) {
		/* A variable: the macro casts its argument without parentheses. */
		const char *sni = is_ip_literal(d->cfg->server_name) ? NULL :
		    d->sni;

		SSL_set_tlsext_host_name((SSL *)ssl, sni);
	}
	if (where & SSL_CB_HANDSHAKE_DONE)
		d->handshake_done = 1;
	if ((where & SSL_CB_READ_ALERT) == SSL_CB_READ_ALERT &&
	    (ret >> 8) == SSL3_AL_FATAL && d->cause[0] == '\0') {
		snprintf(why, sizeof(why), "TLS alert: %s",
		    SSL_alert_desc_string_long(ret));
		if (d->cfg->cert_file[0] != '\0' && is_cert_alert(ret & 0xff))
			refused_cert(d, why);
		else
			snprintf(d->cause, sizeof(d->cause), "the broker ended the "
			    "TLS handshake: %s", why);
	}
}

/* A PEM file into a memory BIO (the file read whole by rfile). */
static BIO *
pem_bio(const char *key, const char *path, char **text, char *err,
    size_t errlen)
{
	char why[256];
	size_t len;
	BIO *bio;

	if (rfile_read(path, SECRET_MAX, text, &len, NULL, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "mqtt.tls.%s %s", key, why);
		return NULL;
	}
	if (len > (size_t)INT_MAX || (bio = BIO_new_mem_buf(*text, (int)len)) == NULL) {
		snprintf(err, errlen, "mqtt.tls.%s %s: out of memory", key, path);
		free(*text);
		*text = NULL;
		return NULL;
	}
	return bio;
}

/* Every certificate of ca_file is a trust anchor (and only those). */
static int
load_ca(SSL_CTX *ctx, const struct mqtt_tls_cfg *c, char *err, size_t errlen)
{
	STACK_OF(X509_INFO) *infos = NULL;
	X509_STORE *store = SSL_CTX_get_cert_store(ctx);
	X509_INFO *xi;
	char *text = NULL;
	int i, n = 0, rc = -EINVAL;
	BIO *bio;

	if ((bio = pem_bio("ca_file", c->ca_file, &text, err, errlen)) == NULL)
		return -EINVAL;
	if ((infos = PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL)) == NULL) {
		snprintf(err, errlen, "mqtt.tls.ca_file %s: %s", c->ca_file,
		    ssl_reason());
		goto out;
	}
	for (i = 0; i < sk_X509_INFO_num(infos); i++) {
		xi = sk_X509_INFO_value(infos, i);
		if (xi->x509 == NULL)
			continue;
		if (X509_STORE_add_cert(store, xi->x509) != 1) {
			snprintf(err, errlen, "mqtt.tls.ca_file %s: %s", c->ca_file,
			    ssl_reason());
			goto out;
		}
		n++;
	}
	if (n == 0) {
		snprintf(err, errlen, "mqtt.tls.ca_file %s: no PEM certificate in it",
		    c->ca_file);
		goto out;
	}
	ERR_clear_error();
	rc = 0;
out:
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	BIO_free(bio);
	free(text);
	return rc;
}

/* cert_file: our certificate first, then the chain up to (not incl.) the CA. */
static int
load_chain(SSL_CTX *ctx, const struct mqtt_tls_cfg *c, char *err, size_t errlen)
{
	unsigned long e;
	char *text = NULL;
	X509 *x = NULL;
	int rc = -EINVAL;
	BIO *bio;

	if ((bio = pem_bio("cert_file", c->cert_file, &text, err, errlen)) == NULL)
		return -EINVAL;
	if ((x = PEM_read_bio_X509_AUX(bio, NULL, no_passphrase, NULL)) == NULL ||
	    SSL_CTX_use_certificate(ctx, x) != 1) {
		snprintf(err, errlen, "mqtt.tls.cert_file %s: %s", c->cert_file,
		    ssl_reason());
		goto out;
	}
	X509_free(x);
	while ((x = PEM_read_bio_X509(bio, NULL, no_passphrase, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			snprintf(err, errlen, "mqtt.tls.cert_file %s: %s",
			    c->cert_file, ssl_reason());
			goto out;
		}
	}
	x = NULL;
	/*
	 * The end of the PEM text queues "no start line": that is not an
	 * error; anything else (a truncated intermediate) is.
	 */
	e = ERR_peek_last_error();
	if (e != 0 && (ERR_GET_LIB(e) != ERR_LIB_PEM ||
	    ERR_GET_REASON(e) != PEM_R_NO_START_LINE)) {
		snprintf(err, errlen, "mqtt.tls.cert_file %s: %s", c->cert_file,
		    ssl_reason());
		goto out;
	}
	ERR_clear_error();
	rc = 0;
out:
	X509_free(x);
	BIO_free(bio);
	free(text);
	return rc;
}

/* Our certificate and key; the key through secret_read, parsed from memory. */
static int
load_identity(SSL_CTX *ctx, const struct mqtt_tls_cfg *c, char *err,
    size_t errlen)
{
	char serr[256], *pem = NULL;
	size_t len = 0;
	EVP_PKEY *key = NULL;
	BIO *bio = NULL;
	int rc;

	if ((rc = load_chain(ctx, c, err, errlen)) < 0)
		return rc;
	if ((rc = secret_read(c->key_file, &pem, &len, serr, sizeof(serr))) < 0) {
		snprintf(err, errlen, "mqtt.tls.key_file %s", serr);
		return rc;
	}
	rc = -EINVAL;
	if (len > (size_t)INT_MAX || (bio = BIO_new_mem_buf(pem, (int)len)) == NULL ||
	    (key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL)) == NULL)
		snprintf(err, errlen, "mqtt.tls.key_file %s: not a PEM private key "
		    "without passphrase (%s)", c->key_file, ssl_reason());
	else if (SSL_CTX_use_PrivateKey(ctx, key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		snprintf(err, errlen, "mqtt.tls.key_file %s does not belong to the "
		    "certificate in %s (%s)", c->key_file, c->cert_file, ssl_reason());
	else
		rc = 0;
	EVP_PKEY_free(key);
	BIO_free(bio);
	secret_free(pem, len + 1);
	return rc;
}

int
mqtt_tls_setup(struct mosquitto *m, const struct mqtt_tls_cfg *c,
    struct mqtt_tls_diag *d, char *err, size_t errlen)
{
	X509_VERIFY_PARAM *param;
	SSL_CTX *ctx;
	int rc = -EINVAL;

	d->cause[0] = '\0';
	d->kind = NULL;
	d->handshake_done = 0;
	d->cfg = c;
	snprintf(d->sni, sizeof(d->sni), "%s", c->server_name);
	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "mqtt.tls: no TLS context: %s", ssl_reason());
		return -ENOMEM;
	}
	SSL_CTX_set_app_data(ctx, d);
	SSL_CTX_set_default_passwd_cb(ctx, no_passphrase);
	/* Small boards: buffers only while a record is in flight. */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		snprintf(err, errlen, "mqtt.tls: cannot require TLS 1.2: %s",
		    ssl_reason());
		goto out;
	}
	if (load_ca(ctx, c, err, errlen) < 0)
		goto out;
	param = SSL_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if ((is_ip_literal(c->server_name) ?
	    X509_VERIFY_PARAM_set1_ip_asc(param, c->server_name) :
	    X509_VERIFY_PARAM_set1_host(param, c->server_name, 0)) != 1) {
		snprintf(err, errlen, "mqtt.tls.server_name '%s': not usable for the "
		    "certificate check", c->server_name);
		goto out;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
	SSL_CTX_set_info_callback(ctx, info_cb);
	if (c->cert_file[0] != '\0' && (rc = load_identity(ctx, c, err, errlen)) < 0)
		goto out;
	/* Without this libmosquitto would redo the context its own way. */
	if (mosquitto_int_option(m, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0) !=
	    MOSQ_ERR_SUCCESS ||
	    mosquitto_void_option(m, MOSQ_OPT_SSL_CTX, ctx) != MOSQ_ERR_SUCCESS) {
		snprintf(err, errlen, "mqtt.tls: this libmosquitto has no TLS");
		rc = -ENOTSUP;
		goto out;
	}
	rc = 0;
out:
	/* libmosquitto holds its own reference from here on. */
	SSL_CTX_free(ctx);
	ERR_clear_error();
	return rc;
}

/*
 * libmosquitto reports OpenSSL's errors as "OpenSSL Error[0]: error:0A000086:
 * SSL routines::certificate verify failed". Our callbacks have said more if
 * they saw anything; otherwise the last field is the reason.
 */
void
mqtt_tls_note(struct mqtt_tls_diag *d, const char *line)
{
	const char *why;

	if (d->cfg == NULL || d->cause[0] != '\0' ||
	    strncmp(line, "OpenSSL Error", 13) != 0)
		return;
	why = strrchr(line, ':');
	why = why != NULL && why[1] != '\0' ? why + 1 : line;
	if (strstr(why, "alert") != NULL && d->cfg->cert_file[0] != '\0' &&
	    (strstr(why, "certificate") != NULL || strstr(why, "unknown ca") != NULL))
		refused_cert(d, why);
	else
		snprintf(d->cause, sizeof(d->cause), "TLS: %s", why);
}

void
mqtt_tls_closed(struct mqtt_tls_diag *d, const char *why)
{
	char what[128];

	if (d->cfg == NULL || d->cause[0] != '\0' || !d->handshake_done ||
	    d->cfg->cert_file[0] == '\0')
		return;
	snprintf(what, sizeof(what), "it dropped the connection after the TLS "
	    "handshake, before CONNACK: %s", why);
	refused_cert(d, what);
}

void
mqtt_tls_session(struct mosquitto *m, char *buf, size_t len)
{
	SSL *ssl = mosquitto_ssl_get(m);

	if (ssl == NULL)
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, "%s %s", SSL_get_version(ssl),
		    SSL_get_cipher_name(ssl));
}
