/*
 * Failover: one uplink made of two, a primary and a fallback (docs/uplinks.md).
 * The forwarder sees a single uplink (uplink.h) and never learns there are two;
 * this file only decides which child carries the data and translates the
 * children's events.
 *
 * Both children start and keep their own connections and backoff. The primary
 * carries while it is up. When it has been down for failover_s (or has not come
 * up within failover_s of the start), the fallback takes over. A primary that
 * comes back and goes down again without acknowledging anything (a CoAP server
 * that answers its pings and 5.xx to every batch is up and down once per
 * backoff round) does not stop that clock: only an acknowledgement does, or
 * staying up until it runs out (nothing to send is no failure). So failover_s
 * is the longest the data waits for a primary that takes none of it. When the
 * fallback takes over, the forwarder is
 * told "down" (everything in flight is void) and then "up" once the fallback is
 * up, so it sends the schemas again and resends, from the store, everything not
 * acknowledged: live first, the backlog behind it. The primary goes on
 * reconnecting in the background; once it has been up for failover_s again
 * (a link that flaps is not worth switching back to), the data returns to it the
 * same way. If the fallback is down too when the primary returns, there is
 * nothing to wait for: the switch is at once.
 *
 * An ack from the child that is not carrying (a batch it had in flight when the
 * data moved away) is passed on: the platform has that batch, and the forwarder
 * takes an ack for a batch it is not waiting for as what it is (the store deletes
 * it; the receiver drops the copy sent the other way by (gateway, seq)). A
 * refusal from that child is dropped with a line in the log: the batch is being
 * offered the other way, and that path's answer is the one that counts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/uplink/failover_config.h"
#include "firmware/uplink/uplink.h"

enum { PRIMARY, FALLBACK };
enum fo_timer { T_NONE, T_FAILOVER, T_FAILBACK };

struct failover;

struct child {
	struct failover *fo;
	struct uplink u;
	int up;			/* said up, and not down since */
};

struct failover {
	struct uplink *u;	/* ours: the forwarder's events */
	struct child c[2];
	int active;		/* the child that carries the data */
	int fwd_up;		/* the forwarder was told up (and not down since) */
	int timer_fd;
	enum fo_timer timer;
	int stopping;
	int primary_seen;	/* the primary was up at least once */
	int primary_flapped;	/* down again, unacknowledged, on this clock */
	uint64_t switches;
	int64_t fallback_since;	/* CLOCK_MONOTONIC ms; 0 while on the primary */
	int64_t fallback_ms;	/* time carried by the fallback, before that */
};

static const struct failover_cfg *
fcfg(const struct failover *fo)
{
	return fo->u->cfg;
}

static const char *
cname(const struct failover *fo, int i)
{
	return fo->c[i].u.ops->name;
}

static void
fwd_up(struct failover *fo)
{
	if (fo->fwd_up || fo->stopping)
		return;
	fo->fwd_up = 1;
	fo->u->ev.up(fo->u->ev.arg);
}

static void
fwd_down(struct failover *fo)
{
	if (!fo->fwd_up)
		return;
	fo->fwd_up = 0;
	if (!fo->stopping)
		fo->u->ev.down(fo->u->ev.arg);
}

static void
arm(struct failover *fo, enum fo_timer t)
{
	fo->timer = t;
	loop_timer_arm(fo->timer_fd, (int64_t)fcfg(fo)->failover_s * 1000,
	    "uplink failover");
}

static void
disarm(struct failover *fo)
{
	if (fo->timer == T_NONE)
		return;
	fo->timer = T_NONE;
	loop_timer_stop(fo->timer_fd, "uplink failover");
}

/*
 * The data moves to child i: what was in flight the old way is void for the
 * forwarder, which starts again from the store on the new way's up.
 */
static void
switch_to(struct failover *fo, int i, const char *why)
{
	int64_t now = clock_mono_ms();

	disarm(fo);
	fwd_down(fo);
	fo->active = i;
	fo->switches++;
	if (i == FALLBACK) {
		fo->fallback_since = now;
	} else if (fo->fallback_since != 0) {
		fo->fallback_ms += now - fo->fallback_since;
		fo->fallback_since = 0;
	}
	/* Every reason to move is about the primary: down, or back. */
	log_warnx("uplink: %s %s: data now goes over %s%s", cname(fo, PRIMARY), why,
	    cname(fo, i), fo->c[i].up ? "" : " (once it is up)");
	if (fo->c[i].up)
		fwd_up(fo);
}

