/*
 * The boot environment through libubootenv (bootenv.h).
 *
 * What libubootenv does with two copies (0.3.x, uboot_env.c): each copy is
 * CRC32 (4 bytes, little-endian), a flags byte, then "name=value\0...\0"
 * up to the copy's size. On plain files and block devices the flags byte is
 * a counter: a store writes the copy that is NOT current with the current
 * one's flags + 1, so a write cut half-way leaves a copy with a bad CRC next
 * to the old environment, whole. Reading takes the copy with a good CRC, or
 * of two good ones the higher counter (255 < 0 across the wrap). Both bad:
 * libuboot_open answers -ENODATA.
 */
#include "firmware/base/wfile.h"
#include "firmware/ota/bootenv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libuboot.h>

struct bootenv {
	struct uboot_ctx *ctx;
	char path[2][BOARD_ENV_PATH_MAX + 1];
	char where[2 * (BOARD_ENV_PATH_MAX + 1) + 2];	/* "COPY0, COPY1" for errors */
};

/*
 * A copy that is missing or too short would make libubootenv fail with a
 * bare -EINVAL or -EIO; this says which file and why first.
 */
static int
check_copy(const struct board_envcopy *c, char *err, size_t errlen)
{
	struct stat st;
	int rc;

	if (stat(c->path, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "bootenv: %s: %s", c->path, strerror(-rc));
		return rc;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size < c->offset + c->size) {
		snprintf(err, errlen, "bootenv: %s: %lld bytes, the copy needs %llu "
		    "(offset %llu + size %llu)", c->path, (long long)st.st_size,
		    (unsigned long long)(c->offset + c->size),
		    (unsigned long long)c->offset, (unsigned long long)c->size);
		return -EIO;
	}
	return 0;
}

/* libuboot_open's answer as one line: 0, -ENODATA or -EIO. */
static int
load(struct bootenv *e, char *err, size_t errlen)
{
	int rc = libuboot_open(e->ctx);

	if (rc == 0)
		return 0;
	/* libuboot_open holds the lock and maybe some variables even so. */
	libuboot_close(e->ctx);
	if (rc == -ENODATA) {
		snprintf(err, errlen, "bootenv: %s: no copy with a good CRC",
		    e->where);
		return -ENODATA;
	}
	snprintf(err, errlen, "bootenv: %s: cannot be read (libuboot_open %d)",
	    e->where, rc);
	return -EIO;
}

int
bootenv_open(const struct board *b, struct bootenv **out, char *err,
    size_t errlen)
{
	struct uboot_env_device dev[2];
	char name[2][BOARD_ENV_PATH_MAX + 1];
	struct bootenv *e;
	size_t i;
	int rc;

	*out = NULL;
	if (b->n_env != 2) {
		snprintf(err, errlen, "bootenv: board %s has no boot environment "
		    "(\"bootenv\" in board.json)", b->name);
		return -EINVAL;
	}
	memset(dev, 0, sizeof(dev));
	for (i = 0; i < 2; i++) {
		if ((rc = check_copy(&b->env[i], err, errlen)) < 0)
			return rc;
		if (snprintf(name[i], sizeof(name[i]), "%s", b->env[i].path) >=
		    (int)sizeof(name[i])) {
			snprintf(err, errlen, "bootenv: %.64s...: longer than %d "
			    "bytes", b->env[i].path, BOARD_ENV_PATH_MAX);
			return -ENAMETOOLONG;
		}
		dev[i].devname = name[i];
		dev[i].offset = (long long)b->env[i].offset;
		dev[i].envsize = (size_t)b->env[i].size;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		snprintf(err, errlen, "bootenv: out of memory");
		return -ENOMEM;
	}
	memcpy(e->path, name, sizeof(e->path));
	snprintf(e->where, sizeof(e->where), "%s, %s", name[0], name[1]);
	if ((rc = libuboot_initialize(&e->ctx, NULL)) < 0) {
		snprintf(err, errlen, "bootenv: libuboot_initialize: %d", rc);
		free(e);
		return rc == -ENOMEM ? -ENOMEM : -EIO;
	}
	/* libubootenv's own checks: both copies readable, of one kind and size. */
	if ((rc = libuboot_configure(e->ctx, dev)) < 0) {
		snprintf(err, errlen, "bootenv: %s: libubootenv refused the "
		    "copies (libuboot_configure %d)", e->where, rc);
		rc = -EINVAL;
		goto fail;
	}
	if ((rc = load(e, err, errlen)) < 0)
		goto fail;
	*out = e;
	return 0;
fail:
	libuboot_exit(e->ctx);
	free(e);
	return rc;
}

/* A name U-Boot can set: no '=', nothing unprintable; not empty. */
static int
name_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0' || strlen(s) > 64)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f || s[i] == '=')
			return 0;
	return 1;
}

