/*
 * Modbus TCP requests whose answer is checked here, MBAP header and all, not by
 * libmodbus (drivers/bus/mbap.c says why). Used by the bus for "tcp" buses.
 */
#ifndef WG_MBAP_H
#define WG_MBAP_H

#include <stddef.h>
#include <stdint.h>

#include <modbus.h>

/*
 * Read count registers (fc 3, 4) or bits (fc 1, 2; one 0/1 element of dst
 * each) from unit over ctx's connected socket, as transaction tid. Returns
 * count, or -1 with errno set as libmodbus sets it (ETIMEDOUT, a socket
 * error, MODBUS_ENOBASE + an exception code, EMBBADEXC, EMBBADDATA) or
 * EMBBADSLAVE (an answer from another unit id). For an answer that was
 * refused for its ids why gets one line saying which ("an answer from unit 7
 * (MBAP unit id), not from unit 1"); else it is left alone.
 */
int mbap_read(modbus_t *ctx, uint16_t tid, int unit, int fc, int addr,
    int count, uint16_t *dst, char *why, size_t whylen);

/*
 * Any request PDU pdu[0 .. len) (function code first) to unit as transaction
 * tid; the answer's PDU (function code first, at most MODBUS_TCP_MAX_ADU_LENGTH
 * bytes) into rsp. Returns its length, or -1 with errno as mbap_read() sets
 * it, after the same checks of the header (transaction, protocol and unit
 * ids) and of exceptions; the PDU's body is the caller's to check (bus_write).
 */
int mbap_pdu(modbus_t *ctx, uint16_t tid, int unit, const uint8_t *pdu,
    size_t len, uint8_t *rsp, char *why, size_t whylen);

#endif
