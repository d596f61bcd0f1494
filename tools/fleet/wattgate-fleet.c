/*
 * wattgate-fleet: the fleet service's side of signed commands
 * (docs/commands.md).
 *
 *   wattgate-fleet keygen DIR
 *   wattgate-fleet sign --key K --gw GW --type T [--args JSON] [--id ID]
 *                  [--seq N] [--nbf UNIX] [--ttl SECONDS] [--state DIR]
 *                  [--out FILE]
 *   wattgate-fleet send --mqtt HOST:PORT [--prefix P] [--tls-ca F --cert F
 *                  --key-file F] [--wait SECONDS] (--frame FILE | sign options)
 *   wattgate-fleet verify --pub P FILE
 *   wattgate-fleet tech-keygen | tech-issue | tech-answer | password-hash
 *                  (console logins: tech.c, password.c)
 *
 * Exit: 0 done, 1 error, 2 usage, 3 (send) no final result in time.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "firmware/base/rfile.h"
#include "firmware/codec/command.h"
#include "tools/fleet/send.h"
#include "tools/fleet/seqfile.h"
#include "tools/fleet/tech.h"
#include "tools/lib/cli.h"
#include "tools/lib/keyfile.h"
#include "tools/lib/signer.h"

#define EXIT_USAGE	CLI_EXIT_USAGE

struct opts {
	const char *key, *gw, *type, *args, *id, *state, *out, *frame, *pub;
	const char *mqtt, *coap;
	long long seq, nbf, ttl;
	int has_seq, has_nbf;
	struct send_opts send;
};

static void
usage(FILE *f)
{
	fputs("usage: wattgate-fleet keygen DIR\n"
	    "       wattgate-fleet sign --key K --gw GW --type T [--args JSON] "
	    "[--id ID]\n"
	    "                      [--seq N] [--nbf UNIX] [--ttl SECONDS] "
	    "[--state DIR] [--out FILE]\n"
	    "       wattgate-fleet send (--mqtt HOST:PORT | --coap coap://HOST:PORT)"
	    "\n                      [--prefix P] [--wait SECONDS]\n"
	    "                      [--tls-ca F --cert F --key-file F]\n"
	    "                      (--frame FILE [--gw GW] | the sign options)\n"
	    "       wattgate-fleet verify --pub P FILE\n"
	    "       wattgate-fleet tech-keygen --out F\n"
	    "       wattgate-fleet tech-issue --key K --tech NAME --tech-pub F.pub"
	    "\n                      --gw GW[,GW...|*] --valid DURATION "
	    "[--nbf UNIX] [--out FILE]\n"
	    "       wattgate-fleet tech-answer --cred C --key F --challenge "
	    "'wgc1 ...'\n"
	    "       wattgate-fleet password-hash [--iterations N]\n", f);
}

static int
fail(const char *what, const char *err)
{
	return cli_fail("wattgate-fleet", what, err);
}

/*
 * The private key (0600, O_EXCL: never over an existing key, whose gateways
 * would then refuse every command) and the public key beside it.
 */
static int
cmd_keygen(const char *dir)
{
	char kpath[PATH_MAX], ppath[PATH_MAX], err[PATH_MAX + 256];
	struct stat st;

	if ((size_t)snprintf(kpath, sizeof(kpath), "%s/command.key", dir) >=
	    sizeof(kpath) || (size_t)snprintf(ppath, sizeof(ppath),
	    "%s/command.pub", dir) >= sizeof(ppath))
		return fail(dir, "path too long");
	if (lstat(kpath, &st) != 0 && lstat(ppath, &st) != 0 &&
	    mkdir(dir, 0700) != 0 && errno != EEXIST)
		return fail(dir, strerror(errno));
	if (keyfile_generate(kpath, ppath, err, sizeof(err)) < 0)
		return fail(err, "");
	fprintf(stderr, "wattgate-fleet: %s (private, 0600) and %s written\n",
	    kpath, ppath);
	return 0;
}

