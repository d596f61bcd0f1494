/*
 * wattgate scan PORT: find and identify the devices on a bus (first install).
 * The config snippet goes to stdout, progress to stderr. docs/scan.md.
 */
#ifndef WG_SCAN_H
#define WG_SCAN_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "drivers/bus/bus.h"
#include "drivers/profile.h"

#define SCAN_PROFILES_MAX 64

/* Every profile in dir (at most SCAN_PROFILES_MAX), sorted by name. 0 or -1 with err. */
int scan_load_profiles(const char *dir, struct profile *ps, size_t *n, char *err,
    size_t errlen);
/*
 * Probe from..to on the open bus b and identify what answers with ps; the
 * config snippet ({"buses": [...], "devices": [...]}) in *out, *found the
 * units identified. Progress lines to pr (NULL: none). 0 or -errno.
 */
int scan_bus(struct bus *b, const struct bus_cfg *cfg, int from, int to,
    const struct profile *ps, size_t n, FILE *pr, json_t **out, int *found);
/* The same, giving up with -ECANCELED between two ids once cancel(arg) is 1. */
int scan_bus_until(struct bus *b, const struct bus_cfg *cfg, int from, int to,
    const struct profile *ps, size_t n, FILE *pr, json_t **out, int *found,
    int (*cancel)(void *), void *arg);

/* argv[0] is "scan". Returns the exit status: 0 found, 1 error/none, 2 usage. */
int scan_main(int argc, char *argv[]);

#endif
