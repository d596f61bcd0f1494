/*
 * Commands and results over CoAP at the receiver (coap_cmd.h). A gateway on
 * CoAP cannot be pushed to: the fleet tool leaves a frame here (POST
 * c/<gw>), the gateway asks for it (GET <prefix>/<gw>/c?after=K) and answers
 * with result records (POST <prefix>/<gw>/r), which the fleet tool reads
 * (GET r/<gw>?after=N).
 *
 * Each gateway's frames get indexes 1, 2, 3, ... in the order posted. A frame
 * stays until a result record of that gateway names its id (the gateway has
 * it, whatever it made of it), or until 10 minutes after the gateway asked
 * with after >= its index (it took it; a frame that is not a command has no
 * id, and a gateway restarted within those minutes asks from 0 and gets it
 * again, which the control plane's journal makes harmless). Nothing is
 * written to disk: a restarted receiver has forgotten them (the fleet tool
 * sends again).
 */
#include "tools/recv/coap_cmd.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/codec/batch.h"
#include "firmware/codec/command.h"
#include "tools/recv/coap_route.h"
#include "tools/recv/recv.h"

#define FMT_OCTETS	42	/* Content-Formats, RFC 7252 12.3 */
#define FMT_JSON	50

struct cmdq_frame {
	uint64_t index;
	uint8_t *data;
	size_t len;
	char id[CMD_ID_MAX + 1];	/* "" if the body has none */
	int64_t taken_ms;		/* 0 until asked past */
};

struct cmdq_result {
	uint64_t r;
	char *json;
	size_t len;
};

struct cmdq_gw {
	char gw[BATCH_GW_MAX + 1];
	uint64_t last_index;
	struct cmdq_frame f[CMDQ_FRAMES];	/* oldest first */
	unsigned nf;
	struct cmdq_result res[CMDQ_RESULTS];	/* a ring, oldest at next */
	unsigned nres, next;
};

struct coap_cmdq {
	struct cmdq_gw *g[CMDQ_GWS];
	unsigned n;
};

