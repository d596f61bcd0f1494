/*
 * The daemon assembled from a site configuration: scheduler -> pollers ->
 * collector -> store -> forwarder -> uplink, all on one loop.
 */
#ifndef WG_GATEWAY_H
#define WG_GATEWAY_H

#include "firmware/core/config.h"

enum gateway_exit { GW_EXIT_STOP, GW_EXIT_RELOAD, GW_EXIT_ERROR };

/* Runs until SIGTERM/SIGINT (stop) or a SIGHUP with a valid new config (reload). */
enum gateway_exit gateway_run(const struct site_config *cfg);

#endif
