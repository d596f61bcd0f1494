/*
 * Health metrics. One message holds everything, because the metrics topic is
 * retained: a second kind of message would overwrite the first at the broker.
 *
 * Sending every cycle would cost a publish per interval per gateway for
 * counters that mostly just go up by one; so the message goes out when
 * something a platform alarms on changes (a failure counter, a device's
 * state) and otherwise every HEALTH_PERIOD_MS (15 minutes).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/core/health.h"

/* One device's entry, at most: name (64) plus nine 20-digit counters. */
#define DEVICE_JSON_MAX	(SCHEMA_NAME_MAX + 400 + INFO_JSON_MAX)
/* Its "info" object: each name and string, every character escaped. */
#define INFO_JSON_MAX	(16 + PROFILE_INFO_MAX * \
	(SCHEMA_NAME_MAX + 2 * PROFILE_INFO_CHARS + 8))

int
health_init(struct health *h, const struct device *devs, size_t n)
{
	memset(h, 0, sizeof(*h));
	h->devs = devs;
	h->n = n;
	h->now = calloc(n + 1, sizeof(*h->now));
	h->sent = calloc(n + 1, sizeof(*h->sent));
	h->json_cap = 64 + sizeof(h->store) + (n + 1) * DEVICE_JSON_MAX;
	h->json = malloc(h->json_cap);
	return h->now && h->sent && h->json ? 0 : -ENOMEM;
}

static const char *
state(const struct health_snap *s)
{
	if (s->h.polls == 0)
		return "unknown";
	if (s->fails > 0)
		return "backoff";
	return s->err < 0 ? "error" : "ok";
}

/* The counters that a platform alarms on, and the state, differ. */
static int
changed(const struct health_snap *a, const struct health_snap *b)
{
	return a->h.timeouts != b->h.timeouts ||
	    a->h.crc_errors != b->h.crc_errors ||
	    a->h.io_errors != b->h.io_errors ||
	    a->h.exceptions != b->h.exceptions ||
	    a->h.invalid != b->h.invalid ||
	    strcmp(state(a), state(b)) != 0 ||
	    memcmp(a->info, b->info, sizeof(a->info)) != 0;
}

/*
 * ,"info":{"serial":"..."} for the strings read so far, or nothing. The
 * strings are printable ASCII already (profile_info_decode); quotes and
 * backslashes still need escaping.
 */
static size_t
info_json(const struct device *d, const struct health_snap *s, char *out,
    size_t cap)
{
	const struct profile *p = d->profile;
	size_t len = 0, i;
	const char *c;
	int first = 1;

	if (cap > 0)
		out[0] = '\0';
	if (p == NULL || cap < INFO_JSON_MAX)
		return 0;
	for (i = 0; i < p->n_info && i < PROFILE_INFO_MAX; i++) {
		if (s->info[i][0] == '\0')
			continue;
		len += (size_t)snprintf(out + len, cap - len, "%s\"%s\":\"",
		    first ? ",\"info\":{" : ",", p->info[i].name);
		first = 0;
		for (c = s->info[i]; *c != '\0'; c++) {
			if (*c == '"' || *c == '\\')
				out[len++] = '\\';
			out[len++] = *c;
		}
		out[len++] = '"';
	}
	if (!first)
		out[len++] = '}';
	out[len] = '\0';
	return len;
}

const char *
health_json(struct health *h)
{
	const struct health_snap *s;
	char info[INFO_JSON_MAX];
	size_t i, len;
	int n;

	if (h->json == NULL)
		return NULL;
	len = (size_t)snprintf(h->json, h->json_cap, "{%s%s\"devices\":{",
	    h->store, h->store[0] != '\0' ? "," : "");
	for (i = 0; i < h->n; i++) {
		s = &h->now[i];
		info_json(&h->devs[i], s, info, sizeof(info));
		n = snprintf(h->json + len, h->json_cap - len, "%s\"%s\":{"
		    "\"state\":\"%s\",\"polls\":%" PRIu64 ",\"ok\":%" PRIu64
		    ",\"timeouts\":%" PRIu64 ",\"crc_errors\":%" PRIu64
		    ",\"io_errors\":%" PRIu64 ",\"exceptions\":%" PRIu64
		    ",\"invalid\":%" PRIu64 ",\"retries\":%" PRIu64
		    ",\"skipped\":%" PRIu64 "%s}", i > 0 ? "," : "",
		    h->devs[i].name, state(s), s->h.polls, s->h.ok,
		    s->h.timeouts, s->h.crc_errors, s->h.io_errors,
		    s->h.exceptions, s->h.invalid, s->h.retries, s->h.skipped,
		    info);
		if (n < 0 || (size_t)n >= h->json_cap - len)
			return NULL;	/* cannot happen: json_cap bounds it */
		len += (size_t)n;
	}
	if (len + 3 > h->json_cap)
		return NULL;
	memcpy(h->json + len, "}}", 3);
	return h->json;
}

const char *
health_due(struct health *h, struct pollers *p, int64_t now_ms, int force)
{
	size_t i;
	int due = force || h->sent_ms == 0 ||
	    now_ms - h->sent_ms >= HEALTH_PERIOD_MS;

	pollers_health(p, h->devs, h->n, h->now);
	for (i = 0; i < h->n && !due; i++)
		due = changed(&h->now[i], &h->sent[i]);
	if (!due)
		return NULL;
	memcpy(h->sent, h->now, h->n * sizeof(*h->now));
	h->sent_ms = now_ms;
	return health_json(h);
}

void
health_free(struct health *h)
{
	free(h->now);
	free(h->sent);
	free(h->json);
	memset(h, 0, sizeof(*h));
}
