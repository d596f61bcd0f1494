/*
 * What wattgate-console writes to the terminal, and the signals that end
 * or interrupt it.
 *
 * Every string that came from the daemon goes through out_clean() before
 * it is printed: a meter's text, a config file or a log line could hold an
 * escape sequence, and on a technician's terminal that is a command (move
 * the cursor, retitle the window, or worse on old terminals). Nothing but
 * printable text and our own newlines reaches the terminal, so on a dumb
 * terminal the output has no escape byte at all.
 */
#ifndef WG_CONSOLE_OUT_H
#define WG_CONSOLE_OUT_H

#include <signal.h>
#include <stddef.h>

#define PROG	"wattgate-console"

/* Set by the handlers; the loops look at them after poll() says EINTR. */
extern volatile sig_atomic_t out_sigint, out_sighup, out_sigterm, out_sigwinch;

/*
 * SIGINT, SIGHUP, SIGTERM, SIGWINCH caught (SA_RESTART: a write to a slow
 * terminal is finished, not cut; poll() still returns EINTR); SIGPIPE
 * ignored (a socket write says EPIPE instead).
 */
void out_signals(void);
/*
 * The terminal is gone or we are told to stop: SIGHUP, SIGTERM, or stdout
 * failed (EIO once the cable is pulled). The program then exits 0 quietly:
 * getty or systemd starts it again.
 */
int out_gone(void);
/* Marks the terminal gone (a read said EIO or EOF on a hung-up line). */
void out_set_gone(void);

/* printf to stdout (buffered: out_flush before waiting on anything). */
void out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void out_flush(void);
/* One line to stderr, "wattgate-console: ..." with the newline added. */
void out_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * src made printable into dst (cap bytes, NUL-terminated, cut with '~'):
 * control characters (C0, DEL, and C1 as UTF-8: U+0080..U+009F) become
 * '?'; other UTF-8 passes. Returns dst.
 */
char *out_clean(char *dst, size_t cap, const char *src);

#endif
