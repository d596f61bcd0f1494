/*
 * schema: canonical JSON and its id, round trips, and one exact error line
 * per kind of bad document.
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

#include "firmware/codec/schema.h"

/* Canonical text of sample(); the id was computed independently (Python zlib.crc32). */
static const char canonical[] =
    "{\"devices\":[{\"name\":\"meter1\",\"points\":[{\"name\":\"voltage_l1\","
    "\"unit\":\"V\"},{\"name\":\"energy_import\",\"unit\":\"kWh\"},{\"name\":"
    "\"state\",\"unit\":\"\"}],\"profile\":\"sdm630\"},{\"name\":\"wallbox\","
    "\"points\":[{\"name\":\"temp\",\"unit\":\"\xc2\xb0" "C\"}],\"profile\":"
    "\"evse-x\"}],\"gateway\":\"gw-0001\",\"version\":1}";
#define CANONICAL_ID 0x0e452d41u

static struct schema_point meter_pts[] = {
	{ "voltage_l1", "V" }, { "energy_import", "kWh" }, { "state", "" },
};
static struct schema_point box_pts[] = { { "temp", "\xc2\xb0" "C" } };
static struct schema_device devs[] = {
	{ "meter1", "sdm630", 3, meter_pts },
	{ "wallbox", "evse-x", 1, box_pts },
};

static struct schema
sample(void)
{
	struct schema s = { .gateway = "gw-0001", .n_devices = 2, .devices = devs };

	return s;
}

static void
test_to_json(void **state)
{
	struct schema s = sample();
	char *json = NULL;
	uint32_t id = 0;

	(void)state;
	assert_int_equal(schema_to_json(&s, &json, &id), 0);
	assert_string_equal(json, canonical);
	assert_int_equal(id, CANONICAL_ID);
	free(json);
}

static void
test_round_trip(void **state)
{
	struct schema s = sample(), t;
	char *json, *again, err[128];
	uint32_t id, id2, id3;
	size_t i, j;

	(void)state;
	assert_int_equal(schema_to_json(&s, &json, &id), 0);
	assert_int_equal(schema_from_json(json, strlen(json), &t, &id2, err,
	    sizeof(err)), 0);
	assert_int_equal(id2, id);
	assert_string_equal(t.gateway, "gw-0001");
	assert_int_equal(t.n_devices, 2);
	for (i = 0; i < 2; i++) {
		assert_string_equal(t.devices[i].name, devs[i].name);
		assert_string_equal(t.devices[i].profile, devs[i].profile);
		assert_int_equal(t.devices[i].n_points, devs[i].n_points);
		for (j = 0; j < devs[i].n_points; j++) {
			assert_string_equal(t.devices[i].points[j].name,
			    devs[i].points[j].name);
			assert_string_equal(t.devices[i].points[j].unit,
			    devs[i].points[j].unit);
		}
	}
	assert_int_equal(schema_to_json(&t, &again, &id3), 0);
	assert_string_equal(again, json);
	assert_int_equal(id3, id);
	schema_free(&t);
	assert_int_equal(t.n_devices, 0);
	assert_null(t.devices);
	free(again);
	free(json);
}

/* Same content, other key order and spacing: other id as given, same canonical. */
static void
test_noncanonical_input(void **state)
{
	static const char text[] =
	    "{ \"version\": 1, \"gateway\": \"gw-0001\",\n \"devices\": [\n"
	    "  {\"profile\": \"sdm630\", \"name\": \"meter1\", \"points\": [\n"
	    "   {\"unit\": \"V\", \"name\": \"voltage_l1\"},\n"
	    "   {\"unit\": \"kWh\", \"name\": \"energy_import\"},\n"
	    "   {\"unit\": \"\", \"name\": \"state\"}]},\n"
	    "  {\"name\": \"wallbox\", \"profile\": \"evse-x\", \"points\": [\n"
	    "   {\"name\": \"temp\", \"unit\": \"\\u00b0C\"}]}]}\n";
	struct schema t;
	char err[128], *json;
	uint32_t id, cid;

	(void)state;
	assert_int_equal(schema_from_json(text, strlen(text), &t, &id, err,
	    sizeof(err)), 0);
	assert_int_not_equal(id, CANONICAL_ID);
	assert_int_equal(schema_to_json(&t, &json, &cid), 0);
	assert_string_equal(json, canonical);
	assert_int_equal(cid, CANONICAL_ID);
	free(json);
	schema_free(&t);
}

