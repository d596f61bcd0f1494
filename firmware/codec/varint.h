/*
 * LEB128 varints and zigzag for the batch codec (internal to firmware/codec).
 *
 * The writer grows its buffer up to a hard limit, so the encoder needs no size
 * estimate; the reader never reads past its end and names what went wrong in a
 * static string, because a decoder on the platform side must be able to say
 * which byte string was bad and why.
 */
#ifndef WG_CODEC_VARINT_H
#define WG_CODEC_VARINT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define VARINT_MAX 10	/* bytes of a 64-bit varint */

struct wbuf {
	uint8_t *p;
	size_t len;
	size_t cap;
	size_t limit;	/* growing beyond this fails with -EMSGSIZE */
	int err;	/* first error; later writes are dropped */
};

struct rbuf {
	const uint8_t *p;
	size_t len;
	size_t pos;
	const char *err;	/* static reason of the first failure */
};

static inline uint64_t
zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t
unzigzag(uint64_t u)
{
	return (int64_t)((u >> 1) ^ ((uint64_t)0 - (u & 1)));
}

/* Make room for n more bytes; sticky error so callers check once at the end. */
static inline uint8_t *
wbuf_reserve(struct wbuf *w, size_t n)
{
	size_t ncap;
	uint8_t *np;

	if (w->err)
		return NULL;
	if (n > w->limit || w->len > w->limit - n) {
		w->err = -EMSGSIZE;
		return NULL;
	}
	if (w->len + n > w->cap) {
		ncap = w->cap ? w->cap : 256;
		while (ncap < w->len + n)
			ncap *= 2;
		if (ncap > w->limit)
			ncap = w->limit;
		if ((np = realloc(w->p, ncap)) == NULL) {
			w->err = -ENOMEM;
			return NULL;
		}
		w->p = np;
		w->cap = ncap;
	}
	np = w->p + w->len;
	w->len += n;
	return np;
}

static inline void
wbuf_u8(struct wbuf *w, uint8_t b)
{
	uint8_t *q = wbuf_reserve(w, 1);

	if (q != NULL)
		*q = b;
}

static inline void
wbuf_varint(struct wbuf *w, uint64_t v)
{
	uint8_t tmp[VARINT_MAX], *q;
	size_t n = 0;

	do {
		tmp[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
	if ((q = wbuf_reserve(w, n)) != NULL)
		memcpy(q, tmp, n);
}

static inline void
wbuf_svarint(struct wbuf *w, int64_t v)
{
	wbuf_varint(w, zigzag(v));
}

/* Bytes of the varint of v: the encoder compares layouts by their cost. */
static inline size_t
varint_len(uint64_t v)
{
	size_t n = 1;

	while (v > 0x7f) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline size_t
svarint_len(int64_t v)
{
	return varint_len(zigzag(v));
}

/* Varint into a plain buffer known to have VARINT_MAX bytes; returns its length. */
static inline size_t
varint_put(uint8_t *q, uint64_t v)
{
	size_t n = 0;

	do {
		q[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v != 0);
	return n;
}

static inline int
rbuf_fail(struct rbuf *r, const char *why)
{
	if (r->err == NULL)
		r->err = why;
	return -EBADMSG;
}

static inline size_t
rbuf_left(const struct rbuf *r)
{
	return r->len - r->pos;
}

static inline int
rbuf_u8(struct rbuf *r, uint8_t *b, const char *what)
{
	if (r->pos >= r->len)
		return rbuf_fail(r, what);
	*b = r->p[r->pos++];
	return 0;
}

/*
 * One varint: at most 10 bytes, the 10th carrying a single bit, and minimal
 * (no trailing 0x80 0x00 padding), so every value has exactly one encoding.
 * The two messages say where it failed; RBUF_VARINT() builds them from one
 * place name at compile time, so they stay static strings.
 */
static inline int
rbuf_varint_(struct rbuf *r, uint64_t *v, const char *trunc, const char *bad)
{
	uint64_t x = 0;
	unsigned i;
	uint8_t b;

	for (i = 0; i < VARINT_MAX; i++) {
		if (r->pos >= r->len)
			return rbuf_fail(r, trunc);
		b = r->p[r->pos++];
		if (i == VARINT_MAX - 1 && b > 1)
			return rbuf_fail(r, bad);
		x |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			if (b == 0 && i > 0)
				return rbuf_fail(r, bad);
			*v = x;
			return 0;
		}
	}
	return rbuf_fail(r, bad);
}

static inline int
rbuf_svarint_(struct rbuf *r, int64_t *v, const char *trunc, const char *bad)
{
	uint64_t u;
	int rc;

	if ((rc = rbuf_varint_(r, &u, trunc, bad)) < 0)
		return rc;
	*v = unzigzag(u);
	return 0;
}

#define RBUF_VARINT(r, v, where) \
	rbuf_varint_((r), (v), where ": truncated", where ": overlong varint")
#define RBUF_SVARINT(r, v, where) \
	rbuf_svarint_((r), (v), where ": truncated", where ": overlong varint")

#endif
