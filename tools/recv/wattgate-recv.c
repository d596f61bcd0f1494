/*
 * wattgate-recv: the platform side of the wire, small enough to read. Subscribes
 * to the batches and schemas of every gateway under a prefix, drops what the
 * broker delivers twice, and prints each reading as one JSON line (output.h).
 *
 *   wattgate-recv [-h HOST] [-p PORT] [--prefix P] [--id CLIENT_ID] [--count N]
 *                 [--verbose]
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

#include <mosquitto.h>
#include <poll.h>

#include "firmware/codec/batch.h"
#include "firmware/codec/schema.h"
#include "tools/recv/dedupe.h"
#include "tools/recv/gwtab.h"
#include "tools/recv/output.h"
#include "tools/recv/pending.h"
#include "tools/recv/coap_server.h"
#include "tools/recv/recv.h"

volatile sig_atomic_t stop;

void
warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("wattgate-recv: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * Volatile batches (sent from a gateway's memory while its store refused
 * writes) have no seq: their readings are remembered by key, and dropped from
 * whatever batch of that gateway brings them again. Compacts r; returns how
 * many remain.
 */
static size_t
filter_volatile(struct gw *g, const struct batch_hdr *h, struct reading *r,
    size_t n)
{
	int vol = (h->flags & BATCH_F_VOLATILE) != 0;
	size_t i, k = 0;

	if (vol && g->vol.ring == NULL && volkeys_init(&g->vol, 0) < 0)
		warnx("%s: no memory for volatile keys: their stored copies will "
		    "be printed again", g->name);
	if (g->vol.ring == NULL)
		return n;
	for (i = 0; i < n; i++) {
		if (volkeys_has(&g->vol, r[i].dev, r[i].point, r[i].ts_ms)) {
			g->vol_dropped++;
			continue;
		}
		if (vol) {
			volkeys_add(&g->vol, r[i].dev, r[i].point, r[i].ts_ms);
			g->vol_readings++;
		}
		r[k++] = r[i];
	}
	return k;
}

/*
 * Decode, check, print and mark one batch whose schema is known. A batch is
 * marked seen only once it was printed: one that fails here can still come
 * right on a later delivery.
 */
static enum recv_result
deliver(struct recv *rv, struct gw *g, const struct schema *s,
    const uint8_t *p, size_t len)
{
	struct batch_hdr h;
	const char *why = NULL;
	char err[192];
	size_t n = 0;
	int rc, vol;

	rc = batch_decode(p, len, &h, rv->r, rv->cap, &n, &why);
	if (rc == -ENOSPC && n <= RECV_READINGS_MAX) {
		struct reading *r = realloc(rv->r, n * sizeof(*r));

		if (r == NULL) {
			warnx("%s/%s/b: seq %" PRIu64 ": no memory for %zu "
			    "readings", rv->prefix, g->name, h.seq, n);
			return RECV_FAILED;
		}
		rv->r = r;
		rv->cap = n;
		rc = batch_decode(p, len, &h, rv->r, rv->cap, &n, &why);
	}
	if (rc == -ENOSPC)
		why = "too many readings";
	if (rc < 0) {
		warnx("%s/%s/b: bad batch: %s", rv->prefix, g->name,
		    why ? why : strerror(-rc));
		rv->bad_batches++;
		return RECV_BAD;
	}
	vol = (h.flags & BATCH_F_VOLATILE) != 0;
	rc = vol ? DEDUPE_NEW : dedupe_check_range(&g->seqs, h.seq, h.seq_last);
	if (rc != DEDUPE_NEW && rc != DEDUPE_OVERLAP) {
		g->duplicates++;
		return RECV_DONE;
	}
	if (output_check(&h, s, rv->r, n, err, sizeof(err)) < 0) {
		warnx("%s/%s/b: bad batch: %s", rv->prefix, g->name, err);
		rv->bad_batches++;
		return RECV_BAD;
	}
	n = filter_volatile(g, &h, rv->r, n);
	if (output_batch(stdout, &h, s, rv->r, n) < 0 || fflush(stdout) != 0) {
		warnx("stdout: %s", strerror(errno));
		rv->exit_code = 1;
		stop = 1;
		return RECV_FAILED;
	}
	if (!vol && dedupe_mark_range(&g->seqs, h.seq, h.seq_last) < 0)
		warnx("%s: seq %" PRIu64 ": no memory to remember it", g->name,
		    h.seq);
	g->batches++;
	g->readings += n;
	rv->printed += n;
	if (rv->count && rv->printed >= rv->count)
		stop = 1;
	return RECV_DONE;
}

