/*
 * The receiver's output: one JSON object per reading, one line each, fields in a
 * fixed order so that line-oriented tools (grep, jq, diff) work on it:
 *
 *   {"gateway":"gw-0001","device":"meter1","quantity":"voltage_l1","unit":"V",
 *    "ts":1763827200000,"time":"2026-11-22T16:00:00.000Z","value":230.41,"seq":17}
 *
 * An invalid reading has "value":null,"quality":"invalid"; a backlog batch adds
 * "historical":true.
 */
#ifndef WG_RECV_OUTPUT_H
#define WG_RECV_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include "firmware/codec/batch.h"
#include "firmware/codec/schema.h"

/*
 * Check that every reading's device and point index exist in the schema.
 * 0, or -EINVAL with a one-line reason in err ("seq 17: device 4 not in schema
 * 1a2b3c4d (2 devices)").
 */
int output_check(const struct batch_hdr *h, const struct schema *s,
    const struct reading *r, size_t n, char *err, size_t errlen);

/*
 * Write the n readings of a checked batch (output_check() passed) to f.
 * 0, or -EIO if writing failed.
 */
int output_batch(FILE *f, const struct batch_hdr *h, const struct schema *s,
    const struct reading *r, size_t n);

/*
 * s as a JSON string with its quotes; invalid UTF-8 bytes become U+FFFD, so the
 * line stays valid JSON whatever the schema held.
 */
void output_json_string(FILE *f, const char *s);

/* ISO 8601 UTC with milliseconds ("2026-11-22T16:00:00.000Z"); -ERANGE if the
 * year is outside 0..9999. buf needs 25 bytes. */
int output_time(int64_t ts_ms, char *buf, size_t len);

#endif
