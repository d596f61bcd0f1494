/*
 * Writes of holding registers (FC6, FC16): a charger's current limit.
 *
 * A write goes the way of a read (bus_request(): the same connection
 * handling, flushing, timeouts and error classification), but its answer is
 * checked here, whole, on every transport: a device confirms a write by
 * echoing the address and the value (FC6) or the address and the count
 * (FC16). libmodbus 3.1.6 compares neither for FC6 and only the count for
 * FC16, and on TCP it compares no unit id (drivers/bus/mbap.c), so an echo
 * of another write or another unit's answer would pass for a confirmation.
 * The request is framed here: on TCP through mbap_pdu(), on RTU through
 * libmodbus's raw request, whose receive still checks the CRC and the
 * address.
 *
 * A confirmed write only says the device took the value. Whether it acts on
 * it is the caller's to see in the read-back and the measured currents; a
 * write that timed out may have been applied all the same.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <modbus.h>

#include "drivers/bus/bus.h"
#include "drivers/bus/bus_int.h"
#include "drivers/bus/mbap.h"

struct write_args {
	int unit, fc, addr, count;
	const uint16_t *regs;
};

/* The request PDU (function code first); its length. */
static size_t
build(const struct write_args *w, uint8_t *pdu)
{
	size_t n = 5;
	int i;

	pdu[0] = (uint8_t)w->fc;
	pdu[1] = (uint8_t)(w->addr >> 8);
	pdu[2] = (uint8_t)w->addr;
	if (w->fc == 6) {
		pdu[3] = (uint8_t)(w->regs[0] >> 8);
		pdu[4] = (uint8_t)w->regs[0];
		return n;
	}
	pdu[3] = (uint8_t)(w->count >> 8);
	pdu[4] = (uint8_t)w->count;
	pdu[n++] = (uint8_t)(2 * w->count);
	for (i = 0; i < w->count; i++) {
		pdu[n++] = (uint8_t)(w->regs[i] >> 8);
		pdu[n++] = (uint8_t)w->regs[i];
	}
	return n;
}

/*
 * The answer's PDU rsp (n bytes, no exception: the transports have taken
 * those) must be the request's first five bytes: function, address, and
 * the value (FC6) or the count (FC16). The count written, or -1 with errno.
 */
static int
check_echo(struct bus *b, const uint8_t *req, const uint8_t *rsp, int n,
    int count)
{
	if (n != 5 || rsp[0] != req[0]) {
		errno = EMBBADDATA;
		return -1;
	}
	if (memcmp(rsp, req, 5) != 0) {
		snprintf(b->why, sizeof(b->why), "an answer confirming register "
		    "%u (%s %u), not %u (%s %u)", (unsigned)rsp[1] << 8 | rsp[2],
		    req[0] == 6 ? "value" : "count",
		    (unsigned)rsp[3] << 8 | rsp[4], (unsigned)req[1] << 8 | req[2],
		    req[0] == 6 ? "value" : "count",
		    (unsigned)req[3] << 8 | req[4]);
		errno = EMBBADDATA;
		return -1;
	}
	return count;
}

/*
 * RTU (also over TCP): libmodbus frames the raw request with the address
 * and CRC, and its receive checks both. An answer from another address
 * comes back as 0 bytes (its RTU backend leaves the check to
 * check_confirmation(), which a raw request does not have).
 */
static int
rtu_exchange(struct bus *b, const struct write_args *w, const uint8_t *pdu,
    size_t len, uint8_t *rsp)
{
	uint8_t req[MODBUS_RTU_MAX_ADU_LENGTH], ans[MODBUS_RTU_MAX_ADU_LENGTH];
	int n;

	req[0] = (uint8_t)w->unit;
	memcpy(req + 1, pdu, len);
	if (modbus_send_raw_request(b->ctx, req, (int)len + 1) < 0)
		return -1;
	if ((n = modbus_receive_confirmation(b->ctx, ans)) < 0)
		return -1;
	if (n == 0 || ans[0] != w->unit) {
		errno = EMBBADSLAVE;
		return -1;
	}
	if (n < 4) {
		errno = EMBBADDATA;
		return -1;
	}
	n -= 3;				/* address and CRC */
	if (ans[1] == (pdu[0] | 0x80)) {
		errno = n == 2 && ans[2] < MODBUS_EXCEPTION_MAX ?
		    MODBUS_ENOBASE + ans[2] : EMBBADEXC;
		return -1;
	}
	memcpy(rsp, ans + 1, (size_t)n);
	return n;
}

static int
write_op(struct bus *b, void *arg)
{
	const struct write_args *w = arg;
	uint8_t pdu[6 + 2 * BUS_WRITE_REGS_MAX];
	uint8_t rsp[MODBUS_TCP_MAX_ADU_LENGTH];
	size_t len = build(w, pdu);
	int n;

	if (b->cfg.kind == BUS_TCP)
		n = mbap_pdu(b->ctx, ++b->tid, w->unit, pdu, len, rsp, b->why,
		    sizeof(b->why));
	else
		n = rtu_exchange(b, w, pdu, len, rsp);
	if (n < 0)
		return -1;
	return check_echo(b, pdu, rsp, n, w->count);
}

int
bus_write(struct bus *b, int unit, int fc, int addr, const uint16_t *regs,
    int count, int *exc)
{
	struct write_args w = { unit, fc, addr, count, regs };
	int n;

	if ((fc != 6 && fc != 16) || regs == NULL ||
	    count < 1 || count > (fc == 6 ? 1 : BUS_WRITE_REGS_MAX) ||
	    addr < 0 || addr + count - 1 > 65535)
		return -EINVAL;
	if ((n = bus_request(b, unit, write_op, &w, exc)) < 0)
		return n;
	return 0;
}
