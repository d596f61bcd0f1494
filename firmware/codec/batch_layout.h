/*
 * Constants and helpers of the batch body layout (docs/batch-format.md, 4.),
 * shared by the encoder (batch.c) and the decoder (batch_dec.c). Internal to
 * firmware/codec.
 */
#ifndef WG_CODEC_BATCH_LAYOUT_H
#define WG_CODEC_BATCH_LAYOUT_H

#include <stdint.h>

#include "firmware/codec/batch.h"

/* base_ts_ms is sent in whole seconds: one varint byte less than milliseconds. */
#define BASE_UNIT_MS	1000

/*
 * Column codes, two bits per column: 0..CODE_PLAIN_MAX is a plain column
 * (every timestamp, every reading OK) with exponent e_base + code;
 * CODE_ESCAPE announces a mode byte.
 */
#define CODE_BITS	2
#define CODE_PLAIN_MAX	2
#define CODE_ESCAPE	3

/* Mode byte of an escaped column */
#define COL_PRESENCE	0x01
#define COL_INVALID	0x02
#define COL_PERVALUE_EXP 0x04
#define COL_KNOWN	(COL_PRESENCE | COL_INVALID | COL_PERVALUE_EXP)

/*
 * Prediction of a column's first mantissa: the first mantissa of the last
 * column before it (in the block) that had a shared exponent and a value, if
 * that exponent is the same; else 0. Neighbouring points of a meter (the
 * three phase voltages, the power factors) are close, so their difference is
 * shorter than the value.
 */
struct col_pred {
	int64_t e;
	int64_t m;
};

static inline int64_t
col_pred_for(const struct col_pred *p, int64_t e)
{
	return p->e == e ? p->m : 0;
}

static inline int
ts_valid(int64_t ts)
{
	return ts >= -BATCH_TS_MAX && ts <= BATCH_TS_MAX;
}

/* (dev, ts, point): the order of the timestamp list and of decoded output. */
static inline int
cmp_dev_ts_point(const void *pa, const void *pb)
{
	const struct reading *a = pa, *b = pb;

	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	if (a->ts_ms != b->ts_ms)
		return a->ts_ms < b->ts_ms ? -1 : 1;
	if (a->point != b->point)
		return a->point < b->point ? -1 : 1;
	return 0;
}

#endif
