/*
 * wattgate-fleet's console logins (docs/console.md "Login"):
 *
 *   tech-keygen --out F           a technician's key pair: F (0600) and F.pub
 *   tech-issue --key command.key --tech NAME --tech-pub F.pub
 *              --gw GW[,GW...|*] --valid DURATION [--nbf UNIX] [--out FILE]
 *                                 the fleet certifies F.pub: a credential file
 *   tech-answer --cred C --key F --challenge 'wgc1 ...'
 *                                 the response line to paste at the console
 *   password-hash [--iterations N]
 *                                 console.password's args from a password
 *
 * tech-answer needs no network and no fleet key: the technician runs it on
 * a laptop in the basement. What it can check (the key is the credential's,
 * the gateway is named in it, the window) it checks, so a mistake shows
 * here and not as a failed login that counts towards the lockout.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "firmware/base/clock.h"
#include "firmware/base/rfile.h"
#include "firmware/codec/console_req.h"
#include "firmware/codec/pwhash.h"
#include "firmware/codec/techcred.h"
#include "tools/fleet/tech.h"
#include "tools/lib/cli.h"
#include "tools/lib/keyfile.h"
#include "tools/lib/signer.h"

#define PROG		"wattgate-fleet"
/* A credential is for a shift or a job, not for good: 31 days at most. */
#define VALID_MAX_S	(31LL * 86400)

struct topts {
	const char *out, *key, *tech, *tech_pub, *gw, *cred, *challenge;
	long long valid, nbf, iterations;
	int has_nbf;
};

static int
fail(const char *what, const char *err)
{
	return cli_fail(PROG, what, err);
}


/* "8h", "30m", "2d", "90s" or seconds: 1 s .. VALID_MAX_S. */
static int
duration(const char *s, long long *out)
{
	char num[24];
	size_t n = strlen(s);
	long long mul = 1;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n + 1);
	switch (num[n - 1]) {
	case 's': mul = 1; num[n - 1] = '\0'; break;
	case 'm': mul = 60; num[n - 1] = '\0'; break;
	case 'h': mul = 3600; num[n - 1] = '\0'; break;
	case 'd': mul = 86400; num[n - 1] = '\0'; break;
	default: break;
	}
	if (cli_num(num, 1, VALID_MAX_S, out) != 0 || *out > VALID_MAX_S / mul)
		return -1;
	*out *= mul;
	return 0;
}

/* F and F.pub, made once (keyfile.h: never over an existing key). */
static int
tech_keygen(const struct topts *o)
{
	char pub[PATH_MAX], err[PATH_MAX + 256];

	if (o->out == NULL)
		return fail("tech-keygen", "--out FILE needed");
	if ((size_t)snprintf(pub, sizeof(pub), "%s.pub", o->out) >= sizeof(pub))
		return fail(o->out, "path too long");
	if (keyfile_generate(o->out, pub, err, sizeof(err)) < 0)
		return fail(err, "");
	fprintf(stderr, PROG ": %s (private, 0600) and %s written; give %s to "
	    "the fleet for a credential\n", o->out, pub, pub);
	return 0;
}

