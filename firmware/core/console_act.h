/*
 * The console's commands that act (docs/console.md "Commands"), shared by
 * their files: console_act.c (the table, device, watch, reboot, the last
 * values), console_bus.c (jobs of a bus's worker), console_read.c (read),
 * console_scan.c (scan), console_conf.c (config show, check, apply).
 */
#ifndef WG_CONSOLE_ACT_H
#define WG_CONSOLE_ACT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "drivers/regmap.h"
#include "firmware/core/console_internal.h"
#include "firmware/core/gateway_internal.h"

/* Clients watching at once: the server takes at most 64 ("max_clients"). */
#define ACT_WATCH_MAX	64
/* Scan progress lines waiting for the loop; more are dropped (counted). */
#define ACT_RING	32
#define ACT_LINE_MAX	200

/* A point's last reading, as the collector had it. */
struct act_val {
	struct dec v;
	int64_t ts_ms;
	uint8_t quality;
	uint8_t seen;
};

/* A device's last cycle: its stamp, and when its last reading came. */
struct act_timing {
	int64_t ts_ms;
	int64_t last_ms;	/* ms after the stamp; -1: not known */
};

struct act_watch {
	int used;
	long dev;		/* index into g->devs; -1: all */
	struct console_ticket t;
};

enum { JOB_READ, JOB_SCAN };

/* A read or a scan, run by a bus's worker (poller.h "poller_job"). */
struct act_job {
	struct act_job *next;
	struct console_act *a;
	struct console_ticket t;
	struct poller_job job;
	int kind;
	size_t bus;
	atomic_int canceled;	/* set on the loop, seen by the worker */
	char err[256];		/* the worker's one line, when it fails */
	/* read */
	size_t dev;
	int fc;
	unsigned addr, count;
	enum reg_type type;
	enum reg_order order;
	int unit;
	unsigned timeout_ms;
	char reg[16];		/* as asked */
	long point;		/* the profile point at addr; -1: none */
	uint16_t regs[125];
	/* scan */
	int from, to, found;
	json_t *snippet;
	FILE *pr;		/* progress lines: into the ring */
	char line[ACT_LINE_MAX + 1];
	size_t line_len;
};

struct act_line {
	struct console_ticket t;
	char text[ACT_LINE_MAX + 1];
};

struct console_act {
	struct console *cs;
	struct gateway *g;
	size_t *first;		/* per device: its points in vals */
	struct act_val *vals;
	size_t n_vals;
	struct act_timing *tm;	/* per device */
	struct act_watch watch[ACT_WATCH_MAX];
	struct act_job *jobs;	/* handed to a worker, done not yet back */
	/* scan progress, worker -> loop */
	int efd;
	int mu_ready;
	pthread_mutex_t mu;
	struct act_line ring[ACT_RING];
	size_t r_head, r_len;
	uint64_t r_dropped;
};

/* cl has a long request under way: "busy" to id, 1; else 0. */
int act_busy(struct console_client *cl, uint64_t id);
int act_ticket_eq(const struct console_ticket *a, const struct console_ticket *b);
/* The device named name: its index, or -1 with an error to cl. */
long act_device(struct console_act *a, struct console_client *cl, uint64_t id,
    const char *cmd, const char *name);

/*
 * A command for the control plane (control_local: config.set, reboot) for
 * cl: {"command": ID, "state": ..., "note": note} at once, or the refusal.
 * args is taken. Returns CCMD_DONE.
 */
int act_control(struct console *cs, struct console_client *cl, uint64_t id,
    const char *what, const char *type, json_t *args, const char *note);

/* console_bus.c: the jobs' lives */
/* Hands j to its bus's worker: CCMD_LATER, or an error to cl (j freed) and
 * CCMD_DONE. */
int act_job_start(struct console_act *a, struct console_client *cl,
    const struct console_req *rq, struct act_job *j,
    int (*run)(struct bus *, void *), int skips_cycle);
struct act_job *act_job_find(struct console_act *a,
    const struct console_ticket *t);
void act_job_free(struct act_job *j);
void act_job_cancel(struct console *cs, const struct console_ticket *t);
int act_bus_start(struct console_act *a);
size_t act_bus_stop(struct console_act *a);

/* console_read.c */
int act_read(struct console *cs, struct console_client *cl,
    const struct console_req *rq);
void act_read_reply(struct console_act *a, struct console_client *cl,
    struct act_job *j);
/* Decimal 0..max, digits only: 0, -EINVAL or -ERANGE. */
int act_parse_num(const char *s, unsigned long max, unsigned long *out);

/* console_scan.c */
int act_scan(struct console *cs, struct console_client *cl,
    const struct console_req *rq);
void act_scan_reply(struct console_act *a, struct console_client *cl,
    struct act_job *j, int rc);
/* The progress lines waiting (the eventfd's handler; and before a scan's
 * end), as events of their scans. */
void act_scan_drain(struct console_act *a);
void act_scan_progress(struct loop *l, int fd, uint32_t events, void *arg);

/* console_conf.c */
int act_config(struct console *cs, struct console_client *cl,
    const struct console_req *rq);

#endif
