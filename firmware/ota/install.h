/*
 * The download and install of an update (issue 15, docs/ota.md "Install"):
 * one worker thread per update, off the event loop, which
 *   - fetches the image chunk by chunk (fetch.h), each chunk kept in memory
 *     until its SHA-256 matches the manifest's, so a dropped link resumes at
 *     the byte it stopped at and a bad server never gets a byte into the slot;
 *   - writes each verified chunk to the inactive slot and fdatasyncs it
 *     before saying so (the loop then records the progress in the store: a
 *     power cut resumes at the last chunk recorded);
 *   - reads the whole image back from the slot and checks the manifest's
 *     hash before anything may point at it.
 * It never touches the store or the boot environment: it reports events the
 * loop reads from an eventfd (ota_worker_fd), and the loop decides.
 */
#ifndef WG_OTA_INSTALL_H
#define WG_OTA_INSTALL_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "firmware/codec/manifest.h"

struct ota_install_cfg {
	struct manifest m;		/* parsed and verified by the caller */
	char url[1024];
	uint64_t offset;		/* where the image starts in url's resource */
	char slot[PATH_MAX];		/* the inactive slot: a file or a partition */
	uint64_t slot_size;
	size_t first_chunk;		/* chunks before it are in the slot already */
	char ca[PATH_MAX];		/* the server's CA ("" : the system's) */
	char psk[PATH_MAX];		/* coaps://: the PSK file ("" : none) */
	uint64_t rate_bps;		/* 0: no limit */
	int allow_http;			/* tests only */
	unsigned retries;		/* transient failures in a row before giving up */
};

enum ota_ev_kind {
	OTA_EV_CHUNK,		/* chunk .chunk is in the slot, synced */
	OTA_EV_RETRY,		/* a transient failure; .why; trying again */
	OTA_EV_VERIFIED,	/* the whole slot read back matches the manifest */
	OTA_EV_FAILED,		/* .why; .rc: -EPERM the bundle or server is bad,
				   -EIO the slot failed, -ECANCELED cancelled */
};

struct ota_ev {
	enum ota_ev_kind kind;
	size_t chunk;
	uint64_t fetched;	/* bytes fetched from the server so far, all tries */
	int rc;
	char why[320];
};

struct ota_worker;

/* Starts the thread. 0 or -errno. */
int ota_worker_start(const struct ota_install_cfg *cfg, struct ota_worker **out);
/* Readable when events wait. */
int ota_worker_fd(const struct ota_worker *w);
/* The next event: 0, or -EAGAIN when none waits. */
int ota_worker_next(struct ota_worker *w, struct ota_ev *ev);
/* Asks it to stop (it ends with OTA_EV_FAILED, -ECANCELED). */
void ota_worker_cancel(struct ota_worker *w);
/* Cancels, joins, frees. NULL is fine. */
void ota_worker_free(struct ota_worker *w);

/* SHA-256 of the first len bytes of the file at path: 0 or -errno. */
int ota_hash_file(const char *path, uint64_t len, uint8_t out[32]);

#endif
