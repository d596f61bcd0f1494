/*
 * The update's two commands (docs/ota.md "Commands"): ota.start's arguments
 * and every check that can be made before a byte is fetched, its start
 * (the job file, the download), and ota.cancel. The download, the switch
 * and the rest are control_ota.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/base64.h>

#include "firmware/base/clock.h"
#include "firmware/core/control_ota_int.h"

#define URL_MAX		1023

struct start_args {
	struct manifest m;
	uint8_t text[MANIFEST_TEXT_MAX];
	size_t text_len;
	const char *url;
	uint64_t offset;
	int force;
};

static int
parse_args(struct control *c, const struct cmd *k, struct start_args *a,
    char *why, size_t len)
{
	static const char *const known[] = { "manifest", "url", "offset", "force",
		NULL };
	const char *key, *b64;
	char err[200];
	json_t *v;
	size_t i;

	json_object_foreach(k->args, key, v) {
		for (i = 0; known[i] != NULL && strcmp(known[i], key) != 0; i++)
			;
		if (known[i] == NULL) {
			snprintf(why, len, "args: unknown member '%.40s'", key);
			return -EINVAL;
		}
	}
	if ((b64 = json_string_value(json_object_get(k->args, "manifest"))) == NULL ||
	    mbedtls_base64_decode(a->text, sizeof(a->text), &a->text_len,
	    (const unsigned char *)b64, strlen(b64)) != 0) {
		snprintf(why, len, "args: manifest: not the base64 of a signed "
		    "manifest of at most %d bytes", MANIFEST_TEXT_MAX);
		return -EINVAL;
	}
	a->url = json_string_value(json_object_get(k->args, "url"));
	if (a->url == NULL || strlen(a->url) > URL_MAX ||
	    (strncmp(a->url, "https://", 8) != 0 && strncmp(a->url, "coap://", 7) != 0 &&
	    strncmp(a->url, "coaps://", 8) != 0)) {
		snprintf(why, len, "args: url: not an https://, coap:// or coaps:// URL "
		    "of at most %d bytes", URL_MAX);
		return -EINVAL;
	}
	v = json_object_get(k->args, "offset");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > MANIFEST_TEXT_MAX)) {
		snprintf(why, len, "args: offset: not an integer in 0..%d (the "
		    "image's start in a bundle)", MANIFEST_TEXT_MAX);
		return -EINVAL;
	}
	a->offset = v != NULL ? (uint64_t)json_integer_value(v) : 0;
	v = json_object_get(k->args, "force");
	if (v != NULL && !json_is_boolean(v)) {
		snprintf(why, len, "args: force: not true or false");
		return -EINVAL;
	}
	a->force = json_is_true(v);
	if (manifest_parse(a->text, a->text_len, &a->m, err, sizeof(err)) < 0) {
		snprintf(why, len, "%s", err);
		return -EINVAL;
	}
	if (manifest_verify(c->ota->release, &a->m) < 0) {
		snprintf(why, len, "manifest: the signature does not verify with the "
		    "board's release key");
		return -EPERM;
	}
	return 0;
}

/* Everything that can be judged before a byte is fetched. */
static int
judge_manifest(struct control *c, const struct start_args *a, char *why,
    size_t len)
{
	struct ota_ctl *o = c->ota;
	const struct board_slot *to;
	struct clock_pair now;
	char key[64];
	int64_t v;

	clock_read(&now);
	if (!manifest_board_ok(&a->m, o->board.name)) {
		snprintf(why, len, "manifest: not for board '%s'", o->board.name);
		return -EPERM;
	}
	if (clock_wall_valid(now.wall) && a->m.expires <= now.wall / 1000) {
		snprintf(why, len, "manifest: expired at %lld", (long long)a->m.expires);
		return -EPERM;
	}
	if (manifest_version_cmp(&a->m, o->version) <= 0) {
		snprintf(why, len, "version %s is not newer than the running %s",
		    a->m.version, o->version);
		return -EPERM;
	}
	if ((int64_t)a->m.counter < (v = ota_counter(c))) {
		snprintf(why, len, "downgrade: security counter %u is below the "
		    "committed %lld", a->m.counter, (long long)v);
		return -EPERM;
	}
	ota_refused_key(a->m.version, key, sizeof(key));
	if (!a->force && store_ctl_get(c->g->store, key, &v) == 0) {
		snprintf(why, len, "version %s rolled back on this gateway before; "
		    "\"force\": true installs it again", a->m.version);
		return -EPERM;
	}
	if (o->booted[0] == '\0' ||
	    (to = board_slot_other(&o->board, o->booted)) == NULL) {
		snprintf(why, len, "the slot this image runs from is unknown "
		    "(WATTGATE_SLOT from the bootloader)");
		return -ENOENT;
	}
	if (a->m.size > to->size) {
		snprintf(why, len, "image of %llu bytes is bigger than slot %s (%llu)",
		    (unsigned long long)a->m.size, to->name,
		    (unsigned long long)to->size);
		return -EFBIG;
	}
	return 0;
}

