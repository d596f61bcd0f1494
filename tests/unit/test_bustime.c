/*
 * The bus-time model against figures computed by hand (ns, each term rounded
 * to the nearest once):
 *
 * 9600 baud, 11-bit characters: a character is 11/9600 s = 1145833.3 ns;
 * t3.5 = 3.5 x 11 / 9600 s = 4010416.7 -> 4010417 ns.
 * FC3, 2 registers: request 8 bytes, answer 5 + 4 = 9: 17 characters =
 * 187 bits = 19479166.7 -> 19479167 ns; + max(t3.5, 10 ms) + t3.5
 * = 19479167 + 10000000 + 4010417 = 33489584 ns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "drivers/bus/bus.h"
#include "drivers/bustime.h"

static struct bustime
rtu(uint32_t baud, uint32_t bits, uint32_t turn_us)
{
	return (struct bustime){ baud, bits, turn_us };
}

static void
test_frames(void **state)
{
	struct bustime t = rtu(9600, 11, 10000);

	(void)state;
	assert_int_equal(bustime_request_bytes(&t), 8);
	assert_int_equal(bustime_answer_bytes(&t, 3, 2), 9);
	assert_int_equal(bustime_answer_bytes(&t, 4, 125), 255);
	/* bits pack eight to a byte */
	assert_int_equal(bustime_answer_bytes(&t, 1, 1), 6);
	assert_int_equal(bustime_answer_bytes(&t, 1, 8), 6);
	assert_int_equal(bustime_answer_bytes(&t, 2, 9), 7);
	assert_int_equal(bustime_answer_bytes(&t, 2, 2000), 255);
	assert_int_equal(bustime_char_ns(&t), 1145833);
	assert_int_equal(bustime_gap_ns(&t), 4010417);
}

static void
test_rtu_9600(void **state)
{
	struct bustime t = rtu(9600, 11, 10000);

	(void)state;
	assert_int_equal(bustime_read_ns(&t, 3, 2), 33489584);
	/* FC4, 125 registers: 8 + 255 = 263 characters = 2893 bits =
	 * 301354166.7 -> 301354167; + 10 ms + t3.5 */
	assert_int_equal(bustime_read_ns(&t, 4, 125), 315364584);
	/* FC1, 10 coils: 8 + 7 = 15 characters = 165 bits = 17187500 */
	assert_int_equal(bustime_read_ns(&t, 1, 10), 31197917);
	/* 2000 bits cost what 125 registers cost: both answer 250 bytes */
	assert_int_equal(bustime_read_ns(&t, 2, 2000), 315364584);
	/* a turnaround shorter than t3.5 is t3.5: twice 4010417 */
	t.turnaround_us = 1000;
	assert_int_equal(bustime_read_ns(&t, 3, 2), 27500001);
	t.turnaround_us = 0;
	assert_int_equal(bustime_read_ns(&t, 3, 2), 27500001);
	/* 8N1 wiring: 10-bit characters, 17 x 10 / 9600 s = 17708333.3;
	 * t3.5 = 35 / 9600 s = 3645833.3 */
	t = rtu(9600, 10, 10000);
	assert_int_equal(bustime_gap_ns(&t), 3645833);
	assert_int_equal(bustime_read_ns(&t, 3, 2), 17708333 + 10000000 +
	    3645833);
}

static void
test_rtu_fast(void **state)
{
	struct bustime t = rtu(19200, 11, 10000);

	(void)state;
	/* 19200 still computes t3.5: 38.5 / 19200 s = 2005208.3 */
	assert_int_equal(bustime_gap_ns(&t), 2005208);
	/* above 19200 it is fixed at 1.75 ms */
	t = rtu(38400, 11, 10000);
	assert_int_equal(bustime_gap_ns(&t), 1750000);
	/* 187 bits at 38400 = 4869791.7 -> 4869792; + 10 ms + 1.75 ms */
	assert_int_equal(bustime_read_ns(&t, 3, 2), 16619792);
	t = rtu(115200, 11, 1000);
	assert_int_equal(bustime_gap_ns(&t), 1750000);
	/* 187 bits at 115200 = 1623263.9 -> 1623264; t3.5 > 1 ms: twice */
	assert_int_equal(bustime_read_ns(&t, 3, 2), 1623264 + 2 * 1750000);
}

