#include "firmware/core/config.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firmware/core/config_parse.h"
#include "firmware/core/kconfig.h"

int
fail(struct ctx *x, const char *where, const char *fmt, ...)
{
	char what[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(x->err, x->errlen, "%s: %s: %s", x->file, where, what);
	return -EINVAL;
}

/* Typos must not pass silently: every key of an object must be one we know. */
int
check_keys(struct ctx *x, const char *where, json_t *obj, const char *const *known)
{
	const char *key;
	json_t *v;
	size_t i;

	json_object_foreach(obj, key, v) {
		for (i = 0; known[i] != NULL; i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (known[i] == NULL)
			return fail(x, where, "unknown key '%s'", key);
	}
	return 0;
}

int
get_str(struct ctx *x, const char *where, json_t *obj, const char *key, int required,
    char *dst, size_t cap)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	if (v == NULL) {
		if (required)
			return fail(x, where, "missing '%s'", key);
		return 0;
	}
	if (!json_is_string(v))
		return fail(x, where, "'%s' must be a string", key);
	s = json_string_value(v);
	if (s[0] == '\0')
		return fail(x, where, "'%s' is empty", key);
	if (strlen(s) >= cap)
		return fail(x, where, "'%s' longer than %zu characters", key, cap - 1);
	memcpy(dst, s, strlen(s) + 1);
	return 0;
}

int
get_uint(struct ctx *x, const char *where, json_t *obj, const char *key, int required,
    long min, long max, unsigned *dst)
{
	json_t *v = json_object_get(obj, key);
	json_int_t n;

	if (v == NULL) {
		if (required)
			return fail(x, where, "missing '%s'", key);
		return 0;
	}
	if (!json_is_integer(v))
		return fail(x, where, "'%s' must be an integer", key);
	n = json_integer_value(v);
	if (n < min || n > max)
		return fail(x, where, "%s %lld out of range %ld..%ld", key, (long long)n,
		    min, max);
	*dst = (unsigned)n;
	return 0;
}

int
valid_name(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		    *s == '-'))
			return 0;
	return 1;
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
parse_line(struct ctx *x, const char *where, json_t *o, struct cfg_bus *b)
{
	char parity[2] = "N";
	int rc;

	b->bus.baud = 9600;
	b->bus.data_bits = 8;
	b->bus.stop_bits = 1;
	if ((rc = get_uint(x, where, o, "baud", 0, 1, 1000000, &b->bus.baud)) < 0 ||
	    (rc = get_str(x, where, o, "parity", 0, parity, sizeof(parity))) < 0 ||
	    (rc = get_uint(x, where, o, "data_bits", 0, 7, 8, &b->bus.data_bits)) < 0 ||
	    (rc = get_uint(x, where, o, "stop_bits", 0, 1, 2, &b->bus.stop_bits)) < 0)
		return rc;
	if (!valid_baud(b->bus.baud))
		return fail(x, where, "baud %u is not a standard rate", b->bus.baud);
	if (strcmp(parity, "N") && strcmp(parity, "E") && strcmp(parity, "O"))
		return fail(x, where, "parity '%s' is not N, E or O", parity);
	b->bus.parity = parity[0];
	return 0;
}

/* "rs485": true or false; only a serial port has a mode to switch. */
static int
parse_rs485(struct ctx *x, const char *where, json_t *o, const char *type,
    struct cfg_bus *b)
{
	json_t *v = json_object_get(o, "rs485");

	if (v == NULL)
		return 0;
	if (!json_is_boolean(v))
		return fail(x, where, "'rs485' must be true or false");
	if (strcmp(type, "rtu") != 0)
		return fail(x, where, "'rs485' is for type rtu (a serial port of "
		    "this gateway)");
	b->bus.rs485 = json_is_true(v);
	return 0;
}

