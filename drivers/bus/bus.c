/*
 * A Modbus bus through libmodbus.
 *
 * The context is created at bus_open() (which checks the configuration, so a
 * typo in a site config fails at start with a clear line) but connected only
 * when the first request needs it: a meter that is switched off at boot must not
 * keep the daemon from starting. After a connection-level failure the context is
 * closed and the next request connects again, so a USB adapter that was
 * re-plugged or a TCP gateway that rebooted comes back without a restart.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include <modbus.h>

#include "drivers/bus/bus.h"
#include "drivers/bus/bus_int.h"
#include "drivers/bus/mbap.h"
#include "drivers/bus/rtutcp.h"

#define BYTE_TIMEOUT_MS_MIN 50
/* RTU over TCP: one frame may come in two TCP segments, a Wi-Fi hop apart. */
#define NET_BYTE_TIMEOUT_MS_MIN 150

/* Requests in a row with no answer at all before a TCP link is remade. */
#define BUS_UNANSWERED_MAX	2
#define STR_(x)	#x
#define STR(x)	STR_(x)

static void
set_timeout(modbus_t *ctx, unsigned ms,
    int (*set)(modbus_t *, uint32_t, uint32_t))
{
	set(ctx, ms / 1000, (ms % 1000) * 1000);
}

int
bus_open(const struct bus_cfg *cfg, struct bus **out, char *err, size_t errlen)
{
	struct bus *b = NULL;
	char port[8];
	unsigned byte_ms;
	int rc;

	*out = NULL;
	if ((rc = bus_check_cfg(cfg, err, errlen)) < 0)
		return rc;

	if ((b = calloc(1, sizeof(*b))) == NULL) {
		bus_seterr(err, errlen, "out of memory");
		return -ENOMEM;
	}
	b->cfg = *cfg;
	if (cfg->kind == BUS_RTU) {
		snprintf(b->name, sizeof(b->name), "%s", cfg->device);
		b->ctx = modbus_new_rtu(cfg->device, (int)cfg->baud, cfg->parity,
		    (int)cfg->data_bits, (int)cfg->stop_bits);
	} else if (cfg->kind == BUS_RTU_TCP) {
		snprintf(b->name, sizeof(b->name),
		    strchr(cfg->host, ':') != NULL ? "[%s]:%u (rtu-tcp)" :
		    "%s:%u (rtu-tcp)", cfg->host, cfg->port);
		if ((rc = rtutcp_open(cfg->host, cfg->port, b->name, &b->bridge,
		    err, errlen)) < 0)
			goto out;
		/* The baud is the converter's; on a pty it sets nothing. */
		b->ctx = modbus_new_rtu(rtutcp_pty(b->bridge), (int)cfg->baud,
		    cfg->parity, (int)cfg->data_bits, (int)cfg->stop_bits);
	} else {
		snprintf(port, sizeof(port), "%u", cfg->port);
		snprintf(b->name, sizeof(b->name),
		    strchr(cfg->host, ':') != NULL ? "[%s]:%s" : "%s:%s",
		    cfg->host, port);
		b->ctx = modbus_new_tcp_pi(cfg->host, port);
	}
	if (b->ctx == NULL) {
		rc = -errno;
		bus_seterr(err, errlen, "%s: %s", b->name, modbus_strerror(errno));
		goto out;
	}
	set_timeout(b->ctx, cfg->timeout_ms, modbus_set_response_timeout);
	b->timeout_ms = cfg->timeout_ms;
	/*
	 * RTU: the byte timeout ends a frame. A few character times would be the
	 * standard's answer, but USB serial adapters deliver bytes in bursts (FTDI's
	 * latency timer is 16 ms), so take 20 characters and never less than 50 ms.
	 * TCP: no byte timeout; the response timeout covers the whole answer.
	 */
	if (cfg->kind != BUS_TCP) {
		/* 11 bits per character: 20 characters in ms, rounded up. */
		byte_ms = (20 * 11 * 1000 + cfg->baud - 1) / cfg->baud;
		if (byte_ms < BYTE_TIMEOUT_MS_MIN)
			byte_ms = BYTE_TIMEOUT_MS_MIN;
		if (cfg->kind == BUS_RTU_TCP && byte_ms < NET_BYTE_TIMEOUT_MS_MIN)
			byte_ms = NET_BYTE_TIMEOUT_MS_MIN;
		set_timeout(b->ctx, byte_ms, modbus_set_byte_timeout);
		b->byte_ms = byte_ms;
	} else {
		modbus_set_byte_timeout(b->ctx, 0, 0);
	}
	*out = b;
	b = NULL;
	rc = 0;
out:
	if (b != NULL) {
		if (b->ctx != NULL)
			modbus_free(b->ctx);
		rtutcp_close(b->bridge);
		free(b);
	}
	return rc;
}

