/*
 * Site config validation: every bad input gives one line naming the file, the
 * place and the problem, and a good config loads with its defaults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firmware/core/config.h"
#include "firmware/uplink/coap_config.h"
#include "firmware/uplink/failover_config.h"
#include "firmware/uplink/mqtt_config.h"

static char dir[256], file[300];

static int
setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/wg-config-XXXXXX", t ? t : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(file, sizeof(file), "%s/site.json", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	remove(file);
	return rmdir(dir) == 0 ? 0 : -1;
}

/*
 * A valid config with one substitution: @MQTT@, @BUSES@, @DEVICES@, @EXTRA@ are
 * replaced by the test's text (or the good default).
 */
/*
 * The serial port of the configs: a pty of the test's own (a serial port
 * must be a terminal), written where the texts say "/dev/null".
 */
static char tty[64];

static void
open_tty(void)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);

	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 || ptsname(m) == NULL) {
		perror("test_config: pty");
		exit(1);
	}
	snprintf(tty, sizeof(tty), "%s", ptsname(m));
	/* m stays open for the run: the pty lives as long as it does. */
}

static void
write_tty_config(const char *text)
{
	const char *p = text, *q;
	FILE *f = fopen(file, "w");

	assert_non_null(f);
	while ((q = strstr(p, "\"/dev/null\"")) != NULL) {
		fprintf(f, "%.*s\"%s\"", (int)(q - p), p, tty);
		p = q + strlen("\"/dev/null\"");
	}
	fputs(p, f);
	fclose(f);
}

static void
write_config(const char *mqtt, const char *buses, const char *devices,
    const char *extra)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	fprintf(f, "{\n  \"gateway\": \"gw-test\",\n  \"profiles\": \"%s/drivers/profiles\",\n"
	    "  \"store\": \"%s/store.db\",\n%s%s"
	    "  \"buses\": %s,\n  \"devices\": %s\n}\n", WG_SOURCE_DIR, dir,
	    mqtt ? mqtt : "  \"mqtt\": {\"host\": \"127.0.0.1\", \"port\": 1883},\n",
	    extra ? extra : "",
	    buses ? buses : "[{\"name\": \"rs485\", \"type\": \"rtu\", \"device\": \"/dev/null\"},"
	    " {\"name\": \"lan\", \"type\": \"tcp\", \"host\": \"127.0.0.1\", \"port\": 5020}]",
	    devices ? devices : "[{\"name\": \"main\", \"bus\": \"rs485\", \"unit\": 1,"
	    " \"profile\": \"sdm630\"}, {\"name\": \"sub\", \"bus\": \"lan\", \"unit\": 2,"
	    " \"profile\": \"sdm630\"}]");
	fclose(f);
	write_tty_config(text);
	free(text);
}

/* Each uplink's section, as that uplink parsed it. */
#define MQTT(c)		((const struct mqtt_cfg *)config_uplink_cfg(&(c), "mqtt"))
#define COAP(c)		((const struct coap_cfg *)config_uplink_cfg(&(c), "coap"))
#define FAILOVER(c)	((const struct failover_cfg *)config_uplink_cfg(&(c), \
			    "failover"))

/*
 * Loading fails with one line "FILE: PATH: WHAT": exactly this PATH (or, for
 * a JSON syntax error, "FILE:LINE:COL: WHAT" with path ":LINE:COL"), and
 * WHAT containing what.
 */
static void
expect_error(const char *path, const char *what)
{
	struct site_config c;
	char err[512], head[400];

	assert_int_equal(config_load(file, &c, err, sizeof(err)), -22);
	snprintf(head, sizeof(head), path[0] == ':' ? "%s%s: " : "%s: %s: ", file,
	    path);
	if (strncmp(err, head, strlen(head)) != 0 ||
	    (what && strstr(err + strlen(head), what) == NULL) ||
	    strchr(err, '\n') != NULL)
		fail_msg("unexpected error: '%s' (want '%s' and '%s')", err, head,
		    what ? what : "");
}

