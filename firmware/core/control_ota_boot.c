/*
 * What a start finds of an update (docs/ota.md "Boot, health, commit or
 * roll back"): the job file's phase, the slot this image runs from and the
 * boot environment together say where the update stands, whatever came in
 * between (a restart, a power cut, a reboot, the bootloader's fallback).
 *
 * A trial boot (the new slot, upgrade_available=1) runs the health check:
 * within health_s at least one poll cycle with a device that answered, and a
 * batch the uplink acknowledged. Then the commit: upgrade_available=0, the
 * security counter raised, "committed". Otherwise the rollback: the
 * environment points back at the old slot, the board reboots, and the old
 * image records "rolled-back" and refuses that version from then on (unless
 * the fleet says "force"). A new image that never gets this far is taken
 * back by the bootloader (bootcount past bootlimit: altbootcmd); the old
 * image then finds the job "switched" while it runs from the old slot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/core/control_ota_int.h"

#define ENV_RETRY_MS	10000

/* The old image records the end; the version is refused from now on. */
static void
rolled_back(struct control *c, const char *why)
{
	struct ota_ctl *o = c->ota;
	struct clock_pair now;
	char key[64];

	clock_read(&now);
	ota_refused_key(o->job.version, key, sizeof(key));
	if (store_ctl_put(c->g->store, key, now.wall) < 0)
		log_warnx("ota: %s rolled back, but its refusal could not be "
		    "stored (%s): the fleet's next ota.start of it would run",
		    o->job.version, c->g->store->err);
	ota_record(c, "rolled-back", why, NULL);
	ota_job_end(c);
}

/* From the new image: back to the old slot, then reboot. */
static void
roll_back(struct control *c, const char *why)
{
	struct ota_ctl *o = c->ota;
	char err[STORE_CMD_WHY_MAX + 1];

	log_warnx("ota: %s %s fails its trial: %s; rolling back to slot %s",
	    o->job.version, o->job.to, why, o->job.from);
	o->trial = 0;
	snprintf(o->job.phase, sizeof(o->job.phase), "rollback");
	snprintf(o->job.why, sizeof(o->job.why), "%s", why);
	if (ota_job_write(o->job_path, &o->job) < 0 ||
	    ota_env_set(c, err, sizeof(err), "boot_slot", o->job.from,
	    "upgrade_available", "0", "bootcount", "0", (const char *)NULL) < 0)
		log_warnx("ota: the rollback could not be written; the bootloader "
		    "takes the board back after bootlimit boots");
	ota_reboot(c, why);
}

/* The environment is committed: the rest is the store's. */
static void
committed(struct control *c)
{
	struct ota_ctl *o = c->ota;
	int64_t v = 0;

	if ((store_ctl_get(c->g->store, "ota.counter", &v) < 0 ||
	    v < (int64_t)o->job.counter) &&
	    store_ctl_put(c->g->store, "ota.counter", (int64_t)o->job.counter) < 0)
		log_warnx("ota: the security counter %u is in the boot environment "
		    "only: the store refused it (%s)", o->job.counter,
		    c->g->store->err);
	log_info("ota: %s in slot %s committed", o->job.version, o->job.to);
	ota_record(c, "committed", NULL, json_pack("{s:I}", "counter",
	    (json_int_t)o->job.counter));
	ota_job_end(c);
}

/* A healthy orphan trial (orphan_trial below): the trial flag cleared. */
static void
orphan_commit(struct control *c)
{
	struct ota_ctl *o = c->ota;
	char err[STORE_CMD_WHY_MAX + 1];

	if (ota_env_set(c, err, sizeof(err), "upgrade_available", "0",
	    "bootcount", "0", (const char *)NULL) < 0)
		return;		/* the next cycle tries again */
	o->trial = o->orphan = 0;
	log_info("ota: slot %s is healthy: its trial flag cleared "
	    "(upgrade_available=0)", o->booted);
}

static void
commit(struct control *c)
{
	struct ota_ctl *o = c->ota;
	char err[STORE_CMD_WHY_MAX + 1], counter[24];
	int64_t v;

	if (o->orphan) {
		orphan_commit(c);
		return;
	}
	v = ota_counter(c);
	snprintf(counter, sizeof(counter), "%lld", (long long)(v > o->job.counter ?
	    v : (int64_t)o->job.counter));
	snprintf(o->job.phase, sizeof(o->job.phase), "commit");
	if (ota_job_write(o->job_path, &o->job) < 0 ||
	    ota_env_set(c, err, sizeof(err), "upgrade_available", "0", "bootcount",
	    "0", OTA_ENV_COUNTER, counter, (const char *)NULL) < 0) {
		/* Not committed: the next cycle tries again, the deadline holds. */
		snprintf(o->job.phase, sizeof(o->job.phase), "switched");
		return;
	}
	o->trial = 0;
	committed(c);
}

