/*
 * The bus's own failures, each a one-line reason from bus_error(): RS-485 mode
 * on a port that cannot do it (a pty: no TIOCSRS485) refuses the bus; an
 * RTU-over-TCP converter that refuses, does not exist, or drops the link.
 * Reads of many bits (FC1/FC2 up to 2,000, not the registers' 125) against
 * a libmodbus server in a thread; TCP answers with a wrong unit, protocol or
 * transaction id. The frames themselves are tested against the simulator
 * (test_rtutcp.py, test_wrongids.py).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <modbus.h>

#include "drivers/bus/bus.h"
#include "drivers/identify.h"
#include "tools/sim/frame.h"

static void
must_contain(const char *s, const char *frag)
{
	if (strstr(s, frag) == NULL || strchr(s, '\n') != NULL)
		fail_msg("'%s' lacks '%s' (or is not one line)", s, frag);
}

static void
rtu_cfg(struct bus_cfg *c, const char *dev, int rs485)
{
	memset(c, 0, sizeof(*c));
	c->kind = BUS_RTU;
	snprintf(c->device, sizeof(c->device), "%s", dev);
	c->baud = 9600;
	c->parity = 'N';
	c->data_bits = 8;
	c->stop_bits = 1;
	c->timeout_ms = 200;
	c->rs485 = rs485;
}

static void
rtutcp_cfg(struct bus_cfg *c, const char *host, unsigned port)
{
	rtu_cfg(c, "", 0);
	c->kind = BUS_RTU_TCP;
	snprintf(c->host, sizeof(c->host), "%s", host);
	c->port = port;
	c->timeout_ms = 2000;
}

/* RS-485 asked for on a pty: refused with a line saying so, every time. */
static void
test_rs485_on_pty(void **state)
{
	struct bus_cfg c;
	struct bus *b;
	char err[256], pts[64];
	uint16_t r[2];
	int m;

	(void)state;
	m = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(m >= 0);
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	assert_int_equal(ptsname_r(m, pts, sizeof(pts)), 0);

	rtu_cfg(&c, pts, 1);
	assert_int_equal(bus_open(&c, &b, err, sizeof(err)), 0);
	assert_int_equal(bus_connect(b, err, sizeof(err)), -ENOTTY);
	must_contain(err, pts);
	must_contain(err, "RS-485 mode");
	must_contain(err, "bus not used");
	assert_int_equal(bus_read(b, 1, 3, 0, 2, r, NULL), -ENOTTY);
	must_contain(bus_error(b), "RS-485 mode");
	bus_close(b);

	/* The same port without rs485: RS-232 mode, connects. */
	rtu_cfg(&c, pts, 0);
	assert_int_equal(bus_open(&c, &b, err, sizeof(err)), 0);
	assert_int_equal(bus_connect(b, err, sizeof(err)), 0);
	bus_close(b);
	close(m);

	/* Only a serial port has the mode. */
	rtutcp_cfg(&c, "127.0.0.1", 502);
	c.rs485 = 1;
	assert_int_equal(bus_open(&c, &b, err, sizeof(err)), -EINVAL);
	must_contain(err, "RS-485");
}

/* A port on loopback with a socket bound to it but not listening: refused. */
static int
refusing_port(unsigned *port)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
		return -1;
	*port = ntohs(sa.sin_port);
	return fd;
}

static void
test_rtutcp_refused_and_unknown(void **state)
{
	struct bus_cfg c;
	struct bus *b;
	char err[256];
	uint16_t r[2];
	unsigned port;
	int fd;

	(void)state;
	fd = refusing_port(&port);
	assert_true(fd >= 0);
	rtutcp_cfg(&c, "127.0.0.1", port);
	assert_int_equal(bus_open(&c, &b, err, sizeof(err)), 0);
	must_contain(bus_name(b), "(rtu-tcp)");
	assert_int_equal(bus_read(b, 1, 3, 0, 2, r, NULL), -ECONNREFUSED);
	must_contain(bus_error(b), "connection refused");
	/* RTU addresses behind a converter: 0 is broadcast, never polled. */
	assert_int_equal(bus_read(b, 0, 3, 0, 2, r, NULL), -EINVAL);
	assert_int_equal(bus_connect(b, err, sizeof(err)), -ECONNREFUSED);
	must_contain(err, "connection refused");
	bus_close(b);
	close(fd);

	rtutcp_cfg(&c, "no-such-converter.invalid", 4196);
	assert_int_equal(bus_open(&c, &b, err, sizeof(err)), 0);
	assert_int_equal(bus_read(b, 1, 3, 0, 2, r, NULL), -EHOSTUNREACH);
	must_contain(bus_error(b), "no-such-converter.invalid:4196 (rtu-tcp): "
	    "host unknown");
	bus_close(b);

	/* Bad line settings are refused at open, naming the converter. */
	rtutcp_cfg(&c, "127.0.0.1", 4196);
	c.baud = 9601;
	assert_int_equal(bus_open(&c, &b, err, sizeof(err)), -EINVAL);
	must_contain(err, "127.0.0.1: unsupported baud rate 9601");
}