/* --gw "a,b" or "*" as a JSON array; the codec judges each name later. */
static json_t *
gw_list(const char *list)
{
	json_t *a = json_array();
	char *copy = strdup(list), *save = NULL, *tok;

	if (a == NULL || copy == NULL) {
		json_decref(a);
		free(copy);
		return NULL;
	}
	for (tok = strtok_r(copy, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		json_array_append_new(a, json_string(tok));
	free(copy);
	return a;
}

static int
tech_issue(const struct topts *o)
{
	static uint8_t cred[TECHCRED_MAX];
	char err[PATH_MAX + 256], hex[2 * SIG_POINT_LEN + 1], path[PATH_MAX];
	char from[32], to[32], *body = NULL;
	uint8_t pt[SIG_POINT_LEN];
	struct cmd_pubkey *k = NULL;
	struct signer *s = NULL;
	struct techcred tc;
	long long nbf = o->has_nbf ? o->nbf : (long long)time(NULL);
	size_t len;
	json_t *b;
	int rc = EXIT_FAILURE;

	if (o->key == NULL || o->tech == NULL || o->tech_pub == NULL ||
	    o->gw == NULL || o->valid == 0) {
		fprintf(stderr, PROG ": tech-issue: --key, --tech, --tech-pub, --gw "
		    "and --valid needed\n");
		return CLI_EXIT_USAGE;
	}
	if (keyfile_load_public(o->tech_pub, "tech-pub", &k, err,
	    sizeof(err)) < 0 || sig_key_point(k, pt) < 0) {
		cmd_pubkey_free(k);
		return fail("--tech-pub", err);
	}
	cmd_pubkey_free(k);
	techcred_hex(pt, sizeof(pt), hex);
	b = json_pack("{s:i,s:s,s:s,s:o,s:I,s:I}", "v", TECHCRED_VERSION, "tech",
	    o->tech, "key", hex, "gws", gw_list(o->gw), "nbf", (json_int_t)nbf,
	    "exp", (json_int_t)(nbf + o->valid));
	if (b != NULL)
		body = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(b);
	if (body == NULL)
		return fail("tech-issue", "out of memory");
	if (keyfile_load_signer(o->key, &s, err, sizeof(err)) < 0) {
		fail("--key", err);
		goto out;
	}
	/* Parsed as the gateway parses it: a bad name stops here. */
	if (signer_frame(s, (const uint8_t *)body, strlen(body), cred,
	    sizeof(cred), &len, err, sizeof(err)) < 0 ||
	    techcred_parse(cred, len, &tc, err, sizeof(err)) < 0) {
		fail("tech-issue", err);
		goto out;
	}
	/* The response goes through the console as one request argument. */
	if (5 + (len + 2) / 3 * 4 + 1 + 2 * SIG_LEN > CONSOLE_ARG_MAX) {
		snprintf(err, sizeof(err), "its response line would be %zu bytes, "
		    "over the %d a console argument takes: name fewer gateways "
		    "(or '*')", 5 + (len + 2) / 3 * 4 + 1 + 2 * SIG_LEN,
		    CONSOLE_ARG_MAX);
		fail("tech-issue", err);
		goto out;
	}
	if (o->out == NULL)
		snprintf(path, sizeof(path), "%s.cred", o->tech);
	else
		snprintf(path, sizeof(path), "%s", o->out);
	if ((rc = keyfile_write(path, cred, len, 0644, 0)) < 0) {
		rc = fail(path, strerror(-rc));
		goto out;
	}
	fprintf(stderr, PROG ": %s: technician %s, gateway(s) %s, valid %s to %s\n",
	    path, o->tech, o->gw, clock_utc(tc.nbf, from, sizeof(from)),
	    clock_utc(tc.exp, to, sizeof(to)));
	rc = 0;
out:
	signer_free(s);
	free(body);
	return rc;
}

/* The technician's point, from the private key file's public half. */
static int
signer_point(struct signer *s, uint8_t pt[SIG_POINT_LEN])
{
	char pem[SIGNER_PEM_MAX], err[128];
	struct cmd_pubkey *k;
	int rc;

	if (signer_pem_public(s, pem, sizeof(pem)) < 0 ||
	    sig_key_load_public("tech", pem, strlen(pem), &k, err,
	    sizeof(err)) < 0)
		return -EINVAL;
	rc = sig_key_point(k, pt);
	cmd_pubkey_free(k);
	return rc;
}

/* Warnings only: the gateway judges by its clock, which may be off. */
static void
warn_times(const struct techcred *tc, int64_t t)
{
	int64_t now = (int64_t)time(NULL);
	char a[32], b[32];

	if (now >= tc->exp)
		fprintf(stderr, PROG ": warning: the credential expired at %s; a "
		    "gateway with a synchronised clock refuses it\n",
		    clock_utc(tc->exp, a, sizeof(a)));
	else if (now < tc->nbf)
		fprintf(stderr, PROG ": warning: the credential is valid only from "
		    "%s\n", clock_utc(tc->nbf, a, sizeof(a)));
	if (t > now + 300 || t < now - 300)
		fprintf(stderr, PROG ": note: the gateway's clock says %s, this "
		    "computer's %s (is it synchronised?)\n", clock_utc(t, a, sizeof(a)),
		    clock_utc(now, b, sizeof(b)));
}

static int
tech_answer(const struct topts *o)
{
	char err[PATH_MAX + 256], gw[TECHCRED_GW_MAX + 1];
	static char line[TECHCRED_RESPONSE_MAX + 1];
	uint8_t pt[SIG_POINT_LEN], sig[SIG_LEN];
	struct signer *s = NULL;
	struct techcred tc;
	char *buf = NULL;
	size_t len;
	int64_t t;
	int rc = EXIT_FAILURE, n;

	if (o->cred == NULL || o->key == NULL || o->challenge == NULL) {
		fprintf(stderr, PROG ": tech-answer: --cred, --key and --challenge "
		    "needed\n");
		return CLI_EXIT_USAGE;
	}
	if (techcred_challenge_parse(o->challenge, strlen(o->challenge), gw, &t,
	    err, sizeof(err)) < 0)
		return fail("--challenge", err);
	if (rfile_read(o->cred, TECHCRED_MAX, &buf, &len, NULL, err,
	    sizeof(err)) < 0)
		return fail("--cred", err);
	if (techcred_parse((const uint8_t *)buf, len, &tc, err, sizeof(err)) < 0) {
		fail(o->cred, err);
		goto out;
	}
	if (keyfile_load_signer(o->key, &s, err, sizeof(err)) < 0) {
		fail("--key", err);
		goto out;
	}
	if (signer_point(s, pt) < 0 || memcmp(pt, tc.key, sizeof(pt)) != 0) {
		fail(o->cred, "certifies another key than --key's");
		goto out;
	}
	if (!techcred_for_gw(&tc, gw)) {
		snprintf(err, sizeof(err), "does not name gateway '%s' (the "
		    "challenge's)", gw);
		fail(o->cred, err);
		goto out;
	}
	warn_times(&tc, t);
	if (signer_sign(s, (const uint8_t *)o->challenge, strlen(o->challenge),
	    sig, err, sizeof(err)) < 0) {
		fail("tech-answer", err);
		goto out;
	}
	if ((n = techcred_response_format((const uint8_t *)buf, len, sig, line,
	    sizeof(line))) < 0) {
		fail("tech-answer", "response longer than 4096 bytes");
		goto out;
	}
	printf("%s\n", line);
	rc = fflush(stdout) == 0 ? 0 : fail("stdout", strerror(errno));
out:
	signer_free(s);
	free(buf);
	return rc;
}

int
tech_main(const char *verb, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "out", 1, NULL, 'o' }, { "key", 1, NULL, 'k' },
		{ "tech", 1, NULL, 't' }, { "tech-pub", 1, NULL, 'p' },
		{ "gw", 1, NULL, 'g' }, { "valid", 1, NULL, 'v' },
		{ "nbf", 1, NULL, 'n' }, { "cred", 1, NULL, 'c' },
		{ "challenge", 1, NULL, 'C' }, { "iterations", 1, NULL, 'i' },
		{ NULL, 0, NULL, 0 }
	};
	struct topts o = { .iterations = PWHASH_ITER_MIN };
	int ch, li = 0, bad = 0;

	if (strcmp(verb, "tech-keygen") != 0 && strcmp(verb, "tech-issue") != 0 &&
	    strcmp(verb, "tech-answer") != 0 && strcmp(verb, "password-hash") != 0)
		return -1;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", lo, &li)) != -1) {
		switch (ch) {
		case 'o': o.out = optarg; break;
		case 'k': o.key = optarg; break;
		case 't': o.tech = optarg; break;
		case 'p': o.tech_pub = optarg; break;
		case 'g': o.gw = optarg; break;
		case 'c': o.cred = optarg; break;
		case 'C': o.challenge = optarg; break;
		case 'v': bad = duration(optarg, &o.valid); break;
		case 'n':
			bad = cli_num(optarg, 0, TECHCRED_TIME_MAX - VALID_MAX_S,
			    &o.nbf);
			o.has_nbf = 1;
			break;
		case 'i':
			bad = cli_num(optarg, PWHASH_ITER_MIN, PWHASH_ITER_MAX,
			    &o.iterations);
			break;
		default: bad = 1; break;
		}
		if (bad)
			return cli_bad_value(PROG, ch, lo[li].name, optarg);
	}
	if (optind != argc) {
		fprintf(stderr, PROG ": %s: unexpected argument '%s'\n", verb,
		    argv[optind]);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(verb, "tech-keygen") == 0)
		return tech_keygen(&o);
	if (strcmp(verb, "tech-issue") == 0)
		return tech_issue(&o);
	if (strcmp(verb, "tech-answer") == 0)
		return tech_answer(&o);
	return password_hash((uint32_t)o.iterations);
}