/*
 * A batch off the wire: cheap checks on the header first (topic, dedupe), then
 * decode now if the schema is known, or hold it until it is.
 */
enum recv_result
recv_batch(struct recv *rv, const char *topic, const char *gw,
    const uint8_t *p, size_t len, int hold)
{
	struct batch_hdr h;
	const char *why = NULL;
	const struct schema *s;
	struct gw *g;
	int rc;

	rc = batch_peek_hdr(p, len, &h, &why);
	if (rc < 0) {
		warnx("%s: bad batch: %s", topic, why ? why : strerror(-rc));
		rv->bad_batches++;
		return RECV_BAD;
	}
	if (strcmp(h.gw, gw) != 0) {
		warnx("%s: bad batch: header gateway '%s' is not the topic's",
		    topic, h.gw);
		rv->bad_batches++;
		return RECV_BAD;
	}
	if ((g = gwtab_get(&rv->gws, gw, 1)) == NULL) {
		warnx("%s: seq %" PRIu64 ": dropped: %s", topic, h.seq,
		    errno == ENOBUFS ? "too many gateways" : strerror(errno));
		rv->dropped++;
		return RECV_FAILED;
	}
	rc = h.flags & BATCH_F_VOLATILE ? DEDUPE_NEW :
	    dedupe_check_range(&g->seqs, h.seq, h.seq_last);
	if (rc == DEDUPE_OVERLAP) {
		/*
		 * A gateway never sends a seq twice in different batches: printed,
		 * since dropping could lose readings, and counted in the summary.
		 */
		warnx("%s: seq %" PRIu64 "..%" PRIu64 ": partly seen before; "
		    "printed, some readings may now be printed twice", topic, h.seq,
		    h.seq_last);
		g->overlaps++;
	} else if (rc != DEDUPE_NEW) {
		if (rc == DEDUPE_STALE)
			g->stale++;
		else
			g->duplicates++;
		if (rv->verbose)
			warnx("%s: seq %" PRIu64 ": %s, dropped", topic, h.seq,
			    rc == DEDUPE_STALE ? "stale" : "duplicate");
		return RECV_DONE;
	}
	if ((s = gwtab_schema(&rv->gws, g, h.schema_id)) != NULL)
		return deliver(rv, g, s, p, len);
	if (!hold) {
		if (rv->verbose)
			warnx("%s: seq %" PRIu64 ": schema %08" PRIx32 " unknown, "
			    "not taken", topic, h.seq, h.schema_id);
		return RECV_HELD;
	}
	if (!(h.flags & BATCH_F_VOLATILE) && pending_has(&rv->pending, gw, h.seq)) {
		g->duplicates++;
		return RECV_HELD;
	}
	rc = pending_push(&rv->pending, &h, p, len);
	if (rc < 0) {
		warnx("%s: seq %" PRIu64 ": dropped: %s", topic, h.seq,
		    rc == -ENOBUFS ? "pending queue full" : strerror(-rc));
		rv->dropped++;
		return RECV_FAILED;
	}
	if (rv->verbose)
		warnx("%s: seq %" PRIu64 ": schema %08" PRIx32 " unknown, held",
		    topic, h.seq, h.schema_id);
	return RECV_HELD;
}

