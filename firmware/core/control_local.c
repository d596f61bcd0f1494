/*
 * Commands and notes that come from the technician's console
 * (docs/console.md), not from the fleet.
 *
 * A console command (config apply, reboot) runs through the fleet's own
 * path: the type's check, the journal ("received" synced before anything
 * runs), its apply, every state a result record the platform receives. It
 * skips only what a frame needs and a local, logged-in request does not: a
 * signature, a sequence (none is spent or raised, so the fleet's next frame
 * is unaffected) and a validity window (so it works on a board whose clock
 * never synchronised, which is when a technician is most likely there).
 *
 * Its id is the gateway's own, "console-<wall ms>-<n>"; the journal keeps
 * it as a verified row (found by id, synced, its end decided by its type at
 * the next start like any command's) with sequence 0, which no fleet
 * command has. That pair (sequence 0, "console-" prefix) is how a record
 * is known as the console's: each one says "source": "console" and who
 * asked, carried from record to record through the journal, so a config
 * applied after the restart still names its technician.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/core/control_internal.h"

#define LOCAL_SOURCE	"console"
/* Notes (login attempts) a burst may have, and how fast it comes back. */
#define NOTES_BURST	30.0
#define NOTES_PER_S	0.5
#define WHO_MAX		200

static int64_t
wall_ms(void)
{
	struct clock_pair now;

	clock_read(&now);
	return now.wall;
}

/*
 * A fresh id: "<prefix>-<wall ms>-<n>". Without a synchronised clock the
 * wall ms of two boots can meet, and n starts again at each start, so an
 * id the journal knows is passed over: a new command must never update an
 * old one's row.
 */
static int
new_id(struct control *c, const char *prefix, char *id, size_t idlen)
{
	struct store_cmd prev;
	int64_t ms = wall_ms();
	int i, n, rc;

	for (i = 0; i < 64; i++) {
		n = snprintf(id, idlen, "%.16s-%lld-%u", prefix, (long long)ms,
		    ++c->local_n);
		if (n < 0 || (size_t)n >= idlen || n > STORE_CMD_ID_MAX)
			return -ENAMETOOLONG;
		if ((rc = store_cmd_get(c->g->store, id, &prev, NULL)) == -ENOENT)
			return 0;
		if (rc < 0)
			return rc;
	}
	return -EEXIST;
}

static int
is_local(const struct store_cmd *sc)
{
	size_t n = strlen(LOCAL_SOURCE);

	return sc->verified && sc->seq == 0 && strncmp(sc->id, LOCAL_SOURCE,
	    n) == 0 && sc->id[n] == '-';
}

/*
 * Called by result_json (control.c) for every record: the console's say
 * where they came from. Who: while control_local runs it, the caller's;
 * later (its end, maybe in the next run) the journal's last record's.
 */
void
control_origin(struct control *c, const struct store_cmd *sc, json_t *rec)
{
	struct store_cmd row;
	json_t *prev = NULL;
	const char *who = c->local_who;
	char *json = NULL;

	if (!is_local(sc))
		return;
	json_object_set_new(rec, "source", json_string(LOCAL_SOURCE));
	if (who == NULL && store_cmd_get(c->g->store, sc->id, &row, &json) == 0 &&
	    (prev = json_loads(json, 0, NULL)) != NULL)
		who = json_string_value(json_object_get(prev, "who"));
	if (who != NULL)
		json_object_set_new(rec, "who", json_string(who));
	json_decref(prev);
	free(json);
}

/* A refusal by the type's check: journaled with the console's id. */
static void
refuse(struct control *c, const struct cmd *k, const char *why)
{
	struct store_cmd sc = { 0 };

	snprintf(sc.id, sizeof(sc.id), "%s", k->id);
	snprintf(sc.type, sizeof(sc.type), "%s", k->type);
	sc.verified = 1;
	control_record(c, &sc, "rejected", why, NULL, 0);
}

