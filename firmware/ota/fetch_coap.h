/*
 * fetch_range() for coap:// and coaps:// (fetch_coap.c): the range in RFC
 * 7959 Block2 blocks, for CoAP sites. Called by fetch_range() once the
 * request is known to make sense; the same contract (fetch.h).
 */
#ifndef WG_OTA_FETCH_COAP_H
#define WG_OTA_FETCH_COAP_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct fetch_req;

/*
 * [r->from, r->to) of a coap:// or coaps:// URL; where: how why lines name
 * it (the URL without its query). Returns and *got as fetch_range().
 */
/*
 * why = "WHERE: " + the message (fetch.c's and fetch_coap.c's one line);
 * returns err, for "return say(...)".
 */
int fetch_vsay(char *why, size_t len, const char *where, int err,
    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

int fetch_coap(const struct fetch_req *r, const char *where,
    int (*data)(void *arg, const uint8_t *p, size_t n), void *arg,
    const volatile int *cancel, uint64_t *got, char *why, size_t len);

#endif
