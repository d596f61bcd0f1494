/*
 * Logging, OpenBSD style: the whole contract is these calls. Lines go to stderr
 * (journald or the launcher adds the time), each one line naming where and
 * what, labelled with its level: "wattgate: info: ...", "wattgate: warning:
 * ...", "wattgate: debug: ..." (with -v), "wattgate: fatal: ...".
 */
#ifndef WG_LOG_H
#define WG_LOG_H

#include <stdarg.h>
#include <stddef.h>

void log_init(const char *progname, int verbose);

/*
 * src as one line of at most cap - 1 bytes: control characters and DEL as
 * \xNN, so text from outside (a meter's strings, a peer's PSK identity)
 * can never end a log line and forge the next. Every log call does this to
 * its whole message; other line writers call it. Returns the length.
 */
size_t log_clean(char *dst, size_t cap, const char *src);
/*
 * The last LOG_RING_LINES lines, each as printed (without its LF, cut to
 * LOG_RING_LINE_MAX - 1 bytes): the console's "log" (a technician at the
 * serial port has no journalctl). fn(line, arg) for the last n of them,
 * oldest first, under the ring's lock: fn must not log. Returns how many.
 */
#define LOG_RING_LINES		256
#define LOG_RING_LINE_MAX	1100
size_t log_recent(size_t n, void (*fn)(const char *line, void *arg), void *arg);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": strerror(errno)"; log_warnx does not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * "fatal:" for an error that stops the daemon, when the caller still has to
 * stop in order (close the store, join threads) before it exits.
 */
void log_fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only at startup or for a broken invariant. */
_Noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
