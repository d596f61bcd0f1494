/*
 * bench_backlog: the store a gateway holds after an outage of DAYS days, made
 * the way the daemon makes it: every 30 s cycle of the site's devices (values
 * from the simulator's model) committed as one pending batch, and runs merged
 * with merge_pending() as the collector does during an outage.
 *
 *   bench_backlog SITE.json DAYS     writes the site's "store"; prints key=value
 *
 * The cycles end one interval before now, so the daemon's live cycles follow
 * them in time. store_bytes_per_reading is the database file over the readings.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "firmware/codec/batch.h"
#include "firmware/codec/schema.h"
#include "firmware/core/config.h"
#include "firmware/core/log.h"
#include "firmware/store/merge.h"
#include "firmware/store/store.h"
#include "tools/sim/model.h"

#define CYCLE_MS	30000

static int
put_schema(const struct site_config *cfg, struct store *st, uint32_t *id)
{
	struct schema s;
	char *json;
	int rc;

	if ((rc = config_schema(cfg, &s)) < 0)
		return rc;
	rc = schema_to_json(&s, &json, id);
	config_schema_free(&s);
	if (rc < 0)
		return rc;
	rc = store_put_schema(st, *id, json);
	free(json);
	return rc;
}

int
main(int argc, char **argv)
{
	struct site_config cfg;
	struct store *st = NULL;
	struct model **m;
	struct reading *r;
	struct dec v[256];
	struct merge_result res;
	struct stat sb;
	uint8_t *body;
	char err[512];
	size_t i, j, n, cap = 0, body_cap;
	uint64_t cycles, c, readings = 0, unmerged = 0;
	int64_t t0;
	uint32_t sid;
	int rc;

	if (argc != 3 || atoi(argv[2]) < 1) {
		fprintf(stderr, "usage: bench_backlog SITE.json DAYS\n");
		return 2;
	}
	if (config_load(argv[1], &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_backlog: %s\n", err);
		return 1;
	}
	cycles = (uint64_t)atoi(argv[2]) * 86400000 / CYCLE_MS;
	if (store_open("sqlite", cfg.store, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "bench_backlog: %s\n", err);
		return 1;
	}
	if ((rc = put_schema(&cfg, st, &sid)) < 0) {
		fprintf(stderr, "bench_backlog: schema: %s\n", strerror(-rc));
		return 1;
	}
	m = calloc(cfg.n_devices, sizeof(*m));
	for (i = 0; i < cfg.n_devices; i++) {
		if (cfg.devices[i].profile->n_points > 256)
			return 1;
		m[i] = model_new(cfg.devices[i].profile, (uint64_t)cfg.devices[i].unit);
		cap += cfg.devices[i].profile->n_points;
	}
	r = calloc(cap, sizeof(*r));
	body_cap = batch_body_bound(cap);
	body = malloc(body_cap);
	if (m == NULL || r == NULL || body == NULL)
		return 1;
	t0 = ((int64_t)time(NULL) * 1000 / CYCLE_MS - (int64_t)cycles - 1) * CYCLE_MS;
	for (c = 0; c < cycles; c++) {
		struct store_batch b = { .schema_id = sid, .pending = 1 };
		int64_t ts = t0 + (int64_t)c * CYCLE_MS;
		size_t len, raw_len;

		for (i = 0, n = 0; i < cfg.n_devices; i++) {
			model_values(m[i], ts, v);
			for (j = 0; j < cfg.devices[i].profile->n_points; j++, n++) {
				r[n].ts_ms = ts;
				r[n].dev = (uint16_t)i;
				r[n].point = (uint16_t)j;
				r[n].quality = Q_OK;
				r[n].v = v[j];
			}
		}
		if ((rc = batch_encode_body(r, n, body, body_cap, &len, &b.flags,
		    &raw_len)) < 0) {
			fprintf(stderr, "bench_backlog: encode: %s\n", strerror(-rc));
			return 1;
		}
		b.t_first = ts;
		b.n_readings = (uint32_t)n;
		b.raw_len = raw_len;
		b.body = body;
		b.body_len = len;
		if (store_append(st, &b) < 0 ||
		    ((unmerged += n) >= MERGE_READINGS &&
		    merge_pending(st, 0, &res) < 0)) {
			fprintf(stderr, "bench_backlog: %s\n", st->err);
			return 1;
		}
		if (unmerged >= MERGE_READINGS)
			unmerged = res.left;
		readings += n;
	}
	store_close(st);
	if (stat(cfg.store, &sb) < 0) {
		fprintf(stderr, "bench_backlog: %s: %s\n", cfg.store, strerror(errno));
		return 1;
	}
	printf("backlog_readings=%" PRIu64 "\n", readings);
	printf("backlog_cycles=%" PRIu64 "\n", cycles);
	printf("store_bytes=%lld\n", (long long)sb.st_size);
	printf("store_bytes_per_reading=%.2f\n", (double)sb.st_size / (double)readings);
	for (i = 0; i < cfg.n_devices; i++)
		model_free(m[i]);
	free(m);
	free(r);
	free(body);
	config_free(&cfg);
	return 0;
}
