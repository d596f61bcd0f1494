/*
 * Output and signals of wattgate-console (out.h says why it is careful).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "firmware/console/out.h"

volatile sig_atomic_t out_sigint, out_sighup, out_sigterm, out_sigwinch;
static int gone;

static void
on_signal(int sig)
{
	switch (sig) {
	case SIGINT: out_sigint = 1; break;
	case SIGHUP: out_sighup = 1; break;
	case SIGTERM: out_sigterm = 1; break;
	case SIGWINCH: out_sigwinch = 1; break;
	default: break;
	}
}

void
out_signals(void)
{
	struct sigaction sa;
	const int sigs[] = { SIGINT, SIGHUP, SIGTERM, SIGWINCH };
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

int
out_gone(void)
{
	return gone || out_sighup || out_sigterm;
}

void
out_set_gone(void)
{
	gone = 1;
}

/* A hung-up tty answers EIO; a closed pipe EPIPE: nobody reads. */
static void
check_stdout(void)
{
	if (ferror(stdout)) {
		if (errno == EIO || errno == EPIPE || errno == ENXIO)
			gone = 1;
		clearerr(stdout);
	}
}

void
out_printf(const char *fmt, ...)
{
	va_list ap;

	if (gone)
		return;
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	check_stdout();
}

void
out_flush(void)
{
	fflush(stdout);
	check_stdout();
}

void
out_err(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	fflush(stdout);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", PROG, line);
	fflush(stderr);
}

char *
out_clean(char *dst, size_t cap, const char *src)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t n = 0;

	if (cap == 0)
		return dst;
	for (; *s != '\0' && n + 1 < cap; s++) {
		if (*s < 0x20 || *s == 0x7f) {
			dst[n++] = '?';
		} else if (*s == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f) {
			dst[n++] = '?';		/* a C1 control: CSI is 0x9b */
			s++;
		} else {
			dst[n++] = (char)*s;
		}
	}
	if (*s != '\0' && n > 0) {
		/* Cut: back off a torn UTF-8 sequence, then mark the cut. */
		while (n > 1 && ((unsigned char)dst[n - 1] & 0xc0) == 0x80)
			n--;
		if (n > 0 && ((unsigned char)dst[n - 1] & 0xc0) == 0xc0)
			n--;
		if (n + 1 < cap)
			dst[n++] = '~';
		else
			dst[n - 1] = '~';
	}
	dst[n] = '\0';
	return dst;
}
