#include "firmware/uplink/coap_msg.h"

#include <stdio.h>
#include <string.h>

#include "firmware/base/log.h"

unsigned
coap_msg_size1(const coap_pdu_t *pdu)
{
	coap_opt_iterator_t it;
	coap_opt_t *o = coap_check_option(pdu, COAP_OPTION_SIZE1, &it);

	return o == NULL ? 0 : coap_decode_var_bytes(coap_opt_value(o),
	    coap_opt_length(o));
}

const char *
coap_msg_nack(coap_nack_reason_t r)
{
	switch (r) {
	case COAP_NACK_TOO_MANY_RETRIES:
		return "no answer";
	case COAP_NACK_NOT_DELIVERABLE:
		return "not deliverable";
	case COAP_NACK_RST:
		return "reset by the server";
	case COAP_NACK_TLS_FAILED:
		return "DTLS failed";
	case COAP_NACK_ICMP_ISSUE:
		return "ICMP error (port unreachable?)";
	default:
		return "failed";
	}
}

const char *
coap_msg_refusal(coap_pdu_code_t code)
{
	switch (code) {
	case COAP_RESPONSE_CODE(401):
		return "Unauthorized: the platform does not accept this gateway's "
		    "credentials";
	case COAP_RESPONSE_CODE(403):
		return "Forbidden: the platform refuses this gateway (credentials "
		    "revoked, or the URI?)";
	case COAP_RESPONSE_CODE(404):
		return "Not Found: no such resource (coap.uri's path or the gateway "
		    "id wrong?)";
	case COAP_RESPONSE_CODE(405):
		return "Method Not Allowed: coap.uri leads to the wrong endpoint?";
	default:
		return NULL;
	}
}

/*
 * OpenSSL's reason for a failed handshake is among libcoap's warnings: they
 * go to our log, each distinct line once in a row.
 */
/*
 * libcoap's last "ICMP: ..." line since coap_msg_take_icmp (one context per
 * thread: libcoap logs in the thread that runs the context, and the OTA
 * download's CoAP context runs in its worker, beside the uplink's).
 */
static _Thread_local char icmp[96];

int
coap_msg_take_icmp(char *why, size_t len)
{
	int seen = icmp[0] != '\0';

	if (seen && why != NULL)
		snprintf(why, len, "%s", icmp);
	icmp[0] = '\0';
	return seen;
}

void
coap_msg_log(coap_log_t level, const char *msg)
{
	static _Thread_local char last[192];
	char line[192];
	const char *p;
	size_t n;

	if ((p = strstr(msg, "ICMP: ")) != NULL) {
		snprintf(icmp, sizeof(icmp), "%s", p);
		n = strlen(icmp);
		while (n > 0 && (icmp[n - 1] == '\n' || icmp[n - 1] == ' '))
			icmp[--n] = '\0';
	}
	if (level > LOG_WARNING || strncmp(msg, "got RST for mid", 15) == 0)
		return;		/* the RST answering our ping is no news */
	/* "   local <-> remote DTLS: why": the local port changes every attempt */
	if ((p = strstr(msg, " <-> ")) != NULL && (p = strchr(p + 5, ' ')) != NULL)
		msg = p + 1;
	snprintf(line, sizeof(line), "%s", msg);
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == ' '))
		line[--n] = '\0';
	if (strcmp(line, last) == 0)
		return;
	memcpy(last, line, sizeof(last));
	log_warnx("coap: libcoap: %s", line);
}
