/*
 * board.json's update part (board.h). The file also carries what other parts
 * read (serial ports, the state directory, the build's "arch"): those keys
 * are known here, so a misspelt one is still an error, but their values are
 * their readers' business.
 */
#include "firmware/ota/board.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/base/jcheck.h"

#define BOARD_FILE_MAX	65536

/* [a-z0-9-] (dash_ok) or [a-z0-9_-], 1..max bytes. */
static int
name_ok(const char *s, size_t max, int underscore_ok)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || (underscore_ok && s[i] == '_')))
			return 0;
	return 1;
}

/*
 * A path member, made absolute against dir (the board.json's directory,
 * itself absolute). The environment's paths also go into fw_env.config,
 * whose fields are split at blanks: those paths may hold none.
 */
static int
get_path(struct jc *x, json_t *o, const char *path, const char *key, int flags,
    const char *dir, char *dst, size_t cap, int no_blanks)
{
	char w[JC_PATH_MAX], rel[PATH_MAX];
	int rc, n;

	jc_path(w, path, key);
	if ((rc = jc_get_str(x, o, path, key, flags, rel, sizeof(rel))) != 0)
		return rc;
	if (no_blanks && strpbrk(rel, " \t#") != NULL)
		return jc_fail(x, w, "a blank or '#' in the path (fw_env.config "
		    "splits its fields at blanks)");
	if (rel[0] == '/')
		n = snprintf(dst, cap, "%s", rel);
	else
		n = snprintf(dst, cap, "%s/%s", dir, rel);
	if (n < 0 || (size_t)n >= cap)
		return jc_fail(x, w, "longer than %zu bytes with the board's "
		    "directory", cap - 1);
	return 0;
}

static int
parse_slots(struct jc *x, json_t *a, const char *dir, struct board *b)
{
	static const char *const keys[] = { "name", "path", "size", NULL };
	char p[JC_PATH_MAX], shown[24];
	long long size;
	size_t i;
	json_t *o;
	int rc;

	if (!json_is_array(a))
		return jc_fail(x, "slots", "expected an array");
	if (json_array_size(a) != 2)
		return jc_fail(x, "slots", "%zu slots, an A/B board has 2",
		    json_array_size(a));
	json_array_foreach(a, i, o) {
		struct board_slot *s = &b->slot[i];

		snprintf(p, sizeof(p), "slots[%zu]", i);
		if ((rc = jc_object(x, o, p)) < 0 ||
		    (rc = jc_check_keys(x, o, p, keys)) < 0 ||
		    (rc = jc_get_str(x, o, p, "name", JC_REQUIRED, s->name,
		    sizeof(s->name))) < 0 ||
		    (rc = get_path(x, o, p, "path", JC_REQUIRED, dir, s->path,
		    sizeof(s->path), 0)) < 0 ||
		    (rc = jc_get_int(x, o, p, "size", 1, 1,
		    (long long)BOARD_SLOT_SIZE_MAX, &size)) < 0)
			return rc;
		s->size = (uint64_t)size;
		if (!name_ok(s->name, BOARD_SLOT_NAME_MAX, 1))
			return jc_fail(x, p, "name '%s': 1..%d of [a-z0-9_-]",
			    jc_shown(s->name, shown, sizeof(shown)),
			    BOARD_SLOT_NAME_MAX);
	}
	b->n_slots = 2;
	if (strcmp(b->slot[0].name, b->slot[1].name) == 0)
		return jc_fail(x, "slots[1].name", "'%s' twice", b->slot[1].name);
	if (strcmp(b->slot[0].path, b->slot[1].path) == 0)
		return jc_fail(x, "slots[1].path", "the same as slots[0]'s");
	return 0;
}

/* Two copies on one device must not share a byte. */
static int
overlap(const struct board_envcopy *c, const struct board_envcopy *d)
{
	return strcmp(c->path, d->path) == 0 && c->offset < d->offset + d->size &&
	    d->offset < c->offset + c->size;
}

