/*
 * The command table (docs/commands.md "Command types"): one entry per type,
 * and the two small types, "state" (an immediate report) and "reboot"
 * (through the board's hook). config.set is control_config.c's,
 * charger.set_current control_charger.c's.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firmware/base/clock.h"
#include "firmware/base/log.h"
#include "firmware/core/control_internal.h"

extern char **environ;

static int
no_args(struct control *c, const struct cmd *k, char *why, size_t len)
{
	(void)c;
	if (json_object_size(k->args) != 0) {
		snprintf(why, len, "args: '%s' takes no arguments", k->type);
		return -EINVAL;
	}
	return 0;
}

static json_t *
devices_state(struct control *c)
{
	struct gateway *g = c->g;
	size_t i, n = g->cfg->n_devices;
	struct health_snap *hs = calloc(n > 0 ? n : 1, sizeof(*hs));
	json_t *a = json_array();

	if (hs == NULL)
		return a;
	pollers_health(g->pollers, g->devs, n, hs);
	for (i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s,s:I,s:I,s:I,s:i,s:s}",
		    "name", g->devs[i].name, "polls", (json_int_t)hs[i].h.polls,
		    "ok", (json_int_t)hs[i].h.ok, "timeouts",
		    (json_int_t)hs[i].h.timeouts, "fails", (int)hs[i].fails,
		    "last", hs[i].err == 0 ? "ok" : strerror(-hs[i].err)));
	free(hs);
	return a;
}

/* What the platform asks most: versions, link, queue, devices. */
static int
apply_state(struct control *c, const struct cmd *k, struct store_cmd *sc,
    const char **state, char *why, size_t len, json_t **result)
{
	struct gateway *g = c->g;
	struct store_stats st = { 0 };
	struct store_batch b;
	struct clock_pair now;
	uint64_t results = 0;
	json_t *o;

	(void)k;
	(void)sc;
	(void)why;
	(void)len;
	clock_read(&now);
	store_stats(g->store, &st);
	store_result_count(g->store, &results);
	o = json_pack("{s:s,s:s,s:b,s:b,s:{s:I,s:I,s:I,s:I},s:I,s:I}",
	    "version", WG_VERSION, "uplink", config_uplink(g->cfg)->ops->name,
	    "connected", forward_connected(g->fwd), "clock_synced",
	    clock_wall_valid(now.wall), "store", "batches", (json_int_t)st.batches,
	    "readings", (json_int_t)st.readings, "results", (json_int_t)results,
	    "last_seq", (json_int_t)st.last_seq, "commands_received",
	    (json_int_t)c->received, "commands_flood_dropped",
	    (json_int_t)c->flood_dropped);
	if (store_peek(g->store, 0, &b) == 0 && clock_wall_valid(now.wall))
		json_object_set_new(o, "oldest_unsent_s",
		    json_integer((now.wall - b.t_first) / 1000));
	else
		json_object_set_new(o, "oldest_unsent_s", json_null());
	json_object_set_new(o, "commands_held_at_stop",
	    json_integer((json_int_t)c->held_at_stop));
	json_object_set_new(o, "repeats_dropped",
	    json_integer((json_int_t)c->repeats_dropped));
	json_object_set_new(o, "results_dropped",
	    json_integer((json_int_t)g->store->results_dropped));
	json_object_set_new(o, "devices", devices_state(c));
	*result = o;
	*state = "applied";
	return CMD_DONE;
}

/*
 * The hook reboots the board (on "host" a script the tests provide). The
 * command stays "rebooting" until the next start says "applied"; a hook
 * that fails says "failed" (control.c's timer reaps it).
 */
static int
check_reboot(struct control *c, const struct cmd *k, char *why, size_t len)
{
	const char *hook = c->g->cfg->control.reboot_hook;
	struct stat st;

	if (no_args(c, k, why, len) < 0)
		return -EINVAL;
	if (hook[0] == '\0') {
		snprintf(why, len, "no reboot_hook in the site config's control section");
		return -ENOENT;
	}
	if (stat(hook, &st) < 0 || !S_ISREG(st.st_mode) || access(hook, X_OK) < 0) {
		snprintf(why, len, "reboot_hook %s is not an executable file", hook);
		return -ENOENT;
	}
	if (c->reboot_pid > 0) {
		snprintf(why, len, "a reboot is under way");
		return -EBUSY;
	}
	return 0;
}

static int
apply_reboot(struct control *c, const struct cmd *k, struct store_cmd *sc,
    const char **state, char *why, size_t len, json_t **result)
{
	char *argv[] = { (char *)c->g->cfg->control.reboot_hook, NULL };
	char boot[64];
	int rc;

	(void)k;
	(void)result;
	clock_boot_id(boot, sizeof(boot));
	if (control_record(c, sc, "rebooting", NULL, json_pack("{s:s}", "boot_id",
	    boot), 0) < 0) {
		snprintf(why, len, "not journaled, not run");
		*state = "failed";
		return CMD_DONE;
	}
	c->reboot_sc = *sc;
	if ((rc = posix_spawn(&c->reboot_pid, argv[0], NULL, NULL, argv,
	    environ)) != 0) {
		c->reboot_pid = 0;
		snprintf(why, len, "cannot run %s: %s", argv[0], strerror(rc));
		*state = "failed";
		return CMD_DONE;
	}
	return CMD_LATER;
}

/*
 * Found "rebooting" at start: "applied" if the board booted again (its boot
 * id changed since the hook ran), "failed" if only the daemon restarted (a
 * hook that returned without rebooting, a crash).
 */
static void
resume_reboot(struct control *c, struct store_cmd *sc)
{
	struct store_cmd row;
	char *json = NULL, boot[64];
	json_t *rec = NULL;
	const char *was;

	if (strcmp(sc->state, "rebooting") != 0) {
		control_record(c, sc, "failed", "interrupted before the reboot hook "
		    "ran", NULL, 0);
		return;
	}
	if (store_cmd_get(c->g->store, sc->id, &row, &json) == 0)
		rec = json_loads(json, 0, NULL);
	free(json);
	was = json_string_value(json_object_get(json_object_get(rec, "result"),
	    "boot_id"));
	clock_boot_id(boot, sizeof(boot));
	if (was != NULL && boot[0] != '\0' && strcmp(was, boot) == 0)
		control_record(c, sc, "failed", "the daemon started again, but the "
		    "board did not reboot (same boot id)", NULL, 0);
	else
		control_record(c, sc, "applied", "the gateway booted again", NULL, 0);
	json_decref(rec);
}

static const struct cmd_type cmd_state = {
	.name = "state", .check = no_args, .apply = apply_state,
};

static const struct cmd_type cmd_reboot = {
	.name = "reboot", .check = check_reboot, .apply = apply_reboot,
	.resume = resume_reboot,
};

static const struct cmd_type *const table[] = {
	&cmd_state,
	&cmd_reboot,
	&cmd_config_set,
	&cmd_charger_set_current,
	&cmd_scan,
#ifdef CONFIG_CONSOLE
	&cmd_console_password,
#endif
#ifdef CONFIG_OTA
	&cmd_ota_start,
	&cmd_ota_cancel,
#endif
};

const struct cmd_type *
control_type_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (strcmp(table[i]->name, name) == 0)
			return table[i];
	return NULL;
}
