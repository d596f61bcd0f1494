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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "firmware/base/log.h"
#include "firmware/base/notify.h"
#include "firmware/base/resolve.h"
#include "firmware/core/console.h"
#include "firmware/core/control.h"
#include "firmware/core/control_config.h"
#include "firmware/core/gateway_internal.h"
#include "firmware/store/store_fs.h"

/*
 * RELOADING=1 with the time it began (sd_notify(3), systemd 253) and, if
 * the watchdog is ours, a last ping: a re-executed daemon has a whole
 * period to open its store and say READY=1 again.
 */
static void
tell_reloading(const struct gateway *g)
{
	struct timespec ts;
	char msg[80];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu%s",
	    (unsigned long long)ts.tv_sec * 1000000ULL +
	    (unsigned long long)ts.tv_nsec / 1000,
	    g->wdfd >= 0 ? "\nWATCHDOG=1" : "");
	notify_send(msg);
}

/*
 * SIGHUP re-reads the config: if it is valid the loop ends with RELOAD and main()
 * re-executes the daemon with it (everything stored survives, nothing in memory is
 * lost: the collector commits first); if not, the error is logged and we go on,
 * and the service manager hears of a reload that is over at once
 * (Type=notify-reload waits for RELOADING=1 and READY=1 after its SIGHUP).
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
			tell_reloading(g);
			notify_send("READY=1\nSTATUS=SIGHUP: the new configuration "
			    "is not valid; kept the running one (see the log)");
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

/*
 * The store's directory (the unit's StateDirectory=, board.json's
 * state_dir, often a partition of its own), said plainly before the
 * identity key's or SQLite's own words ("unable to open database file"):
 * missing (a line, then the store makes it), or there but not writable for
 * us (a state partition that did not mount leaves its mount point on a
 * read-only root; the wrong owner). With nowhere to keep readings the
 * daemon stops (exit 1) and its supervisor starts it again until the
 * directory is fit.
 */
int
gateway_check_state_dir(const char *store)
{
	char dir[CFG_PATH_MAX];
	const char *slash = strrchr(store, '/');
	struct stat st;

	/* config.c refuses a store without a directory of its own. */
	if (slash == NULL || slash == store ||
	    (size_t)(slash - store) >= sizeof(dir))
		return 0;
	memcpy(dir, store, (size_t)(slash - store));
	dir[slash - store] = '\0';
	if (stat(dir, &st) == -1) {
		int e = errno;

		if (e != ENOENT) {
			log_fatalx("state directory %s: %s", dir, strerror(e));
			return -e;
		}
		log_warnx("state directory %s is missing; making it", dir);
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_fatalx("state directory %s is not a directory", dir);
		return -ENOTDIR;
	}
	if (access(dir, W_OK | X_OK) == -1) {
		int e = errno;

		log_fatalx("state directory %s is not writable for uid %u: %s; "
		    "readings cannot be stored", dir, (unsigned)getuid(),
		    strerror(e));
		return -e;
	}
	return 0;
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
on_watchdog(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)events;
	(void)arg;
	loop_timer_ack(fd);
	notify_send("WATCHDOG=1");
}

/*
 * systemd's WatchdogSec=: fed from a timer on this loop at half the period
 * systemd asks for (its own advice), so a loop that stops turning (a
 * callback stuck in a system call, a deadlock) stops the pings and systemd
 * restarts us. Not from a thread of its own: that would ping for a dead
 * loop. WATCHDOG_PID names the process the watchdog is for; a child that
 * inherited the variables is not it.
 */
static int
start_watchdog(struct gateway *g)
{
	uint64_t usec;
	int64_t ms;
	int rc;

	rc = notify_watchdog(getenv("WATCHDOG_USEC"), getenv("WATCHDOG_PID"),
	    getpid(), &usec);
	if (rc == -EINVAL)
		log_warnx("WATCHDOG_USEC=%s WATCHDOG_PID=%s: not a number; no "
		    "watchdog pings", getenv("WATCHDOG_USEC"),
		    getenv("WATCHDOG_PID") ? getenv("WATCHDOG_PID") : "");
	if (rc <= 0)
		return 0;
	ms = (int64_t)(usec / 2000);
	if (ms < 1)
		ms = 1;
	if ((g->wdfd = loop_timer_new(CLOCK_MONOTONIC)) < 0)
		return g->wdfd;
	if ((rc = loop_add(g->loop, g->wdfd, EPOLLIN, on_watchdog, g)) < 0 ||
	    (rc = loop_timer_after(g->wdfd, ms, ms)) < 0)
		return rc;
	log_info("systemd watchdog: WATCHDOG=1 every %lld ms",
	    (long long)ms);
	return 0;
}

/*
 * The service manager is told what the loop's end means before teardown
 * starts (a commit, the workers joined: seconds on a slow card), so
 * "systemctl reload/stop" shows it from the start.
 */
static void
tell_exit(const struct gateway *g)
{
	if (g->exit == GW_EXIT_RELOAD)
		tell_reloading(g);
	else if (g->exit == GW_EXIT_STOP)
		notify_send("STOPPING=1");
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
	if (g->wdfd >= 0)
		close(g->wdfd);
	loop_free(g->loop);
	notify_close();
}

enum gateway_exit
gateway_run(const struct site_config *cfg)
{
	struct gateway g = { .cfg = cfg, .exit = GW_EXIT_ERROR, .sigfd = -1,
	    .wdfd = -1 };
	struct poller_events pev = { collector_reading, collector_done, &g };
	struct sched_events sev = { collector_tick, collector_clock_valid, &g };
	char err[512];
	int rc;

	if ((g.loop = loop_new()) == NULL)
		fatal("event loop");
	notify_init();
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
	/* The store is open and the first tick armed (sched_start). */
	if ((rc = start_watchdog(&g)) < 0) {
		log_fatalx("systemd watchdog: %s", strerror(-rc));
		goto out;
	}
	/* With the first ping: the watchdog's period starts now. */
	snprintf(err, sizeof(err), "READY=1\nSTATUS=gateway %s: %zu device(s), "
	    "every %u s%s", cfg->gateway, cfg->n_devices, cfg->interval_s,
	    g.wdfd >= 0 ? "\nWATCHDOG=1" : "");
	notify_send(err);
	if ((rc = loop_run(g.loop)) < 0) {
		log_fatalx("event loop: %s", strerror(-rc));
		g.exit = GW_EXIT_ERROR;
	}
	tell_exit(&g);
out:
	teardown(&g);
	return g.exit;
}