static void
test_good(void **state)
{
	struct site_config c;
	char err[512];

	(void)state;
	write_config(NULL, NULL, NULL, "  \"interval_s\": 1,\n");
	if (config_load(file, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(c.gateway, "gw-test");
	assert_int_equal(c.interval_s, 1);
	assert_int_equal(c.n_buses, 2);
	assert_int_equal(c.n_devices, 2);
	assert_int_equal(c.n_profiles, 1);	/* shared by both devices */
	assert_ptr_equal(c.devices[0].profile, c.devices[1].profile);
	assert_int_equal(c.buses[0].bus.kind, BUS_RTU);
	assert_int_equal(c.buses[0].bus.baud, 9600);
	assert_int_equal(c.buses[0].bus.parity, 'N');
	assert_int_equal(c.buses[1].bus.kind, BUS_TCP);
	assert_int_equal(c.buses[1].bus.port, 5020);
	assert_int_equal(MQTT(c)->port, 1883);
	assert_string_equal(MQTT(c)->prefix, "wg");
	assert_string_equal(MQTT(c)->client_id, "wattgate-gw-test");
	config_free(&c);
}

static void
test_default_interval(void **state)
{
	struct site_config c;
	char err[512];

	(void)state;
	write_config(NULL, NULL, NULL, NULL);
	assert_int_equal(config_load(file, &c, err, sizeof(err)), 0);
	assert_int_equal(c.interval_s, 30);
	config_free(&c);
}

static void
test_unknown_profile(void **state)
{
	(void)state;
	write_config(NULL, NULL, "[{\"name\": \"m\", \"bus\": \"lan\", \"unit\": 1,"
	    " \"profile\": \"sdm999\"}]", NULL);
	expect_error("devices[0] (m).profile", "/sdm999.json: No such file");
	/* Named once ("'X Y': profile 'X Y': name must be" before). */
	write_config(NULL, NULL, "[{\"name\": \"m\", \"bus\": \"lan\", \"unit\": 1,"
	    " \"profile\": \"X Y\"}]", NULL);
	expect_error("devices[0] (m).profile", "'X Y': not a profile name");
}

static void
test_missing_broker(void **state)
{
	(void)state;
	write_config("", NULL, NULL, NULL);
	expect_error("mqtt", "missing");
}

static void
test_missing_serial_port(void **state)
{
	(void)state;
	write_config(NULL, "[{\"name\": \"rs485\", \"type\": \"rtu\","
	    " \"device\": \"/dev/ttyWG404\"}]", "[{\"name\": \"m\", \"bus\": \"rs485\","
	    " \"unit\": 1, \"profile\": \"sdm630\"}]", NULL);
	expect_error("buses[0] (rs485).device", "/dev/ttyWG404");
}

static void
test_duplicate_device(void **state)
{
	(void)state;
	write_config(NULL, NULL, "[{\"name\": \"m\", \"bus\": \"lan\", \"unit\": 1,"
	    " \"profile\": \"sdm630\"}, {\"name\": \"m\", \"bus\": \"lan\", \"unit\": 2,"
	    " \"profile\": \"sdm630\"}]", NULL);
	expect_error("devices[1] (m)", "duplicate device name");
}

static void
test_unit_out_of_range(void **state)
{
	(void)state;
	write_config(NULL, NULL, "[{\"name\": \"m\", \"bus\": \"rs485\", \"unit\": 248,"
	    " \"profile\": \"sdm630\"}]", NULL);
	expect_error("devices[0] (m).unit", "248 out of range 1..247");
	write_config(NULL, NULL, "[{\"name\": \"m\", \"bus\": \"rs485\", \"unit\": 0,"
	    " \"profile\": \"sdm630\"}]", NULL);
	expect_error("devices[0] (m).unit", "0 out of range");
}

static void
test_same_unit_twice_on_a_bus(void **state)
{
	(void)state;
	write_config(NULL, NULL, "[{\"name\": \"a\", \"bus\": \"lan\", \"unit\": 3,"
	    " \"profile\": \"sdm630\"}, {\"name\": \"b\", \"bus\": \"lan\", \"unit\": 3,"
	    " \"profile\": \"sdm630\"}]", NULL);
	expect_error("devices[1] (b).unit", "3 on bus 'lan'");
}

/*
 * Per-device timeout, retries and backoff: defaults (the bus's timeout, 1
 * retry, at most 2 cycles skipped), values taken, and errors naming the key.
 */
static void
test_device_timeouts(void **state)
{
	struct site_config c;
	char err[512];

	(void)state;
	write_config(NULL, "[{\"name\": \"lan\", \"type\": \"tcp\", \"host\": "
	    "\"127.0.0.1\", \"timeout_ms\": 700}]",
	    "[{\"name\": \"a\", \"bus\": \"lan\", \"unit\": 1, \"profile\": "
	    "\"sdm630\"}, {\"name\": \"b\", \"bus\": \"lan\", \"unit\": 2, "
	    "\"profile\": \"sdm630\", \"timeout_ms\": 150, \"retries\": 0, "
	    "\"backoff_max\": 16}]", NULL);
	assert_int_equal(config_load(file, &c, err, sizeof(err)), 0);
	assert_int_equal(c.devices[0].timeout_ms, 700);
	assert_int_equal(c.devices[0].retries, 1);
	assert_int_equal(c.devices[0].backoff_max, 2);
	assert_int_equal(c.devices[1].timeout_ms, 150);
	assert_int_equal(c.devices[1].retries, 0);
	assert_int_equal(c.devices[1].backoff_max, 16);
	config_free(&c);

	write_config(NULL, NULL, "[{\"name\": \"m\", \"bus\": \"lan\", \"unit\": 1, "
	    "\"profile\": \"sdm630\", \"timeout_ms\": 5}]", NULL);
	expect_error("devices[0] (m).timeout_ms", "5 out of range 10..10000");
	write_config(NULL, NULL, "[{\"name\": \"m\", \"bus\": \"lan\", \"unit\": 1, "
	    "\"profile\": \"sdm630\", \"retries\": 6}]", NULL);
	expect_error("devices[0] (m).retries", "6 out of range 0..5");
	write_config(NULL, NULL, "[{\"name\": \"m\", \"bus\": \"lan\", \"unit\": 1, "
	    "\"profile\": \"sdm630\", \"backoff_max\": \"2\"}]", NULL);
	expect_error("devices[0] (m).backoff_max", "expected an integer");
	write_config(NULL, NULL, "[{\"name\": \"m\", \"bus\": \"lan\", \"unit\": 1, "
	    "\"profile\": \"sdm630\", \"backof_max\": 2}]", NULL);
	expect_error("devices[0].backof_max", "unknown key");
}

static void
test_store_sync(void **state)
{
	struct site_config c;
	char err[512];

	(void)state;
	write_config(NULL, NULL, NULL, NULL);
	assert_int_equal(config_load(file, &c, err, sizeof(err)), 0);
	assert_int_equal(c.store_sync, STORE_SYNC_NORMAL);	/* the default */
	config_free(&c);
	write_config(NULL, NULL, NULL, "  \"store_sync\": \"full\",\n");
	assert_int_equal(config_load(file, &c, err, sizeof(err)), 0);
	assert_int_equal(c.store_sync, STORE_SYNC_FULL);
	config_free(&c);
	write_config(NULL, NULL, NULL, "  \"store_sync\": \"off\",\n");
	expect_error("store_sync", "'off' is neither \"normal\" nor \"full\"");
	write_config(NULL, NULL, NULL, "  \"store_sync\": 1,\n");
	expect_error("store_sync", "expected a string");
}

static void
test_interval(void **state)
{
	(void)state;
	write_config(NULL, NULL, NULL, "  \"interval_s\": 0,\n");
	expect_error("interval_s", "out of range 1..3600");
	write_config(NULL, NULL, NULL, "  \"interval_s\": 7200,\n");
	expect_error("interval_s", "out of range");
	write_config(NULL, NULL, NULL, "  \"interval_s\": 7,\n");
	expect_error("interval_s", "does not divide an hour");
	write_config(NULL, NULL, NULL, "  \"interval_s\": \"30\",\n");
	expect_error("interval_s", "expected an integer");
}

static void
test_typo_and_syntax(void **state)
{
	(void)state;
	write_config(NULL, NULL, NULL, "  \"intervall_s\": 30,\n");
	expect_error("intervall_s", "unknown key");
	write_config(NULL, NULL, NULL, "  \"interval_s\": 30,,\n");
	/* jansson's line:column: the stray comma is on line 6 */
	expect_error(":6:20", "string or '}' expected");
}

static void
test_bus_errors(void **state)
{
	(void)state;
	write_config(NULL, "[{\"name\": \"x\", \"type\": \"rtu\", \"device\": \"/dev/null\","
	    " \"baud\": 9601}]", NULL, NULL);
	expect_error("buses[0] (x).baud", "9601");
	write_config(NULL, "[{\"name\": \"x\", \"type\": \"can\"}]", NULL, NULL);
	expect_error("buses[0] (x).type", "'can'");
	write_config(NULL, "[{\"name\": \"x\", \"type\": \"tcp\", \"host\": \"h\","
	    " \"port\": 70000}]", NULL, NULL);
	expect_error("buses[0] (x).port", "70000");
	write_config(NULL, NULL, "[{\"name\": \"m\", \"bus\": \"nowhere\", \"unit\": 1,"
	    " \"profile\": \"sdm630\"}]", NULL);
	expect_error("devices[0] (m).bus", "'nowhere'");
	write_config(NULL, "[{\"name\": \"a\", \"type\": \"rtu\", \"device\": \"/dev/null\"},"
	    " {\"name\": \"b\", \"type\": \"rtu\", \"device\": \"/dev/null\"}]", NULL, NULL);
	expect_error("buses[1] (b).device", "also buses[0] (a)");
	/* A character device is not yet a serial port (/dev/null passed). */
	write_config(NULL, "[{\"name\": \"x\", \"type\": \"rtu\", \"device\": "
	    "\"/dev/zero\"}]", "[{\"name\": \"m\", \"bus\": \"x\", \"unit\": 1,"
	    " \"profile\": \"sdm630\"}]", NULL);
	expect_error("buses[0] (x).device", "serial port /dev/zero: a character "
	    "device but not a terminal");
	write_config(NULL, "[{\"name\": \"x\", \"type\": \"rtu\", \"device\": "
	    "\"/tmp\"}]", "[{\"name\": \"m\", \"bus\": \"x\", \"unit\": 1,"
	    " \"profile\": \"sdm630\"}]", NULL);
	expect_error("buses[0] (x).device", "serial port /tmp: a directory, not a "
	    "serial port");
	write_config(NULL, NULL, "[{\"name\": \"m\", \"bus\": \"lan\", \"unit\": 1,"
	    " \"profile\": \"sdm630\"}]", NULL);
	expect_error("buses[0] (rs485)", "no device uses this bus");
	write_config("  \"mqtt\": {\"host\": \"h\", \"prefix\": \"a/b/\"},\n", NULL, NULL,
	    NULL);
	expect_error("mqtt.prefix", "empty topic level");
}

/* RTU over TCP and RS-485 mode: what loads, and each error by key. */
static void
test_rtutcp_and_rs485(void **state)
{
	struct site_config c;
	char err[512];

	(void)state;
	write_config(NULL, "[{\"name\": \"rs485\", \"type\": \"rtu\", \"device\":"
	    " \"/dev/null\", \"rs485\": true}, {\"name\": \"lan\", \"type\": "
	    "\"rtu-tcp\", \"host\": \"10.0.0.7\", \"port\": 4196, \"baud\": 19200,"
	    " \"parity\": \"E\"}]", NULL, NULL);
	if (config_load(file, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.buses[0].bus.kind, BUS_RTU);
	assert_int_equal(c.buses[0].bus.rs485, 1);
	assert_int_equal(c.buses[1].bus.kind, BUS_RTU_TCP);
	assert_string_equal(c.buses[1].bus.host, "10.0.0.7");
	assert_int_equal(c.buses[1].bus.port, 4196);
	assert_int_equal(c.buses[1].bus.baud, 19200);
	assert_int_equal(c.buses[1].bus.parity, 'E');
	assert_int_equal(c.buses[1].bus.data_bits, 8);
	assert_int_equal(c.buses[1].bus.rs485, 0);
	config_free(&c);

	/* Defaults: the line is 9600 8N1 unless said otherwise. */
	write_config(NULL, "[{\"name\": \"rs485\", \"type\": \"rtu\", \"device\":"
	    " \"/dev/null\"}, {\"name\": \"lan\", \"type\": \"rtu-tcp\", "
	    "\"host\": \"gw.local\", \"port\": 502}]", NULL, NULL);
	if (config_load(file, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.buses[0].bus.rs485, 0);
	assert_int_equal(c.buses[1].bus.baud, 9600);
	assert_int_equal(c.buses[1].bus.parity, 'N');
	config_free(&c);

	write_config(NULL, "[{\"name\": \"x\", \"type\": \"rtu-tcp\", \"host\":"
	    " \"h\"}]", NULL, NULL);
	expect_error("buses[0] (x).port", "missing");
	write_config(NULL, "[{\"name\": \"x\", \"type\": \"rtu-tcp\", \"port\":"
	    " 4196}]", NULL, NULL);
	expect_error("buses[0] (x).host", "missing");
	write_config(NULL, "[{\"name\": \"x\", \"type\": \"rtu-tcp\", \"host\":"
	    " \"h\", \"port\": 0}]", NULL, NULL);
	expect_error("buses[0] (x).port", "out of range 1..65535");
	write_config(NULL, "[{\"name\": \"x\", \"type\": \"rtu-tcp\", \"host\":"
	    " \"h\", \"port\": 4196, \"baud\": 9601}]", NULL, NULL);
	expect_error("buses[0] (x).baud", "9601");
	write_config(NULL, "[{\"name\": \"x\", \"type\": \"rtu-tcp\", \"host\":"
	    " \"h\", \"port\": 4196, \"device\": \"/dev/null\"}]", NULL, NULL);
	expect_error("buses[0] (x).device", "is for type rtu");
	write_config(NULL, "[{\"name\": \"x\", \"type\": \"rtu-tcp\", \"host\":"
	    " \"h\", \"port\": 4196, \"rs485\": true}]", NULL, NULL);
	expect_error("buses[0] (x).rs485", "is for type rtu");
	write_config(NULL, "[{\"name\": \"x\", \"type\": \"tcp\", \"host\":"
	    " \"h\", \"rs485\": false}]", NULL, NULL);
	expect_error("buses[0] (x).rs485", "is for type rtu");
	write_config(NULL, "[{\"name\": \"x\", \"type\": \"rtu\", \"device\":"
	    " \"/dev/null\", \"rs485\": \"yes\"}]", NULL, NULL);
	expect_error("buses[0] (x).rs485", "expected true or false");
	write_config(NULL, "[{\"name\": \"a\", \"type\": \"rtu-tcp\", \"host\":"
	    " \"h\", \"port\": 4196}, {\"name\": \"b\", \"type\": \"rtu-tcp\","
	    " \"host\": \"h\", \"port\": 4196}]", NULL, NULL);
	expect_error("buses[1] (b)", "h:4196 is also buses[0] (a)");
	write_config(NULL, "[{\"name\": \"x\", \"type\": \"rtu-over-tcp\"}]",
	    NULL, NULL);
	expect_error("buses[0] (x).type", "not rtu, tcp or rtu-tcp");
	/* Behind a converter the units are RTU addresses: 1..247. */
	write_config(NULL, "[{\"name\": \"lan\", \"type\": \"rtu-tcp\", \"host\":"
	    " \"h\", \"port\": 4196}]", "[{\"name\": \"m\", \"bus\": \"lan\", "
	    "\"unit\": 0, \"profile\": \"sdm630\"}]", NULL);
	expect_error("devices[0] (m).unit", NULL);
}

/* "mqtt": { "tls": ... }: defaults, the override, and each shape error by key. */
static void
test_mqtt_tls(void **state)
{
	struct site_config c;
	char err[512];

	(void)state;
	write_config("  \"mqtt\": {\"host\": \"broker.example\", \"tls\": "
	    "{\"ca_file\": \"/etc/wg/ca.crt\", \"cert_file\": \"/etc/wg/gw.crt\", "
	    "\"key_file\": \"/etc/wg/gw.key\"}},\n", NULL, NULL, NULL);
	assert_int_equal(config_load(file, &c, err, sizeof(err)), 0);
	assert_true(MQTT(c)->tls.enabled);
	assert_int_equal(MQTT(c)->port, 8883);
	assert_string_equal(MQTT(c)->tls.ca_file, "/etc/wg/ca.crt");
	assert_string_equal(MQTT(c)->tls.key_file, "/etc/wg/gw.key");
	assert_string_equal(MQTT(c)->tls.server_name, "broker.example");
	config_free(&c);

	write_config("  \"mqtt\": {\"host\": \"10.0.0.1\", \"port\": 8884, \"tls\": "
	    "{\"ca_file\": \"/ca\", \"server_name\": \"mqtt.example\"}},\n", NULL,
	    NULL, NULL);
	assert_int_equal(config_load(file, &c, err, sizeof(err)), 0);
	assert_int_equal(MQTT(c)->port, 8884);
	assert_string_equal(MQTT(c)->tls.server_name, "mqtt.example");
	assert_string_equal(MQTT(c)->tls.cert_file, "");
	config_free(&c);

	/* Plain MQTT stays the default. */
	write_config(NULL, NULL, NULL, NULL);
	assert_int_equal(config_load(file, &c, err, sizeof(err)), 0);
	assert_false(MQTT(c)->tls.enabled);
	config_free(&c);

	write_config("  \"mqtt\": {\"host\": \"h\", \"tls\": {}},\n", NULL, NULL,
	    NULL);
	expect_error("mqtt.tls.ca_file", "missing");
	write_config("  \"mqtt\": {\"host\": \"h\", \"tls\": true},\n", NULL, NULL,
	    NULL);
	expect_error("mqtt.tls", "expected an object");
	write_config("  \"mqtt\": {\"host\": \"h\", \"tls\": {\"ca_file\": \"/ca\", "
	    "\"cafile\": \"/ca\"}},\n", NULL, NULL, NULL);
	expect_error("mqtt.tls.cafile", "unknown key");
	/* A certificate alone was issued for the device identity's key. */
	write_config("  \"mqtt\": {\"host\": \"h\", \"tls\": {\"ca_file\": \"/ca\", "
	    "\"cert_file\": \"/c\"}},\n", NULL, NULL, NULL);
	assert_int_equal(config_load(file, &c, err, sizeof(err)), 0);
	assert_string_equal(MQTT(c)->tls.key_file, c.identity_key);
	assert_non_null(strstr(MQTT(c)->tls.key_file, "identity.key"));
	config_free(&c);
	write_config("  \"mqtt\": {\"host\": \"h\", \"tls\": {\"ca_file\": \"/ca\", "
	    "\"key_file\": \"/k\"}},\n", NULL, NULL, NULL);
	expect_error("mqtt.tls.key_file", "without 'cert_file'");
	write_config("  \"mqtt\": {\"host\": \"h\", \"tls\": {\"ca_file\": \"/ca\", "
	    "\"server_name\": \"a b\"}},\n", NULL, NULL, NULL);
	expect_error("mqtt.tls.server_name", "'a b'");
	write_config("  \"mqtt\": {\"host\": \"h\", \"tls\": {\"ca_file\": \"\"}},\n",
	    NULL, NULL, NULL);
	expect_error("mqtt.tls.ca_file", "empty");
}

static void
test_bad_gateway_and_missing_file(void **state)
{
	struct site_config c;
	char err[512];

	(void)state;
	write_config(NULL, NULL, NULL, NULL);
	/* Overwrite the gateway id with a topic wildcard. */
	{
		FILE *f = fopen(file, "r+");

		assert_non_null(f);
		fseek(f, 16, SEEK_SET);
		fputc('#', f);
		fclose(f);
	}
	expect_error("gateway", "may use only");
	assert_int_equal(config_load("/nonexistent/site.json", &c, err,
	    sizeof(err)), -ENOENT);
	assert_string_equal(err, "/nonexistent/site.json: No such file or "
	    "directory");
}

/*
 * A store path that is not a database file in a directory of its own fails
 * --check: "/tmp" put the identity key at /identity.key, "/dev/zero" made
 * /dev/zero-journal, and both passed.
 */
/* The good config with "store" set to path. */
static void
write_store(const char *path)
{
	char text[4096], *at, *end, out[4400];
	size_t n;
	FILE *f;

	write_config(NULL, NULL, NULL, NULL);
	assert_non_null(f = fopen(file, "r"));
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	assert_non_null(at = strstr(text, "\"store\": \""));
	at += strlen("\"store\": \"");
	assert_non_null(end = strchr(at, '"'));
	snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - text), text, path, end);
	assert_non_null(f = fopen(file, "w"));
	fputs(out, f);
	fclose(f);
}

static void
test_store_path(void **state)
{
	struct site_config c;
	char err[512], path[400];

	(void)state;
	write_store("/tmp");
	expect_error("store", "/tmp is a directory, not a database file");
	write_store("/dev/zero");
	expect_error("store", "/dev/zero is a character device, not a database");
	write_store("/var/lib/wg/");
	expect_error("store", "names a directory");
	write_store("/store.db");
	expect_error("store", "in the root directory");
	write_store("/dev/null/store.db");
	expect_error("store", "not a directory");
	snprintf(path, sizeof(path), "%s/state/store.db", dir);
	write_store(path);
	if (config_load(file, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	config_free(&c);
}

/*
 * What is not a JSON text in a regular file is named for what it is: a FIFO
 * used to block config_load (and with it `--check` and a SIGHUP reload) for
 * ever; a directory or a NUL byte gave jansson's "'[' or '{' expected near
 * end of file".
 */
static void
test_not_a_file(void **state)
{
	struct site_config c;
	char err[512], path[320], want[400];
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/fifo.json", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(config_load(path, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: a FIFO, not a regular file", path);
	assert_string_equal(err, want);
	unlink(path);

	assert_int_equal(config_load(dir, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: a directory, not a regular file", dir);
	assert_string_equal(err, want);

	assert_int_equal(config_load("/dev/zero", &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "/dev/zero: a character device, not a regular "
	    "file");

	snprintf(path, sizeof(path), "%s/nul.json", dir);
	assert_non_null(f = fopen(path, "w"));
	fwrite("{\"gateway\"\0: 1}", 1, 16, f);
	fclose(f);
	assert_int_equal(config_load(path, &c, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: byte 10: a NUL byte (not JSON text)",
	    path);
	assert_string_equal(err, want);
	unlink(path);
}

/* "uplink" and "coap": each bad value names its key (docs/config.md). */
static void
test_coap(void **state)
{
	struct site_config c;
	char err[512], extra[1024], psk[300];
	FILE *f;

	(void)state;
	write_config(NULL, NULL, NULL, "  \"uplink\": \"coap\",\n");
	expect_error("coap", "missing");
	write_config(NULL, NULL, NULL, "  \"uplink\": \"udp\",\n");
	expect_error("uplink", "neither");
	write_config(NULL, NULL, NULL, "  \"uplink\": \"coap\", \"coap\": "
	    "{\"uri\": \"http://x/wg\"},\n");
	expect_error("coap.uri", "scheme");
	write_config(NULL, NULL, NULL, "  \"uplink\": \"coap\", \"coap\": "
	    "{\"uri\": \"coap://h:99999/wg\"},\n");
	expect_error("coap.uri", "port");
	write_config(NULL, NULL, NULL, "  \"uplink\": \"coap\", \"coap\": "
	    "{\"uri\": \"coap://h/wg?x=1\"},\n");
	expect_error("coap.uri", "path");
	write_config(NULL, NULL, NULL, "  \"uplink\": \"coap\", \"coap\": "
	    "{\"uri\": \"coaps://h/wg\"},\n");
	expect_error("coap.uri", "psk_file or ca_file");
	write_config(NULL, NULL, NULL, "  \"uplink\": \"coap\", \"coap\": "
	    "{\"uri\": \"coap://h/wg\", \"ack_timeout_ms\": 5},\n");
	expect_error("coap.ack_timeout_ms", "out of range");
	/* A PSK file anyone may read is refused by name. */
	snprintf(psk, sizeof(psk), "%s/coap.psk", dir);
	assert_non_null(f = fopen(psk, "w"));
	fputs("gw\n0011\n", f);
	fclose(f);
	chmod(psk, 0644);
	snprintf(extra, sizeof(extra), "  \"uplink\": \"coap\", \"coap\": "
	    "{\"uri\": \"coaps://127.0.0.1/wg\", \"psk_file\": \"%s\"},\n", psk);
	write_config(NULL, NULL, NULL, extra);
	expect_error("coap.psk_file", psk);
	/* Fixed: loads, with the defaults; no "mqtt" needed for a coap uplink. */
	chmod(psk, 0600);
	write_config("", NULL, NULL, extra);
	assert_int_equal(config_load(file, &c, err, sizeof(err)), 0);
	assert_string_equal(config_uplink(&c)->ops->name, "coap");
	assert_int_equal(COAP(c)->secure, 1);
	assert_int_equal(COAP(c)->ack_timeout_ms, 2000);
	assert_int_equal(COAP(c)->max_retransmit, 4);
	config_free(&c);
	remove(psk);
}

/* "uplink" as a primary and a fallback: names, range, blocks, each by its key. */
static void
test_failover(void **state)
{
	static const char coap[] = "\"coap\": {\"uri\": \"coap://127.0.0.1/wg\"},\n";
	struct site_config c;
	char err[512], extra[1024];

	(void)state;
	snprintf(extra, sizeof(extra), "  \"uplink\": {\"primary\": \"mqtt\", "
	    "\"fallback\": \"coap\"}, %s", coap);
	write_config(NULL, NULL, NULL, extra);
	if (config_load(file, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(config_uplink(&c)->ops->name, "failover");
	assert_string_equal(FAILOVER(c)->primary.ops->name, "mqtt");
	assert_string_equal(FAILOVER(c)->fallback.ops->name, "coap");
	assert_int_equal(FAILOVER(c)->failover_s, 60);	/* the default */
	assert_ptr_equal(FAILOVER(c)->fallback.cfg, COAP(c));
	config_free(&c);

	/* The other way round, with its own time. */
	snprintf(extra, sizeof(extra), "  \"uplink\": {\"primary\": \"coap\", "
	    "\"fallback\": \"mqtt\", \"failover_s\": 3}, %s", coap);
	write_config(NULL, NULL, NULL, extra);
	if (config_load(file, &c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(FAILOVER(c)->primary.ops->name, "coap");
	assert_string_equal(FAILOVER(c)->fallback.ops->name, "mqtt");
	assert_int_equal(FAILOVER(c)->failover_s, 3);
	config_free(&c);

	snprintf(extra, sizeof(extra), "  \"uplink\": {\"primary\": \"mqtt\", "
	    "\"fallback\": \"mqtt\"}, %s", coap);
	write_config(NULL, NULL, NULL, extra);
	expect_error("uplink.fallback", "the primary too");
	snprintf(extra, sizeof(extra), "  \"uplink\": {\"primary\": \"mqtt\", "
	    "\"fallback\": \"lora\"}, %s", coap);
	write_config(NULL, NULL, NULL, extra);
	expect_error("uplink.fallback", "'lora' is neither");
	snprintf(extra, sizeof(extra), "  \"uplink\": {\"primary\": \"udp\", "
	    "\"fallback\": \"coap\"}, %s", coap);
	write_config(NULL, NULL, NULL, extra);
	expect_error("uplink.primary", "'udp' is neither");
	snprintf(extra, sizeof(extra), "  \"uplink\": {\"fallback\": \"coap\"}, %s",
	    coap);
	write_config(NULL, NULL, NULL, extra);
	expect_error("uplink.primary", "missing");
	snprintf(extra, sizeof(extra), "  \"uplink\": {\"primary\": \"mqtt\"}, %s",
	    coap);
	write_config(NULL, NULL, NULL, extra);
	expect_error("uplink.fallback", "missing");
	snprintf(extra, sizeof(extra), "  \"uplink\": {\"primary\": \"mqtt\", "
	    "\"fallback\": \"coap\", \"failover_s\": 0}, %s", coap);
	write_config(NULL, NULL, NULL, extra);
	expect_error("uplink.failover_s", "out of range 1..3600");
	snprintf(extra, sizeof(extra), "  \"uplink\": {\"primary\": \"mqtt\", "
	    "\"fallback\": \"coap\", \"failover_s\": 3601}, %s", coap);
	write_config(NULL, NULL, NULL, extra);
	expect_error("uplink.failover_s", "out of range");
	snprintf(extra, sizeof(extra), "  \"uplink\": {\"primary\": \"mqtt\", "
	    "\"fallback\": \"coap\", \"failover_s\": \"60\"}, %s", coap);
	write_config(NULL, NULL, NULL, extra);
	expect_error("uplink.failover_s", "expected an integer");
	snprintf(extra, sizeof(extra), "  \"uplink\": {\"primary\": \"mqtt\", "
	    "\"fallback\": \"coap\", \"failover\": 60}, %s", coap);
	write_config(NULL, NULL, NULL, extra);
	expect_error("uplink.failover", "unknown key");
	/* Both blocks must be there: each named when missing. */
	write_config(NULL, NULL, NULL, "  \"uplink\": {\"primary\": \"mqtt\", "
	    "\"fallback\": \"coap\"},\n");
	expect_error("uplink.fallback", "no \"coap\" section");
	snprintf(extra, sizeof(extra), "  \"uplink\": {\"primary\": \"coap\", "
	    "\"fallback\": \"mqtt\"}, %s", coap);
	write_config("", NULL, NULL, extra);
	expect_error("uplink.fallback", "no \"mqtt\" section");
	/* The name of the composite is not one a site may give. */
	write_config(NULL, NULL, NULL, "  \"uplink\": \"failover\",\n");
	expect_error("uplink", "'failover' is neither");
	write_config(NULL, NULL, NULL, "  \"uplink\": [\"mqtt\", \"coap\"],\n");
	expect_error("uplink", "expected a string");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_default_interval),
		cmocka_unit_test(test_unknown_profile),
		cmocka_unit_test(test_missing_broker),
		cmocka_unit_test(test_missing_serial_port),
		cmocka_unit_test(test_duplicate_device),
		cmocka_unit_test(test_unit_out_of_range),
		cmocka_unit_test(test_same_unit_twice_on_a_bus),
		cmocka_unit_test(test_interval),
		cmocka_unit_test(test_device_timeouts),
		cmocka_unit_test(test_store_sync),
		cmocka_unit_test(test_typo_and_syntax),
		cmocka_unit_test(test_bus_errors),
		cmocka_unit_test(test_rtutcp_and_rs485),
		cmocka_unit_test(test_bad_gateway_and_missing_file),
		cmocka_unit_test(test_not_a_file),
		cmocka_unit_test(test_store_path),
		cmocka_unit_test(test_mqtt_tls),
		cmocka_unit_test(test_coap),
		cmocka_unit_test(test_failover),
	};

	open_tty();
	return cmocka_run_group_tests(tests, setup, teardown);
}