int
control_local(struct control *c, const char *type, json_t *args,
    const char *who, char *id, size_t idlen, char *why, size_t whylen)
{
	char w[STORE_CMD_WHY_MAX + 1] = "";
	const struct cmd_type *t;
	struct store_cmd sc;
	struct cmd k;
	int rc;

	if (idlen > 0)
		id[0] = '\0';
	if (whylen > 0)
		why[0] = '\0';
	if (args == NULL)
		args = json_object();
	if (c == NULL) {
		snprintf(why, whylen, "the control plane is off: the site config "
		    "has no \"control\" section");
		rc = -ENOTSUP;
		goto out;
	}
	if (!json_is_object(args) || (t = control_type_find(type)) == NULL) {
		snprintf(why, whylen, "control: '%.32s' with %s: not a command "
		    "this gateway knows", type, json_is_object(args) ?
		    "its arguments" : "arguments that are not an object");
		rc = -EINVAL;
		goto out;
	}
	/* A stop or restart is decided (a config on its way in, SIGTERM):
	 * nothing more starts in this run. */
	if (c->g->exit != GW_EXIT_ERROR) {
		snprintf(why, whylen, "the daemon is stopping or restarting; ask "
		    "again once it is back");
		rc = -EAGAIN;
		goto out;
	}
	memset(&k, 0, sizeof(k));
	if ((rc = new_id(c, LOCAL_SOURCE, k.id, sizeof(k.id))) < 0) {
		snprintf(why, whylen, "control: no command id: %s", strerror(-rc));
		goto out;
	}
	snprintf(id, idlen, "%s", k.id);
	snprintf(k.gw, sizeof(k.gw), "%s", c->g->cfg->gateway);
	snprintf(k.type, sizeof(k.type), "%s", type);
	k.args = args;
	c->local_who = who != NULL && who[0] != '\0' ? who : "unknown";
	if (t->check != NULL && (rc = t->check(c, &k, w, sizeof(w))) < 0) {
		refuse(c, &k, w);
		snprintf(why, whylen, "%s", w);
	} else if ((rc = control_run(c, &k, t, &sc)) < 0)
		snprintf(why, whylen, "not journaled, not run: %s", strerror(-rc));
	else if (strcmp(sc.state, "failed") == 0 ||
	    strcmp(sc.state, "rejected") == 0) {
		snprintf(why, whylen, "%s", sc.why);
		rc = -EIO;
	}
	c->local_who = NULL;
	if (rc == 0)
		log_info("console: command %s (%s) asked for by %.*s", k.id, type,
		    WHO_MAX, who != NULL ? who : "unknown");
out:
	json_decref(args);
	return rc;
}

int
control_local_check(struct control *c, const char *type, json_t *args,
    char *why, size_t whylen)
{
	char w[STORE_CMD_WHY_MAX + 1] = "";
	const struct cmd_type *t = control_type_find(type);
	struct cmd k;
	int rc = 0;

	if (args == NULL || !json_is_object(args) || t == NULL) {
		snprintf(why, whylen, "control: '%.32s': not a command this "
		    "gateway knows, or no arguments", type);
		json_decref(args);
		return -EINVAL;
	}
	memset(&k, 0, sizeof(k));
	snprintf(k.id, sizeof(k.id), "%s-check", LOCAL_SOURCE);
	snprintf(k.gw, sizeof(k.gw), "%s", c->g->cfg->gateway);
	snprintf(k.type, sizeof(k.type), "%s", type);
	k.args = args;
	if (t->check != NULL && (rc = t->check(c, &k, w, sizeof(w))) < 0)
		snprintf(why, whylen, "%s", w);
	json_decref(args);
	return rc;
}

/* A token per note; NOTES_PER_S come back each second, NOTES_BURST at most. */
static int
note_admit(struct control *c)
{
	int64_t now = clock_mono_ms();

	if (c->note_tokens_at == 0)
		c->note_tokens = NOTES_BURST;
	else
		c->note_tokens += (double)(now - c->note_tokens_at) * NOTES_PER_S /
		    1000.0;
	if (c->note_tokens > NOTES_BURST)
		c->note_tokens = NOTES_BURST;
	c->note_tokens_at = now;
	if (c->note_tokens >= 1.0) {
		c->note_tokens -= 1.0;
		return 1;
	}
	c->notes_dropped++;
	if (now - c->note_log_at >= 60000) {
		log_warnx("control: more than %.0f notes in a burst; %llu not "
		    "journaled so far", NOTES_BURST,
		    (unsigned long long)c->notes_dropped);
		c->note_log_at = now;
	}
	return 0;
}

int
control_note(struct control *c, const char *type, const char *state,
    const char *why, json_t *result)
{
	char prefix[17];
	struct store_cmd sc = { 0 };
	size_t n;
	int rc;

	if (c == NULL) {
		json_decref(result);
		return -ENOTSUP;
	}
	n = strcspn(type, ".");
	if (n == 0 || n >= sizeof(prefix) || strlen(type) > STORE_CMD_TYPE_MAX) {
		json_decref(result);
		return -EINVAL;
	}
	if (!note_admit(c)) {
		json_decref(result);
		return -EBUSY;
	}
	memcpy(prefix, type, n);
	prefix[n] = '\0';
	if ((rc = new_id(c, prefix, sc.id, sizeof(sc.id))) < 0) {
		json_decref(result);
		return rc;
	}
	snprintf(sc.type, sizeof(sc.type), "%s", type);
	/* A row of the gateway's own, like the failsafe's: kept by id, synced
	 * (a login's trace must survive a power cut), never run. */
	sc.verified = 1;
	return control_record(c, &sc, state, why, result, 0);
}
