/*
 * Modbus TCP reads with the answer's MBAP header checked whole (issue 13).
 *
 * libmodbus 3.1.6 (Debian 12) matches an answer to its request by the
 * transaction id alone. Its protocol id test is `rsp[2] != 0 && rsp[3] != 0`,
 * so 0x0001 or 0x0100 pass (3.1.9 tests the whole id), and no release up to
 * 3.1.11 compares the unit id at all: a TCP gateway that mixes up the units
 * behind it, or a device that answers for another id, would have its values
 * stored as this unit's. (Its RTU backend does compare the address; RTU and
 * RTU over TCP stay with it.)
 *
 * libmodbus offers no hook into the check (the backend table is private),
 * and its raw request call sends transaction id 0 to every request, which
 * would let a late answer pass for the next one. So the request is framed
 * here with our own transaction id and sent on libmodbus's socket, and
 * modbus_receive_confirmation() receives the answer: libmodbus's framing and
 * timeouts stay, and what its check_confirmation() would check (transaction
 * id, exception, function, byte count) is checked here, plus the protocol id
 * and the unit id. The errors are libmodbus's own codes, so the bus maps them
 * as before; an answer from another unit is EMBBADSLAVE, as on RTU.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "drivers/bus/mbap.h"

#define MBAP_LEN	7		/* transaction, protocol, length, unit */
#define REQ_LEN		(MBAP_LEN + 5)	/* fc, address, count */

static int
fail(int e)
{
	errno = e;
	return -1;
}

/*
 * The answer rsp's header (n bytes, n >= MBAP_LEN + 2) against req's: the
 * same transaction, protocol 0, the same unit, and no exception. 0 or -1.
 */
static int
check_header(const uint8_t *req, const uint8_t *rsp, int n, char *why,
    size_t whylen)
{
	unsigned proto = (unsigned)rsp[2] << 8 | rsp[3];
	int fc = req[MBAP_LEN];

	/* A late answer to an earlier request: the stream is out of step. */
	if (rsp[0] != req[0] || rsp[1] != req[1]) {
		snprintf(why, whylen, "an answer to another request (transaction "
		    "id %u, not %u)", (unsigned)rsp[0] << 8 | rsp[1],
		    (unsigned)req[0] << 8 | req[1]);
		return fail(EMBBADDATA);
	}
	if (proto != 0) {
		snprintf(why, whylen, "an answer with MBAP protocol id %u, not 0 "
		    "(Modbus)", proto);
		return fail(EMBBADDATA);
	}
	if (rsp[6] != req[6]) {
		snprintf(why, whylen, "an answer from unit %u (MBAP unit id), not "
		    "from unit %u", rsp[6], req[6]);
		return fail(EMBBADSLAVE);
	}
	if (rsp[MBAP_LEN] >= 0x80) {
		if (n != MBAP_LEN + 2 || rsp[MBAP_LEN] != (fc | 0x80))
			return fail(EMBBADEXC);
		return fail(rsp[MBAP_LEN + 1] < MODBUS_EXCEPTION_MAX ?
		    MODBUS_ENOBASE + rsp[MBAP_LEN + 1] : EMBBADEXC);
	}
	return 0;
}

/* The answer rsp (n bytes, n >= MBAP_LEN + 2) to req: count values or -1. */
static int
check(const uint8_t *req, const uint8_t *rsp, int n, int count,
    uint16_t *dst, char *why, size_t whylen)
{
	int fc = req[MBAP_LEN], i;
	int bytes = fc <= 2 ? (count + 7) / 8 : 2 * count;
	const uint8_t *v = rsp + MBAP_LEN + 2;

	if (check_header(req, rsp, n, why, whylen) < 0)
		return -1;
	if (rsp[MBAP_LEN] != fc || rsp[MBAP_LEN + 1] != bytes ||
	    n != MBAP_LEN + 2 + bytes)
		return fail(EMBBADDATA);
	for (i = 0; i < count; i++)
		dst[i] = fc <= 2 ? (uint16_t)((v[i / 8] >> (i % 8)) & 1) :
		    (uint16_t)(v[2 * i] << 8 | v[2 * i + 1]);
	return count;
}

/* Send req (len bytes, MBAP header filled) and receive the answer: n or -1. */
static int
exchange(modbus_t *ctx, const uint8_t *req, size_t len, uint8_t *rsp)
{
	ssize_t sent;
	int n;

	sent = send(modbus_get_socket(ctx), req, len, MSG_NOSIGNAL);
	if (sent < 0)
		return -1;
	/* What libmodbus answers to a short send. */
	if (sent != (ssize_t)len)
		return fail(EMBBADDATA);
	if ((n = modbus_receive_confirmation(ctx, rsp)) < 0)
		return -1;
	/* Framed by libmodbus: at least the header, a function and one byte. */
	if (n < MBAP_LEN + 2)
		return fail(EMBBADDATA);
	return n;
}

static void
header(uint8_t *req, uint16_t tid, int unit, size_t pdulen)
{
	req[0] = (uint8_t)(tid >> 8);
	req[1] = (uint8_t)tid;
	req[2] = 0;
	req[3] = 0;
	req[4] = (uint8_t)((pdulen + 1) >> 8);	/* unit and PDU follow */
	req[5] = (uint8_t)(pdulen + 1);
	req[6] = (uint8_t)unit;
}

int
mbap_read(modbus_t *ctx, uint16_t tid, int unit, int fc, int addr,
    int count, uint16_t *dst, char *why, size_t whylen)
{
	uint8_t req[REQ_LEN], rsp[MODBUS_TCP_MAX_ADU_LENGTH];
	int n;

	header(req, tid, unit, REQ_LEN - MBAP_LEN);
	req[7] = (uint8_t)fc;
	req[8] = (uint8_t)(addr >> 8);
	req[9] = (uint8_t)addr;
	req[10] = (uint8_t)(count >> 8);
	req[11] = (uint8_t)count;
	if ((n = exchange(ctx, req, sizeof(req), rsp)) < 0)
		return -1;
	return check(req, rsp, n, count, dst, why, whylen);
}

int
mbap_pdu(modbus_t *ctx, uint16_t tid, int unit, const uint8_t *pdu,
    size_t len, uint8_t *rsp, char *why, size_t whylen)
{
	uint8_t req[MODBUS_TCP_MAX_ADU_LENGTH], ans[MODBUS_TCP_MAX_ADU_LENGTH];
	int n;

	if (len < 1 || len > sizeof(req) - MBAP_LEN)
		return fail(EINVAL);
	header(req, tid, unit, len);
	memcpy(req + MBAP_LEN, pdu, len);
	if ((n = exchange(ctx, req, MBAP_LEN + len, ans)) < 0 ||
	    check_header(req, ans, n, why, whylen) < 0)
		return -1;
	memcpy(rsp, ans + MBAP_LEN, (size_t)(n - MBAP_LEN));
	return n - MBAP_LEN;
}
