/* Private to the site-config parser (config.c, config_devices.c). */
#ifndef WG_CONFIG_INTERNAL_H
#define WG_CONFIG_INTERNAL_H

#include <jansson.h>

#include "firmware/base/jcheck.h"
#include "firmware/core/config.h"

/* "buses" and "devices": every bus and device checked, every bus used. */
int config_parse_devices(struct jc *x, json_t *root, struct site_config *c);
/* config_control.c: the "control" section, if present. */
int config_parse_control(struct jc *x, json_t *root, struct site_config *c);
int config_parse_ota(struct jc *x, json_t *root, struct site_config *c);
/* config_console.c: the "console" section, if present. */
int config_parse_console(struct jc *x, json_t *root, struct site_config *c);

#endif
