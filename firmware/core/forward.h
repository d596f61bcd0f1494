/*
 * The forwarder: store -> uplink. Sends stored batches oldest first through a
 * window of in-flight batches, deletes each from the store when acknowledged, and
 * after any disconnect starts again from the oldest unacknowledged one (the
 * receiver drops the duplicates by (gateway, seq)).
 */
#ifndef WG_FORWARD_H
#define WG_FORWARD_H

#include "firmware/base/resolve.h"
#include "firmware/core/config.h"
#include "firmware/store/store.h"
#include "firmware/uplink/uplink.h"

struct forward;

/*
 * The uplink is the one the site config chose (config_uplink); it resolves
 * the platform's name through res. 0 or -errno.
 */
int forward_start(struct loop *l, struct resolver *res,
    const struct site_config *cfg, struct store *st, struct forward **out);
/* New batches are in the store. */
void forward_kick(struct forward *f);
/* Report counters (a JSON object): sent now if connected, else at the next up. */
void forward_metrics(struct forward *f, const char *json);
/* 1 while the uplink is connected: what is committed now goes out live. */
int forward_connected(const struct forward *f);
/*
 * A batch held in memory (store refusing writes) sent live now, with
 * BATCH_F_VOLATILE and seq 0. 1 if it went, 0 if not now. Not resent.
 */
int forward_send_volatile(struct forward *f, const struct store_batch *b);

/*
 * The control plane's side of the uplink (control.c): the link's ups and
 * downs, command frames as they arrive, result records acknowledged.
 */
struct forward_control {
	void (*up)(void *arg);
	void (*down)(void *arg);
	void (*command)(void *arg, const uint8_t *frame, size_t len);
	void (*result_acked)(void *arg, uint64_t r);
	void *arg;
};

void forward_set_control(struct forward *f, const struct forward_control *c);
/* A result record (its "r" is r) to the platform: UPLINK_OK, RETRY, ERROR. */
enum uplink_result forward_send_result(struct forward *f, const char *json,
    uint64_t r);

struct forward_counts {
	uint64_t sent, acked, errors;	/* errors: batches set aside (kept stored) */
	uint64_t splits;	/* batches split because the platform wanted them smaller */
};

void forward_counts(const struct forward *f, struct forward_counts *c);
/* Batches handed to the uplink and not acknowledged yet (the console). */
unsigned forward_inflight(const struct forward *f);
void forward_stop(struct forward *f);

#endif