/* A converter passing RTU frames over TCP: where it is, and its line's timing. */
static int
parse_rtutcp(struct ctx *x, const char *where, json_t *o, struct cfg_bus *b)
{
	int rc;

	if (!IS_ENABLED(CONFIG_BUS_RTU))
		return fail(x, where, "Modbus RTU is not built into this image");
	b->bus.kind = BUS_RTU_TCP;
	if (json_object_get(o, "device"))
		return fail(x, where, "'device' is for type rtu; rtu-tcp has "
		    "'host' and 'port'");
	if ((rc = get_str(x, where, o, "host", 1, b->bus.host,
	    sizeof(b->bus.host))) < 0 ||
	    (rc = get_uint(x, where, o, "port", 1, 1, 65535, &b->bus.port)) < 0)
		return rc;
	return parse_line(x, where, o, b);
}

static int
parse_bus(struct ctx *x, json_t *o, size_t i, struct site_config *c)
{
	static const char *const keys[] = { "name", "type", "device", "baud", "parity",
		"data_bits", "stop_bits", "host", "port", "timeout_ms", "rs485", NULL };
	struct cfg_bus *b = &c->buses[i];
	char where[64], type[16] = "";
	struct stat st;
	size_t j;
	int rc;

	snprintf(where, sizeof(where), "buses[%zu]", i);
	if (!json_is_object(o))
		return fail(x, where, "must be an object");
	if ((rc = check_keys(x, where, o, keys)) < 0 ||
	    (rc = get_str(x, where, o, "name", 1, b->name, sizeof(b->name))) < 0)
		return rc;
	snprintf(where, sizeof(where), "buses[%zu] (%s)", i, b->name);
	if (!valid_name(b->name))
		return fail(x, where, "name may use only a-z, 0-9, '_' and '-'");
	for (j = 0; j < i; j++)
		if (strcmp(c->buses[j].name, b->name) == 0)
			return fail(x, where, "duplicate bus name (also buses[%zu])", j);
	b->bus.timeout_ms = 500;
	if ((rc = get_str(x, where, o, "type", 1, type, sizeof(type))) < 0 ||
	    (rc = get_uint(x, where, o, "timeout_ms", 0, 10, 10000, &b->bus.timeout_ms)) < 0 ||
	    (rc = parse_rs485(x, where, o, type, b)) < 0)
		return rc;
	if (strcmp(type, "rtu") == 0) {
		if (!IS_ENABLED(CONFIG_BUS_RTU))
			return fail(x, where, "Modbus RTU is not built into this image");
		b->bus.kind = BUS_RTU;
		if (json_object_get(o, "host") || json_object_get(o, "port"))
			return fail(x, where, "'host'/'port' are for types tcp and rtu-tcp");
		if ((rc = get_str(x, where, o, "device", 1, b->bus.device,
		    sizeof(b->bus.device))) < 0 ||
		    (rc = parse_line(x, where, o, b)) < 0)
			return rc;
		if (stat(b->bus.device, &st) == -1)
			return fail(x, where, "serial port %s: %s", b->bus.device,
			    strerror(errno));
		if (!S_ISCHR(st.st_mode))
			return fail(x, where, "serial port %s is not a character device",
			    b->bus.device);
		/* Two workers on one RS-485 line would garble each other's frames. */
		for (j = 0; j < i; j++)
			if (c->buses[j].bus.kind == BUS_RTU &&
			    strcmp(c->buses[j].bus.device, b->bus.device) == 0)
				return fail(x, where, "serial port %s is also buses[%zu] (%s)",
				    b->bus.device, j, c->buses[j].name);
	} else if (strcmp(type, "tcp") == 0) {
		if (!IS_ENABLED(CONFIG_BUS_TCP))
			return fail(x, where, "Modbus TCP is not built into this image");
		b->bus.kind = BUS_TCP;
		b->bus.port = 502;
		if (json_object_get(o, "device") || json_object_get(o, "baud") ||
		    json_object_get(o, "parity") || json_object_get(o, "data_bits") ||
		    json_object_get(o, "stop_bits"))
			return fail(x, where, "serial settings are for types rtu and "
			    "rtu-tcp");
		if ((rc = get_str(x, where, o, "host", 1, b->bus.host,
		    sizeof(b->bus.host))) < 0 ||
		    (rc = get_uint(x, where, o, "port", 0, 1, 65535, &b->bus.port)) < 0)
			return rc;
	} else if (strcmp(type, "rtu-tcp") == 0) {
		if ((rc = parse_rtutcp(x, where, o, b)) < 0)
			return rc;
		/* One converter, one line: two workers would garble its frames. */
		for (j = 0; j < i; j++)
			if (c->buses[j].bus.kind == BUS_RTU_TCP &&
			    strcmp(c->buses[j].bus.host, b->bus.host) == 0 &&
			    c->buses[j].bus.port == b->bus.port)
				return fail(x, where, "%s:%u is also buses[%zu] (%s)",
				    b->bus.host, b->bus.port, j, c->buses[j].name);
	} else
		return fail(x, where, "type '%s' is not rtu, tcp or rtu-tcp", type);
	return 0;
}

