/*
 * OTA manifests (issue 15, docs/ota.md "Bundle"): what the release key
 * signs about an image. Parsing and checks, shared by the daemon and the
 * tools. Pure: no I/O, no clock; the caller reads the key file and judges
 * "expires" and "counter" against its own clock and state.
 *
 *   text   = body 0x0A sighex [0x0A ...]
 *   body   = one JSON object, UTF-8, 1..10240 bytes, no 0x0A byte inside
 *   sighex = 128 lowercase hex characters: r || s (sig.h), ECDSA P-256 over
 *            SHA-256(body)
 *   bundle = body 0x0A sighex 0x0A image
 *
 * Body members, exactly these: "v" (1), "version" ("MAJOR.MINOR.PATCH",
 * each 0..999999 without leading zeros), "counter" (0..2^32-1), "boards"
 * (1..8 distinct names of 1..32 of [a-z0-9-]), "size" (1..2^40), "sha256"
 * (64 lowercase hex), "chunk" (a power of two in 4096..16 MiB), "chunks"
 * (ceil(size/chunk) <= 128 strings of 64 lowercase hex), "expires"
 * (1..2^40).
 *
 * Signing is not here: the daemon never signs (tools/sign/wattgate-sign).
 */
#ifndef WG_MANIFEST_H
#define WG_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/codec/sig.h"

#define MANIFEST_VERSION	1
#define MANIFEST_BODY_MAX	10240
#define MANIFEST_CHUNKS_MAX	128
#define MANIFEST_SIG_HEX	128
/* body LF sighex [LF] */
#define MANIFEST_TEXT_MAX	(MANIFEST_BODY_MAX + 1 + MANIFEST_SIG_HEX + 1)
#define MANIFEST_BOARDS_MAX	8
#define MANIFEST_BOARD_LEN	32
#define MANIFEST_CHUNK_MIN	4096u
#define MANIFEST_CHUNK_MAX	(16u * 1024 * 1024)
#define MANIFEST_SIZE_MAX	(UINT64_C(1) << 40)
#define MANIFEST_TIME_MAX	(INT64_C(1) << 40)

/*
 * A parsed manifest. body points into the text given to manifest_parse (not
 * a copy): the text must outlive the struct for manifest_verify. Nothing is
 * allocated: no free function.
 */
struct manifest {
	char version[24];		/* as signed, "2.0.0" */
	uint32_t ver[3];		/* MAJOR, MINOR, PATCH */
	uint32_t counter;		/* security counter (anti-rollback) */
	char boards[MANIFEST_BOARDS_MAX][MANIFEST_BOARD_LEN + 1];
	size_t n_boards;
	uint64_t size;			/* image bytes */
	uint8_t sha256[32];		/* of the whole image */
	uint32_t chunk;			/* chunk size; the last may be short */
	uint8_t chunks[MANIFEST_CHUNKS_MAX][32];	/* SHA-256 of each chunk */
	size_t n_chunks;		/* ceil(size / chunk) */
	int64_t expires;		/* unix seconds */
	const uint8_t *body;		/* the signed bytes, without the LF */
	size_t body_len;
	size_t text_len;		/* body LF sig LF: a bundle's image offset */
	uint8_t sig[SIG_LEN];		/* r || s */
};

/*
 * Parse the manifest text of len bytes into *m: body LF sighex, optionally
 * followed by LF and anything (a bundle's image): parsing stops after the
 * signature's LF, and m->text_len says where (without a trailing LF it is
 * body_len + 1 + 128). The body as strict JSON (UTF-8, no NUL, no duplicate
 * member), then every member. Does not verify the signature
 * (manifest_verify). 0, or -EBADMSG (-ENOMEM) with one line in err, e.g.
 * "manifest: chunks: 3 hashes for 4 chunks"; *m is then all zeros.
 */
int manifest_parse(const uint8_t *text, size_t len, struct manifest *m,
    char *err, size_t errlen);

/*
 * 0 if m->sig is k's signature of m->body (the release key: load it with
 * sig_key_load_public("manifest", ...)), else -EBADMSG; -EINVAL for a
 * manifest not parsed; -ENOMEM. As cmd_verify.
 */
int manifest_verify(const struct cmd_pubkey *k, const struct manifest *m);

/*
 * m's version against another "X.Y.Z": <0, 0 or >0 as m's is older, the
 * same or newer. An unparsable version counts as 0.0.0.
 */
int manifest_version_cmp(const struct manifest *m, const char *version);

/* 1 if board is one of m's boards, else 0. */
int manifest_board_ok(const struct manifest *m, const char *board);

/* Bytes of chunk i (i < m->n_chunks): m->chunk, or less for the last. */
uint32_t manifest_chunk_len(const struct manifest *m, size_t i);

#endif
