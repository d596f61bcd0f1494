/*
 * The "ota" section of the site config (docs/ota.md): updates from the fleet
 * are taken when it is present (and the control plane, which brings the
 * ota.start command, is on).
 *
 *   "ota": {
 *     "board": "/etc/wattgate/board.json",  slots, boot environment, release key
 *     "ca": "/etc/wattgate/ca.pem",         the image server's CA (default: the system's)
 *     "health_s": 600,     a new image has this long to poll and be acknowledged
 *     "rate_bps": 0,       download limit in bytes/s for metered links; 0: none
 *     "retries": 8         transient download failures in a row before giving up
 *   }
 *
 * The board description and its release key are loaded and checked here, so
 * --check refuses a wrong file.
 */
#include <stdio.h>

#include "firmware/base/kconfig.h"
#include "firmware/base/rfile.h"
#include "firmware/core/config_internal.h"
#include "firmware/core/control_ota.h"

int
config_parse_ota(struct jc *x, json_t *root, struct site_config *c)
{
	static const char *const keys[] = { "board", "ca", "health_s", "rate_bps",
		"retries", NULL };
	struct cfg_ota *o = &c->ota;
	json_t *j = json_object_get(root, "ota");
	char err[512];
	int rc;

	if (j == NULL)
		return 0;
	if (!IS_ENABLED(CONFIG_OTA))
		return jc_fail(x, "ota", "updates are not built into this image");
	if (!c->control.enabled)
		return jc_fail(x, "ota", "needs the \"control\" section: updates come "
		    "as signed ota.start commands");
	o->enabled = 1;
	o->health_s = 600;
	o->retries = 8;
	if ((rc = jc_object(x, j, "ota")) < 0 ||
	    (rc = jc_check_keys(x, j, "ota", keys)) < 0 ||
	    (rc = jc_get_str(x, j, "ota", "board", JC_REQUIRED, o->board,
	    sizeof(o->board))) < 0 ||
	    (rc = jc_get_str(x, j, "ota", "ca", 0, o->ca, sizeof(o->ca))) < 0 ||
	    (rc = jc_get_uint(x, j, "ota", "health_s", 0, 5, 86400,
	    &o->health_s)) < 0 ||
	    (rc = jc_get_uint(x, j, "ota", "rate_bps", 0, 0, 1000000000,
	    &o->rate_bps)) < 0 ||
	    (rc = jc_get_uint(x, j, "ota", "retries", 0, 0, 1000, &o->retries)) < 0)
		return rc;
	if (o->ca[0] != '\0' && rfile_check(o->ca, err, sizeof(err)) < 0)
		return jc_fail(x, "ota.ca", "%s", err);
	if (control_ota_board_check(o->board, err, sizeof(err)) < 0)
		return jc_fail(x, "ota.board", "%s", err);
	return 0;
}