/* Profiles are shared by devices of the same model: load each name once. */
static const struct profile *
profile_get(struct ctx *x, const char *where, struct site_config *c, const char *name,
    int *rc)
{
	char perr[384];
	size_t i;

	for (i = 0; i < c->n_profiles; i++)
		if (strcmp(c->profiles[i].name, name) == 0)
			return &c->profiles[i];
	if (profile_load_named(c->profiles_dir, name, &c->profiles[c->n_profiles],
	    perr, sizeof(perr)) < 0) {
		*rc = fail(x, where, "profile '%s': %s", name, perr);
		return NULL;
	}
	return &c->profiles[c->n_profiles++];
}

static int
parse_device(struct ctx *x, json_t *o, size_t i, struct site_config *c)
{
	static const char *const keys[] = { "name", "bus", "unit", "profile", "driver",
		"timeout_ms", "retries", "backoff_max", NULL };
	struct cfg_device *d = &c->devices[i];
	char where[64], bus[CFG_NAME_MAX + 1], profile[CFG_NAME_MAX + 1];
	char driver[CFG_NAME_MAX + 1] = "regmap";
	unsigned unit = 0;
	size_t j;
	int rc = 0, umin, umax;

	snprintf(where, sizeof(where), "devices[%zu]", i);
	if (!json_is_object(o))
		return fail(x, where, "must be an object");
	if ((rc = check_keys(x, where, o, keys)) < 0 ||
	    (rc = get_str(x, where, o, "name", 1, d->name, sizeof(d->name))) < 0)
		return rc;
	snprintf(where, sizeof(where), "devices[%zu] (%s)", i, d->name);
	if (!valid_name(d->name))
		return fail(x, where, "name may use only a-z, 0-9, '_' and '-'");
	for (j = 0; j < i; j++)
		if (strcmp(c->devices[j].name, d->name) == 0)
			return fail(x, where, "duplicate device name (also devices[%zu])", j);
	if ((rc = get_str(x, where, o, "bus", 1, bus, sizeof(bus))) < 0 ||
	    (rc = get_str(x, where, o, "profile", 1, profile, sizeof(profile))) < 0 ||
	    (rc = get_str(x, where, o, "driver", 0, driver, sizeof(driver))) < 0)
		return rc;
	for (j = 0; j < c->n_buses; j++)
		if (strcmp(c->buses[j].name, bus) == 0)
			break;
	if (j == c->n_buses)
		return fail(x, where, "bus '%s' is not defined in 'buses'", bus);
	d->bus = j;
	/* RTU addresses 1..247 (0 is broadcast); TCP unit ids may be 0..255. */
	umin = c->buses[j].bus.kind != BUS_TCP ? 1 : 0;
	umax = c->buses[j].bus.kind != BUS_TCP ? 247 : 255;
	if ((rc = get_uint(x, where, o, "unit", 1, umin, umax, &unit)) < 0)
		return rc;
	d->unit = (int)unit;
	/* A device may be slower than its bus's others, never slower than 10 s. */
	d->timeout_ms = c->buses[d->bus].bus.timeout_ms;
	d->retries = 1;
	d->backoff_max = 2;
	if ((rc = get_uint(x, where, o, "timeout_ms", 0, 10, 10000,
	    &d->timeout_ms)) < 0 ||
	    (rc = get_uint(x, where, o, "retries", 0, 0, 5, &d->retries)) < 0 ||
	    (rc = get_uint(x, where, o, "backoff_max", 0, 0, 64,
	    &d->backoff_max)) < 0)
		return rc;
	for (j = 0; j < i; j++)
		if (c->devices[j].bus == d->bus && c->devices[j].unit == d->unit)
			return fail(x, where, "unit %d on bus '%s' is also devices[%zu] (%s)",
			    d->unit, bus, j, c->devices[j].name);
	if ((d->driver = driver_find(driver)) == NULL)
		return fail(x, where, "driver '%s' is not built into this image", driver);
	if ((d->profile = profile_get(x, where, c, profile, &rc)) == NULL)
		return rc;
	return 0;
}

