/*
 * wattgate scan: probe unit ids on one bus, identify what answers with the
 * shipped profiles, print the site config's "buses"/"devices" entries.
 *
 * Two passes so that a bus of 247 ids stays fast: first one one-register
 * read per id with a short timeout (an absent id costs exactly that timeout),
 * then the full identification (every profile's plan) only for the ids that
 * answered. The technician pastes the snippet; nothing is written anywhere.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "drivers/bus/bus.h"
#include "drivers/identify.h"
#include "drivers/profile.h"
#include "firmware/core/config.h"
#include "firmware/core/scan.h"
#include "wg_config.h"

#define SCAN_TIMEOUT_DEFAULT 100	/* ms per probe; docs/scan.md */
#define SCAN_TIMEOUT_MIN 10
#define SCAN_TIMEOUT_MAX 10000
#define POLL_TIMEOUT_MS 500		/* what the snippet's bus polls with */

struct scan_opts {
	struct bus_cfg bus;
	int from, to;
	const char *profiles;
	char profiles_buf[256];	/* the default (config_profiles_default) */
};

/* A progress line, if there is anywhere to say it. */
static void __attribute__((format(printf, 2, 3)))
say(FILE *pr, const char *fmt, ...)
{
	va_list ap;

	if (pr == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(pr, fmt, ap);
	va_end(ap);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: wattgate scan PORT [--baud N] [--parity N|E|O] "
	    "[--data-bits 7|8] [--stop-bits 1|2]\n"
	    "           [--units FROM-TO] [--timeout MS] [--profiles DIR]\n"
	    "       PORT: a serial device (/dev/ttyUSB0) or Modbus TCP "
	    "HOST:PORT ([::1]:502)\n");
}

/* A whole decimal number in [min, max], or -1. */
static long
number(const char *s, long min, long max)
{
	char *end;
	long v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	return v;
}

/* "HOST:PORT" or "[V6]:PORT" into cfg; 0 or -1. */
static int
parse_tcp(const char *s, struct bus_cfg *cfg)
{
	const char *colon, *host = s;
	size_t hlen;
	long port;

	if (*s == '[') {
		if ((colon = strstr(s, "]:")) == NULL)
			return -1;
		host = s + 1;
		hlen = (size_t)(colon - host);
		colon++;
	} else {
		if ((colon = strrchr(s, ':')) == NULL)
			return -1;
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0 || hlen >= sizeof(cfg->host) ||
	    (port = number(colon + 1, 1, 65535)) < 0)
		return -1;
	memcpy(cfg->host, host, hlen);
	cfg->host[hlen] = '\0';
	cfg->kind = BUS_TCP;
	cfg->port = (unsigned)port;
	return 0;
}

/* "FROM-TO" or "N". */
static int
parse_units(const char *s, int kind, int *from, int *to)
{
	char buf[16], *dash;
	long lo = kind == BUS_TCP ? 0 : 1, hi = kind == BUS_TCP ? 255 : 247;
	long a, b;

	if (strlen(s) >= sizeof(buf))
		return -1;
	strcpy(buf, s);
	if ((dash = strchr(buf, '-')) != NULL)
		*dash++ = '\0';
	a = number(buf, lo, hi);
	b = dash != NULL ? number(dash, lo, hi) : a;
	if (a < 0 || b < 0 || b < a)
		return -1;
	*from = (int)a;
	*to = (int)b;
	return 0;
}

