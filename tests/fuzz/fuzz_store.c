/*
 * Store recovery (firmware/store/sq_open.c): the database file as a dying SD
 * card or a power cut may leave it. The input is written as store.db, the
 * store opened (recovering, or quarantining and starting afresh), its
 * batches and schemas read and acked, then closed. Whatever the file, the
 * open either succeeds with a working store or fails with one line.
 * Slow by nature (a file and an SQLite open per input: ~1,000 runs/s on a
 * tmpfs); run it with -max_len=65536 or more (tools/fuzz/run does).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/store/store.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[128], path[160];

static void clean(void);

/* Nothing left in /dev/shm when the fuzzer exits. */
static void
remove_dir(void)
{
	clean();
	rmdir(dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "%s/wg-fuzz-store-XXXXXX", base);
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/store.db", dir);
	atexit(remove_dir);
	return 0;
}

static void
clean(void)
{
	char p[400];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (d == NULL)
		abort();
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		unlink(p);
	}
	closedir(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct store *s = NULL;
	struct store_batch b;
	struct store_stats st;
	char err[512], *json;
	uint64_t after = 0;
	int fd, i;

	clean();
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 ||
	    write(fd, data, size) != (ssize_t)size)
		abort();
	close(fd);
	if (store_open("sqlite", path, &s, err, sizeof(err)) != 0) {
		if (strchr(err, '\n') != NULL)
			abort();
		return 0;
	}
	(void)store_stats(s, &st);
	for (i = 0; i < 16 && store_peek(s, after, &b) == 0; i++) {
		if (store_get_schema(s, b.schema_id, &json) == 0)
			free(json);
		after = b.seq_last > b.seq ? b.seq_last : b.seq;
		if (i % 2 == 0)
			(void)store_ack(s, b.seq);
	}
	store_close(s);
	return 0;
}
