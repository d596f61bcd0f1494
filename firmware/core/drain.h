/*
 * One drain of the backlog, from link-up to the acknowledgement of its last
 * batch, and the live batches acknowledged meanwhile: logged when it ends, so
 * the cost of a drain for live data is visible in the field (and in
 * tools/bench). Statistics only: the forwarder (forward.c) decides what goes.
 */
#ifndef WG_DRAIN_H
#define WG_DRAIN_H

#include <stddef.h>
#include <stdint.h>

struct drain {
	int active;
	int64_t started;	/* CLOCK_MONOTONIC ms */
	int64_t started_wall, ended_wall;
	uint64_t readings, batches, bytes;
	/*
	 * Live batches polled or acknowledged during the drain; reported once the
	 * first live batch polled after it is acknowledged.
	 */
	int watch;
	uint64_t live;
	int64_t live_max_ms;	/* their worst poll -> PUBACK */
	int64_t live_ms[64];	/* and the first 64 of them, for percentiles */
};

/* The link is up: a drain begins if there is a backlog (t0: monotonic ms). */
void drain_start(struct drain *d, int has_backlog, int64_t t0);
/* A backlog batch of len bytes went out. */
void drain_sent(struct drain *d, size_t len);
/* A backlog batch of n readings was acknowledged. */
void drain_backlog_acked(struct drain *d, uint32_t n);
/* A live batch polled at t_first (wall ms) was acknowledged ms after it. */
void drain_live_acked(struct drain *d, int64_t t_first, int64_t ms);
/* Nothing of the backlog is left to send or in flight: log the drain. */
void drain_end(struct drain *d);

/* CLOCK_REALTIME in ms. */
int64_t drain_wall_ms(void);

#endif
