/*
 * The update on the gateway (docs/ota.md): the download into the inactive
 * slot (its worker is firmware/ota/install.c), the switch of the boot
 * environment to the new slot, the reboot, and what the other files share
 * (records, the boot environment, the job's end). The commands' checks are
 * control_ota_cmd.c's; what a start finds afterwards control_ota_boot.c's.
 *
 * The command's journal row carries the update from "received" through
 * "downloading" (progress), "installed", "rebooting", "booted-new" to one
 * final state: "committed", "rolled-back", "rejected", "failed" or
 * "canceled". Every state is a result record. The job file (ota_job.h)
 * carries what a start needs to go on.
 */
#include <errno.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/base/rfile.h"
#include "firmware/base/wfile.h"
#include "firmware/core/control_ota.h"
#include "firmware/core/control_ota_int.h"
#include "firmware/ota/bootenv.h"
#include "firmware/uplink/coap_config.h"

extern char **environ;

#define KEY_FILE_MAX	8192
/* A "downloading" record per tenth of the image. */
#define PROGRESS_STEPS	10

void
ota_refused_key(const char *version, char *key, size_t len)
{
	snprintf(key, len, "ota.refused:%s", version);
}

static int
load_release_key(const struct board *b, struct cmd_pubkey **out, char *err,
    size_t errlen)
{
	char e[256], *pem = NULL;
	size_t len;
	int rc;

	if ((rc = rfile_read(b->release_key, KEY_FILE_MAX, &pem, &len, NULL, e,
	    sizeof(e))) < 0) {
		snprintf(err, errlen, "release_key: %s", e);
		return rc;
	}
	rc = cmd_key_load_public(pem, len, out, e, sizeof(e));
	free(pem);
	if (rc < 0)
		snprintf(err, errlen, "release_key %s: %s", b->release_key, e);
	return rc;
}

int
control_ota_board_check(const char *path, char *err, size_t errlen)
{
	struct cmd_pubkey *k = NULL;
	struct board *b;
	int rc;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return -ENOMEM;
	if ((rc = board_load(path, b, err, errlen)) == 0) {
		if (b->n_slots != 2) {
			snprintf(err, errlen, "%s: updates need two slots, it has %zu",
			    path, b->n_slots);
			rc = -EINVAL;
		} else if (b->n_env == 0) {
			snprintf(err, errlen, "%s: updates need a boot environment", path);
			rc = -EINVAL;
		} else
			rc = load_release_key(b, &k, err, errlen);
	}
	cmd_pubkey_free(k);
	free(b);
	return rc;
}

void
ota_record(struct control *c, const char *state, const char *why, json_t *extra)
{
	struct ota_ctl *o = c->ota;
	json_t *r = extra != NULL ? extra : json_object();

	if (o->sc.id[0] == '\0') {
		/* A job whose command is not in the journal (a store replaced
		 * under it): what it does is logged, nothing is made up. */
		log_info("ota: %s %s%s%s", o->job.version, state, why ? ": " : "",
		    why ? why : "");
		json_decref(r);
		return;
	}
	json_object_set_new(r, "version", json_string(o->job.version));
	json_object_set_new(r, "slot", json_string(o->job.to));
	control_record(c, &o->sc, state, why, r, 0);
}

int
ota_env_get(struct control *c, const char *name, char *buf, size_t len)
{
	struct bootenv *e;
	char err[256];
	int rc;

	buf[0] = '\0';
	if ((rc = bootenv_open(&c->ota->board, &e, err, sizeof(err))) < 0) {
		log_warnx("ota: boot environment: %s", err);
		return rc;
	}
	rc = bootenv_get(e, name, buf, len);
	bootenv_close(e);
	return rc;
}

