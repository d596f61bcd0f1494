/*
 * wattgate-recv's core, whatever the transport: a batch or a schema from a
 * gateway is decoded, deduplicated and printed (output.h), or held until its
 * schema comes; the summary at the end. MQTT feeds it from mqtt_sub.c, CoAP
 * from coap_server.c; wattgate-recv.c is the command line.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/codec/batch.h"
#include "firmware/codec/schema.h"
#include "tools/recv/dedupe.h"
#include "tools/recv/gwtab.h"
#include "tools/recv/output.h"
#include "tools/recv/pending.h"
#include "tools/recv/recv.h"

volatile sig_atomic_t recv_stop;

void
recv_warnx(const char *fmt, ...)
{
	char msg[1024], line[1024];
	va_list ap;

	/* A gateway id, a PSK identity or a payload may be in it: cleaned. */
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_clean(line, sizeof(line), msg);
	fprintf(stderr, "wattgate-recv: %s\n", line);
}

/*
 * Volatile batches (sent from a gateway's memory while its store refused
 * writes) have no seq: their readings are remembered by key, and dropped from
 * whatever batch of that gateway brings them again. Compacts r; returns how
 * many remain.
 */
static size_t
filter_volatile(struct recv *rv, struct gw *g, const struct batch_hdr *h,
    struct reading *r, size_t n)
{
	int vol = (h->flags & BATCH_F_VOLATILE) != 0, rc;
	size_t i, k = 0;