static int
parse_array(struct ctx *x, json_t *root, const char *key, size_t max, size_t *n)
{
	json_t *a = json_object_get(root, key);

	if (a == NULL)
		return fail(x, key, "missing");
	if (!json_is_array(a))
		return fail(x, key, "must be an array");
	if (json_array_size(a) == 0)
		return fail(x, key, "is empty");
	if (json_array_size(a) > max)
		return fail(x, key, "more than %zu entries", max);
	*n = json_array_size(a);
	return 0;
}

/*
 * "normal" (default): a power cut may lose the last committed cycle, never
 * more, and never a sequence number the receiver has seen; "full": nothing
 * committed is lost (firmware/store/store.h).
 */
static int
parse_store_sync(struct ctx *x, json_t *root, enum store_sync *dst)
{
	char v[16] = "normal";
	int rc;

	if ((rc = get_str(x, "store_sync", root, "store_sync", 0, v, sizeof(v))) < 0)
		return rc;
	if (strcmp(v, "normal") == 0)
		*dst = STORE_SYNC_NORMAL;
	else if (strcmp(v, "full") == 0)
		*dst = STORE_SYNC_FULL;
	else
		return fail(x, "store_sync", "'%s' is neither \"normal\" nor \"full\"", v);
	return 0;
}


/* ---- identity (firmware/identity, docs/identity.md) ---- */

/*
 * "identity_key": the gateway's own private key. By default it sits beside the
 * store, in the state directory: the one place that already survives updates
 * and belongs to this device alone (an image must never carry a key).
 */
static int
parse_identity(struct ctx *x, json_t *root, struct site_config *c)
{
	json_t *v = json_object_get(root, "identity_key");
	const char *slash;
	int n, rc;

	if (v != NULL && !IS_ENABLED(CONFIG_IDENTITY))
		return fail(x, "identity_key", "the device identity is not built into "
		    "this image");
	if ((rc = get_str(x, "identity_key", root, "identity_key", 0,
	    c->identity_key, sizeof(c->identity_key))) < 0)
		return rc;
	if (c->identity_key[0] != '\0')
		return 0;
	if ((slash = strrchr(c->store, '/')) == NULL)
		n = snprintf(c->identity_key, sizeof(c->identity_key), "identity.key");
	else
		n = snprintf(c->identity_key, sizeof(c->identity_key),
		    "%.*s/identity.key", (int)(slash - c->store), c->store);
	if (n < 0 || (size_t)n >= sizeof(c->identity_key))
		return fail(x, "identity_key", "the default beside the store (%s) is "
		    "longer than %zu characters: set identity_key", c->store,
		    sizeof(c->identity_key) - 1);
	return 0;
}

/* ---- end identity ---- */

