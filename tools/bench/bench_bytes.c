/*
 * bench_bytes: what a gateway costs on the wire per reading, counted as MQTT
 * PUBLISH bytes (fixed header, topic, packet id, payload), against the
 * one-JSON-message-per-reading design it replaces.
 *
 *   bench_bytes [PROFILE_DIR]      prints key=value lines (tools/bench/run)
 *
 * One simulated SDM630 (the demo meter, model seed 1) polled every 30 s for one
 * day from an aligned time: each cycle is one live batch, as the daemon sends
 * it: without the gateway id in its header (the topic names it,
 * BATCH_F_GW_TRANSPORT), with a sequence number as a store makes them (the
 * wall clock in ms when it was made: ~1.8e12, a 6-byte varint), over MQTT 5
 * with the topic's alias (the topic once a connection: one connection for
 * the day). The backlog figure is the same day sent as hourly historical
 * batches, as after an outage.
 *
 * Also printed, for comparison in the same run: the same batches over MQTT
 * 3.1.1 (the topic in every PUBLISH: bytes_per_reading_v311), with the
 * gateway id in the header (bytes_per_reading_gw_header), both as before
 * issue 12 (bytes_per_reading_before, and the ratio), and where the bytes of
 * a live batch go (*_bytes_per_batch).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/profile.h"
#include "firmware/codec/batch.h"
#include "firmware/base/dec.h"
#include "firmware/codec/schema.h"
#include "tools/sim/model.h"

#define CYCLE_MS	30000
#define CYCLES		2880			/* one day */
#define BACKLOG_CYCLES	120			/* one hour per backlog batch */
#define T0_MS		1767225600000LL		/* 2026-01-01T00:00:00Z */
#define GATEWAY		"gw-demo"
#define DEVICE		"meter1"

/*
 * Bytes of an MQTT PUBLISH (QoS 1) of payload_len bytes: topic (NULL: by
 * alias alone), packet id, and for MQTT 5 the properties (a length byte,
 * and the 3-byte topic alias when alias).
 */
static uint64_t
publish_size(const char *topic, int v5, int alias, size_t payload_len)
{
	uint64_t var = 2 + (topic != NULL ? strlen(topic) : 0) + 2 +
	    (v5 ? 1 + (alias ? 3 : 0) : 0), rem = var + payload_len, n = 1;

	/* Remaining length: a varint of 7 bits per byte. */
	do {
		n++;
		rem >>= 7;
	} while (rem > 0);
	return n + var + payload_len;
}

#define TOPIC	"wg/" GATEWAY "/b"

/* What a day of batches cost, each way of sending them. */
struct cost {
	uint64_t v5_alias;	/* as the daemon sends: MQTT 5, alias, no gw */
	uint64_t v311;		/* MQTT 3.1.1, topic every time, no gw */
	uint64_t gw_header;	/* MQTT 5, alias, gw in the header as before */
	uint64_t before;	/* MQTT 3.1.1 and the gw in the header: before */
	uint64_t batches;
};

static void
cost_add(struct cost *c, size_t len, size_t len_gw)
{
	c->v5_alias += publish_size(c->batches == 0 ? TOPIC : NULL, 1, 1, len);
	c->gw_header += publish_size(c->batches == 0 ? TOPIC : NULL, 1, 1, len_gw);
	c->v311 += publish_size(TOPIC, 0, 0, len);
	c->before += publish_size(TOPIC, 0, 0, len_gw);
	c->batches++;
}

/* The schema id the daemon would send for one device of profile p. */
static int
schema_id(const struct profile *p, uint32_t *id)
{
	struct schema_device dev = { .n_points = p->n_points };
	struct schema s = { .n_devices = 1, .devices = &dev };
	char *json = NULL;
	size_t i;
	int rc;

	snprintf(s.gateway, sizeof(s.gateway), "%s", GATEWAY);
	snprintf(dev.name, sizeof(dev.name), "%s", DEVICE);
	snprintf(dev.profile, sizeof(dev.profile), "%s", p->name);
	dev.points = calloc(p->n_points, sizeof(*dev.points));
	if (dev.points == NULL)
		return -ENOMEM;
	for (i = 0; i < p->n_points; i++) {
		memcpy(dev.points[i].name, p->points[i].name,
		    sizeof(dev.points[i].name));
		memcpy(dev.points[i].unit, p->points[i].unit,
		    sizeof(dev.points[i].unit));
	}
	rc = schema_to_json(&s, &json, id);
	free(json);
	free(dev.points);
	return rc;
}

