#include "firmware/store/store_fs.h"

#include <errno.h>
#include <limits.h>
#include <mntent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* File systems that live in memory: nothing they do wears flash. */
static int
in_memory(const char *type)
{
	static const char *const mem[] = { "tmpfs", "ramfs" };
	size_t i;

	for (i = 0; i < sizeof(mem) / sizeof(mem[0]); i++)
		if (strcmp(type, mem[i]) == 0)
			return 1;
	return 0;
}

/* dir is mnt or below it ("/" holds everything). */
static size_t
covers(const char *mnt, const char *dir)
{
	size_t n = strlen(mnt);

	if (strcmp(mnt, "/") == 0)
		return 1;
	if (strncmp(mnt, dir, n) == 0 && (dir[n] == '/' || dir[n] == '\0'))
		return n;
	return 0;
}

int
store_fs_check(const char *mounts, const char *path, char *msg, size_t len)
{
	char dir[PATH_MAX], real[PATH_MAX], type[32] = "", opts[256] = "";
	char mnt[PATH_MAX] = "";
	struct mntent *m, ent;
	char buf[4096];
	size_t best = 0, n;
	char *slash;
	FILE *f;
	int lazy = 0;

	if (strlen(path) >= sizeof(dir))
		return -ENAMETOOLONG;
	strcpy(dir, path);
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if (realpath(dir, real) == NULL)
		return -errno;
	if ((f = setmntent(mounts, "r")) == NULL)
		return -errno;
	/* The last of the longest matches: later mounts hide earlier ones. */
	while ((m = getmntent_r(f, &ent, buf, sizeof(buf))) != NULL) {
		if ((n = covers(m->mnt_dir, real)) == 0 || n < best)
			continue;
		best = n;
		snprintf(mnt, sizeof(mnt), "%s", m->mnt_dir);
		snprintf(type, sizeof(type), "%s", m->mnt_type);
		snprintf(opts, sizeof(opts), "%s", m->mnt_opts);
		lazy = hasmntopt(m, "lazytime") != NULL;
	}
	endmntent(f);
	if (best == 0)
		return -ENOENT;
	if (lazy || in_memory(type))
		return 0;
	snprintf(msg, len, "store: %s is on %s %s (%s) without lazytime: every "
	    "cycle also writes the WAL file's inode (docs/flash.md)", real, type,
	    mnt, opts);
	return 1;
}
