/*
 * Fault specs. One syntax for the command line (--fault) and the fault file, so
 * a test switches a fault on at start or at run time in the same words.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/sim/fault.h"

static const char *const names[] = {
	[FAULT_NONE] = "none",
	[FAULT_SILENT] = "silent",
	[FAULT_LATE] = "late",
	[FAULT_CRC] = "crc",
	[FAULT_EXCEPTION] = "exception",
	[FAULT_GARBAGE] = "garbage",
	[FAULT_UNIT] = "unit",
	[FAULT_PROTOCOL] = "protocol",
	[FAULT_IGNORE_LIMIT] = "ignore-limit",
	[FAULT_CLAMP] = "clamp",
	[FAULT_REFUSE_WRITE] = "refuse-write",
	[FAULT_STATE] = "state",
	[FAULT_CAR] = "car",
};

/* The argument a mode takes: its range and how the error names it. */
static const struct {
	unsigned lo, hi;
	const char *what;
} args[] = {
	[FAULT_LATE] = { 1, FAULT_LATE_MS_MAX, "MS (1..60000)" },
	[FAULT_EXCEPTION] = { 1, 255, "CODE (1..255)" },
	[FAULT_UNIT] = { 0, 255, "ID (0..255)" },
	[FAULT_PROTOCOL] = { 1, 65535, "ID (1..65535)" },
	[FAULT_CLAMP] = { 1, FAULT_AMPS_MAX, "AMPS (1..80)" },
	[FAULT_CAR] = { 1, FAULT_AMPS_MAX, "AMPS (1..80)" },
};

const char *
fault_name(enum fault_mode m)
{
	return m <= FAULT_LAST ? names[m] : "?";
}

/* A decimal number lo..hi spanning exactly [s, end). */
static int
number(const char *s, const char *end, unsigned lo, unsigned hi, unsigned *out)
{
	unsigned long v = 0;

	if (s == end || end - s > 7)
		return -EINVAL;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*s - '0');
	}
	if (v < lo || v > hi)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

int
fault_parse(const char *spec, unsigned *unit, struct fault *f, char *err,
    size_t errlen)
{
	const char *mode, *arg, *slash, *end;
	size_t mlen;
	int m;

	memset(f, 0, sizeof(*f));
	end = spec + strlen(spec);
	if ((mode = strchr(spec, ':')) == NULL ||
	    number(spec, mode, 1, 247, unit) != 0) {
		snprintf(err, errlen, "'%s': expected UNIT:MODE, unit 1..247",
		    spec);
		return -EINVAL;
	}
	mode++;
	if ((slash = strchr(mode, '/')) != NULL) {
		if (number(slash + 1, end, 1, FAULT_EVERY_MAX, &f->every) != 0) {
			snprintf(err, errlen, "'%s': /N must be 1..%d", spec,
			    FAULT_EVERY_MAX);
			return -EINVAL;
		}
		end = slash;
	}
	arg = memchr(mode, ':', (size_t)(end - mode));
	mlen = (size_t)((arg != NULL ? arg : end) - mode);
	for (m = FAULT_NONE; m <= FAULT_LAST; m++)
		if (strlen(names[m]) == mlen && memcmp(mode, names[m], mlen) == 0)
			break;
	if (mlen == 12 && memcmp(mode, "intermittent", 12) == 0) {
		if (slash != NULL || arg == NULL ||
		    number(arg + 1, end, 1, FAULT_EVERY_MAX, &f->every) != 0) {
			snprintf(err, errlen, "'%s': intermittent:N, N 1..%d",
			    spec, FAULT_EVERY_MAX);
			return -EINVAL;
		}
		f->mode = FAULT_SILENT;
		return 0;
	}
	if (m > FAULT_LAST) {
		snprintf(err, errlen, "'%s': unknown mode (none, silent, late:MS, "
		    "crc, exception:CODE, garbage, unit:ID, protocol:ID, "
		    "intermittent:N, ignore-limit, clamp:AMPS, refuse-write, "
		    "state:A..F, car:AMPS)", spec);
		return -EINVAL;
	}
	f->mode = (enum fault_mode)m;
	if (FAULT_IS_CHARGER(m) && m != FAULT_REFUSE_WRITE && slash != NULL) {
		snprintf(err, errlen, "'%s': %s holds until changed; no /N", spec,
		    names[m]);
		return -EINVAL;
	}
	if (m == FAULT_STATE) {
		if (arg == NULL || end - arg != 2 || arg[1] < 'A' ||
		    arg[1] > 'F') {
			snprintf(err, errlen, "'%s': state needs :A..F (IEC 61851)",
			    spec);
			return -EINVAL;
		}
		f->arg = (unsigned)(arg[1] - 'A' + 1);
		return 0;
	}
	if ((size_t)m < sizeof(args) / sizeof(args[0]) && args[m].what != NULL) {
		if (arg == NULL || number(arg + 1, end, args[m].lo, args[m].hi,
		    &f->arg) != 0) {
			snprintf(err, errlen, "'%s': %s needs :%s", spec,
			    names[m], args[m].what);
			return -EINVAL;
		}
	} else if (arg != NULL) {
		snprintf(err, errlen, "'%s': %s takes no argument", spec,
		    names[m]);
		return -EINVAL;
	}
	return 0;
}

int
fault_fires(struct fault *f)
{
	if (f->mode == FAULT_NONE)
		return 0;
	if (f->every <= 1)
		return 1;
	f->seen++;
	if (f->seen < f->every)
		return 0;
	f->seen = 0;
	return 1;
}
