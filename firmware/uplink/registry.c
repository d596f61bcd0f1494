#include <stddef.h>
#include <string.h>

#include "firmware/base/kconfig.h"
#include "firmware/uplink/uplink.h"

extern const struct uplink_ops mqtt_uplink_ops;
extern const struct uplink_ops coap_uplink_ops;
extern const struct uplink_ops failover_uplink_ops;

#ifdef CONFIG_UPLINK_MQTT
#define MQTT_OPS	(&mqtt_uplink_ops)
#else
#define MQTT_OPS	NULL
#endif
#ifdef CONFIG_UPLINK_COAP
#define COAP_OPS	(&coap_uplink_ops)
#else
#define COAP_OPS	NULL
#endif
#ifdef CONFIG_UPLINK_FAILOVER
#define FAILOVER_OPS	(&failover_uplink_ops)
#else
#define FAILOVER_OPS	NULL
#endif

/*
 * Every uplink by name, built in or not, so that a site config naming one
 * this image lacks gets "not built into this image", not "unknown key".
 * The failover comes last: its section names the others.
 */
static const struct {
	const char *name;
	const char *title;	/* in messages */
	const struct uplink_ops *ops;
} uplinks[] = {
	{ "mqtt", "MQTT", MQTT_OPS },
	{ "coap", "CoAP", COAP_OPS },
	{ "failover", "failover (primary and fallback)", FAILOVER_OPS },
};

const char *
uplink_known(size_t i, const struct uplink_ops **ops)
{
	if (i >= sizeof(uplinks) / sizeof(uplinks[0]))
		return NULL;
	*ops = uplinks[i].ops;
	return uplinks[i].name;
}

const char *
uplink_title(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(uplinks) / sizeof(uplinks[0]); i++)
		if (strcmp(uplinks[i].name, name) == 0)
			return uplinks[i].title;
	return name;
}

const struct uplink_ops *
uplink_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(uplinks) / sizeof(uplinks[0]); i++)
		if (uplinks[i].ops != NULL && strcmp(uplinks[i].name, name) == 0)
			return uplinks[i].ops;
	return NULL;
}

const struct uplink_conf *
uplink_conf_find(const struct uplink_conf *confs, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(confs[i].ops->name, name) == 0)
			return &confs[i];
	return NULL;
}