struct wire {
	uint8_t *body, *batch;
	size_t len_gw;			/* the last batch with the gw in its header */
	size_t hdr_len, body_len;	/* the last batch's parts */
	struct reading *check;		/* decoded back, to measure only valid batches */
	size_t body_cap, batch_cap, check_cap;
	uint64_t seq;
	uint32_t schema_id;
};

/*
 * The batch must decode to the same readings (the body is in device, time, point
 * order, which is also the order they were generated in): a benchmark of a
 * broken encoder would be meaningless.
 */
static int
verify(struct wire *w, const struct reading *r, size_t n, size_t len)
{
	struct batch_hdr h;
	const char *why = "";
	size_t got, i;

	if (batch_decode(w->batch, len, w->schema_id, &h, w->check, w->check_cap, &got,
	    &why) < 0 || got != n) {
		fprintf(stderr, "bench_bytes: seq %" PRIu64 ": does not decode: "
		    "%s\n", w->seq, why);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (w->check[i].ts_ms != r[i].ts_ms ||
		    w->check[i].point != r[i].point ||
		    !dec_equal(w->check[i].v, r[i].v)) {
			fprintf(stderr, "bench_bytes: seq %" PRIu64 ": reading %zu "
			    "differs after decoding\n", w->seq, i);
			return -1;
		}
	}
	return 0;
}

/*
 * Encode n readings as one batch, as the daemon does (body at store time, header
 * at send time), and return its length; 0 on error (reported). w->len_gw gets
 * the length it would have with the gateway id in its header.
 */
static size_t
send_batch(struct wire *w, const struct reading *r, size_t n, uint8_t flags)
{
	struct batch_hdr h = { .seq = ++w->seq, .schema_id = w->schema_id };
	size_t body_len, raw_len, len;
	uint8_t bflags = 0;
	int rc;

	rc = batch_encode_body(r, n, w->body, w->body_cap, &body_len, &bflags,
	    &raw_len);
	if (rc < 0) {
		fprintf(stderr, "bench_bytes: batch_encode_body: %s\n",
		    strerror(-rc));
		return 0;
	}
	snprintf(h.gw, sizeof(h.gw), "%s", GATEWAY);
	h.flags = bflags | flags;
	rc = batch_wrap(&h, w->body, body_len, raw_len, w->batch, w->batch_cap,
	    &w->len_gw);
	h.flags |= BATCH_F_GW_TRANSPORT;
	if (rc == 0)
		rc = batch_wrap(&h, w->body, body_len, raw_len, w->batch,
		    w->batch_cap, &len);
	if (rc < 0) {
		fprintf(stderr, "bench_bytes: batch_wrap: %s\n", strerror(-rc));
		return 0;
	}
	w->hdr_len = len - body_len;
	w->body_len = body_len;
	if (verify(w, r, n, len) < 0)
		return 0;
	return len;
}

/* The baseline: one PUBLISH per reading, JSON payload on a per-point topic. */
static uint64_t
json_size(const struct profile *p, const struct reading *r)
{
	const struct profile_point *pp = &p->points[r->point];
	char topic[128], payload[256], num[DEC_STRLEN];

	dec_format(r->v, num, sizeof(num));
	snprintf(topic, sizeof(topic), "wg/%s/%s/%s", GATEWAY, DEVICE, pp->name);
	snprintf(payload, sizeof(payload), "{\"ts\":%" PRId64 ",\"device\":\"%s\","
	    "\"quantity\":\"%s\",\"unit\":\"%s\",\"value\":%s}", r->ts_ms,
	    DEVICE, pp->name, pp->unit, num);
	return publish_size(topic, 0, 0, strlen(payload));
}

