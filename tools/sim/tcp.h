/*
 * Modbus TCP front end: a listening socket and up to TCP_CLIENTS_MAX clients at
 * once, requests dispatched to the simulated devices by the MBAP unit id.
 */
#ifndef WG_SIM_TCP_H
#define WG_SIM_TCP_H

#include <signal.h>
#include <stddef.h>

#include "tools/sim/sim.h"

#define TCP_CLIENTS_MAX	64

/*
 * Listen on "HOST:PORT" ("[v6addr]:PORT" for IPv6; port 0 picks a free one).
 * Returns the socket, or -errno with one line in err (without the option's
 * name: the caller says which it was); name gets the bound
 * address as "127.0.0.1:40123".
 */
int tcp_listen(const char *spec, char *name, size_t namelen, char *err,
    size_t errlen);

/*
 * Serve until *stop is set by a signal, which only arrives while waiting (mask
 * is the signal mask to wait with). Returns 0, or -errno on a failure of the
 * listening socket or the wait itself. Closes the clients, not lfd.
 */
int tcp_serve(struct sim *s, int lfd, const sigset_t *mask,
    volatile sig_atomic_t *stop);

#endif
