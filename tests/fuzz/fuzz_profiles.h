/*
 * The shipped profiles (drivers/profiles) for the harnesses and seeds that
 * decode or match with them, in directory order. Without them a harness
 * tests nothing: any error aborts.
 */
#ifndef WG_FUZZ_PROFILES_H
#define WG_FUZZ_PROFILES_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/profile.h"

#define FUZZ_PROFILE_DIR	WG_SOURCE_DIR "/drivers/profiles"

/* Load up to cap of them into ps; their number (at least 1). */
static inline size_t
fuzz_profiles_load(struct profile *ps, size_t cap)
{
	char name[64], err[512];
	struct dirent *de;
	size_t len, n = 0;
	DIR *d;

	if ((d = opendir(FUZZ_PROFILE_DIR)) == NULL)
		abort();
	while ((de = readdir(d)) != NULL && n < cap) {
		len = strlen(de->d_name);
		if (len <= 5 || len - 5 >= sizeof(name) ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		memcpy(name, de->d_name, len - 5);
		name[len - 5] = '\0';
		if (profile_load_named(FUZZ_PROFILE_DIR, name, &ps[n], err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "fuzz: %s\n", err);
			abort();
		}
		n++;
	}
	closedir(d);
	if (n == 0)
		abort();
	return n;
}

#endif
