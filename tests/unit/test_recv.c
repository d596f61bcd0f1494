/*
 * Receiver pieces around dedupe: the JSON lines (exact field order, escaping,
 * time, invalid and historical readings), the index check that keeps a bad batch
 * from printing anything, the bounded pending queue and the gateway table.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tools/recv/gwtab.h"
#include "tools/recv/output.h"
#include "tools/recv/pending.h"

static struct schema_point points[] = {
	{ "voltage_l1", "V" },
	{ "energy_import", "kWh" },
};

static struct schema_device devices[] = {
	{ "meter1", "sdm630", 2, points },
};

static const struct schema schema = { "gw-0001", 1, devices };

/* Run output_batch into a string (malloc'd). */
static char *
render(const struct batch_hdr *h, const struct schema *s,
    const struct reading *r, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(output_batch(f, h, s, r, n), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void
test_lines(void **state)
{
	struct batch_hdr h = { .gw = "gw-0001", .seq = 17, .schema_id = 0x1a2b3c4d };
	struct reading r[] = {
		{ 1763827200000LL, 0, 0, Q_OK, { 23041, -2 } },
		{ 1763827200000LL, 0, 1, Q_INVALID, { 0, 0 } },
		{ 1763827230123LL, 0, 1, Q_OK, { -15, -3 } },
	};
	char *out;

	(void)state;
	out = render(&h, &schema, r, 3);
	assert_string_equal(out,
	    "{\"gateway\":\"gw-0001\",\"device\":\"meter1\",\"quantity\":"
	    "\"voltage_l1\",\"unit\":\"V\",\"ts\":1763827200000,\"time\":"
	    "\"2025-11-22T16:00:00.000Z\",\"value\":230.41,\"seq\":17}\n"
	    "{\"gateway\":\"gw-0001\",\"device\":\"meter1\",\"quantity\":"
	    "\"energy_import\",\"unit\":\"kWh\",\"ts\":1763827200000,\"time\":"
	    "\"2025-11-22T16:00:00.000Z\",\"value\":null,\"quality\":"
	    "\"invalid\",\"seq\":17}\n"
	    "{\"gateway\":\"gw-0001\",\"device\":\"meter1\",\"quantity\":"
	    "\"energy_import\",\"unit\":\"kWh\",\"ts\":1763827230123,\"time\":"
	    "\"2025-11-22T16:00:30.123Z\",\"value\":-0.015,\"seq\":17}\n");
	free(out);

	h.flags = BATCH_F_HISTORICAL | BATCH_F_DEFLATE;
	out = render(&h, &schema, r, 1);
	assert_non_null(strstr(out, ",\"seq\":17,\"historical\":true}\n"));
	free(out);
}

static void
test_escape(void **state)
{
	static const char *in[] = {
		"a\"b\\c", "tab\there\n", "\x01\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac",
		"bad\xff\xc3(", "\xed\xa0\x80", "\xf0\x9f\x98\x80", "\xe2\x82",
	};
	static const char *want[] = {
		"\"a\\\"b\\\\c\"", "\"tab\\there\\n\"", "\"\\u0001\\u001f\\u007f\"",
		"\"caf\xc3\xa9 \xe2\x82\xac\"", "\"bad\\ufffd\\ufffd(\"",
		"\"\\ufffd\\ufffd\\ufffd\"", "\"\xf0\x9f\x98\x80\"",
		"\"\\ufffd\\ufffd\"",
	};
	char *buf;
	size_t len, i;
	FILE *f;

	(void)state;
	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		buf = NULL;
		f = open_memstream(&buf, &len);
		assert_non_null(f);
		output_json_string(f, in[i]);
		assert_int_equal(fclose(f), 0);
		assert_string_equal(buf, want[i]);
		free(buf);
	}
}

static void
test_time(void **state)
{
	char b[32];

	(void)state;
	assert_int_equal(output_time(0, b, sizeof(b)), 0);
	assert_string_equal(b, "1970-01-01T00:00:00.000Z");
	assert_int_equal(output_time(-1, b, sizeof(b)), 0);
	assert_string_equal(b, "1969-12-31T23:59:59.999Z");
	assert_int_equal(output_time(253402300799999LL, b, sizeof(b)), 0);
	assert_string_equal(b, "9999-12-31T23:59:59.999Z");
	assert_int_equal(output_time(253402300800000LL, b, sizeof(b)), -ERANGE);
	assert_int_equal(output_time(INT64_MIN, b, sizeof(b)), -ERANGE);
	assert_int_equal(output_time(INT64_MAX, b, sizeof(b)), -ERANGE);
	assert_int_equal(output_time(0, b, 10), -ERANGE);
}

static void
test_check(void **state)
{
	struct batch_hdr h = { .gw = "gw-0001", .seq = 9, .schema_id = 0xdeadbeef };
	struct reading ok = { 0, 0, 1, Q_OK, { 1, 0 } };
	struct reading bad_dev = { 0, 1, 0, Q_OK, { 1, 0 } };
	struct reading bad_pt = { 0, 0, 2, Q_OK, { 1, 0 } };
	struct reading r[2];
	char err[160];

	(void)state;
	r[0] = ok;
	r[1] = ok;
	assert_int_equal(output_check(&h, &schema, r, 2, err, sizeof(err)), 0);
	r[1] = bad_dev;
	assert_int_equal(output_check(&h, &schema, r, 2, err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(err,
	    "seq 9: device 1 not in schema deadbeef (1 devices)");
	r[1] = bad_pt;
	assert_int_equal(output_check(&h, &schema, r, 2, err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(err,
	    "seq 9: device 0 point 2 not in schema deadbeef (2 points)");
	r[1] = ok;
	r[1].quality = 7;
	assert_int_equal(output_check(&h, &schema, r, 2, err, sizeof(err)),
	    -EINVAL);
}

/* A batch of no readings for gateway gw-a, seq, made for schema id. */
static size_t
tiny(uint8_t *m, size_t cap, uint64_t seq, uint32_t id, struct batch_hdr *h)
{
	struct batch_hdr w = { .seq = seq, .schema_id = id,
	    .flags = BATCH_F_GW_TRANSPORT };
	uint8_t body[16];
	size_t blen = 0, raw = 0, len = 0;

	assert_int_equal(batch_encode_body(NULL, 0, body, sizeof(body), &blen,
	    &w.flags, &raw), 0);
	assert_int_equal(batch_wrap(&w, body, blen, raw, m, cap, &len), 0);
	assert_int_equal(batch_peek_hdr(m, len, h, NULL), 0);
	return len;
}

/*
 * Bounded per gateway and in all, oldest first, taken only by a schema that
 * matches the check, expired by age.
 */
static void
test_pending(void **state)
{
	struct gw ga = { .name = "gw-a" }, gb = { .name = "gw-b" };
	struct pending_item *it;
	struct batch_hdr h;
	struct pending q;
	uint8_t m[64], *big = calloc(1, PENDING_GW_BYTES + 1);
	size_t len, i;

	(void)state;
	assert_non_null(big);	/* on the heap: 4 MiB passes valgrind's stack */
	pending_init(&q, 300, 0);
	len = tiny(m, sizeof(m), 1, 0x11, &h);
	assert_int_equal(pending_push(&q, &ga, &ga.held, &h, m, len, 100), 0);
	assert_true(pending_has(&q, &ga, m, len));
	assert_false(pending_has(&q, &gb, m, len));
	len = tiny(m, sizeof(m), 2, 0x22, &h);
	assert_false(pending_has(&q, &ga, m, len));
	assert_int_equal(pending_push(&q, &ga, &ga.held, &h, m, len, 200), 0);
	len = tiny(m, sizeof(m), 1, 0x11, &h);
	assert_int_equal(pending_push(&q, &gb, &gb.held, &h, m, len, 300), 0);
	/* Only the schema that matches takes it; other gateways untouched. */
	assert_null(pending_take(&q, &ga, 0x33));
	it = pending_take(&q, &ga, 0x22);
	assert_non_null(it);
	assert_int_equal(it->h.seq, 2);
	assert_int_equal(it->h.schema_id, 0x22);
	free(it);
	assert_int_equal(ga.held.n, 1);
	assert_int_equal(gb.held.n, 1);
	/* A gateway's own bound: gw-a fills, gw-b can still push. */
	for (i = 1; i < PENDING_GW_BATCHES; i++) {
		len = tiny(m, sizeof(m), 10 + i, 0x11, &h);
		assert_int_equal(pending_push(&q, &ga, &ga.held, &h, m, len, 400),
		    0);
	}
	assert_int_equal(pending_push(&q, &ga, &ga.held, &h, m, len, 400),
	    -ENOBUFS);
	assert_int_equal(pending_push(&q, &gb, &gb.held, &h, m, len, 400), 0);
	assert_int_equal(pending_push(&q, &gb, &gb.held, &h, big,
	    PENDING_GW_BYTES + 1, 400), -EMSGSIZE);
	free(big);
	/* Making room: the gateway's oldest. */
	it = pending_oldest(&q, &gb);
	assert_int_equal(it->at_ms, 300);
	free(it);
	/* Expiry: the oldest overall, by arrival. */
	assert_null(pending_expire(&q, 99));
	it = pending_expire(&q, 100);
	assert_non_null(it);
	assert_ptr_equal(it->g, &ga);
	assert_int_equal(it->h.seq, 1);
	free(it);
	assert_null(pending_expire(&q, 399));
	assert_int_equal(q.n, ga.held.n + gb.held.n);
	/* The queue's own bound. */
	for (i = q.n; i < 300; i++)
		assert_int_equal(pending_push(&q, &gb, &gb.held, &h, m, len, 500),
		    0);
	assert_int_equal(pending_push(&q, &gb, &gb.held, &h, m, len, 500),
	    -ENOBUFS);
	pending_free(&q);
	assert_int_equal(q.n, 0);
}

/* A heap copy of the static schema with its own id in the gateway name. */
static void
schema_copy(struct schema *s)
{
	struct schema_device *d = calloc(1, sizeof(*d));
	struct schema_point *p = calloc(2, sizeof(*p));

	assert_non_null(d);
	assert_non_null(p);
	*s = schema;
	*d = devices[0];
	memcpy(p, points, sizeof(points));
	d->points = p;
	s->devices = d;
}

static void
test_gwtab(void **state)
{
	struct gwtab t;
	struct gw *g, **v;
	struct schema s;
	char name[BATCH_GW_MAX + 2];
	size_t n, i;
	uint32_t id;

	(void)state;
	assert_int_equal(gwtab_init(&t, 3000), 0);
	assert_null(gwtab_get(&t, "gw-1", 0));
	/* Past the initial buckets: the table grows and keeps everyone. */
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "gw-%zu", i);
		assert_non_null(gwtab_get(&t, name, 1));
	}
	errno = 0;
	assert_null(gwtab_get(&t, "gw-new", 1));
	assert_int_equal(errno, ENOBUFS);
	g = gwtab_get(&t, "gw-1234", 0);
	assert_non_null(g);
	assert_string_equal(g->name, "gw-1234");
	assert_ptr_equal(gwtab_get(&t, "gw-1234", 1), g);
	v = gwtab_sorted(&t, &n);
	assert_int_equal(n, 3000);
	for (i = 1; i < n; i++)
		assert_true(strcmp(v[i - 1]->name, v[i]->name) < 0);
	free(v);

	/* Schemas: known ids are kept once, the least recently used goes. */
	for (id = 1; id <= GWTAB_MAX_SCHEMAS; id++) {
		schema_copy(&s);
		assert_int_equal(gwtab_schema_add(&t, g, id, &s), 1);
	}
	schema_copy(&s);
	assert_int_equal(gwtab_schema_add(&t, g, 1, &s), 0);
	assert_non_null(gwtab_schema(&t, g, 1));	/* 2 is now the oldest */
	schema_copy(&s);
	assert_int_equal(gwtab_schema_add(&t, g, 100, &s), 1);
	assert_int_equal(g->n_schemas, GWTAB_MAX_SCHEMAS);
	assert_null(gwtab_schema(&t, g, 2));
	assert_non_null(gwtab_schema(&t, g, 1));
	assert_string_equal(gwtab_schema(&t, g, 100)->devices[0].points[1].unit,
	    "kWh");
	gwtab_free(&t);
}

/* A schema of one device with n points, on the heap. */
static void
schema_of(struct schema *s, size_t n)
{
	struct schema_device *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	memset(s, 0, sizeof(*s));
	strcpy(s->gateway, "gw-1");
	strcpy(d->name, "m");
	d->n_points = n;
	d->points = calloc(n, sizeof(*d->points));
	assert_non_null(d->points);
	s->n_devices = 1;
	s->devices = d;
}

/*
 * Issue 13, defect 4: 320 schemas of 570 kB took 314 MB. A gateway's schemas
 * share GWTAB_SCHEMA_MEM_GW (its oldest make room), all share schema_mem_max.
 */
static void
test_schema_memory(void **state)
{
	size_t big = GWTAB_SCHEMA_MEM_GW / sizeof(struct schema_point) / 3, i;
	struct gwtab t;
	struct schema s;
	struct gw *g[4];
	char name[16];

	(void)state;
	assert_int_equal(gwtab_init(&t, 0), 0);
	for (i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "gw-%zu", i);
		g[i] = gwtab_get(&t, name, 1);
	}
	schema_of(&s, big);
	t.schema_mem_max = 4 * gwtab_schema_mem(&s);
	/* A third of a share each: the fourth pushes the first out. */
	assert_int_equal(gwtab_schema_add(&t, g[0], 1, &s), 1);
	for (i = 2; i <= 4; i++) {
		schema_of(&s, big);
		assert_int_equal(gwtab_schema_add(&t, g[0], (uint32_t)i, &s), 1);
	}
	assert_int_equal(g[0]->n_schemas, 2);
	assert_null(gwtab_schema(&t, g[0], 1));
	assert_true(g[0]->schema_mem <= GWTAB_SCHEMA_MEM_GW);
	/* One alone over a share. */
	schema_of(&s, GWTAB_SCHEMA_MEM_GW / sizeof(struct schema_point) + 1);
	assert_int_equal(gwtab_schema_add(&t, g[1], 9, &s), -EMSGSIZE);
	/* All together: two more fit, the next gateway's is refused. */
	schema_of(&s, big);
	assert_int_equal(gwtab_schema_add(&t, g[1], 1, &s), 1);
	schema_of(&s, big);
	assert_int_equal(gwtab_schema_add(&t, g[2], 1, &s), 1);
	schema_of(&s, big);
	assert_int_equal(gwtab_schema_add(&t, g[3], 1, &s), -ENOBUFS);
	assert_true(t.schema_mem <= t.schema_mem_max);
	gwtab_free(&t);
}

/* Volatile keys: a ring grows from VOLKEYS_FIRST as the shared budget allows. */
static void
test_volkeys_budget(void **state)
{
	struct volbudget b = { .max = 3 * VOLKEYS_FIRST };
	struct volkeys a, c, d;
	uint16_t i;

	(void)state;
	assert_int_equal(volkeys_init(&a, 0, &b), 0);
	assert_int_equal(b.keys, VOLKEYS_FIRST);
	for (i = 0; i < 2 * VOLKEYS_FIRST; i++)
		volkeys_add(&a, 0, i, 1000);
	assert_int_equal(a.cap, 2 * VOLKEYS_FIRST);
	assert_int_equal(a.forgotten, 0);
	for (i = 0; i < 2 * VOLKEYS_FIRST; i++)
		assert_true(volkeys_has(&a, 0, i, 1000));
	assert_int_equal(volkeys_init(&c, 0, &b), 0);
	/* The budget is spent: the next ring is refused, a ring cannot grow. */
	assert_int_equal(volkeys_init(&d, 0, &b), -ENOBUFS);
	volkeys_add(&a, 1, 0, 1000);
	assert_int_equal(a.cap, 2 * VOLKEYS_FIRST);
	assert_int_equal(a.forgotten, 1);
	assert_false(volkeys_has(&a, 0, 0, 1000));
	assert_true(volkeys_has(&a, 1, 0, 1000));
	volkeys_free(&a);
	assert_int_equal(b.keys, VOLKEYS_FIRST);
	volkeys_free(&c);
	volkeys_free(&d);
	assert_int_equal(b.keys, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_pending),
		cmocka_unit_test(test_gwtab),
		cmocka_unit_test(test_schema_memory),
		cmocka_unit_test(test_volkeys_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
