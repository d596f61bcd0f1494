/* The console's socket file and its peers (console_sock.c); console.c's. */
#ifndef WG_CONSOLE_SOCK_H
#define WG_CONSOLE_SOCK_H

#include <stddef.h>
#include <sys/socket.h>	/* struct ucred: _GNU_SOURCE, set for every file */
#include <sys/types.h>

#include "firmware/core/config.h"

/*
 * The listening socket at cc->socket with cc's mode and group (a stale
 * socket file unlinked first): 0 with *fd and the file's dev/ino, or -errno
 * with one line in err.
 */
int console_sock_listen(const struct cfg_console *cc, int *fd, dev_t *dev,
    ino_t *ino, char *err, size_t errlen);
/* Unlinks path if it is still the socket file dev/ino. */
void console_sock_unlink(const char *path, dev_t dev, ino_t ino);
/*
 * May the peer of fd talk? 0 (root, the daemon's uid, or a member of
 * cc->group, primary or supplementary), or -EACCES with the refusal the
 * peer is told in why. *cred is the peer's either way (if known).
 */
int console_sock_peer(int fd, const struct cfg_console *cc, struct ucred *cred,
    char *why, size_t whylen);

#endif