static void
on_child_up(void *arg)
{
	struct child *ch = arg;
	struct failover *fo = ch->fo;
	int i = ch == &fo->c[PRIMARY] ? PRIMARY : FALLBACK;

	ch->up = 1;
	if (fo->stopping)
		return;
	if (i == fo->active) {
		if (i == PRIMARY) {
			fo->primary_seen = 1;
			/* The failover clock runs on: see on_child_acked. */
		}
		fwd_up(fo);
		return;
	}
	if (i == FALLBACK)
		return;		/* standing by */
	fo->primary_seen = 1;
	if (!fo->c[FALLBACK].up) {
		switch_to(fo, PRIMARY, "is back and the fallback is down");
		return;
	}
	log_info("uplink: %s is back; data returns to it if it stays up for %u s",
	    cname(fo, PRIMARY), fcfg(fo)->failover_s);
	arm(fo, T_FAILBACK);
}

static void
on_child_down(void *arg)
{
	struct child *ch = arg;
	struct failover *fo = ch->fo;
	int i = ch == &fo->c[PRIMARY] ? PRIMARY : FALLBACK;

	ch->up = 0;
	if (fo->stopping)
		return;
	if (i == PRIMARY && fo->timer == T_FAILBACK) {
		log_info("uplink: %s down again; data stays on %s", cname(fo, PRIMARY),
		    cname(fo, FALLBACK));
		disarm(fo);
	}
	if (i != fo->active)
		return;
	fwd_down(fo);
	if (i == PRIMARY && fo->timer != T_FAILOVER) {
		log_info("uplink: %s down; %s takes over in %u s unless it returns",
		    cname(fo, PRIMARY), cname(fo, FALLBACK),
		    fcfg(fo)->failover_s);
		fo->primary_flapped = 0;
		arm(fo, T_FAILOVER);
	} else if (i == PRIMARY) {
		/* Down again before it took anything: the clock keeps running. */
		fo->primary_flapped = 1;
	} else if (fo->c[PRIMARY].up) {
		switch_to(fo, PRIMARY, "is up and the fallback went down");
	}
}

static void
on_child_acked(void *arg, uint64_t seq)
{
	struct child *ch = arg;
	struct failover *fo = ch->fo;

	if (fo->stopping)
		return;
	/* The carrying primary takes data: it is back for real. */
	if (ch == &fo->c[PRIMARY] && fo->active == PRIMARY &&
	    fo->timer == T_FAILOVER && ch->up)
		disarm(fo);
	fo->u->ev.acked(fo->u->ev.arg, seq);
}

static void
on_child_refused(void *arg, uint64_t seq)
{
	struct child *ch = arg;
	struct failover *fo = ch->fo;

	if (fo->stopping)
		return;
	if (ch != &fo->c[fo->active]) {
		log_warnx("uplink: %s refused batch %llu after the data moved to %s; "
		    "that way's answer counts", ch->u.ops->name,
		    (unsigned long long)seq, cname(fo, fo->active));
		return;
	}
	if (fo->u->ev.refused != NULL)
		fo->u->ev.refused(fo->u->ev.arg, seq);
}

/* As a refusal: only the carrying child's answer counts. */
static void
on_child_too_large(void *arg, uint64_t seq, size_t limit)
{
	struct child *ch = arg;
	struct failover *fo = ch->fo;

	if (fo->stopping)
		return;
	if (ch != &fo->c[fo->active]) {
		log_warnx("uplink: %s found batch %llu too large after the data moved "
		    "to %s; that way's answer counts", ch->u.ops->name,
		    (unsigned long long)seq, cname(fo, fo->active));
		return;
	}
	if (fo->u->ev.too_large != NULL)
		fo->u->ev.too_large(fo->u->ev.arg, seq, limit);
}

/*
 * Commands may come either way (the platform reaches the gateway however it
 * can; the journal runs a command id once whichever way it came), and a
 * result acknowledged either way is had by the platform.
 */
static void
on_child_command(void *arg, const uint8_t *frame, size_t len)
{
	struct child *ch = arg;
	struct failover *fo = ch->fo;

	if (fo->u->ev.command != NULL)
		fo->u->ev.command(fo->u->ev.arg, frame, len);
}

static void
on_child_result_acked(void *arg, uint64_t r)
{
	struct child *ch = arg;
	struct failover *fo = ch->fo;

	if (!fo->stopping && fo->u->ev.result_acked != NULL)
		fo->u->ev.result_acked(fo->u->ev.arg, r);
}

static void
on_timer(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct failover *fo = arg;
	enum fo_timer t = fo->timer;
	char why[96];

	(void)l;
	(void)events;
	loop_timer_ack(fd);
	fo->timer = T_NONE;
	if (t == T_FAILOVER && fo->active == PRIMARY &&
	    (!fo->c[PRIMARY].up || fo->primary_flapped)) {
		snprintf(why, sizeof(why), "%s for %u s",
		    !fo->primary_seen ? "not up" : fo->primary_flapped ?
		    "up and down, acknowledging nothing," : "down",
		    fcfg(fo)->failover_s);
		switch_to(fo, FALLBACK, why);
	} else if (t == T_FAILBACK && fo->active == FALLBACK && fo->c[PRIMARY].up) {
		snprintf(why, sizeof(why), "up again for %u s",
		    fcfg(fo)->failover_s);
		switch_to(fo, PRIMARY, why);
	}
}

