#include "firmware/core/config.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firmware/base/jcheck.h"
#include "firmware/base/kconfig.h"
#include "firmware/base/rfile.h"
#include "firmware/core/config_internal.h"

/*
 * "normal" (default): a power cut may lose the last committed cycle, never
 * more, and never a sequence number the receiver has seen; "full": nothing
 * committed is lost (firmware/store/store.h).
 */
static int
parse_store_sync(struct jc *x, json_t *root, enum store_sync *dst)
{
	char v[16] = "normal";
	int rc;

	if ((rc = jc_get_str(x, root, "", "store_sync", 0, v, sizeof(v))) < 0)
		return rc;
	if (strcmp(v, "normal") == 0)
		*dst = STORE_SYNC_NORMAL;
	else if (strcmp(v, "full") == 0)
		*dst = STORE_SYNC_FULL;
	else
		return jc_fail(x, "store_sync", "'%s' is neither \"normal\" nor "
		    "\"full\"", v);
	return 0;
}

/*
 * "store": the database file, in a state directory of its own: SQLite puts
 * its -wal and -journal beside it, the store its reserve, and the identity
 * key goes there by default. A directory ("/tmp" once put the private key at
 * /identity.key), a device ("/dev/zero" made a 0666 /dev/zero-journal) or
 * a file in / passed --check and failed, or worse, at start: refused here.
 */
