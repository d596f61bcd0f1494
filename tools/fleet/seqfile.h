/*
 * The fleet's per-gateway command sequence (docs/commands.md): DIR/seq/<gw>
 * holds the last seq signed for that gateway, one decimal line. A seq must
 * never be used twice (the gateway refuses one not above the last it
 * applied), so the next one is written to disk, synced, before the caller
 * signs or sends anything with it; a crash then loses a number, never
 * repeats one. Concurrent signers are serialised by flock on
 * DIR/seq/<gw>.lock (the seq file itself is replaced by rename).
 */
#ifndef WG_FLEET_SEQFILE_H
#define WG_FLEET_SEQFILE_H

#include <stddef.h>
#include <stdint.h>

/* The next seq for gw (1 if none yet) into *seq, already on disk. 0 or -errno. */
int seqfile_next(const char *dir, const char *gw, uint64_t *seq, char *err,
    size_t errlen);

#endif
