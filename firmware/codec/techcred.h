/*
 * A technician's login with no shared secret (issue 16, docs/console.md
 * "Login"): the formats, shared by the daemon (firmware/core/console_auth.c)
 * and wattgate-fleet (tools/fleet/tech.c). Pure: no I/O, no clock; the
 * caller judges nbf/exp against its own clock.
 *
 * The credential: the fleet's command key certifies a technician's key for
 * a time window and a set of gateways. Framed as a command frame is
 * (docs/commands.md "Wire format"):
 *
 *   cred = body 0x0A sig
 *   body = {"v":1,"tech":NAME,"key":HEX130,"gws":[GW,...],"nbf":S,"exp":S}
 *          compact JSON, 2..TECHCRED_BODY_MAX bytes, no LF inside
 *   sig  = 64 bytes r || s: ECDSA P-256 of SHA-256(body), command key
 *
 * The challenge (the gateway's): "wgc1 GW NONCE32HEX UNIXTIME".
 * The response (the technician's, one line, pasted at the console):
 *
 *   "wgr1." base64(cred) "." hex(r || s of SHA-256(challenge), tech key)
 *
 * A credential can never pass for a command nor a command for a credential
 * although the same key signs both: each parser refuses the other's members
 * ("tech" is unknown to commands, "id" to credentials).
 */
#ifndef WG_TECHCRED_H
#define WG_TECHCRED_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/codec/sig.h"

#define TECHCRED_VERSION	1
#define TECHCRED_BODY_MIN	2
#define TECHCRED_BODY_MAX	2048
#define TECHCRED_MAX		(TECHCRED_BODY_MAX + 1 + SIG_LEN)
#define TECHCRED_NAME_MAX	64	/* tech: [A-Za-z0-9._@:-] */
#define TECHCRED_GW_MAX		64	/* as a command's gw */
#define TECHCRED_GWS_MAX	32	/* gateways in one credential */
#define TECHCRED_TIME_MAX	(INT64_C(1) << 40)
/* The whole response line; longer is refused unread. */
#define TECHCRED_RESPONSE_MAX	4096
#define TECHCRED_NONCE_LEN	16
/* "wgc1 " GW " " 32 hex " " up to 13 digits (2^40) */
#define TECHCRED_CHALLENGE_MAX	(5 + TECHCRED_GW_MAX + 1 + 32 + 1 + 13)

/* A parsed credential. body points into the bytes given to techcred_parse. */
struct techcred {
	char tech[TECHCRED_NAME_MAX + 1];
	uint8_t key[SIG_POINT_LEN];	/* the technician's public point */
	size_t n_gws;
	char gws[TECHCRED_GWS_MAX][TECHCRED_GW_MAX + 1];	/* or "*" */
	int64_t nbf, exp;		/* unix seconds */
	const uint8_t *body;
	size_t body_len;
	uint8_t sig[SIG_LEN];
};

/*
 * Parse cred[len]: lengths, the LF before the signature, strict JSON (no
 * NUL, no duplicate member, exactly the members above). Does not verify.
 * 0, or -EBADMSG (-ENOMEM) with "credential: WHAT" in err.
 */
int techcred_parse(const uint8_t *cred, size_t len, struct techcred *tc,
    char *err, size_t errlen);
/* 0 if the fleet key fleet signed tc's body; -EBADMSG; -ENOMEM. */
int techcred_verify(const struct cmd_pubkey *fleet, const struct techcred *tc);
/* 1 if tc names gw (or "*"), else 0. */
int techcred_for_gw(const struct techcred *tc, const char *gw);

/* A response line, split. */
struct techcred_response {
	uint8_t cred[TECHCRED_MAX];
	size_t cred_len;
	uint8_t sig[SIG_LEN];	/* over the challenge, by the tech key */
};

/*
 * line[len] (no LF; at most TECHCRED_RESPONSE_MAX): "wgr1.", strict
 * base64 (RFC 4648 alphabet, '=' padding, no whitespace), ".", 128
 * lowercase hex digits, nothing after. The credential inside is not parsed
 * here. 0, or -EBADMSG with "response: WHAT".
 */
int techcred_response_parse(const char *line, size_t len,
    struct techcred_response *r, char *err, size_t errlen);
/* The response line of cred and sig into out[cap], NUL-terminated: its
 * length, or -ENOSPC. */
int techcred_response_format(const uint8_t *cred, size_t len,
    const uint8_t sig[SIG_LEN], char *out, size_t cap);

/*
 * 0 if sig is the ECDSA signature of SHA-256(challenge) by tc's key;
 * -EBADMSG (also a key that is no P-256 point); -ENOMEM.
 */
int techcred_check_answer(const struct techcred *tc, const char *challenge,
    size_t len, const uint8_t sig[SIG_LEN]);

/* "wgc1 GW NONCEHEX T" into out[cap]: its length, or -EINVAL/-ENOSPC. */
int techcred_challenge_format(const char *gw, const uint8_t nonce[TECHCRED_NONCE_LEN],
    int64_t t, char *out, size_t cap);
/*
 * A challenge as the console shows it, split (the fleet tool's check
 * before it answers): gw[TECHCRED_GW_MAX + 1], *t. 0, or -EBADMSG with
 * "challenge: WHAT".
 */
int techcred_challenge_parse(const char *s, size_t len, char *gw, int64_t *t,
    char *err, size_t errlen);

/* lowercase hex of p[n] into out (2n + 1 bytes). */
void techcred_hex(const uint8_t *p, size_t n, char *out);
/* exactly 2n lowercase hex digits of s[slen] into p[n]: 0 or -EINVAL. */
int techcred_unhex(const char *s, size_t slen, uint8_t *p, size_t n);

#endif
