#include "firmware/store/merge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/codec/batch.h"
#include "firmware/base/log.h"

/* The run being collected: consecutive pending batches of one schema. */
struct run {
	uint64_t first, last;
	uint32_t schema_id;
	size_t rows;
	uint64_t readings;	/* stored count of the rows */
	struct reading *r;	/* their readings, decoded */
	size_t n, cap;
	int broken;		/* a body did not decode: seal, don't merge */
	uint8_t *body;		/* the merged body */
	size_t body_cap;
};

static int
add_readings(struct run *u, const struct store_batch *b)
{
	const char *why = NULL;
	size_t n;
	int rc;

	if (u->broken)
		return 0;
	if (u->n + b->n_readings > u->cap) {
		size_t cap = u->n + b->n_readings;
		struct reading *r;

		if (cap < MERGE_READINGS)
			cap = MERGE_READINGS;
		if ((r = realloc(u->r, cap * sizeof(*r))) == NULL)
			return -ENOMEM;
		u->r = r;
		u->cap = cap;
	}
	rc = batch_decode_body(b->body, b->body_len, b->raw_len, b->flags,
	    u->r + u->n, u->cap - u->n, &n, &why);
	if (rc == 0 && n != b->n_readings)
		why = "reading count differs from the stored one", rc = -EBADMSG;
	if (rc < 0) {
		log_warnx("merge: stored batch %llu does not decode (%s): its run "
		    "is sent unmerged", (unsigned long long)b->seq,
		    why ? why : strerror(-rc));
		u->broken = 1;
		return 0;
	}
	u->n += n;
	return 0;
}

/* Write the run as one merged batch; one batch alone, or a broken run, is sealed. */
static int
flush(struct store *s, struct run *u, struct merge_result *res)
{
	struct store_batch m = { 0 };
	size_t len, raw_len;
	uint8_t flags = 0;
	int rc;

	if (u->rows == 0)
		return 0;
	if (u->rows > 1 && !u->broken) {
		if (u->body == NULL) {
			u->body_cap = batch_body_bound(MERGE_READINGS);
			if ((u->body = malloc(u->body_cap)) == NULL)
				return -ENOMEM;
		}
		rc = batch_encode_body(u->r, u->n, u->body, u->body_cap, &len, &flags,
		    &raw_len);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0) {
			log_warnx("merge: batches %llu..%llu cannot be merged (%s): "
			    "sent unmerged", (unsigned long long)u->first,
			    (unsigned long long)u->last, strerror(-rc));
			u->broken = 1;
		}
	}
	if (u->rows > 1 && !u->broken) {
		m.schema_id = u->schema_id;
		m.flags = flags;
		m.t_first = batch_t_first(u->r, u->n);
		m.n_readings = (uint32_t)u->n;
		m.raw_len = raw_len;
		m.body = u->body;
		m.body_len = len;
		if ((rc = store_merge(s, u->first, u->last, &m)) < 0)
			return rc;
		res->merged += u->rows;
		res->made++;
	} else {
		if ((rc = store_merge(s, u->first, u->last, NULL)) < 0)
			return rc;
		res->sealed += u->rows;
	}
	u->rows = 0;
	u->readings = 0;
	u->n = 0;
	u->broken = 0;
	return 0;
}

int
merge_pending(struct store *s, int all, struct merge_result *res)
{
	struct run u = { 0 };
	struct store_batch b;
	uint64_t after = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	for (;;) {
		if ((rc = store_peek_pending(s, after, &b)) == -ENOENT)
			break;
		if (rc < 0)
			goto out;
		after = b.seq_last;
		/* A batch that does not continue the run, or would overfill it, ends it. */
		if (u.rows > 0 && (b.seq != u.last + 1 || b.schema_id != u.schema_id ||
		    u.readings + b.n_readings > MERGE_READINGS ||
		    b.seq_last - u.first > BATCH_SPAN_MAX) &&
		    (rc = flush(s, &u, res)) < 0)
			goto out;
		if (u.rows == 0) {
			u.first = b.seq;
			u.schema_id = b.schema_id;
		}
		u.last = b.seq_last;
		u.rows++;
		u.readings += b.n_readings;
		if ((rc = add_readings(&u, &b)) < 0)
			goto out;
	}
	rc = 0;
	if (all)
		rc = flush(s, &u, res);
	else
		res->left = u.readings;
out:
	free(u.r);
	free(u.body);
	return rc;
}
