/*
 * The board description's update part (board/<name>/board.json): the two
 * slots an image is written to, the two copies of the boot environment, the
 * release key images are signed with, and the hook that reboots the board.
 *
 *   "slots": [ { "name": "a", "path": "slot-a.img", "size": 67108864 },
 *              { "name": "b", "path": "slot-b.img", "size": 67108864 } ],
 *   "bootenv": { "copies": [ { "path": "uboot.env", "offset": 0, "size": 16384 },
 *                            { "path": "uboot-redund.env", "offset": 0, "size": 16384 } ] },
 *   "release_key": "release.pub",
 *   "hooks": { "reboot": "reboot-hook" }
 *
 * A relative path is relative to the board.json's directory; every path in
 * struct board is absolute. docs/ota-board.md.
 */
#ifndef WG_OTA_BOARD_H
#define WG_OTA_BOARD_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#define BOARD_NAME_MAX		32	/* [a-z0-9-], like a manifest's boards */
#define BOARD_SLOT_NAME_MAX	15	/* [a-z0-9_-] */
#define BOARD_SLOT_SIZE_MAX	(UINT64_C(1) << 40)
/* libubootenv keeps a device name in 256 bytes (DEVNAME_MAX_LENGTH). */
#define BOARD_ENV_PATH_MAX	255
#define BOARD_ENV_SIZE_MIN	256
#define BOARD_ENV_SIZE_MAX	(1u << 24)

struct board_slot {
	char name[BOARD_SLOT_NAME_MAX + 1];
	char path[PATH_MAX];
	uint64_t size;		/* bytes an image may have in this slot */
};

/* One copy of the boot environment: size bytes at offset of path. */
struct board_envcopy {
	char path[PATH_MAX];
	uint64_t offset, size;
};

#define BOARD_TTY_MAX	63

struct board {
	char name[BOARD_NAME_MAX + 1];
	struct board_slot slot[2];
	size_t n_slots;		/* 0 (no "slots": no updates) or 2 */
	struct board_envcopy env[2];
	size_t n_env;		/* 0 (no "bootenv") or 2 */
	char release_key[PATH_MAX];	/* "" if none */
	char reboot_hook[PATH_MAX];	/* "" if none */
	/* The technician console's serial line (wattgate-console on it through
	 * agetty or a systemd unit; docs/console.md): "" if the board has none. */
	char console_tty[BOARD_TTY_MAX + 1];
	unsigned console_baud;		/* 9600 unless said */
};

/*
 * The board description at path (jansson, strict: unknown, duplicate and
 * wrong-typed members refused). "slots" and "bootenv" come together or not
 * at all. 0, or -errno with one line in err: "PATH: slots[1].size: ...".
 */
int board_load(const char *path, struct board *b, char *err, size_t errlen);

/* The slot called name, or NULL. */
const struct board_slot *board_slot_find(const struct board *b, const char *name);

/* The slot that is not called name (the one to update), or NULL if name is
 * not a slot of b. */
const struct board_slot *board_slot_other(const struct board *b, const char *name);

#endif