/* A listening loopback port served by fn(&*lfd) in thread *t; its number. */
static unsigned
serve(void *(*fn)(void *), int *lfd, pthread_t *t)
{
	unsigned port;

	*lfd = refusing_port(&port);
	assert_true(*lfd >= 0);
	assert_int_equal(listen(*lfd, 1), 0);
	assert_int_equal(pthread_create(t, NULL, fn, lfd), 0);
	return port;
}

/* A converter that takes the request and hangs up. */
static void *
hang_up(void *arg)
{
	int lfd = *(int *)arg, fd;
	char buf[64];

	if ((fd = accept(lfd, NULL, NULL)) >= 0) {
		if (read(fd, buf, sizeof(buf)) < 0) {
			/* closed either way */
		}
		close(fd);
	}
	return NULL;
}

static void
test_rtutcp_lost(void **state)
{
	struct bus_cfg c;
	struct bus *b;
	pthread_t t;
	char err[256];
	uint16_t r[2];
	unsigned port;
	int lfd;

	(void)state;
	port = serve(hang_up, &lfd, &t);
	rtutcp_cfg(&c, "127.0.0.1", port);
	assert_int_equal(bus_open(&c, &b, err, sizeof(err)), 0);
	/* Not a device timeout: the link went, and bus_error() says how. */
	assert_int_equal(bus_read(b, 1, 3, 0, 2, r, NULL), -ENOTCONN);
	must_contain(bus_error(b), "connection lost (closed by the converter)");
	pthread_join(t, NULL);
	close(lfd);
	/* The next request reconnects; nobody listens now. */
	assert_int_equal(bus_read(b, 1, 3, 0, 2, r, NULL), -ECONNREFUSED);
	must_contain(bus_error(b), "connection lost (closed by the converter); "
	    "reconnect: connection refused");
	bus_close(b);
}

/* The bit that the test server holds at address a (coils, or inputs). */
static int
coil_at(int a)
{
	return (a * 7) % 3 == 0 || a % 11 == 5;
}

static int
input_at(int a)
{
	return (a / 3) % 2;
}

#define BITS_FIRST	(65536 - BUS_READ_BITS_MAX - 16)

/*
 * A Modbus TCP server (libmodbus's own) holding coils and discrete inputs
 * from BITS_FIRST to the top of the address space and no registers; it
 * answers one client until it hangs up.
 */
static void *
bit_server(void *arg)
{
	int lfd = *(int *)arg, fd, n, a;
	modbus_t *ctx = modbus_new_tcp("127.0.0.1", 0);
	modbus_mapping_t *m;
	uint8_t q[MODBUS_TCP_MAX_ADU_LENGTH];

	m = modbus_mapping_new_start_address(BITS_FIRST, 65536 - BITS_FIRST,
	    BITS_FIRST, 65536 - BITS_FIRST, 0, 0, 0, 0);
	if (ctx == NULL || m == NULL)
		goto out;
	for (a = BITS_FIRST; a < 65536; a++) {
		m->tab_bits[a - BITS_FIRST] = (uint8_t)coil_at(a);
		m->tab_input_bits[a - BITS_FIRST] = (uint8_t)input_at(a);
	}
	if ((fd = modbus_tcp_accept(ctx, &lfd)) < 0)
		goto out;
	while ((n = modbus_receive(ctx, q)) > 0) {
		/*
		 * Units 3 and 4 (the MBAP header's unit id): the server is a
		 * TCP gateway answering for ids nobody answers on its line.
		 */
		if (q[6] == 3 || q[6] == 4)
			n = modbus_reply_exception(ctx, q, q[6] == 3 ?
			    MODBUS_EXCEPTION_GATEWAY_TARGET :
			    MODBUS_EXCEPTION_GATEWAY_PATH);
		else
			n = modbus_reply(ctx, q, n, m);
		if (n < 0)
			break;
	}
	close(fd);
out:
	modbus_mapping_free(m);
	if (ctx != NULL)
		modbus_free(ctx);
	return NULL;
}