static void
test_tcp(void **state)
{
	struct bustime t = { 0, 0, 10000 };

	(void)state;
	assert_int_equal(bustime_request_bytes(&t), 12);
	assert_int_equal(bustime_answer_bytes(&t, 3, 2), 13);
	assert_int_equal(bustime_gap_ns(&t), 0);
	assert_int_equal(bustime_char_ns(&t), 0);
	/* 25 bytes at 10 Mbit/s = 20 us; no gaps */
	assert_int_equal(bustime_read_ns(&t, 3, 2), 10020000);
}

static void
test_from_bus(void **state)
{
	struct bus_cfg cfg;
	struct bustime t;

	(void)state;
	bustime_from_bus(&t, NULL, 0);
	assert_int_equal(t.baud, 9600);
	assert_int_equal(t.char_bits, 11);
	assert_int_equal(t.turnaround_us, 10000);
	bustime_default(&t, 25);
	assert_int_equal(t.turnaround_us, 25000);

	memset(&cfg, 0, sizeof(cfg));
	cfg.kind = BUS_RTU;
	cfg.baud = 19200;
	cfg.parity = 'N';
	cfg.data_bits = 8;
	cfg.stop_bits = 1;
	bustime_from_bus(&t, &cfg, 40);
	assert_int_equal(t.baud, 19200);
	assert_int_equal(t.char_bits, 10);
	assert_int_equal(t.turnaround_us, 40000);
	cfg.parity = 'E';
	bustime_from_bus(&t, &cfg, 0);
	assert_int_equal(t.char_bits, 11);
	cfg.parity = 'N';
	cfg.stop_bits = 2;
	bustime_from_bus(&t, &cfg, 0);
	assert_int_equal(t.char_bits, 11);
	cfg.data_bits = 7;
	cfg.parity = 'O';
	cfg.stop_bits = 1;
	bustime_from_bus(&t, &cfg, 0);
	assert_int_equal(t.char_bits, 10);
	/* Behind an RTU-over-TCP converter the RS-485 line is what costs. */
	cfg.kind = BUS_RTU_TCP;
	bustime_from_bus(&t, &cfg, 0);
	assert_int_equal(t.baud, 19200);
	assert_int_equal(t.char_bits, 10);
	assert_int_equal(bustime_request_bytes(&t), 8);
	cfg.kind = BUS_TCP;
	bustime_from_bus(&t, &cfg, 0);
	assert_int_equal(t.baud, 0);
	assert_int_equal(bustime_read_ns(&t, 3, 2), 10020000);
}

static void
test_invalid(void **state)
{
	struct bustime t = rtu(9600, 11, 10000);

	(void)state;
	assert_int_equal(bustime_read_ns(&t, 3, 0), 0);
	assert_int_equal(bustime_read_ns(&t, 3, 126), 0);
	assert_int_equal(bustime_read_ns(&t, 4, 125) > 0, 1);
	assert_int_equal(bustime_read_ns(&t, 1, 2001), 0);
	assert_int_equal(bustime_read_ns(&t, 0, 1), 0);
	assert_int_equal(bustime_read_ns(&t, 5, 1), 0);
	assert_int_equal(bustime_read_ns(&t, 16, 1), 0);
	assert_int_equal(bustime_read_ns(NULL, 3, 1), 0);
	t.char_bits = 9;
	assert_int_equal(bustime_read_ns(&t, 3, 1), 0);
	t.char_bits = 13;
	assert_int_equal(bustime_read_ns(&t, 3, 1), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_rtu_9600),
		cmocka_unit_test(test_rtu_fast),
		cmocka_unit_test(test_tcp),
		cmocka_unit_test(test_from_bus),
		cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
