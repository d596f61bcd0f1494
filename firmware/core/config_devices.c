/*
 * The site config's "buses" and "devices" (docs/config.md): split from
 * config.c, which keeps the file's frame, the store keys and the uplinks.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "firmware/base/jcheck.h"
#include "firmware/base/kconfig.h"
#include "firmware/core/config_internal.h"

/* Buses and devices carry names of [a-z0-9_-]. */
static int
get_name(struct jc *x, json_t *o, const char *where, char *dst, size_t cap)
{
	char w[JC_PATH_MAX];
	int rc;

	if ((rc = jc_get_str(x, o, where, "name", JC_REQUIRED, dst, cap)) < 0)
		return rc;
	jc_path(w, where, "name");
	if (!jc_name_valid(dst, cap - 1, 1))
		return jc_fail(x, w, "'%s' may use only a-z, 0-9, '_' and '-'", dst);
	return 0;
}

static int
valid_baud(unsigned b)
{
	static const unsigned bauds[] = { 1200, 2400, 4800, 9600, 19200, 38400, 57600,
		115200, 230400 };
	size_t i;

	for (i = 0; i < sizeof(bauds) / sizeof(bauds[0]); i++)
		if (b == bauds[i])
			return 1;
	return 0;
}

/* An RS-485 line's settings: a serial port's, or an RTU-over-TCP converter's. */
static int
parse_line(struct jc *x, const char *where, json_t *o, struct cfg_bus *b)
{
	char parity[2] = "N", w[JC_PATH_MAX];
	int rc;

	b->bus.baud = 9600;
	b->bus.data_bits = 8;
	b->bus.stop_bits = 1;
	if ((rc = jc_get_uint(x, o, where, "baud", 0, 1, 1000000,
	    &b->bus.baud)) < 0 ||
	    (rc = jc_get_str(x, o, where, "parity", 0, parity, sizeof(parity))) < 0 ||
	    (rc = jc_get_uint(x, o, where, "data_bits", 0, 7, 8,
	    &b->bus.data_bits)) < 0 ||
	    (rc = jc_get_uint(x, o, where, "stop_bits", 0, 1, 2,
	    &b->bus.stop_bits)) < 0)
		return rc;
	if (!valid_baud(b->bus.baud)) {
		jc_path(w, where, "baud");
		return jc_fail(x, w, "%u is not a standard rate", b->bus.baud);
	}
	if (strcmp(parity, "N") && strcmp(parity, "E") && strcmp(parity, "O")) {
		jc_path(w, where, "parity");
		return jc_fail(x, w, "'%s' is not N, E or O", parity);
	}
	b->bus.parity = parity[0];
	return 0;
}

/* "rs485": true or false; only a serial port has a mode to switch. */
static int
parse_rs485(struct jc *x, const char *where, json_t *o, const char *type,
    struct cfg_bus *b)
{
	char w[JC_PATH_MAX];
	int rc;

	if ((rc = jc_get_bool(x, o, where, "rs485", 0, &b->bus.rs485)) != 0)
		return rc < 0 ? rc : 0;
	jc_path(w, where, "rs485");
	if (strcmp(type, "rtu") != 0)
		return jc_fail(x, w, "is for type rtu (a serial port of this "
		    "gateway)");
	return 0;
}

/* Keys that belong to other bus types: named, so a mixed-up bus is clear. */
static int
refuse_keys(struct jc *x, json_t *o, const char *where, const char *const *keys,
    const char *why)
{
	char w[JC_PATH_MAX];
	size_t i;

	for (i = 0; keys[i] != NULL; i++)
		if (json_object_get(o, keys[i]) != NULL) {
			jc_path(w, where, keys[i]);
			return jc_fail(x, w, "%s", why);
		}
	return 0;
}

/* config_missing_ports_ok(): the running daemon's rule. */
static int missing_ports_ok;

void
config_missing_ports_ok(int ok)
{
	missing_ports_ok = ok;
}

static int
parse_rtu(struct jc *x, const char *where, json_t *o, size_t i,
    struct site_config *c)
{
	static const char *const tcp_keys[] = { "host", "port", NULL };
	struct cfg_bus *b = &c->buses[i];
	char w[JC_PATH_MAX], why[128];
	size_t j;
	int rc;

