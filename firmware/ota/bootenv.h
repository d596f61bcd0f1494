/*
 * The boot environment through libubootenv: U-Boot's on a real board, two
 * plain files that board/host/launcher reads on the host board. The copies
 * come from the board description (board.h), never from /etc/fw_env.config.
 *
 * The variables an update uses (U-Boot semantics; docs/ota-board.md):
 *   boot_slot=a|b  upgrade_available=0|1  bootcount=N  bootlimit=N
 *
 * Every libubootenv result is checked, and a write is believed only when the
 * environment read back from the device holds it (rauc#1140: a mark-good
 * that reported success although the tool had failed).
 *
 * libubootenv holds an flock on /var/lock/fw_printenv.lock from open to
 * close (shared with fw_printenv/fw_setenv): open a handle per use, close it
 * soon, and never hold two in one process (the second would wait for ever).
 */
#ifndef WG_OTA_BOOTENV_H
#define WG_OTA_BOOTENV_H

#include <stddef.h>

#include "firmware/ota/board.h"

/* Longest value bootenv_get returns (with its NUL) that callers need. */
#define BOOTENV_VALUE_MAX	256

struct bootenv;

/*
 * The environment of b's two copies, read. Errors (one line in err): -EINVAL
 * a board without a boot environment, -ENOENT a copy's file missing, -EIO a
 * copy that cannot be read or is shorter than offset + size, -ENODATA no copy
 * with a good CRC (the bootloader creates the environment: U-Boot's saveenv
 * at provisioning, the host board's launcher; the daemon never invents one),
 * -ENOMEM.
 */
int bootenv_open(const struct board *b, struct bootenv **out, char *err,
    size_t errlen);

/* Variable name into buf (len bytes with the NUL). 0, -ENOENT if unset,
 * -ERANGE if it does not fit, -EINVAL a bad name. */
int bootenv_get(struct bootenv *e, const char *name, char *buf, size_t len);

/*
 * kv holds n_pairs name, value pairs (kv[2i], kv[2i+1]); a NULL value deletes
 * the variable. All are set, then written with ONE libuboot_env_store (to the
 * copy that is not current: a cut write leaves the old environment whole),
 * then the environment is read back from the device and every pair compared.
 * 0, or -errno with one line in err naming the files and what failed: -EINVAL
 * a bad name or value (nothing written), -EIO the store or the read-back
 * failed or differs. After an error the handle holds what the device holds.
 */
int bootenv_set(struct bootenv *e, const char *const *kv, size_t n_pairs,
    char *err, size_t errlen);

void bootenv_close(struct bootenv *e);

/*
 * fw_env.config for fw_printenv/fw_setenv -c: one line per copy, "PATH OFFSET
 * SIZE" (hex). Written to PATH.tmp, fsynced and renamed. 0 or -errno.
 */
int bootenv_write_config(const struct board *b, const char *path);

#endif
