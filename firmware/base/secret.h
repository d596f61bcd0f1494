/*
 * Files that hold secrets (private keys, PSKs): checked before use, so a key
 * that anyone on the board could read is refused with a clear error instead
 * of being used (issue 4: "secrets files with loose permissions are refused").
 *
 * A secrets file must be a regular file (symlinks are followed: a key on a
 * read-only image may be linked from /etc), owned by the daemon's user or
 * root, and neither group nor other may read, write or execute it (0600 or
 * 0400). Its contents are never logged; errors name the path and the reason.
 */
#ifndef WG_SECRET_H
#define WG_SECRET_H

#include <stddef.h>

/* Largest secrets file read whole (a PEM chain of a few certificates fits). */
#define SECRET_MAX	(64 * 1024)

/* 0 if path may hold a secret; -errno with a one-line reason in err. */
int secret_check(const char *path, char *err, size_t errlen);

/*
 * secret_check, then read the whole file into a NUL-terminated buffer the
 * caller frees with secret_free (which wipes it). 0 or -errno with err set.
 */
int secret_read(const char *path, char **buf, size_t *len, char *err,
    size_t errlen);
void secret_free(char *buf, size_t len);

#endif
