/*
 * Store -> uplink, live first.
 *
 * When the link comes up, everything already in the store is backlog; batches
 * committed from then on are live. Live batches go out as soon as they are
 * committed and may use the whole in-flight window. The backlog drains oldest
 * first behind them: paced by a token bucket in readings per second (so a slow
 * LTE uplink is not saturated and 100,000 gateways returning from a broker outage
 * do not all drain at full speed), never taking the last window slots (so a live
 * batch never waits behind a full window of backlog), and flagged historical.
 *
 * Every batch stays in the store until acknowledged; after a disconnect both
 * cursors start again from the store (the receiver drops the duplicates by
 * gateway and sequence).
 *
 * A batch the platform will never take as it is (uplink ERROR, refused) is set
 * aside: kept in the store, counted once, and skipped from then on, also on
 * later connections, so it is not retried forever and never holds up what
 * comes after it (before, each new connection offered it again: one more
 * refusal and ALARM per reconnect, and its readings charged to the backlog's
 * pacing ahead of the batches behind it). Only a restart offers it once more.
 * A batch the platform would take smaller (too_large) is split in the store
 * (split.h) and its halves go out on the same connection.
 */
#include "firmware/core/forward.h"

#include "firmware/core/drain.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "firmware/codec/batch.h"
#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/store/merge.h"
#include "firmware/store/split.h"

#define SCHEMAS_SENT_MAX 8
#define WINDOW		16	/* batches in flight */
#define LIVE_RESERVE	4	/* window slots the backlog leaves free */
#define ASIDE_MAX	64	/* set-aside seqs remembered; older ones are offered again */

