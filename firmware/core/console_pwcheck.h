/*
 * A console password checked off the event loop (docs/console.md "Login"):
 * PBKDF2 at 100,000 rounds takes ~0.5 s on a 1 GHz ARM, up to 50 s at the
 * 10,000,000 the format allows, and the loop polls meters meanwhile. One
 * thread per check (the caller runs one at a time; a check a second at most
 * is what the failed-login brake lets through), its end handed back by an
 * eventfd on the loop.
 */
#ifndef WG_CONSOLE_PWCHECK_H
#define WG_CONSOLE_PWCHECK_H

#include <stddef.h>

#include "firmware/base/loop.h"
#include "firmware/codec/pwhash.h"

struct pw_check;

/*
 * Checks pw[len] against h in a thread of its own; done(arg, rc) is called
 * on the loop when it ends (rc: 0 the right password, -EACCES a wrong one,
 * -errno it could not be checked). The password is copied and wiped after
 * use. 0 with *out, or -errno (nothing started, done never called).
 */
int pw_check_start(struct loop *l, const struct pwhash *h, const char *pw,
    size_t len, void (*done)(void *arg, int rc), void *arg,
    struct pw_check **out);

/*
 * Forget a check (the console stops): done is never called. A thread
 * still deriving finishes alone and frees what it holds; nothing waits
 * for it.
 */
void pw_check_abandon(struct pw_check *p);

#endif
