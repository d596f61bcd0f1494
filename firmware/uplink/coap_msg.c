#include "firmware/uplink/coap_msg.h"

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
