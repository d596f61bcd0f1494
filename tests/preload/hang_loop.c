/*
 * hang_loop: an event loop that stops turning, on cue, for the watchdog test
 * (tests/integration/test_notify.py).
 *
 *   LD_PRELOAD=tests/preload/libhang_loop.so WG_HANG_FILE=DIR/hang \
 *       wattgate -c site.json
 *
 * Once the file WG_HANG_FILE exists, the main thread's next epoll_wait (or
 * epoll_pwait) never returns: it sleeps for good, as a loop stuck in a
 * callback would. The process stays alive and its other threads (the bus
 * workers, the resolver) go on; only the thread whose id is the process id
 * hangs, so a worker that waited on epoll would be left alone too. The
 * first hang writes one line to stderr, "hang_loop: main thread hangs in
 * epoll_wait", so a test knows when it began. Without WG_HANG_FILE, or
 * before the file appears, every call goes to libc's at the cost of one
 * access() per wait.
 *
 * The daemon blocks SIGTERM and takes it from a signalfd on that loop, so
 * a hung daemon no longer stops on SIGTERM: SIGKILL (or the SIGABRT that
 * systemd's watchdog sends) ends it.
 *
 * Under AddressSanitizer the runtime wants to be first in the library
 * list: ASAN_OPTIONS=verify_asan_link_order=0, as for slow_gai.c. Built
 * with the same sanitizers as the daemon it is preloaded into.
 */
#include <dlfcn.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef int wait_fn(int, struct epoll_event *, int, int);
typedef int pwait_fn(int, struct epoll_event *, int, int, const sigset_t *);

static void
maybe_hang(void)
{
	static const char line[] = "hang_loop: main thread hangs in epoll_wait\n";
	const char *path = getenv("WG_HANG_FILE");

	if (path == NULL || syscall(SYS_gettid) != getpid() ||
	    access(path, F_OK) != 0)
		return;
	if (write(2, line, sizeof(line) - 1) < 0)
		_exit(97);
	for (;;)
		sleep(3600);
}

int
epoll_wait(int ep, struct epoll_event *evs, int max, int timeout)
{
	maybe_hang();
	return ((wait_fn *)dlsym(RTLD_NEXT, "epoll_wait"))(ep, evs, max, timeout);
}

int
epoll_pwait(int ep, struct epoll_event *evs, int max, int timeout,
    const sigset_t *mask)
{
	maybe_hang();
	return ((pwait_fn *)dlsym(RTLD_NEXT, "epoll_pwait"))(ep, evs, max,
	    timeout, mask);
}