	if (!IS_ENABLED(CONFIG_BUS_RTU))
		return jc_fail(x, where, "Modbus RTU is not built into this image");
	b->bus.kind = BUS_RTU;
	if ((rc = refuse_keys(x, o, where, tcp_keys, "is for types tcp and "
	    "rtu-tcp")) < 0 ||
	    (rc = jc_get_str(x, o, where, "device", JC_REQUIRED, b->bus.device,
	    sizeof(b->bus.device))) < 0 ||
	    (rc = parse_line(x, where, o, b)) < 0)
		return rc;
	jc_path(w, where, "device");
	if ((rc = bus_port_check(b->bus.device, why, sizeof(why))) < 0 &&
	    !(rc == -ENOENT && missing_ports_ok))
		return jc_fail(x, w, "serial port %s: %s", b->bus.device, why);
	/* Two workers on one RS-485 line would garble each other's frames. */
	for (j = 0; j < i; j++)
		if (c->buses[j].bus.kind == BUS_RTU &&
		    strcmp(c->buses[j].bus.device, b->bus.device) == 0)
			return jc_fail(x, w, "serial port %s is also buses[%zu] (%s)",
			    b->bus.device, j, c->buses[j].name);
	return 0;
}

static int
parse_tcp(struct jc *x, const char *where, json_t *o, struct cfg_bus *b)
{
	static const char *const serial_keys[] = { "device", "baud", "parity",
		"data_bits", "stop_bits", NULL };
	int rc;

	if (!IS_ENABLED(CONFIG_BUS_TCP))
		return jc_fail(x, where, "Modbus TCP is not built into this image");
	b->bus.kind = BUS_TCP;
	b->bus.port = 502;
	if ((rc = refuse_keys(x, o, where, serial_keys, "is for types rtu and "
	    "rtu-tcp")) < 0 ||
	    (rc = jc_get_str(x, o, where, "host", JC_REQUIRED, b->bus.host,
	    sizeof(b->bus.host))) < 0 ||
	    (rc = jc_get_uint(x, o, where, "port", 0, 1, 65535, &b->bus.port)) < 0)
		return rc;
	return 0;
}

/* A converter passing RTU frames over TCP: where it is, and its line's timing. */
static int
parse_rtutcp(struct jc *x, const char *where, json_t *o, size_t i,
    struct site_config *c)
{
	static const char *const rtu_keys[] = { "device", NULL };
	struct cfg_bus *b = &c->buses[i];
	size_t j;
	int rc;

	if (!IS_ENABLED(CONFIG_BUS_RTU))
		return jc_fail(x, where, "Modbus RTU is not built into this image");
	b->bus.kind = BUS_RTU_TCP;
	if ((rc = refuse_keys(x, o, where, rtu_keys, "is for type rtu; rtu-tcp "
	    "has 'host' and 'port'")) < 0 ||
	    (rc = jc_get_str(x, o, where, "host", JC_REQUIRED, b->bus.host,
	    sizeof(b->bus.host))) < 0 ||
	    (rc = jc_get_uint(x, o, where, "port", 1, 1, 65535, &b->bus.port)) < 0 ||
	    (rc = parse_line(x, where, o, b)) < 0)
		return rc;
	/* One converter, one line: two workers would garble its frames. */
	for (j = 0; j < i; j++)
		if (c->buses[j].bus.kind == BUS_RTU_TCP &&
		    strcmp(c->buses[j].bus.host, b->bus.host) == 0 &&
		    c->buses[j].bus.port == b->bus.port)
			return jc_fail(x, where, "%s:%u is also buses[%zu] (%s)",
			    b->bus.host, b->bus.port, j, c->buses[j].name);
	return 0;
}

