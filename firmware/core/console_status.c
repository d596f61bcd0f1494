/*
 * status, devices and uplink (docs/console.md, "Commands"): what a
 * technician checks first. All from memory, plus two indexed store queries
 * (its counts and its oldest batch): nothing waits on a bus or the network.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "firmware/base/clock.h"
#include "firmware/core/console_info.h"
#include "firmware/core/console_srv.h"
#include "firmware/core/gateway_internal.h"
#include "firmware/store/store_journal.h"
#include "firmware/uplink/coap_config.h"
#include "firmware/uplink/failover_config.h"
#include "firmware/uplink/mqtt_config.h"

/* Seconds since this process started (field 22 of /proc/self/stat: its
 * start in clock ticks after boot); 0 if unknown. */
static int64_t
uptime_s(void)
{
	static int64_t started_ms = -1;
	unsigned long long ticks;
	long hz = sysconf(_SC_CLK_TCK);
	struct timespec ts;
	char buf[1024], *p;
	FILE *f;

	if (started_ms < 0 && hz > 0 && (f = fopen("/proc/self/stat", "r")) != NULL) {
		if (fgets(buf, sizeof(buf), f) != NULL &&
		    (p = strrchr(buf, ')')) != NULL && sscanf(p + 2, "%*c %*d %*d "
		    "%*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d "
		    "%*d %llu", &ticks) == 1)
			started_ms = (int64_t)(ticks * 1000ULL / (unsigned long long)hz);
		fclose(f);
	}
	if (started_ms < 0 || clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
		return 0;
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 - started_ms) / 1000;
}

static json_t *
env_or_null(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' ? console_json_text(v) : json_null();
}

/* Where the uplink conf sends: "host:port", the CoAP URI. */
static void
server_of(const struct uplink_conf *uc, char *buf, size_t len)
{
	const struct mqtt_cfg *m;
	const struct coap_cfg *c;

	buf[0] = '\0';
	if (uc == NULL || uc->ops == NULL)
		return;
	if (strcmp(uc->ops->name, "mqtt") == 0 && (m = uc->cfg) != NULL)
		snprintf(buf, len, "%.128s:%u", m->host, m->port);
	else if (strcmp(uc->ops->name, "coap") == 0 && (c = uc->cfg) != NULL)
		snprintf(buf, len, "%.200s", c->uri);
}

static json_t *
uplink_brief(struct gateway *g)
{
	const struct uplink_conf *uc = config_uplink(g->cfg);
	const struct failover_cfg *fo;
	char server[300], a[300], b[300];

	server_of(uc, server, sizeof(server));
	if (uc != NULL && strcmp(uc->ops->name, "failover") == 0 &&
	    (fo = uc->cfg) != NULL) {
		server_of(&fo->primary, a, sizeof(a));
		server_of(&fo->fallback, b, sizeof(b));
		snprintf(server, sizeof(server), "%.140s, fallback %.140s", a, b);
	}
	return json_pack("{s:s, s:o, s:b}", "kind", uc ? uc->ops->name : "none",
	    "server", console_json_text(server), "connected",
	    forward_connected(g->fwd));
}

/* Age of the oldest reading the platform has not acknowledged; null: none. */
static json_t *
oldest_unsent(struct gateway *g, int64_t wall)
{
	struct store_batch b;

	if (!clock_wall_valid(wall) || store_peek(g->store, 0, &b) < 0 ||
	    !clock_wall_valid(b.t_first))
		return json_null();
	return json_integer(wall > b.t_first ? (wall - b.t_first) / 1000 : 0);
}

static json_t *
store_brief(struct gateway *g, int64_t wall)
{
	struct store_stats st;
	uint64_t results = 0;
	json_t *o;

	if (store_stats(g->store, &st) < 0)
		return json_pack("{s:s}", "error", g->store->err);
	/* The journal's tables exist only once the control plane made them. */
	if (g->ctl != NULL && store_result_count(g->store, &results) < 0)
		results = 0;
	o = json_pack("{s:I, s:I, s:I, s:o}", "batches", (json_int_t)st.batches,
	    "readings", (json_int_t)st.readings, "results", (json_int_t)results,
	    "oldest_unsent_s", oldest_unsent(g, wall));
	return o;
}

static json_t *
drops(struct gateway *g)
{
	struct store_drops d;
	json_t *o = json_object();
	int i;

	report_hand_over_drops(g);
	store_drops(g->store, &d);
	for (i = 0; i < STORE_DROP_CAUSES; i++)
		json_object_set_new(o, store_drop_name(i),
		    json_integer((json_int_t)d.c[i].readings));
	return o;
}

static int
answering(const struct health_snap *s)
{
	return s->h.polls > 0 && s->err == 0 && s->fails == 0;
}

