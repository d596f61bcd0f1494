/*
 * wattgate: the gateway daemon.
 *
 *   wattgate -c SITE.json [-v]   run in the foreground (systemd or the launcher
 *                                supervises; logs go to stderr)
 *   wattgate --check SITE.json   validate the site config and exit 0/1
 *   wattgate --identity -c SITE.json
 *                                create the device key if needed; print its
 *                                CSR and fingerprint (docs/identity.md)
 *   wattgate --version
 *   wattgate scan PORT [options]  find and identify devices (docs/scan.md)
 */
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "firmware/core/config.h"
#include "firmware/core/control_config.h"
#include "firmware/core/gateway.h"
#include "firmware/base/log.h"
#include "firmware/core/scan.h"
#include "firmware/identity/identity.h"

/*
 * Blocked from the start (and inherited across the SIGHUP re-exec): the loop
 * takes them from a signalfd, and a SIGHUP during startup must not kill us.
 */
static void
block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: wattgate -c SITE.json [-v]\n"
	    "       wattgate --check SITE.json\n"
	    "       wattgate --identity -c SITE.json\n"
	    "       wattgate --version\n"
	    "       wattgate scan PORT [options]\n");
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", required_argument, NULL, 'n' },
		{ "identity", no_argument, NULL, 'i' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = NULL;
	struct site_config cfg;
	char err[512];
	int ch, check = 0, identity = 0, verbose = 0, trial = 0;
	enum gateway_exit ex;

#ifdef __GLIBC__
	/*
	 * One malloc arena: each bus worker would otherwise get an arena of its
	 * own (64 MiB reserved, a few pages touched and kept) for the few
	 * allocations it makes (docs/memory.md).
	 */
	mallopt(M_ARENA_MAX, 1);
#endif
	if (argc >= 2 && strcmp(argv[1], "scan") == 0)
		return scan_main(argc - 1, argv + 1);
	while ((ch = getopt_long(argc, argv, "c:n:vVh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'n':
			path = optarg;
			check = 1;
			break;
		case 'i':
			identity = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			printf("wattgate %s\n", WG_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (path == NULL || optind != argc) {
		usage(stderr);
		return 2;
	}
	log_init("wattgate", verbose);
	if (!check && !identity) {
		block_signals();
		config_missing_ports_ok(1);
	}
	/* --check judges the file given; a run takes the fleet's config if
	 * config.set left one (control_config.c). */
	if ((check || identity ? config_load(path, &cfg, err, sizeof(err)) :
	    control_config_pick(path, &cfg, &trial, 0, err, sizeof(err))) < 0) {
		fprintf(stderr, "wattgate: %s\n", err);
		return 1;
	}
	if (check) {
		printf("%s: ok: gateway %s, %zu device(s) on %zu bus(es), every %u s\n",
		    path, cfg.gateway, cfg.n_devices, cfg.n_buses, cfg.interval_s);
		config_free(&cfg);
		return 0;
	}
	if (identity) {
		ch = identity_print(&cfg, stdout, err, sizeof(err));
		if (ch < 0)
			fprintf(stderr, "wattgate: %s\n", err);
		config_free(&cfg);
		return ch < 0;
	}
	if (gateway_check_state_dir(cfg.store) < 0) {
		config_free(&cfg);
		return 1;
	}
	/* Before any uplink connects; a broken key is logged, not fatal. */
	identity_start(&cfg);
	ex = gateway_run(&cfg);
	config_free(&cfg);
	if (ex == GW_EXIT_RELOAD) {
		/*
		 * Same binary, same arguments, new config. The signal mask stays blocked
		 * across exec, so a signal arriving now stays pending for the new image
		 * instead of killing us with its default action.
		 */
		control_config_reloading();
		execv("/proc/self/exe", argv);
		log_warn("reload: exec");
		return 1;
	}
	return ex == GW_EXIT_STOP ? 0 : 1;
}