static int
parse_bus(struct jc *x, json_t *o, size_t i, struct site_config *c)
{
	static const char *const keys[] = { "name", "type", "device", "baud", "parity",
		"data_bits", "stop_bits", "host", "port", "timeout_ms", "rs485", NULL };
	struct cfg_bus *b = &c->buses[i];
	char where[JC_PATH_MAX], w[JC_PATH_MAX], type[16] = "";
	size_t j;
	int rc;

	snprintf(where, sizeof(where), "buses[%zu]", i);
	if ((rc = jc_object(x, o, where)) < 0 ||
	    (rc = jc_check_keys(x, o, where, keys)) < 0 ||
	    (rc = get_name(x, o, where, b->name, sizeof(b->name))) < 0)
		return rc;
	snprintf(where, sizeof(where), "buses[%zu] (%s)", i, b->name);
	for (j = 0; j < i; j++)
		if (strcmp(c->buses[j].name, b->name) == 0)
			return jc_fail(x, where, "duplicate bus name (also buses[%zu])", j);
	b->bus.timeout_ms = 500;
	if ((rc = jc_get_str(x, o, where, "type", JC_REQUIRED, type,
	    sizeof(type))) < 0 ||
	    (rc = jc_get_uint(x, o, where, "timeout_ms", 0, 10, 10000,
	    &b->bus.timeout_ms)) < 0 ||
	    (rc = parse_rs485(x, where, o, type, b)) < 0)
		return rc;
	if (strcmp(type, "rtu") == 0)
		return parse_rtu(x, where, o, i, c);
	if (strcmp(type, "tcp") == 0)
		return parse_tcp(x, where, o, b);
	if (strcmp(type, "rtu-tcp") == 0)
		return parse_rtutcp(x, where, o, i, c);
	jc_path(w, where, "type");
	return jc_fail(x, w, "'%s' is not rtu, tcp or rtu-tcp", type);
}

/* Profiles are shared by devices of the same model: load each name once. */
static const struct profile *
profile_get(struct jc *x, const char *where, struct site_config *c, const char *name,
    int *rc)
{
	char perr[384], w[JC_PATH_MAX];
	size_t i;

	for (i = 0; i < c->n_profiles; i++)
		if (strcmp(c->profiles[i].name, name) == 0)
			return &c->profiles[i];
	if (profile_load_named(c->profiles_dir, name, &c->profiles[c->n_profiles],
	    perr, sizeof(perr)) < 0) {
		jc_path(w, where, "profile");
		/* perr names the file, or the name if it is not one. */
		*rc = jc_fail(x, w, "%s", perr);
		return NULL;
	}
	return &c->profiles[c->n_profiles++];
}

/*
 * "failsafe_a": the current limit a charger gets when the control link has
 * been lost for control.failsafe_after_s (control_charger.c); within the
 * bounds of its profile's writable current_limit.
 */
static int
parse_failsafe(struct jc *x, json_t *o, const char *where, struct cfg_device *d)
{
	json_t *v = json_object_get(o, "failsafe_a");
	const struct writable *w;
	char path[JC_PATH_MAX], why[160];
	struct dec amps;

	d->failsafe_a = -1;
	if (v == NULL)
		return 0;
	jc_path(path, where, "failsafe_a");
	if (!json_is_number(v) || dec_from_f64(json_number_value(v), &amps) < 0)
		return jc_fail(x, path, "expected a number of amperes");
	if ((w = profile_writable(d->profile, "current_limit")) == NULL)
		return jc_fail(x, path, "profile '%s' has no writable current_limit",
		    d->profile->name);
	if (writable_check(w, amps, why, sizeof(why)) < 0)
		return jc_fail(x, path, "%s", why);
	d->failsafe_a = json_number_value(v);
	return 0;
}

