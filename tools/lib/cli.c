/* The tools' command lines (cli.h). */
#include "tools/lib/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int
cli_fail(const char *prog, const char *what, const char *err)
{
	fprintf(stderr, "%s: %s%s%s\n", prog, what, err[0] ? ": " : "", err);
	return EXIT_FAILURE;
}

int
cli_num(const char *s, long long min, long long max, long long *out)
{
	char *end;

	errno = 0;
	*out = strtoll(s, &end, 10);
	return errno == 0 && end != s && *end == '\0' && *out >= min &&
	    *out <= max ? 0 : -1;
}

int
cli_bad_value(const char *prog, int ch, const char *name, const char *arg)
{
	if (ch != '?')
		fprintf(stderr, "%s: --%s: bad value '%s'\n", prog, name,
		    arg != NULL ? arg : "");
	return CLI_EXIT_USAGE;
}
