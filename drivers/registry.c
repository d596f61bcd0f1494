/*
 * The drivers built into this image. Kconfig decides which source files are
 * compiled (CMake wg_sources_ifdef), so a disabled driver's ops table does not
 * exist and must not be named here: each entry sits under its CONFIG_ symbol.
 */
#include <string.h>

#include "drivers/driver.h"
#include "wg_config.h"

#ifdef CONFIG_DRIVER_REGMAP
extern const struct driver_ops regmap_driver_ops;
#endif

static const struct driver_ops *const drivers[] = {
#ifdef CONFIG_DRIVER_REGMAP
	&regmap_driver_ops,
#endif
	NULL
};

const struct driver_ops *
driver_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; drivers[i] != NULL; i++) {
		if (strcmp(drivers[i]->name, name) == 0)
			return drivers[i];
	}
	return NULL;
}