/* A value: printable (fw_printenv prints one per line); "" is a delete. */
static int
value_ok(const char *s)
{
	size_t i;

	if (s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

int
bootenv_get(struct bootenv *e, const char *name, char *buf, size_t len)
{
	char *v;
	size_t n;

	if (!name_ok(name))
		return -EINVAL;
	if ((v = libuboot_get_env(e->ctx, name)) == NULL)
		return -ENOENT;
	n = strlen(v);
	if (n >= len) {
		free(v);
		return -ERANGE;
	}
	memcpy(buf, v, n + 1);
	free(v);
	return 0;
}

/* What the device holds, in place of what this handle set (after an error). */
static int
reload(struct bootenv *e, char *err, size_t errlen)
{
	libuboot_close(e->ctx);
	return load(e, err, errlen);
}

static int
check_pairs(const char *const *kv, size_t n, char *err, size_t errlen)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (!name_ok(kv[2 * i])) {
			snprintf(err, errlen, "bootenv: pair %zu: not a variable "
			    "name", i);
			return -EINVAL;
		}
		if (kv[2 * i + 1] != NULL && !value_ok(kv[2 * i + 1])) {
			snprintf(err, errlen, "bootenv: %s: empty or unprintable "
			    "value (NULL deletes)", kv[2 * i]);
			return -EINVAL;
		}
		for (j = 0; j < i; j++)
			if (strcmp(kv[2 * j], kv[2 * i]) == 0) {
				snprintf(err, errlen, "bootenv: %s: set twice",
				    kv[2 * i]);
				return -EINVAL;
			}
	}
	return 0;
}

/* Every pair as the device now holds it: 0 or -EIO naming the first that differs. */
static int
verify(struct bootenv *e, const char *const *kv, size_t n, char *err,
    size_t errlen)
{
	const char *want;
	char *got;
	size_t i;
	int same;

	for (i = 0; i < n; i++) {
		want = kv[2 * i + 1];
		got = libuboot_get_env(e->ctx, kv[2 * i]);
		same = want == NULL ? got == NULL :
		    got != NULL && strcmp(got, want) == 0;
		if (!same) {
			snprintf(err, errlen, "bootenv: %s: read back %s=%.64s, "
			    "wrote %.64s", e->where, kv[2 * i],
			    got != NULL ? got : "(unset)",
			    want != NULL ? want : "(unset)");
			free(got);
			return -EIO;
		}
		free(got);
	}
	return 0;
}

/*
 * libubootenv answers a failed write with a bare -1 or -EBADF, and errno is
 * gone by then (its fsync and close come after the write). A copy that
 * cannot be opened for writing is the common cause and can be named.
 */
static void
why_store(struct bootenv *e, char *why, size_t len)
{
	int fd, i;

	why[0] = '\0';
	for (i = 0; i < 2; i++) {
		if ((fd = open(e->path[i], O_WRONLY | O_CLOEXEC)) >= 0) {
			close(fd);
			continue;
		}
		snprintf(why, len, " (%.*s: %s)", (int)len / 2, e->path[i],
		    strerror(errno));
		return;
	}
}

int
bootenv_set(struct bootenv *e, const char *const *kv, size_t n_pairs,
    char *err, size_t errlen)
{
	/* why: a cause for err; lost: reload's own error, after the first. */
	char why[BOARD_ENV_PATH_MAX + 64] = "", lost[1024];
	size_t i;
	int rc;

	if ((rc = check_pairs(kv, n_pairs, err, errlen)) < 0)
		return rc;
	for (i = 0; i < n_pairs; i++)
		if ((rc = libuboot_set_env(e->ctx, kv[2 * i], kv[2 * i + 1])) < 0) {
			snprintf(err, errlen, "bootenv: %s: libuboot_set_env %s: "
			    "%d (nothing written)", e->where, kv[2 * i], rc);
			(void)reload(e, lost, sizeof(lost));
			return rc == -ENOMEM ? -ENOMEM : -EINVAL;
		}
	if ((rc = libuboot_env_store(e->ctx)) != 0) {
		why_store(e, why, sizeof(why));
		snprintf(err, errlen, "bootenv: %s: libuboot_env_store %d%s",
		    e->where, rc, why);
		(void)reload(e, lost, sizeof(lost));
		return -EIO;
	}
	/* Read back from the device, not from the library's memory. */
	if ((rc = reload(e, err, errlen)) < 0)
		return -EIO;
	return verify(e, kv, n_pairs, err, errlen);
}

void
bootenv_close(struct bootenv *e)
{
	if (e == NULL)
		return;
	libuboot_close(e->ctx);
	libuboot_exit(e->ctx);
	free(e);
}

int
bootenv_write_config(const struct board *b, const char *path)
{
	char text[2 * (PATH_MAX + 64) + 128];
	size_t len;
	size_t i;

	if (b->n_env != 2)
		return -EINVAL;
	len = (size_t)snprintf(text, sizeof(text), "# fw_env.config of board "
	    "%s (written from its board.json)\n# device offset size\n", b->name);
	for (i = 0; i < 2; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "%s 0x%llx 0x%llx\n", b->env[i].path,
		    (unsigned long long)b->env[i].offset,
		    (unsigned long long)b->env[i].size);
	return wfile_replace(path, text, len);
}
