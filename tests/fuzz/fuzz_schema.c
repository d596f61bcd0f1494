/*
 * The schema decoder (firmware/codec/schema.c): a retained MQTT message or a
 * CoAP PUT at the receiver. What it accepts must write out again and be
 * accepted again, with the same content: its canonical text is a fixed
 * point (written, read, written again: the same bytes and id).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/codec/schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct schema s, again;
	char err[256], *json = NULL, *json2 = NULL;
	uint32_t id, id2, id3;

	if (schema_from_json((const char *)data, size, &s, &id, err,
	    sizeof(err)) != 0)
		return 0;
	if (schema_to_json(&s, &json, &id2) != 0)
		abort();
	if (schema_from_json(json, strlen(json), &again, &id2, err,
	    sizeof(err)) != 0)
		abort();
	if (again.n_devices != s.n_devices ||
	    schema_to_json(&again, &json2, &id3) != 0 ||
	    strcmp(json, json2) != 0 || id2 != id3)
		abort();
	schema_free(&again);
	schema_free(&s);
	free(json);
	free(json2);
	return 0;
}