/* "1a2b3c4d": exactly 8 lowercase hex digits, as the daemon writes them. */
static int
parse_id(const char *s, uint32_t *id)
{
	uint32_t v = 0;
	int i;

	for (i = 0; i < 8; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			v = v << 4 | (uint32_t)(s[i] - '0');
		else if (s[i] >= 'a' && s[i] <= 'f')
			v = v << 4 | (uint32_t)(s[i] - 'a' + 10);
		else
			return -EINVAL;
	}
	if (s[8] != '\0')
		return -EINVAL;
	*id = v;
	return 0;
}

/*
 * A schema: it must be what its topic says (id = CRC-32 of the payload, same
 * gateway), since batches name it only by that id. Then the batches held for it
 * are decoded, in arrival order.
 */
enum recv_result
recv_schema(struct recv *rv, const char *topic, const char *gw,
    const char *idtxt, const char *p, size_t len)
{
	struct pending_item *it;
	const struct schema *known;
	struct schema s;
	char err[160];
	uint32_t want, id;
	struct gw *g;
	int rc;

	if (parse_id(idtxt, &want) < 0) {
		warnx("%s: bad schema: id in topic is not 8 lowercase hex digits",
		    topic);
		rv->bad_schemas++;
		return RECV_BAD;
	}
	if (len == 0)		/* a retained schema being cleared */
		return RECV_DONE;
	if (len > RECV_SCHEMA_MAX) {
		warnx("%s: bad schema: %zu bytes, more than %u", topic, len,
		    RECV_SCHEMA_MAX);
		rv->bad_schemas++;
		return RECV_BAD;
	}
	if (schema_from_json(p, len, &s, &id, err, sizeof(err)) < 0) {
		warnx("%s: bad schema: %s", topic, err);
		rv->bad_schemas++;
		return RECV_BAD;
	}
	if (id != want || strcmp(s.gateway, gw) != 0) {
		if (id != want)
			warnx("%s: bad schema: payload CRC-32 is %08" PRIx32,
			    topic, id);
		else
			warnx("%s: bad schema: gateway '%s' is not the topic's",
			    topic, s.gateway);
		schema_free(&s);
		rv->bad_schemas++;
		return RECV_BAD;
	}
	if ((g = gwtab_get(&rv->gws, gw, 1)) == NULL) {
		warnx("%s: dropped: %s", topic, errno == ENOBUFS ?
		    "too many gateways" : strerror(errno));
		schema_free(&s);
		return RECV_FAILED;
	}
	rc = gwtab_schema_add(&rv->gws, g, id, &s);
	if (rc < 0) {
		warnx("%s: dropped: %s", topic, strerror(-rc));
		return RECV_FAILED;
	}
	if (rc == 1 && rv->verbose)
		warnx("%s: schema %08" PRIx32 " known", topic, id);
	while ((it = pending_take(&rv->pending, gw, id)) != NULL) {
		if ((known = gwtab_schema(&rv->gws, g, id)) != NULL)
			deliver(rv, g, known, it->data, it->len);
		free(it);
	}
	return RECV_DONE;
}

