/*
 * Site configuration: what this home has (buses, devices, broker, gateway id).
 * A JSON file (docs/config.md), parsed with jansson and validated completely at
 * load: unknown keys, missing or out-of-range values, unknown profiles and drivers,
 * serial ports that do not exist. Every error is one line
 *   FILE: WHERE: WHAT        e.g. site.json: devices[1] (meter2): unit 300 out of range 1..247
 * `wattgate --check FILE` runs exactly this.
 */
#ifndef WG_CONFIG_H
#define WG_CONFIG_H

#include <stddef.h>

#include "drivers/bus/bus.h"
#include "drivers/driver.h"
#include "drivers/profile.h"
#include "firmware/codec/batch.h"
#include "firmware/codec/schema.h"
#include "firmware/store/store.h"

#define CFG_NAME_MAX SCHEMA_NAME_MAX
#define CFG_PATH_MAX 256

struct cfg_bus {
	char name[CFG_NAME_MAX + 1];
	struct bus_cfg bus;
};

struct cfg_device {
	char name[CFG_NAME_MAX + 1];
	size_t bus;			/* index into buses */
	int unit;
	const struct driver_ops *driver;
	const struct profile *profile;	/* owned by the config */
	unsigned timeout_ms;		/* response timeout; the bus's if absent */
	unsigned retries;		/* attempts after a garbled answer */
	unsigned backoff_max;		/* most cycles skipped after a timeout */
};

/* "mqtt": { "tls": { ... } }: mutual TLS to the broker (docs/mqtt.md). */
struct cfg_mqtt_tls {
	int enabled;			/* "tls" present */
	char ca_file[CFG_PATH_MAX];	/* CA(s) the broker's certificate must chain to */
	char cert_file[CFG_PATH_MAX];	/* our certificate (chain); "" if none */
	char key_file[CFG_PATH_MAX];	/* its private key: a secrets file */
	char server_name[128];		/* name checked in the broker's certificate */
};

struct cfg_mqtt {
	int enabled;
	char host[128];
	unsigned port;
	char prefix[32];
	unsigned keepalive_s;
	char client_id[64];
	struct cfg_mqtt_tls tls;
};

/*
 * ---- CoAP uplink (branch coap; docs/coap.md) ----
 * "uplink" picks the uplink by name (one place, for the later failover); "coap"
 * holds the CoAP/DTLS settings. Files holding secrets (psk_file, key_file) are
 * checked with secret_check() at load and read with secret_read() at each
 * connection attempt, so a fixed file is picked up without a restart.
 */
#define CFG_UPLINK_MAX	15
#define CFG_URI_MAX	256

struct cfg_coap {
	int enabled;
	char uri[CFG_URI_MAX];		/* coap://host[:port]/base or coaps://... */
	int secure;			/* coaps:// */
	char psk_file[CFG_PATH_MAX];	/* coaps with a pre-shared key */
	char ca_file[CFG_PATH_MAX];	/* coaps with certificates: the server's CA */
	char cert_file[CFG_PATH_MAX];	/* optional client certificate ... */
	char key_file[CFG_PATH_MAX];	/* ... and its key */
	unsigned ack_timeout_ms;	/* RFC 7252 ACK_TIMEOUT */
	unsigned max_retransmit;	/* RFC 7252 MAX_RETRANSMIT */
};
/* ---- end CoAP uplink ---- */

/*
 * ---- Failover (branch failover; docs/uplinks.md) ----
 * "uplink": {"primary": "mqtt", "fallback": "coap", "failover_s": 60} runs both
 * uplinks: site_config.uplink is then "failover" (firmware/uplink/failover.c, the
 * one place that picks an uplink stays gateway.c) and this names the two.
 */
struct cfg_failover {
	char primary[CFG_UPLINK_MAX + 1];
	char fallback[CFG_UPLINK_MAX + 1];
	unsigned failover_s;	/* primary down this long: the fallback carries */
};
/* ---- end Failover ---- */

struct site_config {
	char path[CFG_PATH_MAX];
	char gateway[BATCH_GW_MAX + 1];
	unsigned interval_s;
	unsigned backlog_rate;		/* readings/s for draining the backlog; 0: no limit */
	char store[CFG_PATH_MAX];
	unsigned store_max_mb;		/* budget of stored batch bytes */
	unsigned store_max_days;	/* readings older than this are evicted */
	enum store_sync store_sync;	/* "store_sync": "normal" (default) or "full" */
	char profiles_dir[CFG_PATH_MAX];
	struct cfg_mqtt mqtt;
	char uplink[CFG_UPLINK_MAX + 1];	/* "mqtt" (default), "coap", "failover" */
	struct cfg_coap coap;
	struct cfg_failover failover;		/* uplink "failover" only */
	/* ---- identity (firmware/identity, docs/identity.md) ---- */
	char identity_key[CFG_PATH_MAX];	/* the device's private key file */
	/* ---- end identity ---- */
	size_t n_buses;
	struct cfg_bus *buses;
	size_t n_devices;
	struct cfg_device *devices;
	size_t n_profiles;
	struct profile *profiles;
};

/* 0, or -EINVAL/-errno with one line in err. On error *c holds nothing to free. */
int config_load(const char *path, struct site_config *c, char *err, size_t errlen);
void config_free(struct site_config *c);

/*
 * The schema this configuration produces (device and point names, units), as
 * sent to the platform. Points are borrowed from the config; free with
 * config_schema_free (not schema_free).
 */
int config_schema(const struct site_config *c, struct schema *s);
void config_schema_free(struct schema *s);

#endif
