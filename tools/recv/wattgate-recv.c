/*
 * wattgate-recv: the platform side of the wire, small enough to read. Subscribes
 * to the batches and schemas of every gateway under a prefix, drops what the
 * broker delivers twice, and prints each reading as one JSON line (output.h).
 *
 *   wattgate-recv [-h HOST] [-p PORT] [--prefix P] [--id CLIENT_ID] [--count N]
 *                 [--verbose] [--spool DIR] [--pending-ttl SECONDS]
 *
 * Topics: <prefix>/<gw>/b (batches), <prefix>/<gw>/s/<id> (schemas, retained),
 * <prefix>/<gw>/status (retained online/offline JSON; shown with --verbose).
 * Documented in docs/receiver.md.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include <mosquitto.h>
#include <poll.h>

#include "firmware/codec/batch.h"
#include "firmware/codec/schema.h"
#include "tools/recv/coap_blk.h"
#include "tools/recv/dedupe.h"
#include "tools/recv/gwtab.h"
#include "tools/recv/output.h"
#include "tools/recv/pending.h"
#include "tools/recv/coap_cmd.h"
#include "tools/recv/coap_files.h"
#include "tools/recv/coap_server.h"
#include "tools/recv/recv.h"

static void
on_signal(int sig)
{
	(void)sig;
	recv_stop = 1;
}

static void
usage(FILE *f)
{
	fputs("usage: wattgate-recv [-h HOST] [-p PORT] [--prefix P] "
	    "[--id CLIENT_ID]\n"
	    "                     [--count N] [--verbose] [--no-mqtt]\n"
	    "                     [--coap ADDR:PORT] [--coaps ADDR:PORT] "
	    "[--psk-file F]\n"
	    "                     [--ca-file F --cert-file F --key-file F] "
	    "[--coap-max BYTES]\n"
	    "                     [--coap-hold BYTES] "
	    "[--coap-refuse CODE (until SIGUSR2)]\n"
	    "                     [--coap-files DIR (GET fw/NAME)]\n"
	    "                     [--spool DIR] [--pending-ttl SECONDS]\n", f);
}

/* 1 if path is a directory we may write into; else 0 with errno or 0. */
static int
is_dir(const char *path)
{
	struct stat st;

	errno = 0;
	if (stat(path, &st) != 0)
		return 0;
	if (!S_ISDIR(st.st_mode))
		return 0;
	return access(path, W_OK | X_OK) == 0;
}

