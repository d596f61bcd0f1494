/*
 * The receiver's MQTT path (tools/recv/topic.c, recv.c): topics and payloads
 * as a broker delivers them, several per input so the dedupe, volatile-key,
 * schema and pending state of a gateway is driven across messages. Input:
 * records of [topic length u8][topic][payload length u16 LE][payload]; the
 * prefix is "wg". Printed readings go to /dev/null; the log to stderr
 * (tools/fuzz/run closes it for this harness).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/recv/recv.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (freopen("/dev/null", "w", stdout) == NULL)
		abort();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct recv rv;
	char topic[256];
	size_t pos = 0, tl, pl;

	memset(&rv, 0, sizeof(rv));
	rv.prefix = "wg";
	rv.host = "fuzz";
	rv.verbose = 1;		/* status messages are shown (and cleaned) then */
	rv.volbudget.max = 2 * VOLKEYS_FIRST;	/* reach the bound */
	pending_init(&rv.pending, 64, 1 << 20);
	if (gwtab_init(&rv.gws, 16) < 0)
		abort();
	while (pos < size) {
		tl = data[pos++];
		if (size - pos < tl + 2)
			break;
		memcpy(topic, data + pos, tl);
		topic[tl] = '\0';
		pos += tl;
		pl = (size_t)data[pos] | (size_t)data[pos + 1] << 8;
		pos += 2;
		if (pl > size - pos)
			pl = size - pos;
		recv_topic(&rv, topic, data + pos, pl);
		pos += pl;
	}
	recv_tick(&rv, INT64_MAX / 2);	/* all that waits expires: counted */
	if (rv.pending.n != 0)
		abort();
	pending_free(&rv.pending);
	gwtab_free(&rv.gws);
	free(rv.r);
	return 0;
}
