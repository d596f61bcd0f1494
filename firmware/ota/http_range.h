#ifndef WG_OTA_HTTP_RANGE_H
#define WG_OTA_HTTP_RANGE_H

#include <stdint.h>

/*
 * A Content-Range header's value (after the colon; spaces and a CR LF
 * around it allowed): "bytes A-B/T" with A <= B < T, or "bytes A-B/" and a
 * star for an unknown length (*total = 0). Decimal digits only: no sign, no
 * space inside, no overflow. 0, or -1 for anything else.
 */
int http_content_range(const char *s, uint64_t *first, uint64_t *last,
    uint64_t *total);

#endif
