/*
 * Shared by the control plane's files: control.c (intake, checks, journal,
 * results), control_types.c (the command table; state, reboot),
 * control_config.c (config.set and its trial), control_charger.c (setpoints,
 * their verification, the failsafe limit).
 */
#ifndef WG_CONTROL_INTERNAL_H
#define WG_CONTROL_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "firmware/codec/command.h"
#include "firmware/core/control.h"
#include "firmware/core/gateway_internal.h"
#include "firmware/store/store_journal.h"

#define REPEATS	8

/* What a type's apply says. */
enum { CMD_DONE, CMD_LATER };

struct control;

/*
 * One entry per command type (control_types.c): the table is data, a new
 * type one more line. check: the arguments, before the command is accepted
 * (why gets the rejection). apply: run it; CMD_DONE with *state, *why and
 * *result (a JSON object or NULL, taken) set, or CMD_LATER: the type
 * finishes it itself (control_finish). resume: at start, a journaled command
 * of this type found in a state that is not final (a restart or power cut
 * came in between); it must end it, never run it again. NULL: it ends
 * "failed".
 */
struct cmd_type {
	const char *name;
	int (*check)(struct control *c, const struct cmd *cmd, char *why,
	    size_t len);
	int (*apply)(struct control *c, const struct cmd *cmd,
	    struct store_cmd *sc, const char **state, char *why, size_t len,
	    json_t **result);
	void (*resume)(struct control *c, struct store_cmd *sc);
	/* The "received" record carries the arguments (what resume needs). */
	int journal_args;
};

const struct cmd_type *control_type_find(const char *name);

struct charger_ctl;
struct config_trial;
struct ota_ctl;
struct scan_job;

struct control {
	struct gateway *g;
	struct cmd_pubkey *key;
	uint64_t last_seq;
	/* intake: a token bucket of frames (a flood is dropped, counted) */
	double tokens;
	int64_t tokens_at;
	uint64_t received, flood_dropped, flood_logged;
	uint64_t held_at_stop, repeats_dropped;
	/* the ids whose recorded result went out again lately (control.c) */
	struct {
		char id[CMD_ID_MAX + 1];
		int64_t at;
	} repeats[REPEATS];
	size_t repeat_next;
	int64_t flood_log_at;
	/* outbox */
	int connected;
	uint64_t r_sent;	/* highest record handed over on this connection */
	unsigned r_inflight;
	int64_t down_since;	/* CLOCK_MONOTONIC ms; 0: up */
	int timer_fd;		/* 1 s: failsafe, reboot hook, trials */
	struct charger_ctl *chg;
	struct scan_job *scan;	/* the scan under way (one at a time) */
	struct config_trial *trial;
	struct ota_ctl *ota;	/* updates (control_ota.c); NULL: off */
	int inbox_taken;	/* the frames kept at the last stop judged */
	int reload_pending;	/* a rollback found at start: reload at the timer */
	pid_t reboot_pid;
	struct store_cmd reboot_sc;
	/* control_local.c: the console's commands and notes */
	unsigned local_n;	/* the <n> of "console-<wall ms>-<n>" ids */
	const char *local_who;	/* who asks, while control_local runs one */
	double note_tokens;	/* control_note's bucket (a hammered login) */
	int64_t note_tokens_at;
	uint64_t notes_dropped;
	int64_t note_log_at;
};

/*
 * A state change of sc: journaled, a result record made (both fsynced)
 * and the outbox pumped. result (a JSON object, or NULL) is taken.
 * 0 or -errno (logged).
 */
int control_record(struct control *c, struct store_cmd *sc, const char *state,
    const char *why, json_t *result, int accept_seq);
/*
 * A command that passed every check: journaled "received" (its sequence,
 * if it has one, raised with it), then its type's apply. 0 with *out (if
 * not NULL) its journal row as of the last state recorded, or -errno: not
 * journaled, so not run.
 */
int control_run(struct control *c, const struct cmd *k,
    const struct cmd_type *t, struct store_cmd *out);

/* control_local.c: where a record says it came from (the console, who). */
void control_origin(struct control *c, const struct store_cmd *sc, json_t *rec);

/* control_charger.c */
int charger_ctl_start(struct control *c);
void charger_ctl_stop(struct control *c);
void charger_ctl_reading(struct control *c, const struct reading *r);
void charger_ctl_cycle(struct control *c);
void charger_ctl_link(struct control *c, int up, int64_t down_ms);
extern const struct cmd_type cmd_charger_set_current;

/* control_scan.c */
extern const struct cmd_type cmd_scan;
void scan_ctl_stop(struct control *c);

/* control_password.c: the console's password (console_pw.h; Kconfig CONSOLE) */
#ifdef CONFIG_CONSOLE
extern const struct cmd_type cmd_console_password;
#endif

/* control_config.c */
extern const struct cmd_type cmd_config_set;
void config_trial_cycle(struct control *c, size_t devices_ok);
int config_trial_start(struct control *c);
void config_trial_stop(struct control *c);

/* control_ota.c, control_ota_boot.c (Kconfig OTA) */
#ifdef CONFIG_OTA
extern const struct cmd_type cmd_ota_start;
extern const struct cmd_type cmd_ota_cancel;
int ota_ctl_start(struct control *c);
void ota_ctl_stop(struct control *c);
void ota_trial_cycle(struct control *c, size_t devices_ok);
void ota_trial_tick(struct control *c);
#else
static inline int ota_ctl_start(struct control *c) { (void)c; return 0; }
static inline void ota_ctl_stop(struct control *c) { (void)c; }
static inline void
ota_trial_cycle(struct control *c, size_t devices_ok)
{
	(void)c;
	(void)devices_ok;
}
static inline void ota_trial_tick(struct control *c) { (void)c; }
#endif

#endif