static void
trial_arm(struct control *c)
{
	struct ota_ctl *o = c->ota;
	struct forward_counts fc;

	forward_counts(c->g->fwd, &fc);
	o->trial = 1;
	o->polled = o->acked = 0;
	o->acked_base = fc.acked;
	o->trial_end = clock_mono_ms() + (int64_t)c->g->cfg->ota.health_s * 1000;
}

/*
 * upgrade_available=1 for the slot this image runs from, and no update under
 * way: the environment went back to its older copy (the newest one torn:
 * docs/image.md) or was set by hand. Left alone, the bootloader would count
 * this boot and, past bootlimit, boot the other slot, an older image, for no
 * reason. So this image proves itself as on a trial boot and, healthy,
 * clears the flag: no records (no command asked), the counter untouched.
 * Unhealthy, the bootloader decides, as for any trial.
 */
static void
orphan_trial(struct control *c)
{
	struct ota_ctl *o = c->ota;
	char slot[16] = "", upa[8] = "";

	if (ota_env_get(c, "boot_slot", slot, sizeof(slot)) < 0 ||
	    ota_env_get(c, "upgrade_available", upa, sizeof(upa)) < 0 ||
	    strcmp(upa, "1") != 0 || strcmp(slot, o->booted) != 0)
		return;
	log_warnx("ota: slot %s boots on trial (upgrade_available=1) with no "
	    "update under way (an older copy of the boot environment?): its "
	    "health check decides, %u s", o->booted, c->g->cfg->ota.health_s);
	trial_arm(c);
	o->orphan = 1;
}

static void
trial_begin(struct control *c)
{
	struct ota_ctl *o = c->ota;

	trial_arm(c);
	log_info("ota: trial boot of %s in slot %s: %u s to prove itself",
	    o->job.version, o->job.to, c->g->cfg->ota.health_s);
	/* A cut between the switch and its records took them: said now. */
	if (strcmp(o->sc.state, "downloading") == 0)
		ota_record(c, "installed", NULL, NULL);
	if (strcmp(o->sc.state, "installed") == 0)
		ota_record(c, "rebooting", NULL, NULL);
	if (strcmp(o->sc.state, "booted-new") != 0)
		ota_record(c, "booted-new", NULL, NULL);
}

void
ota_trial_cycle(struct control *c, size_t devices_ok)
{
	struct ota_ctl *o = c->ota;
	struct forward_counts fc;

	if (o == NULL || !o->trial)
		return;
	forward_counts(c->g->fwd, &fc);
	o->polled |= devices_ok > 0;
	o->acked |= fc.acked > o->acked_base;
	if (o->polled && o->acked)
		commit(c);
}

static void after_switch(struct control *c);

/* Once a second (control.c's timer): the trial's deadline, the hook's end. */
void
ota_trial_tick(struct control *c)
{
	struct ota_ctl *o = c->ota;
	char why[STORE_CMD_WHY_MAX + 1];
	int status;

	if (o == NULL)
		return;
	if (o->reboot_pid > 0 && waitpid(o->reboot_pid, &status, WNOHANG) ==
	    o->reboot_pid) {
		o->reboot_pid = 0;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			log_warnx("ota: the reboot hook %s failed; the update goes on "
			    "at the next boot", o->board.reboot_hook);
	}
	if (o->env_retry != 0 && clock_mono_ms() >= o->env_retry)
		after_switch(c);
	if (!o->trial || clock_mono_ms() < o->trial_end)
		return;
	snprintf(why, sizeof(why), "health check: in %u s %s",
	    c->g->cfg->ota.health_s, !o->polled && !o->acked ? "no device "
	    "answered and the uplink acknowledged no batch" : !o->polled ?
	    "no device answered" : "the uplink acknowledged no batch");
	if (o->orphan) {
		log_warnx("ota: slot %s stays on trial: %s; the bootloader "
		    "decides at the next boot", o->booted, why);
		o->trial = o->orphan = 0;
		return;
	}
	roll_back(c, why);
}

/* The job file says "switched": which side of the reboot is this? */
static void
after_switch(struct control *c)
{
	struct ota_ctl *o = c->ota;
	char slot[16] = "", upa[8] = "", why[STORE_CMD_WHY_MAX + 1];

	/* Unreadable, it decides nothing: the timer asks again. */
	if (ota_env_get(c, "boot_slot", slot, sizeof(slot)) < 0 ||
	    ota_env_get(c, "upgrade_available", upa, sizeof(upa)) < 0) {
		log_warnx("ota: the boot environment cannot be read: update %s "
		    "waits until it can", o->job.version);
		o->env_retry = clock_mono_ms() + ENV_RETRY_MS;
		return;
	}
	o->env_retry = 0;
	if (strcmp(o->booted, o->job.to) == 0) {
		if (strcmp(upa, "1") == 0)
			trial_begin(c);
		else
			committed(c);	/* a cut after the commit's environment */
		return;
	}
	if (strcmp(slot, o->job.to) == 0 && strcmp(upa, "1") == 0) {
		ota_reboot(c, NULL);	/* the reboot has not happened yet */
		return;
	}
	snprintf(why, sizeof(why), "the new image did not start: the bootloader "
	    "went back to slot %s after bootlimit tries", o->booted);
	rolled_back(c, why);
}

