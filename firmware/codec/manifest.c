/*
 * OTA manifests: the text around the body, the body's members, the
 * signature (manifest.h, docs/ota.md "Bundle").
 *
 * Strict for the same reason as commands (command.c): a manifest decides
 * which image a gateway writes and boots, so the body is read as exactly
 * the documented members, each checked, and anything else is refused with
 * a line that says what. The parser never rewrites the body: the signature
 * covers its bytes as they came, and the struct points at them. Errors are
 * written by the JSON checks every parser shares (jcheck.h): "manifest:
 * PATH: WHAT", PATH a member or the part of the text.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "firmware/base/jcheck.h"
#include "firmware/codec/manifest.h"

static const char *const members[] = {
	"v", "version", "counter", "boards", "size", "sha256", "chunk",
	"chunks", "expires", NULL
};

#define VERSION_RULE	"not MAJOR.MINOR.PATCH (each 0..999999, no leading " \
	"zeros)"
#define HEX64_RULE	"not 64 lowercase hex characters"

static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ?
	    c - 'a' + 10 : -1;
}

/* n lowercase hex characters into n / 2 bytes; -1 at anything else. */
static int
unhex(const char *s, size_t n, uint8_t *out)
{
	size_t i;
	int hi, lo;

	if (n % 2 != 0)
		return -1;
	for (i = 0; i < n; i += 2) {
		if ((hi = hexval(s[i])) < 0 || (lo = hexval(s[i + 1])) < 0)
			return -1;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/*
 * "MAJOR.MINOR.PATCH", each 1..6 digits without a leading zero ("0" is
 * one): a version has one spelling, so two manifests of one release cannot
 * compare as two.
 */
static int
version_parse(const char *s, uint32_t ver[3])
{
	uint32_t n;
	size_t i, digits;

	for (i = 0; i < 3; i++) {
		n = 0;
		for (digits = 0; s[digits] >= '0' && s[digits] <= '9'; digits++)
			if (digits < 6)
				n = n * 10 + (uint32_t)(s[digits] - '0');
		if (digits == 0 || digits > 6 || (digits > 1 && s[0] == '0'))
			return -1;
		ver[i] = n;
		s += digits;
		if (*s != (i < 2 ? '.' : '\0'))
			return -1;
		s++;
	}
	return 0;
}

/* A string member that must be 64 lowercase hex characters. */
static int
get_hash(struct jc *x, json_t *v, const char *path, uint8_t out[32])
{
	if (v == NULL)
		return jc_fail(x, path, "missing");
	if (!json_is_string(v) || json_string_length(v) != 64 ||
	    unhex(json_string_value(v), 64, out) != 0)
		return jc_fail(x, path, HEX64_RULE);
	return 0;
}

static int
get_version(struct jc *x, json_t *o, struct manifest *m)
{
	json_t *v = json_object_get(o, "version");

	if (v == NULL)
		return jc_fail(x, "version", "missing");
	if (!json_is_string(v) || json_string_length(v) >= sizeof(m->version) ||
	    version_parse(json_string_value(v), m->ver) != 0)
		return jc_fail(x, "version", VERSION_RULE);
	memcpy(m->version, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

/* 1..32 of [a-z0-9-]: a board's name as board.json has it. */
static int
board_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > MANIFEST_BOARD_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-'))
			return 0;
	return 1;
}

static int
get_boards(struct jc *x, json_t *o, struct manifest *m)
{
	json_t *a = json_object_get(o, "boards"), *v;
	char path[JC_PATH_MAX];
	size_t i, j;

	if (a == NULL)
		return jc_fail(x, "boards", "missing");
	if (!json_is_array(a) || json_array_size(a) < 1 ||
	    json_array_size(a) > MANIFEST_BOARDS_MAX)
		return jc_fail(x, "boards", "not an array of 1..%d board names",
		    MANIFEST_BOARDS_MAX);
	json_array_foreach(a, i, v) {
		snprintf(path, sizeof(path), "boards[%zu]", i);
		if (!json_is_string(v) || !board_name_ok(json_string_value(v),
		    json_string_length(v)))
			return jc_fail(x, path, "not a string of 1..%d characters "
			    "of [a-z0-9-]", MANIFEST_BOARD_LEN);
		for (j = 0; j < i; j++)
			if (strcmp(m->boards[j], json_string_value(v)) == 0)
				return jc_fail(x, path, "\"%s\" twice",
				    m->boards[j]);
		memcpy(m->boards[i], json_string_value(v),
		    json_string_length(v) + 1);
		m->n_boards = i + 1;
	}
	return 0;
}

/*
 * The chunk size, then the chunk hashes: exactly one per chunk of the
 * image, the count said in the error, since a count that does not match is
 * the likely mistake of a hand-made manifest.
 */
static int
get_chunks(struct jc *x, json_t *o, struct manifest *m)
{
	json_t *a, *v;
	char path[JC_PATH_MAX];
	long long n;
	uint64_t count;
	size_t i;
	int rc;

	if ((rc = jc_get_int(x, o, "", "chunk", 1, MANIFEST_CHUNK_MIN,
	    MANIFEST_CHUNK_MAX, &n)) < 0)
		return rc;
	if ((n & (n - 1)) != 0)
		return jc_fail(x, "chunk", "%lld not a power of two", n);
	m->chunk = (uint32_t)n;
	count = (m->size + m->chunk - 1) / m->chunk;
	if (count > MANIFEST_CHUNKS_MAX)
		return jc_fail(x, "chunk", "%" PRIu32 " bytes make %" PRIu64
		    " chunks of %" PRIu64 " bytes, over %d", m->chunk, count,
		    m->size, MANIFEST_CHUNKS_MAX);
	if ((a = json_object_get(o, "chunks")) == NULL)
		return jc_fail(x, "chunks", "missing");
	if (!json_is_array(a))
		return jc_fail(x, "chunks", "not an array");
	if (json_array_size(a) != count)
		return jc_fail(x, "chunks", "%zu hashes for %" PRIu64 " chunks",
		    json_array_size(a), count);
	json_array_foreach(a, i, v) {
		snprintf(path, sizeof(path), "chunks[%zu]", i);
		if ((rc = get_hash(x, v, path, m->chunks[i])) < 0)
			return rc;
	}
	m->n_chunks = (size_t)count;
	return 0;
}

/*
 * The members of the body object, version first: a body of another
 * version may have other members, and "unsupported version 2" is the line
 * that helps, not "foo: unknown key".
 */
static int
members_read(struct jc *x, json_t *o, struct manifest *m)
{
	long long n;
	json_t *v;
	int rc;

	if ((v = json_object_get(o, "v")) == NULL)
		return jc_fail(x, "v", "missing");
	if (!json_is_integer(v))
		return jc_fail(x, "v", "expected an integer");
	if (json_integer_value(v) != MANIFEST_VERSION)
		return jc_fail(x, "v", "unsupported version %lld",
		    (long long)json_integer_value(v));
	if ((rc = jc_check_keys(x, o, "", members)) < 0 ||
	    (rc = get_version(x, o, m)) < 0)
		return rc;
	if ((rc = jc_get_int(x, o, "", "counter", 1, 0, UINT32_MAX, &n)) < 0)
		return rc;
	m->counter = (uint32_t)n;
	if ((rc = get_boards(x, o, m)) < 0)
		return rc;
	if ((rc = jc_get_int(x, o, "", "size", 1, 1,
	    (long long)MANIFEST_SIZE_MAX, &n)) < 0)
		return rc;
	m->size = (uint64_t)n;
	if ((rc = get_hash(x, json_object_get(o, "sha256"), "sha256",
	    m->sha256)) < 0 ||
	    (rc = get_chunks(x, o, m)) < 0)
		return rc;
	if ((rc = jc_get_int(x, o, "", "expires", 1, 1, MANIFEST_TIME_MAX,
	    &n)) < 0)
		return rc;
	m->expires = n;
	return 0;
}

/*
 * The text around the body before any JSON: the body ends at the first
 * LF, which must come within MANIFEST_BODY_MAX + 1 bytes (a bundle's image
 * behind it is never searched), then 128 hex characters, then the end or
 * an LF.
 */
static int
frame_read(struct jc *x, const uint8_t *text, size_t len, struct manifest *m)
{
	const uint8_t *lf, *p;
	size_t blen, at;

	lf = memchr(text, '\n', len < MANIFEST_BODY_MAX + 1 ? len :
	    MANIFEST_BODY_MAX + 1);
	if (lf == NULL && len > MANIFEST_BODY_MAX)
		return jc_fail(x, "body", "no LF in the first %d bytes "
		    "(over %d)", MANIFEST_BODY_MAX + 1, MANIFEST_BODY_MAX);
	if (lf == NULL)
		return jc_fail(x, "truncated", "no LF after the body "
		    "(%zu bytes)", len);
	if ((blen = (size_t)(lf - text)) == 0)
		return jc_fail(x, "body", "empty");
	/* jansson would stop at a NUL and blame the end of the text. */
	if ((p = memchr(text, '\0', blen)) != NULL)
		return jc_fail(x, "body", "NUL at byte %zu",
		    (size_t)(p - text));
	at = blen + 1;
	if (len - at < MANIFEST_SIG_HEX)
		return jc_fail(x, "truncated", "signature of %zu hex "
		    "characters, not %d", len - at, MANIFEST_SIG_HEX);
	if (unhex((const char *)text + at, MANIFEST_SIG_HEX, m->sig) != 0)
		return jc_fail(x, "signature", "not %d lowercase hex "
		    "characters", MANIFEST_SIG_HEX);
	at += MANIFEST_SIG_HEX;
	if (at < len && text[at] != '\n')
		return jc_fail(x, "signature", "followed by byte 0x%02x, "
		    "not LF", text[at]);
	m->body_len = blen;
	m->text_len = at < len ? at + 1 : at;
	return 0;
}

int
manifest_parse(const uint8_t *text, size_t len, struct manifest *m,
    char *err, size_t errlen)
{
	struct jc x = { .file = "manifest", .err = err, .errlen = errlen };
	char shown[JSON_ERROR_TEXT_LENGTH];
	json_error_t je;
	json_t *root;
	int rc;

	memset(m, 0, sizeof(*m));
	if ((rc = frame_read(&x, text, len, m)) < 0)
		goto out;
	root = json_loadb((const char *)text, m->body_len,
	    JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		rc = json_error_code(&je) == json_error_out_of_memory ? -ENOMEM :
		    -EBADMSG;
		jc_fail(&x, "body", "%s (byte %d)",
		    jc_shown(je.text, shown, sizeof(shown)), je.position);
		goto out;
	}
	if (!json_is_object(root))
		rc = jc_fail(&x, "body", "not a JSON object");
	else
		rc = members_read(&x, root, m);
	json_decref(root);
out:
	if (rc < 0) {
		memset(m, 0, sizeof(*m));
		return rc == -EINVAL ? -EBADMSG : rc;
	}
	m->body = text;
	return 0;
}

int
manifest_verify(const struct cmd_pubkey *k, const struct manifest *m)
{
	if (k == NULL || m == NULL || m->body == NULL)
		return -EINVAL;
	return sig_verify(k, m->body, m->body_len, m->sig);
}

int
manifest_version_cmp(const struct manifest *m, const char *version)
{
	uint32_t other[3] = { 0, 0, 0 };
	size_t i;

	if (version == NULL || version_parse(version, other) != 0)
		memset(other, 0, sizeof(other));
	for (i = 0; i < 3; i++)
		if (m->ver[i] != other[i])
			return m->ver[i] < other[i] ? -1 : 1;
	return 0;
}

int
manifest_board_ok(const struct manifest *m, const char *board)
{
	size_t i;

	for (i = 0; i < m->n_boards; i++)
		if (strcmp(m->boards[i], board) == 0)
			return 1;
	return 0;
}

uint32_t
manifest_chunk_len(const struct manifest *m, size_t i)
{
	uint64_t left;

	if (i >= m->n_chunks)
		return 0;
	left = m->size - (uint64_t)i * m->chunk;
	return left < m->chunk ? (uint32_t)left : m->chunk;
}
