/*
 * The profile loader (drivers/profile*.c): a profile file is written by hand
 * or shipped by a vendor; a mistake must give one line, never a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct profile p;
	char err[512];

	if (profile_parse("fuzz.json", (const char *)data, size, &p, err,
	    sizeof(err)) == 0) {
		if (p.n_points == 0 || p.points == NULL)
			abort();
		profile_free(&p);
	} else if (strchr(err, '\n') != NULL || p.points != NULL) {
		abort();	/* one line; nothing left allocated */
	}
	return 0;
}