/*
 * The job file is the daemon's own, but what it holds is checked like the
 * command it came from: the manifest's signature, and the version, counter
 * and slots against it and the board. 0, or -EINVAL (logged).
 */
static int
job_valid(struct control *c)
{
	struct ota_ctl *o = c->ota;
	struct manifest *m;
	char err[200];
	int rc = -EINVAL;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -ENOMEM;
	if (manifest_parse((const uint8_t *)o->job.manifest, o->job.manifest_len,
	    m, err, sizeof(err)) < 0)
		log_warnx("ota: %s: %s", o->job_path, err);
	else if (manifest_verify(o->release, m) < 0)
		log_warnx("ota: %s: the manifest does not verify", o->job_path);
	else if (strcmp(m->version, o->job.version) != 0 ||
	    m->counter != o->job.counter)
		log_warnx("ota: %s: version or counter is not the manifest's",
		    o->job_path);
	else if (board_slot_find(&o->board, o->job.from) == NULL ||
	    board_slot_other(&o->board, o->job.from) == NULL ||
	    strcmp(board_slot_other(&o->board, o->job.from)->name, o->job.to) != 0)
		log_warnx("ota: %s: slots %s -> %s are not the board's two",
		    o->job_path, o->job.from, o->job.to);
	else
		rc = 0;
	free(m);
	return rc;
}

static int
final_state(const char *state)
{
	static const char *const fin[] = { "committed", "rolled-back", "rejected",
		"failed", "canceled", "applied", "expired", NULL };
	size_t i;

	for (i = 0; fin[i] != NULL; i++)
		if (strcmp(state, fin[i]) == 0)
			return 1;
	return 0;
}

void
ota_boot(struct control *c)
{
	struct ota_ctl *o = c->ota;
	char why[STORE_CMD_WHY_MAX + 1];
	int64_t done = 0;
	int rc;

	if ((rc = ota_job_read(o->job_path, &o->job)) < 0) {
		memset(&o->job, 0, sizeof(o->job));
		if (rc == -ENOENT)
			orphan_trial(c);
		return;
	}
	/* Only a verified command's row may carry records: none, none made up. */
	if (store_cmd_get(c->g->store, o->job.id, &o->sc, NULL) < 0)
		memset(&o->sc, 0, sizeof(o->sc));
	if (o->sc.id[0] != '\0' && final_state(o->sc.state)) {
		/* The end was journaled; a cut came before the file went. */
		log_info("ota: update %s ended %s: its job file goes", o->job.id,
		    o->sc.state);
		ota_job_end(c);
		return;
	}
	if (job_valid(c) < 0) {
		ota_record(c, "failed", "the update's job file did not verify", NULL);
		ota_job_end(c);
		return;
	}
	log_info("ota: update %s to %s found in phase %s (slot %s -> %s)",
	    o->job.id, o->job.version, o->job.phase, o->job.from, o->job.to);
	if (strcmp(o->job.phase, "download") == 0) {
		if (strcmp(o->booted, o->job.from) != 0) {
			ota_record(c, "failed", "the board runs another slot than the "
			    "one the download started from", NULL);
			ota_job_end(c);
			return;
		}
		store_ctl_get(c->g->store, "ota.chunks", &done);
		if (ota_download(c, (size_t)done) < 0) {
			ota_record(c, "failed", "the download could not resume", NULL);
			ota_job_end(c);
		}
	} else if (strcmp(o->job.phase, "switch") == 0) {
		if (strcmp(o->booted, o->job.from) == 0)
			ota_switch(c);
		else
			after_switch(c);
	} else if (strcmp(o->job.phase, "switched") == 0) {
		after_switch(c);
	} else if (strcmp(o->job.phase, "commit") == 0) {
		if (strcmp(o->booted, o->job.to) == 0) {
			o->trial = 1;
			o->trial_end = clock_mono_ms() + 1000L *
			    c->g->cfg->ota.health_s;
			commit(c);
		} else
			rolled_back(c, "the bootloader went back to the old slot "
			    "while the new one was being committed");
	} else if (strcmp(o->job.phase, "rollback") == 0) {
		if (strcmp(o->booted, o->job.to) == 0) {
			snprintf(why, sizeof(why), "%s", o->job.why);
			roll_back(c, why);
		} else
			rolled_back(c, o->job.why);
	} else {
		log_warnx("ota: %s: unknown phase '%s'; the update is dropped",
		    o->job_path, o->job.phase);
		ota_record(c, "failed", "the job file was not understood", NULL);
		ota_job_end(c);
	}
}
