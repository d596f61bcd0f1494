/*
 * Image files over CoAP Block2 (coap_files.h). libcoap stays in
 * coap_server.c: this reads a block and says what the answer's options are.
 */
#include "tools/recv/coap_files.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/recv/coap_route.h"
#include "tools/recv/recv.h"

int
coap_files_name_ok(const char *name, size_t len)
{
	size_t i, dots = 0;

	if (len == 0 || len > COAP_FILES_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (c == '.')
			dots++;
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return 0;
	}
	return dots < len;
}

int
coap_files_open(struct recv *rv, const char *dir)
{
	int fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		recv_warnx("--coap-files %s: %s", dir, strerror(errno));
		rv->files = NULL;
		return -1;
	}
	rv->files = dir;
	rv->files_fd = fd;
	return 0;
}

void
coap_files_close(struct recv *rv)
{
	if (rv->files != NULL)
		close(rv->files_fd);
	rv->files = NULL;
}

/*
 * What the ETag says: this file as it is (inode, size, last change), so a
 * client sees an image replaced under it between two blocks. FNV-1a.
 */
static uint64_t
etag_of(const struct stat *st)
{
	uint64_t v[4] = { (uint64_t)st->st_ino, (uint64_t)st->st_size,
	    (uint64_t)st->st_mtim.tv_sec, (uint64_t)st->st_mtim.tv_nsec };
	const uint8_t *p = (const uint8_t *)v;
	uint64_t h = 0xcbf29ce484222325u;
	size_t i;

	for (i = 0; i < sizeof(v); i++)
		h = (h ^ p[i]) * 0x100000001b3u;
	return h != 0 ? h : 1;
}

int
coap_files_get(struct recv *rv, const char *name, uint32_t num,
    unsigned szx, struct coap_reply *r)
{
	struct stat st;
	uint64_t start, size;
	size_t bs, n;
	ssize_t got;
	int fd;

	if (rv->files == NULL || !coap_files_name_ok(name, strlen(name)))
		return 404;
	/* A larger block than we send: the same bytes in blocks of ours. */
	if (szx > COAP_FILES_SZX_MAX) {
		num <<= szx - COAP_FILES_SZX_MAX;
		szx = COAP_FILES_SZX_MAX;
	}
	fd = openat(rv->files_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ELOOP || errno == EACCES ? 404 :
		    500;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return 404;
	}
	size = (uint64_t)st.st_size;
	bs = (size_t)1 << (szx + 4);
	start = (uint64_t)num << (szx + 4);
	if (start > 0 && start >= size) {
		close(fd);
		r->why = "no such block";
		return 400;
	}
	n = size - start < bs ? (size_t)(size - start) : bs;
	/* One byte at least: a 2.05 carries a body, even an empty one. */
	if ((r->body = malloc(n > 0 ? n : 1)) == NULL) {
		close(fd);
		return 500;
	}
	got = n > 0 ? pread(fd, r->body, n, (off_t)start) : 0;
	close(fd);
	if (got < 0 || (size_t)got != n) {
		recv_warnx("coap: fw/%s: block %" PRIu32 ": read %s", name, num,
		    got < 0 ? strerror(errno) : "short");
		free(r->body);
		r->body = NULL;
		return 500;
	}
	r->body_len = n;
	r->block2 = 1;
	r->num2 = num;
	r->szx2 = szx;
	r->more2 = start + n < size;
	r->size2 = size;
	r->etag = etag_of(&st);
	r->format = 42;		/* application/octet-stream */
	return 205;
}
