/*
 * The schema decoder (firmware/codec/schema.c): a retained MQTT message or a
 * CoAP PUT at the receiver. What it accepts must write out again and be
 * accepted again, with the same content.
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
	char err[256], *json = NULL;
	uint32_t id, id2;

	if (schema_from_json((const char *)data, size, &s, &id, err,
	    sizeof(err)) != 0)
		return 0;
	if (schema_to_json(&s, &json, &id2) != 0)
		abort();
	if (schema_from_json(json, strlen(json), &again, &id2, err,
	    sizeof(err)) != 0)
		abort();
	if (again.n_devices != s.n_devices)
		abort();
	schema_free(&again);
	schema_free(&s);
	free(json);
	return 0;
}
