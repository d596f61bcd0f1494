#include "firmware/store/store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct store_ops *const backends[] = {
	&store_sqlite_ops,
};

int
store_open(const char *name, const char *path, struct store **out, char *err,
    size_t errlen)
{
	return store_open_opts(name, path, NULL, out, err, errlen);
}

int
store_open_opts(const char *name, const char *path, const struct store_opts *opts,
    struct store **out, char *err, size_t errlen)
{
	struct store *s;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(backends[i]->name, name) == 0)
			break;
	if (i == sizeof(backends) / sizeof(backends[0])) {
		snprintf(err, errlen, "store: unknown backend '%s'", name);
		return -EINVAL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(err, errlen, "store: %s: out of memory", path);
		return -ENOMEM;
	}
	s->ops = backends[i];
	if (opts != NULL)
		s->opts = *opts;
	if ((rc = s->ops->open(s, path)) < 0) {
		snprintf(err, errlen, "%s", s->err);
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	s->ops->close(s);
	free(s);
}

int
store_append(struct store *s, struct store_batch *b)
{
	return s->ops->append(s, b, 1);
}

int
store_append_many(struct store *s, struct store_batch *b, size_t n)
{
	return s->ops->append(s, b, n);
}

int
store_evict_oldest(struct store *s, uint64_t min_bytes, struct store_evicted *ev)
{
	ev->batches = ev->readings = 0;
	return s->ops->evict_oldest(s, min_bytes, ev);
}

int
store_peek(struct store *s, uint64_t after_seq, struct store_batch *b)
{
	return s->ops->peek(s, after_seq, 0, b);
}

int
store_peek_pending(struct store *s, uint64_t after_seq, struct store_batch *b)
{
	return s->ops->peek(s, after_seq, 1, b);
}

int
store_merge(struct store *s, uint64_t first, uint64_t last,
    struct store_batch *merged)
{
	if (last < first)
		return -EINVAL;
	return s->ops->merge(s, first, last, merged);
}

int
store_rewrite(struct store *s, uint64_t seq, const struct store_batch *b)
{
	return s->ops->rewrite(s, seq, b);
}

int
store_split(struct store *s, struct store_batch *lo, struct store_batch *hi)
{
	if (lo->seq_last < lo->seq || hi->seq != lo->seq_last + 1 ||
	    hi->seq_last < hi->seq)
		return -EINVAL;
	return s->ops->split(s, lo, hi);
}

int
store_ack(struct store *s, uint64_t seq)
{
	return s->ops->ack(s, seq);
}

int
store_put_schema(struct store *s, uint32_t id, const char *json)
{
	return s->ops->put_schema(s, id, json);
}

int
store_get_schema(struct store *s, uint32_t id, char **json)
{
	return s->ops->get_schema(s, id, json);
}

int
store_stats(struct store *s, struct store_stats *st)
{
	return s->ops->stats(s, st);
}

void
store_count_drop(struct store *s, enum store_drop_cause cause, uint64_t batches,
    uint64_t readings)
{
	if ((unsigned)cause >= STORE_DROP_CAUSES)
		return;
	s->drops_pending.c[cause].batches += batches;
	s->drops_pending.c[cause].readings += readings;
}

void
store_drops(const struct store *s, struct store_drops *d)
{
	size_t i;

	for (i = 0; i < STORE_DROP_CAUSES; i++) {
		d->c[i].batches = s->drops.c[i].batches + s->drops_pending.c[i].batches;
		d->c[i].readings = s->drops.c[i].readings +
		    s->drops_pending.c[i].readings;
	}
}

const char *
store_drop_name(enum store_drop_cause cause)
{
	static const char *const name[STORE_DROP_CAUSES] = {
		[STORE_DROP_THINNED] = "thinned",
		[STORE_DROP_EVICTED] = "evicted",
		[STORE_DROP_DISK_FULL] = "disk_full",
		[STORE_DROP_MEMORY_FULL] = "memory_full",
		[STORE_DROP_COLLECTOR] = "collector",
		[STORE_DROP_PRESYNC] = "presync",
	};

	return (unsigned)cause < STORE_DROP_CAUSES ? name[cause] : "?";
}
