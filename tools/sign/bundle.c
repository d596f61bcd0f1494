/*
 * Bundles on the signing side (bundle.h): hashing streams the image in
 * 64 KiB reads, so an image of any size the format allows (2 GiB) is
 * signed and checked without holding it in memory.
 */
#include "tools/sign/bundle.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <mbedtls/md.h>

#define IO_BUF	(64 * 1024)

int
bundle_pick_chunk(uint64_t size, uint32_t want, uint32_t *chunk, char *err,
    size_t errlen)
{
	uint64_t c = want != 0 ? want : BUNDLE_CHUNK_DEFAULT;

	if (want != 0 && (want < MANIFEST_CHUNK_MIN || want > MANIFEST_CHUNK_MAX ||
	    (want & (want - 1)) != 0)) {
		snprintf(err, errlen, "--chunk %" PRIu32 ": not a power of two "
		    "in %u..%u", want, MANIFEST_CHUNK_MIN, MANIFEST_CHUNK_MAX);
		return -EINVAL;
	}
	while (want == 0 && (size + c - 1) / c > MANIFEST_CHUNKS_MAX &&
	    c < MANIFEST_CHUNK_MAX)
		c *= 2;
	if ((size + c - 1) / c > MANIFEST_CHUNKS_MAX) {
		snprintf(err, errlen, "%" PRIu64 " bytes make %" PRIu64 " chunks "
		    "of %" PRIu64 ", over %d", size, (size + c - 1) / c, c,
		    MANIFEST_CHUNKS_MAX);
		return -EINVAL;
	}
	*chunk = (uint32_t)c;
	return 0;
}

/* Reads of up to IO_BUF bytes, chunk after chunk, each hashed twice. */
static int
hash_stream(int fd, off_t at, struct manifest *m, uint8_t *buf,
    mbedtls_md_context_t *whole, mbedtls_md_context_t *part, char *err,
    size_t errlen)
{
	uint64_t done = 0;
	uint32_t in_chunk = 0, want;
	size_t i = 0;
	ssize_t n;

	if (mbedtls_md_starts(whole) != 0 || mbedtls_md_starts(part) != 0)
		return -ENOMEM;
	while (done < m->size) {
		want = m->chunk - in_chunk;
		if (want > IO_BUF)
			want = IO_BUF;
		if (want > m->size - done)
			want = (uint32_t)(m->size - done);
		n = pread(fd, buf, want, at + (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "read at byte %" PRIu64 ": %s",
			    (uint64_t)at + done, strerror(errno));
			return -errno;
		}
		if (n == 0) {
			snprintf(err, errlen, "%" PRIu64 " bytes, %" PRIu64
			    " expected", done, m->size);
			return -ENODATA;
		}
		mbedtls_md_update(whole, buf, (size_t)n);
		mbedtls_md_update(part, buf, (size_t)n);
		done += (uint64_t)n;
		in_chunk += (uint32_t)n;
		if (in_chunk == m->chunk || done == m->size) {
			mbedtls_md_finish(part, m->chunks[i++]);
			mbedtls_md_starts(part);
			in_chunk = 0;
		}
	}
	m->n_chunks = i;
	mbedtls_md_finish(whole, m->sha256);
	return 0;
}

int
bundle_hash(int fd, off_t at, struct manifest *m, char *err, size_t errlen)
{
	const mbedtls_md_info_t *sha = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
	mbedtls_md_context_t whole, part;
	uint8_t *buf;
	int rc = -ENOMEM;

	if ((m->size + m->chunk - 1) / m->chunk > MANIFEST_CHUNKS_MAX) {
		snprintf(err, errlen, "over %d chunks", MANIFEST_CHUNKS_MAX);
		return -EINVAL;
	}
	mbedtls_md_init(&whole);
	mbedtls_md_init(&part);
	if ((buf = malloc(IO_BUF)) != NULL &&
	    mbedtls_md_setup(&whole, sha, 0) == 0 &&
	    mbedtls_md_setup(&part, sha, 0) == 0)
		rc = hash_stream(fd, at, m, buf, &whole, &part, err, errlen);
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	mbedtls_md_free(&whole);
	mbedtls_md_free(&part);
	free(buf);
	return rc;
}

static json_t *
hex_string(const uint8_t *p, size_t n)
{
	char hex[2 * 32 + 1];
	size_t i;

	for (i = 0; i < n && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", p[i]);
	return json_stringn(hex, 2 * i);
}

char *
bundle_body(const struct manifest *m)
{
	json_t *b = json_object(), *boards = json_array(), *chunks = json_array();
	char *text = NULL;
	size_t i;

	if (b == NULL || boards == NULL || chunks == NULL)
		goto out;
	for (i = 0; i < m->n_boards; i++)
		json_array_append_new(boards, json_string(m->boards[i]));
	for (i = 0; i < m->n_chunks; i++)
		json_array_append_new(chunks, hex_string(m->chunks[i], 32));
	json_object_set_new(b, "v", json_integer(MANIFEST_VERSION));
	json_object_set_new(b, "version", json_string(m->version));
	json_object_set_new(b, "counter", json_integer(m->counter));
	json_object_set(b, "boards", boards);
	json_object_set_new(b, "size", json_integer((json_int_t)m->size));
	json_object_set_new(b, "sha256", hex_string(m->sha256, 32));
	json_object_set_new(b, "chunk", json_integer(m->chunk));
	json_object_set(b, "chunks", chunks);
	json_object_set_new(b, "expires", json_integer(m->expires));
	text = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
	json_decref(b);
	json_decref(boards);
	json_decref(chunks);
	return text;
}

/*
 * The length first: a truncated download is the likely fault and should
 * be named as one, not as chunk N's hash. Then each chunk, named with its
 * byte range in the image, as the gateway checks it while downloading.
 */
int
bundle_check(int fd, uint64_t st_size, const struct manifest *m, char *err,
    size_t errlen)
{
	struct manifest got;
	uint64_t have = st_size - m->text_len, from;
	size_t i;
	int rc;

	if (m->text_len > st_size || have < m->size) {
		snprintf(err, errlen, "image: truncated: %" PRIu64 " bytes, the "
		    "manifest says %" PRIu64, m->text_len > st_size ? 0 : have,
		    m->size);
		return -EBADMSG;
	}
	if (have > m->size) {
		snprintf(err, errlen, "image: %" PRIu64 " bytes, %" PRIu64
		    " more than the manifest says", have, have - m->size);
		return -EBADMSG;
	}
	got = *m;
	if ((rc = bundle_hash(fd, (off_t)m->text_len, &got, err, errlen)) < 0)
		return rc;
	for (i = 0; i < m->n_chunks; i++) {
		if (memcmp(got.chunks[i], m->chunks[i], 32) == 0)
			continue;
		from = (uint64_t)i * m->chunk;
		snprintf(err, errlen, "image: chunks[%zu] (bytes %" PRIu64 "..%"
		    PRIu64 "): SHA-256 does not match the manifest", i, from,
		    from + manifest_chunk_len(m, i) - 1);
		return -EBADMSG;
	}
	if (memcmp(got.sha256, m->sha256, 32) != 0) {
		snprintf(err, errlen, "image: SHA-256 does not match the manifest");
		return -EBADMSG;
	}
	return 0;
}