static int
parse_root(struct ctx *x, json_t *root, struct site_config *c)
{
	static const char *const keys[] = { "gateway", "interval_s", "backlog_rate",
		"store", "store_sync", "store_max_mb", "store_max_days", "profiles",
		"mqtt", "buses", "devices", "uplink", "coap",
		"identity_key",
		NULL };
	json_t *v;
	size_t i, nb, nd;
	int rc;

	if (!json_is_object(root))
		return fail(x, "top level", "must be an object");
	if ((rc = check_keys(x, "top level", root, keys)) < 0 ||
	    (rc = get_str(x, "gateway", root, "gateway", 1, c->gateway,
	    sizeof(c->gateway))) < 0)
		return rc;
	if (!batch_gw_valid(c->gateway))
		return fail(x, "gateway", "'%s' may use only A-Z, a-z, 0-9, '.', '_', '-'",
		    c->gateway);
	c->interval_s = CONFIG_POLL_INTERVAL_DEFAULT;
	if ((rc = get_uint(x, "interval_s", root, "interval_s", 0, 1, 3600,
	    &c->interval_s)) < 0)
		return rc;
	c->backlog_rate = 5000;
	if ((rc = get_uint(x, "backlog_rate", root, "backlog_rate", 0, 0, 10000000,
	    &c->backlog_rate)) < 0)
		return rc;
	/* A 4 GB card: the system, two A/B images and logs leave room for this. */
	c->store_max_mb = 512;
	if ((rc = get_uint(x, "store_max_mb", root, "store_max_mb", 0, 1, 1048576,
	    &c->store_max_mb)) < 0)
		return rc;
	c->store_max_days = 365;
	if ((rc = get_uint(x, "store_max_days", root, "store_max_days", 0, 1, 3650,
	    &c->store_max_days)) < 0)
		return rc;
	if (3600 % c->interval_s != 0)
		return fail(x, "interval_s", "%u does not divide an hour, so cycles would "
		    "not align to the clock", c->interval_s);
	snprintf(c->store, sizeof(c->store), "%s/store.db", CONFIG_STATE_DIR_DEFAULT);
	snprintf(c->profiles_dir, sizeof(c->profiles_dir), "%s",
	    CONFIG_PROFILE_DIR_DEFAULT);
	if ((rc = get_str(x, "store", root, "store", 0, c->store, sizeof(c->store))) < 0 ||
	    (rc = get_str(x, "profiles", root, "profiles", 0, c->profiles_dir,
	    sizeof(c->profiles_dir))) < 0 ||
	    (rc = parse_store_sync(x, root, &c->store_sync)) < 0)
		return rc;
	if ((rc = parse_uplink(x, root, c)) < 0 ||
	    (rc = parse_identity(x, root, c)) < 0)
		return rc;
	v = json_object_get(root, "mqtt");
	if (v == NULL && uses_uplink(c, "mqtt") && IS_ENABLED(CONFIG_UPLINK_MQTT))
		return fail(x, "mqtt", "missing: no broker to send readings to");
	if (v != NULL && !IS_ENABLED(CONFIG_UPLINK_MQTT))
		return fail(x, "mqtt", "the MQTT uplink is not built into this image");
	if (v != NULL && (rc = parse_mqtt(x, v, &c->mqtt)) < 0)
		return rc;
	/*
	 * A client certificate without key_file was issued for the device's own
	 * key (from `wattgate --identity`'s CSR; docs/identity.md): that is its
	 * key. It never leaves the device, and mqtt_tls.c reads it like any key.
	 */
	if (c->mqtt.tls.cert_file[0] != '\0' && c->mqtt.tls.key_file[0] == '\0') {
		if (!IS_ENABLED(CONFIG_IDENTITY))
			return fail(x, "mqtt.tls", "'cert_file' without 'key_file' means "
			    "the device identity key, which is not built into this image");
		snprintf(c->mqtt.tls.key_file, sizeof(c->mqtt.tls.key_file), "%s",
		    c->identity_key);
	}
	if (c->mqtt.client_id[0] == '\0')
		snprintf(c->mqtt.client_id, sizeof(c->mqtt.client_id), "wattgate-%.54s",
		    c->gateway);

	if ((rc = parse_array(x, root, "buses", 64, &nb)) < 0 ||
	    (rc = parse_array(x, root, "devices", 247, &nd)) < 0)
		return rc;
	c->buses = calloc(nb, sizeof(*c->buses));
	c->devices = calloc(nd, sizeof(*c->devices));
	c->profiles = calloc(nd, sizeof(*c->profiles));
	if (c->buses == NULL || c->devices == NULL || c->profiles == NULL)
		return fail(x, "top level", "out of memory");
	for (i = 0; i < nb; i++, c->n_buses++)
		if ((rc = parse_bus(x, json_array_get(json_object_get(root, "buses"), i),
		    i, c)) < 0)
			return rc;
	for (i = 0; i < nd; i++, c->n_devices++)
		if ((rc = parse_device(x, json_array_get(json_object_get(root, "devices"),
		    i), i, c)) < 0)
			return rc;
	for (i = 0; i < c->n_buses; i++) {
		char where[64];
		size_t j;

		for (j = 0; j < c->n_devices; j++)
			if (c->devices[j].bus == i)
				break;
		if (j == c->n_devices) {
			snprintf(where, sizeof(where), "buses[%zu] (%s)", i, c->buses[i].name);
			return fail(x, where, "no device uses this bus");
		}
	}
	return 0;
}

