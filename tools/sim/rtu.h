/*
 * Modbus RTU front end on a pseudo-terminal: the gateway opens a symlink to the
 * pty's slave side as if it were an RS-485 port; the simulator serves on the
 * master side, answering every unit id it simulates.
 */
#ifndef WG_SIM_RTU_H
#define WG_SIM_RTU_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "tools/sim/frame.h"
#include "tools/sim/sim.h"

#define RTU_SILENCE_MS	5	/* flush an unfinished frame after this gap */

struct rtu {
	int master, slave;
	int notify;		/* inotify on the slave: opens and closes */
	char link[PATH_MAX];	/* the symlink we made */
	char pts[64];		/* what it points to: /dev/pts/N */
};

/*
 * Create the pty and point the symlink link at its slave, replacing a stale
 * symlink (never a file that is not a symlink). Returns 0 or -errno with one
 * line in err.
 */
int rtu_open(const char *link, struct rtu *r, char *err, size_t errlen);

/* Serve until *stop is set; same contract as tcp_serve(). */
int rtu_serve(struct sim *s, struct rtu *r, const sigset_t *mask,
    volatile sig_atomic_t *stop);

/*
 * The RTU framing itself, on any byte stream (the pty here, a socket in
 * rtutcp.c): the bytes read so far that did not make a frame yet.
 */
struct rtu_rx {
	uint8_t buf[2 * FRAME_ADU_MAX];
	size_t len;
};

/* Answer every whole frame in rx on fd, dropping the noise before each. */
void rtu_rx_frames(struct sim *s, int fd, struct rtu_rx *rx);

/* The line was silent for RTU_SILENCE_MS: the frame in rx is over, whatever it was. */
void rtu_rx_silence(struct sim *s, int fd, struct rtu_rx *rx);

/* Close the pty and remove the symlink if it still points to our pty. */
void rtu_close(struct rtu *r);

#endif
