/*
 * The command lines of the tools: every failure one line on stderr that
 * starts with the tool's name (prog) and names what, numbers read whole.
 * Exit codes: 0 done, 1 (EXIT_FAILURE) error, 2 (CLI_EXIT_USAGE) usage.
 */
#ifndef WG_TOOLS_CLI_H
#define WG_TOOLS_CLI_H

#define CLI_EXIT_USAGE	2

/* "PROG: WHAT: ERR" (": ERR" left out when err is ""); EXIT_FAILURE. */
int cli_fail(const char *prog, const char *what, const char *err);

/* s, a whole decimal number in min..max, into *out: 0, or -1. */
int cli_num(const char *s, long long min, long long max, long long *out);

/*
 * For an option getopt_long took but its value is bad: "PROG: --NAME: bad
 * value 'ARG'", unless getopt already said why (ch '?'). CLI_EXIT_USAGE.
 */
int cli_bad_value(const char *prog, int ch, const char *name,
    const char *arg);

#endif
