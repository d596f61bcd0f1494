/*
 * Reading the files the daemon is pointed at (site config, profiles, PEM and
 * secrets files): whole, bounded, and never blocking. A path that names a
 * FIFO, a device or a directory is refused with a line that says what it is,
 * instead of hanging the caller in open() or read() (a FIFO as site config
 * once blocked `--check` for ever, and a SIGHUP blocked the event loop).
 *
 * The file is opened O_NONBLOCK (open(2) of a FIFO returns at once) and
 * checked with fstat on the descriptor that is then read, so nothing can be
 * swapped in between. Errors are one line: "PATH: WHAT".
 */
#ifndef WG_RFILE_H
#define WG_RFILE_H

#include <stddef.h>
#include <sys/stat.h>

/*
 * The whole regular file at path, at most max bytes, into a malloc'd buffer
 * with a NUL after the last byte (*len does not count it). st, if not NULL,
 * gets the descriptor's stat. 0, or -errno with err set: -EINVAL for not a
 * regular file, -EFBIG for more than max bytes, -EAGAIN for a file that grew
 * while it was read.
 */
int rfile_read(const char *path, size_t max, char **buf, size_t *len,
    struct stat *st, char *err, size_t errlen);

/* 0 if path is a regular file this process can read; else -errno, "PATH: WHAT". */
int rfile_check(const char *path, char *err, size_t errlen);

/* What a file of this mode is, for errors: "a directory", "a FIFO", ... */
const char *rfile_kind(mode_t mode);

#endif