int
ota_env_set(struct control *c, char *why, size_t len, ...)
{
	const char *kv[16];
	struct bootenv *e;
	size_t n = 0;
	char err[256];
	va_list ap;
	int rc;

	va_start(ap, len);
	while (n + 2 <= 16 && (kv[n] = va_arg(ap, const char *)) != NULL) {
		kv[n + 1] = va_arg(ap, const char *);
		n += 2;
	}
	va_end(ap);
	if ((rc = bootenv_open(&c->ota->board, &e, err, sizeof(err))) == 0) {
		rc = bootenv_set(e, kv, n / 2, err, sizeof(err));
		bootenv_close(e);
	}
	if (rc < 0) {
		snprintf(why, len, "boot environment: %s", err);
		log_warnx("ota: %s", why);
	}
	return rc;
}

/* The download's worker, if any: off the loop, stopped, freed. */
static void
worker_stop(struct control *c)
{
	struct ota_ctl *o = c->ota;

	if (o->w == NULL)
		return;
	loop_del(c->g->loop, ota_worker_fd(o->w));
	ota_worker_free(o->w);
	o->w = NULL;
}

/*
 * The committed security counter: kept in the store and in the boot
 * environment (set with the commit's upgrade_available=0, in one store), so
 * that neither a replaced store nor a rewritten environment alone lowers it.
 */
int64_t
ota_counter(struct control *c)
{
	char buf[24];
	int64_t v = 0, e;

	if (store_ctl_get(c->g->store, "ota.counter", &v) < 0)
		v = 0;
	if (ota_env_get(c, OTA_ENV_COUNTER, buf, sizeof(buf)) == 0 &&
	    (e = strtoll(buf, NULL, 10)) > v)
		v = e;
	return v;
}

/* The job is over: its file goes (the journal has its end). */
void
ota_job_end(struct control *c)
{
	struct ota_ctl *o = c->ota;

	worker_stop(c);
	if (wfile_remove(o->job_path) < 0)
		log_warn("ota: %s", o->job_path);
	ota_job_free(&o->job);
	memset(&o->job, 0, sizeof(o->job));
	o->trial = 0;
}

/* --- the download -------------------------------------------------------- */

static void
on_worker(struct loop *l, int fd, uint32_t events, void *arg);

int
ota_download(struct control *c, size_t first_chunk)
{
	struct ota_ctl *o = c->ota;
	const struct board_slot *to = NULL;
	const struct coap_cfg *coap;
	struct ota_install_cfg *ic;
	char err[200];
	size_t i;
	int rc;

	if ((ic = calloc(1, sizeof(*ic))) == NULL)
		return -ENOMEM;
	for (i = 0; i < o->board.n_slots; i++)
		if (strcmp(o->board.slot[i].name, o->job.to) == 0)
			to = &o->board.slot[i];
	/* The job file is ours, but what it holds is checked like the command
	 * it came from: a file on the state partition is not a signature. */
	if (to == NULL || manifest_parse((const uint8_t *)o->job.manifest,
	    o->job.manifest_len, &ic->m, err, sizeof(err)) < 0 ||
	    manifest_verify(o->release, &ic->m) < 0 ||
	    strcmp(ic->m.version, o->job.version) != 0) {
		log_warnx("ota: %s: the manifest does not verify", o->job_path);
		free(ic);
		return -EINVAL;
	}
	snprintf(ic->url, sizeof(ic->url), "%s", o->job.url);
	ic->offset = o->job.offset;
	snprintf(ic->slot, sizeof(ic->slot), "%s", to->path);
	ic->slot_size = to->size;
	ic->first_chunk = first_chunk;
	snprintf(ic->ca, sizeof(ic->ca), "%s", c->g->cfg->ota.ca);
	/* coaps://: the platform's CoAP server, known by the uplink's key. */
	if ((coap = config_uplink_cfg(c->g->cfg, "coap")) != NULL)
		snprintf(ic->psk, sizeof(ic->psk), "%s", coap->psk_file);
	ic->rate_bps = c->g->cfg->ota.rate_bps;
	ic->retries = c->g->cfg->ota.retries;
	o->reported = (uint64_t)first_chunk * ic->m.chunk;
	o->size = ic->m.size;
	o->chunk = ic->m.chunk;
	rc = ota_worker_start(ic, &o->w);
	free(ic);
	if (rc < 0)
		return rc;
	if ((rc = loop_add(c->g->loop, ota_worker_fd(o->w), EPOLLIN, on_worker,
	    c)) < 0) {
		log_warnx("ota: the download's worker: %s", strerror(-rc));
		ota_worker_free(o->w);
		o->w = NULL;
	}
	return rc;
}

