/*
 * Batch wire format: encode and decode. Specified in docs/batch-format.md; this is
 * the reference implementation shared by the daemon and the tools.
 *
 * A batch is a small header (gateway id, sequence, schema id, flags) and a body of
 * readings laid out by column (per device: timestamps, then per point its values),
 * delta-coded as zigzag varints and raw-deflated when that is smaller. Names and
 * units travel once per configuration in a schema document (schema.h), not per batch.
 *
 * Pure functions: no I/O, no globals; allocation only for the encoder's
 * state and scratch (batch_enc) and inside zlib.
 */
#ifndef WG_BATCH_H
#define WG_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/base/reading.h"

/*
 * 2: the u32 after seq/span is a CRC-32 over the schema document and the
 * message (see struct batch_hdr), no longer the schema id alone.
 */
#define BATCH_VERSION		2
#define BATCH_GW_MAX		64	/* gateway id length, [A-Za-z0-9._-] */
#define BATCH_BODY_MAX		(4u << 20)	/* decoded body bound: refuse bigger */
/* Timestamps are within +-2^62 ms so that every difference fits in int64. */
#define BATCH_TS_MAX		((int64_t)1 << 62)
/*
 * A merged batch stands for at most this many seqs after its first: a year
 * of 30 s cycles. Bounded so that one batch cannot claim a gateway's future
 * (a receiver marks a span as seen); the store's merge never makes a longer one.
 */
#define BATCH_SPAN_MAX		((uint64_t)1 << 20)

/* Header flags */
#define BATCH_F_DEFLATE		0x01	/* body is raw deflate (RFC 1951) */
#define BATCH_F_HISTORICAL	0x02	/* backlog, not live */
#define BATCH_F_SPAN		0x04	/* merged batch: covers seq..seq_last */
/*
 * Sent from the gateway's memory while its store refuses writes (disk full,
 * read-only): the seq is 0 and means nothing, and there is no span (one
 * would mark real seqs as seen at a receiver). The same readings come again
 * later in a stored batch with a real seq; the receiver drops them there by
 * (dev, point, ts). docs/batch-format.md, 3.
 */
#define BATCH_F_VOLATILE	0x08
/*
 * No gateway id in the header: the transport names the gateway (the MQTT
 * topic <prefix>/<gw>/b, the CoAP path <base>/<gw>/b), and saying it twice
 * cost 1 + its length bytes a batch, 8 for "gw-0001", 37 for a UUID: as much
 * as two or more readings. batch_decode() leaves h->gw "" with it; the
 * receiver takes the gateway from where the batch came. docs/batch-format.md.
 */
#define BATCH_F_GW_TRANSPORT	0x10
#define BATCH_F_KNOWN		(BATCH_F_DEFLATE | BATCH_F_HISTORICAL | BATCH_F_SPAN | \
				 BATCH_F_VOLATILE | BATCH_F_GW_TRANSPORT)

struct batch_hdr {
	char gw[BATCH_GW_MAX + 1];	/* "" with BATCH_F_GW_TRANSPORT */
	uint64_t seq;		/* per gateway, strictly increasing, boot independent */
	/*
	 * With BATCH_F_SPAN: the batch stands for every seq in seq..seq_last
	 * (seq_last > seq), a backlog merged into one batch. Else equal to seq.
	 */
	uint64_t seq_last;
	/*
	 * The schema the body is encoded against. On the wire it is not sent
	 * alone: the check field is the CRC-32 of the schema document followed
	 * by the whole message without the field, i.e. zlib's
	 * crc32(schema_id, message minus check) (docs/batch-format.md, 3.). So one
	 * u32 both names the schema and guards every byte: a receiver finds the
	 * schema among those the gateway announced by the one that matches
	 * (batch_match()); a bit flip anywhere matches none. Decoding sets it
	 * only when a schema matched.
	 */
	uint32_t schema_id;
	uint32_t check;			/* decoded: the field as sent */
	uint32_t check_off;		/* decoded: where it is in the message */
	uint8_t flags;
};

/*
 * Encode readings (any order; n >= 0) into a body. The body is what the store
 * keeps; batch_wrap() puts a header in front of it at send time.
 * *flags is only ORed into: it gets BATCH_F_DEFLATE if the body was compressed.
 * *raw_len gets the length of the uncompressed layout (== *len when not
 * compressed); batch_wrap() needs it, so store it with the body.
 * Returns 0; -ENOSPC if cap is too small (batch_body_bound(n) is always
 * enough); -EINVAL on bad readings (duplicate (dev,point,ts), quality not a
 * enum quality, a Q_OK value outside dec_in_range(), |ts_ms| > BATCH_TS_MAX);
 * -EMSGSIZE if the layout would exceed BATCH_BODY_MAX (split the readings);
 * -ENOMEM. Allocates temporary memory (about 32 bytes per reading + layout).
 */