/* The body as compact JSON, members in the documented order. */
static char *
body_dump(const struct opts *o, const char *id, uint64_t seq, json_t *args)
{
	json_t *b = json_object();
	char *text;

	json_object_set_new(b, "v", json_integer(CMD_VERSION));
	json_object_set_new(b, "id", json_string(id));
	json_object_set_new(b, "gw", json_string(o->gw));
	json_object_set_new(b, "seq", json_integer((json_int_t)seq));
	json_object_set_new(b, "nbf", json_integer(o->nbf));
	json_object_set_new(b, "exp", json_integer(o->nbf + o->ttl));
	json_object_set_new(b, "type", json_string(o->type));
	if (args != NULL)
		json_object_set(b, "args", args);
	text = json_dumps(b, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(b);
	return text;
}

/*
 * body signed into frame: and checked as the gateway will check it, so a
 * bad --gw or --type is refused here rather than by every gateway.
 */
static int
make_frame(struct signer *s, const char *body, uint8_t *frame, size_t *len,
    char *err, size_t errlen)
{
	struct cmd c;

	if (body == NULL) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	if (signer_frame(s, (const uint8_t *)body, strlen(body), frame,
	    CMD_FRAME_MAX, len, err, errlen) != 0 ||
	    cmd_parse(frame, *len, &c, err, errlen) != 0)
		return -EINVAL;
	cmd_free(&c);
	return 0;
}

/*
 * The frame of the sign options into frame[CMD_FRAME_MAX], its id into id.
 * Everything is checked with a trial frame first; only then is a seq taken
 * from the state directory (on disk before it is used), so a typo does not
 * burn one.
 */
static int
sign_frame(struct opts *o, uint8_t *frame, size_t *len, char *id)
{
	char err[512], dir[PATH_MAX], *body, *slash;
	struct signer *s = NULL;
	json_t *args = NULL;
	json_error_t je;
	uint64_t seq;
	uint8_t rnd[8];
	int i, rc = EXIT_FAILURE;

	if (o->key == NULL || o->gw == NULL || o->type == NULL) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (o->args != NULL && ((args = json_loads(o->args,
	    JSON_REJECT_DUPLICATES, &je)) == NULL || !json_is_object(args))) {
		fprintf(stderr, "wattgate-fleet: --args: %s\n", args == NULL ?
		    je.text : "not a JSON object");
		json_decref(args);
		return EXIT_USAGE;
	}
	if (keyfile_load_signer(o->key, &s, err, sizeof(err)) != 0) {
		json_decref(args);
		return fail("--key", err);
	}
	id[0] = '\0';
	if (o->id != NULL)
		snprintf(id, CMD_ID_MAX + 1, "%s", o->id);
	else if (signer_random(s, rnd, sizeof(rnd)) == 0)
		for (i = 0; i < (int)sizeof(rnd); i++)
			snprintf(id + 2 * i, 3, "%02x", rnd[i]);
	if (!o->has_nbf)
		o->nbf = (long long)time(NULL);
	body = body_dump(o, o->id != NULL ? o->id : id, 1, args);
	i = make_frame(s, body, frame, len, err, sizeof(err));
	free(body);
	if (i != 0) {
		fail("sign", err);
		goto out;
	}
	if (o->has_seq) {
		seq = (uint64_t)o->seq;
	} else {
		snprintf(dir, sizeof(dir), "%s", o->key);
		slash = strrchr(dir, '/');
		if (slash != NULL)
			*slash = '\0';
		if (seqfile_next(o->state != NULL ? o->state : slash != NULL ? dir :
		    ".", o->gw, &seq, err, sizeof(err)) != 0) {
			fail("--state", err);
			goto out;
		}
	}
	body = body_dump(o, id, seq, args);
	if (make_frame(s, body, frame, len, err, sizeof(err)) != 0)
		fail("sign", err);
	else
		rc = 0;
	free(body);
out:
	signer_free(s);
	json_decref(args);
	return rc;
}

static int
cmd_sign(struct opts *o)
{
	static uint8_t frame[CMD_FRAME_MAX];
	char id[CMD_ID_MAX + 1];
	size_t len;
	int rc;

	if ((rc = sign_frame(o, frame, &len, id)) != 0)
		return rc;
	if (o->out != NULL) {
		if ((rc = keyfile_write(o->out, frame, len, 0644, 0)) < 0)
			return fail(o->out, strerror(-rc));
	} else if (fwrite(frame, 1, len, stdout) != len || fflush(stdout) != 0) {
		return fail("stdout", strerror(errno));
	}
	return 0;
}

/* A frame from a file, parsed (not verified): its gw and id, for send. */
static int
read_frame(const char *path, uint8_t *frame, size_t *len, struct cmd *c,
    char *err, size_t errlen)
{
	char *buf;
	int rc;

	if ((rc = rfile_read(path, 4 * CMD_FRAME_MAX, &buf, len, NULL, err,
	    errlen)) < 0)
		return rc;
	if (*len > CMD_FRAME_MAX) {
		snprintf(err, errlen, "%s: %zu bytes, over %d", path, *len,
		    CMD_FRAME_MAX);
		free(buf);
		return -EFBIG;
	}
	memcpy(frame, buf, *len);
	free(buf);
	if (c == NULL)
		return 0;
	return cmd_parse(frame, *len, c, err, errlen);
}

static int
cmd_verify_file(const struct opts *o, const char *file)
{
	static uint8_t frame[CMD_FRAME_MAX];
	struct cmd_pubkey *k;
	char err[512];
	struct cmd c;
	size_t len;
	int rc = EXIT_FAILURE;

	if (o->pub == NULL || file == NULL) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (keyfile_load_public(o->pub, "command", &k, err, sizeof(err)) != 0)
		return fail("--pub", err);
	if (read_frame(file, frame, &len, &c, err, sizeof(err)) != 0) {
		fail(file, err);
	} else if (cmd_verify(k, &c) != 0) {
		fail(file, "command: signature does not verify with this key");
		cmd_free(&c);
	} else {
		fwrite(c.body, 1, c.body_len, stdout);
		fputc('\n', stdout);
		cmd_free(&c);
		rc = fflush(stdout) == 0 ? 0 : EXIT_FAILURE;
	}
	cmd_pubkey_free(k);
	return rc;
}

static int
cmd_send(struct opts *o)
{
	static uint8_t frame[CMD_FRAME_MAX];
	char id[CMD_ID_MAX + 1] = "", gwbuf[CMD_GW_MAX + 1], err[512], *colon;
	const char *gw = o->gw;
	struct cmd c;
	size_t len;
	long long port;
	int rc;

	if ((o->coap != NULL) == (o->mqtt != NULL)) {
		fprintf(stderr, "wattgate-fleet: --mqtt HOST:PORT or --coap "
		    "coap://HOST:PORT needed\n");
		return EXIT_USAGE;
	}
	if (o->coap != NULL && strncmp(o->coap, "coap://", 7) != 0) {
		fprintf(stderr, "wattgate-fleet: --coap %s: want coap://HOST:PORT "
		    "(coaps:// is not built yet)\n", o->coap);
		return EXIT_USAGE;
	}
	if (o->mqtt != NULL) {
		if ((colon = strrchr(o->mqtt, ':')) == NULL ||
		    cli_num(colon + 1, 1, 65535, &port) != 0) {
			fprintf(stderr, "wattgate-fleet: --mqtt HOST:PORT needed\n");
			return EXIT_USAGE;
		}
		*colon = '\0';
		o->send.host = o->mqtt;
		o->send.port = (int)port;
	}
	if (o->frame != NULL) {
		/*
		 * Sent as it is, even tampered: a frame that does not parse
		 * needs --gw to be routed, and --id to be waited for.
		 */
		rc = read_frame(o->frame, frame, &len, &c, err, sizeof(err));
		if (rc == 0) {
			snprintf(gwbuf, sizeof(gwbuf), "%s", gw != NULL ? gw : c.gw);
			gw = gwbuf;
			snprintf(id, sizeof(id), "%s", c.id);
			cmd_free(&c);
		} else if (rc != -EBADMSG || gw == NULL ||
		    (o->send.wait_s != 0 && o->id == NULL)) {
			return fail(o->frame, err);
		}
		if (o->id != NULL)
			snprintf(id, sizeof(id), "%s", o->id);
	} else if ((rc = sign_frame(o, frame, &len, id)) != 0) {
		return rc;
	}
	if (o->coap != NULL)
		return send_coap(&o->send, o->coap, gw, id, frame, len);
	return send_mqtt(&o->send, gw, id, frame, len);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "key", 1, NULL, 'k' }, { "gw", 1, NULL, 'g' },
		{ "type", 1, NULL, 't' }, { "args", 1, NULL, 'a' },
		{ "id", 1, NULL, 'i' }, { "seq", 1, NULL, 's' },
		{ "nbf", 1, NULL, 'n' }, { "ttl", 1, NULL, 'T' },
		{ "state", 1, NULL, 'S' }, { "out", 1, NULL, 'o' },
		{ "mqtt", 1, NULL, 'm' }, { "coap", 1, NULL, 'c' },
		{ "prefix", 1, NULL, 'p' }, { "tls-ca", 1, NULL, 'C' },
		{ "cert", 1, NULL, 'E' }, { "key-file", 1, NULL, 'K' },
		{ "wait", 1, NULL, 'w' }, { "frame", 1, NULL, 'f' },
		{ "pub", 1, NULL, 'P' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct opts o = { .ttl = 3600, .send = { .prefix = "wg", .wait_s = 30 } };
	const char *verb;
	long long n;
	int ch, li = 0, bad = 0;

	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	verb = argv[1];
	if (strcmp(verb, "-h") == 0 || strcmp(verb, "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if ((ch = tech_main(verb, argc, argv)) >= 0)
		return ch;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "h", lo, &li)) != -1) {
		switch (ch) {
		case 'k': o.key = optarg; break;
		case 'g': o.gw = optarg; break;
		case 't': o.type = optarg; break;
		case 'a': o.args = optarg; break;
		case 'i': o.id = optarg; break;
		case 'S': o.state = optarg; break;
		case 'o': o.out = optarg; break;
		case 'm': o.mqtt = optarg; break;
		case 'c': o.coap = optarg; break;
		case 'p': o.send.prefix = optarg; break;
		case 'C': o.send.ca = optarg; break;
		case 'E': o.send.cert = optarg; break;
		case 'K': o.send.key = optarg; break;
		case 'f': o.frame = optarg; break;
		case 'P': o.pub = optarg; break;
		case 's':
			bad |= cli_num(optarg, 1, (long long)CMD_SEQ_MAX,
			    &o.seq);
			o.has_seq = 1;
			break;
		case 'n':
			bad |= cli_num(optarg, 0, CMD_TIME_MAX - 1, &o.nbf);
			o.has_nbf = 1;
			break;
		case 'T': bad |= cli_num(optarg, 1, CMD_TIME_MAX, &o.ttl); break;
		case 'w':
			bad |= cli_num(optarg, 0, 86400, &n);
			o.send.wait_s = (int)n;
			break;
		case 'h': usage(stdout); return 0;
		default: bad = 1; break;
		}
		if (bad)
			return cli_bad_value("wattgate-fleet", ch, lo[li].name,
			    optarg);
	}
	if (strcmp(verb, "keygen") == 0 && optind == argc - 1)
		return cmd_keygen(argv[optind]);
	if (strcmp(verb, "sign") == 0 && optind == argc)
		return cmd_sign(&o);
	if (strcmp(verb, "send") == 0 && optind == argc)
		return cmd_send(&o);
	if (strcmp(verb, "verify") == 0 && optind == argc - 1)
		return cmd_verify_file(&o, argv[optind]);
	usage(stderr);
	return EXIT_USAGE;
}
