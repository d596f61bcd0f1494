/*
 * Command frames that arrive while the daemon stops or restarts (a config
 * trial's switch, a rollback, SIGTERM). The broker counts them delivered
 * (libmosquitto acknowledges a QoS 1 message before our callback sees it),
 * so dropping them would lose a command the fleet believes sent. They are
 * kept beside the store, each in its own file written durably, and the next
 * run judges them first, in the order they came: an unsigned or replayed
 * frame is refused then as it would have been at once.
 *
 * Bounded: INBOX_MAX frames; more are dropped and counted (the caller logs).
 */
#ifndef WG_INBOX_H
#define WG_INBOX_H

#include <stddef.h>
#include <stdint.h>

#define INBOX_MAX	8

/* The frame kept as the next "cmd.inbox.N" beside store: 0, -ENOSPC (full),
 * -EMSGSIZE (larger than any command frame) or -errno. */
int inbox_keep(const char *store, const uint8_t *frame, size_t len);

/* inbox_keep, and a log line that says what became of the frame. */
void inbox_keep_said(const char *store, const uint8_t *frame, size_t len);

/* Each kept frame, oldest first, to fn, then removed. The number handed. */
size_t inbox_take(const char *store,
    void (*fn)(void *arg, const uint8_t *frame, size_t len), void *arg);

#endif
