/*
 * wattgate-fleet password-hash (tech.h): console.password's args from a
 * password, so that the clear password never leaves the fleet operator's
 * terminal: only the salt, the rounds and the PBKDF2 hash travel in the
 * signed command (docs/console.md "Login").
 *
 * The password must be something the console can carry: one request
 * argument (1..1024 bytes of UTF-8, no control characters); and it must not
 * be short (ETSI EN 303 645 5.1: no guessable default): 8 bytes at least.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>

#include "firmware/codec/pwhash.h"
#include "tools/fleet/tech.h"
#include "tools/lib/cli.h"

#define PROG		"wattgate-fleet"
#define PASSWORD_MIN	8
#define SALT_LEN	16

/* One line from stdin into buf, without its LF (or CR LF); its length or -1. */
static int
read_line(const char *prompt, char *buf, size_t cap)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), restore = 0;
	size_t n;

	if (tty) {
		fputs(prompt, stderr);
		if (tcgetattr(STDIN_FILENO, &old) == 0) {
			quiet = old;
			quiet.c_lflag &= ~(tcflag_t)ECHO;
			quiet.c_lflag |= ECHONL;
			restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
		}
	}
	if (fgets(buf, (int)cap, stdin) == NULL)
		buf[0] = '\0';
	if (restore)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	n = strlen(buf);
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	else if (n + 1 >= cap)
		return -1;	/* longer than the buffer: not cut silently */
	if (n > 0 && buf[n - 1] == '\r')
		buf[--n] = '\0';
	return (int)n;
}

static const char *
password_problem(const char *pw, size_t n)
{
	json_t *s;
	size_t i;

	if (n < PASSWORD_MIN)
		return "shorter than 8 bytes";
	if (n > PWHASH_PASSWORD_MAX)
		return "longer than 1024 bytes (one console argument)";
	for (i = 0; i < n; i++)
		if ((unsigned char)pw[i] < 0x20 || pw[i] == 0x7f)
			return "has a control character (the console cannot send it)";
	/* jansson checks UTF-8 as the console's request parser will. */
	if ((s = json_stringn(pw, n)) == NULL)
		return "not UTF-8";
	json_decref(s);
	return NULL;
}

int
password_hash(uint32_t iterations)
{
	static char pw[PWHASH_PASSWORD_MAX + 2], again[PWHASH_PASSWORD_MAX + 2];
	struct pwhash h = { .salt_len = SALT_LEN, .iterations = iterations };
	const char *why;
	json_t *o;
	int n, rc = EXIT_FAILURE;

	if ((n = read_line("Password: ", pw, sizeof(pw))) < 0) {
		why = "longer than 1024 bytes (one console argument)";
	} else if ((why = password_problem(pw, (size_t)n)) == NULL &&
	    isatty(STDIN_FILENO) && (read_line("Again: ", again,
	    sizeof(again)) != n || memcmp(pw, again, (size_t)n) != 0)) {
		why = "the two entries differ";
	}
	if (why != NULL) {
		cli_fail(PROG, "password", why);
		goto out;
	}
	if (getrandom(h.salt, SALT_LEN, 0) != SALT_LEN) {
		cli_fail(PROG, "salt", strerror(errno));
		goto out;
	}
	if (pwhash_derive(pw, (size_t)n, h.salt, h.salt_len, h.iterations,
	    h.hash) < 0) {
		cli_fail(PROG, "password-hash", "PBKDF2 failed");
		goto out;
	}
	o = pwhash_to_json(&h);
	if (o == NULL || json_dumpf(o, stdout, JSON_COMPACT |
	    JSON_PRESERVE_ORDER) != 0 || putchar('\n') == EOF ||
	    fflush(stdout) != 0)
		cli_fail(PROG, "stdout", strerror(errno));
	else
		rc = 0;
	json_decref(o);
out:
	explicit_bzero(pw, sizeof(pw));
	explicit_bzero(again, sizeof(again));
	return rc;
}
