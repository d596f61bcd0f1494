/*
 * The file system under the store, as flash wear sees it (docs/flash.md): a
 * disk-backed one mounted without lazytime writes the -wal file's inode block
 * every cycle, doubling what a cycle costs the card.
 */
#ifndef WG_STORE_FS_H
#define WG_STORE_FS_H

#include <stddef.h>

/*
 * Look up the mount holding the store at path in mounts (a /proc/self/mounts
 * format file). Returns 1 and writes a one-line note into msg when that mount
 * is disk-backed and lacks lazytime, 0 when it is fine or not a disk (tmpfs),
 * -errno when it cannot tell.
 */
int store_fs_check(const char *mounts, const char *path, char *msg, size_t len);

#endif
