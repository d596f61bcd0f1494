/*
 * Private to drivers/bus/: the state of a bus and the request path its reads
 * (bus.c) and writes (bus_write.c) share. Not an API.
 */
#ifndef WG_BUS_INT_H
#define WG_BUS_INT_H

#include <stdint.h>

#include <modbus.h>

#include "drivers/bus/bus.h"

#define BUS_TIMEOUT_MS_MAX	60000

struct bus {
	struct bus_cfg cfg;
	modbus_t *ctx;
	struct rtutcp *bridge;	/* RTU over TCP: the pty libmodbus talks to */
	char err[256];		/* bus_error() */
	char why[96];		/* bus_why() */
	int connected;
	unsigned unanswered;	/* requests in a row without any answer */
	uint8_t answered[32];	/* units that answered on this link (bits) */
	unsigned timeout_ms;	/* response timeout in force */
	int stale;		/* TCP: a late answer may still come: flush first */
	uint16_t tid;		/* TCP: the last request's transaction id */
	unsigned byte_ms;	/* RTU: silence that ends a frame */
	char name[160];
};

/*
 * One request to unit: op(b, arg) does the exchange on b->ctx and returns
 * the number of values answered, or -1 with errno as libmodbus sets it.
 * Connecting, flushing, error classification (bus_read's return values,
 * bus_why()) and the link's health are bus_request()'s. Returns op's count
 * or -errno.
 */
int bus_request(struct bus *b, int unit, int (*op)(struct bus *, void *),
    void *arg, int *exc);

/* bus_check.c: the configuration's checks at bus_open(); -EINVAL and err
 * set (printf-like), or the port's own error. */
int bus_check_cfg(const struct bus_cfg *cfg, char *err, size_t errlen);
__attribute__((format(printf, 3, 4)))
int bus_seterr(char *err, size_t errlen, const char *fmt, ...);

#endif
