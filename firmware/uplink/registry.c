#include <string.h>

#include "firmware/core/kconfig.h"
#include "firmware/uplink/uplink.h"

extern const struct uplink_ops mqtt_uplink_ops;
extern const struct uplink_ops coap_uplink_ops;
extern const struct uplink_ops failover_uplink_ops;

/* An uplink is one ops struct and one Kconfig line. */
static const struct uplink_ops *const uplinks[] = {
#ifdef CONFIG_UPLINK_MQTT
	&mqtt_uplink_ops,
#endif
#ifdef CONFIG_UPLINK_COAP
	&coap_uplink_ops,
#endif
#ifdef CONFIG_UPLINK_FAILOVER
	&failover_uplink_ops,
#endif
	NULL,
};

const struct uplink_ops *
uplink_find(const char *name)
{
	size_t i;

	for (i = 0; uplinks[i] != NULL; i++)
		if (strcmp(uplinks[i]->name, name) == 0)
			return uplinks[i];
	return NULL;
}
