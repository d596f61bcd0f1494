/*
 * The technician's terminal: a line at a time, with libedit (history,
 * completion, editing) where the terminal can take it, and a plain reader
 * that writes no escape code at all where it cannot (TERM unset or "dumb",
 * stdin not a tty): there the kernel's line discipline edits the line.
 *
 * While a line is read, the console socket is watched too (term_hooks):
 * a notice from the daemon (idle logout, "stopping") is printed at once
 * above the line, and a lost connection is retried every second, without
 * waiting for the technician to press Enter.
 */
#ifndef WG_CONSOLE_TERM_H
#define WG_CONSOLE_TERM_H

#include <stddef.h>

#include "firmware/console/complete.h"

struct term_hooks {
	int (*fd)(void *arg);		/* another fd to watch, or -1 */
	int (*wait_ms)(void *arg);	/* tick after this long; -1: never */
	void (*tick)(void *arg);	/* fd readable, or wait_ms passed */
	/* Completion: the words before the one being completed (complete.h). */
	void (*candidates)(void *arg, int nw, char **w, struct cands *c);
	void *arg;
};

struct term;

/*
 * edit: use libedit (the caller decides: a tty on both ends and a TERM
 * that is set and not "dumb"). history: a file to keep it in, or NULL.
 * 0 or -errno.
 */
int term_open(struct term **out, const struct term_hooks *h, int edit,
    const char *history);
void term_close(struct term *t);
int term_edit(const struct term *t);

/*
 * One line, without its LF, valid until the next call: 1; 0 at end of
 * input (Ctrl-D, a pulled cable); -EINTR for Ctrl-C (the line is dropped).
 * prompt NULL: none (input from a pipe).
 */
int term_read(struct term *t, const char *prompt, char **line);
void term_history_add(struct term *t, const char *line);
/* complete.c: the candidates for the word after w[0..nw) (term_hooks). */
void term_candidates(struct term *t, int nw, char **w, struct cands *c);

/*
 * A line outside the editor (a pasted login response; a password with echo
 * off), into buf: 1, 0 at end of input, -EINTR for Ctrl-C, -E2BIG for a
 * line longer than cap - 1 (the rest of it is dropped).
 */
int term_ask(struct term *t, const char *prompt, int echo, char *buf,
    size_t cap);

/* Printing from a tick while a line is edited: a fresh line, then redraw. */
void term_say_begin(struct term *t);
void term_say_end(struct term *t);

/*
 * watch: keys one by one, unechoed, while on (Ctrl-C still a signal); off
 * restores the terminal and drops the key that ended it.
 */
void term_keys_raw(struct term *t, int on);

#endif
