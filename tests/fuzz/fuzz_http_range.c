/*
 * A Content-Range header's value from an image server (firmware/ota/
 * http_range.c): what it accepts must hold A <= B, and B < T when the total
 * is known.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/ota/http_range.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t first, last, total;
	char *s;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (http_content_range(s, &first, &last, &total) == 0 &&
	    (first > last || (total != 0 && last >= total)))
		abort();
	free(s);
	return 0;
}
