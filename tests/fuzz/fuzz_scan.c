/*
 * wattgate scan's identification (drivers/identify.c): which profiles fit a
 * device, from the raw answers it gives. The input is the device
 * (tests/fuzz/fuzz_scan.h); identify_answers() tries every profile on it,
 * as identify_unit() does on a bus.
 *
 * Checked beyond the sanitizers: the identifier asks only what bus_read()
 * takes; the fits come best first, ties in profile order, each scoring at
 * most its profile's points; a profile tried again after all the others
 * scores what it scored in its place (they share one register image: what
 * one profile read must not count for the next); a shorter list (cap) is
 * the longer one's head; the best fit's info strings, which scan prints,
 * are printable ASCII.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/identify.h"
#include "drivers/profile.h"
#include "tests/fuzz/fuzz_profiles.h"
#include "tests/fuzz/fuzz_scan.h"

#define PROFILES_MAX	64

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The last slot holds a copy of one of them, per input. */
static struct profile profiles[PROFILES_MAX + 1];
static size_t n_profiles;

static void
add(const char *name, const char *text, size_t len)
{
	char err[512];

	if (n_profiles == PROFILES_MAX || profile_parse(name, text, len,
	    &profiles[n_profiles], err, sizeof(err)) != 0) {
		fprintf(stderr, "fuzz_scan: %s: %s\n", name, err);
		abort();
	}
	n_profiles++;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct profile *)a)->name,
	    ((const struct profile *)b)->name);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *doc;

	(void)argc;
	(void)argv;
	n_profiles = fuzz_profiles_load(profiles, PROFILES_MAX - 2);
	/* Sorted as scan sorts them: ties go to the first in this order. */
	qsort(profiles, n_profiles, sizeof(profiles[0]), by_name);
	if ((doc = scan_info_profile(FUZZ_PROFILE_DIR, "sdm120i", "SDMI")) ==
	    NULL)
		abort();
	add("sdm120i.json", doc, strlen(doc));
	free(doc);
	if ((doc = scan_info_profile(FUZZ_PROFILE_DIR, "sdm120x", "NOPE")) ==
	    NULL)
		abort();
	add("sdm120x.json", doc, strlen(doc));
	free(doc);
	return 0;
}

/* The score profile k got in fits[0 .. n), 0 if it is not there. */
static unsigned
score_of(const struct identify_fit *fits, size_t n, size_t k)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fits[i].profile == k)
			return fits[i].score;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct identify_fit all[PROFILES_MAX + 1], head[3];
	char s[PROFILE_INFO_CHARS + 1];
	struct scan_device dev = { data, size };
	struct identify_src src = { scan_answer, &dev };
	const struct profile *p;
	size_t i, k, cap, last = n_profiles;
	int n;

	if (size < SCAN_HDR || size > SCAN_INPUT_MAX)
		return 0;
	/*
	 * Every profile and, once more at the end, the one the input's last
	 * byte picks: tried after all the others (they share one register
	 * image), it must score as it did in its place.
	 */
	k = data[size - 1] % n_profiles;
	profiles[last] = profiles[k];
	n = identify_answers(&src, profiles, last + 1, all, last + 1);
	if (n < 0 || (size_t)n > last + 1)
		abort();
	for (i = 0; i < (size_t)n; i++) {
		if (all[i].profile > last || all[i].score == 0 ||
		    all[i].score > profiles[all[i].profile].n_points)
			abort();
		if (i > 0 && (all[i].score > all[i - 1].score ||
		    (all[i].score == all[i - 1].score &&
		    all[i].profile <= all[i - 1].profile)))
			abort();
	}
	if (score_of(all, (size_t)n, last) != score_of(all, (size_t)n, k))
		abort();
	/*
	 * A capped list is the full one's head; for half the inputs only: a
	 * second identification costs as much as the first (each allocates
	 * the 768 kB image and plans every profile again).
	 */
	if (data[size - 1] & 0x80) {
		cap = data[size - 1] % 4;
		if (identify_answers(&src, profiles, last + 1, head, cap) != n)
			abort();
		for (i = 0; i < cap && i < (size_t)n; i++)
			if (head[i].profile != all[i].profile ||
			    head[i].score != all[i].score)
				abort();
	}
	/* What scan prints of the best fit: one line of printable ASCII. */
	for (i = 0; n > 0 && i < profiles[all[0].profile].n_info; i++) {
		p = &profiles[all[0].profile];
		if (identify_read_info(&src, p, i, s, sizeof(s)) < 0)
			continue;
		if (strlen(s) > 2u * p->info[i].len)
			abort();
		for (k = 0; s[k] != '\0'; k++)
			if (s[k] < 0x20 || s[k] > 0x7e)
				abort();
	}
	return 0;
}