/* Each device's health as its bus last finished; NULL: out of memory. */
static struct health_snap *
snapshot(struct gateway *g)
{
	size_t n = g->cfg->n_devices;
	struct health_snap *s = calloc(n ? n : 1, sizeof(*s));

	if (s != NULL && g->pollers != NULL)
		pollers_health(g->pollers, g->devs, n, s);
	return s;
}

int
console_run_status(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	struct gateway *g = cs->g;
	struct health_snap *s = snapshot(g);
	struct clock_pair now;
	size_t i, ok = 0;

	if (s == NULL) {
		console_err(cl, rq->id, "status: out of memory");
		return CCMD_DONE;
	}
	for (i = 0; i < g->cfg->n_devices; i++)
		ok += answering(&s[i]);
	free(s);
	clock_read(&now);
	console_ok(cl, rq->id, json_pack("{s:s, s:o, s:o, s:I, s:b, s:I, s:o, s:o, "
	    "s:o, s:{s:I, s:I}}", "version", WG_VERSION,
	    "slot", env_or_null("WATTGATE_SLOT"),
	    "image_version", env_or_null("WATTGATE_IMAGE_VERSION"),
	    "uptime_s", (json_int_t)uptime_s(),
	    "clock_synced", clock_wall_valid(now.wall),
	    "wall_ms", (json_int_t)now.wall,
	    "uplink", uplink_brief(g),
	    "store", store_brief(g, now.wall),
	    "drops", drops(g),
	    "devices", "total", (json_int_t)g->cfg->n_devices,
	    "answering", (json_int_t)ok));
	return CCMD_DONE;
}

static json_t *
device_json(struct gateway *g, size_t i, const struct health_snap *s)
{
	const struct cfg_device *d = &g->cfg->devices[i];
	const struct device_health *h = &s->h;
	char last[128];

	if (h->polls == 0)
		snprintf(last, sizeof(last), "not polled yet");
	else if (s->err == 0)
		snprintf(last, sizeof(last), "ok");
	else
		snprintf(last, sizeof(last), "%s", strerror(-s->err));
	return json_pack("{s:s, s:s, s:i, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:s}",
	    "name", d->name, "bus", g->cfg->buses[d->bus].name, "unit", d->unit,
	    "profile", d->profile != NULL ? d->profile->name : "",
	    "answering", answering(s),
	    "polls", (json_int_t)h->polls, "ok", (json_int_t)h->ok,
	    "timeouts", (json_int_t)h->timeouts,
	    "fails", (json_int_t)(h->crc_errors + h->io_errors + h->exceptions),
	    "in_a_row", (json_int_t)s->fails, "last", last);
}

int
console_run_devices(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	struct gateway *g = cs->g;
	struct health_snap *s = snapshot(g);
	json_t *list = json_array();
	size_t i;

	if (s == NULL || list == NULL) {
		free(s);
		json_decref(list);
		console_err(cl, rq->id, "devices: out of memory");
		return CCMD_DONE;
	}
	for (i = 0; i < g->cfg->n_devices; i++)
		json_array_append_new(list, device_json(g, i, &s[i]));
	free(s);
	console_ok(cl, rq->id, json_pack("{s:o}", "devices", list));
	return CCMD_DONE;
}

int
console_run_uplink(struct console *cs, struct console_client *cl,
    const struct console_req *rq)
{
	struct gateway *g = cs->g;
	const struct uplink_conf *uc = config_uplink(g->cfg);
	const struct failover_cfg *fo;
	struct forward_counts fc = { 0 };
	json_t *o = uplink_brief(g);
	char a[300];

	if (g->fwd != NULL)
		forward_counts(g->fwd, &fc);
	json_object_set_new(o, "inflight", json_integer(forward_inflight(g->fwd)));
	json_object_set_new(o, "sent", json_integer((json_int_t)fc.sent));
	json_object_set_new(o, "acked", json_integer((json_int_t)fc.acked));
	json_object_set_new(o, "set_aside", json_integer((json_int_t)fc.errors));
	json_object_set_new(o, "splits", json_integer((json_int_t)fc.splits));
	json_object_set_new(o, "gateway", json_string(g->cfg->gateway));
	json_object_set_new(o, "commands", json_boolean(g->ctl != NULL));
	if (uc != NULL && strcmp(uc->ops->name, "failover") == 0 &&
	    (fo = uc->cfg) != NULL) {
		server_of(&fo->primary, a, sizeof(a));
		json_object_set_new(o, "primary", json_pack("{s:s, s:o}", "kind",
		    fo->primary.ops->name, "server", console_json_text(a)));
		server_of(&fo->fallback, a, sizeof(a));
		json_object_set_new(o, "fallback", json_pack("{s:s, s:o}", "kind",
		    fo->fallback.ops->name, "server", console_json_text(a)));
		json_object_set_new(o, "failover_s", json_integer(fo->failover_s));
	}
	console_ok(cl, rq->id, o);
	return CCMD_DONE;
}
