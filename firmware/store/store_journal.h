/*
 * The control plane's journal and its outbox of result records (issue 14,
 * docs/commands.md), kept in the same SQLite file as the readings: one
 * device, one fsync discipline, one place a power cut can hit.
 *
 * Every command the gateway receives gets a journal row; every state it goes
 * through (received, then one final state) adds a result record to the
 * outbox in the same transaction, and that transaction is on the card
 * (fsynced) before store_cmd_record returns. Result records are numbered (r)
 * by SQLite's AUTOINCREMENT, so a number is never handed out twice even after
 * the outbox emptied; they leave only when the platform acknowledged them
 * (store_result_ack), like batches.
 *
 * Only a command whose signature verified is found again by its id
 * (store_cmd_get): a forged frame that names a real command's id must not
 * decide that command's fate. Rejections of frames that did not verify are
 * journaled apart and bounded (STORE_CMD_UNVERIFIED_MAX rows, oldest go).
 */
#ifndef WG_STORE_JOURNAL_H
#define WG_STORE_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "firmware/store/store.h"

#define STORE_CMD_ID_MAX	64
#define STORE_CMD_TYPE_MAX	32
#define STORE_CMD_STATE_MAX	15
#define STORE_CMD_WHY_MAX	255
/* Journal rows kept: commands are replay-proof by their seq, so older rows
 * only serve a repeated id, which the seq check refuses anyway. */
#define STORE_CMD_VERIFIED_MAX		4096
#define STORE_CMD_UNVERIFIED_MAX	256

struct store_cmd {
	char id[STORE_CMD_ID_MAX + 1];	/* "" if the frame had none readable */
	int verified;			/* its signature verified */
	uint64_t seq;			/* 0 if unknown */
	char type[STORE_CMD_TYPE_MAX + 1];
	char state[STORE_CMD_STATE_MAX + 1];	/* received, applied, rejected, ... */
	char why[STORE_CMD_WHY_MAX + 1];
	int64_t at_ms;			/* this state since, unix ms */
};

/* A backend's journal (store_ops.journal); the functions below dispatch. */
struct store_journal_ops {
	int (*cmd_get)(struct store *s, const char *id, struct store_cmd *c,
	    char **result);
	int (*cmd_record)(struct store *s, const struct store_cmd *c,
	    const char *result_json, int flags, uint64_t *r);
	int (*cmd_last_seq)(struct store *s, uint64_t *seq);
	int (*cmd_open)(struct store *s, struct store_cmd *c, size_t n,
	    size_t *found);
	int (*result_peek)(struct store *s, uint64_t after, uint64_t *r,
	    char **json);
	int (*result_ack)(struct store *s, uint64_t r);
	int (*result_count)(struct store *s, uint64_t *n);
	int (*ctl_get)(struct store *s, const char *key, int64_t *v);
	int (*ctl_put)(struct store *s, const char *key, int64_t v);
	int (*cmd_recent)(struct store *s, struct store_cmd *c, size_t n,
	    size_t *found);
};

/*
 * The journal row of the verified command id: 0 with *c filled and, if
 * result is not NULL, *result its last result record (malloc'd JSON, no
 * "r"); -ENOENT if no verified command had that id; -errno.
 */
int store_cmd_get(struct store *s, const char *id, struct store_cmd *c,
    char **result);
#define STORE_CMD_ACCEPT_SEQ	1

/*
 * One transaction, fsynced before it returns if c is verified (an
 * unverified frame's rejection rides with the next commit): c's journal
 * row inserted or updated (verified commands by id), the result record
 * result_json (a JSON object without "r") appended to the outbox, and, with
 * STORE_CMD_ACCEPT_SEQ in flags, the highest accepted sequence number raised
 * to c->seq. *r gets the record's number if r is not NULL. 0 or -errno (a
 * failed sync too: then run nothing on it).
 */
int store_cmd_record(struct store *s, const struct store_cmd *c,
    const char *result_json, int flags, uint64_t *r);
/*
 * The control plane's own durable values (control_state): "created" (the
 * journal's birth, wall ms; set by the store), and what the control plane
 * keeps across restarts (a charger's failsafe in force, the fleet's limit).
 * get: 0, -ENOENT, -errno. put: one synced transaction.
 */
int store_ctl_get(struct store *s, const char *key, int64_t *v);
int store_ctl_put(struct store *s, const char *key, int64_t v);
/* The highest sequence number a command was accepted with; 0: none. */
int store_cmd_last_seq(struct store *s, uint64_t *seq);
/*
 * Verified commands still in a state that is not final ("received",
 * "applying", ...), oldest first: at most n into c; *found how many there
 * are. At start the control plane decides their end (a restart interrupted
 * them). 0 or -errno.
 */
int store_cmd_open(struct store *s, struct store_cmd *c, size_t n, size_t *found);
/*
 * The newest n journal rows (verified or not), newest first, into c: for
 * the technician's console. *found how many were filled. 0 or -errno.
 */
int store_cmd_recent(struct store *s, struct store_cmd *c, size_t n,
    size_t *found);
/*
 * The oldest result record with number > after: 0 with *r and *json
 * ("{"r":N,...}", malloc'd); -ENOENT if none; -errno.
 */
int store_result_peek(struct store *s, uint64_t after, uint64_t *r, char **json);
/* The platform has record r: deleted now (a small transaction; results are rare). */
int store_result_ack(struct store *s, uint64_t r);
/* Records waiting in the outbox. */
int store_result_count(struct store *s, uint64_t *n);

#endif