static int
parse_device(struct jc *x, json_t *o, size_t i, struct site_config *c)
{
	static const char *const keys[] = { "name", "bus", "unit", "profile", "driver",
		"timeout_ms", "retries", "backoff_max", "failsafe_a", NULL };
	struct cfg_device *d = &c->devices[i];
	char where[JC_PATH_MAX], w[JC_PATH_MAX], bus[CFG_NAME_MAX + 1];
	char profile[CFG_NAME_MAX + 1], driver[CFG_NAME_MAX + 1] = "regmap";
	unsigned unit = 0, umin, umax;
	size_t j;
	int rc = 0;

	snprintf(where, sizeof(where), "devices[%zu]", i);
	if ((rc = jc_object(x, o, where)) < 0 ||
	    (rc = jc_check_keys(x, o, where, keys)) < 0 ||
	    (rc = get_name(x, o, where, d->name, sizeof(d->name))) < 0)
		return rc;
	snprintf(where, sizeof(where), "devices[%zu] (%s)", i, d->name);
	for (j = 0; j < i; j++)
		if (strcmp(c->devices[j].name, d->name) == 0)
			return jc_fail(x, where, "duplicate device name (also "
			    "devices[%zu])", j);
	if ((rc = jc_get_str(x, o, where, "bus", JC_REQUIRED, bus,
	    sizeof(bus))) < 0 ||
	    (rc = jc_get_str(x, o, where, "profile", JC_REQUIRED, profile,
	    sizeof(profile))) < 0 ||
	    (rc = jc_get_str(x, o, where, "driver", 0, driver, sizeof(driver))) < 0)
		return rc;
	for (j = 0; j < c->n_buses; j++)
		if (strcmp(c->buses[j].name, bus) == 0)
			break;
	jc_path(w, where, "bus");
	if (j == c->n_buses)
		return jc_fail(x, w, "'%s' is not defined in 'buses'", bus);
	d->bus = j;
	/* RTU addresses 1..247 (0 is broadcast); TCP unit ids may be 0..255. */
	umin = c->buses[j].bus.kind != BUS_TCP ? 1 : 0;
	umax = c->buses[j].bus.kind != BUS_TCP ? 247 : 255;
	if ((rc = jc_get_uint(x, o, where, "unit", 1, umin, umax, &unit)) < 0)
		return rc;
	d->unit = (int)unit;
	/* A device may be slower than its bus's others, never slower than 10 s. */
	d->timeout_ms = c->buses[d->bus].bus.timeout_ms;
	d->retries = 1;
	d->backoff_max = 2;
	if ((rc = jc_get_uint(x, o, where, "timeout_ms", 0, 10, 10000,
	    &d->timeout_ms)) < 0 ||
	    (rc = jc_get_uint(x, o, where, "retries", 0, 0, 5, &d->retries)) < 0 ||
	    (rc = jc_get_uint(x, o, where, "backoff_max", 0, 0, 64,
	    &d->backoff_max)) < 0)
		return rc;
	jc_path(w, where, "unit");
	for (j = 0; j < i; j++)
		if (c->devices[j].bus == d->bus && c->devices[j].unit == d->unit)
			return jc_fail(x, w, "%d on bus '%s' is also devices[%zu] (%s)",
			    d->unit, bus, j, c->devices[j].name);
	jc_path(w, where, "driver");
	if ((d->driver = driver_find(driver)) == NULL)
		return jc_fail(x, w, "'%s' is not built into this image", driver);
	if ((d->profile = profile_get(x, where, c, profile, &rc)) == NULL)
		return rc;
	return parse_failsafe(x, o, where, d);
}

static int
parse_array(struct jc *x, json_t *root, const char *key, size_t max, size_t *n)
{
	json_t *a = json_object_get(root, key);

	if (a == NULL)
		return jc_fail(x, key, "missing");
	if (!json_is_array(a))
		return jc_fail(x, key, "expected an array");
	if (json_array_size(a) == 0)
		return jc_fail(x, key, "empty");
	if (json_array_size(a) > max)
		return jc_fail(x, key, "more than %zu entries", max);
	*n = json_array_size(a);
	return 0;
}

/* Every bus and device; every bus used. */
int
config_parse_devices(struct jc *x, json_t *root, struct site_config *c)
{
	size_t i, j, nb, nd;
	char where[JC_PATH_MAX];
	int rc;

	if ((rc = parse_array(x, root, "buses", 64, &nb)) < 0 ||
	    (rc = parse_array(x, root, "devices", 247, &nd)) < 0)
		return rc;
	c->buses = calloc(nb, sizeof(*c->buses));
	c->devices = calloc(nd, sizeof(*c->devices));
	c->profiles = calloc(nd, sizeof(*c->profiles));
	if (c->buses == NULL || c->devices == NULL || c->profiles == NULL)
		return jc_fail(x, "top level", "out of memory");
	for (i = 0; i < nb; i++, c->n_buses++)
		if ((rc = parse_bus(x, json_array_get(json_object_get(root, "buses"),
		    i), i, c)) < 0)
			return rc;
	for (i = 0; i < nd; i++, c->n_devices++)
		if ((rc = parse_device(x, json_array_get(json_object_get(root,
		    "devices"), i), i, c)) < 0)
			return rc;
	for (i = 0; i < c->n_buses; i++) {
		for (j = 0; j < c->n_devices; j++)
			if (c->devices[j].bus == i)
				break;
		if (j == c->n_devices) {
			snprintf(where, sizeof(where), "buses[%zu] (%s)", i,
			    c->buses[i].name);
			return jc_fail(x, where, "no device uses this bus");
		}
	}
	return 0;
}
