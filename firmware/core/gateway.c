/*
 * The daemon's wiring: a site configuration made into scheduler -> pollers ->
 * collector (collector.c) -> store -> forwarder (forward.c) -> uplink, all on
 * one loop, with signals, start-up and an orderly stop. What is dropped and
 * reported is report.c's.
 */
#include "firmware/core/gateway.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "firmware/base/log.h"
#include "firmware/base/resolve.h"
#include "firmware/core/console.h"
#include "firmware/core/control.h"
#include "firmware/core/control_config.h"
#include "firmware/core/gateway_internal.h"
#include "firmware/store/store_fs.h"

/*
 * SIGHUP re-reads the config: if it is valid the loop ends with RELOAD and main()
 * re-executes the daemon with it (everything stored survives, nothing in memory is
 * lost: the collector commits first); if not, the error is logged and we go on.
 */
static void
on_signal(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct gateway *g = arg;
	struct signalfd_siginfo si;
	struct site_config next;
	char err[512];

	(void)events;
	if (read(fd, &si, sizeof(si)) != sizeof(si))
		return;
	if (si.ssi_signo == SIGUSR1) {
		report_state(g);
		return;
	}
	if (si.ssi_signo == SIGHUP) {
		/* What the restart will load: the -c file, then the fleet's. */
		const char *base = g->cfg->base[0] ? g->cfg->base : g->cfg->path;
		int trial;

		if (control_config_pick(base, &next, &trial, 1, err, sizeof(err)) < 0) {
			log_warnx("SIGHUP: %s; keeping the running configuration", err);
			return;
		}
		log_info("SIGHUP: %s is valid; restarting with it", next.path);
		config_free(&next);
		g->exit = GW_EXIT_RELOAD;
	} else {
		log_info("%s: stopping", strsignal((int)si.ssi_signo));
		g->exit = GW_EXIT_STOP;
	}
	loop_stop(l);
}

static int
setup_schema(struct gateway *g)
{
	struct schema s;
	char *json;
	int rc;

	if ((rc = config_schema(g->cfg, &s)) < 0)
		return rc;
	rc = schema_to_json(&s, &json, &g->schema_id);
	config_schema_free(&s);
	if (rc < 0)
		return rc;
	rc = store_put_schema(g->store, g->schema_id, json);
	free(json);
	return rc;
}

static int
setup_devices(struct gateway *g)
{
	const struct site_config *cfg = g->cfg;
	size_t i, total = 0;
	char err[256];
	int rc;

	if ((g->devs = calloc(cfg->n_devices, sizeof(*g->devs))) == NULL)
		return -ENOMEM;
	for (i = 0; i < cfg->n_devices; i++) {
		struct device *d = &g->devs[i];

		d->ops = cfg->devices[i].driver;
		memcpy(d->name, cfg->devices[i].name, sizeof(d->name));
		d->index = (uint16_t)i;
		d->unit = cfg->devices[i].unit;
		d->profile = cfg->devices[i].profile;
		d->timeout_ms = cfg->devices[i].timeout_ms;
		d->retries = cfg->devices[i].retries;
		d->backoff_max = cfg->devices[i].backoff_max;
		d->bus = &cfg->buses[cfg->devices[i].bus].bus;
		if ((rc = d->ops->probe(d, err, sizeof(err))) < 0) {
			log_warnx("device %s: %s", d->name, err);
			return rc;
		}
		total += d->profile->n_points + d->profile->n_derived;
	}
	if (health_init(&g->health, g->devs, cfg->n_devices) < 0)
		return -ENOMEM;
	return collector_setup(&g->col, total);
}

static int
setup_signals(struct gateway *g)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	/* Blocked before any thread starts, so the workers inherit the mask. */
	if (sigprocmask(SIG_BLOCK, &set, NULL) == -1)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	if ((g->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		return -errno;
	return loop_add(g->loop, g->sigfd, EPOLLIN, on_signal, g);
}

static void
teardown(struct gateway *g)
{
	size_t i;

	sched_stop(g->sched);
	pollers_stop(g->pollers);	/* hands over what is still queued */
	g->pollers = NULL;
	/* After the workers (a console's bus job is then done or dropped),
	 * before the control plane its commands go through. */
	console_stop(g->con);
	g->con = NULL;
	control_stop(g->ctl);	/* after the workers: their jobs point into it */
	g->ctl = NULL;
	if (g->store != NULL)
		collector_commit(g);
	if (g->fwd != NULL)
		report_summary(g);
	forward_stop(g->fwd);
	resolve_stop(g->resolver);
	hold_free(g->hold);
	store_close(g->store);
	for (i = 0; g->devs != NULL && i < g->cfg->n_devices; i++)
		if (g->devs[i].ops != NULL)
			g->devs[i].ops->close(&g->devs[i]);
	free(g->devs);
	health_free(&g->health);
	collector_free(&g->col);
	if (g->sigfd >= 0)
		close(g->sigfd);
	loop_free(g->loop);
}

enum gateway_exit
gateway_run(const struct site_config *cfg)
{
	struct gateway g = { .cfg = cfg, .exit = GW_EXIT_ERROR, .sigfd = -1 };
	struct poller_events pev = { collector_reading, collector_done, &g };
	struct sched_events sev = { collector_tick, collector_clock_valid, &g };
	char err[512];
	int rc;

	if ((g.loop = loop_new()) == NULL)
		fatal("event loop");
	presync_init(&g.col.presync, 0);
	if ((rc = setup_signals(&g)) < 0) {
		log_fatalx("signals: %s", strerror(-rc));
		goto out;
	}
	if ((rc = store_open_opts("sqlite", cfg->store, &(struct store_opts){
	    .sync = cfg->store_sync }, &g.store, err, sizeof(err))) < 0) {
		log_fatalx("%s", err);
		goto out;
	}
	if (g.store->alarm[0] != '\0')
		log_warnx("ALARM: %s", g.store->alarm);
	if (g.store->notice[0] != '\0')
		log_info("%s", g.store->notice);
	if (store_fs_check("/proc/self/mounts", cfg->store, err, sizeof(err)) == 1)
		log_info("%s", err);
	if ((rc = setup_schema(&g)) < 0 || (rc = setup_devices(&g)) < 0 ||
	    (rc = hold_new(0, &g.hold)) < 0) {
		log_fatalx("startup: %s", strerror(-rc));
		goto out;
	}
	collector_merge_backlog(&g);
	if ((rc = resolve_start(g.loop, 0, &g.resolver)) < 0 ||
	    (rc = forward_start(g.loop, g.resolver, cfg, g.store, &g.fwd)) < 0 ||
	    (rc = pollers_start(g.loop, cfg, g.devs, &pev, &g.pollers)) < 0 ||
	    (rc = control_start(&g, &g.ctl)) < 0 ||
	    (rc = console_start(&g, &g.con)) < 0 ||
	    (rc = sched_start(g.loop, (int64_t)cfg->interval_s * 1000, &sev,
	    &g.sched)) < 0) {
		log_fatalx("startup: %s", strerror(-rc));
		goto out;
	}
	log_info("gateway %s: %zu device(s) on %zu bus(es), every %u s, store %s",
	    cfg->gateway, cfg->n_devices, cfg->n_buses, cfg->interval_s, cfg->store);
	if ((rc = loop_run(g.loop)) < 0) {
		log_fatalx("event loop: %s", strerror(-rc));
		g.exit = GW_EXIT_ERROR;
	}
out:
	teardown(&g);
	return g.exit;
}