	if (vol && g->vol.ring == NULL &&
	    (rc = volkeys_init(&g->vol, 0, &rv->volbudget)) < 0 &&
	    rv->vol_refused == 0)
		recv_warnx("%s: %s: the stored copies of volatile readings will be "
		    "printed again (counted in the summary)", g->name, rc == -ENOBUFS ?
		    "volatile keys of all gateways at their bound" :
		    "no memory for volatile keys");
	if (g->vol.ring == NULL) {
		if (vol)
			rv->vol_refused += n;
		return n;
	}
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
 * Decode, check, print and mark one batch whose check matched schema s (h
 * from batch_peek_hdr(), schema_id set). Only now, with every byte
 * vouched for, does its seq count: a batch is marked seen only once it was
 * printed, so one that fails here can still come right on a later delivery.
 */
static enum recv_result
deliver(struct recv *rv, struct gw *g, const struct schema *s,
    const struct batch_hdr *hp, const char *where, const uint8_t *p,
    size_t len)
{
	struct batch_hdr h = *hp;
	const char *why = NULL;
	char err[192];
	size_t n = 0;
	int rc, vol = (h.flags & BATCH_F_VOLATILE) != 0;

	rc = vol ? DEDUPE_NEW : dedupe_check_range(&g->seqs, h.seq, h.seq_last);
	if (rc == DEDUPE_OVERLAP) {
		/*
		 * Not provably a batch printed before (dedupe.h): printed, since
		 * dropping could lose readings, and counted in the summary.
		 */
		recv_warnx("%s: seq %" PRIu64 "..%" PRIu64 ": partly seen before; "
		    "printed, some readings may now be printed twice", where,
		    h.seq, h.seq_last);
		g->overlaps++;
	} else if (rc != DEDUPE_NEW) {
		if (rc == DEDUPE_STALE)
			g->stale++;
		else
			g->duplicates++;
		if (rv->verbose)
			recv_warnx("%s: seq %" PRIu64 ": %s, dropped", where, h.seq,
			    rc == DEDUPE_STALE ? "stale" : "duplicate");
		return RECV_DONE;
	}
	rc = batch_decode(p, len, h.schema_id, &h, rv->r, rv->cap, &n, &why);
	if (rc == -ENOSPC && n <= RECV_READINGS_MAX) {
		struct reading *r = realloc(rv->r, n * sizeof(*r));

		if (r == NULL) {
			recv_warnx("%s: seq %" PRIu64 ": no memory for %zu readings",
			    where, h.seq, n);
			return RECV_FAILED;
		}
		rv->r = r;
		rv->cap = n;
		rc = batch_decode(p, len, h.schema_id, &h, rv->r, rv->cap, &n, &why);
	}
	if (rc == -ENOSPC)
		why = "too many readings";
	if (rc < 0) {
		recv_warnx("%s: bad batch: %s", where, why ? why : strerror(-rc));
		rv->bad_batches++;
		return RECV_BAD;
	}
	snprintf(h.gw, sizeof(h.gw), "%s", g->name);
	if (output_check(&h, s, rv->r, n, err, sizeof(err)) < 0) {
		recv_warnx("%s: bad batch: %s", where, err);
		rv->bad_batches++;
		return RECV_BAD;
	}
	n = filter_volatile(rv, g, &h, rv->r, n);
	if (output_batch(stdout, &h, s, rv->r, n) < 0 || fflush(stdout) != 0) {
		recv_warnx("stdout: %s", strerror(errno));
		rv->exit_code = 1;
		recv_stop = 1;
		return RECV_FAILED;
	}
	if (!vol && dedupe_mark_range(&g->seqs, h.seq, h.seq_last) < 0)
		recv_warnx("%s: seq %" PRIu64 ": no memory to remember it", g->name,
		    h.seq);
	g->batches++;
	g->readings += n;
	rv->printed += n;
	if (rv->count && rv->printed >= rv->count)
		recv_stop = 1;
	return RECV_DONE;
}

/*
 * A pending batch leaves without a schema that matched: kept in the spool
 * directory if there is one (as <gw>.<seq>.<n>.batch, the bytes as they
 * came), else lost; counted either way (the summary's "unmatched").
 */
static void
unmatched(struct recv *rv, struct pending_item *it, const char *why)
{
	struct gw *g = it->g;
	char path[4096];
	int fd = -1, ok = 0;

	g->unmatched++;
	rv->unmatched++;
	if (rv->spool != NULL) {
		snprintf(path, sizeof(path), "%s/%s.%" PRIu64 ".%" PRIu64 ".batch",
		    rv->spool, g->name, it->h.seq, g->unmatched);
		fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		ok = fd >= 0 && write(fd, it->data, it->len) == (ssize_t)it->len &&
		    fsync(fd) == 0;
		if (fd >= 0 && close(fd) != 0)
			ok = 0;
		if (ok)
			g->spooled++;
	}
	/* Once per gateway and outcome: a hostile sender must not flood the log. */
	if (ok && g->spooled == 1)
		recv_warnx("%s: seq %" PRIu64 ": %s, no schema matched: kept in %s "
		    "(more are counted in the summary)", g->name, it->h.seq, why,
		    path);
	else if (!ok && g->unmatched - g->spooled == 1)
		recv_warnx("%s: seq %" PRIu64 ": %s, no schema matched: lost%s%s "
		    "(more are counted in the summary)", g->name, it->h.seq, why,
		    rv->spool ? ": " : " (no --spool)",
		    rv->spool ? strerror(errno) : "");
	free(it);
}

/*
 * Hold a batch that matched no schema of g until one does. Full: the
 * gateway's (or the queue's) oldest leaves first, unmatched. The transport
 * is asked for g's schemas again, at most every RECV_ASK_MS.
 */
static enum recv_result
hold(struct recv *rv, struct gw *g, const struct batch_hdr *h,
    const char *where, const uint8_t *p, size_t len)
{
	int64_t now = clock_mono_ms();
	struct pending_item *old;
	int rc;

	if (pending_has(&rv->pending, g, p, len)) {
		g->duplicates++;
		return RECV_HELD;
	}
	while ((rc = pending_push(&rv->pending, g, &g->held, h, p, len, now)) ==
	    -ENOBUFS) {
		/* At its share (batches or bytes): its own oldest, not another's. */
		old = pending_oldest(&rv->pending, g->held.n > 0 &&
		    (g->held.n >= PENDING_GW_BATCHES ||
		    len > PENDING_GW_BYTES - g->held.bytes) ? g : NULL);
		if (old == NULL)
			break;
		unmatched(rv, old, "pushed out of a full pending queue");
	}
	if (rc < 0) {
		recv_warnx("%s: seq %" PRIu64 ": dropped: %s", where, h->seq,
		    rc == -EMSGSIZE ? "too big to hold" : strerror(-rc));
		rv->dropped++;
		return RECV_FAILED;
	}
	if (rv->verbose)
		recv_warnx("%s: seq %" PRIu64 ": no known schema matches, held",
		    where, h->seq);
	if (rv->ask_schemas != NULL && (g->asked_ms == 0 ||
	    now - g->asked_ms >= RECV_ASK_MS)) {
		g->asked_ms = now;
		rv->ask_schemas(rv, g->name);
	}
	return RECV_HELD;
}

/*
 * A batch off the wire: its header, then the schema its check matches
 * (which also vouches for every byte), then dedupe and output; or held
 * until a schema matches.
 */
enum recv_result
recv_batch(struct recv *rv, const char *topic, const char *gw,
    const uint8_t *p, size_t len, int hold_it)
{
	uint32_t ids[GWTAB_MAX_SCHEMAS];
	struct batch_hdr h;
	const char *why = NULL;
	const struct schema *s;
	struct gw *g;
	size_t n;
	int rc;

	rc = batch_peek_hdr(p, len, &h, &why);
	if (rc < 0) {
		recv_warnx("%s: bad batch: %s", topic, why ? why : strerror(-rc));
		rv->bad_batches++;
		return RECV_BAD;
	}
	/* Named by where it came from, or also in the header: then the same. */
	if (!(h.flags & BATCH_F_GW_TRANSPORT) && strcmp(h.gw, gw) != 0) {
		recv_warnx("%s: bad batch: header gateway '%s' is not the topic's",
		    topic, h.gw);
		rv->bad_batches++;
		return RECV_BAD;
	}
	snprintf(h.gw, sizeof(h.gw), "%s", gw);
	if ((g = gwtab_get(&rv->gws, gw, 1)) == NULL) {
		recv_warnx("%s: seq %" PRIu64 ": dropped: %s", topic, h.seq,
		    errno == ENOBUFS ? "too many gateways" : strerror(errno));
		rv->dropped++;
		return RECV_FAILED;
	}
	n = gwtab_schema_ids(g, ids, GWTAB_MAX_SCHEMAS);
	if (batch_match(p, len, &h, ids, n) >= 0 &&
	    (s = gwtab_schema(&rv->gws, g, h.schema_id)) != NULL)
		return deliver(rv, g, s, &h, topic, p, len);
	if (!hold_it) {
		if (rv->verbose)
			recv_warnx("%s: seq %" PRIu64 ": no known schema matches, "
			    "not taken", topic, h.seq);
		return RECV_HELD;
	}
	return hold(rv, g, &h, topic, p, len);
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
		recv_warnx("%s: bad schema: id in topic is not 8 lowercase hex digits",
		    topic);
		rv->bad_schemas++;
		return RECV_BAD;
	}
	if (len == 0)		/* a retained schema being cleared */
		return RECV_DONE;
	if (len > RECV_SCHEMA_MAX) {
		recv_warnx("%s: bad schema: %zu bytes, more than %u", topic, len,
		    RECV_SCHEMA_MAX);
		rv->bad_schemas++;
		return RECV_BAD;
	}
	if (schema_from_json(p, len, &s, &id, err, sizeof(err)) < 0) {
		recv_warnx("%s: bad schema: %s", topic, err);
		rv->bad_schemas++;
		return RECV_BAD;
	}
	if (id != want || strcmp(s.gateway, gw) != 0) {
		if (id != want)
			recv_warnx("%s: bad schema: payload CRC-32 is %08" PRIx32,
			    topic, id);
		else
			recv_warnx("%s: bad schema: gateway '%s' is not the topic's",
			    topic, s.gateway);
		schema_free(&s);
		rv->bad_schemas++;
		return RECV_BAD;
	}
	if ((g = gwtab_get(&rv->gws, gw, 1)) == NULL) {
		recv_warnx("%s: dropped: %s", topic, errno == ENOBUFS ?
		    "too many gateways" : strerror(errno));
		schema_free(&s);
		return RECV_FAILED;
	}
	rc = gwtab_schema_add(&rv->gws, g, id, &s);
	if (rc == -EMSGSIZE || rc == -ENOBUFS) {
		/* Counted; said once: a flood of them must not flood the log. */
		if (rv->refused_schemas++ == 0)
			recv_warnx("%s: refused: %s (further refusals are counted in "
			    "the summary)", topic, rc == -EMSGSIZE ?
			    "takes more than a gateway's share of schema memory" :
			    "schema memory of all gateways full");
		return RECV_BAD;
	}
	if (rc < 0) {
		recv_warnx("%s: dropped: %s", topic, strerror(-rc));
		return RECV_FAILED;
	}
	if (rc == 1 && rv->verbose)
		recv_warnx("%s: schema %08" PRIx32 " known", topic, id);
	while ((it = pending_take(&rv->pending, g, id)) != NULL) {
		if ((known = gwtab_schema(&rv->gws, g, id)) != NULL)
			deliver(rv, g, known, &it->h, topic, it->data, it->len);
		free(it);
	}
	return RECV_DONE;
}