int
main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : WG_PROFILE_DIR;
	uint64_t json = 0, hdr = 0, body = 0, deflated = 0, sz;
	struct cost live = { 0 }, backlog = { 0 };
	struct reading *r = NULL;
	struct model *m = NULL;
	struct dec *vals = NULL;
	struct profile p;
	struct wire w = { 0 };
	char err[256];
	size_t np, c, i, n_back = 0;
	int rc = 1;

	if (profile_load_named(dir, "sdm630", &p, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_bytes: %s\n", err);
		return 1;
	}
	np = p.n_points;
	m = model_new(&p, 1);
	vals = calloc(np, sizeof(*vals));
	r = calloc(np * BACKLOG_CYCLES, sizeof(*r));
	w.body_cap = batch_body_bound(np * BACKLOG_CYCLES);
	w.batch_cap = batch_wrap_bound(w.body_cap);
	w.body = malloc(w.body_cap);
	w.batch = malloc(w.batch_cap);
	w.check_cap = np * BACKLOG_CYCLES;
	w.check = calloc(w.check_cap, sizeof(*w.check));
	w.seq = (uint64_t)T0_MS;	/* a store made at T0 starts there */
	if (m == NULL || vals == NULL || r == NULL || w.body == NULL ||
	    w.batch == NULL || w.check == NULL) {
		fprintf(stderr, "bench_bytes: out of memory\n");
		goto out;
	}
	if (schema_id(&p, &w.schema_id) < 0) {
		fprintf(stderr, "bench_bytes: schema_to_json failed\n");
		goto out;
	}
	for (c = 0; c < CYCLES; c++) {
		int64_t t = T0_MS + (int64_t)c * CYCLE_MS;
		struct reading *cyc = &r[n_back];

		model_values(m, t, vals);
		for (i = 0; i < np; i++) {
			cyc[i] = (struct reading){ .ts_ms = t, .dev = 0,
			    .point = (uint16_t)i, .quality = Q_OK, .v = vals[i] };
			json += json_size(&p, &cyc[i]);
		}
		if ((sz = send_batch(&w, cyc, np, 0)) == 0)
			goto out;
		cost_add(&live, sz, w.len_gw);
		deflated += (w.batch[1] & BATCH_F_DEFLATE) != 0;
		hdr += w.hdr_len;
		body += w.body_len;
		n_back += np;
		if (n_back == np * BACKLOG_CYCLES || c == CYCLES - 1) {
			if ((sz = send_batch(&w, r, n_back, BATCH_F_HISTORICAL)) == 0)
				goto out;
			cost_add(&backlog, sz, w.len_gw);
			n_back = 0;
		}
	}
	printf("bytes_per_reading=%.2f\n", (double)live.v5_alias /
	    (double)(CYCLES * np));
	printf("bytes_per_reading_v311=%.2f\n", (double)live.v311 /
	    (double)(CYCLES * np));
	printf("bytes_per_reading_gw_header=%.2f\n", (double)live.gw_header /
	    (double)(CYCLES * np));
	printf("bytes_per_reading_before=%.2f\n", (double)live.before /
	    (double)(CYCLES * np));
	printf("bytes_ratio_vs_before=%.3f\n", (double)live.v5_alias /
	    (double)live.before);
	printf("readings_per_cycle=%zu\n", np);
	printf("live_deflated_share=%.3f\n", (double)deflated / CYCLES);
	printf("batch_header_bytes_per_batch=%.1f\n", (double)hdr / CYCLES);
	printf("batch_body_bytes_per_batch=%.1f\n", (double)body / CYCLES);
	printf("mqtt_bytes_per_batch=%.1f\n", (double)(live.v5_alias - hdr - body) /
	    CYCLES);
	printf("json_bytes_per_reading=%.1f\n",
	    (double)json / (double)(CYCLES * np));
	printf("bytes_ratio_vs_json=%.3f\n", (double)live.v5_alias / (double)json);
	printf("backlog_bytes_per_reading=%.2f\n",
	    (double)backlog.v5_alias / (double)(CYCLES * np));
	rc = 0;
out:
	free(w.body);
	free(w.batch);
	free(w.check);
	free(r);
	free(vals);
	model_free(m);
	profile_free(&p);
	return rc;
}
