/*
 * Which site config the daemon runs (control_config.c): the base file given
 * with -c, or the fleet's (config.set), or one on trial.
 */
#ifndef WG_CONTROL_CONFIG_H
#define WG_CONTROL_CONFIG_H

#include <stddef.h>

#include "firmware/base/kconfig.h"
#include "firmware/core/config.h"

#ifdef CONFIG_CONTROL
/*
 * config_load of base, then the fleet's choice; *trial 1 if on trial.
 * dry: only check (SIGHUP), write nothing. cfg->base names base.
 */
int control_config_pick(const char *base, struct site_config *cfg, int *trial,
    int dry, char *err, size_t errlen);
/* Before the exec of a reload: that start does not count as a trial's. */
void control_config_reloading(void);
#else
static inline int
control_config_pick(const char *base, struct site_config *cfg, int *trial,
    int dry, char *err, size_t errlen)
{
	(void)dry;
	*trial = 0;
	return config_load(base, cfg, err, errlen);
}

static inline void control_config_reloading(void) { }
#endif

#endif
