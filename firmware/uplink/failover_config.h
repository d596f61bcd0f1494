/*
 * The failover's section: "uplink": {"primary": "mqtt", "fallback": "coap",
 * "failover_s": 60} runs both uplinks (docs/uplinks.md); each of the two
 * has its own section, parsed before this one.
 */
#ifndef WG_FAILOVER_CONFIG_H
#define WG_FAILOVER_CONFIG_H

#include "firmware/uplink/uplink.h"

struct failover_cfg {
	struct uplink_conf primary;
	struct uplink_conf fallback;
	unsigned failover_s;	/* primary down this long: the fallback carries */
};

/* uplink_ops.parse of the failover: section is the "uplink" object. */
int failover_config_parse(struct jc *x, json_t *v, const struct uplink_site *site,
    const struct uplink_conf *confs, size_t n_confs, void *cfg);

#endif
