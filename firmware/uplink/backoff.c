#include "firmware/uplink/backoff.h"

#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/*
 * Identical images booting after the same power cut have the same pid and
 * clock: seed the jitter from the kernel's entropy instead.
 */
static void
seed_jitter(void)
{
	static int seeded;
	unsigned seed;

	if (seeded)
		return;
	seeded = 1;
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != sizeof(seed))
		seed = (unsigned)time(NULL) ^ (unsigned)getpid();
	srand(seed);
}

void
backoff_init(struct backoff *b)
{
	b->ms = BACKOFF_MIN_MS;
	b->quick_left = 0;
	seed_jitter();
}

int64_t
backoff_next(struct backoff *b, int64_t up_ms)
{
	int64_t delay;

	int64_t max = BACKOFF_MAX_MS;

	if (up_ms >= BACKOFF_STABLE_MS) {
		b->ms = BACKOFF_MIN_MS;
		b->quick_left = BACKOFF_QUICK_WINDOW_MS;
	} else if (up_ms > 0) {
		/* Back, but dropped again at once: an overloaded platform, not one
		 * that restarts. No more quick retries for it. */
		b->quick_left = 0;
	}
	delay = b->ms / 2 + rand() % (b->ms / 2 + 1);
	if (b->quick_left > 0) {
		b->quick_left -= delay;
		if (b->quick_left > 0)
			max = BACKOFF_QUICK_MS;
	}
	b->ms = b->ms * 2 > max ? max : b->ms * 2;
	return delay;
}
