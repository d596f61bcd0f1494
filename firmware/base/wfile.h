/*
 * Writing the small state files the daemon keeps beside its store (a fleet
 * config on trial, an update's job) so that a power cut leaves either the
 * old file or the new one, whole: a temporary file, fsync, rename over the
 * old one, fsync of the directory.
 */
#ifndef WG_WFILE_H
#define WG_WFILE_H

#include <stddef.h>

#include <sys/types.h>

/* All len bytes at off (pwrite, EINTR and short writes handled): 0 or -errno. */
int wfile_pwrite_all(int fd, const void *buf, size_t len, off_t off);
/* len bytes of buf as path's new content. 0 or -errno (the old file stays). */
int wfile_replace(const char *path, const void *buf, size_t len);
/* path gone, and the directory synced: 0, also if it was not there, or -errno. */
int wfile_remove(const char *path);
/* The directory path is in, fsynced (a rename or unlink made durable): 0 or -errno. */
int wfile_sync_dir(const char *path);

#endif