/* The gateway's queue; made if make and there is room. NULL otherwise. */
static struct cmdq_gw *
gw_get(struct recv *rv, const char *gw, int make)
{
	struct coap_cmdq *q = rv->cmdq;
	struct cmdq_gw *g;
	unsigned i;

	if (q == NULL) {
		if (!make || (q = rv->cmdq = calloc(1, sizeof(*q))) == NULL)
			return NULL;
	}
	for (i = 0; i < q->n; i++)
		if (strcmp(q->g[i]->gw, gw) == 0)
			return q->g[i];
	if (!make || q->n == CMDQ_GWS || (g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	snprintf(g->gw, sizeof(g->gw), "%s", gw);
	q->g[q->n++] = g;
	return g;
}

static void
frame_drop(struct cmdq_gw *g, unsigned i)
{
	free(g->f[i].data);
	memmove(&g->f[i], &g->f[i + 1], (g->nf - i - 1) * sizeof(g->f[0]));
	g->nf--;
}

/* Frames the gateway took more than CMDQ_KEEP_MS ago go. */
static void
expire(struct cmdq_gw *g, int64_t now_ms)
{
	unsigned i = 0;

	while (i < g->nf)
		if (g->f[i].taken_ms != 0 && now_ms - g->f[i].taken_ms >= CMDQ_KEEP_MS)
			frame_drop(g, i);
		else
			i++;
}

/* The frame's command id: "id" of the body (all but the last 65 bytes). */
static void
frame_id(const uint8_t *frame, size_t len, char *id, size_t idlen)
{
	json_t *o, *v;

	id[0] = '\0';
	if (len < CMD_BODY_MIN + 1 + CMD_SIG_LEN)
		return;
	o = json_loadb((const char *)frame, len - 1 - CMD_SIG_LEN, 0, NULL);
	v = json_is_object(o) ? json_object_get(o, "id") : NULL;
	if (json_is_string(v) && strlen(json_string_value(v)) < idlen)
		snprintf(id, idlen, "%s", json_string_value(v));
	json_decref(o);
}

/* "after=N" (the only query these take); no query is 0. 0, or -1 if bad. */
static int
parse_after(const uint8_t *q, size_t len, uint64_t *after)
{
	char buf[32], *end;

	*after = 0;
	if (len == 0)
		return 0;
	if (len < 7 || len >= sizeof(buf) || memcmp(q, "after=", 6) != 0)
		return -1;
	memcpy(buf, q + 6, len - 6);
	buf[len - 6] = '\0';
	if (buf[0] < '0' || buf[0] > '9')
		return -1;
	errno = 0;
	*after = strtoull(buf, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

static int
reply_text(struct coap_reply *r, int code, const char *text, uint64_t etag)
{
	size_t n = strlen(text);

	r->etag = etag;
	r->format = 0;	/* text/plain */
	if ((r->body = malloc(n)) == NULL)
		return 500;
	memcpy(r->body, text, n);
	r->body_len = n;
	return code;
}

int
coap_cmdq_post(struct recv *rv, const char *gw, const uint8_t *frame,
    size_t len, int64_t now_ms, struct coap_reply *r)
{
	struct cmdq_gw *g;
	struct cmdq_frame *f;
	char idx[24];

	if ((g = gw_get(rv, gw, 1)) == NULL) {
		recv_warnx("coap: c/%s: no room for another gateway's commands "
		    "(%d): 5.03", gw, CMDQ_GWS);
		r->why = "no room";
		return 503;
	}
	expire(g, now_ms);
	if (g->nf == CMDQ_FRAMES) {
		recv_warnx("coap: c/%s: %d commands queued already: 5.03", gw,
		    CMDQ_FRAMES);
		r->why = "queue full";
		return 503;
	}
	f = &g->f[g->nf];
	memset(f, 0, sizeof(*f));
	if ((f->data = malloc(len)) == NULL) {
		r->why = "no memory";
		return 503;
	}
	memcpy(f->data, frame, len);
	f->len = len;
	f->index = ++g->last_index;
	frame_id(frame, len, f->id, sizeof(f->id));
	g->nf++;
	if (rv->verbose)
		recv_warnx("coap: c/%s: frame %" PRIu64 " queued (%zu bytes, id "
		    "'%s')", gw, f->index, len, f->id);
	snprintf(idx, sizeof(idx), "%" PRIu64, f->index);
	return reply_text(r, 201, idx, f->index);
}

int
coap_cmdq_next(struct recv *rv, const char *gw, const uint8_t *query,
    size_t qlen, int64_t now_ms, struct coap_reply *r)
{
	struct cmdq_gw *g;
	uint64_t after;
	unsigned i;

	if (parse_after(query, qlen, &after) < 0) {
		r->why = "want ?after=N";
		return 400;
	}
	if ((g = gw_get(rv, gw, 0)) == NULL)
		return 404;
	for (i = 0; i < g->nf; i++)
		if (g->f[i].index <= after && g->f[i].taken_ms == 0)
			g->f[i].taken_ms = now_ms != 0 ? now_ms : 1;
	expire(g, now_ms);
	for (i = 0; i < g->nf; i++)
		if (g->f[i].index > after) {
			if ((r->body = malloc(g->f[i].len)) == NULL)
				return 503;
			memcpy(r->body, g->f[i].data, g->f[i].len);
			r->body_len = g->f[i].len;
			r->etag = g->f[i].index;
			r->format = FMT_OCTETS;
			return 205;
		}
	return 404;
}

void
coap_cmdq_result(struct recv *rv, const char *gw, const uint8_t *json,
    size_t len)
{
	struct cmdq_result *slot;
	struct cmdq_gw *g;
	json_t *o, *id, *rr;
	char *compact;
	uint64_t n;
	unsigned i;

	if ((g = gw_get(rv, gw, 1)) == NULL ||
	    (o = json_loadb((const char *)json, len, 0, NULL)) == NULL)
		return;
	rr = json_object_get(o, "r");
	n = json_is_integer(rr) ? (uint64_t)json_integer_value(rr) : 0;
	id = json_object_get(o, "id");
	for (i = 0; json_is_string(id) && i < g->nf; i++)
		if (strcmp(g->f[i].id, json_string_value(id)) == 0) {
			frame_drop(g, i);
			break;
		}
	/* Kept once, even if sent again (its ack was lost); compact: one line. */
	for (i = 0; i < g->nres; i++)
		if (g->res[i].r == n)
			break;
	compact = i == g->nres ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (compact == NULL)
		return;
	slot = &g->res[g->next];
	free(slot->json);
	slot->json = compact;
	slot->len = strlen(compact);
	slot->r = n;
	g->next = (g->next + 1) % CMDQ_RESULTS;
	if (g->nres < CMDQ_RESULTS)
		g->nres++;
}

static int
by_r(const void *a, const void *b)
{
	const struct cmdq_result *x = *(const struct cmdq_result *const *)a;
	const struct cmdq_result *y = *(const struct cmdq_result *const *)b;

	return x->r < y->r ? -1 : x->r > y->r;
}

/*
 * The records with r > N in the order of r, as a JSON array, as many as fit
 * in CMDQ_READ_MAX bytes (at least one): the reader asks again after the
 * last r it got.
 */
int
coap_cmdq_results(struct recv *rv, const char *gw, const uint8_t *query,
    size_t qlen, struct coap_reply *r)
{
	const struct cmdq_result *pick[CMDQ_RESULTS];
	struct cmdq_gw *g;
	uint64_t after;
	size_t n = 0, i, len = 2;
	uint8_t *p;

	if (parse_after(query, qlen, &after) < 0) {
		r->why = "want ?after=N";
		return 400;
	}
	if ((g = gw_get(rv, gw, 0)) == NULL)
		return 404;
	for (i = 0; i < g->nres; i++)
		if (g->res[i].r > after && g->res[i].json != NULL)
			pick[n++] = &g->res[i];
	qsort(pick, n, sizeof(pick[0]), by_r);
	for (i = 0; i < n; i++) {
		if (i > 0 && len + pick[i]->len + 1 > CMDQ_READ_MAX)
			break;
		len += pick[i]->len + 1;
	}
	n = i;
	if ((r->body = p = malloc(len)) == NULL)
		return 503;
	*p++ = '[';
	for (i = 0; i < n; i++) {
		if (i > 0)
			*p++ = ',';
		memcpy(p, pick[i]->json, pick[i]->len);
		p += pick[i]->len;
	}
	*p++ = ']';
	r->body_len = (size_t)(p - r->body);
	r->format = FMT_JSON;
	return 205;
}

void
coap_cmdq_free(struct recv *rv)
{
	struct coap_cmdq *q = rv->cmdq;
	unsigned i, j;

	if (q == NULL)
		return;
	for (i = 0; i < q->n; i++) {
		for (j = 0; j < q->g[i]->nf; j++)
			free(q->g[i]->f[j].data);
		for (j = 0; j < CMDQ_RESULTS; j++)
			free(q->g[i]->res[j].json);
		free(q->g[i]);
	}
	free(q);
	rv->cmdq = NULL;
}