/*
 * RS-485 mode, when configured, or no bus: a port that cannot switch (a USB
 * adapter with automatic direction control, a pty: ENOTTY) is refused rather
 * than used in RS-232 mode. The user asked for RS-485 because the transceiver
 * needs the kernel to drive its direction; without that every device would
 * time out, and a line saying why beats a bus of dead meters.
 */
static int
serial_mode(struct bus *b)
{
	int e;

	if (!b->cfg.rs485)
		return 0;
	if (modbus_rtu_set_serial_mode(b->ctx, MODBUS_RTU_RS485) == 0)
		return 0;
	e = errno;
	bus_seterr(b->err, sizeof(b->err), "%s: RS-485 mode (\"rs485\": true) not "
	    "supported by this port: %s; bus not used", b->name,
	    e == ENOTTY || e == EINVAL ? "no TIOCSRS485" : strerror(e));
	modbus_close(b->ctx);
	return -ENOTTY;
}

/* Connect what is not connected yet: the converter's TCP link, then the port. */
static int
link_up(struct bus *b)
{
	int e, rc;

	if (b->bridge != NULL && (rc = rtutcp_connect(b->bridge, b->timeout_ms,
	    b->err, sizeof(b->err))) < 0)
		return rc;
	if (b->connected)
		return 0;
	if (modbus_connect(b->ctx) < 0) {
		e = errno;
		bus_seterr(b->err, sizeof(b->err), "%s: %s", b->name,
		    modbus_strerror(e));
		return e == ETIMEDOUT ? -ETIMEDOUT : -EIO;
	}
	if ((rc = serial_mode(b)) < 0)
		return rc;
	b->connected = 1;
	return 0;
}

static void
disconnect(struct bus *b)
{
	if (b->connected) {
		modbus_close(b->ctx);
		b->connected = 0;
	}
	memset(b->answered, 0, sizeof(b->answered));
}

/*
 * After a failed request: a Modbus exception is a proper answer and leaves the
 * link as it was. Anything else may leave bytes of a late or broken answer
 * behind, which would be read as the next answer, so flush them. An error from
 * the operating system (the adapter vanished, the peer reset the connection), or
 * on TCP a mismatched answer (the stream is out of step) or one with a protocol
 * id other than 0 (not Modbus), closes the link; the next request reconnects.
 * A TCP answer from another unit id (EMBBADSLAVE) came in step, with the right
 * transaction id: the link stays.
 */
/*
 * RTU, after a garbled or mismatched answer: more bytes may be on their way
 * (the rest of a long frame, or a late device's answer to an earlier request
 * that took the place of this one's). Read and drop until the line has been
 * silent for a frame gap, for at most one response timeout, so a retry or the
 * next device starts on a quiet line.
 */
static void
quiet(struct bus *b)
{
	struct pollfd pfd;
	uint8_t junk[64];
	unsigned waited = 0;

	pfd.fd = modbus_get_socket(b->ctx);
	pfd.events = POLLIN;
	while (pfd.fd >= 0 && waited < b->timeout_ms &&
	    poll(&pfd, 1, (int)b->byte_ms) > 0) {
		if (read(pfd.fd, junk, sizeof(junk)) <= 0)
			break;
		waited += b->byte_ms;
	}
}

/*
 * What a failed request got, in the words of the Modbus spec and libmodbus
 * ("Modbus exception 2 (Illegal data address)", "a garbled answer (Invalid
 * data)"): "Input/output error" told a technician nothing. An answer that
 * mbap_read() refused for its ids has its line already.
 */