static void
expect_err(const char *text, const char *want)
{
	struct schema t;
	char err[160];
	uint32_t id = 7;

	memset(&t, 0xa5, sizeof(t));
	assert_int_equal(schema_from_json(text, strlen(text), &t, &id, err,
	    sizeof(err)), -EBADMSG);
	if (strcmp(err, want) != 0 && !(want[strlen(want) - 1] == '*' &&
	    strncmp(err, want, strlen(want) - 1) == 0))
		fail_msg("%s\n  want: %s\n  got:  %s", text, want, err);
	assert_null(strchr(err, '\n'));
	assert_int_equal(t.n_devices, 0);
	assert_null(t.devices);
	assert_int_equal(id, 7);
}

#define GW "\"gateway\":\"gw-1\",\"version\":1"
#define DEV0 "{\"name\":\"m\",\"points\":[],\"profile\":\"p\"}"

static void
test_errors(void **state)
{
	(void)state;
	expect_err("{\"devices\":[" DEV0 ",{\"name\":\"m2\",\"profile\":\"p\","
	    "\"points\":[{\"name\":\"a\",\"unit\":\"\"},{\"name\":\"b\",\"unit\":"
	    "\"\"},{\"name\":\"c\",\"unit\":\"\"},{\"unit\":\"V\"}]}]," GW "}",
	    "schema: devices[1].points[3].name: missing");
	expect_err("{\"devices\":[{\"name\":7,\"points\":[],\"profile\":\"p\"}],"
	    GW "}", "schema: devices[0].name: expected a string");
	expect_err("{\"devices\":[{\"name\":\"\",\"points\":[],\"profile\":\"p\"}],"
	    GW "}", "schema: devices[0].name: empty");
	expect_err("{\"devices\":[{\"name\":\"0123456789012345678901234567890x\","
	    "\"points\":[],\"profile\":\"p\"}]," GW "}",
	    "schema: devices[0].name: longer than 31 bytes");
	expect_err("{\"devices\":[{\"name\":\"a\\nb\",\"points\":[],\"profile\":"
	    "\"p\"}]," GW "}", "schema: devices[0].name: control character*");
	expect_err("{\"devices\":[{\"name\":\"a\\u0000b\",\"points\":[],\"profile\":"
	    "\"p\"}]," GW "}", "schema:*");
	expect_err("{\"devices\":[{\"name\":\"m\",\"points\":[{\"name\":\"v\","
	    "\"unit\":\"0123456789abcdefg\"}],\"profile\":\"p\"}]," GW "}",
	    "schema: devices[0].points[0].unit: longer than 15 bytes");
	expect_err("{\"devices\":[{\"name\":\"m\",\"points\":[],\"profile\":\"\"}],"
	    GW "}", "schema: devices[0].profile: empty");
	expect_err("{\"devices\":[{\"name\":\"m\",\"profile\":\"p\"}]," GW "}",
	    "schema: devices[0].points: missing");
	expect_err("{\"devices\":[{\"name\":\"m\",\"points\":{},\"profile\":\"p\"}],"
	    GW "}", "schema: devices[0].points: expected an array");
	expect_err("{\"devices\":[{\"name\":\"m\",\"points\":[3],\"profile\":\"p\"}],"
	    GW "}", "schema: devices[0].points[0]: expected an object");
	expect_err("{\"devices\":[\"m\"]," GW "}",
	    "schema: devices[0]: expected an object");
	expect_err("{\"devices\":[{\"name\":\"m\",\"points\":[],\"profile\":\"p\","
	    "\"serial\":\"x\"}]," GW "}", "schema: devices[0].serial: unknown key");
	expect_err("{\"devices\":[{\"name\":\"m\",\"points\":[{\"name\":\"v\","
	    "\"unit\":\"V\",\"scale\":1}],\"profile\":\"p\"}]," GW "}",
	    "schema: devices[0].points[0].scale: unknown key");
	expect_err("{\"devices\":[" DEV0 "," DEV0 "]," GW "}",
	    "schema: devices: duplicate name \"m\"");
	expect_err("{\"devices\":[{\"name\":\"m\",\"points\":[{\"name\":\"v\","
	    "\"unit\":\"V\"},{\"name\":\"v\",\"unit\":\"A\"}],\"profile\":\"p\"}],"
	    GW "}", "schema: devices[0].points: duplicate name \"v\"");
	expect_err("{\"devices\":[],\"gateway\":\"gw 1\",\"version\":1}",
	    "schema: gateway: not [A-Za-z0-9._-]");
	expect_err("{\"devices\":[],\"gateway\":\"\",\"version\":1}",
	    "schema: gateway: empty");
	expect_err("{\"devices\":[],\"version\":1}", "schema: gateway: missing");
	expect_err("{\"devices\":[],\"gateway\":\"g\",\"version\":2}",
	    "schema: version: not 1");
	expect_err("{\"devices\":[],\"gateway\":\"g\",\"version\":1.0}",
	    "schema: version: not 1");
	expect_err("{\"devices\":[],\"gateway\":\"g\"}", "schema: version: missing");
	expect_err("{\"devices\":{}," GW "}", "schema: devices: expected an array");
	expect_err("{" GW "}", "schema: devices: missing");
	expect_err("{\"devices\":[]," GW ",\"x\\ny\":1}",
	    "schema: x?y: unknown key");
	expect_err("[]", "schema: top level: expected an object");
	expect_err("{\"devices\":[]," GW ",\"version\":1}", "schema:1:*");
	expect_err("{\"devices\":[]," GW, "schema:1:*");
	expect_err("", "schema:*");
}

