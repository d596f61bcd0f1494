/*
 * What the codec's parsers share for their refusals: the one-line error
 * "WHO: WHAT" (bounded, always NUL-terminated) and the character-set test
 * of the signed formats' names (commands, technician credentials).
 */
#ifndef WG_CODEC_ERR_H
#define WG_CODEC_ERR_H

#include <stdarg.h>
#include <stddef.h>

/* "who: " and fmt's text into err (when errlen > 0); returns rc. */
int codec_vfail(char *err, size_t errlen, const char *who, int rc,
    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

/* 1 if s is 1..max bytes, each in set (so no NUL, and only ASCII if set is). */
int codec_in_set(const char *s, size_t n, size_t max, const char *set);

#endif
