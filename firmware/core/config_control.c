/*
 * The "control" section of the site config (docs/commands.md): the control
 * plane is on when it is present.
 *
 *   "control": {
 *     "key": "/etc/wattgate/command.pub",  the fleet's command public key (PEM)
 *     "poll_s": 60,             CoAP: how often to ask for commands
 *     "trial_cycles": 3,        config.set: cycles a new config has to prove itself
 *     "failsafe_after_s": 300,  link lost this long: chargers to their failsafe_a
 *     "reboot_hook": PATH       what "reboot" runs (board.json names the board's)
 *   }
 *
 * The key is read and checked here, so --check refuses a wrong file and the
 * daemon never starts with a control plane that can verify nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/base/rfile.h"
#include "firmware/base/kconfig.h"
#include "firmware/core/config_internal.h"
#include "firmware/core/control.h"

/* A PEM public key is ~180 bytes; a whole certificate chain would be a mistake. */
#define KEY_FILE_MAX	8192

static int
load_key(struct jc *x, struct cfg_control *ctl)
{
	char err[256], *pem = NULL;
	size_t len = 0;
	int rc;

	if ((rc = rfile_read(ctl->key_file, KEY_FILE_MAX, &pem, &len, NULL, err,
	    sizeof(err))) < 0)
		return jc_fail(x, "control.key", "%s", err);
	if ((rc = control_key_check(pem, len, err, sizeof(err))) < 0) {
		free(pem);
		return jc_fail(x, "control.key", "%s: %s", ctl->key_file, err);
	}
	ctl->key_pem = pem;
	ctl->key_len = len;
	return 0;
}

int
config_parse_control(struct jc *x, json_t *root, struct site_config *c)
{
	static const char *const keys[] = { "key", "poll_s", "trial_cycles",
		"failsafe_after_s", "reboot_hook", NULL };
	struct cfg_control *ctl = &c->control;
	json_t *o = json_object_get(root, "control");
	int rc;

	if (o == NULL)
		return 0;
	if (!IS_ENABLED(CONFIG_CONTROL))
		return jc_fail(x, "control", "the control plane is not built into "
		    "this image");
	ctl->enabled = 1;
	ctl->poll_s = 60;
	ctl->trial_cycles = 3;
	ctl->failsafe_after_s = 300;
	if ((rc = jc_object(x, o, "control")) < 0 ||
	    (rc = jc_check_keys(x, o, "control", keys)) < 0 ||
	    (rc = jc_get_str(x, o, "control", "key", JC_REQUIRED, ctl->key_file,
	    sizeof(ctl->key_file))) < 0 ||
	    (rc = jc_get_uint(x, o, "control", "poll_s", 0, 5, 86400,
	    &ctl->poll_s)) < 0 ||
	    (rc = jc_get_uint(x, o, "control", "trial_cycles", 0, 1, 100,
	    &ctl->trial_cycles)) < 0 ||
	    (rc = jc_get_uint(x, o, "control", "failsafe_after_s", 0, 10, 86400,
	    &ctl->failsafe_after_s)) < 0 ||
	    (rc = jc_get_str(x, o, "control", "reboot_hook", 0, ctl->reboot_hook,
	    sizeof(ctl->reboot_hook))) < 0)
		return rc;
	if (ctl->reboot_hook[0] != '\0' && ctl->reboot_hook[0] != '/')
		return jc_fail(x, "control.reboot_hook", "'%s' is not an absolute path",
		    ctl->reboot_hook);
	return load_key(x, ctl);
}
