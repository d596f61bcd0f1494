/*
 * The control plane: intake of command frames, the checks every command
 * passes before anything runs, the journal, and the outbox of result
 * records (docs/commands.md).
 *
 * A frame is judged in this order, cheapest and least trusting first:
 * parsed (lengths, strict JSON), signature (the fleet's key from the site
 * config), addressed to this gateway, its id not run before (then its
 * recorded result goes out again, nothing runs), its sequence above the last
 * accepted one, its validity window against a synchronised clock, a type in
 * the table, the type's own argument check. Each refusal is journaled with
 * its reason and becomes a result record. A command that passes is journaled
 * "received" (with its sequence raised, fsynced) before its type runs it, so
 * a restart at any point finds it in the journal and never runs it twice.
 *
 * A flood costs bounded work: frames beyond a token bucket (FRAMES_PER_S,
 * FRAMES_BURST) are dropped unread and counted (the count is in "state" and
 * in the log once a minute); the journal keeps at most
 * STORE_CMD_UNVERIFIED_MAX rows of frames that did not verify.
 */
#include "firmware/core/control.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/core/control_internal.h"
#include "firmware/core/inbox.h"

#define FRAMES_PER_S	10.0
#define FRAMES_BURST	100.0
#define RESULTS_INFLIGHT 8
#define REPEAT_MS	60000
/* The fleet's clock may run ahead of ours by this much (nbf). */
#define NBF_SKEW_S	60

static void pump(struct control *c);

static int64_t
wall_ms(void)
{
	struct clock_pair now;

	clock_read(&now);
	return now.wall;
}

/* The record: {"gw","id","seq","type","state","why","at","result"}; r goes
 * in front when it is sent (store_result_peek). */
static char *
result_json(struct control *c, const struct store_cmd *sc, json_t *result)
{
	json_t *o = json_object();
	char *s;

	json_object_set_new(o, "gw", json_string(c->g->cfg->gateway));
	json_object_set_new(o, "id", sc->id[0] != '\0' ? json_string(sc->id) :
	    json_null());
	json_object_set_new(o, "seq", json_integer((json_int_t)sc->seq));
	json_object_set_new(o, "type", sc->type[0] != '\0' ? json_string(sc->type) :
	    json_null());
	json_object_set_new(o, "state", json_string(sc->state));
	if (sc->why[0] != '\0')
		json_object_set_new(o, "why", json_string(sc->why));
	json_object_set_new(o, "at", json_integer(sc->at_ms));
	control_origin(c, sc, o);
	if (result != NULL)
		json_object_set(o, "result", result);
	s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	return s;
}

int
control_record(struct control *c, struct store_cmd *sc, const char *state,
    const char *why, json_t *result, int accept_seq)
{
	char *json;
	int rc;

	snprintf(sc->state, sizeof(sc->state), "%s", state);
	snprintf(sc->why, sizeof(sc->why), "%s", why != NULL ? why : "");
	sc->at_ms = wall_ms();
	if ((json = result_json(c, sc, result)) == NULL) {
		json_decref(result);
		return -ENOMEM;
	}
	json_decref(result);
	rc = store_cmd_record(c->g->store, sc, json, accept_seq, NULL);
	free(json);
	if (rc < 0) {
		log_warnx("command %s: cannot journal '%s': %s", sc->id, state,
		    c->g->store->err);
		return rc;
	}
	if (accept_seq && sc->seq > c->last_seq)
		c->last_seq = sc->seq;
	log_info("command %s (%s, seq %llu): %s%s%s", sc->id[0] ? sc->id : "-",
	    sc->type[0] ? sc->type : "-", (unsigned long long)sc->seq, state,
	    sc->why[0] ? ": " : "", sc->why);
	pump(c);
	return 0;
}