/* Options into rv; 0, or 2 (usage error, already reported). */
static int
parse_args(struct recv *rv, struct coap_srv_opts *co, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "prefix", required_argument, NULL, 'P' },
		{ "id", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'H' },
		{ "no-mqtt", no_argument, NULL, 'M' },
		{ "coap", required_argument, NULL, 'c' },
		{ "coaps", required_argument, NULL, 's' },
		{ "psk-file", required_argument, NULL, 'k' },
		{ "ca-file", required_argument, NULL, 'a' },
		{ "cert-file", required_argument, NULL, 'C' },
		{ "key-file", required_argument, NULL, 'K' },
		{ "coap-max", required_argument, NULL, 'm' },
		{ "coap-refuse", required_argument, NULL, 'r' },
		{ "spool", required_argument, NULL, 'S' },
		{ "pending-ttl", required_argument, NULL, 'T' },
		{ "coap-hold", required_argument, NULL, 'B' },
		{ "coap-files", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long v;
	char *end;
	int c;

	while ((c = getopt_long(argc, argv, "h:p:v", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			rv->host = optarg;
			break;
		case 'p':
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 1 || v > 65535) {
				recv_warnx("-p %s: not a port (1..65535)", optarg);
				return 2;
			}
			rv->port = (int)v;
			break;
		case 'P':
			if (*optarg == '\0' || strpbrk(optarg, "+#") != NULL ||
			    strlen(optarg) > 64) {
				recv_warnx("--prefix '%s': want 1..64 characters, "
				    "no '+' or '#'", optarg);
				return 2;
			}
			rv->prefix = optarg;
			break;
		case 'i':
			if (*optarg == '\0') {
				recv_warnx("--id: empty client id");
				return 2;
			}
			rv->id = optarg;
			break;
		case 'n':
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || v == 0 ||
			    optarg[0] == '-') {
				recv_warnx("--count %s: not a positive number", optarg);
				return 2;
			}
			rv->count = v;
			break;
		case 'v':
			rv->verbose = 1;
			break;
		case 'M':
			rv->mqtt = 0;
			break;
		case 'c':
			co->coap = optarg;
			break;
		case 's':
			co->coaps = optarg;
			break;
		case 'k':
			co->psk_file = optarg;
			break;
		case 'a':
			co->ca_file = optarg;
			break;
		case 'C':
			co->cert_file = optarg;
			break;
		case 'K':
			co->key_file = optarg;
			break;
		case 'm':
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 64 || v > (1u << 30)) {
				recv_warnx("--coap-max %s: want 64..%u bytes", optarg, 1u << 30);
				return 2;
			}
			co->max_body = (size_t)v;
			break;
		case 'B':
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || v < RECV_SCHEMA_MAX ||
			    v > (1ull << 31)) {
				recv_warnx("--coap-hold %s: want %u..%llu bytes", optarg,
				    RECV_SCHEMA_MAX, 1ull << 31);
				return 2;
			}
			co->hold = (size_t)v;
			break;
		case 'r':
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 400 || v > 531 ||
			    v % 100 > 31 || (v > 431 && v < 500)) {
				recv_warnx("--coap-refuse %s: want a 4.xx or 5.xx code as "
				    "three digits (403)", optarg);
				return 2;
			}
			co->refuse = (unsigned)v;
			break;
		case 'F':
			if (*optarg == '\0') {
				recv_warnx("--coap-files: empty directory name");
				return 2;
			}
			rv->files = optarg;
			break;
		case 'S':
			if (*optarg == '\0') {
				recv_warnx("--spool: empty directory name");
				return 2;
			}
			rv->spool = optarg;
			break;
		case 'T':
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 1 || v > 86400) {
				recv_warnx("--pending-ttl %s: want 1..86400 seconds",
				    optarg);
				return 2;
			}
			rv->pending_ttl_ms = (int64_t)v * 1000;
			break;
		case 'H':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (!rv->mqtt && co->coap == NULL && co->coaps == NULL) {
		recv_warnx("--no-mqtt needs --coap or --coaps: nothing to receive from");
		return 2;
	}
	if (co->coaps != NULL && co->psk_file == NULL && co->cert_file == NULL) {
		recv_warnx("--coaps needs --psk-file or --cert-file and --key-file");
		return 2;
	}
	/* One body of the largest size must fit, or it could never come. */
	if (co->hold == 0 && co->max_body > COAP_BLK_HOLD)
		co->hold = co->max_body;
	if (co->hold != 0 && co->hold < co->max_body) {
		recv_warnx("--coap-hold %zu is less than --coap-max %zu", co->hold,
		    co->max_body);
		return 2;
	}
	if ((co->cert_file == NULL) != (co->key_file == NULL)) {
		recv_warnx("--cert-file and --key-file go together");
		return 2;
	}
	if (rv->files != NULL && co->coap == NULL && co->coaps == NULL) {
		recv_warnx("--coap-files needs --coap or --coaps");
		return 2;
	}
	if (rv->spool != NULL && !is_dir(rv->spool)) {
		recv_warnx("--spool %s: %s", rv->spool, errno ? strerror(errno) :
		    "not a directory");
		return 2;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static char outbuf[1 << 16];
	struct recv rv = { .host = "127.0.0.1", .port = 1883, .prefix = "wg",
	    .mqtt = 1, .volbudget = { .max = VOLKEYS_BUDGET } };
	struct coap_srv_opts co = { .max_body = 1u << 20 };
	struct sigaction sa;
	int rc;

	if ((rc = parse_args(&rv, &co, argc, argv)) != 0)
		return rc;
	/* Whole batches reach the pipe at once: flushed per batch, not per line. */
	setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: wake the select */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	pending_init(&rv.pending, 0, 0);
	if (gwtab_init(&rv.gws, 0) < 0) {
		recv_warnx("out of memory");
		return 1;
	}
	mosquitto_lib_init();
	/* The option named it; from here on rv.files means "open". */
	if (rv.files != NULL && coap_files_open(&rv, rv.files) < 0) {
		rc = 1;
		goto out;
	}
	if ((co.coap != NULL || co.coaps != NULL) &&
	    coap_srv_start(&rv, &co, &rv.coap) < 0) {
		rc = 1;
		goto out;
	}
	if (rv.mqtt && recv_mqtt_new(&rv) < 0) {
		rc = 1;
		goto out;
	}
	rc = recv_mqtt_run(&rv);
	recv_summary(&rv);
out:
	if (rv.mosq != NULL)
		mosquitto_destroy(rv.mosq);
	coap_srv_stop(rv.coap);
	coap_files_close(&rv);
	coap_cmdq_free(&rv);
	mosquitto_lib_cleanup();
	pending_free(&rv.pending);
	gwtab_free(&rv.gws);
	free(rv.r);
	return rc;
}
