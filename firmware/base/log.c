#include "firmware/base/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *log_prog = "wattgate";
static int log_verbose;

/*
 * The ring of the last lines. Bus workers and the resolver log too, so it
 * has its own lock (stdio's covers only the stream); a line is copied in
 * whole under it, so a reader never sees half of one.
 */
static struct {
	pthread_mutex_t lock;
	char line[LOG_RING_LINES][LOG_RING_LINE_MAX];
	size_t next, count;
} ring = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* A child forked while a worker held the lock (identity_run.c, the reboot
 * hook) must still be able to log: fork() waits for the lock and both
 * sides let go of it. */
static void ring_lock(void) { pthread_mutex_lock(&ring.lock); }
static void ring_unlock(void) { pthread_mutex_unlock(&ring.lock); }

__attribute__((constructor))
static void
ring_atfork(void)
{
	pthread_atfork(ring_lock, ring_unlock, ring_unlock);
}

static void
ring_add(const char *line)
{
	pthread_mutex_lock(&ring.lock);
	snprintf(ring.line[ring.next], LOG_RING_LINE_MAX, "%s", line);
	ring.next = (ring.next + 1) % LOG_RING_LINES;
	if (ring.count < LOG_RING_LINES)
		ring.count++;
	pthread_mutex_unlock(&ring.lock);
}

size_t
log_recent(size_t n, void (*fn)(const char *line, void *arg), void *arg)
{
	size_t i, first;

	pthread_mutex_lock(&ring.lock);
	if (n > ring.count)
		n = ring.count;
	first = (ring.next + LOG_RING_LINES - n) % LOG_RING_LINES;
	for (i = 0; i < n; i++)
		fn(ring.line[(first + i) % LOG_RING_LINES], arg);
	pthread_mutex_unlock(&ring.lock);
	return n;
}

void
log_init(const char *progname, int verbose)
{
	log_prog = progname;
	log_verbose = verbose;
}

size_t
log_clean(char *dst, size_t cap, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	unsigned char c;

	if (cap == 0)
		return 0;
	for (; (c = (unsigned char)*src) != '\0'; src++) {
		if (c >= 0x20 && c != 0x7f) {
			if (n + 1 >= cap)
				break;
			dst[n++] = (char)c;
			continue;
		}
		if (n + 4 >= cap)
			break;
		dst[n++] = '\\';
		dst[n++] = 'x';
		dst[n++] = hex[c >> 4];
		dst[n++] = hex[c & 15];
	}
	dst[n] = '\0';
	return n;
}

/*
 * One fprintf per line: stdio locks the stream, so worker threads never
 * interleave. The message is cleaned: it may carry text from outside (a
 * meter's info strings, a path from the config, a peer's identity).
 */
__attribute__((format(printf, 2, 0)))
static void
vlog(const char *level, const char *fmt, va_list ap, const char *suffix)
{
	char msg[1024], line[1024], out[LOG_RING_LINE_MAX];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	log_clean(line, sizeof(line), msg);
	fprintf(stderr, "%s: %s%s%s%s\n", log_prog, level, line,
	    suffix ? ": " : "", suffix ? suffix : "");
	snprintf(out, sizeof(out), "%.40s: %.10s%.1000s%s%.40s", log_prog, level,
	    line, suffix ? ": " : "", suffix ? suffix : "");
	ring_add(out);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("info: ", fmt, ap, NULL);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog("debug: ", fmt, ap, NULL);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog("warning: ", fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("warning: ", fmt, ap, NULL);
	va_end(ap);
}

void
log_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal: ", fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vlog("fatal: ", fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog("fatal: ", fmt, ap, NULL);
	va_end(ap);
	exit(1);
}