/*
 * Two copies of the same size: libubootenv refuses copies of different sizes
 * (check_compatible_devices), and one copy alone would leave nothing to boot
 * from when a write to it is cut. Offsets are non-negative: libubootenv's
 * negative offsets (from the end of a block device) are not needed here.
 */
static int
parse_bootenv(struct jc *x, json_t *o, const char *dir, struct board *b)
{
	static const char *const keys[] = { "copies", NULL };
	static const char *const ckeys[] = { "path", "offset", "size", NULL };
	char p[JC_PATH_MAX];
	long long v;
	json_t *a, *c;
	size_t i;
	int rc;

	if ((rc = jc_object(x, o, "bootenv")) < 0 ||
	    (rc = jc_check_keys(x, o, "bootenv", keys)) < 0)
		return rc;
	if ((a = json_object_get(o, "copies")) == NULL)
		return jc_fail(x, "bootenv.copies", "missing");
	if (!json_is_array(a))
		return jc_fail(x, "bootenv.copies", "expected an array");
	if (json_array_size(a) != 2)
		return jc_fail(x, "bootenv.copies", "%zu copies, the environment "
		    "needs 2 (redundant: a cut write leaves the other)",
		    json_array_size(a));
	json_array_foreach(a, i, c) {
		struct board_envcopy *e = &b->env[i];

		snprintf(p, sizeof(p), "bootenv.copies[%zu]", i);
		if ((rc = jc_object(x, c, p)) < 0 ||
		    (rc = jc_check_keys(x, c, p, ckeys)) < 0 ||
		    (rc = get_path(x, c, p, "path", JC_REQUIRED, dir, e->path,
		    BOARD_ENV_PATH_MAX + 1, 1)) < 0 ||
		    (rc = jc_get_int(x, c, p, "offset", 1, 0, INT64_C(1) << 48,
		    &v)) < 0)
			return rc;
		e->offset = (uint64_t)v;
		if ((rc = jc_get_int(x, c, p, "size", 1, BOARD_ENV_SIZE_MIN,
		    BOARD_ENV_SIZE_MAX, &v)) < 0)
			return rc;
		e->size = (uint64_t)v;
	}
	b->n_env = 2;
	if (b->env[0].size != b->env[1].size)
		return jc_fail(x, "bootenv.copies[1].size", "%llu, copies[0] has "
		    "%llu: both copies have one size",
		    (unsigned long long)b->env[1].size,
		    (unsigned long long)b->env[0].size);
	if (overlap(&b->env[0], &b->env[1]))
		return jc_fail(x, "bootenv.copies[1]", "overlaps copies[0]");
	return 0;
}

static int
parse_hooks(struct jc *x, json_t *o, const char *dir, struct board *b)
{
	static const char *const keys[] = { "reboot", NULL };
	int rc;

	if ((rc = jc_object(x, o, "hooks")) < 0 ||
	    (rc = jc_check_keys(x, o, "hooks", keys)) < 0)
		return rc;
	rc = get_path(x, o, "hooks", "reboot", 0, dir, b->reboot_hook,
	    sizeof(b->reboot_hook), 0);
	return rc < 0 ? rc : 0;
}

/*
 * "console": { "tty": "/dev/ttyS0", "baud": 9600 }: where a technician
 * plugs in. Only data for the image (the getty line); checked like the
 * rest, so a typo is found by `--check`, not at the basement.
 */
static int
parse_console(struct jc *x, json_t *o, struct board *b)
{
	static const char *const keys[] = { "tty", "baud", NULL };
	static const unsigned bauds[] = { 1200, 2400, 4800, 9600, 19200, 38400,
		57600, 115200, 230400, 460800, 921600 };
	long long baud = 9600;
	size_t i;
	int rc;

	if ((rc = jc_object(x, o, "console")) < 0 ||
	    (rc = jc_check_keys(x, o, "console", keys)) < 0 ||
	    (rc = jc_get_str(x, o, "console", "tty", JC_REQUIRED, b->console_tty,
	    sizeof(b->console_tty))) < 0 ||
	    (rc = jc_get_int(x, o, "console", "baud", 0, 1200, 921600,
	    &baud)) < 0)
		return rc;
	if (strncmp(b->console_tty, "/dev/", 5) != 0 ||
	    strchr(b->console_tty + 5, ' ') != NULL)
		return jc_fail(x, "console.tty", "'%s': a device path, /dev/...",
		    b->console_tty);
	for (i = 0; i < sizeof(bauds) / sizeof(bauds[0]); i++)
		if (bauds[i] == baud)
			break;
	if (i == sizeof(bauds) / sizeof(bauds[0]))
		return jc_fail(x, "console.baud", "%lld is not a standard rate "
		    "(9600, 115200, ...)", baud);
	b->console_baud = (unsigned)baud;
	return 0;
}