/* A frame refused before it could be trusted: its own journal row. */
static void
refuse_unverified(struct control *c, const struct cmd *k, const char *why)
{
	struct store_cmd sc = { 0 };

	if (k != NULL) {
		snprintf(sc.id, sizeof(sc.id), "%s", k->id);
		snprintf(sc.type, sizeof(sc.type), "%s", k->type);
		sc.seq = k->seq;
	}
	control_record(c, &sc, "rejected", why, NULL, 0);
}

static void
make_sc(const struct cmd *k, struct store_cmd *sc)
{
	memset(sc, 0, sizeof(*sc));
	snprintf(sc->id, sizeof(sc->id), "%s", k->id);
	snprintf(sc->type, sizeof(sc->type), "%s", k->type);
	sc->seq = k->seq;
	sc->verified = 1;
}

/*
 * The id ran before: its recorded result goes out again; nothing runs. At
 * most once a minute per id (REPEATS remembered): a frame replayed in a
 * loop must not cost a synced transaction each time.
 */
static int
repeat(struct control *c, const struct cmd *k)
{
	struct store_cmd sc;
	char *prev = NULL;
	int64_t now = clock_mono_ms();
	uint64_t r;
	size_t i;
	int rc;

	for (i = 0; i < REPEATS; i++)
		if (strcmp(c->repeats[i].id, k->id) == 0 &&
		    now - c->repeats[i].at < REPEAT_MS) {
			c->repeats_dropped++;
			return 0;
		}
	snprintf(c->repeats[c->repeat_next].id, sizeof(c->repeats[0].id), "%s", k->id);
	c->repeats[c->repeat_next].at = now;
	c->repeat_next = (c->repeat_next + 1) % REPEATS;
	if ((rc = store_cmd_get(c->g->store, k->id, &sc, &prev)) < 0)
		return rc;
	rc = store_cmd_record(c->g->store, &sc, prev, 0, &r);
	free(prev);
	if (rc == 0)
		log_info("command %s seen again: its recorded result (%s) is sent "
		    "again, it does not run again", k->id, sc.state);
	pump(c);
	return 0;
}

/*
 * The validity window. Before the wall clock is synchronised
 * (docs/clock.md) no window can be judged: the board may think it is 1970
 * and run a command that expired a year ago. So nothing runs then, and the
 * rejection says why.
 */
static const char *
judge_time(const struct cmd *k, char *why, size_t len)
{
	int64_t now = wall_ms();

	if (!clock_wall_valid(now)) {
		snprintf(why, len, "the clock is not synchronised yet, so the "
		    "validity window (nbf %lld, exp %lld) cannot be judged; "
		    "send it again after NTP sync", (long long)k->nbf,
		    (long long)k->exp);
		return "rejected";
	}
	now /= 1000;
	if (now >= k->exp) {
		snprintf(why, len, "expired at %lld, %lld s ago", (long long)k->exp,
		    (long long)(now - k->exp));
		return "expired";
	}
	if (now + NBF_SKEW_S < k->nbf) {
		snprintf(why, len, "not valid before %lld (%lld s from now)",
		    (long long)k->nbf, (long long)(k->nbf - now));
		return "rejected";
	}
	return NULL;
}

/*
 * A journal that began after the frame was signed (a new gateway, or a
 * store quarantined and started empty) cannot know which commands ran
 * before it, nor the last sequence: such a frame could be a replay, so it
 * is refused; the fleet signs it anew. NBF_SKEW_S of grace for clocks.
 */
static const char *
judge_birth(struct control *c, const struct cmd *k, char *why, size_t len)
{
	int64_t born;

	if (store_ctl_get(c->g->store, "created", &born) < 0 ||
	    k->nbf * 1000 + NBF_SKEW_S * 1000 >= born)
		return NULL;
	snprintf(why, len, "signed (nbf %lld) before this gateway's command "
	    "journal began (%lld): a new or replaced store cannot tell a replay; "
	    "sign it anew", (long long)k->nbf, (long long)(born / 1000));
	return "rejected";
}