int
config_load(const char *path, struct site_config *c, char *err, size_t errlen)
{
	struct ctx x = { .file = path, .err = err, .errlen = errlen };
	json_error_t jerr;
	json_t *root;
	int rc;

	memset(c, 0, sizeof(*c));
	if (strlen(path) >= sizeof(c->path))
		return fail(&x, "path", "too long");
	snprintf(c->path, sizeof(c->path), "%s", path);
	root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		/* jansson's position is 1-based line:column of the offending token. */
		if (jerr.line > 0)
			snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column,
			    jerr.text);
		else
			snprintf(err, errlen, "%s: %s", path, jerr.text);
		return -EINVAL;
	}
	rc = parse_root(&x, root, c);
	json_decref(root);
	if (rc < 0)
		config_free(c);
	return rc;
}

void
config_free(struct site_config *c)
{
	size_t i;

	for (i = 0; i < c->n_profiles; i++)
		profile_free(&c->profiles[i]);
	free(c->profiles);
	free(c->buses);
	free(c->devices);
	memset(c, 0, sizeof(*c));
}

int
config_schema(const struct site_config *c, struct schema *s)
{
	size_t i, j;

	memset(s, 0, sizeof(*s));
	snprintf(s->gateway, sizeof(s->gateway), "%s", c->gateway);
	if ((s->devices = calloc(c->n_devices, sizeof(*s->devices))) == NULL)
		return -ENOMEM;
	s->n_devices = c->n_devices;
	for (i = 0; i < c->n_devices; i++) {
		const struct profile *p = c->devices[i].profile;
		struct schema_device *d = &s->devices[i];

		memcpy(d->name, c->devices[i].name, sizeof(d->name));
		memcpy(d->profile, p->name, sizeof(d->profile));
		/* Derived points (charger session energy) follow the registers'. */
		d->n_points = p->n_points + p->n_derived;
		if ((d->points = calloc(d->n_points, sizeof(*d->points))) == NULL) {
			config_schema_free(s);
			return -ENOMEM;
		}
		for (j = 0; j < p->n_points; j++) {
			memcpy(d->points[j].name, p->points[j].name, sizeof(d->points[j].name));
			memcpy(d->points[j].unit, p->points[j].unit, sizeof(d->points[j].unit));
		}
		for (j = 0; j < p->n_derived; j++) {
			memcpy(d->points[p->n_points + j].name, p->derived[j].name,
			    sizeof(d->points[0].name));
			memcpy(d->points[p->n_points + j].unit, p->derived[j].unit,
			    sizeof(d->points[0].unit));
		}
	}
	return 0;
}

void
config_schema_free(struct schema *s)
{
	size_t i;

	for (i = 0; i < s->n_devices; i++)
		free(s->devices[i].points);
	free(s->devices);
	memset(s, 0, sizeof(*s));
}