/* bit_server on a port of its own (*lfd), and a TCP bus to it. */
static void
open_bit_server(pthread_t *t, int *lfd, struct bus **b)
{
	struct bus_cfg c;
	char err[256];
	unsigned port;

	port = serve(bit_server, lfd, t);
	memset(&c, 0, sizeof(c));
	c.kind = BUS_TCP;
	snprintf(c.host, sizeof(c.host), "127.0.0.1");
	c.port = port;
	c.timeout_ms = 2000;
	assert_int_equal(bus_open(&c, b, err, sizeof(err)), 0);
}

/* Count bits from addr, as 0/1 values, each as the server holds it. */
static void
read_bits_checked(struct bus *b, int fc, int addr, int count)
{
	static uint16_t v[BUS_READ_BITS_MAX];
	int i, want;

	memset(v, 0xa5, sizeof(v));
	assert_int_equal(bus_read(b, 1, fc, addr, count, v, NULL), 0);
	for (i = 0; i < count; i++) {
		want = fc == 1 ? coil_at(addr + i) : input_at(addr + i);
		if (v[i] != want)
			fail_msg("fc %d: bit %d (address %d) is %u, not %d", fc, i,
			    addr + i, v[i], want);
	}
}

/*
 * One read of 2,000 coils or inputs, the Modbus limit the planner plans with,
 * up to the last address; more than 2,000 is refused before the wire.
 */
static void
test_read_many_bits(void **state)
{
	struct bus *b;
	pthread_t t;
	static uint16_t v[BUS_READ_BITS_MAX + 1];
	int lfd;

	(void)state;
	open_bit_server(&t, &lfd, &b);
	read_bits_checked(b, 1, 65536 - BUS_READ_BITS_MAX, BUS_READ_BITS_MAX);
	read_bits_checked(b, 2, 65536 - BUS_READ_BITS_MAX, BUS_READ_BITS_MAX);
	read_bits_checked(b, 1, BITS_FIRST + 3, 126);
	read_bits_checked(b, 2, BITS_FIRST + 1, 1999);
	assert_int_equal(bus_read(b, 1, 1, BITS_FIRST, BUS_READ_BITS_MAX + 1, v,
	    NULL), -EINVAL);
	assert_int_equal(bus_read(b, 1, 3, BITS_FIRST, BUS_READ_REGS_MAX + 1, v,
	    NULL), -EINVAL);
	/* Past the top of the address space: refused, not wrapped. */
	assert_int_equal(bus_read(b, 1, 2, 65536 - 100, 101, v, NULL), -EINVAL);
	bus_close(b);
	pthread_join(t, NULL);
	close(lfd);
}

/*
 * A TCP gateway's own exceptions 10 and 11 (units 3 and 4 of bit_server) say
 * the device behind it did not answer: a timeout, as on a serial line (the
 * poll ends, the device backs off, health counts a timeout), not an exception
 * from the device. So wattgate scan's probe finds nobody at such an id, while
 * a device's own exception (unit 1 has no registers) means one is there.
 */
