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

#include "firmware/base/kconfig.h"

#ifdef CONFIG_OTA
/* The board description at path and its release key: 0, or -errno with one line. */
int control_ota_board_check(const char *path, char *err, size_t errlen);
#else
static inline int
control_ota_board_check(const char *path, char *err, size_t errlen)
{
	(void)path;
	snprintf(err, errlen, "updates are not built into this image");
	return -ENOTSUP;
}
#endif

#endif
