#include "firmware/uplink/coap_addr.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "firmware/base/log.h"

int
coap_addr_parse(const char *uri, char *host, size_t host_len, unsigned *port,
    char *base, size_t base_len)
{
	coap_uri_t u;

	if (coap_split_uri((const uint8_t *)uri, strlen(uri), &u) < 0 ||
	    u.host.length == 0 || u.host.length >= host_len ||
	    u.path.length >= base_len) {
		log_warnx("coap.uri '%s': libcoap cannot parse it", uri);
		return -EINVAL;
	}
	memcpy(host, u.host.s, u.host.length);
	host[u.host.length] = '\0';
	*port = u.port;
	memcpy(base, u.path.s, u.path.length);
	base[u.path.length] = '\0';
	return 0;
}

int
coap_addr_path(coap_pdu_t *pdu, const char *path)
{
	const char *p = path, *e;

	while (*p != '\0') {
		e = strchr(p, '/');
		if (e == NULL)
			e = p + strlen(p);
		if (!coap_add_option(pdu, COAP_OPTION_URI_PATH, (size_t)(e - p),
		    (const uint8_t *)p))
			return -ENOSPC;
		p = *e == '/' ? e + 1 : e;
	}
	return 0;
}
