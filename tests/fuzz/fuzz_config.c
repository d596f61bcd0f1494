/*
 * The site config (firmware/core/config*.c and each uplink's section): a
 * file on the device today, a document from the fleet with config.set. A
 * mistake gives one line "FILE: WHERE: WHAT" and leaves nothing allocated.
 * Seeds name the repository's profiles (tools/fuzz/run), so devices load
 * real ones.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct site_config c;
	char err[512];

	if (config_parse("fuzz.json", (const char *)data, size, &c, err,
	    sizeof(err)) == 0) {
		if (c.n_devices == 0 || c.gateway[0] == '\0')
			abort();
		config_free(&c);
	} else if (strchr(err, '\n') != NULL ||
	    strncmp(err, "fuzz.json", 9) != 0) {
		abort();	/* one line, naming the document */
	}
	return 0;
}
