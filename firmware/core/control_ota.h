/*
 * Updates from the fleet (issue 15, docs/ota.md): the ota.start and
 * ota.cancel commands, the download and install to the inactive slot
 * (firmware/ota), the trial boot's health check, commit or rollback.
 */
#ifndef WG_CONTROL_OTA_H
#define WG_CONTROL_OTA_H

#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "firmware/base/kconfig.h"

struct control;

#ifdef CONFIG_OTA
/* The board description at path and its release key: 0, or -errno with one line. */
int control_ota_board_check(const char *path, char *err, size_t errlen);
/*
 * The console's "update": {"slot", "image_version", "job": null or the
 * update under way (phase, version, bytes of, trial)}; NULL when updates
 * are off (no "ota" section).
 */
json_t *control_ota_describe(struct control *c);
#else
static inline int
control_ota_board_check(const char *path, char *err, size_t errlen)
{
	(void)path;
	snprintf(err, errlen, "updates are not built into this image");
	return -ENOTSUP;
}

static inline json_t *
control_ota_describe(struct control *c)
{
	(void)c;
	return NULL;
}
#endif

#endif
