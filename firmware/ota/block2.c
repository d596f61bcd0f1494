/* Block2 answers against their requests (block2.h). */
#include "firmware/ota/block2.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

static int __attribute__((format(printf, 3, 4)))
bad(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && len > 0) {
		va_start(ap, fmt);
		vsnprintf(why, len, fmt, ap);
		va_end(ap);
	}
	return -EPERM;
}

int
block2_check(uint64_t pos, uint64_t to, uint32_t num, unsigned szx,
    const struct block2_answer *a, size_t *skip, size_t *n,
    unsigned *next_szx, char *why, size_t len)
{
	uint64_t asked = (uint64_t)num << (szx + 4), at, end, bs;
	uint32_t anum = a->num;
	unsigned aszx = a->szx;
	int more = a->more;

	if (!a->has_block) {
		/* The whole resource in one answer: only to block 0. */
		if (num != 0)
			return bad(why, len, "no Block2 in the answer to block %"
			    PRIu32, num);
		anum = 0;
		more = 0;
		aszx = szx;
	} else if (aszx > szx)
		return bad(why, len, "block size %u for a request of %u",
		    aszx == 7 ? 0 : 1u << (aszx + 4), 1u << (szx + 4));
	bs = (uint64_t)1 << (aszx + 4);
	at = (uint64_t)anum << (aszx + 4);
	if (at != asked)
		return bad(why, len, "block %" PRIu32 " of %" PRIu64 " bytes (byte %"
		    PRIu64 ") for block %" PRIu32 " of %u (byte %" PRIu64 ")",
		    anum, bs, at, num, 1u << (szx + 4), asked);
	if ((a->has_block || num != 0) && ((more && a->len != bs) ||
	    a->len > bs))
		return bad(why, len, "block %" PRIu32 ": %zu bytes in a block of %"
		    PRIu64 "%s", anum, a->len, bs, more ? " with more to come" :
		    "");
	end = at + a->len;
	if (a->has_size2 && a->size2 < to)
		return bad(why, len, "Size2 %" PRIu64 ": the resource ends before "
		    "the range's end %" PRIu64, a->size2, to);
	if (a->has_size2 && (end > a->size2 || (more && end >= a->size2)))
		return bad(why, len, "sent more than the %" PRIu64 " bytes "
		    "announced (block %" PRIu32 " ends at %" PRIu64 "%s)",
		    a->size2, anum, end, more ? ", more to come" : "");
	if (!more && end < to)
		return bad(why, len, "the resource ends at byte %" PRIu64 ", "
		    "before the range's end %" PRIu64, end, to);
	if (end <= pos || pos < at)
		return bad(why, len, "block %" PRIu32 " holds no byte from %"
		    PRIu64, anum, pos);
	/* The head before pos, the tail past to: not ours. */
	*skip = (size_t)(pos - at);
	*n = (size_t)((end < to ? end : to) - pos);
	*next_szx = aszx;
	return 0;
}