void
recv_tick(struct recv *rv, int64_t now_ms)
{
	int64_t ttl = rv->pending_ttl_ms ? rv->pending_ttl_ms : RECV_PENDING_TTL_MS;
	struct pending_item *it;

	while ((it = pending_expire(&rv->pending, now_ms - ttl)) != NULL)
		unmatched(rv, it, "expired");
}

/*
 * The gaps list takes at most this many characters, then ", ...": with the
 * gateway id and "wattgate-recv: ", the line stays within recv_warnx()'s
 * 1024 bytes, so the cut is said, not lost (docs/receiver.md).
 */
#define RECV_GAPS_TEXT	900

/* One line per gateway, then its gaps and anything left pending. */
void
recv_summary(struct recv *rv)
{
	struct gw **v;
	char gaps[RECV_GAPS_TEXT + sizeof(", ...")];
	size_t n, i, held;

	v = gwtab_sorted(&rv->gws, &n);
	for (i = 0; i < n; i++) {
		struct gw *g = v[i];

		held = g->held.n;
		/* A gateway known only by its retained schema sent nothing. */
		if (!g->seqs.seen && !g->duplicates && !g->stale && !held &&
		    !g->unmatched && g->vol.ring == NULL)
			continue;
		if (g->seqs.seen)
			fprintf(stderr, "wattgate-recv: %s: batches %" PRIu64
			    " (seq %" PRIu64 "..%" PRIu64 "), readings %" PRIu64
			    ", duplicates %" PRIu64 ", gaps %" PRIu64, g->name,
			    g->batches, dedupe_lowest(&g->seqs),
			    dedupe_highest(&g->seqs), g->readings,
			    g->duplicates, dedupe_missing(&g->seqs));
		else
			/* none seen, but volatile batches may have been printed */
			fprintf(stderr, "wattgate-recv: %s: batches %" PRIu64
			    ", readings %" PRIu64 ", duplicates %" PRIu64 ", gaps 0",
			    g->name, g->batches, g->readings, g->duplicates);
		if (g->stale)
			fprintf(stderr, ", stale %" PRIu64, g->stale);
		if (g->overlaps)
			fprintf(stderr, ", overlaps %" PRIu64, g->overlaps);
		fputc('\n', stderr);
		if (g->vol.ring != NULL)
			recv_warnx("%s: volatile readings %" PRIu64 ", dropped as sent "
			    "before %" PRIu64 ", keys forgotten %" PRIu64, g->name,
			    g->vol_readings, g->vol_dropped, g->vol.forgotten);
		if (dedupe_missing(&g->seqs) > 0) {
			dedupe_format_gaps(&g->seqs, gaps, sizeof(gaps));
			recv_warnx("%s: gaps: %s", g->name, gaps);
		}
		if (held)
			recv_warnx("%s: %zu batches still pending (no known schema "
			    "matched)", g->name, held);
		if (g->unmatched)
			recv_warnx("%s: unmatched %" PRIu64 " (no schema matched in "
			    "time), kept in the spool %" PRIu64 ", lost %" PRIu64,
			    g->name, g->unmatched, g->spooled,
			    g->unmatched - g->spooled);
	}
	free(v);
	if (rv->bad_batches || rv->bad_schemas || rv->dropped || rv->unmatched ||
	    rv->refused_schemas || rv->vol_refused)
		recv_warnx("bad batches %" PRIu64 ", bad schemas %" PRIu64
		    ", dropped %" PRIu64 ", unmatched %" PRIu64 ", refused schemas %"
		    PRIu64 ", volatile keys refused %" PRIu64, rv->bad_batches,
		    rv->bad_schemas, rv->dropped, rv->unmatched, rv->refused_schemas,
		    rv->vol_refused);
}
