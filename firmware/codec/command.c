/*
 * Signed commands: the frame, the body's members, the signature
 * (command.h, docs/commands.md).
 *
 * Strict on purpose: a command changes what a household's charger or
 * gateway does, so the body is read as exactly the documented members, each
 * checked, and anything else is refused with a line that says what. The
 * signature covers the body's bytes as they came, so the parser never
 * rewrites or normalises them; the struct points at them. Keys and the
 * signature check are sig.c's, shared with OTA manifests.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/base/jcheck.h"
#include "firmware/codec/codec_err.h"
#include "firmware/codec/command.h"

static const char *const members[] = {
	"v", "id", "gw", "seq", "nbf", "exp", "type", "args", NULL
};

__attribute__((format(printf, 3, 4)))
static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = codec_vfail(err, errlen, "command", -EBADMSG, fmt, ap);
	va_end(ap);
	return rc;
}

#define ID_SET	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"
#define TYPE_SET "abcdefghijklmnopqrstuvwxyz0123456789._"

/*
 * A string member into dst (max + 1 bytes). The one message names the rule
 * whatever broke it (type, length or a character): the fleet's author needs
 * the rule, not which of its parts.
 */
static int
get_name(json_t *o, const char *key, char *dst, size_t max, const char *set,
    const char *shown_set, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return fail(err, errlen, "%s: missing", key);
	if (!json_is_string(v) || !codec_in_set(json_string_value(v),
	    json_string_length(v), max, set))
		return fail(err, errlen, "%s: not a string of 1..%zu characters of "
		    "%s", key, max, shown_set);
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

/* An integer member in min..max; shown is the range as the message says it. */
static int
get_int(json_t *o, const char *key, long long min, long long max,
    const char *shown, long long *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL)
		return fail(err, errlen, "%s: missing", key);
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return fail(err, errlen, "%s: not an integer in %s", key, shown);
	*out = json_integer_value(v);
	return 0;
}

/*
 * The members of the body object, version first: a body of another version
 * may have other members, and "unsupported version 2" is the line that
 * helps, not "foo: unknown member".
 */
static int
members_read(json_t *o, struct cmd *c, char *err, size_t errlen)
{
	char shown[41];
	long long n = 0;
	const char *key;
	json_t *v;
	size_t i;
	int rc;

	if ((v = json_object_get(o, "v")) == NULL)
		return fail(err, errlen, "v: missing");
	if (!json_is_integer(v))
		return fail(err, errlen, "v: not an integer");
	if (json_integer_value(v) != CMD_VERSION)
		return fail(err, errlen, "unsupported version %lld",
		    (long long)json_integer_value(v));
	json_object_foreach(o, key, v) {
		for (i = 0; members[i] != NULL; i++)
			if (strcmp(key, members[i]) == 0)
				break;
		if (members[i] == NULL)
			return fail(err, errlen, "%s: unknown member",
			    jc_shown(key, shown, sizeof(shown)));
	}
	if ((rc = get_name(o, "id", c->id, CMD_ID_MAX, ID_SET, "[A-Za-z0-9._:-]",
	    err, errlen)) < 0 ||
	    (rc = get_name(o, "gw", c->gw, CMD_GW_MAX, ID_SET, "[A-Za-z0-9._:-]",
	    err, errlen)) < 0)
		return rc;
	if ((rc = get_int(o, "seq", 1, (long long)CMD_SEQ_MAX, "1..2^53-1", &n,
	    err, errlen)) < 0)
		return rc;
	c->seq = (uint64_t)n;
	if ((rc = get_int(o, "nbf", 0, CMD_TIME_MAX, "0..2^40", &n, err,
	    errlen)) < 0)
		return rc;
	c->nbf = n;
	if ((rc = get_int(o, "exp", 0, CMD_TIME_MAX, "0..2^40", &n, err,
	    errlen)) < 0)
		return rc;
	c->exp = n;
	if (c->exp <= c->nbf)
		return fail(err, errlen, "exp: %lld not after nbf %lld",
		    (long long)c->exp, (long long)c->nbf);
	if ((rc = get_name(o, "type", c->type, CMD_TYPE_MAX, TYPE_SET,
	    "[a-z0-9._]", err, errlen)) < 0)
		return rc;
	if ((v = json_object_get(o, "args")) == NULL)
		v = json_object();
	else if (!json_is_object(v))
		return fail(err, errlen, "args: not an object");
	else
		json_incref(v);
	if (v == NULL)
		return -ENOMEM;
	c->args = v;
	return 0;
}

/*
 * Lengths before anything else: the frame comes off the network, and the
 * caller may hand over whatever a broker delivered. The signature is the
 * last 64 bytes; the byte before it must be the LF that ends the body.
 */
int
cmd_parse(const uint8_t *frame, size_t len, struct cmd *c, char *err,
    size_t errlen)
{
	json_error_t je;
	char text[JSON_ERROR_TEXT_LENGTH];
	const uint8_t *p;
	size_t blen;
	json_t *root;
	int rc;

	memset(c, 0, sizeof(*c));
	if (len > CMD_FRAME_MAX)
		return fail(err, errlen, "frame of %zu bytes, over %d", len,
		    CMD_FRAME_MAX);
	if (len < CMD_BODY_MIN + 1 + CMD_SIG_LEN)
		return fail(err, errlen, "frame of %zu bytes, under %d", len,
		    CMD_BODY_MIN + 1 + CMD_SIG_LEN);
	blen = len - 1 - CMD_SIG_LEN;
	if (frame[blen] != '\n')
		return fail(err, errlen, "no LF before the signature");
	if ((p = memchr(frame, '\n', blen)) != NULL)
		return fail(err, errlen, "body: LF at byte %zu", (size_t)(p - frame));
	/* jansson would stop at a NUL and blame the end of the text. */
	if ((p = memchr(frame, '\0', blen)) != NULL)
		return fail(err, errlen, "body: NUL at byte %zu", (size_t)(p - frame));
	root = json_loadb((const char *)frame, blen, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL)
		return fail(err, errlen, "body: %s (byte %d)",
		    jc_shown(je.text, text, sizeof(text)), je.position);
	if (!json_is_object(root)) {
		json_decref(root);
		return fail(err, errlen, "body: not a JSON object");
	}
	rc = members_read(root, c, err, errlen);
	json_decref(root);
	if (rc < 0) {
		cmd_free(c);
		return rc;
	}
	c->body = frame;
	c->body_len = blen;
	memcpy(c->sig, frame + blen + 1, CMD_SIG_LEN);
	return 0;
}

void
cmd_free(struct cmd *c)
{
	if (c == NULL)
		return;
	json_decref(c->args);
	memset(c, 0, sizeof(*c));
}

/* The key is sig.c's; only the name in its errors is the command's. */
int
cmd_key_load_public(const char *pem, size_t len, struct cmd_pubkey **out,
    char *err, size_t errlen)
{
	return sig_key_load_public("command", pem, len, out, err, errlen);
}

int
cmd_verify(const struct cmd_pubkey *k, const struct cmd *c)
{
	if (k == NULL || c == NULL || c->body == NULL)
		return -EINVAL;
	return sig_verify(k, c->body, c->body_len, c->sig);
}