static int
parse_args(int argc, char *argv[], struct scan_opts *o)
{
	static const struct option opts[] = {
		{ "baud", required_argument, NULL, 'b' },
		{ "parity", required_argument, NULL, 'p' },
		{ "data-bits", required_argument, NULL, 'd' },
		{ "stop-bits", required_argument, NULL, 's' },
		{ "units", required_argument, NULL, 'u' },
		{ "timeout", required_argument, NULL, 't' },
		{ "profiles", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *units = NULL, *port, *what = "";
	long v;
	int ch;

	memset(o, 0, sizeof(*o));
	o->bus.baud = 9600;
	o->bus.parity = 'N';
	o->bus.data_bits = 8;
	o->bus.stop_bits = 1;
	o->bus.timeout_ms = SCAN_TIMEOUT_DEFAULT;
	config_profiles_default(o->profiles_buf, sizeof(o->profiles_buf));
	o->profiles = o->profiles_buf;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		for (v = 0; opts[v].name != NULL; v++)
			if (opts[v].val == ch)
				what = opts[v].name;
		switch (ch) {
		case 'b':
			/* bus_open() refuses rates libmodbus cannot set. */
			if ((v = number(optarg, 1, 4000000)) < 0)
				goto bad;
			o->bus.baud = (unsigned)v;
			break;
		case 'p':
			if (strlen(optarg) != 1 || strchr("NEO", optarg[0]) == NULL)
				goto bad;
			o->bus.parity = optarg[0];
			break;
		case 'd':
			if ((v = number(optarg, 7, 8)) < 0)
				goto bad;
			o->bus.data_bits = (unsigned)v;
			break;
		case 's':
			if ((v = number(optarg, 1, 2)) < 0)
				goto bad;
			o->bus.stop_bits = (unsigned)v;
			break;
		case 'u':
			units = optarg;
			break;
		case 't':
			if ((v = number(optarg, SCAN_TIMEOUT_MIN,
			    SCAN_TIMEOUT_MAX)) < 0)
				goto bad;
			o->bus.timeout_ms = (unsigned)v;
			break;
		case 'P':
			o->profiles = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return -1;
	}
	port = argv[optind];
	/* A path has a slash; a TCP endpoint has a colon and no slash. */
	if (strchr(port, '/') == NULL && strchr(port, ':') != NULL) {
		if (parse_tcp(port, &o->bus) < 0) {
			fprintf(stderr, "wattgate scan: '%s': expected HOST:PORT "
			    "with port 1..65535\n", port);
			return -1;
		}
	} else {
		if (strlen(port) >= sizeof(o->bus.device) || port[0] == '\0') {
			fprintf(stderr, "wattgate scan: serial port: empty or "
			    "too long\n");
			return -1;
		}
		o->bus.kind = BUS_RTU;
		strcpy(o->bus.device, port);
	}
	o->from = 1;
	o->to = 247;
	if (units != NULL && parse_units(units, o->bus.kind, &o->from,
	    &o->to) < 0) {
		fprintf(stderr, "wattgate scan: --units '%s': expected FROM-TO "
		    "within %s, FROM <= TO\n", units,
		    o->bus.kind == BUS_TCP ? "0..255" : "1..247");
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "wattgate scan: --%s '%s': invalid value\n", what,
	    optarg);
	return -1;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct profile *)a)->name,
	    ((const struct profile *)b)->name);
}

/* Every PROFILE.json in dir, sorted by name. A broken profile is an error, as at start. */
int
scan_load_profiles(const char *dir, struct profile *ps, size_t *n, char *err,
    size_t errlen)
{
	char name[READING_NAME_MAX + 8];
	struct dirent *de;
	size_t len;
	DIR *d;
	int rc = 0;

	*n = 0;
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		if (len - 5 > READING_NAME_MAX || *n == SCAN_PROFILES_MAX) {
			snprintf(err, errlen, "%s/%s: name too long or too many "
			    "profiles", dir, de->d_name);
			rc = -1;
			break;
		}
		memcpy(name, de->d_name, len - 5);
		name[len - 5] = '\0';
		if (profile_load_named(dir, name, &ps[*n], err, errlen) < 0) {
			rc = -1;
			break;
		}
		(*n)++;
	}
	closedir(d);
	if (rc == 0 && *n == 0) {
		snprintf(err, errlen, "%s: no profiles", dir);
		rc = -1;
	}
	qsort(ps, *n, sizeof(ps[0]), by_name);
	return rc;
}

static json_t *
bus_json(const struct bus_cfg *c)
{
	char parity[2] = { c->parity, '\0' };

	if (c->kind == BUS_TCP)
		return json_pack("{s:s, s:s, s:s, s:I, s:I}", "name", "lan",
		    "type", "tcp", "host", c->host, "port", (json_int_t)c->port,
		    "timeout_ms", (json_int_t)POLL_TIMEOUT_MS);
	return json_pack("{s:s, s:s, s:s, s:I, s:s, s:I, s:I, s:I}",
	    "name", "rs485", "type", "rtu", "device", c->device,
	    "baud", (json_int_t)c->baud, "parity", parity,
	    "data_bits", (json_int_t)c->data_bits,
	    "stop_bits", (json_int_t)c->stop_bits,
	    "timeout_ms", (json_int_t)POLL_TIMEOUT_MS);
}

/*
 * The fitting profile's info strings (serial number, firmware), for the
 * technician's notes; one request each. A string that cannot be read is
 * reported as such and does not change the result.
 */
static void
print_info(FILE *pr, struct bus *b, int unit, const struct profile *p)
{
	char s[PROFILE_INFO_CHARS + 1];
	size_t i;
	int rc;

	for (i = 0; i < p->n_info; i++) {
		if ((rc = identify_info(b, unit, p, i, s, sizeof(s))) == 0)
			say(pr, "scan: unit %d: %s '%s'\n", unit, p->info[i].name, s);
		else
			say(pr, "scan: unit %d: %s: not readable (%s)\n", unit,
			    p->info[i].name, strerror(-rc));
	}
}