static void
set_why(struct bus *b, int e, int unit)
{
	if (b->why[0] != '\0')
		return;
	if (e >= EMBXILFUN && e <= EMBXGTAR)
		bus_seterr(b->why, sizeof(b->why), "Modbus exception %d (%s)",
		    e - MODBUS_ENOBASE, modbus_strerror(e));
	else if (e == ETIMEDOUT)
		bus_seterr(b->why, sizeof(b->why), "no answer (timeout)");
	else if (e == EMBBADCRC)
		bus_seterr(b->why, sizeof(b->why), "garbled answers (CRC error)");
	/*
	 * RTU: libmodbus compares the frame's address before its CRC, so
	 * this is another unit's answer or noise; it does not say which.
	 */
	else if (e == EMBBADSLAVE)
		bus_seterr(b->why, sizeof(b->why), "an answer with another RTU address "
		    "than %d (another unit's, or noise)", unit);
	else if (e >= MODBUS_ENOBASE)
		bus_seterr(b->why, sizeof(b->why), "a garbled answer (%s)",
		    modbus_strerror(e));
	else
		bus_seterr(b->why, sizeof(b->why), "%s", strerror(e));
}

static int
map_error(struct bus *b, int e, int unit, int *exc)
{
	set_why(b, e, unit);
	if (e >= EMBXILFUN && e <= EMBXGTAR) {
		if (exc != NULL)
			*exc = e - MODBUS_ENOBASE;
		/*
		 * 10 and 11 are a TCP gateway's own answer: it has no path to
		 * the unit, or the unit did not answer it. For the device that
		 * is a timeout (the poll ends, it backs off), not an exception.
		 */
		if (e == EMBXGPATH || e == EMBXGTAR)
			return -ETIMEDOUT;
		return -EPROTO;
	}
	modbus_flush(b->ctx);
	b->stale = 1;
	if (e == ETIMEDOUT)
		return -ETIMEDOUT;
	if (b->cfg.kind != BUS_TCP && e >= MODBUS_ENOBASE)
		quiet(b);
	/* A garbled answer on RTU: the device is there, the line is noisy. */
	if (e == EMBBADCRC)
		return -EBADMSG;
	if (e < MODBUS_ENOBASE ||
	    (b->cfg.kind == BUS_TCP && (e == EMBBADDATA || e == EMBMDATA)))
		disconnect(b);
	return -EIO;
}

/*
 * A TCP peer that keeps its socket open but stops answering (a converter
 * whose serial side hung, a gateway that lost its state) answered a fresh
 * connection at once, while the old one stayed dead for good: both devices
 * on such a bus were lost for over a minute in a trial. So when
 * BUS_UNANSWERED_MAX requests in a row to units that had answered on this
 * link get no answer at all (a device's exception or a gateway's 10/11 is
 * an answer), the link is closed and the next request reconnects. Units
 * that never answered on the link do not count: a scan's probes of empty
 * ids, or devices that are off, never remake a link that works.
 */
static void
unanswered(struct bus *b, int unit)
{
	if (b->cfg.kind == BUS_RTU ||
	    !(b->answered[unit / 8] & (1u << (unit % 8))) ||
	    ++b->unanswered < BUS_UNANSWERED_MAX)
		return;
	b->unanswered = 0;
	memset(b->answered, 0, sizeof(b->answered));
	if (b->bridge != NULL)
		rtutcp_drop(b->bridge, "no answer to " STR(BUS_UNANSWERED_MAX)
		    " requests in a row");
	else
		disconnect(b);
	bus_seterr(b->why, sizeof(b->why), "no answer (timeout); link closed after "
	    "%d unanswered requests, reconnecting", BUS_UNANSWERED_MAX);
}

/*
 * One read into dst, bits as one 0/1 element each (decoding treats all four
 * function codes alike). RTU, also over TCP: libmodbus, whose RTU backend
 * refuses an answer from another address itself. TCP: mbap_read(), which
 * checks what libmodbus 3.1.6 does not (the protocol and unit ids). Returns
 * the number of values or -1 with errno.
 */
static int
read_values(struct bus *b, int unit, int fc, int addr, int count,
    uint16_t *dst)
{
	uint8_t bits[BUS_READ_BITS_MAX];
	int n, i;

	if (b->cfg.kind == BUS_TCP)
		return mbap_read(b->ctx, ++b->tid, unit, fc, addr, count, dst,
		    b->why, sizeof(b->why));
	if (fc == 3)
		return modbus_read_registers(b->ctx, addr, count, dst);
	if (fc == 4)
		return modbus_read_input_registers(b->ctx, addr, count, dst);
	if (fc == 1)
		n = modbus_read_bits(b->ctx, addr, count, bits);
	else
		n = modbus_read_input_bits(b->ctx, addr, count, bits);
	for (i = 0; i < n && i < count; i++)
		dst[i] = bits[i] != 0;
	return n;
}

