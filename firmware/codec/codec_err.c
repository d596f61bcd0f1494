/* The codec's refusals (codec_err.h). */
#include <stdio.h>
#include <string.h>

#include "firmware/codec/codec_err.h"

int
codec_vfail(char *err, size_t errlen, const char *who, int rc, const char *fmt,
    va_list ap)
{
	int n;

	if (err == NULL || errlen == 0)
		return rc;
	n = snprintf(err, errlen, "%s: ", who);
	if (n >= 0 && (size_t)n < errlen)
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	return rc;
}

int
codec_in_set(const char *s, size_t n, size_t max, const char *set)
{
	size_t i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] == '\0' || strchr(set, s[i]) == NULL)
			return 0;
	return 1;
}
