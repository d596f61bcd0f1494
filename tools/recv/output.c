/*
 * JSON lines for decoded readings (see output.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "firmware/base/clock.h"
#include "firmware/base/dec.h"
#include "tools/recv/output.h"

int
output_check(const struct batch_hdr *h, const struct schema *s,
    const struct reading *r, size_t n, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (r[i].dev >= s->n_devices) {
			snprintf(err, errlen, "seq %" PRIu64 ": device %u not in "
			    "schema %08" PRIx32 " (%zu devices)", h->seq,
			    r[i].dev, h->schema_id, s->n_devices);
			return -EINVAL;
		}
		if (r[i].point >= s->devices[r[i].dev].n_points) {
			snprintf(err, errlen, "seq %" PRIu64 ": device %u point %u "
			    "not in schema %08" PRIx32 " (%zu points)", h->seq,
			    r[i].dev, r[i].point, h->schema_id,
			    s->devices[r[i].dev].n_points);
			return -EINVAL;
		}
		if (r[i].quality != Q_OK && r[i].quality != Q_INVALID) {
			snprintf(err, errlen, "seq %" PRIu64 ": unknown quality %u",
			    h->seq, r[i].quality);
			return -EINVAL;
		}
	}
	return 0;
}

/*
 * Length of the valid UTF-8 sequence at s (1..4), or 0 if s starts an invalid
 * one (stray continuation, overlong form, surrogate, beyond U+10FFFF).
 */
static size_t
utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0;
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 ||
		    (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

void
output_json_string(FILE *f, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t k;

	putc('"', f);
	while (*s) {
		switch (*s) {
		case '"':  fputs("\\\"", f); s++; continue;
		case '\\': fputs("\\\\", f); s++; continue;
		case '\b': fputs("\\b", f); s++; continue;
		case '\f': fputs("\\f", f); s++; continue;
		case '\n': fputs("\\n", f); s++; continue;
		case '\r': fputs("\\r", f); s++; continue;
		case '\t': fputs("\\t", f); s++; continue;
		default: break;
		}
		if (*s < 0x20 || *s == 0x7f) {
			fprintf(f, "\\u%04x", *s);
			s++;
			continue;
		}
		/* utf8_len() stops at the NUL: a continuation byte is never 0. */
		k = utf8_len(s);
		if (k == 0) {
			fputs("\\ufffd", f);
			s++;
			continue;
		}
		fwrite(s, 1, k, f);
		s += k;
	}
	putc('"', f);
}

int
output_time(int64_t ts_ms, char *buf, size_t len)
{
	return clock_utc_ms(ts_ms, buf, len);
}

int
output_batch(FILE *f, const struct batch_hdr *h, const struct schema *s,
    const struct reading *r, size_t n)
{
	char num[DEC_STRLEN], when[32];
	size_t i;

	for (i = 0; i < n; i++) {
		const struct schema_device *d = &s->devices[r[i].dev];
		const struct schema_point *p = &d->points[r[i].point];

		fputs("{\"gateway\":", f);
		output_json_string(f, h->gw);
		fputs(",\"device\":", f);
		output_json_string(f, d->name);
		fputs(",\"quantity\":", f);
		output_json_string(f, p->name);
		fputs(",\"unit\":", f);
		output_json_string(f, p->unit);
		fprintf(f, ",\"ts\":%" PRId64, r[i].ts_ms);
		if (output_time(r[i].ts_ms, when, sizeof(when)) == 0)
			fprintf(f, ",\"time\":\"%s\"", when);
		else
			fputs(",\"time\":null", f);
		if (r[i].quality == Q_OK &&
		    dec_format(r[i].v, num, sizeof(num)) > 0)
			fprintf(f, ",\"value\":%s", num);
		else
			fputs(",\"value\":null,\"quality\":\"invalid\"", f);
		fprintf(f, ",\"seq\":%" PRIu64, h->seq);
		if (h->flags & BATCH_F_SPAN)
			fprintf(f, ",\"seq_last\":%" PRIu64, h->seq_last);
		if (h->flags & BATCH_F_HISTORICAL)
			fputs(",\"historical\":true", f);
		fputs("}\n", f);
	}
	return ferror(f) ? -EIO : 0;
}
