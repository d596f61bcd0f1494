/*
 * The Content-Range of a 206 (RFC 9110 14.4), read strictly: it decides
 * which bytes of the image the body is, so anything but one plain
 * "bytes A-B/T" is refused rather than guessed at.
 */
#include "firmware/ota/http_range.h"

#include <stddef.h>
#include <strings.h>

/* Decimal digits only (no sign, no space, no overflow): the number's end. */
static const char *
parse_u64(const char *s, uint64_t *v)
{
	const char *p = s;

	*v = 0;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (*v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return NULL;
		*v = *v * 10 + (uint64_t)(*p - '0');
	}
	return p == s ? NULL : p;
}

int
http_content_range(const char *s, uint64_t *first, uint64_t *last,
    uint64_t *total)
{
	while (*s == ' ' || *s == '\t')
		s++;
	if (strncasecmp(s, "bytes ", 6) != 0)
		return -1;
	s += 6;
	while (*s == ' ')
		s++;
	if ((s = parse_u64(s, first)) == NULL || *s++ != '-' ||
	    (s = parse_u64(s, last)) == NULL || *s++ != '/' || *last < *first)
		return -1;
	if (*s == '*') {
		*total = 0;
		s++;
	} else if ((s = parse_u64(s, total)) == NULL || *total <= *last)
		return -1;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	return *s == '\0' ? 0 : -1;
}