static int
check_start(struct control *c, const struct cmd *k, char *why, size_t len)
{
	struct start_args *a;
	int rc;

	if (c->ota == NULL) {
		snprintf(why, len, "updates are off: the site config has no \"ota\" "
		    "section");
		return -ENOTSUP;
	}
	if (c->ota->job.phase[0] != '\0') {
		snprintf(why, len, "update %s (%s) is under way", c->ota->job.id,
		    c->ota->job.version);
		return -EBUSY;
	}
	/* Its end would clear the new update's upgrade_available=1. */
	if (c->ota->orphan) {
		snprintf(why, len, "slot %s is on trial (upgrade_available=1) until "
		    "its health check decides", c->ota->booted);
		return -EBUSY;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return -ENOMEM;
	if ((rc = parse_args(c, k, a, why, len)) == 0)
		rc = judge_manifest(c, a, why, len);
	free(a);
	return rc;
}


static int
apply_start(struct control *c, const struct cmd *k, struct store_cmd *sc,
    const char **state, char *why, size_t len, json_t **result)
{
	struct ota_ctl *o = c->ota;
	struct start_args *a;
	int64_t done = 0, image = 0, mine, a_chunk, a_size;
	int rc;

	(void)result;
	*state = "failed";
	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    parse_args(c, k, a, why, len) < 0) {
		free(a);
		return CMD_DONE;
	}
	memset(&o->job, 0, sizeof(o->job));
	o->sc = *sc;
	snprintf(o->job.id, sizeof(o->job.id), "%s", k->id);
	snprintf(o->job.phase, sizeof(o->job.phase), "download");
	snprintf(o->job.from, sizeof(o->job.from), "%s", o->booted);
	snprintf(o->job.to, sizeof(o->job.to), "%s",
	    board_slot_other(&o->board, o->booted)->name);
	snprintf(o->job.version, sizeof(o->job.version), "%s", a->m.version);
	o->job.counter = a->m.counter;
	snprintf(o->job.url, sizeof(o->job.url), "%s", a->url);
	o->job.offset = a->offset;
	o->job.force = a->force;
	o->job.manifest_len = a->m.text_len;
	o->job.manifest = strndup((const char *)a->text, a->m.text_len);
	a_chunk = a->m.chunk;
	a_size = (int64_t)a->m.size;
	/* The same image again (a resent command): what is in the slot stays. */
	memcpy(&mine, a->m.sha256, sizeof(mine));
	if (store_ctl_get(c->g->store, "ota.image", &image) < 0 || image != mine) {
		store_ctl_put(c->g->store, "ota.chunks", 0);
		store_ctl_put(c->g->store, "ota.image", mine);
	} else
		store_ctl_get(c->g->store, "ota.chunks", &done);
	free(a);
	if (o->job.manifest == NULL || ota_job_write(o->job_path, &o->job) < 0) {
		snprintf(why, len, "the job file %s could not be written", o->job_path);
		ota_job_free(&o->job);
		memset(&o->job, 0, sizeof(o->job));
		return CMD_DONE;
	}
	o->fetched_base = 0;
	ota_record(c, "downloading", NULL, json_pack("{s:I,s:I}", "bytes",
	    (json_int_t)(done * a_chunk < a_size ? done * a_chunk : a_size), "of",
	    (json_int_t)a_size));
	if ((rc = ota_download(c, (size_t)done)) < 0) {
		ota_record(c, "failed", "the download could not start", NULL);
		ota_job_end(c);
	}
	return CMD_LATER;
}

/* Found open at start: the job file decides (ota_boot ran already). */
static void
resume_start(struct control *c, struct store_cmd *sc)
{
	if (c->ota != NULL && strcmp(c->ota->job.id, sc->id) == 0)
		return;
	control_record(c, sc, "failed", "interrupted, and no update job was left "
	    "to go on with", NULL, 0);
}

const struct cmd_type cmd_ota_start = {
	"ota.start", check_start, apply_start, resume_start, 0
};

/* ota.cancel: stops a download; past the download it is too late. */
static int
check_cancel(struct control *c, const struct cmd *k, char *why, size_t len)
{
	if (json_object_size(k->args) != 0) {
		snprintf(why, len, "args: 'ota.cancel' takes no arguments");
		return -EINVAL;
	}
	if (c->ota == NULL || c->ota->job.phase[0] == '\0') {
		snprintf(why, len, "no update is under way");
		return -ENOENT;
	}
	if (strcmp(c->ota->job.phase, "download") != 0) {
		snprintf(why, len, "update %s is past its download (%s): it ends by "
		    "its health check", c->ota->job.version, c->ota->job.phase);
		return -EBUSY;
	}
	return 0;
}

static int
apply_cancel(struct control *c, const struct cmd *k, struct store_cmd *sc,
    const char **state, char *why, size_t len, json_t **result)
{
	(void)k;
	(void)sc;
	(void)why;
	(void)len;
	*result = json_pack("{s:s}", "canceled", c->ota->job.id);
	ota_record(c, "canceled", "ota.cancel", NULL);
	ota_job_end(c);
	*state = "applied";
	return CMD_DONE;
}

const struct cmd_type cmd_ota_cancel = {
	"ota.cancel", check_cancel, apply_cancel, NULL, 0
};
