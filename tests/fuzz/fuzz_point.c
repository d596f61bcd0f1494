/*
 * What a device's answer becomes (drivers/point.c, regmap.c): the registers
 * of a response, as bytes off the wire, decoded for every point and info
 * string of a shipped profile. The first input byte picks the profile.
 */
#include <stdint.h>
#include <stdlib.h>

#include "drivers/profile.h"
#include "drivers/regmap.h"
#include "tests/fuzz/fuzz_profiles.h"

#define PROFILES_MAX	64

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct profile profiles[PROFILES_MAX];
static size_t n_profiles;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	n_profiles = fuzz_profiles_load(profiles, PROFILES_MAX);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint16_t regs[PROFILE_INFO_REGS_MAX + 8];
	char text[2 * PROFILE_INFO_REGS_MAX + 1];
	const struct profile *p;
	struct dec v;
	size_t i, k, need, off = 1;

	if (size < 1)
		return 0;
	p = &profiles[data[0] % n_profiles];
	/* Each point takes the next registers of the input, wrapping round. */
	for (i = 0; i < p->n_points; i++) {
		need = regmap_words(p->points[i].type);
		if (need == 0 || need > 8)
			abort();
		for (k = 0; k < need; k++, off += 2)
			regs[k] = size > 2 ? (uint16_t)(data[1 + (off - 1) %
			    (size - 1)] << 8 | data[1 + off % (size - 1)]) : 0;
		(void)profile_point_decode(p, &p->points[i], regs, &v);
	}
	for (i = 0; i < p->n_info; i++) {
		for (k = 0; k < p->info[i].len; k++, off += 2)
			regs[k] = size > 2 ? (uint16_t)(data[1 + (off - 1) %
			    (size - 1)] << 8 | data[1 + off % (size - 1)]) : 0;
		if (regmap_string(regs, p->info[i].len, p->info[i].order, text,
		    sizeof(text)) > (int)(2 * p->info[i].len))
			abort();
	}
	return 0;
}