static void
download_ended(struct control *c, const struct ota_ev *ev)
{
	struct ota_ctl *o = c->ota;
	char why[sizeof(ev->why) + 64];

	worker_stop(c);
	if (ev->kind == OTA_EV_VERIFIED) {
		ota_switch(c);
		return;
	}
	snprintf(why, sizeof(why), "%s", ev->why);
	if (ev->rc == -EIO)	/* the slot is not what was written: all again */
		store_ctl_put(c->g->store, "ota.chunks", 0);
	ota_record(c, ev->rc == -ECANCELED ? "canceled" : ev->rc == -EPERM ?
	    "rejected" : "failed", why, json_pack("{s:I}", "fetched",
	    (json_int_t)(o->fetched_base + ev->fetched)));
	ota_job_end(c);
}

static void
on_worker(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct control *c = arg;
	struct ota_ctl *o = c->ota;
	struct ota_ev ev;
	uint64_t bytes, size;

	(void)l;
	(void)fd;
	(void)events;
	while (o->w != NULL && ota_worker_next(o->w, &ev) == 0) {
		switch (ev.kind) {
		case OTA_EV_RETRY:
			log_warnx("ota: %s; trying again", ev.why);
			break;
		case OTA_EV_CHUNK:
			/* The chunk is on the medium: the progress may say so. */
			store_ctl_put(c->g->store, "ota.chunks", (int64_t)ev.chunk + 1);
			size = o->size;
			bytes = (uint64_t)(ev.chunk + 1) * o->chunk;
			if (bytes > size)
				bytes = size;
			o->bytes = bytes;
			if (bytes < size && bytes - o->reported < size / PROGRESS_STEPS)
				break;
			o->reported = bytes;
			ota_record(c, "downloading", NULL, json_pack("{s:I,s:I,s:I}",
			    "bytes", (json_int_t)bytes, "of", (json_int_t)size,
			    "fetched", (json_int_t)(o->fetched_base + ev.fetched)));
			break;
		case OTA_EV_VERIFIED:
		case OTA_EV_FAILED:
			download_ended(c, &ev);
			return;
		}
	}
}

/* --- install: the environment points at the new slot -------------------- */

int
ota_switch(struct control *c)
{
	struct ota_ctl *o = c->ota;
	char why[STORE_CMD_WHY_MAX + 1];

	snprintf(o->job.phase, sizeof(o->job.phase), "switch");
	if (ota_job_write(o->job_path, &o->job) < 0 ||
	    ota_env_set(c, why, sizeof(why), "boot_slot", o->job.to,
	    "upgrade_available", "1", "bootcount", "0", (const char *)NULL) < 0) {
		ota_record(c, "failed", "the boot environment could not be changed; "
		    "the board still boots the old slot", NULL);
		ota_env_set(c, why, sizeof(why), "boot_slot", o->job.from,
		    "upgrade_available", "0", (const char *)NULL);
		ota_job_end(c);
		return -EIO;
	}
	snprintf(o->job.phase, sizeof(o->job.phase), "switched");
	if (ota_job_write(o->job_path, &o->job) < 0) {
		/* Unrecorded, a fallback would find "switch" and try again, for
		 * ever: the board stays on the old slot instead. */
		ota_env_set(c, why, sizeof(why), "boot_slot", o->job.from,
		    "upgrade_available", "0", (const char *)NULL);
		ota_record(c, "failed", "the update's job file could not be "
		    "written; the board still boots the old slot", NULL);
		ota_job_end(c);
		return -EIO;
	}
	store_ctl_put(c->g->store, "ota.chunks", 0);
	ota_record(c, "installed", NULL, NULL);
	ota_reboot(c, NULL);
	return 0;
}