/* Also the console's way in (control_local.c): its commands have no
 * sequence (0), so they raise none. */
int
control_run(struct control *c, const struct cmd *k, const struct cmd_type *t,
    struct store_cmd *out)
{
	struct store_cmd sc;
	const char *state = "failed";
	char why[STORE_CMD_WHY_MAX + 1] = "";
	json_t *result = NULL;
	int rc;

	make_sc(k, &sc);
	if ((rc = control_record(c, &sc, "received", NULL, t->journal_args ?
	    json_deep_copy(k->args) : NULL, k->seq > 0)) < 0)
		return rc;	/* not journaled: it must not run */
	if (t->apply(c, k, &sc, &state, why, sizeof(why), &result) == CMD_DONE)
		control_record(c, &sc, state, why, result, 0);
	if (out != NULL)
		*out = sc;
	return 0;
}

static void
judge(struct control *c, const struct cmd *k)
{
	const struct cmd_type *t;
	struct store_cmd sc, prev;
	char why[STORE_CMD_WHY_MAX + 1];
	const char *state;
	int rc;

	if (cmd_verify(c->key, k) < 0) {
		refuse_unverified(c, k, "the signature does not verify with the "
		    "configured command key");
		return;
	}
	make_sc(k, &sc);
	if (strcmp(k->gw, c->g->cfg->gateway) != 0) {
		snprintf(why, sizeof(why), "addressed to gateway '%s', this is '%s'",
		    k->gw, c->g->cfg->gateway);
		sc.verified = 0;	/* another gateway's id: not ours to keep */
		control_record(c, &sc, "rejected", why, NULL, 0);
		return;
	}
	if ((rc = store_cmd_get(c->g->store, k->id, &prev, NULL)) == 0) {
		repeat(c, k);
		return;
	}
	if (k->seq <= c->last_seq) {
		snprintf(why, sizeof(why), "replayed: sequence %llu is not above the "
		    "last accepted %llu", (unsigned long long)k->seq,
		    (unsigned long long)c->last_seq);
		control_record(c, &sc, "rejected", why, NULL, 0);
		return;
	}
	/* From here on the sequence is spent, whatever the outcome. */
	if ((state = judge_time(k, why, sizeof(why))) != NULL ||
	    (state = judge_birth(c, k, why, sizeof(why))) != NULL) {
		control_record(c, &sc, state, why, NULL, 1);
		return;
	}
	if ((t = control_type_find(k->type)) == NULL) {
		snprintf(why, sizeof(why), "unknown type '%s'", k->type);
		control_record(c, &sc, "rejected", why, NULL, 1);
		return;
	}
	why[0] = '\0';
	if (t->check != NULL && t->check(c, k, why, sizeof(why)) < 0) {
		control_record(c, &sc, "rejected", why, NULL, 1);
		return;
	}
	control_run(c, k, t, NULL);
}

/* A token per frame; FRAMES_PER_S come back each second, FRAMES_BURST at most. */
static int
admit(struct control *c)
{
	int64_t now = clock_mono_ms();

	c->tokens += (double)(now - c->tokens_at) * FRAMES_PER_S / 1000.0;
	if (c->tokens > FRAMES_BURST)
		c->tokens = FRAMES_BURST;
	c->tokens_at = now;
	if (c->tokens >= 1.0) {
		c->tokens -= 1.0;
		return 1;
	}
	c->flood_dropped++;
	if (now - c->flood_log_at >= 60000) {
		log_warnx("control: more than %.0f command frames a second; %llu "
		    "dropped unread so far (counted in \"state\")", FRAMES_PER_S,
		    (unsigned long long)c->flood_dropped);
		c->flood_log_at = now;
	}
	return 0;
}

/*
 * A frame that came while this run stops (inbox.h): kept for the next run.
 * Also the forward's command callback after control_stop, with the gateway
 * as arg, until the uplink has said goodbye.
 */
