/*
 * The parts of the cut_io preload (cut_io.c says what it does): cut_io.c
 * (its start, paths, descriptors, the shared count), cut_io_undo.c (the
 * undo log and the cut) and cut_io_calls.c (the calls it interposes).
 * Nothing here is exported from the module: only the interposed calls are.
 */
#ifndef WG_CUT_IO_H
#define WG_CUT_IO_H

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>


#pragma GCC visibility push(hidden)

#define MAX_FD		4096
#define MAX_PREFIX	8

struct shared {
	atomic_uint init;		/* 0, 1 (being set up), 2 */
	pthread_mutex_t mu;
	atomic_ullong count;
	atomic_uint cut;
};

enum kind { K_DATA = 1, K_SYNC, K_SYNC_ALL, K_CREATE, K_UNLINK, K_RMDIR,
	K_RENAME };

/* A record of the undo log; path, path2 and data follow it. */
struct rec {
	uint32_t kind;
	uint32_t path_len, path2_len;
	uint32_t stashed;		/* K_UNLINK, K_RENAME: a stash exists */
	uint64_t dev, ino;		/* K_DATA/K_SYNC: the file; else its dir */
	int64_t off, old_size;
	uint64_t data_len;
	uint64_t stash_id;
};

struct cut_state {
	int active, undo;
	char prefix[MAX_PREFIX][PATH_MAX];
	size_t n_prefix;
	unsigned long long at;
	char counter[PATH_MAX - 64], log[PATH_MAX], trace[PATH_MAX];
	struct shared *sh;
	int undo_fd;
	pid_t pid;
	uint64_t stash_seq;
	char *fd_path[MAX_FD];
};

extern struct cut_state cut_io_g;
#define g cut_io_g

/* real_NAME: the next definition of NAME (libc's); bind_NAME() finds it. */
#define REAL(ret, name, ...) \
	static ret (*real_##name)(__VA_ARGS__); \
	__attribute__((unused)) static void bind_##name(void) { \
		if (real_##name == NULL) \
			*(void **)&real_##name = dlsym(RTLD_NEXT, #name); \
	}

/* cut_io.c */
int sys_open(const char *path, int flags, mode_t mode);
ssize_t sys_write(int fd, const void *p, size_t n);
int sys_rename(const char *from, const char *to);
void sys_close(int fd);
/* path (relative to dirfd) made absolute and normalised into out: 0 or -1. */
int resolve(int dirfd, const char *path, char *out);
int tracked(const char *abs);
void dir_of(const char *path, char *out);
void lock(void);
void unlock(void);
void say(const char *file, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int count(const char *op, const char *path);
const char *fd_path(int fd);
void fd_set_path(int fd, const char *abs);

/* cut_io_undo.c */
int stash(const char *path, uint64_t *id);
void put_ns(enum kind k, const char *path, const char *path2, int stashed,
    uint64_t id);
void put_sync(int fd, enum kind k);
void put_data(int fd, const char *path, off_t off, uint64_t len);
__attribute__((noreturn)) void cut(const char *op, const char *path,
    unsigned long long n);

#pragma GCC visibility pop

#endif
