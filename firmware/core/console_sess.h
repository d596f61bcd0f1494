/*
 * Console sessions that outlive the daemon (docs/console.md "Login"): a
 * login gives the client a random token; the daemon keeps only its SHA-256,
 * who logged in and when the session ends, in "console.sessions" beside the
 * store (0600, replaced whole), so that `resume TOKEN` works after a
 * restart (config apply restarts the daemon through exec).
 *
 * A session lasts 12 h from its login, timed by CLOCK_BOOTTIME and bound to
 * this boot (the kernel's boot id): neither an unsynchronised wall clock
 * nor an NTP step moves its end, and a reboot ends every session. At most
 * SESS_MAX are kept; a new one pushes the oldest out.
 */
#ifndef WG_CONSOLE_SESS_H
#define WG_CONSOLE_SESS_H

#include <stddef.h>
#include <stdint.h>

#define SESS_MAX	8
#define SESS_TOKEN_LEN	16
#define SESS_HASH_LEN	32
#define SESS_WHO_MAX	160
#define SESS_TTL_MS	(12LL * 3600 * 1000)
#define SESS_BOOT_MAX	40	/* a boot id: 36 characters */
#define SESS_PW_LEN	16	/* hex digits of a password's fingerprint */

struct sess {
	uint8_t hash[SESS_HASH_LEN];	/* SHA-256 of the token */
	char who[SESS_WHO_MAX + 1];
	int64_t exp_boot;		/* CLOCK_BOOTTIME ms */
	int64_t exp_wall;		/* unix s, for people (not judged) */
	char pw[SESS_PW_LEN + 1];	/* the password it began under; "": a key */
};

struct sessions {
	char path[4096];
	char boot[SESS_BOOT_MAX + 1];
	struct sess s[SESS_MAX];	/* oldest first */
	size_t n;
};

/*
 * The sessions kept beside the store path store; those of another boot or
 * past their end are dropped. A file that cannot be read or is damaged
 * leaves none (logged): nobody resumes by what cannot be trusted.
 * 0, or -ENAMETOOLONG.
 */
int sessions_load(struct sessions *ss, const char *store);

/*
 * A new session for who (pw: the password's fingerprint, or "") from the
 * random token, kept on disk before it returns. 0, or -errno (the file
 * could not be written: the session works until the daemon restarts).
 */
int sessions_add(struct sessions *ss, const uint8_t token[SESS_TOKEN_LEN],
    const char *who, const char *pw, int64_t now_boot, int64_t now_wall);

/* The session of token: its index; -ENOENT (none, or ended). */
int sessions_find(struct sessions *ss, const uint8_t token[SESS_TOKEN_LEN],
    int64_t now_boot);

/* The session whose token hashes to hash ends (logout). 0, -ENOENT, -errno. */
int sessions_remove(struct sessions *ss, const uint8_t hash[SESS_HASH_LEN]);

/* SHA-256 of a token. */
void sessions_hash(const uint8_t token[SESS_TOKEN_LEN],
    uint8_t hash[SESS_HASH_LEN]);

#endif