/* The text need not be NUL-terminated; err may be short or absent. */
static void
test_lengths(void **state)
{
	static const char text[] = "{\"devices\":[]," GW "}garbage";
	struct schema t;
	char err[12];
	uint32_t id;

	(void)state;
	assert_int_equal(schema_from_json(text, strlen(text) - 7, &t, &id, err,
	    sizeof(err)), 0);
	assert_int_equal(t.n_devices, 0);
	assert_string_equal(t.gateway, "gw-1");
	schema_free(&t);
	assert_int_equal(schema_from_json(text, strlen(text), &t, &id, err,
	    sizeof(err)), -EBADMSG);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(schema_from_json(text, strlen(text), &t, &id, NULL, 0),
	    -EBADMSG);
}

static void
test_to_json_invalid(void **state)
{
	struct schema s = sample();
	struct schema_point bad_pt[] = { { "", "V" } };
	struct schema_device bad_dev[] = { { "m", "p", 1, bad_pt } };
	char *json = NULL;
	uint32_t id;

	(void)state;
	strcpy(s.gateway, "gw/1");
	assert_int_equal(schema_to_json(&s, &json, &id), -EINVAL);
	s = sample();
	s.devices = bad_dev;
	s.n_devices = 1;
	assert_int_equal(schema_to_json(&s, &json, &id), -EINVAL);
	strcpy(bad_pt[0].name, "v\x01");
	assert_int_equal(schema_to_json(&s, &json, &id), -EINVAL);
	strcpy(bad_pt[0].name, "v\xff");
	assert_int_equal(schema_to_json(&s, &json, &id), -EINVAL);
	strcpy(bad_pt[0].name, "v");
	assert_int_equal(schema_to_json(&s, &json, &id), 0);
	assert_non_null(json);
	free(json);
	s.n_devices = 0;
	assert_int_equal(schema_to_json(&s, &json, &id), 0);
	assert_string_equal(json, "{\"devices\":[],\"gateway\":\"gw-0001\","
	    "\"version\":1}");
	free(json);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_to_json),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_noncanonical_input),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_to_json_invalid),
	};

	return cmocka_run_group_tests_name("schema", tests, NULL, NULL);
}
