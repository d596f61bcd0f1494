/*
 * "console.password" (docs/console.md "Login"): the fleet sets the
 * console's per-device password, or clears it.
 *
 *   {"salt": HEX, "iterations": N, "hash": HEX}    (pwhash.h's rules)
 *   {"clear": true}
 *
 * The fleet sends the PBKDF2 hash, never the password (wattgate-fleet
 * password-hash makes the args): the gateway never holds it, and this type
 * keeps journal_args 0 so that not even the hash is copied into the journal
 * or a result record. The file is replaced whole and synced (wfile.h): a
 * power cut leaves the old password or the new one, never half of either.
 * The next login reads it; sessions already open stay, but a password
 * session made under the old one is not resumed (console_auth.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/base/jcheck.h"
#include "firmware/base/log.h"
#include "firmware/base/rfile.h"
#include "firmware/base/wfile.h"
#include "firmware/core/console_pw.h"
#include "firmware/core/control_internal.h"

/* The file holds one small JSON object. */
#define PASSWORD_FILE_MAX	1024

int
console_state_path(const char *store, const char *name, char *out, size_t len)
{
	const char *slash = strrchr(store, '/');
	int n = slash == NULL ? snprintf(out, len, "%s", name) :
	    snprintf(out, len, "%.*s/%s", (int)(slash - store), store, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int
console_password_load(const char *store, struct pwhash *h, char *err,
    size_t errlen)
{
	char path[4096], why[200];
	struct jc x = { .file = path, .err = why, .errlen = sizeof(why) };
	json_t *o;
	int rc;

	if ((rc = console_state_path(store, CONSOLE_PASSWORD_FILE, path,
	    sizeof(path))) < 0) {
		snprintf(err, errlen, "%s: path too long", CONSOLE_PASSWORD_FILE);
		return rc;
	}
	if (access(path, F_OK) != 0 && errno == ENOENT)
		return -ENOENT;
	if ((rc = jc_load(&x, PASSWORD_FILE_MAX, &o)) < 0) {
		snprintf(err, errlen, "%s", why);
		return rc;
	}
	rc = pwhash_from_json(path, o, h, err, errlen);
	json_decref(o);
	return rc;
}

static int
is_clear(json_t *args)
{
	return json_object_size(args) == 1 &&
	    json_object_get(args, "clear") == json_true();
}

static int
check_password(struct control *c, const struct cmd *k, char *why, size_t len)
{
	struct pwhash h;

	(void)c;
	if (is_clear(k->args))
		return 0;
	if (json_object_get(k->args, "clear") != NULL) {
		snprintf(why, len, "args: {\"clear\": true} alone, or {\"salt\", "
		    "\"iterations\", \"hash\"}");
		return -EINVAL;
	}
	return pwhash_from_json("args", k->args, &h, why, len);
}

static int
apply_password(struct control *c, const struct cmd *k, struct store_cmd *sc,
    const char **state, char *why, size_t len, json_t **result)
{
	char path[4096], *text = NULL;
	struct pwhash h;
	json_t *o;
	int rc;

	(void)sc;
	(void)result;
	*state = "failed";
	if (console_state_path(c->g->cfg->store, CONSOLE_PASSWORD_FILE, path,
	    sizeof(path)) < 0) {
		snprintf(why, len, "state directory path too long");
		return CMD_DONE;
	}
	if (is_clear(k->args)) {
		if ((rc = wfile_remove(path)) < 0) {
			snprintf(why, len, "cannot remove %.200s: %s", path,
			    strerror(-rc));
			return CMD_DONE;
		}
		snprintf(why, len, "console password cleared: password logins are "
		    "refused until one is set");
		*state = "applied";
		return CMD_DONE;
	}
	/* Checked before it was accepted; written as the codec writes it. */
	if (pwhash_from_json("args", k->args, &h, why, len) < 0)
		return CMD_DONE;
	if ((o = pwhash_to_json(&h)) != NULL)
		text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (text == NULL) {
		snprintf(why, len, "out of memory");
		return CMD_DONE;
	}
	rc = wfile_replace(path, text, strlen(text));
	free(text);
	if (rc < 0) {
		snprintf(why, len, "cannot write %.200s: %s", path, strerror(-rc));
		return CMD_DONE;
	}
	snprintf(why, len, "console password set (PBKDF2-HMAC-SHA256, %u "
	    "iterations); the next login uses it", (unsigned)h.iterations);
	*state = "applied";
	return CMD_DONE;
}

/* journal_args 0: the hash stays out of the journal and the records. */
const struct cmd_type cmd_console_password = {
	.name = "console.password", .check = check_password,
	.apply = apply_password, .journal_args = 0,
};
