/*
 * Line input for wattgate-console (term.h).
 *
 * libedit's native API, with our own read function (EL_GETCFN): it polls
 * the terminal and the console socket together, so a notice or a lost
 * connection is handled while the technician types, and a Ctrl-C (SIGINT,
 * caught without killing us) ends el_gets() with the line dropped. libedit
 * draws only what changed on the line, which is what a 9600 baud line
 * needs; we add nothing that redraws on a timer.
 *
 * The plain reader reads whole lines from the kernel's cooked terminal (or
 * a pipe) and writes nothing but the prompt: no escape code can come from
 * it, which is the promise for TERM=dumb.
 */
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>
#include <wchar.h>

#include <histedit.h>

#include "firmware/console/out.h"
#include "firmware/console/term.h"

#define PLAIN_MAX	4096	/* a line typed or pasted; a login response fits */
#define HISTORY_SIZE	200

struct term {
	struct term_hooks h;
	EditLine *el;
	History *hist;
	char *hist_file;
	const char *prompt;
	mbstate_t mbs;
	int interrupted;
	int in_gets;		/* inside el_gets: a tick's output needs a redraw */
	/* The plain reader's bytes: what came after the last line taken. */
	char pbuf[PLAIN_MAX + 1];
	size_t plen;
	int skipping;		/* dropping the rest of an overlong line */
	char line[PLAIN_MAX + 1];
	struct termios saved;
	int raw;
};

/*
 * Waits for stdin (1), or runs the hooks' tick when the socket speaks or
 * the wait is over. -EINTR for Ctrl-C, -EIO when we must stop.
 */
static int
wait_input(struct term *t)
{
	struct pollfd p[2];
	int n, wait;

	for (;;) {
		out_flush();		/* a prompt or notice shows before we wait */
		if (out_gone())
			return -EIO;
		if (out_sigint) {
			out_sigint = 0;
			return -EINTR;
		}
		if (out_sigwinch && t->el != NULL) {
			out_sigwinch = 0;
			el_resize(t->el);
		}
		p[0].fd = 0;
		p[0].events = POLLIN;
		p[1].fd = t->h.fd ? t->h.fd(t->h.arg) : -1;
		p[1].events = POLLIN;
		wait = t->h.wait_ms ? t->h.wait_ms(t->h.arg) : -1;
		n = poll(p, 2, wait);
		if (n < 0 && errno != EINTR)
			return -EIO;
		if (n < 0)
			continue;
		if (p[0].revents != 0)
			return 1;
		if (t->h.tick && (n == 0 || p[1].revents != 0))
			t->h.tick(t->h.arg);
	}
}

/* libedit's read function: one character, decoded from UTF-8. */
static int
getc_fn(EditLine *el, wchar_t *wc)
{
	struct term *t;
	unsigned char b;
	ssize_t n;
	size_t r;
	int rc;

	el_get(el, EL_CLIENTDATA, &t);
	for (;;) {
		rc = wait_input(t);
		if (rc == -EINTR) {
			t->interrupted = 1;
			errno = EINTR;
			return -1;
		}
		if (rc < 0) {
			errno = EIO;
			return -1;
		}
		n = read(0, &b, 1);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		r = mbrtowc(wc, (const char *)&b, 1, &t->mbs);
		if (r == (size_t)-2)
			continue;		/* more bytes of one character */
		if (r == (size_t)-1) {
			memset(&t->mbs, 0, sizeof(t->mbs));
			continue;		/* not UTF-8: dropped */
		}
		return 1;
	}
}

static char *
prompt_fn(EditLine *el)
{
	struct term *t;

	el_get(el, EL_CLIENTDATA, &t);
	return (char *)(t->prompt ? t->prompt : "");
}

static int
open_edit(struct term *t, const char *hfile)
{
	HistEvent ev;
	mode_t um;

	setlocale(LC_CTYPE, "");
	t->el = el_init(PROG, stdin, stdout, stderr);
	if (t->el == NULL)
		return -ENOMEM;
	t->hist = history_init();
	if (t->hist == NULL)
		return -ENOMEM;
	history(t->hist, &ev, H_SETSIZE, HISTORY_SIZE);
	history(t->hist, &ev, H_SETUNIQUE, 1);
	if (hfile != NULL) {
		t->hist_file = strdup(hfile);
		um = umask(077);	/* what was typed is the technician's */
		history(t->hist, &ev, H_LOAD, hfile);
		umask(um);
	}
	el_set(t->el, EL_CLIENTDATA, t);
	el_set(t->el, EL_EDITOR, "emacs");
	el_set(t->el, EL_SIGNAL, 0);
	el_set(t->el, EL_HIST, history, t->hist);
	el_set(t->el, EL_PROMPT, prompt_fn);
	el_set(t->el, EL_GETCFN, getc_fn);
	/* The wide call: libedit's narrow EL_ADDFN copies both strings and
	 * never frees them (eln.c says so beside its two strdups); this one
	 * keeps our literals. */
	el_wset(t->el, EL_ADDFN, L"wg-complete", L"complete the word", complete_el);
	el_set(t->el, EL_BIND, "^I", "wg-complete", NULL);
	return 0;
}

int
term_open(struct term **out, const struct term_hooks *h, int edit,
    const char *hfile)
{
	struct term *t = calloc(1, sizeof(*t));
	int rc;

	if (t == NULL)
		return -ENOMEM;
	t->h = *h;
	if (edit && (rc = open_edit(t, hfile)) != 0) {
		term_close(t);
		return rc;
	}
	*out = t;
	return 0;
}

