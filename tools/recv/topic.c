/*
 * What an MQTT message on <prefix>/<gw>/... means to the receiver (docs/
 * receiver.md): b a batch, s/<id> a schema, r a result record, status the gateway's online/
 * offline JSON (shown with --verbose). Apart from the client, so the fuzzer
 * drives it (tests/fuzz/fuzz_recv_mqtt.c).
 */
#include <string.h>

#include "firmware/codec/batch.h"
#include "tools/recv/recv.h"

/* Status payloads are short text from the gateway; show them only if they are. */
static void
on_status(struct recv *rv, const char *gw, const char *p, size_t len)
{
	size_t i;

	if (!rv->verbose)
		return;
	for (i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			break;
	if (i == len && len <= 256)	/* the online JSON: ~90 bytes */
		recv_warnx("%s: status %.*s", gw, (int)len, p);
	else
		recv_warnx("%s: status: %zu bytes, not shown", gw, len);
}

/* Split <prefix>/<gw>/<rest> and dispatch on rest. */
void
recv_topic(struct recv *rv, const char *t, const void *payload, size_t len)
{
	size_t plen = strlen(rv->prefix), glen;
	const char *gwp, *rest;
	char gw[BATCH_GW_MAX + 1];

	if (rv->exit_code != 0)
		return;
	if (strncmp(t, rv->prefix, plen) != 0 || t[plen] != '/')
		return;
	gwp = t + plen + 1;
	if ((rest = strchr(gwp, '/')) == NULL)
		return;
	glen = (size_t)(rest - gwp);
	rest++;
	if (glen == 0 || glen > BATCH_GW_MAX)
		goto bad_gw;
	memcpy(gw, gwp, glen);
	gw[glen] = '\0';
	if (!batch_gw_valid(gw))
		goto bad_gw;
	if (strcmp(rest, "b") == 0)
		recv_batch(rv, t, gw, payload, len, 1);
	else if (strncmp(rest, "s/", 2) == 0)
		recv_schema(rv, t, gw, rest + 2, payload, len);
	else if (strcmp(rest, "r") == 0)
		recv_result_record(rv, t, gw, payload, len);
	else if (strcmp(rest, "status") == 0)
		on_status(rv, gw, payload, len);
	return;
bad_gw:
	recv_warnx("%s: not a valid gateway id in the topic", t);
}

