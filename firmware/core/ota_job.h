/*
 * The update under way, as a file beside the store (ota.job): what the
 * daemon needs after any restart, power cut or reboot to go on or to end
 * the update, whichever slot it was started from. The boot environment
 * says where the board boots; the phase says what the daemon was about to
 * do to it, and is written (synced) before each change of the environment,
 * so a start can always tell which side of a change it is on
 * (control_ota_boot.c).
 *
 *   download   fetching into the inactive slot ("to")
 *   switch     about to point the environment at "to" (upgrade_available=1)
 *   switched   the environment points at "to": the reboot comes next, then
 *              the trial boot
 *   commit     the new image proved itself: about to clear upgrade_available
 *   rollback   about to point the environment back at "from" (why says why)
 *
 * No file: no update under way. The format is one JSON object, read by both
 * the old and the new image: members are only ever added.
 */
#ifndef WG_OTA_JOB_H
#define WG_OTA_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/store/store_journal.h"

struct ota_job {
	char id[STORE_CMD_ID_MAX + 1];	/* the ota.start command */
	char phase[12];
	char from[16], to[16];		/* slot names */
	char version[24];
	uint32_t counter;
	char url[1024];
	uint64_t offset;
	int force;
	char *manifest;			/* the signed manifest text, malloc'd */
	size_t manifest_len;
	char why[STORE_CMD_WHY_MAX + 1];	/* rollback: the reason */
};

/* 0, -ENOENT (no update under way), -EINVAL (not readable: logged), -errno. */
int ota_job_read(const char *path, struct ota_job *j);
/* Durably (wfile_replace). 0 or -errno. */
int ota_job_write(const char *path, const struct ota_job *j);
void ota_job_free(struct ota_job *j);

#endif