/* The absolute directory of path, for the relative paths inside it. */
static int
board_dir(const char *path, char dir[PATH_MAX], char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	char *slash;
	int rc;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%.64s...: path too long", path);
		return -ENAMETOOLONG;
	}
	if ((slash = strrchr(tmp, '/')) == NULL)
		snprintf(tmp, sizeof(tmp), ".");
	else if (slash == tmp)
		tmp[1] = '\0';
	else
		*slash = '\0';
	if (realpath(tmp, dir) == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: its directory: %s", path, strerror(-rc));
		return rc;
	}
	return 0;
}

int
board_load(const char *path, struct board *b, char *err, size_t errlen)
{
	static const char *const keys[] = { "board", "description", "arch",
		"serial_ports", "state_dir", "state_fs", "slots", "bootenv",
		"release_key", "hooks", "console", NULL };
	struct jc x = { path, err, errlen };
	char dir[PATH_MAX], shown[40];
	json_t *root = NULL, *v;
	int rc;

	memset(b, 0, sizeof(*b));
	if ((rc = jc_load(&x, BOARD_FILE_MAX, &root)) < 0)
		return rc;
	if ((rc = board_dir(path, dir, err, errlen)) < 0 ||
	    (rc = jc_object(&x, root, "")) < 0 ||
	    (rc = jc_check_keys(&x, root, "", keys)) < 0 ||
	    (rc = jc_get_str(&x, root, "", "board", JC_REQUIRED, b->name,
	    sizeof(b->name))) < 0)
		goto out;
	if (!name_ok(b->name, BOARD_NAME_MAX, 0)) {
		rc = jc_fail(&x, "board", "'%s': 1..%d of [a-z0-9-]",
		    jc_shown(b->name, shown, sizeof(shown)), BOARD_NAME_MAX);
		goto out;
	}
	if ((v = json_object_get(root, "slots")) != NULL &&
	    (rc = parse_slots(&x, v, dir, b)) < 0)
		goto out;
	if ((v = json_object_get(root, "bootenv")) != NULL &&
	    (rc = parse_bootenv(&x, v, dir, b)) < 0)
		goto out;
	if ((b->n_slots == 0) != (b->n_env == 0)) {
		rc = jc_fail(&x, b->n_slots ? "bootenv" : "slots", "missing: "
		    "slots and a boot environment come together (or neither)");
		goto out;
	}
	if ((rc = get_path(&x, root, "", "release_key", 0, dir, b->release_key,
	    sizeof(b->release_key), 0)) < 0)
		goto out;
	if ((v = json_object_get(root, "hooks")) != NULL &&
	    (rc = parse_hooks(&x, v, dir, b)) < 0)
		goto out;
	if ((v = json_object_get(root, "console")) != NULL &&
	    (rc = parse_console(&x, v, b)) < 0)
		goto out;
	rc = 0;
out:
	json_decref(root);
	return rc;
}

const struct board_slot *
board_slot_find(const struct board *b, const char *name)
{
	size_t i;

	for (i = 0; i < b->n_slots; i++)
		if (strcmp(b->slot[i].name, name) == 0)
			return &b->slot[i];
	return NULL;
}

const struct board_slot *
board_slot_other(const struct board *b, const char *name)
{
	const struct board_slot *s = board_slot_find(b, name);

	if (s == NULL || b->n_slots != 2)
		return NULL;
	return s == &b->slot[0] ? &b->slot[1] : &b->slot[0];
}
