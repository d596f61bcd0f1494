#include "firmware/core/forward.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/codec/batch.h"
#include "firmware/core/log.h"

#define SCHEMAS_SENT_MAX 8

struct forward {
	const struct site_config *cfg;
	struct store *store;
	struct uplink up;
	int connected;
	uint64_t cursor;	/* highest seq handed to the uplink this connection */
	uint32_t sent_schema[SCHEMAS_SENT_MAX];
	size_t n_sent_schema;
	uint8_t *buf;		/* wrapped batch */
	size_t cap;
	uint64_t sent, acked, errors;
};

/* Each connection sends a batch's schema once, before the first batch using it. */
static int
ensure_schema(struct forward *f, uint32_t id)
{
	char *json = NULL;
	enum uplink_result r;
	size_t i;
	int rc;

	for (i = 0; i < f->n_sent_schema; i++)
		if (f->sent_schema[i] == id)
			return 0;
	if ((rc = store_get_schema(f->store, id, &json)) < 0) {
		log_warnx("forward: schema %08x of a stored batch is missing: %s", id,
		    strerror(-rc));
		return rc;
	}
	r = f->up.ops->send_schema(&f->up, id, json);
	free(json);
	if (r != UPLINK_OK)
		return -EAGAIN;
	if (f->n_sent_schema == SCHEMAS_SENT_MAX)
		f->n_sent_schema = 0;
	f->sent_schema[f->n_sent_schema++] = id;
	return 0;
}

static int
grow(struct forward *f, size_t need)
{
	uint8_t *nb;

	if (need <= f->cap)
		return 0;
	if ((nb = realloc(f->buf, need)) == NULL)
		return -ENOMEM;
	f->buf = nb;
	f->cap = need;
	return 0;
}

void
forward_kick(struct forward *f)
{
	struct store_batch b;
	struct batch_hdr h;
	size_t len;
	int rc;

	while (f->connected) {
		rc = store_peek(f->store, f->cursor, &b);
		if (rc == -ENOENT)
			return;
		if (rc < 0) {
			log_warnx("%s", f->store->err);
			return;
		}
		if ((rc = ensure_schema(f, b.schema_id)) == -EAGAIN)
			return;
		if (rc < 0) {
			/* Undecodable without its schema: kept in the store, not sent,
			 * and it does not hold back the batches behind it. */
			f->errors++;
			f->cursor = b.seq;
			continue;
		}
		memset(&h, 0, sizeof(h));
		memcpy(h.gw, f->cfg->gateway, sizeof(h.gw));
		h.seq = b.seq;
		h.schema_id = b.schema_id;
		h.flags = b.flags;
		if (grow(f, batch_wrap_bound(b.body_len)) < 0 ||
		    batch_wrap(&h, b.body, b.body_len, b.raw_len, f->buf, f->cap, &len) < 0) {
			log_warnx("forward: batch %llu cannot be framed; kept in the store",
			    (unsigned long long)b.seq);
			f->errors++;
			f->cursor = b.seq;
			continue;
		}
		switch (f->up.ops->send_batch(&f->up, f->buf, len, b.seq)) {
		case UPLINK_OK:
			f->cursor = b.seq;
			f->sent++;
			break;
		case UPLINK_RETRY:
			return;
		case UPLINK_ERROR:
			/* Kept, and tried again on the next connection. */
			log_warnx("forward: %s refuses batch %llu (%zu bytes); kept in the store",
			    f->up.ops->name, (unsigned long long)b.seq, len);
			f->errors++;
			f->cursor = b.seq;
			break;
		}
	}
}

static void
on_up(void *arg)
{
	struct forward *f = arg;

	f->connected = 1;
	f->cursor = 0;
	f->n_sent_schema = 0;
	forward_kick(f);
}

static void
on_down(void *arg)
{
	struct forward *f = arg;

	f->connected = 0;
	f->cursor = 0;
}

static void
on_acked(void *arg, uint64_t seq)
{
	struct forward *f = arg;
	int rc;

	if ((rc = store_ack(f->store, seq)) < 0)
		log_warnx("%s", f->store->err);
	f->acked++;
	forward_kick(f);
}

int
forward_start(struct loop *l, const struct site_config *cfg, struct store *st,
    const struct uplink_ops *ops, struct forward **out)
{
	struct forward *f;
	int rc;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -ENOMEM;
	f->cfg = cfg;
	f->store = st;
	f->up.ops = ops;
	f->up.loop = l;
	f->up.cfg = cfg;
	f->up.ev.up = on_up;
	f->up.ev.down = on_down;
	f->up.ev.acked = on_acked;
	f->up.ev.arg = f;
	*out = f;
	if ((rc = ops->start(&f->up)) < 0)
		return rc;
	return 0;
}

void
forward_stop(struct forward *f)
{
	if (f == NULL)
		return;
	f->connected = 0;
	if (f->up.priv != NULL)
		f->up.ops->stop(&f->up);
	free(f->buf);
	free(f);
}
