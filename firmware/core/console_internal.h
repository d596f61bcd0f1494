/*
 * STUB of H1's header, exactly as the issue 16 spec gives it
 * (/work/spec/console.md "Internal API"), so that H3's commands build
 * before H1's branch is merged. The merge takes H1's file.
 */
#ifndef WG_CONSOLE_INTERNAL_H
#define WG_CONSOLE_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "firmware/codec/console_req.h"
#include "firmware/core/console.h"

#define CONSOLE_LINE_MAX   65536
#define CONSOLE_OUT_MAX    (256 * 1024)

struct console_client;
struct console_ticket {		/* a request that answers later */
	unsigned slot;
	uint32_t gen;		/* the client in slot; a new client bumps it */
	uint64_t id;
};
enum console_class { CCLASS_NONE, CCLASS_READ, CCLASS_WRITE };
enum { CCMD_DONE, CCMD_LATER };
struct console_cmd {
	const char *name;	/* NULL ends a table */
	const char *usage;	/* "read DEV REG [COUNT] [TYPE]" */
	const char *help;	/* one line */
	enum console_class cls;
	unsigned min_args, max_args;
	int body;		/* 1: takes "body" */
	int (*run)(struct console *cs, struct console_client *cl,
	    const struct console_req *rq);
	void (*cancel)(struct console *cs, const struct console_ticket *t);
};
extern const struct console_cmd console_cmds_info[];
extern const struct console_cmd console_cmds_auth[];
extern const struct console_cmd console_cmds_act[];

struct console_auth;
struct console_act;
struct console {
	struct gateway *g;
	struct console_auth *auth;
	struct console_act *act;
};

void console_ok(struct console_client *cl, uint64_t id, json_t *data);
void console_err(struct console_client *cl, uint64_t id, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void console_event(struct console_client *cl, uint64_t id, json_t *ev);
void console_notice(struct console_client *cl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
struct console_ticket console_ticket(struct console_client *cl, uint64_t id);
struct console_client *console_ticket_client(struct console *cs,
    const struct console_ticket *t);
void console_ticket_done(struct console *cs, const struct console_ticket *t);
void console_client_set_who(struct console_client *cl, const char *who);
const char *console_client_who(const struct console_client *cl);
uid_t console_client_uid(const struct console_client *cl);
void console_each(struct console *cs, void (*fn)(struct console_client *cl,
    void *arg), void *arg);

int console_auth_start(struct console *cs);
void console_auth_stop(struct console *cs);
int console_act_start(struct console *cs);
void console_act_reading(struct console *cs, const struct reading *r);
void console_act_stop(struct console *cs);

#endif
