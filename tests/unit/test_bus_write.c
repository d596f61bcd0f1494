/*
 * bus_write() (drivers/bus/bus_write.c) against a scripted peer in a thread,
 * over Modbus TCP and over RTU frames on TCP (a converter; the RTU path of
 * libmodbus through the bus's pty bridge): FC6 and FC16 land and read back,
 * the device's exception is named, and an answer that is not this write's
 * confirmation (another unit, another address, another value or count, a
 * bad CRC) is refused as -EIO with one line saying which. A peer that does
 * not answer is a timeout. Arguments outside Modbus's limits never reach
 * the wire.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <modbus.h>

#include "drivers/bus/bus.h"
#include "tools/sim/frame.h"

#define IMAGE 100	/* holding registers 0..99 exist */

/*
 * One answer per request, by the next step of the script: '.' right,
 * 'u' from the next unit id, 'a' echoing the next address, 'v' echoing
 * another value (FC6) or count (FC16), 'x' exception 4, 's' none, 'c'
 * (RTU) a wrong CRC. Writes outside the image get exception 2 under '.'.
 */
struct peer {
	int lfd, rtu;
	const char *steps;
	uint16_t regs[IMAGE];
};

static void
must_contain(const char *s, const char *frag)
{
	if (strstr(s, frag) == NULL || strchr(s, '\n') != NULL)
		fail_msg("'%s' lacks '%s' (or is not one line)", s, frag);
}

static int
get(int fd, uint8_t *p, size_t n)
{
	return recv(fd, p, n, MSG_WAITALL) == (ssize_t)n ? 0 : -1;
}

/* One request's PDU into pdu (after the unit id in *unit); its length. */
static int
request(struct peer *pe, int fd, uint8_t *hdr, int *unit, uint8_t *pdu)
{
	size_t n;

	if (!pe->rtu) {
		if (get(fd, hdr, 7) < 0)
			return -1;
		n = ((size_t)hdr[4] << 8 | hdr[5]) - 1;
		*unit = hdr[6];
		return n > 253 || get(fd, pdu, n) < 0 ? -1 : (int)n;
	}
	if (get(fd, hdr, 1) < 0 || get(fd, pdu, 5) < 0)
		return -1;
	*unit = hdr[0];
	n = 5;
	if (pdu[0] == 16) {
		if (get(fd, pdu + 5, 1) < 0 || get(fd, pdu + 6, pdu[5]) < 0)
			return -1;
		n = 6 + pdu[5];
	}
	return get(fd, hdr + 1, 2) < 0 ? -1 : (int)n;	/* CRC: not checked */
}

/* The right answer's PDU to pdu (n bytes): applied to the image. */
static size_t
serve(struct peer *pe, const uint8_t *pdu, uint8_t *rsp)
{
	unsigned addr = (unsigned)pdu[1] << 8 | pdu[2];
	unsigned cnt = pdu[0] == 6 ? 1 : (unsigned)pdu[3] << 8 | pdu[4];
	unsigned i;

	if (addr + cnt > IMAGE) {
		rsp[0] = pdu[0] | 0x80;
		rsp[1] = 2;
		return 2;
	}
	if (pdu[0] == 3) {
		rsp[0] = 3;
		rsp[1] = (uint8_t)(2 * cnt);
		for (i = 0; i < cnt; i++) {
			rsp[2 + 2 * i] = (uint8_t)(pe->regs[addr + i] >> 8);
			rsp[3 + 2 * i] = (uint8_t)pe->regs[addr + i];
		}
		return 2 + 2 * cnt;
	}
	for (i = 0; i < cnt; i++)
		pe->regs[addr + i] = pdu[0] == 6 ? (uint16_t)(pdu[3] << 8 |
		    pdu[4]) : (uint16_t)(pdu[6 + 2 * i] << 8 | pdu[7 + 2 * i]);
	memcpy(rsp, pdu, 5);
	return 5;
}

/*
 * Until the script ends: a new connection whenever the bus remakes its link
 * (it does after an answer out of step on TCP).
 */
