/*
 * Site configuration: what this home has (buses, devices, broker, gateway id).
 * A JSON file (docs/config.md), parsed with jansson and validated completely at
 * load: unknown keys, missing or out-of-range values, unknown profiles and drivers,
 * serial ports that do not exist. Every error is one line
 *   FILE: WHERE: WHAT     e.g. site.json: devices[1] (meter2).unit: 300 out of range 1..247
 * (firmware/base/jcheck.h). `wattgate --check FILE` runs exactly this. The
 * uplinks' sections ("mqtt", "coap", the failover's "uplink" object) are
 * parsed by the uplinks themselves.
 */
#ifndef WG_CONFIG_H
#define WG_CONFIG_H

#include <stddef.h>
#include <sys/types.h>

#include "drivers/bus/bus.h"
#include "drivers/driver.h"
#include "drivers/profile.h"
#include "firmware/codec/batch.h"
#include "firmware/codec/schema.h"
#include "firmware/store/store.h"
#include "firmware/uplink/uplink.h"

#define CFG_NAME_MAX SCHEMA_NAME_MAX
#define CFG_PATH_MAX 256
/* A site config of 250 devices is ~40 kB; more is a wrong file. */
#define CFG_FILE_MAX (1024 * 1024)
#define CFG_UPLINKS_MAX 4

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
	double failsafe_a;		/* charger: limit with the link lost; < 0 none */
};

/* "control": the fleet's control plane (config_control.c, docs/commands.md). */
struct cfg_control {
	int enabled;			/* the section is present */
	char key_file[CFG_PATH_MAX];	/* the fleet's command public key */
	char *key_pem;			/* its text, read and checked at load */
	size_t key_len;
	unsigned poll_s;		/* CoAP: seconds between asks */
	unsigned trial_cycles;		/* config.set: cycles to prove itself */
	unsigned failsafe_after_s;	/* link lost this long: failsafe limits */
	char reboot_hook[CFG_PATH_MAX];	/* "": reboot is refused */
};

/* "ota": updates from the fleet (config_ota.c, docs/ota.md). */
struct cfg_ota {
	int enabled;			/* the section is present */
	char board[CFG_PATH_MAX];	/* board.json: slots, boot env, release key */
	char ca[CFG_PATH_MAX];		/* the image server's CA; "": the system's */
	unsigned health_s;		/* a new image has this long to prove itself */
	unsigned rate_bps;		/* download limit (metered links); 0: none */
	unsigned retries;		/* transient download failures in a row */
};

/* "console": the technician console's socket (config_console.c, docs/console.md). */
#define CFG_CONSOLE_SOCKET_MAX	107	/* sun_path, less its NUL */
#define CFG_CONSOLE_OPEN_MAX	32
#define CFG_CONSOLE_NAME_MAX	32	/* CONSOLE_CMD_MAX */
struct cfg_console {
	int enabled;			/* the section is present */
	char socket[CFG_CONSOLE_SOCKET_MAX + 1];
	unsigned mode;			/* the socket file's permission bits */
	char group[64];			/* "": none */
	gid_t gid;			/* group's, looked up at load */
	/* Commands that run without a login (read-only ones only). */
	char open[CFG_CONSOLE_OPEN_MAX][CFG_CONSOLE_NAME_MAX + 1];
	size_t n_open;
	unsigned idle_s;		/* a session (or a silent connection) ends */
	unsigned max_clients;
	unsigned lockout_after;		/* failed logins in a row before a lockout */
	unsigned lockout_s;
};

struct site_config {
	char path[CFG_PATH_MAX];
	/* The file given with -c, when path is a fleet config (config.set,
	 * control_config.c); "" if path is that file. */
	char base[CFG_PATH_MAX];
	char gateway[BATCH_GW_MAX + 1];
	unsigned interval_s;
	unsigned backlog_rate;		/* readings/s for draining the backlog; 0: no limit */
	char store[CFG_PATH_MAX];
	unsigned store_max_mb;		/* budget of stored batch bytes */
	unsigned store_max_days;	/* readings older than this are evicted */
	enum store_sync store_sync;	/* "store_sync": "normal" (default) or "full" */
	char profiles_dir[CFG_PATH_MAX];
	char identity_key[CFG_PATH_MAX];	/* the device's private key file */
	/*
	 * Every uplink section present, each parsed by its own uplink
	 * (uplink.h), and the one "uplink" chose to carry the data: "mqtt" by
	 * default, or "coap", or the failover over two of them.
	 */
	struct uplink_conf uplinks[CFG_UPLINKS_MAX];
	size_t n_uplinks;
	size_t uplink;				/* index into uplinks */
	size_t n_buses;
	struct cfg_bus *buses;
	size_t n_devices;
	struct cfg_device *devices;
	size_t n_profiles;
	struct profile *profiles;
	struct cfg_control control;
	struct cfg_ota ota;
	struct cfg_console console;
};

/* 0, or -EINVAL/-errno with one line in err. On error *c holds nothing to free. */
int config_load(const char *path, struct site_config *c, char *err, size_t errlen);
/*
 * The same for a document in memory (a config sent by the fleet; the
 * fuzzer), named name in errors and kept as c->path.
 */
int config_parse(const char *name, const char *text, size_t len,
    struct site_config *c, char *err, size_t errlen);
void config_free(struct site_config *c);

/*
 * A serial port that does not exist is an error (a typo) for --check and
 * in every load, unless ok: then it loads, as a link that is down (a USB
 * adapter not plugged in yet), so its bus waits for it and the others run.
 * Process-wide: the running daemon's rule for each config it loads (at
 * start, on SIGHUP, from the fleet or the console), which a missing
 * adapter must not make it refuse. A path that is there but not a serial
 * port stays an error.
 */
void config_missing_ports_ok(int ok);

/*
 * Where the profiles are when the site config does not say: beside the
 * running binary as `cmake --install` lays them out (PREFIX/bin/wattgate,
 * PREFIX/share/wattgate/profiles), whatever the prefix; else the configured
 * prefix's directory.
 */
void config_profiles_default(char *dst, size_t len);

/* What the uplinks are told of the site (pointers into c). */
void config_uplink_site(const struct site_config *c, struct uplink_site *out);

/* The uplink that carries the data. */
const struct uplink_conf *config_uplink(const struct site_config *c);

/* The section of uplink name, NULL if the site config has none. */
const void *config_uplink_cfg(const struct site_config *c, const char *name);

/*
 * The schema this configuration produces (device and point names, units), as
 * sent to the platform. Points are borrowed from the config; free with
 * config_schema_free (not schema_free).
 */
int config_schema(const struct site_config *c, struct schema *s);
void config_schema_free(struct schema *s);

#endif