static void
test_gateway_no_answer(void **state)
{
	struct bus *b;
	pthread_t t;
	uint16_t r[1];
	int lfd, exc;

	(void)state;
	open_bit_server(&t, &lfd, &b);
	exc = 0;
	assert_int_equal(bus_read(b, 1, 3, 0, 1, r, &exc), -EPROTO);
	assert_int_equal(exc, MODBUS_EXCEPTION_ILLEGAL_DATA_ADDRESS);
	/* The log says which exception, not just "Modbus exception". */
	must_contain(bus_why(b), "Modbus exception 2 (");
	assert_int_equal(bus_read(b, 3, 3, 0, 1, r, &exc), -ETIMEDOUT);
	assert_int_equal(exc, MODBUS_EXCEPTION_GATEWAY_TARGET);
	assert_int_equal(bus_read(b, 4, 1, BITS_FIRST, 1, r, &exc), -ETIMEDOUT);
	assert_int_equal(exc, MODBUS_EXCEPTION_GATEWAY_PATH);
	assert_string_equal(bus_error(b), "");
	assert_int_equal(bus_read(b, 1, 1, BITS_FIRST, 1, r, &exc), 0);
	assert_int_equal(identify_probe(b, 1), 1);
	assert_int_equal(identify_probe(b, 3), 0);
	assert_int_equal(identify_probe(b, 4), 0);
	bus_close(b);
	pthread_join(t, NULL);
	close(lfd);
}

/*
 * A Modbus TCP peer answering one 1-register FC3 request per step of a
 * script: '.' right (0x1234), 'u' from the next unit id, 'x' exception 2
 * from the next unit id, 'p' protocol id 0x0001, 'P' 0x0100, 't' another
 * transaction id, 'f' an FC4 frame. A new connection is taken when the
 * client hangs up.
 */
struct script {
	int lfd, conns;
	const char *steps;
};

static void *
scripted(void *arg)
{
	struct script *sc = arg;
	const char *step = sc->steps;
	uint8_t q[12], a[11];
	size_t len;
	int fd = -1;

	while (*step != '\0') {
		if (fd < 0) {
			if ((fd = accept(sc->lfd, NULL, NULL)) < 0)
				return NULL;
			__atomic_add_fetch(&sc->conns, 1, __ATOMIC_SEQ_CST);
		}
		if (recv(fd, q, sizeof(q), MSG_WAITALL) != (ssize_t)sizeof(q)) {
			close(fd);
			fd = -1;
			continue;
		}
		memcpy(a, q, 7);		/* transaction, protocol, -, unit */
		a[4] = 0;
		a[5] = 5;
		a[7] = q[7];
		a[8] = 2;
		a[9] = 0x12;
		a[10] = 0x34;
		len = sizeof(a);
		switch (*step++) {
		case 'u': a[6]++; break;
		case 'x': a[6]++; a[5] = 3; a[7] |= 0x80; len = 9; break;
		case 'p': a[3] = 1; break;
		case 'P': a[2] = 1; break;
		case 't': a[1]++; break;
		case 'f': a[7] = 4; break;
		}
		if (write(fd, a, len) != (ssize_t)len)
			break;
	}
	while (fd >= 0 && read(fd, q, sizeof(q)) > 0)
		;
	if (fd >= 0)
		close(fd);
	return NULL;
}

/*
 * A TCP answer is the unit's only with its MBAP protocol id 0 and its unit
 * id (issue 13): libmodbus 3.1.6 took protocol 0x0001 and 0x0100 and any
 * unit id. Refused as a bad answer (-EIO, io_errors, retried) with one line
 * saying which id was wrong; an exception from another unit is not the
 * unit's exception. A wrong unit keeps the link (the transaction id matched:
 * the stream is in step); a wrong protocol or transaction id remakes it.
 */
/* scripted() on a port of its own, and a TCP bus to it. */
static void
script_start(struct script *sc, pthread_t *t, struct bus **b)
{
	struct bus_cfg c = { .kind = BUS_TCP, .host = "127.0.0.1",
		.timeout_ms = 1000 };
	char err[256];

	sc->lfd = refusing_port(&c.port);
	assert_true(sc->lfd >= 0);
	assert_int_equal(listen(sc->lfd, 4), 0);
	assert_int_equal(pthread_create(t, NULL, scripted, sc), 0);
	assert_int_equal(bus_open(&c, b, err, sizeof(err)), 0);
}

/* A garbled answer is named as one ("Input/output error" said nothing). */
static void
test_garbled_answer_named(void **state)
{
	struct script sc = { .steps = "f" };
	struct bus *b;
	pthread_t t;
	uint16_t r[1];

	(void)state;
	script_start(&sc, &t, &b);
	assert_int_equal(bus_read(b, 1, 3, 0, 1, r, NULL), -EIO);
	must_contain(bus_why(b), "a garbled answer (");
	assert_null(strstr(bus_why(b), "Input/output error"));
	bus_close(b);
	pthread_join(t, NULL);
	close(sc.lfd);
}