int batch_encode_body(const struct reading *r, size_t n, uint8_t *out,
    size_t cap, size_t *len, uint8_t *flags, size_t *raw_len);

/*
 * The same with an encoder kept across calls (the collector's, made at
 * start): zlib's state and the scratch arrays are allocated once, for n
 * readings and the smallest deflate window that serves, and grown only when
 * a bigger batch comes. batch_encode_body() makes a temporary one.
 */
struct batch_enc;
int batch_enc_new(size_t n, struct batch_enc **out);
void batch_enc_free(struct batch_enc *e);
int batch_enc_body(struct batch_enc *e, const struct reading *r, size_t n,
    uint8_t *out, size_t cap, size_t *len, uint8_t *flags, size_t *raw_len);

/*
 * Header + body: h->flags must include what batch_encode_body() ORed into its
 * flags, raw_len is its *raw_len. body may lie inside out (it is moved).
 * h->seq_last is read only with BATCH_F_SPAN.
 * Returns 0, -ENOSPC, -EINVAL (bad gateway id, unknown flags, raw_len over
 * BATCH_BODY_MAX, body_len != raw_len without BATCH_F_DEFLATE,
 * BATCH_F_SPAN with seq_last <= seq or seq_last - seq > BATCH_SPAN_MAX,
 * or BATCH_F_VOLATILE with a seq or a span). Fills in the check field from
 * h->schema_id and the finished message.
 */
int batch_wrap(const struct batch_hdr *h, const uint8_t *body, size_t body_len,
    size_t raw_len, uint8_t *out, size_t cap, size_t *len);

/* The oldest timestamp of r[0..n) (n >= 1): a stored batch's t_first. */
int64_t batch_t_first(const struct reading *r, size_t n);

/* Worst-case size of batch_wrap() output around a body of body_len bytes. */
size_t batch_wrap_bound(size_t body_len);

/*
 * Worst-case body size for n readings: never more than BATCH_BODY_MAX. Sparse
 * columns make the true worst case quadratic in n (a presence bitmap per point
 * over all timestamps), so above ~2,500 readings this is BATCH_BODY_MAX; a
 * realistic batch needs 1..3 bytes per reading.
 */
size_t batch_body_bound(size_t n);

/*
 * Decode a whole batch (header + body) encoded against schema schema_id: its
 * check field must match (batch_match()), else -EBADMSG "integrity check
 * failed". Readings are written in the order of the
 * body (by device, then time, then point); values are normalized, Q_INVALID
 * readings carry 0. Returns 0; -EBADMSG with *err set to a short static reason
 * ("where: what") for anything malformed (truncated, overlong varint, unknown
 * version or flag, body over BATCH_BODY_MAX, trailing bytes); -ENOSPC if cap
 * readings are not enough (*n tells how many are needed; out holds garbage);
 * -ENOMEM. err may be NULL; it is NULL after success. Allocates only the
 * inflate buffer (at most BATCH_BODY_MAX) and zlib's state.
 */
int batch_decode(const uint8_t *in, size_t len, uint32_t schema_id,
    struct batch_hdr *h, struct reading *out, size_t cap, size_t *n,
    const char **err);

/*
 * Which of the schemas ids[0..n_ids) the batch in[0..len) (its header as
 * batch_peek_hdr() gave it in h) was encoded against: the index of the one
 * whose check matches, with h->schema_id set, or -1 if none does (a schema
 * the receiver has not seen yet, or a corrupted batch: the two cannot be
 * told apart). One CRC-32 pass over the message, then O(log len) a schema.
 */
int batch_match(const uint8_t *in, size_t len, struct batch_hdr *h,
    const uint32_t *ids, size_t n_ids);

/*
 * A body as batch_encode_body() made it (flags: its BATCH_F_DEFLATE; raw_len:
 * its *raw_len), without a header: what the store keeps, decoded to merge
 * stored batches. Same outcomes as batch_decode().
 */
int batch_decode_body(const uint8_t *body, size_t body_len, size_t raw_len,
    uint8_t flags, struct reading *out, size_t cap, size_t *n, const char **err);

/*
 * Header only (cheap: no inflate, no allocation; h->schema_id is 0, the
 * check is not verified: see batch_match()).
 * Same header errors as batch_decode(); for an uncompressed body it also
 * checks that the body length matches. err may be NULL.
 */
int batch_peek_hdr(const uint8_t *in, size_t len, struct batch_hdr *h,
    const char **err);

/*
 * Write the check field of a message of len bytes (len >= off + 4) whose
 * check lies at off, for schema schema_id: zlib's crc32(schema_id, the
 * message without those 4 bytes). batch_wrap() does; so can a tool that
 * rewrites a header.
 */
void batch_set_check(uint8_t *msg, size_t len, size_t off, uint32_t schema_id);

/* 1 if s is a valid gateway id. */
int batch_gw_valid(const char *s);

#endif
