/*
 * Where the CoAP uplink (coap.c) sends: coap.uri split into host, port and
 * base path (the dial resolves the host, dial.h), a path as Uri-Path options.
 * Split from coap.c.
 */
#ifndef WG_COAP_ADDR_H
#define WG_COAP_ADDR_H

#include <stddef.h>

#include "firmware/base/coap_lib.h"

/*
 * uri into host, port and base (its path: segments, no leading or trailing
 * '/'). 0, or -EINVAL after logging why.
 */
int coap_addr_parse(const char *uri, char *host, size_t host_len, unsigned *port,
    char *base, size_t base_len);

/* Uri-Path options from "a/b/c" (no empty segments: config.c checked). */
int coap_addr_path(coap_pdu_t *pdu, const char *path);

#endif