/* Status payloads are short text from the gateway; show them only if they are. */
static void
on_status(struct recv *rv, const char *gw, const char *p, size_t len)
{
	size_t i;

	if (!rv->verbose)
		return;
	for (i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			break;
	if (i == len && len <= 256)	/* the online JSON: ~90 bytes */
		warnx("%s: status %.*s", gw, (int)len, p);
	else
		warnx("%s: status: %zu bytes, not shown", gw, len);
}

/* Split <prefix>/<gw>/<rest> and dispatch on rest. */
static void
on_message(struct mosquitto *m, void *arg, const struct mosquitto_message *msg)
{
	struct recv *rv = arg;
	size_t plen = strlen(rv->prefix), glen;
	const char *t = msg->topic, *gwp, *rest;
	char gw[BATCH_GW_MAX + 1];
	size_t len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;

	/*
	 * No check of stop here: libmosquitto has acknowledged this message
	 * already, so dropping it now would lose it from a persistent session.
	 */
	(void)m;
	if (rv->exit_code != 0)
		return;
	if (strncmp(t, rv->prefix, plen) != 0 || t[plen] != '/')
		return;
	gwp = t + plen + 1;
	if ((rest = strchr(gwp, '/')) == NULL)
		return;
	glen = (size_t)(rest - gwp);
	rest++;
	if (glen == 0 || glen > BATCH_GW_MAX)
		goto bad_gw;
	memcpy(gw, gwp, glen);
	gw[glen] = '\0';
	if (!batch_gw_valid(gw))
		goto bad_gw;
	if (strcmp(rest, "b") == 0)
		recv_batch(rv, t, gw, msg->payload, len, 1);
	else if (strncmp(rest, "s/", 2) == 0)
		recv_schema(rv, t, gw, rest + 2, msg->payload, len);
	else if (strcmp(rest, "status") == 0)
		on_status(rv, gw, msg->payload, len);
	return;
bad_gw:
	warnx("%s: not a valid gateway id in the topic", t);
}

static void
on_connect(struct mosquitto *m, void *arg, int rc)
{
	struct recv *rv = arg;
	char b[128], s[128], st[128];
	char *subs[] = { b, s, st };

	if (rc != 0) {
		/* The broker closes the connection next: link_down() stays
		 * quiet about that, this says why. */
		snprintf(b, sizeof(b), "refused: %s", mosquitto_connack_string(rc));
		if (strcmp(b, rv->last_error) != 0)
			warnx("%s:%d: %s, retrying", rv->host, rv->port, b);
		snprintf(rv->last_error, sizeof(rv->last_error), "%s", b);
		rv->refused = 1;
		return;
	}
	if (rv->last_error[0] != '\0' || rv->verbose)
		warnx("%s:%d: connected", rv->host, rv->port);
	rv->last_error[0] = '\0';
	rv->link_up = 1;
	snprintf(b, sizeof(b), "%s/+/b", rv->prefix);
	snprintf(s, sizeof(s), "%s/+/s/+", rv->prefix);
	snprintf(st, sizeof(st), "%s/+/status", rv->prefix);
	rc = mosquitto_subscribe_multiple(m, NULL, rv->verbose ? 3 : 2, subs, 1,
	    0, NULL);
	if (rc != MOSQ_ERR_SUCCESS)
		warnx("subscribe: %s", mosquitto_strerror(rc));
}

static void
on_subscribe(struct mosquitto *m, void *arg, int mid, int n, const int *qos)
{
	struct recv *rv = arg;
	int i;

	(void)m;
	(void)mid;
	for (i = 0; i < n; i++) {
		if (qos[i] < 0 || qos[i] > 2) {
			warnx("subscription refused by the broker");
			rv->exit_code = 1;
			stop = 1;
			return;
		}
	}
	if (!rv->subscribed)
		warnx("subscribed");
	rv->subscribed = 1;
}

/*
 * Log a connection failure once per change of what went wrong: a broker down for
 * an hour is one line ("connection lost", then "Connection refused"), not 300.
 */
static void
link_down(struct recv *rv, int rc)
{
	const char *why;

	if (rc == MOSQ_ERR_ERRNO)
		why = strerror(errno);
	else if (rc == MOSQ_ERR_CONN_LOST)
		why = "connection lost";
	else
		why = mosquitto_strerror(rc);

	rv->link_up = 0;
	if (rv->refused) {
		rv->refused = 0;
		return;
	}
	if (strcmp(why, rv->last_error) == 0)
		return;
	warnx("%s:%d: %s, retrying", rv->host, rv->port, why);
	snprintf(rv->last_error, sizeof(rv->last_error), "%s", why);
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The tool's own loop (not the daemon's event loop): one poll() over the MQTT
 * client's socket and the CoAP server's fd, so one process takes both uplinks.
 * MQTT connects and reconnects with backoff forever; a signal or --count ends it.
 */
static int
run(struct recv *rv)
{
	int rc = MOSQ_ERR_NO_CONN, delay = 1, n, mfd, ms;
	int64_t retry_at = 0;
	struct pollfd pf[2];

	if (rv->mqtt) {
		rc = mosquitto_connect(rv->mosq, rv->host, rv->port, RECV_KEEPALIVE);
		if (rc == MOSQ_ERR_INVAL) {
			warnx("%s:%d: invalid broker address", rv->host, rv->port);
			return 1;
		}
	}
	while (!stop) {
		n = 0;
		mfd = -1;
		ms = 500;
		if (rv->mqtt && rc == MOSQ_ERR_SUCCESS &&
		    (mfd = mosquitto_socket(rv->mosq)) >= 0) {
			pf[n].fd = mfd;
			pf[n].events = POLLIN |
			    (mosquitto_want_write(rv->mosq) ? POLLOUT : 0);
			pf[n++].revents = 0;
		}
		if (rv->coap != NULL) {
			pf[n].fd = coap_srv_fd(rv->coap);
			pf[n].events = POLLIN;
			pf[n++].revents = 0;
			ms = coap_srv_timeout(rv->coap, ms);
		}
		if (poll(pf, (nfds_t)n, ms) < 0 && errno != EINTR) {
			warnx("poll: %s", strerror(errno));
			return 1;
		}
		if (rv->coap != NULL)
			coap_srv_process(rv->coap);
		if (!rv->mqtt || stop)
			continue;
		if (rc == MOSQ_ERR_SUCCESS && mfd >= 0) {
			if (pf[0].revents & (POLLIN | POLLERR | POLLHUP))
				rc = mosquitto_loop_read(rv->mosq, 1);
			if (rc == MOSQ_ERR_SUCCESS && (pf[0].revents & POLLOUT))
				rc = mosquitto_loop_write(rv->mosq, 1);
			if (rc == MOSQ_ERR_SUCCESS)
				rc = mosquitto_loop_misc(rv->mosq);
			if (rc == MOSQ_ERR_SUCCESS) {
				if (rv->link_up)
					delay = 1;
				continue;
			}
		} else if (rc == MOSQ_ERR_SUCCESS) {
			rc = MOSQ_ERR_NO_CONN;
		}
		/* Down: say why once, then reconnect after the backoff, polling on. */
		if (retry_at == 0) {
			link_down(rv, rc);
			retry_at = mono_ms() + delay * 1000;
			if (delay < RECV_DELAY_MAX)
				delay *= 2;
		}
		if (mono_ms() >= retry_at) {
			retry_at = 0;
			rc = mosquitto_reconnect(rv->mosq);
		}
	}
	if (rv->mqtt && rv->link_up)
		mosquitto_disconnect(rv->mosq);
	return rv->exit_code;
}

/* One line per gateway, then its gaps and anything left pending. */
static void
summary(struct recv *rv)
{
	struct gw **v;
	char gaps[1024];
	uint32_t sid = 0;
	size_t n, i, held;

	v = gwtab_sorted(&rv->gws, &n);
	for (i = 0; i < n; i++) {
		struct gw *g = v[i];

		held = pending_count(&rv->pending, g->name, &sid);
		/* A gateway known only by its retained schema sent nothing. */
		if (!g->seqs.seen && !g->duplicates && !g->stale && !held &&
		    g->vol.ring == NULL)
			continue;
		if (g->seqs.seen)
			fprintf(stderr, "wattgate-recv: %s: batches %" PRIu64
			    " (seq %" PRIu64 "..%" PRIu64 "), readings %" PRIu64
			    ", duplicates %" PRIu64 ", gaps %" PRIu64, g->name,
			    g->batches, dedupe_lowest(&g->seqs),
			    dedupe_highest(&g->seqs), g->readings,
			    g->duplicates, dedupe_missing(&g->seqs));
		else
			fprintf(stderr, "wattgate-recv: %s: batches 0, "
			    "readings 0, duplicates %" PRIu64 ", gaps 0",
			    g->name, g->duplicates);
		if (g->stale)
			fprintf(stderr, ", stale %" PRIu64, g->stale);
		if (g->overlaps)
			fprintf(stderr, ", overlaps %" PRIu64, g->overlaps);
		fputc('\n', stderr);
		if (g->vol.ring != NULL)
			warnx("%s: volatile readings %" PRIu64 ", dropped as sent "
			    "before %" PRIu64 ", keys forgotten %" PRIu64, g->name,
			    g->vol_readings, g->vol_dropped, g->vol.forgotten);
		if (dedupe_missing(&g->seqs) > 0) {
			dedupe_format_gaps(&g->seqs, gaps, sizeof(gaps));
			warnx("%s: gaps: %s", g->name, gaps);
		}
		if (held)
			warnx("%s: %zu batches still pending (schema %08" PRIx32
			    " never arrived)", g->name, held, sid);
	}
	free(v);
	if (rv->bad_batches || rv->bad_schemas || rv->dropped)
		warnx("bad batches %" PRIu64 ", bad schemas %" PRIu64
		    ", dropped %" PRIu64, rv->bad_batches, rv->bad_schemas,
		    rv->dropped);
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
	    "                     [--coap-refuse CODE (until SIGUSR2)]\n", f);
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
				warnx("-p %s: not a port (1..65535)", optarg);
				return 2;
			}
			rv->port = (int)v;
			break;
		case 'P':
			if (*optarg == '\0' || strpbrk(optarg, "+#") != NULL ||
			    strlen(optarg) > 64) {
				warnx("--prefix '%s': want 1..64 characters, "
				    "no '+' or '#'", optarg);
				return 2;
			}
			rv->prefix = optarg;
			break;
		case 'i':
			if (*optarg == '\0') {
				warnx("--id: empty client id");
				return 2;
			}
			rv->id = optarg;
			break;
		case 'n':
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || v == 0 ||
			    optarg[0] == '-') {
				warnx("--count %s: not a positive number", optarg);
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
				warnx("--coap-max %s: want 64..%u bytes", optarg, 1u << 30);
				return 2;
			}
			co->max_body = (size_t)v;
			break;
		case 'r':
			errno = 0;
			v = strtoull(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 400 || v > 531 ||
			    v % 100 > 31 || (v > 431 && v < 500)) {
				warnx("--coap-refuse %s: want a 4.xx or 5.xx code as "
				    "three digits (403)", optarg);
				return 2;
			}
			co->refuse = (unsigned)v;
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
		warnx("--no-mqtt needs --coap or --coaps: nothing to receive from");
		return 2;
	}
	if (co->coaps != NULL && co->psk_file == NULL && co->cert_file == NULL) {
		warnx("--coaps needs --psk-file or --cert-file and --key-file");
		return 2;
	}
	if ((co->cert_file == NULL) != (co->key_file == NULL)) {
		warnx("--cert-file and --key-file go together");
		return 2;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static char outbuf[1 << 16];
	struct recv rv = { .host = "127.0.0.1", .port = 1883, .prefix = "wg",
	    .mqtt = 1 };
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
		warnx("out of memory");
		return 1;
	}
	mosquitto_lib_init();
	if ((co.coap != NULL || co.coaps != NULL) &&
	    coap_srv_start(&rv, &co, &rv.coap) < 0) {
		rc = 1;
		goto out;
	}
	/* A named client keeps its session: batches queue while it is away. */
	if (rv.mqtt && (rv.mosq = mosquitto_new(rv.id, rv.id == NULL, &rv)) == NULL) {
		warnx("mosquitto_new: %s", strerror(errno));
		rc = 1;
		goto out;
	}
	if (rv.mqtt) {
		mosquitto_connect_callback_set(rv.mosq, on_connect);
		mosquitto_subscribe_callback_set(rv.mosq, on_subscribe);
		mosquitto_message_callback_set(rv.mosq, on_message);
	}
	rc = run(&rv);
	summary(&rv);
out:
	if (rv.mosq != NULL)
		mosquitto_destroy(rv.mosq);
	coap_srv_stop(rv.coap);
	mosquitto_lib_cleanup();
	pending_free(&rv.pending);
	gwtab_free(&rv.gws);
	free(rv.r);
	return rc;
}