static int
fo_start(struct uplink *u)
{
	const struct failover_cfg *cf = u->cfg;
	const struct uplink_conf *confs[2] = { &cf->primary, &cf->fallback };
	struct failover *fo;
	int i, rc;

	if ((fo = calloc(1, sizeof(*fo))) == NULL)
		return -ENOMEM;
	u->priv = fo;
	fo->u = u;
	fo->active = PRIMARY;
	fo->timer_fd = -1;
	for (i = 0; i < 2; i++) {
		struct child *ch = &fo->c[i];

		ch->fo = fo;
		ch->u.ops = confs[i]->ops;
		ch->u.cfg = confs[i]->cfg;
		ch->u.site = u->site;
		ch->u.loop = u->loop;
		ch->u.resolver = u->resolver;
		ch->u.ev.up = on_child_up;
		ch->u.ev.down = on_child_down;
		ch->u.ev.acked = on_child_acked;
		ch->u.ev.refused = on_child_refused;
		ch->u.ev.too_large = on_child_too_large;
		ch->u.ev.command = on_child_command;
		ch->u.ev.result_acked = on_child_result_acked;
		ch->u.ev.arg = ch;
	}
	if ((fo->timer_fd = loop_timer_new(CLOCK_MONOTONIC)) < 0)
		return fo->timer_fd;
	if ((rc = loop_add(u->loop, fo->timer_fd, EPOLLIN, on_timer, fo)) < 0) {
		close(fo->timer_fd);
		fo->timer_fd = -1;
		return rc;
	}
	log_info("uplink: %s, %s as the fallback after %u s down",
	    cf->primary.ops->name, cf->fallback.ops->name, cf->failover_s);
	/* Not up within failover_s of the start counts as down that long. */
	arm(fo, T_FAILOVER);
	for (i = 0; i < 2; i++)
		if ((rc = fo->c[i].u.ops->start(&fo->c[i].u)) < 0)
			return rc;
	return 0;
}

/* Everything goes the active way, and only while the forwarder thinks it up. */
static struct uplink *
carrier(struct uplink *u)
{
	struct failover *fo = u->priv;

	return fo->fwd_up ? &fo->c[fo->active].u : NULL;
}

static enum uplink_result
fo_send_batch(struct uplink *u, const uint8_t *buf, size_t len, uint64_t seq)
{
	struct uplink *c = carrier(u);

	return c != NULL ? c->ops->send_batch(c, buf, len, seq) : UPLINK_RETRY;
}

static enum uplink_result
fo_send_schema(struct uplink *u, uint32_t id, const char *json)
{
	struct uplink *c = carrier(u);

	return c != NULL ? c->ops->send_schema(c, id, json) : UPLINK_RETRY;
}

static enum uplink_result
fo_send_result(struct uplink *u, const char *json, uint64_t r)
{
	struct uplink *c = carrier(u);

	return c != NULL && c->ops->send_result != NULL ?
	    c->ops->send_result(c, json, r) : UPLINK_RETRY;
}

static enum uplink_result
fo_send_metrics(struct uplink *u, const char *json)
{
	struct uplink *c = carrier(u);

	return c != NULL ? c->ops->send_metrics(c, json) : UPLINK_RETRY;
}

static void
fo_stop(struct uplink *u)
{
	struct failover *fo = u->priv;
	int i;

	if (fo == NULL)
		return;
	fo->stopping = 1;
	if (fo->fallback_since != 0)
		fo->fallback_ms += clock_mono_ms() - fo->fallback_since;
	log_info("uplink: %llu switch(es) between %s and %s; %lld s carried by %s",
	    (unsigned long long)fo->switches, cname(fo, PRIMARY),
	    cname(fo, FALLBACK), (long long)(fo->fallback_ms / 1000),
	    cname(fo, FALLBACK));
	for (i = 0; i < 2; i++)
		if (fo->c[i].u.priv != NULL)
			fo->c[i].u.ops->stop(&fo->c[i].u);
	if (fo->timer_fd >= 0) {
		loop_del(u->loop, fo->timer_fd);
		close(fo->timer_fd);
	}
	free(fo);
	u->priv = NULL;
}

const struct uplink_ops failover_uplink_ops = {
	.name = "failover",
	/* Both children name it: mqtt and coap. */
	.names_gateway = 1,
	.cfg_size = sizeof(struct failover_cfg),
	.parse = failover_config_parse,
	.start = fo_start,
	.send_batch = fo_send_batch,
	.send_schema = fo_send_schema,
	.send_metrics = fo_send_metrics,
	.send_result = fo_send_result,
	.stop = fo_stop,
};
