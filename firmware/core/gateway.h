/*
 * The daemon assembled from a site configuration: scheduler -> pollers ->
 * collector -> store -> forwarder -> uplink, all on one loop.
 */
#ifndef WG_GATEWAY_H
#define WG_GATEWAY_H

#include "firmware/core/config.h"

enum gateway_exit { GW_EXIT_STOP, GW_EXIT_RELOAD, GW_EXIT_ERROR };

/*
 * The store's directory fit to run in: 0, or -errno after one fatal line
 * naming it (missing is said, and left to the store to make). Before
 * anything writes there (the identity key goes beside the store).
 */
int gateway_check_state_dir(const char *store);

/* Runs until SIGTERM/SIGINT (stop) or a SIGHUP with a valid new config (reload). */
enum gateway_exit gateway_run(const struct site_config *cfg);

#endif