static void *
peer_main(void *arg)
{
	struct peer *pe = arg;
	const char *step = pe->steps;
	uint8_t hdr[8], pdu[260], rsp[260], out[270];
	int fd = -1, unit;
	size_t len, k;

	while (*step != '\0') {
		if (fd < 0 && (fd = accept(pe->lfd, NULL, NULL)) < 0)
			return NULL;
		if (request(pe, fd, hdr, &unit, pdu) <= 0) {
			close(fd);
			fd = -1;
			continue;
		}
		len = serve(pe, pdu, rsp);
		switch (*step++) {
		case 'u': unit++; break;
		case 'a': rsp[2]++; break;
		case 'v': rsp[4]++; break;
		case 'x': rsp[0] = pdu[0] | 0x80; rsp[1] = 4; len = 2; break;
		case 's': continue;
		}
		if (pe->rtu) {
			out[0] = (uint8_t)unit;
			memcpy(out + 1, rsp, len);
			k = frame_seal(out, len + 1);
			if (step[-1] == 'c')
				out[k - 1] ^= 0xff;
		} else {
			memcpy(out, hdr, 4);
			out[4] = (uint8_t)((len + 1) >> 8);
			out[5] = (uint8_t)(len + 1);
			out[6] = (uint8_t)unit;
			memcpy(out + 7, rsp, len);
			k = 7 + len;
		}
		if (write(fd, out, k) != (ssize_t)k)
			break;
	}
	while (fd >= 0 && read(fd, hdr, sizeof(hdr)) > 0)
		;
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* The peer on a loopback port of its own, and a bus of kind to it. */
static void
start(struct peer *pe, int kind, pthread_t *t, struct bus **b)
{
	struct bus_cfg c = { .kind = kind, .host = "127.0.0.1",
		.timeout_ms = 300, .baud = 9600, .parity = 'N',
		.data_bits = 8, .stop_bits = 1 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	char err[256];

	pe->rtu = kind == BUS_RTU_TCP;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	pe->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(pe->lfd >= 0);
	assert_int_equal(bind(pe->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(pe->lfd, (struct sockaddr *)&sa, &sl), 0);
	assert_int_equal(listen(pe->lfd, 4), 0);
	c.port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(t, NULL, peer_main, pe), 0);
	if (bus_open(&c, b, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static void
stop(struct peer *pe, pthread_t t, struct bus *b)
{
	bus_close(b);
	pthread_join(t, NULL);
	close(pe->lfd);
}

/* FC6 and FC16 land, read back, and leave nothing on bus_why(). */
static void
writes_land(int kind)
{
	struct peer pe = { .steps = "..." };
	const uint16_t two[2] = { 0x4148, 0x0000 };
	uint16_t r[3] = { 0 }, v = 160;
	struct bus *b;
	pthread_t t;

	start(&pe, kind, &t, &b);
	assert_int_equal(bus_write(b, 1, 6, 61, &v, 1, NULL), 0);
	assert_int_equal(bus_write(b, 1, 16, 10, two, 2, NULL), 0);
	assert_string_equal(bus_why(b), "");
	assert_int_equal(bus_read(b, 1, 3, 10, 2, r, NULL), 0);
	assert_int_equal(r[0], 0x4148);
	assert_int_equal(r[1], 0x0000);
	assert_int_equal(pe.regs[61], 160);
	stop(&pe, t, b);
}

static void
test_tcp_writes(void **state)
{
	(void)state;
	writes_land(BUS_TCP);
}

static void
test_rtu_writes(void **state)
{
	(void)state;
	writes_land(BUS_RTU_TCP);
}

/* Every answer that is not this write's confirmation, each named. */
static void
wrong_answers(int kind)
{
	struct peer pe = { .steps = kind == BUS_TCP ? ".xuavs." : ".xuavsc." };
	uint16_t v = 60, two[2] = { 1, 2 };
	struct bus *b;
	pthread_t t;
	int exc = 0;

	start(&pe, kind, &t, &b);
	/* '.' outside the image: the device's exception 2 */
	assert_int_equal(bus_write(b, 1, 6, 500, &v, 1, &exc), -EPROTO);
	assert_int_equal(exc, 2);
	assert_string_equal(bus_why(b), "Modbus exception 2 (Illegal data "
	    "address)");
	assert_int_equal(bus_write(b, 1, 6, 61, &v, 1, &exc), -EPROTO);
	assert_int_equal(exc, 4);
	must_contain(bus_why(b), "Modbus exception 4 (");
	assert_int_equal(bus_write(b, 1, 6, 61, &v, 1, NULL), -EIO);
	must_contain(bus_why(b), kind == BUS_TCP ? "an answer from unit 2 "
	    "(MBAP unit id), not from unit 1" : "another RTU address than 1");
	assert_int_equal(bus_write(b, 1, 6, 61, &v, 1, NULL), -EIO);
	assert_string_equal(bus_why(b), "an answer confirming register 62 "
	    "(value 60), not 61 (value 60)");
	assert_int_equal(bus_write(b, 1, 16, 61, two, 2, NULL), -EIO);
	assert_string_equal(bus_why(b), "an answer confirming register 61 "
	    "(count 3), not 61 (count 2)");
	assert_int_equal(bus_write(b, 1, 6, 61, &v, 1, NULL), -ETIMEDOUT);
	assert_string_equal(bus_why(b), "no answer (timeout)");
	if (kind != BUS_TCP) {
		assert_int_equal(bus_write(b, 1, 6, 61, &v, 1, NULL), -EBADMSG);
		must_contain(bus_why(b), "CRC error");
	}
	/* and the next write is fine again */
	assert_int_equal(bus_write(b, 1, 6, 61, &v, 1, NULL), 0);
	assert_string_equal(bus_why(b), "");
	stop(&pe, t, b);
}

static void
test_tcp_wrong_answers(void **state)
{
	(void)state;
	wrong_answers(BUS_TCP);
}

static void
test_rtu_wrong_answers(void **state)
{
	(void)state;
	wrong_answers(BUS_RTU_TCP);
}

/* Outside Modbus's limits: refused before anything is sent. */
static void
test_refused_args(void **state)
{
	struct peer pe = { .steps = "." };
	uint16_t regs[BUS_WRITE_REGS_MAX + 1] = { 0 };
	struct bus *b;
	pthread_t t;

	(void)state;
	start(&pe, BUS_RTU_TCP, &t, &b);
	assert_int_equal(bus_write(b, 1, 5, 0, regs, 1, NULL), -EINVAL);
	assert_int_equal(bus_write(b, 1, 3, 0, regs, 1, NULL), -EINVAL);
	assert_int_equal(bus_write(b, 1, 6, 0, regs, 2, NULL), -EINVAL);
	assert_int_equal(bus_write(b, 1, 16, 0, regs, 0, NULL), -EINVAL);
	assert_int_equal(bus_write(b, 1, 16, 0, regs, BUS_WRITE_REGS_MAX + 1,
	    NULL), -EINVAL);
	assert_int_equal(bus_write(b, 1, 16, 65535, regs, 2, NULL), -EINVAL);
	assert_int_equal(bus_write(b, 1, 6, -1, regs, 1, NULL), -EINVAL);
	assert_int_equal(bus_write(b, 0, 6, 0, regs, 1, NULL), -EINVAL);
	assert_int_equal(bus_write(b, 248, 6, 0, regs, 1, NULL), -EINVAL);
	assert_int_equal(bus_write(b, 1, 6, 0, NULL, 1, NULL), -EINVAL);
	/* the first request on the wire is the good one */
	assert_int_equal(bus_write(b, 247, 6, 0, regs, 1, NULL), 0);
	stop(&pe, t, b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_writes),
		cmocka_unit_test(test_rtu_writes),
		cmocka_unit_test(test_tcp_wrong_answers),
		cmocka_unit_test(test_rtu_wrong_answers),
		cmocka_unit_test(test_refused_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