/* Identify one unit that answered; add it to devices. 1 found, 0 not, <0. */
static int
identify(FILE *pr, struct bus *b, int unit, const struct profile *ps, size_t n,
    const char *busname, json_t *devices)
{
	struct identify_fit fits[4];
	char name[READING_NAME_MAX + 8];
	int nfit, i;

	nfit = identify_unit(b, unit, ps, n, fits, 4);
	if (nfit < 0) {
		say(pr, "wattgate scan: unit %d: %s\n", unit,
		    strerror(-nfit));
		return nfit;
	}
	if (nfit == 0) {
		say(pr, "scan: unit %d answers, but no known profile "
		    "fits; left out\n", unit);
		return 0;
	}
	say(pr, "scan: unit %d: %s (%s), %u points valid\n", unit,
	    ps[fits[0].profile].name, ps[fits[0].profile].model,
	    fits[0].score);
	for (i = 1; i < nfit && i < 4; i++) {
		if (fits[i].score == fits[0].score)
			say(pr, "scan: unit %d: %s fits as well; check "
			    "the device's label\n", unit,
			    ps[fits[i].profile].name);
	}
	print_info(pr, b, unit, &ps[fits[0].profile]);
	/* profile_unit, the profile name cut so it fits the config's limit. */
	snprintf(name, sizeof(name), "_%d", unit);
	snprintf(name, sizeof(name), "%.*s_%d",
	    (int)(READING_NAME_MAX - strlen(name)), ps[fits[0].profile].name,
	    unit);
	if (json_array_append_new(devices, json_pack("{s:s, s:s, s:i, s:s}",
	    "name", name, "bus", busname, "unit", unit,
	    "profile", ps[fits[0].profile].name)) < 0)
		return -ENOMEM;
	return 1;
}

/*
 * Probe from..to on the open bus b and identify what answers; the config
 * snippet ({"buses": [...], "devices": [...]}) in *out. Progress lines go
 * to pr (NULL: none). 0 with *found identified units, or -errno.
 */
int
scan_bus(struct bus *b, const struct bus_cfg *cfg, int from, int to,
    const struct profile *ps, size_t n, FILE *pr, json_t **out, int *found)
{
	return scan_bus_until(b, cfg, from, to, ps, n, pr, out, found, NULL, NULL);
}

int
scan_bus_until(struct bus *b, const struct bus_cfg *cfg, int from, int to,
    const struct profile *ps, size_t n, FILE *pr, json_t **out, int *found,
    int (*cancel)(void *), void *arg)
{
	json_t *root, *devices;
	int unit, rc, answered = 0;
	unsigned total = (unsigned)(to - from + 1);

	*found = 0;
	if ((root = json_pack("{s:[o], s:[]}", "buses", bus_json(cfg),
	    "devices")) == NULL)
		return -ENOMEM;
	devices = json_object_get(root, "devices");
	say(pr, "scan: %s, units %d..%d, %u ms per probe: at most %u s for the "
	    "ids that do not answer\n", bus_name(b), from, to, cfg->timeout_ms,
	    (total * cfg->timeout_ms + 999) / 1000);
	for (unit = from; unit <= to; unit++) {
		if (cancel != NULL && cancel(arg)) {
			json_decref(root);
			return -ECANCELED;
		}
		rc = identify_probe(b, unit);
		if (rc == 0) {
			if ((unit - from + 1) % 32 == 0)
				say(pr, "scan: %d/%u ids probed\n", unit - from + 1,
				    total);
			continue;
		}
		answered++;
		if (rc < 0)
			say(pr, "scan: unit %d: garbled answer (two devices with "
			    "this id, or wrong line settings?)\n", unit);
		rc = identify(pr, b, unit, ps, n, cfg->kind == BUS_TCP ? "lan" :
		    "rs485", devices);
		if (rc < 0) {
			json_decref(root);
			return rc;
		}
		*found += rc;
	}
	say(pr, "scan: done: %d unit(s) answered, %d identified\n", answered,
	    *found);
	*out = root;
	return 0;
}

static int
run(const struct scan_opts *o, const struct profile *ps, size_t n)
{
	json_t *root = NULL;
	struct bus *b = NULL;
	char err[256], *out;
	int found = 0, status = 1;

	if (bus_open(&o->bus, &b, err, sizeof(err)) < 0 ||
	    bus_connect(b, err, sizeof(err)) < 0) {
		fprintf(stderr, "wattgate scan: %s\n", err);
		goto out;
	}
	if (scan_bus(b, &o->bus, o->from, o->to, ps, n, stderr, &root, &found) < 0 ||
	    found == 0)
		goto out;
	if ((out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) ==
	    NULL)
		goto out;
	printf("%s\n", out);
	free(out);
	status = fflush(stdout) == 0 ? 0 : 1;
out:
	json_decref(root);
	bus_close(b);
	return status;
}

int
scan_main(int argc, char *argv[])
{
	struct profile *ps;
	struct scan_opts o;
	char err[512];
	size_t n = 0, i;
	int status = 1;

	if (parse_args(argc, argv, &o) < 0)
		return 2;
	if ((ps = calloc(SCAN_PROFILES_MAX, sizeof(*ps))) == NULL)
		return 1;
	if (scan_load_profiles(o.profiles, ps, &n, err, sizeof(err)) == 0)
		status = run(&o, ps, n);
	else
		fprintf(stderr, "wattgate scan: %s\n", err);
	for (i = 0; i < n; i++)
		profile_free(&ps[i]);
	free(ps);
	return status;
}
