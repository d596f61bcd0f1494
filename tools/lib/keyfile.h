/*
 * Key files of the tools that sign (wattgate-fleet, wattgate-sign): made
 * once, never overwritten, read back with the daemon's own checks. Errors
 * are one line, "PATH: WHAT".
 */
#ifndef WG_TOOLS_KEYFILE_H
#define WG_TOOLS_KEYFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "firmware/codec/sig.h"
#include "tools/lib/signer.h"

/* path written whole and fsynced, created mode; never over one if excl. */
int keyfile_write(const char *path, const void *p, size_t len, mode_t mode,
    int excl);

/*
 * A new P-256 key pair: the private key (SEC1 PEM, 0600) in priv and the
 * public key (SPKI PEM, 0644) in pub. If either exists nothing is written:
 * "PATH: exists: refusing to replace a key" (every gateway holding the old
 * public key would refuse what the new key signs). 0, -EEXIST or -errno.
 */
int keyfile_generate(const char *priv, const char *pub, char *err,
    size_t errlen);

/* The private key in path (a secrets file: secret.h) as a signer. */
int keyfile_load_signer(const char *path, struct signer **out, char *err,
    size_t errlen);

/* The public key in path; who names the format in errors (sig.h). */
int keyfile_load_public(const char *path, const char *who,
    struct cmd_pubkey **out, char *err, size_t errlen);

#endif
