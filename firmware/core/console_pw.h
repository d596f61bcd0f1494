/*
 * The console's password file (docs/console.md "Login"): written by the
 * control plane's console.password command (control_password.c), read by
 * the console's login (console_auth.c). It lives in the state directory,
 * beside the store, as "console.password" (mode 0600): the salt, the rounds
 * and the PBKDF2 hash of pwhash.h, never the password.
 */
#ifndef WG_CONSOLE_PW_H
#define WG_CONSOLE_PW_H

#include <stddef.h>

#include "firmware/codec/pwhash.h"

#define CONSOLE_PASSWORD_FILE	"console.password"
#define CONSOLE_SESSIONS_FILE	"console.sessions"

/* name in the directory of the store path store: 0 or -ENAMETOOLONG. */
int console_state_path(const char *store, const char *name, char *out,
    size_t len);

/*
 * The password set for this gateway: 0 with *h; -ENOENT if none is set;
 * else -errno with "PATH: WHAT" in err (a damaged file refuses every
 * password: nobody logs in by a hash that cannot be read).
 */
int console_password_load(const char *store, struct pwhash *h, char *err,
    size_t errlen);

#endif