static int
check_store_path(struct jc *x, const struct site_config *c)
{
	const char *slash = strrchr(c->store, '/');
	const char *base = slash != NULL ? slash + 1 : c->store;
	struct stat st;
	int e = stat(c->store, &st) == 0 ? 0 : errno;

	if (e == 0 && !S_ISREG(st.st_mode))
		return jc_fail(x, "store", "%s is %s, not a database file (e.g. "
		    "%s/store.db)", c->store, rfile_kind(st.st_mode),
		    CONFIG_STATE_DIR_DEFAULT);
	if (e == ENOTDIR)
		return jc_fail(x, "store", "%s: a part of the path is not a "
		    "directory", c->store);
	if (*base == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return jc_fail(x, "store", "'%s' names a directory, not a database "
		    "file (e.g. %s/store.db)", c->store, CONFIG_STATE_DIR_DEFAULT);
	if (slash == c->store)
		return jc_fail(x, "store", "%s is in the root directory: the store "
		    "needs a state directory of its own (its journals and the "
		    "identity key go beside it)", c->store);
	return 0;
}

/*
 * "identity_key": the gateway's own private key (firmware/identity,
 * docs/identity.md). By default it sits beside the store, in the state
 * directory: the one place that already survives updates and belongs to this
 * device alone (an image must never carry a key).
 */
static int
parse_identity(struct jc *x, json_t *root, struct site_config *c)
{
	json_t *v = json_object_get(root, "identity_key");
	const char *slash;
	int n, rc;

	if (v != NULL && !IS_ENABLED(CONFIG_IDENTITY))
		return jc_fail(x, "identity_key", "the device identity is not built "
		    "into this image");
	if ((rc = jc_get_str(x, root, "", "identity_key", 0, c->identity_key,
	    sizeof(c->identity_key))) < 0)
		return rc;
	if (c->identity_key[0] != '\0' || !IS_ENABLED(CONFIG_IDENTITY))
		return 0;
	if ((slash = strrchr(c->store, '/')) == NULL)
		n = snprintf(c->identity_key, sizeof(c->identity_key), "identity.key");
	else
		n = snprintf(c->identity_key, sizeof(c->identity_key),
		    "%.*s/identity.key", (int)(slash - c->store), c->store);
	if (n < 0 || (size_t)n >= sizeof(c->identity_key))
		return jc_fail(x, "identity_key", "the default beside the store (%s) "
		    "is longer than %zu characters: set identity_key", c->store,
		    sizeof(c->identity_key) - 1);
	return 0;
}

/* One uplink's section, parsed by the uplink (uplink.h) into c->uplinks. */
static int
parse_section(struct jc *x, json_t *v, const struct uplink_ops *ops,
    struct site_config *c)
{
	struct uplink_site site;
	struct uplink_conf *u = &c->uplinks[c->n_uplinks];
	int rc;

	if (c->n_uplinks == CFG_UPLINKS_MAX)
		return jc_fail(x, ops->name, "more than %d uplinks", CFG_UPLINKS_MAX);
	if ((u->cfg = calloc(1, ops->cfg_size)) == NULL)
		return jc_fail(x, ops->name, "out of memory");
	u->ops = ops;
	c->n_uplinks++;
	config_uplink_site(c, &site);
	if ((rc = ops->parse(x, v, &site, c->uplinks, c->n_uplinks - 1,
	    u->cfg)) < 0)
		return rc;
	return 0;
}

/*
 * "uplink" chooses what carries the data: a name ("mqtt", the default, or
 * "coap"), or an object, the failover's section (a primary and a fallback).
 * Every uplink's section present is parsed by that uplink, used or not, so
 * --check finds a mistake in either; the chosen one must have its section.
 */
static int
parse_uplinks(struct jc *x, json_t *root, struct site_config *c)
{
	const struct uplink_ops *ops, *chosen;
	json_t *choice = json_object_get(root, "uplink"), *v;
	char name[16] = "mqtt", shown[20];
	const char *known;
	size_t i;
	int rc;

	/* First what carries the data: a choice this image cannot make is the news. */
	if (json_is_object(choice)) {
		strcpy(name, "failover");
	} else if ((rc = jc_get_str(x, root, "", "uplink", 0, name,
	    sizeof(name))) < 0) {
		return rc;
	} else {
		jc_shown(name, shown, sizeof(shown));
		for (i = 0; (known = uplink_known(i, &ops)) != NULL; i++)
			if (strcmp(known, name) == 0 && strcmp(known, "failover") != 0)
				break;
		if (known == NULL)
			return jc_fail(x, "uplink", "'%s' is neither \"mqtt\" nor "
			    "\"coap\"", shown);
	}
	if ((chosen = uplink_find(name)) == NULL)
		return jc_fail(x, choice != NULL ? "uplink" : name, "the %s uplink is "
		    "not built into this image%s", uplink_title(name), choice != NULL ?
		    "" : " (\"uplink\" is not given: the default is \"mqtt\")");
	/* Then every section present, the failover's (the choice) last. */
	for (i = 0; (known = uplink_known(i, &ops)) != NULL; i++) {
		if (strcmp(known, "failover") == 0)
			continue;	/* its section is "uplink" itself */
		if ((v = json_object_get(root, known)) == NULL)
			continue;
		if (ops == NULL)
			return jc_fail(x, known, "the %s uplink is not built into this "
			    "image", uplink_title(known));
		if ((rc = parse_section(x, v, ops, c)) < 0)
			return rc;
	}
	if (json_is_object(choice)) {
		if ((rc = parse_section(x, choice, chosen, c)) < 0)
			return rc;
		c->uplink = c->n_uplinks - 1;
		return 0;
	}
	for (i = 0; i < c->n_uplinks; i++)
		if (c->uplinks[i].ops == chosen)
			break;
	if (i == c->n_uplinks)
		return jc_fail(x, name, "missing: %s\"uplink\" is \"%s\", which needs "
		    "its \"%s\" section", choice != NULL ? "" :
		    "no broker to send readings to: ", name, name);
	c->uplink = i;
	if (c->control.enabled && c->uplinks[i].ops->send_result == NULL)
		return jc_fail(x, "control", "the %s uplink carries no commands in "
		    "this build (docs/commands.md)", c->uplinks[i].ops->name);
	return 0;
}

/* The keys of the top level: ours, and every uplink's section. */
static int
check_root_keys(struct jc *x, json_t *root)
{
	static const char *const ours[] = { "gateway", "interval_s",
		"backlog_rate", "store", "store_sync", "store_max_mb",
		"store_max_days", "profiles", "buses", "devices", "uplink",
		"identity_key", "control", "ota", "console" };
	const char *keys[sizeof(ours) / sizeof(ours[0]) + CFG_UPLINKS_MAX + 1];
	const struct uplink_ops *ops;
	size_t i, n = 0;

	for (i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		keys[n++] = ours[i];
	for (i = 0; n + 1 < sizeof(keys) / sizeof(keys[0]) &&
	    (keys[n] = uplink_known(i, &ops)) != NULL; i++)
		n++;
	keys[n] = NULL;
	return jc_check_keys(x, root, "", keys);
}

static int
parse_root(struct jc *x, json_t *root, struct site_config *c)
{
	int rc;

	if ((rc = jc_object(x, root, "")) < 0 ||
	    (rc = check_root_keys(x, root)) < 0 ||
	    (rc = jc_get_str(x, root, "", "gateway", JC_REQUIRED, c->gateway,
	    sizeof(c->gateway))) < 0)
		return rc;
	if (!batch_gw_valid(c->gateway))
		return jc_fail(x, "gateway", "'%s' may use only A-Z, a-z, 0-9, '.', "
		    "'_', '-'", c->gateway);
	c->interval_s = CONFIG_POLL_INTERVAL_DEFAULT;
	c->backlog_rate = 5000;
	/* A 4 GB card: the system, two A/B images and logs leave room for this. */
	c->store_max_mb = 512;
	c->store_max_days = 365;
	if ((rc = jc_get_uint(x, root, "", "interval_s", 0, 1, 3600,
	    &c->interval_s)) < 0 ||
	    (rc = jc_get_uint(x, root, "", "backlog_rate", 0, 0, 10000000,
	    &c->backlog_rate)) < 0 ||
	    (rc = jc_get_uint(x, root, "", "store_max_mb", 0, 1, 1048576,
	    &c->store_max_mb)) < 0 ||
	    (rc = jc_get_uint(x, root, "", "store_max_days", 0, 1, 3650,
	    &c->store_max_days)) < 0)
		return rc;
	if (3600 % c->interval_s != 0)
		return jc_fail(x, "interval_s", "%u does not divide an hour, so "
		    "cycles would not align to the clock", c->interval_s);
	snprintf(c->store, sizeof(c->store), "%s/store.db", CONFIG_STATE_DIR_DEFAULT);
	config_profiles_default(c->profiles_dir, sizeof(c->profiles_dir));
	if ((rc = jc_get_str(x, root, "", "store", 0, c->store,
	    sizeof(c->store))) < 0 ||
	    (rc = jc_get_str(x, root, "", "profiles", 0, c->profiles_dir,
	    sizeof(c->profiles_dir))) < 0 ||
	    (rc = check_store_path(x, c)) < 0 ||
	    (rc = parse_store_sync(x, root, &c->store_sync)) < 0 ||
	    (rc = parse_identity(x, root, c)) < 0 ||
	    (rc = config_parse_control(x, root, c)) < 0 ||
	    (rc = config_parse_ota(x, root, c)) < 0 ||
	    (rc = config_parse_console(x, root, c)) < 0 ||
	    (rc = parse_uplinks(x, root, c)) < 0)
		return rc;
	return config_parse_devices(x, root, c);
}

/* Either a file (text NULL) or a document in memory, named path in errors. */
static int
load(const char *path, const char *text, size_t len, struct site_config *c,
    char *err, size_t errlen)
{
	struct jc x = { .file = path, .err = err, .errlen = errlen };
	json_t *root;
	int rc;

	memset(c, 0, sizeof(*c));
	if (strlen(path) >= sizeof(c->path)) {
		snprintf(err, errlen, "%.64s...: path longer than %zu bytes", path,
		    sizeof(c->path) - 1);
		return -EINVAL;
	}
	snprintf(c->path, sizeof(c->path), "%s", path);
	if ((rc = text != NULL ? jc_parse(&x, text, len, &root) :
	    jc_load(&x, CFG_FILE_MAX, &root)) < 0)
		return rc;
	rc = parse_root(&x, root, c);
	json_decref(root);
	if (rc < 0)
		config_free(c);
	return rc;
}

int
config_load(const char *path, struct site_config *c, char *err, size_t errlen)
{
	return load(path, NULL, 0, c, err, errlen);
}

int
config_parse(const char *name, const char *text, size_t len,
    struct site_config *c, char *err, size_t errlen)
{
	if (len > CFG_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", name, CFG_FILE_MAX);
		return -EFBIG;
	}
	return load(name, text, len, c, err, errlen);
}

void
config_free(struct site_config *c)
{
	size_t i;

	for (i = 0; i < c->n_profiles; i++)
		profile_free(&c->profiles[i]);
	for (i = 0; i < c->n_uplinks; i++)
		free(c->uplinks[i].cfg);
	free(c->control.key_pem);
	free(c->profiles);
	free(c->buses);
	free(c->devices);
	memset(c, 0, sizeof(*c));
}

void
config_profiles_default(char *dst, size_t len)
{
	char exe[CFG_PATH_MAX], *slash;
	ssize_t n;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0 && (size_t)n < sizeof(exe) - 1) {
		exe[n] = '\0';
		if ((slash = strrchr(exe, '/')) != NULL) {
			*slash = '\0';
			if (snprintf(dst, len, "%s/%s", exe, WG_PROFILE_REL) < (int)len &&
			    access(dst, R_OK | X_OK) == 0)
				return;
		}
	}
	snprintf(dst, len, "%s", WG_PROFILE_DIR);
}

void
config_uplink_site(const struct site_config *c, struct uplink_site *out)
{
	memset(out, 0, sizeof(*out));
	out->gateway = c->gateway;
	out->identity_key = c->identity_key;
	out->commands = c->control.enabled;
	out->command_poll_s = c->control.poll_s;
}

const struct uplink_conf *
config_uplink(const struct site_config *c)
{
	return c->n_uplinks > 0 ? &c->uplinks[c->uplink] : NULL;
}

const void *
config_uplink_cfg(const struct site_config *c, const char *name)
{
	const struct uplink_conf *u = uplink_conf_find(c->uplinks, c->n_uplinks,
	    name);

	return u != NULL ? u->cfg : NULL;
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
