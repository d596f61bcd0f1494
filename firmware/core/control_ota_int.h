/*
 * Shared by the update's files: control_ota_cmd.c (ota.start's checks and
 * start, ota.cancel), control_ota.c (the download, the switch to the new
 * slot, the reboot) and control_ota_boot.c (what a start finds: the trial
 * boot, its health check, commit or rollback).
 */
#ifndef WG_CONTROL_OTA_INT_H
#define WG_CONTROL_OTA_INT_H

#include <limits.h>
#include <stdint.h>
#include <sys/types.h>

#include "firmware/core/control_internal.h"
#include "firmware/core/ota_job.h"
#include "firmware/ota/board.h"
#include "firmware/ota/install.h"

struct ota_ctl {
	struct board board;
	struct cmd_pubkey *release;	/* the board's release key */
	char booted[16];		/* the slot this image runs from; "": unknown */
	char version[24];		/* this image's version */
	char job_path[PATH_MAX];
	struct ota_job job;		/* job.phase[0] == 0: none */
	struct store_cmd sc;		/* the ota.start's journal row */
	struct ota_worker *w;
	uint64_t size, chunk;		/* the image's, from its manifest */
	uint64_t reported;		/* bytes in the last "downloading" record */
	uint64_t bytes;			/* on the medium so far (the console) */
	uint64_t fetched_base;		/* fetched by earlier runs of this job */
	/* the trial boot */
	int trial;
	int orphan;			/* a trial with no update under way */
	int64_t trial_end;		/* CLOCK_MONOTONIC ms */
	int polled, acked;
	uint64_t acked_base;
	int64_t env_retry;		/* CLOCK_MONOTONIC ms; 0: none due */
	pid_t reboot_pid;
};

/* The boot environment's copy of the committed security counter. */
#define OTA_ENV_COUNTER	"wg_security_counter"

/* control_ota.c */
int64_t ota_counter(struct control *c);
int ota_switch(struct control *c);
void ota_reboot(struct control *c, const char *why);
int ota_download(struct control *c, size_t first_chunk);
void ota_job_end(struct control *c);
/* The record of the ota.start in state, with the job's version and slot. */
void ota_record(struct control *c, const char *state, const char *why,
    json_t *extra);
/* Boot environment: name's value into buf (0, -ENOENT, -errno, logged). */
int ota_env_get(struct control *c, const char *name, char *buf, size_t len);
/* Sets the pairs (NULL-terminated list name, value, ...) in one store. */
int ota_env_set(struct control *c, char *why, size_t len, ...);
/* The version refused after a rollback: "ota.refused:" VERSION. */
void ota_refused_key(const char *version, char *key, size_t len);

/* control_ota_boot.c */
void ota_boot(struct control *c);
void ota_trial_cycle(struct control *c, size_t devices_ok);
void ota_trial_tick(struct control *c);

#endif