static void
keep_late(void *arg, const uint8_t *frame, size_t len)
{
	inbox_keep_said(((struct gateway *)arg)->cfg->store, frame, len);
}

static void
intake(void *arg, const uint8_t *frame, size_t len)
{
	struct control *c = arg;
	struct cmd k;
	char err[256];

	if (!admit(c))
		return;
	c->received++;
	if (cmd_parse(frame, len, &k, err, sizeof(err)) < 0) {
		refuse_unverified(c, NULL, err);
		return;
	}
	judge(c, &k);
	cmd_free(&k);
}

/*
 * The frames kept at the last stop, judged once the loop runs (a config.set
 * among them restarts the gateway, which takes a running loop to stop) and
 * before any newer frame (their sequence numbers are lower).
 */
static void
take_kept(struct control *c)
{
	size_t held;

	if (c->inbox_taken || c->g->exit != GW_EXIT_ERROR)
		return;
	c->inbox_taken = 1;
	if ((held = inbox_take(c->g->cfg->store, intake, c)) > 0)
		log_info("control: %zu command frame(s) kept at the last stop "
		    "judged", held);
}

static void
on_command(void *arg, const uint8_t *frame, size_t len)
{
	struct control *c = arg;

	take_kept(c);
	/* A stop or reload is decided: nothing more runs in this process. */
	if (c->g->exit != GW_EXIT_ERROR) {
		c->held_at_stop++;
		keep_late(c->g, frame, len);
		return;
	}
	intake(c, frame, len);
}

/* Records oldest first, RESULTS_INFLIGHT at a time, while the link is up. */
static void
pump(struct control *c)
{
	uint64_t r;
	char *json;

	while (c->connected && c->r_inflight < RESULTS_INFLIGHT &&
	    store_result_peek(c->g->store, c->r_sent, &r, &json) == 0) {
		enum uplink_result res = forward_send_result(c->g->fwd, json, r);

		free(json);
		if (res == UPLINK_RETRY)
			return;
		c->r_sent = r;
		if (res == UPLINK_ERROR) {
			/* It can never go (larger than the link takes): the journal
			 * keeps the outcome; only this record is given up. */
			log_warnx("control: result record %llu cannot be sent; "
			    "dropped from the outbox (the journal keeps it)",
			    (unsigned long long)r);
			store_result_ack(c->g->store, r);
			continue;
		}
		c->r_inflight++;
	}
}

static void
on_result_acked(void *arg, uint64_t r)
{
	struct control *c = arg;

	if (store_result_ack(c->g->store, r) < 0)
		log_warnx("control: result %llu: %s", (unsigned long long)r,
		    c->g->store->err);
	if (c->r_inflight > 0)
		c->r_inflight--;
	pump(c);
}

static void
on_up(void *arg)
{
	struct control *c = arg;

	c->connected = 1;
	c->r_sent = 0;
	c->r_inflight = 0;
	c->down_since = 0;
	charger_ctl_link(c, 1, 0);
	pump(c);
}

static void
on_down(void *arg)
{
	struct control *c = arg;

	c->connected = 0;
	c->r_inflight = 0;
	c->down_since = clock_mono_ms();
}

/* Once a second: the failsafe's clock, the reboot hook's end. */
static void
on_timer(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct control *c = arg;
	char why[96];
	int status;

	(void)l;
	(void)events;
	loop_timer_ack(fd);
	if (c->reload_pending && c->g->exit == GW_EXIT_ERROR) {
		c->g->exit = GW_EXIT_RELOAD;
		loop_stop(c->g->loop);
		return;
	}
	take_kept(c);
	charger_ctl_link(c, c->connected, c->connected ? 0 :
	    clock_mono_ms() - c->down_since);
	ota_trial_tick(c);
	if (c->reboot_pid > 0 && waitpid(c->reboot_pid, &status, WNOHANG) ==
	    c->reboot_pid) {
		c->reboot_pid = 0;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
			return;	/* the board goes down; "applied" after the start */
		snprintf(why, sizeof(why), "the reboot hook %s", WIFEXITED(status) ?
		    "exited with an error" : "was killed");
		control_record(c, &c->reboot_sc, "failed", why, NULL, 0);
	}
}