struct forward {
	const struct site_config *cfg;
	struct store *store;
	struct loop *loop;
	struct uplink_site site;	/* what the uplink knows of the site */
	struct uplink up;
	int connected;
	uint64_t live_from;	/* first seq committed after the link came up */
	uint64_t live_cursor;	/* highest live seq handed to the uplink */
	uint64_t backlog_cursor;	/* highest backlog seq handed to the uplink */
	int backlog_done;	/* nothing below live_from left to send */
	unsigned inflight;
	struct flight {
		uint64_t seq;
		int64_t t_first;	/* poll time of a live batch (wall ms) */
		uint32_t n_readings;
		int historical;
	} flight[WINDOW];
	struct drain drain;
	/* token bucket for the backlog, in readings */
	double tokens;
	int64_t tokens_at;	/* CLOCK_MONOTONIC ms of the last refill */
	int pace_fd;		/* timerfd: wake when enough tokens for the next batch */
	int pace_armed;
	uint32_t sent_schema[SCHEMAS_SENT_MAX];
	size_t n_sent_schema;
	char *metrics;		/* latest counters not sent yet */
	uint8_t *buf;		/* wrapped batch */
	size_t cap;
	uint64_t aside[ASIDE_MAX];	/* ring of the seqs set aside */
	unsigned n_aside, aside_next;
	uint64_t sent, acked, errors, splits;
	struct forward_control ctl;
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

static void send_metrics(struct forward *f);

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

static int
is_aside(const struct forward *f, uint64_t seq)
{
	unsigned i;

	for (i = 0; i < f->n_aside; i++)
		if (f->aside[i] == seq)
			return 1;
	return 0;
}

/* Kept in the store, counted once, not offered again by this process. */
static void
set_aside(struct forward *f, uint64_t seq)
{
	if (seq == 0 || is_aside(f, seq))
		return;
	f->aside[f->aside_next] = seq;
	f->aside_next = (f->aside_next + 1) % ASIDE_MAX;
	if (f->n_aside < ASIDE_MAX)
		f->n_aside++;
	f->errors++;
}

static int
in_flight(const struct forward *f, uint64_t seq)
{
	unsigned i;

	for (i = 0; i < f->inflight; i++)
		if (f->flight[i].seq == seq)
			return 1;
	return 0;
}

/* Not to be handed to the uplink now: set aside, or out already. */
static int
skip(const struct forward *f, uint64_t seq)
{
	return is_aside(f, seq) || in_flight(f, seq);
}

/*
 * Frame and hand one stored batch to the uplink. Returns 1 if it went (or was
 * set aside for good on this connection), 0 if the uplink said "not now".
 *
 * b->body is the store's until the next store call (store.h), and sealing a
 * pending batch or fetching a schema is one: the batch is framed into f->buf
 * first, and only then does the store get asked anything else.
 */
static int
send_one(struct forward *f, const struct store_batch *b, uint8_t extra_flags)
{
	struct batch_hdr h;
	size_t len;
	int rc;

	memset(&h, 0, sizeof(h));
	memcpy(h.gw, f->cfg->gateway, sizeof(h.gw));
	h.seq = b->seq;
	h.seq_last = b->seq_last;
	h.schema_id = b->schema_id;
	h.flags = b->flags | extra_flags | (f->up.ops->names_gateway ?
	    BATCH_F_GW_TRANSPORT : 0);
	if (b->seq_last > b->seq && !(extra_flags & BATCH_F_VOLATILE))
		h.flags |= BATCH_F_SPAN;
	if (grow(f, batch_wrap_bound(b->body_len)) < 0 ||
	    batch_wrap(&h, b->body, b->body_len, b->raw_len, f->buf, f->cap, &len) < 0) {
		log_warnx("forward: batch %llu cannot be framed; kept in the store",
		    (unsigned long long)b->seq);
		set_aside(f, b->seq);
		return 1;
	}
	/*
	 * A pending batch may still be merged into a span: it is sealed, durably,
	 * before it can reach the platform (merge.h). Only if on_up's merge failed.
	 */
	if (b->pending && !(extra_flags & BATCH_F_VOLATILE) &&
	    (rc = store_merge(f->store, b->seq, b->seq_last, NULL)) < 0) {
		log_warnx("%s; batch %llu held back", f->store->err,
		    (unsigned long long)b->seq);
		return 0;
	}
	if ((rc = ensure_schema(f, b->schema_id)) == -EAGAIN)
		return 0;
	if (rc < 0) {
		/* Undecodable without its schema: kept in the store, not sent, and it
		 * does not hold back the batches behind it. */
		set_aside(f, b->seq);
		return 1;
	}
	switch (f->up.ops->send_batch(&f->up, f->buf, len, b->seq)) {
	case UPLINK_OK:
		f->flight[f->inflight].seq = b->seq;
		f->flight[f->inflight].t_first = b->t_first;
		f->flight[f->inflight].n_readings = b->n_readings;
		f->flight[f->inflight].historical = extra_flags & BATCH_F_HISTORICAL;
		if (f->flight[f->inflight].historical)
			drain_sent(&f->drain, len);
		f->sent++;
		f->inflight++;
		return 1;
	case UPLINK_RETRY:
		return 0;
	case UPLINK_ERROR:
		log_warnx("forward: %s refuses batch %llu (%zu bytes); set aside, kept "
		    "in the store", f->up.ops->name, (unsigned long long)b->seq, len);
		set_aside(f, b->seq);
		return 1;
	}
	return 0;
}

int
forward_send_volatile(struct forward *f, const struct store_batch *b)
{
	struct store_batch v = *b;

	if (!f->connected || f->inflight >= WINDOW)
		return 0;
	/* Its schema must be on this connection already: nothing is set aside. */
	if (ensure_schema(f, b->schema_id) < 0)
		return 0;
	/*
	 * No seq and no span, whatever a failed append left in b: a commit
	 * that failed after the insert had numbered it (batch.h).
	 */
	v.seq = 0;
	v.seq_last = 0;
	return send_one(f, &v, BATCH_F_VOLATILE);
}

/* Refill; 1 if a batch of n readings may go now, else arm the pacing timer. */
static int
take_tokens(struct forward *f, uint32_t n)
{
	double rate = f->cfg->backlog_rate, burst = rate > n ? rate : n;
	int64_t now = clock_mono_ms();

	if (rate == 0)
		return 1;
	f->tokens += (double)(now - f->tokens_at) * rate / 1000.0;
	if (f->tokens > burst)
		f->tokens = burst;
	f->tokens_at = now;
	if (f->tokens >= n) {
		f->tokens -= n;
		return 1;
	}
	if (!f->pace_armed) {
		loop_timer_arm(f->pace_fd, (int64_t)((n - f->tokens) * 1000.0 /
		    rate) + 1, "forward: backlog pacing");
		f->pace_armed = 1;
	}
	return 0;
}

static int
store_error(struct forward *f, int rc)
{
	if (rc != -ENOENT)
		log_warnx("%s", f->store->err);
	return rc;
}

void
forward_kick(struct forward *f)
{
	struct store_batch b;
	int rc;

	/* Live: everything committed since the link came up, at once. */
	while (f->connected && f->inflight < WINDOW) {
		if ((rc = store_peek(f->store, f->live_cursor, &b)) < 0) {
			store_error(f, rc);
			break;
		}
		if (skip(f, b.seq)) {
			f->live_cursor = b.seq;
			continue;
		}
		if (!send_one(f, &b, 0))
			return;
		f->live_cursor = b.seq;
	}
	/* Backlog: oldest first, paced, historical, leaving room for live. */
	while (f->connected && !f->backlog_done && !f->pace_armed &&
	    f->inflight < WINDOW - LIVE_RESERVE) {
		if ((rc = store_peek(f->store, f->backlog_cursor, &b)) < 0 ||
		    b.seq >= f->live_from) {
			if (rc < 0)
				store_error(f, rc);
			if (rc == -ENOENT || rc == 0)
				f->backlog_done = 1;
			break;
		}
		if (skip(f, b.seq)) {
			f->backlog_cursor = b.seq;
			continue;
		}
		if (!take_tokens(f, b.n_readings))
			break;
		if (!send_one(f, &b, BATCH_F_HISTORICAL))
			return;
		f->backlog_cursor = b.seq;
	}
}

static void
on_pace(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct forward *f = arg;

	(void)l;
	(void)events;
	loop_timer_ack(fd);
	f->pace_armed = 0;
	forward_kick(f);
}

static void
on_up(void *arg)
{
	struct forward *f = arg;
	struct store_stats st;
	struct merge_result res;
	int64_t t0 = clock_mono_ms();

	/* The backlog that built up while down goes out merged, in spans. */
	if (merge_pending(f->store, 1, &res) < 0)
		log_warnx("%s; the backlog goes out unmerged", f->store->err);
	else if (res.made > 0)
		log_info("backlog: %llu cycles merged into %llu batches",
		    (unsigned long long)res.merged, (unsigned long long)res.made);
	f->connected = 1;
	f->inflight = 0;
	f->n_sent_schema = 0;
	f->live_from = store_stats(f->store, &st) == 0 ? st.next_seq : 0;
	drain_start(&f->drain, st.batches > 0, t0);
	f->live_cursor = f->live_from > 0 ? f->live_from - 1 : 0;
	f->backlog_cursor = 0;
	f->backlog_done = 0;
	f->tokens = 0;
	f->tokens_at = clock_mono_ms();
	send_metrics(f);
	forward_kick(f);
	if (f->ctl.up != NULL)
		f->ctl.up(f->ctl.arg);
}

static void
on_down(void *arg)
{
	struct forward *f = arg;

	f->connected = 0;
	f->inflight = 0;
	if (f->pace_armed) {
		loop_timer_stop(f->pace_fd, "forward: backlog pacing");
		f->pace_armed = 0;
	}
	if (f->ctl.down != NULL)
		f->ctl.down(f->ctl.arg);
}

/* The control plane's traffic passes through to it (control.c). */
static void
on_command(void *arg, const uint8_t *frame, size_t len)
{
	struct forward *f = arg;

	if (f->ctl.command != NULL)
		f->ctl.command(f->ctl.arg, frame, len);
}

static void
on_result_acked(void *arg, uint64_t r)
{
	struct forward *f = arg;

	if (f->ctl.result_acked != NULL)
		f->ctl.result_acked(f->ctl.arg, r);
}

void
forward_set_control(struct forward *f, const struct forward_control *c)
{
	f->ctl = *c;
}

enum uplink_result
forward_send_result(struct forward *f, const char *json, uint64_t r)
{
	if (!f->connected || f->up.ops->send_result == NULL)
		return UPLINK_RETRY;
	return f->up.ops->send_result(&f->up, json, r);
}

/* The backlog is out when nothing of it is left to send or in flight. */
static void
drain_check(struct forward *f)
{
	size_t i;

	if (!f->backlog_done)
		return;
	for (i = 0; i < f->inflight; i++)
		if (f->flight[i].historical)
			return;
	drain_end(&f->drain);
}

static void
on_acked(void *arg, uint64_t seq)
{
	struct forward *f = arg;
	struct drain *d = &f->drain;
	unsigned i;
	int rc;

	for (i = 0; i < f->inflight && f->flight[i].seq != seq; i++)
		;
	if (i < f->inflight) {
		struct flight *fl = &f->flight[i];

		/* seq 0: volatile, part of neither the drain nor live latency */
		if (seq != 0 && fl->historical)
			drain_backlog_acked(d, fl->n_readings);
		else if (seq != 0)
			drain_live_acked(d, fl->t_first, drain_wall_ms() - fl->t_first);
		f->flight[i] = f->flight[--f->inflight];
	}
	if (seq == 0)
		return;		/* volatile: nothing stored to ack, nothing new */
	if ((rc = store_ack(f->store, seq)) < 0)
		log_warnx("%s", f->store->err);
	f->acked++;
	forward_kick(f);
	drain_check(f);
}

/* The window slot of seq, freed: 1 and *out, or 0 if it was not in flight. */
static int
take_flight(struct forward *f, uint64_t seq, struct flight *out)
{
	unsigned i;

	for (i = 0; i < f->inflight && f->flight[i].seq != seq; i++)
		;
	if (i == f->inflight)
		return 0;
	*out = f->flight[i];
	f->flight[i] = f->flight[--f->inflight];
	return 1;
}

/*
 * The platform refused a batch that was in flight (CoAP 4.xx): like an
 * UPLINK_ERROR at send time, it is set aside (counted, kept in the store, not
 * offered again). Its window slot is free now, for the batches behind it.
 */
static void
on_refused(void *arg, uint64_t seq)
{
	struct forward *f = arg;
	struct flight fl;

	if (!take_flight(f, seq, &fl))
		return;
	log_warnx("forward: %s: batch %llu refused by the platform; set aside, kept "
	    "in the store", f->up.ops->name, (unsigned long long)seq);
	set_aside(f, seq);
	forward_kick(f);
	drain_check(f);
}

/*
 * The halves of a split batch are sent like it was, on this connection: the
 * cursor that had passed it goes back to just before it and walks forward
 * again, skipping what is in flight or set aside (acknowledged batches the
 * store no longer returns). A backlog batch's readings were paid for in
 * tokens once; they are given back, since the platform did not take them.
 */
static void
resend_from(struct forward *f, uint64_t seq, const struct flight *fl)
{
	if (seq >= f->live_from) {
		if (f->live_cursor >= seq)
			f->live_cursor = seq - 1;
		return;
	}
	if (f->backlog_cursor >= seq)
		f->backlog_cursor = seq - 1;
	f->backlog_done = 0;
	if (fl->historical)
		f->tokens += fl->n_readings;
}

/*
 * The platform would take a smaller batch (CoAP 4.13): split it in the store
 * and send the halves (which may be split again), or, for a batch that cannot
 * be split (one poll cycle), set it aside with an ALARM.
 */
static void
on_too_large(void *arg, uint64_t seq, size_t limit)
{
	struct forward *f = arg;
	struct split_result r;
	struct flight fl;
	int rc;

	if (!take_flight(f, seq, &fl) || seq == 0)
		return;		/* not ours, or volatile: nothing stored to split */
	rc = split_batch(f->store, seq, &r);
	if (rc == 0) {
		log_info("forward: %s: batch %llu too large for the platform (limit "
		    "%zu): split into %llu..%llu (%u readings) and %llu..%llu (%u)",
		    f->up.ops->name, (unsigned long long)seq, limit,
		    (unsigned long long)r.lo, (unsigned long long)r.lo_last,
		    r.lo_readings, (unsigned long long)r.hi,
		    (unsigned long long)r.hi_last, r.hi_readings);
		f->splits++;
		resend_from(f, seq, &fl);
	} else if (rc == -EMSGSIZE || rc == -EBADMSG) {
		log_warnx("ALARM: forward: %s: batch %llu (%u readings) is larger than "
		    "the platform takes (limit %zu) and cannot be split%s: set aside, "
		    "kept in the store", f->up.ops->name, (unsigned long long)seq,
		    fl.n_readings, limit, rc == -EBADMSG ? " (it does not decode)" :
		    " (one poll cycle)");
		set_aside(f, seq);
	} else if (rc != -ENOENT) {
		/* The store's trouble, not the batch's: offered again next time. */
		log_warnx("%s; batch %llu too large for the platform, not split now",
		    f->store->err, (unsigned long long)seq);
	}
	forward_kick(f);
	drain_check(f);
}

static void
send_metrics(struct forward *f)
{
	if (f->metrics != NULL && f->connected &&
	    f->up.ops->send_metrics(&f->up, f->metrics) == UPLINK_OK) {
		free(f->metrics);
		f->metrics = NULL;
	}
}

void
forward_metrics(struct forward *f, const char *json)
{
	char *m;

	if (f == NULL || (m = strdup(json)) == NULL)
		return;
	free(f->metrics);
	f->metrics = m;
	send_metrics(f);
}

int
forward_connected(const struct forward *f)
{
	return f != NULL && f->connected;
}

unsigned
forward_inflight(const struct forward *f)
{
	return f != NULL ? f->inflight : 0;
}

void
forward_counts(const struct forward *f, struct forward_counts *c)
{
	c->sent = f->sent;
	c->acked = f->acked;
	c->errors = f->errors;
	c->splits = f->splits;
}

int
forward_start(struct loop *l, struct resolver *res,
    const struct site_config *cfg, struct store *st, struct forward **out)
{
	const struct uplink_conf *uc = config_uplink(cfg);
	struct forward *f;
	int rc;

	if (uc == NULL)
		return -EINVAL;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -ENOMEM;
	*out = f;
	f->cfg = cfg;
	f->store = st;
	f->loop = l;
	config_uplink_site(cfg, &f->site);
	f->up.ops = uc->ops;
	f->up.loop = l;
	f->up.resolver = res;
	f->up.site = &f->site;
	f->up.cfg = uc->cfg;
	f->up.ev.up = on_up;
	f->up.ev.down = on_down;
	f->up.ev.acked = on_acked;
	f->up.ev.refused = on_refused;
	f->up.ev.too_large = on_too_large;
	f->up.ev.command = on_command;
	f->up.ev.result_acked = on_result_acked;
	f->up.ev.arg = f;
	if ((f->pace_fd = loop_timer_new(CLOCK_MONOTONIC)) < 0)
		return f->pace_fd;
	if ((rc = loop_add(l, f->pace_fd, EPOLLIN, on_pace, f)) < 0)
		return rc;
	return f->up.ops->start(&f->up);
}

void
forward_stop(struct forward *f)
{
	if (f == NULL)
		return;
	f->connected = 0;
	if (f->up.priv != NULL)
		f->up.ops->stop(&f->up);
	if (f->pace_fd >= 0) {
		loop_del(f->loop, f->pace_fd);
		close(f->pace_fd);
	}
	free(f->metrics);
	free(f->buf);
	free(f);
}