void
term_close(struct term *t)
{
	if (t == NULL)
		return;
	term_keys_raw(t, 0);
	if (t->el != NULL)
		el_end(t->el);
	if (t->hist != NULL)
		history_end(t->hist);
	free(t->hist_file);
	free(t);
}

int
term_edit(const struct term *t)
{
	return t->el != NULL;
}

void
term_candidates(struct term *t, int nw, char **w, struct cands *c)
{
	if (t->h.candidates)
		t->h.candidates(t->h.arg, nw, w, c);
}

void
term_history_add(struct term *t, const char *line)
{
	HistEvent ev;
	mode_t um;

	if (t->hist == NULL || line[0] == '\0')
		return;
	history(t->hist, &ev, H_ENTER, line);
	if (t->hist_file != NULL) {
		um = umask(077);
		history(t->hist, &ev, H_SAVE, t->hist_file);
		umask(um);
	}
}

/*
 * The next line from the plain buffer, reading more as needed: 1, 0 at end
 * of input, -EINTR, -E2BIG (a line over PLAIN_MAX; its rest is skipped).
 */
static int
plain_line(struct term *t, char *dst, size_t cap)
{
	char *nl;
	size_t n;
	ssize_t r;
	int rc;

	for (;;) {
		nl = memchr(t->pbuf, '\n', t->plen);
		if (nl != NULL) {
			n = (size_t)(nl - t->pbuf);
			rc = -E2BIG;
			dst[0] = '\0';
			if (!t->skipping && n < cap) {
				memcpy(dst, t->pbuf, n);
				dst[n] = '\0';
				if (n > 0 && dst[n - 1] == '\r')
					dst[n - 1] = '\0';	/* CR LF */
				rc = 1;
			}
			t->skipping = 0;
			t->plen -= (size_t)(nl + 1 - t->pbuf);
			memmove(t->pbuf, nl + 1, t->plen);
			return rc;
		}
		if (t->plen == PLAIN_MAX) {
			t->plen = 0;	/* no LF in a whole buffer: drop it */
			t->skipping = 1;
		}
		rc = wait_input(t);
		if (rc == -EINTR) {
			t->plen = 0;	/* the kernel dropped its part too */
			t->skipping = 0;
			return -EINTR;
		}
		if (rc < 0)
			return 0;
		r = read(0, t->pbuf + t->plen, PLAIN_MAX - t->plen);
		if (r < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (r <= 0) {
			/* End of input; EIO is a hung-up terminal. */
			if (r < 0)
				out_set_gone();
			if (t->plen > 0 && !t->skipping) {
				t->pbuf[t->plen++] = '\n';	/* the last line */
				continue;
			}
			return 0;
		}
		t->plen += (size_t)r;
	}
}

int
term_read(struct term *t, const char *prompt, char **line)
{
	const char *s;
	size_t n;
	int count, rc;

	t->prompt = prompt;
	if (t->el == NULL) {
		if (prompt != NULL)
			out_printf("%s", prompt);
		rc = plain_line(t, t->line, sizeof(t->line));
		if (rc == -EINTR)
			out_printf("\n");
		if (rc == -E2BIG) {
			out_err("line longer than %d bytes; dropped", PLAIN_MAX - 1);
			t->line[0] = '\0';
			rc = 1;
		}
		*line = t->line;
		return rc;
	}
	t->interrupted = 0;
	t->in_gets = 1;
	s = el_gets(t->el, &count);
	t->in_gets = 0;
	if (s == NULL) {
		if (t->interrupted) {
			out_printf("^C\n");
			return -EINTR;
		}
		if (count < 0 && errno != EINTR)
			out_set_gone();
		return 0;
	}
	n = strlen(s);
	if (n > PLAIN_MAX)
		n = PLAIN_MAX;
	memcpy(t->line, s, n);
	t->line[n] = '\0';
	/* The LF, and the blank a completion leaves, are not the command. */
	while (n > 0 && strchr("\n\r \t", t->line[n - 1]) != NULL)
		t->line[--n] = '\0';
	*line = t->line;
	return 1;
}

int
term_ask(struct term *t, const char *prompt, int echo, char *buf, size_t cap)
{
	struct termios tio, quiet;
	int tty = isatty(0), rc;

	out_printf("%s", prompt);
	if (!echo && tty && tcgetattr(0, &tio) == 0) {
		quiet = tio;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		quiet.c_lflag |= ECHONL;	/* the Enter still shows */
		tcsetattr(0, TCSAFLUSH, &quiet);
	}
	rc = plain_line(t, buf, cap);
	if (!echo && tty) {
		tcsetattr(0, TCSAFLUSH, &tio);
		if (rc == -EINTR)
			out_printf("\n");
	}
	if (echo && rc == -EINTR)
		out_printf("\n");
	return rc;
}

void
term_say_begin(struct term *t)
{
	(void)t;
	out_printf("\n");
}

void
term_say_end(struct term *t)
{
	if (t->el != NULL && t->in_gets)
		el_set(t->el, EL_REFRESH);	/* prompt and line, from column 0 */
	else if (t->prompt != NULL && t->el == NULL && isatty(0))
		out_printf("%s", t->prompt);
}

void
term_keys_raw(struct term *t, int on)
{
	struct termios tio;

	if (!isatty(0))
		return;
	if (on && !t->raw && tcgetattr(0, &t->saved) == 0) {
		tio = t->saved;
		tio.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		tio.c_cc[VMIN] = 1;
		tio.c_cc[VTIME] = 0;
		if (tcsetattr(0, TCSANOW, &tio) == 0)
			t->raw = 1;
	} else if (!on && t->raw) {
		tcsetattr(0, TCSAFLUSH, &t->saved);	/* the key is dropped */
		t->raw = 0;
	}
}
