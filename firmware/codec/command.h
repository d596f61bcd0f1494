/*
 * Signed commands from the fleet service to a gateway (issue 14,
 * docs/commands.md "Wire format"): parsing and signature checks, shared by
 * the daemon and the tools. Pure: no I/O, no clock; the caller reads key
 * files (firmware/base/rfile.c) and judges nbf/exp against its own clock.
 *
 *   frame = body 0x0A sig
 *   body  = one JSON object, UTF-8, 2..16384 bytes, no 0x0A byte inside
 *   sig   = 64 bytes: r || s, each 32 bytes big-endian;
 *           ECDSA P-256 over SHA-256(body)
 *
 * Body members, exactly these: "v" (1), "id", "gw" (1..64 of
 * [A-Za-z0-9._:-]), "seq" (1..2^53-1), "nbf" (0..2^40), "exp" (nbf < exp <=
 * 2^40), "type" (1..32 of [a-z0-9._]), "args" (an object; absent = {}).
 *
 * Signing is not here: the daemon never signs. The fleet tool does
 * (tools/lib/signer.c).
 */
#ifndef WG_COMMAND_H
#define WG_COMMAND_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "firmware/codec/sig.h"

#define CMD_VERSION	1
#define CMD_BODY_MIN	2
#define CMD_BODY_MAX	16384
#define CMD_SIG_LEN	SIG_LEN
/* The longest frame: body, LF, signature. Longer is refused unread. */
#define CMD_FRAME_MAX	(CMD_BODY_MAX + 1 + CMD_SIG_LEN)
#define CMD_ID_MAX	64
#define CMD_GW_MAX	64
#define CMD_TYPE_MAX	32
#define CMD_SEQ_MAX	((UINT64_C(1) << 53) - 1)	/* exact in a double */
#define CMD_TIME_MAX	(INT64_C(1) << 40)

/*
 * A parsed command. body points into the frame given to cmd_parse (not a
 * copy): the frame must outlive the struct for cmd_verify. args is owned
 * (a JSON object, {} when the body has none); cmd_free releases it.
 */
struct cmd {
	char id[CMD_ID_MAX + 1];
	char gw[CMD_GW_MAX + 1];
	uint64_t seq;
	int64_t nbf, exp;		/* unix seconds */
	char type[CMD_TYPE_MAX + 1];
	json_t *args;
	const uint8_t *body;		/* the signed bytes, without the LF */
	size_t body_len;
	uint8_t sig[CMD_SIG_LEN];	/* r || s */
};

/* A fleet public key (EC P-256, sig.h), from cmd_key_load_public. */

/*
 * Parse a frame of len bytes into *c. Lengths first (a frame over
 * CMD_FRAME_MAX is refused before anything is read), then the LF before the
 * signature, then the body as strict JSON (UTF-8, no NUL, no duplicate
 * member) and every member. Does not verify the signature (cmd_verify).
 * 0, or -EBADMSG (-ENOMEM) with one line in err, e.g.
 * "command: seq: not an integer in 1..2^53-1"; *c is then empty (cmd_free
 * is harmless).
 */
int cmd_parse(const uint8_t *frame, size_t len, struct cmd *c, char *err,
    size_t errlen);
void cmd_free(struct cmd *c);

/*
 * A public key from PEM text (SubjectPublicKeyInfo, "BEGIN PUBLIC KEY"),
 * len bytes, NUL not needed. Anything but EC P-256 is refused:
 * "command: key: not an EC P-256 public key". 0, -EINVAL or -ENOMEM.
 */
int cmd_key_load_public(const char *pem, size_t len, struct cmd_pubkey **out,
    char *err, size_t errlen);
/* cmd_pubkey_free(k): sig.h. */

/*
 * 0 if c->sig is k's ECDSA signature of SHA-256(c->body), else -EBADMSG
 * (r or s of 0 or not below the group order included). -ENOMEM if mbedtls
 * could not allocate.
 */
int cmd_verify(const struct cmd_pubkey *k, const struct cmd *c);

#endif
