/*
 * RTU over TCP: the byte pipe under a libmodbus RTU context for Ethernet or
 * Wi-Fi to RS-485 converters that pass raw RTU frames (CRC and all) over a TCP
 * socket. libmodbus has no such backend, and Modbus framing is not written
 * twice: libmodbus's RTU code opens the slave side of a pty this bridge makes,
 * and a thread shuttles bytes between the pty's master side and the socket.
 *
 * The bus worker owns the connection: rtutcp_connect() connects (or finds the
 * link up) before each request; the thread only moves bytes and, when the peer
 * goes away, closes the socket and records why. The next request reconnects.
 */
#ifndef WG_RTUTCP_H
#define WG_RTUTCP_H

#include <stddef.h>

struct rtutcp;

/*
 * Make the pty and start the thread; does not connect. name ("HOST:PORT") is
 * used in error lines. Returns 0 or -errno with one line in err.
 */
int rtutcp_open(const char *host, unsigned port, const char *name,
    struct rtutcp **out, char *err, size_t errlen);

/* The pty's slave side, for modbus_new_rtu(). */
const char *rtutcp_pty(const struct rtutcp *t);

/*
 * Make sure the TCP link is up, connecting within timeout_ms if not. Returns 0,
 * or -ECONNREFUSED, -EHOSTUNREACH (host unknown or unreachable), -ETIMEDOUT,
 * -errno with one line in err ("HOST:PORT: connection refused"; after a loss
 * "HOST:PORT: connection lost (WHY); reconnect: connection refused").
 */
int rtutcp_connect(struct rtutcp *t, unsigned timeout_ms, char *err,
    size_t errlen);

/*
 * 1 if the link is up. If it went down since the last connect, 0 with the
 * reason in err ("HOST:PORT: connection lost (closed by the converter)").
 */
int rtutcp_up(struct rtutcp *t, char *err, size_t errlen);

/*
 * Give up the TCP link (the converter keeps it open but answers nothing):
 * the next rtutcp_connect() makes a new one. why is kept for the lines that
 * follow ("connection lost (WHY)").
 */
void rtutcp_drop(struct rtutcp *t, const char *why);

/* Stop the thread, close the socket and the pty. NULL is fine. */
void rtutcp_close(struct rtutcp *t);

#endif