/* unit answered (anything, an exception too) on this link. */
static void
answered(struct bus *b, int unit)
{
	b->unanswered = 0;
	b->answered[unit / 8] |= (uint8_t)(1u << (unit % 8));
}

/*
 * One request to unit, the path bus_read() and bus_write() share: connect
 * as needed, flush what may be a late answer, run op (which returns the
 * number of values the answer carried, or -1 with errno as libmodbus sets
 * it), and classify a failure (map_error). Returns op's count or -errno.
 */
int
bus_request(struct bus *b, int unit, int (*op)(struct bus *, void *),
    void *arg, int *exc)
{
	int unit_max = b->cfg.kind != BUS_TCP ? 247 : 255;
	int unit_min = b->cfg.kind != BUS_TCP ? 1 : 0;
	int n, rc;

	if (unit < unit_min || unit > unit_max)
		return -EINVAL;
	b->err[0] = '\0';
	b->why[0] = '\0';
	if ((rc = link_up(b)) < 0)
		return rc;
	if (modbus_set_slave(b->ctx, unit) < 0)
		return -EINVAL;
	/*
	 * A device that answers after its timeout leaves its answer in the input
	 * buffer after map_error()'s flush. Read with a later request, it would
	 * pass for that request's answer if unit, function and length match: the
	 * device's next poll would store old values as new. Nothing received
	 * before a request is sent can be its answer, so RTU flushes before every
	 * request (one tcflush, nothing next to 9600 baud). TCP matches answers
	 * by transaction id; there the flush follows a failure only.
	 */
	if (b->stale || b->cfg.kind != BUS_TCP) {
		modbus_flush(b->ctx);
		b->stale = 0;
	}
	if ((n = op(b, arg)) < 0) {
		int e = errno;

		rc = map_error(b, e, unit, exc);
		/* No answer because the converter's link went: not the device. */
		if (b->bridge != NULL && rc != -EPROTO &&
		    !rtutcp_up(b->bridge, b->err, sizeof(b->err)))
			return -ENOTCONN;
		if (e == ETIMEDOUT)
			unanswered(b, unit);
		else if (e >= MODBUS_ENOBASE)
			answered(b, unit);
		return rc;
	}
	answered(b, unit);
	return n;
}

struct read_args {
	int unit, fc, addr, count;
	uint16_t *dst;
};

static int
read_op(struct bus *b, void *arg)
{
	struct read_args *r = arg;

	return read_values(b, r->unit, r->fc, r->addr, r->count, r->dst);
}

int
bus_read(struct bus *b, int unit, int fc, int addr, int count,
    uint16_t *dst, int *exc)
{
	struct read_args r = { unit, fc, addr, count, dst };
	int n;

	if (fc < 1 || fc > 4 ||
	    count < 1 || count > (fc <= 2 ? BUS_READ_BITS_MAX : BUS_READ_REGS_MAX) ||
	    addr < 0 || addr + count - 1 > 65535 ||
	    dst == NULL)
		return -EINVAL;
	if ((n = bus_request(b, unit, read_op, &r, exc)) < 0)
		return n;
	if (n != count) {
		bus_seterr(b->why, sizeof(b->why), "an answer with %d values for %d",
		    n, count);
		return -EIO;
	}
	return 0;
}

int
bus_set_timeout(struct bus *b, unsigned ms)
{
	if (ms < 1 || ms > BUS_TIMEOUT_MS_MAX)
		return -EINVAL;
	if (ms != b->timeout_ms) {
		set_timeout(b->ctx, ms, modbus_set_response_timeout);
		b->timeout_ms = ms;
	}
	return 0;
}

int
bus_connect(struct bus *b, char *err, size_t errlen)
{
	int rc;

	if ((rc = link_up(b)) < 0)
		bus_seterr(err, errlen, "%s", b->err);
	return rc;
}

const char *
bus_error(const struct bus *b)
{
	return b->err;
}

const char *
bus_why(const struct bus *b)
{
	return b->why;
}

const char *
bus_name(const struct bus *b)
{
	return b->name;
}

void
bus_close(struct bus *b)
{
	if (b == NULL)
		return;
	disconnect(b);
	modbus_free(b->ctx);
	rtutcp_close(b->bridge);
	free(b);
}
