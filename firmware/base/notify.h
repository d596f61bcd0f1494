/*
 * The service manager's side channel (sd_notify(3)): "READY=1", "WATCHDOG=1",
 * "RELOADING=1", "STOPPING=1", "STATUS=..." as datagrams on the AF_UNIX
 * socket named by $NOTIFY_SOCKET. Written here, not taken from libsystemd:
 * the protocol is one sendto() (systemd documents it as stable), and the
 * daemon stays free of a library it would link for that alone.
 *
 * Without $NOTIFY_SOCKET (a shell, the launcher, the tests) every call is a
 * no-op. Nothing here blocks: a service manager that does not read its
 * socket loses a datagram, it does not stop the loop. The first failure is
 * logged, the later ones are not (a watchdog ping every few seconds must
 * not fill the journal).
 *
 * One socket per process, as $NOTIFY_SOCKET is: the state is this module's,
 * used from the main thread only.
 */
#ifndef WG_NOTIFY_H
#define WG_NOTIFY_H

#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>

/*
 * A $NOTIFY_SOCKET value as an address: "/path" (a file system socket,
 * at most sizeof(sun_path) - 1 bytes: its NUL is kept) or "@name" (Linux's
 * abstract namespace: sun_path[0] is NUL, the name is the rest, no
 * terminator, at most sizeof(sun_path) - 1 bytes). 0 with *sa and *len
 * set; -ENOENT for NULL or ""; -EINVAL for anything else (a relative
 * path, a bare "@"); -ENAMETOOLONG; -EAFNOSUPPORT for "vsock:..." (a
 * virtual machine's manager, systemd 254: not ours to talk to).
 */
int notify_addr(const char *name, struct sockaddr_un *sa, socklen_t *len);

/*
 * Reads $NOTIFY_SOCKET and opens the socket (close-on-exec: the SIGHUP
 * re-exec opens its own). 1: ready to send; 0: no service manager asked
 * (sends are no-ops); -errno: the variable or the socket is unusable,
 * logged, sends are no-ops.
 */
int notify_init(void);

/*
 * One message: "KEY=VALUE" lines joined by '\n'. 0: sent, or nothing to
 * send to; -errno: not sent (the first failure of the process is logged).
 */
int notify_send(const char *msg);

/*
 * The watchdog the service manager asked of this process: WATCHDOG_USEC
 * (µs, > 0) if WATCHDOG_PID is unset or names self. 1 with *usec set; 0:
 * no watchdog, or one meant for another process; -EINVAL: a value that is
 * not a number (the caller logs it).
 */
int notify_watchdog(const char *usec_env, const char *pid_env, pid_t self,
    uint64_t *usec);

/* Closes the socket; later sends are no-ops until notify_init(). */
void notify_close(void);

#endif
