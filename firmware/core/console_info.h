/*
 * The console's read-only commands, split over console_info.c (the table,
 * hello, help, cancel, log), console_status.c (status, devices, uplink) and
 * console_journal.c (commands, update, identity).
 */
#ifndef WG_CONSOLE_INFO_H
#define WG_CONSOLE_INFO_H

#include "firmware/core/console_internal.h"

int console_run_status(struct console *cs, struct console_client *cl,
    const struct console_req *rq);
int console_run_devices(struct console *cs, struct console_client *cl,
    const struct console_req *rq);
int console_run_uplink(struct console *cs, struct console_client *cl,
    const struct console_req *rq);
int console_run_commands(struct console *cs, struct console_client *cl,
    const struct console_req *rq);
int console_run_update(struct console *cs, struct console_client *cl,
    const struct console_req *rq);
int console_run_identity(struct console *cs, struct console_client *cl,
    const struct console_req *rq);

/* identity's LATER parts (console_identity.c): its cancel, the tick's
 * reaping of its child, the stop. */
void console_cancel_identity(struct console *cs, const struct console_ticket *t);
void console_identity_tick(struct console *cs);
void console_identity_stop(struct console *cs);

/*
 * Argument i as a count 1..max (def when absent): 0, or -EINVAL after
 * answering the error.
 */
int console_arg_count(struct console_client *cl, const struct console_req *rq,
    size_t i, unsigned def, unsigned max, unsigned *out);

#endif