int
control_key_check(const char *pem, size_t len, char *err, size_t errlen)
{
	struct cmd_pubkey *k = NULL;
	int rc;

	if ((rc = cmd_key_load_public(pem, len, &k, err, errlen)) < 0)
		return rc;
	cmd_pubkey_free(k);
	return 0;
}

void
control_reading(struct control *c, const struct reading *r)
{
	if (c != NULL)
		charger_ctl_reading(c, r);
}

void
control_cycle(struct control *c, size_t devices_ok)
{
	if (c == NULL)
		return;
	charger_ctl_cycle(c);
	config_trial_cycle(c, devices_ok);
	ota_trial_cycle(c, devices_ok);
}

/*
 * Commands a restart interrupted: each type ends its own (resume), never
 * by running it again.
 */
static void
resume_open(struct control *c)
{
	struct store_cmd open[16];
	size_t n, i;

	if (store_cmd_open(c->g->store, open, 16, &n) < 0)
		return;
	for (i = 0; i < n && i < 16; i++) {
		const struct cmd_type *t = control_type_find(open[i].type);

		if (t != NULL && t->resume != NULL)
			t->resume(c, &open[i]);
		else
			control_record(c, &open[i], "failed", "interrupted by a "
			    "restart before its outcome was known", NULL, 0);
	}
}

int
control_start(struct gateway *g, struct control **out)
{
	const struct cfg_control *cc = &g->cfg->control;
	struct forward_control fc;
	struct control *c;
	char err[256];
	int rc;

	*out = NULL;
	if (!cc->enabled)
		return 0;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	c->g = g;
	c->timer_fd = -1;
	c->tokens = FRAMES_BURST;
	c->tokens_at = clock_mono_ms();
	c->down_since = clock_mono_ms();
	*out = c;
	if ((rc = cmd_key_load_public(cc->key_pem, cc->key_len, &c->key, err,
	    sizeof(err))) < 0) {
		log_warnx("control: %s: %s", cc->key_file, err);
		return rc;
	}
	if ((rc = store_cmd_last_seq(g->store, &c->last_seq)) < 0) {
		log_warnx("control: %s", g->store->err);
		return rc;
	}
	if ((c->timer_fd = loop_timer_new(CLOCK_MONOTONIC)) < 0)
		return c->timer_fd;
	if ((rc = loop_add(g->loop, c->timer_fd, EPOLLIN, on_timer, c)) < 0 ||
	    (rc = loop_timer_after(c->timer_fd, 1000, 1000)) < 0 ||
	    (rc = charger_ctl_start(c)) < 0 || (rc = config_trial_start(c)) < 0 ||
	    (rc = ota_ctl_start(c)) < 0)
		return rc;
	resume_open(c);
	fc = (struct forward_control){ on_up, on_down, on_command, on_result_acked, c };
	forward_set_control(g->fwd, &fc);
	log_info("control: commands on; last accepted sequence %llu",
	    (unsigned long long)c->last_seq);
	return 0;
}

void
control_stop(struct control *c)
{
	if (c == NULL)
		return;
	/* Frames the uplink still takes in while it says goodbye are kept. */
	if (c->g->fwd != NULL)
		forward_set_control(c->g->fwd, &(struct forward_control){
		    .command = keep_late, .arg = c->g });
	charger_ctl_stop(c);
	config_trial_stop(c);
	ota_ctl_stop(c);
	scan_ctl_stop(c);
	if (c->timer_fd >= 0) {
		loop_del(c->g->loop, c->timer_fd);
		close(c->timer_fd);
	}
	cmd_pubkey_free(c->key);
	free(c);
}