static void
test_tcp_answer_ids(void **state)
{
	struct script sc = { .steps = ".uxpPt." };
	struct bus *b;
	pthread_t t;
	uint16_t r[1];
	int exc = 0;

	(void)state;
	script_start(&sc, &t, &b);
	assert_int_equal(bus_read(b, 1, 3, 0, 1, r, NULL), 0);
	assert_int_equal(r[0], 0x1234);
	assert_int_equal(bus_read(b, 1, 3, 0, 1, r, NULL), -EIO);
	assert_string_equal(bus_why(b), "an answer from unit 2 (MBAP unit id), "
	    "not from unit 1");
	assert_int_equal(bus_read(b, 1, 3, 0, 1, r, &exc), -EIO);
	assert_int_equal(exc, 0);
	must_contain(bus_why(b), "from unit 2 (MBAP unit id)");
	assert_int_equal(__atomic_load_n(&sc.conns, __ATOMIC_SEQ_CST), 1);
	assert_int_equal(bus_read(b, 1, 3, 0, 1, r, NULL), -EIO);
	assert_string_equal(bus_why(b), "an answer with MBAP protocol id 1, not "
	    "0 (Modbus)");
	assert_int_equal(bus_read(b, 1, 3, 0, 1, r, NULL), -EIO);
	must_contain(bus_why(b), "MBAP protocol id 256, not 0");
	assert_int_equal(bus_read(b, 1, 3, 0, 1, r, NULL), -EIO);
	must_contain(bus_why(b), "an answer to another request (transaction id ");
	r[0] = 0;
	assert_int_equal(bus_read(b, 1, 3, 0, 1, r, NULL), 0);
	assert_int_equal(r[0], 0x1234);
	assert_string_equal(bus_error(b), "");
	bus_close(b);
	pthread_join(t, NULL);
	assert_int_equal(__atomic_load_n(&sc.conns, __ATOMIC_SEQ_CST), 4);
	close(sc.lfd);
}

/*
 * A peer whose first connection answers one request and then nothing (the
 * socket stays open), while a new connection answers at once: Modbus TCP
 * frames, or RTU frames over TCP (a converter) with rtu set.
 */
struct wedge {
	int lfd, rtu, conns, stop;
};

/* The answer to a 1-register FC3 request in req (n bytes): its length. */
static size_t
answer(const struct wedge *w, const uint8_t *req, size_t n, uint8_t *rsp)
{
	uint16_t crc;

	if (w->rtu) {
		if (n < 8)
			return 0;
		memcpy(rsp, req, 2);		/* unit, fc */
		rsp[2] = 2;
		rsp[3] = 0x12;
		rsp[4] = 0x34;
		crc = frame_crc16(rsp, 5);
		rsp[5] = (uint8_t)crc;
		rsp[6] = (uint8_t)(crc >> 8);
		return 7;
	}
	if (n < 12)
		return 0;
	memcpy(rsp, req, 4);			/* transaction, protocol */
	rsp[4] = 0;
	rsp[5] = 5;
	rsp[6] = req[6];
	rsp[7] = req[7];
	rsp[8] = 2;
	rsp[9] = 0x12;
	rsp[10] = 0x34;
	return 11;
}

static void *
wedge_server(void *arg)
{
	struct wedge *w = arg;
	struct pollfd p[4];
	int answered[4] = { 0 }, i, n = 1;
	uint8_t req[64], rsp[16];
	ssize_t got;
	size_t len;

	p[0].fd = w->lfd;
	p[0].events = POLLIN;
	while (!__atomic_load_n(&w->stop, __ATOMIC_SEQ_CST)) {
		if (poll(p, (nfds_t)n, 100) <= 0)
			continue;
		if ((p[0].revents & POLLIN) && n < 4) {
			p[n].fd = accept(w->lfd, NULL, NULL);
			p[n].events = POLLIN;
			p[n].revents = 0;	/* not polled yet */
			if (p[n].fd >= 0) {
				n++;
				__atomic_add_fetch(&w->conns, 1, __ATOMIC_SEQ_CST);
			}
		}
		for (i = 1; i < n; i++) {
			if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			if ((got = read(p[i].fd, req, sizeof(req))) <= 0) {
				close(p[i].fd);
				p[i].fd = -1;
				continue;
			}
			/* The first connection goes mute after one answer. */
			if (i == 1 && answered[i] >= 1)
				continue;
			/* Unit 9 is not there: never an answer. */
			if ((w->rtu ? req[0] : got > 6 ? req[6] : 0) == 9)
				continue;
			if ((len = answer(w, req, (size_t)got, rsp)) > 0 &&
			    write(p[i].fd, rsp, len) == (ssize_t)len)
				answered[i]++;
		}
	}
	for (i = 1; i < n; i++)
		if (p[i].fd >= 0)
			close(p[i].fd);
	return NULL;
}

