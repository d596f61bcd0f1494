/* Command frames kept across a stop (inbox.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/base/log.h"
#include "firmware/base/rfile.h"
#include "firmware/base/wfile.h"
#include "firmware/codec/command.h"
#include "firmware/core/inbox.h"

static int
inbox_path(const char *store, unsigned i, char *out, size_t len)
{
	const char *slash = strrchr(store, '/');
	int n = slash == NULL ? snprintf(out, len, "cmd.inbox.%u", i) :
	    snprintf(out, len, "%.*s/cmd.inbox.%u", (int)(slash - store), store, i);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int
inbox_keep(const char *store, const uint8_t *frame, size_t len)
{
	char path[4096];
	int i, next = 0, rc;

	if (len > CMD_FRAME_MAX)
		return -EMSGSIZE;
	/* After the last one kept, so that the next run keeps their order. */
	for (i = INBOX_MAX - 1; i >= 0; i--) {
		if ((rc = inbox_path(store, (unsigned)i, path, sizeof(path))) < 0)
			return rc;
		if (access(path, F_OK) == 0) {
			next = i + 1;
			break;
		}
	}
	if (next >= INBOX_MAX)
		return -ENOSPC;
	if ((rc = inbox_path(store, (unsigned)next, path, sizeof(path))) < 0)
		return rc;
	return wfile_replace(path, frame, len);
}

void
inbox_keep_said(const char *store, const uint8_t *frame, size_t len)
{
	int rc;

	if ((rc = inbox_keep(store, frame, len)) < 0)
		log_warnx("control: a command frame (%zu bytes) came while "
		    "stopping and cannot be kept for the next run: %s; dropped",
		    len, rc == -ENOSPC ? "the next run's inbox is full" :
		    strerror(-rc));
	else
		log_info("control: a command frame (%zu bytes) came while stopping; "
		    "kept for the next run", len);
}

size_t
inbox_take(const char *store,
    void (*fn)(void *arg, const uint8_t *frame, size_t len), void *arg)
{
	char path[4096], err[256];
	size_t n = 0, len;
	char *buf;
	unsigned i;

	for (i = 0; i < INBOX_MAX; i++) {
		if (inbox_path(store, i, path, sizeof(path)) < 0 ||
		    access(path, F_OK) != 0)
			continue;
		if (rfile_read(path, CMD_FRAME_MAX, &buf, &len, NULL, err,
		    sizeof(err)) < 0) {
			log_warnx("control: kept command frame %s; removed", err);
		} else {
			fn(arg, (const uint8_t *)buf, len);
			free(buf);
			n++;
		}
		/* Judged (journaled) first: a cut before this removal judges it
		 * again, which finds it in the journal and only resends its result. */
		if (wfile_remove(path) < 0)
			log_warn("control: %s", path);
	}
	return n;
}
