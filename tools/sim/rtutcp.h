/*
 * RTU over TCP front end: what an Ethernet-to-RS-485 converter looks like from
 * the gateway: a TCP listener passing raw RTU frames (with CRC) to the
 * simulated devices and their answers back, framed by rtu.c as on the pty.
 */
#ifndef WG_SIM_RTUTCP_H
#define WG_SIM_RTUTCP_H

#include <signal.h>

#include "tools/sim/sim.h"

/*
 * Serve on the listening socket lfd (from tcp_listen()) until *stop is set;
 * same contract as tcp_serve(). One client at a time, as on a converter that
 * has one line: a new connection replaces the one before, so a gateway that
 * reconnects after a half-open link is not locked out by its own ghost.
 */
int rtutcp_serve(struct sim *s, int lfd, const sigset_t *mask,
    volatile sig_atomic_t *stop);

#endif
