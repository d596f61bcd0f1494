/*
 * A Modbus bus through libmodbus: an RS-485 port (RTU), a TCP endpoint, or an
 * RTU-over-TCP converter (RTU frames on a TCP socket; drivers/bus/rtutcp.h).
 * Blocking calls: a bus is used by exactly one worker thread.
 */
#ifndef WG_BUS_H
#define WG_BUS_H

#include <stdint.h>

enum bus_kind { BUS_RTU, BUS_TCP, BUS_RTU_TCP };

struct bus_cfg {
	enum bus_kind kind;
	char device[128];	/* RTU: serial device path */
	int rs485;		/* RTU: switch the port to RS-485 (TIOCSRS485) */
	unsigned baud;		/* RTU; RTU_TCP: the converter's line, for timing */
	char parity;		/* 'N', 'E', 'O' */
	unsigned data_bits;	/* 7, 8 */
	unsigned stop_bits;	/* 1, 2 */
	char host[128];		/* TCP, RTU_TCP */
	unsigned port;		/* TCP, RTU_TCP */
	unsigned timeout_ms;	/* response timeout per request */
};

struct bus;

/* Returns 0 or -errno; err gets a one-line reason. Does not connect yet. */
int bus_open(const struct bus_cfg *cfg, struct bus **out, char *err, size_t errlen);

/*
 * 0 if path is a serial port (a tty driver's device, by /proc/tty/drivers:
 * /dev/null is a character device too; the port is not opened); else -errno
 * and why, without the path: "no such serial port", "a directory, not a
 * serial port", ...
 */
int bus_port_check(const char *path, char *why, size_t len);

/* The Modbus limits of one read: registers (FC3/FC4) and bits (FC1/FC2). */
#define BUS_READ_REGS_MAX 125
#define BUS_READ_BITS_MAX 2000

/*
 * Read count registers (FC3 or FC4, count <= BUS_READ_REGS_MAX) or bits (FC1
 * coils, FC2 discrete inputs, count <= BUS_READ_BITS_MAX, each delivered as
 * one dst element of 0 or 1) from unit; dst holds count elements. Connects
 * (or reconnects) as needed. Returns 0; -ETIMEDOUT (no answer, or a TCP
 * gateway's exception 10 or 11: no answer from the unit behind it), -EBADMSG
 * (an answer with a wrong CRC), -EIO (framing, a mismatched answer, one from
 * another unit id or address or with an MBAP protocol id other than 0,
 * connection), -EPROTO (Modbus exception; *exc gets the code if exc is not
 * NULL, for 10 and 11 too).
 */
int bus_read(struct bus *b, int unit, int fc, int addr, int count,
    uint16_t *dst, int *exc);

/* The Modbus limit of one FC16 write (registers). */
#define BUS_WRITE_REGS_MAX 123

/*
 * Write count holding registers regs[0 .. count) at addr of unit: fc 6
 * (write single register, count 1) or 16 (write multiple registers, count
 * <= BUS_WRITE_REGS_MAX). The same connection handling, timeout (the
 * device's, bus_set_timeout), unit-id range and return values as bus_read(),
 * and the same lines in bus_why()/bus_error(). 0 means the device echoed
 * the address and the value (FC6) or count (FC16) exactly; an answer that
 * echoes anything else is -EIO ("an answer confirming register 5005 (value
 * 6000), not 5004 (value 6000)"). -ETIMEDOUT does not mean the value was
 * not taken: the device may have applied it and its answer been lost; only
 * a read-back tells. Never retried here.
 */
int bus_write(struct bus *b, int unit, int fc, int addr, const uint16_t *regs,
    int count, int *exc);

/*
 * The response timeout for the requests that follow (1..60000 ms): devices on
 * one bus may each have their own. 0 or -EINVAL.
 */
int bus_set_timeout(struct bus *b, unsigned ms);

/*
 * Connect now instead of at the first request, for callers that want a dead
 * port or a refused TCP connection reported as such (wattgate scan).
 * Returns 0 or -errno with a one-line reason in err.
 */
int bus_connect(struct bus *b, char *err, size_t errlen);

/* Why the last bus_read()/bus_write() failed at the bus level, in one line; "" if not. */
const char *bus_error(const struct bus *b);

/*
 * What the last failed bus_read() or bus_write() got from the device, in one line: "no
 * answer (timeout)", "Modbus exception 2 (Illegal data address)", "a garbled
 * answer (Invalid data)", "an answer from unit 7 (MBAP unit id), not from
 * unit 1"; "" if it did not fail on the wire.
 */
const char *bus_why(const struct bus *b);

/* Human-readable name: "/dev/ttyUSB0", "10.0.0.5:502", "10.0.0.7:4196 (rtu-tcp)". */
const char *bus_name(const struct bus *b);

void bus_close(struct bus *b);

#endif