/*
 * A link that stays open but answers nothing is remade after two requests
 * in a row to units that had answered on it go unanswered: a wedged TCP
 * connection kept both devices of a bus dead for over a minute while a new
 * one was answered at once. A unit that never answered (a scan's probe, a
 * device that is off) does not count: the link stays.
 */
static void
wedged_link(int kind)
{
	struct bus_cfg c;
	struct wedge w = { .rtu = kind == BUS_RTU_TCP };
	struct bus *b;
	pthread_t t;
	char err[256];
	uint16_t r[1];
	unsigned port;

	if (kind == BUS_RTU_TCP) {
		rtutcp_cfg(&c, "127.0.0.1", 0);
	} else {
		memset(&c, 0, sizeof(c));
		c.kind = BUS_TCP;
		snprintf(c.host, sizeof(c.host), "127.0.0.1");
	}
	c.timeout_ms = 200;
	w.lfd = refusing_port(&port);
	assert_true(w.lfd >= 0);
	assert_int_equal(listen(w.lfd, 4), 0);
	c.port = port;
	assert_int_equal(pthread_create(&t, NULL, wedge_server, &w), 0);
	assert_int_equal(bus_open(&c, &b, err, sizeof(err)), 0);
	assert_int_equal(bus_read(b, 1, 3, 0, 1, r, NULL), 0);
	assert_int_equal(r[0], 0x1234);
	assert_int_equal(bus_read(b, 1, 3, 0, 1, r, NULL), -ETIMEDOUT);
	assert_string_equal(bus_why(b), "no answer (timeout)");
	assert_int_equal(bus_read(b, 1, 3, 0, 1, r, NULL), -ETIMEDOUT);
	must_contain(bus_why(b), "link closed after 2 unanswered requests");
	r[0] = 0;
	assert_int_equal(bus_read(b, 1, 3, 0, 1, r, NULL), 0);
	assert_int_equal(r[0], 0x1234);
	assert_int_equal(__atomic_load_n(&w.conns, __ATOMIC_SEQ_CST), 2);
	/* Probes of an empty id never remake the link. */
	assert_int_equal(bus_read(b, 9, 3, 0, 1, r, NULL), -ETIMEDOUT);
	assert_int_equal(bus_read(b, 9, 3, 0, 1, r, NULL), -ETIMEDOUT);
	assert_int_equal(bus_read(b, 9, 3, 0, 1, r, NULL), -ETIMEDOUT);
	assert_string_equal(bus_why(b), "no answer (timeout)");
	assert_int_equal(bus_read(b, 1, 3, 0, 1, r, NULL), 0);
	assert_int_equal(__atomic_load_n(&w.conns, __ATOMIC_SEQ_CST), 2);
	bus_close(b);
	__atomic_store_n(&w.stop, 1, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	close(w.lfd);
}

static void
test_wedged_tcp_link_remade(void **state)
{
	(void)state;
	wedged_link(BUS_TCP);
}

static void
test_wedged_rtutcp_link_remade(void **state)
{
	(void)state;
	wedged_link(BUS_RTU_TCP);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rs485_on_pty),
		cmocka_unit_test(test_rtutcp_refused_and_unknown),
		cmocka_unit_test(test_rtutcp_lost),
		cmocka_unit_test(test_read_many_bits),
		cmocka_unit_test(test_gateway_no_answer),
		cmocka_unit_test(test_garbled_answer_named),
		cmocka_unit_test(test_tcp_answer_ids),
		cmocka_unit_test(test_wedged_tcp_link_remade),
		cmocka_unit_test(test_wedged_rtutcp_link_remade),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