/* "rebooting" (once), then the board's hook. */
void
ota_reboot(struct control *c, const char *why)
{
	struct ota_ctl *o = c->ota;
	char *argv[] = { o->board.reboot_hook, NULL };
	int rc;

	if (strcmp(o->sc.state, "downloading") == 0 &&
	    strcmp(o->job.phase, "switched") == 0)
		ota_record(c, "installed", NULL, NULL);	/* a cut took its record */
	if (strcmp(o->sc.state, "rebooting") != 0 && o->sc.id[0] != '\0' &&
	    strcmp(o->job.phase, "switched") == 0)
		ota_record(c, "rebooting", why, NULL);
	if (o->reboot_pid > 0)
		return;
	if (o->board.reboot_hook[0] == '\0' ||
	    (rc = posix_spawn(&o->reboot_pid, argv[0], NULL, NULL, argv,
	    environ)) != 0) {
		o->reboot_pid = 0;
		log_warnx("ota: cannot run the board's reboot hook '%s': the update "
		    "goes on at the next boot", o->board.reboot_hook);
		return;
	}
	log_info("ota: rebooting into slot %s", strcmp(o->job.phase, "rollback") ==
	    0 ? o->job.from : o->job.to);
}

int
ota_ctl_start(struct control *c)
{
	const struct cfg_ota *cfg = &c->g->cfg->ota;
	const char *s, *slash;
	struct ota_ctl *o;
	char err[512];
	int rc;

	if (!cfg->enabled)
		return 0;
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return -ENOMEM;
	c->ota = o;
	if ((rc = board_load(cfg->board, &o->board, err, sizeof(err))) < 0 ||
	    (rc = load_release_key(&o->board, &o->release, err, sizeof(err))) < 0) {
		log_warnx("ota: %s", err);
		return rc;
	}
	s = getenv("WATTGATE_SLOT");
	if (s != NULL && board_slot_other(&o->board, s) != NULL)
		snprintf(o->booted, sizeof(o->booted), "%s", s);
	else
		log_warnx("ota: the bootloader did not say which slot runs "
		    "(WATTGATE_SLOT%s%s): updates are refused", s ? " = " : "",
		    s ? s : "");
	s = getenv("WATTGATE_IMAGE_VERSION");
	snprintf(o->version, sizeof(o->version), "%s", s != NULL && *s ? s :
	    WG_VERSION);
	slash = strrchr(c->g->cfg->store, '/');
	snprintf(o->job_path, sizeof(o->job_path), "%.*sota.job", slash == NULL ?
	    0 : (int)(slash - c->g->cfg->store + 1), c->g->cfg->store);
	log_info("ota: image %s in slot %s", o->version, o->booted[0] ? o->booted :
	    "?");
	ota_boot(c);
	return 0;
}

json_t *
control_ota_describe(struct control *c)
{
	struct ota_ctl *o = c != NULL ? c->ota : NULL;
	int64_t left;
	json_t *job;

	if (o == NULL)
		return NULL;
	if (o->job.phase[0] == '\0')
		job = json_null();
	else {
		left = o->trial ? (o->trial_end - clock_mono_ms()) / 1000 : 0;
		job = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:b, s:I}",
		    "id", o->job.id, "phase", o->job.phase, "version",
		    o->job.version, "from", o->job.from, "to", o->job.to,
		    "bytes", (json_int_t)o->bytes, "of", (json_int_t)o->size,
		    "why", o->job.why, "trial", o->trial,
		    "trial_left_s", (json_int_t)(left > 0 ? left : 0));
	}
	return json_pack("{s:o, s:s, s:o}", "slot", o->booted[0] ?
	    json_string(o->booted) : json_null(), "image_version", o->version,
	    "job", job);
}

void
ota_ctl_stop(struct control *c)
{
	struct ota_ctl *o = c->ota;

	if (o == NULL)
		return;
	worker_stop(c);
	ota_job_free(&o->job);
	cmd_pubkey_free(o->release);
	free(o);
	c->ota = NULL;
}
