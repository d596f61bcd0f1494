/*
 * OTA bundles on the signing side (docs/ota.md "Bundle"): the hashes of an
 * image as a manifest lists them, the chunk size wattgate-sign picks, the
 * body it signs, and the check of a bundle file against its manifest. The
 * manifest's format itself is the codec's (firmware/codec/manifest.h).
 */
#ifndef WG_TOOLS_BUNDLE_H
#define WG_TOOLS_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "firmware/codec/manifest.h"

/* The chunk size picked when none is asked for starts here. */
#define BUNDLE_CHUNK_DEFAULT	(64u * 1024)

/*
 * The chunk size for an image of size bytes: want if nonzero (checked),
 * else the smallest power of two >= 64 KiB that makes at most 128 chunks.
 * 0, or -EINVAL with "WHAT" in err.
 */
int bundle_pick_chunk(uint64_t size, uint32_t want, uint32_t *chunk,
    char *err, size_t errlen);

/*
 * The SHA-256 of each chunk of the size bytes of fd from offset at, and of
 * them all: m->chunks, m->n_chunks and m->sha256 (m->size and m->chunk
 * given). 0, or -errno / -ENODATA (the file ends early) with err set.
 */
int bundle_hash(int fd, off_t at, struct manifest *m, char *err,
    size_t errlen);

/* The body of m as compact JSON, members in the documented order; free(). */
char *bundle_body(const struct manifest *m);

/*
 * The image of a bundle file (fd, st_size bytes) against its parsed
 * manifest: its length, then every chunk, then the whole hash. 0, or
 * -EBADMSG with "image: WHAT" in err (-errno for I/O).
 */
int bundle_check(int fd, uint64_t st_size, const struct manifest *m,
    char *err, size_t errlen);

#endif
