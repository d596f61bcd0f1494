/*
 * Console sessions kept beside the store (console_sess.h).
 *
 *   {"v":1,"boot":BOOT_ID,"sessions":[{"hash":HEX64,"who":WHO,
 *    "exp_boot":MS,"exp":UNIX_S,"pw":HEX16},...]}
 *
 * Only the token's SHA-256 is written: the file (0600, but on a card a
 * technician might take out) never holds what resumes a session.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/constant_time.h>
#include <mbedtls/md.h>

#include "firmware/base/clock.h"
#include "firmware/base/jcheck.h"
#include "firmware/base/log.h"
#include "firmware/base/wfile.h"
#include "firmware/codec/techcred.h"
#include "firmware/core/console_pw.h"
#include "firmware/core/console_sess.h"

#define SESS_FILE_MAX	(16 * 1024)

void
sessions_hash(const uint8_t token[SESS_TOKEN_LEN], uint8_t hash[SESS_HASH_LEN])
{
	mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), token,
	    SESS_TOKEN_LEN, hash);
}

static int
save(struct sessions *ss)
{
	json_t *o = json_object(), *a = json_array();
	char hash[2 * SESS_HASH_LEN + 1], *text = NULL;
	size_t i;
	int rc = -ENOMEM;

	if (o == NULL || a == NULL)
		goto out;
	for (i = 0; i < ss->n; i++) {
		techcred_hex(ss->s[i].hash, SESS_HASH_LEN, hash);
		json_array_append_new(a, json_pack("{s:s,s:s,s:I,s:I,s:s}", "hash",
		    hash, "who", ss->s[i].who, "exp_boot",
		    (json_int_t)ss->s[i].exp_boot, "exp",
		    (json_int_t)ss->s[i].exp_wall, "pw", ss->s[i].pw));
	}
	json_object_set_new(o, "v", json_integer(1));
	json_object_set_new(o, "boot", json_string(ss->boot));
	json_object_set(o, "sessions", a);
	if ((text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		goto out;
	rc = wfile_replace(ss->path, text, strlen(text));
	if (rc < 0)
		log_warnx("console: %.200s: %s: sessions will not survive a "
		    "restart", ss->path, strerror(-rc));
out:
	free(text);
	json_decref(a);
	json_decref(o);
	return rc;
}

/* One entry, strictly: anything odd drops the whole file (the caller). */
static int
read_one(json_t *e, struct sess *s)
{
	static const char *const known[] = { "hash", "who", "exp_boot", "exp",
	    "pw", NULL };
	struct jc x = { .file = "console.sessions" };
	const char *h;
	long long v;

	memset(s, 0, sizeof(*s));
	if (jc_object(&x, e, "s") < 0 || jc_check_keys(&x, e, "s", known) < 0 ||
	    (h = json_string_value(json_object_get(e, "hash"))) == NULL ||
	    techcred_unhex(h, strlen(h), s->hash, SESS_HASH_LEN) < 0 ||
	    jc_get_str(&x, e, "s", "who", JC_REQUIRED, s->who,
	    sizeof(s->who)) != 0 ||
	    jc_get_str(&x, e, "s", "pw", JC_REQUIRED | JC_EMPTY_OK, s->pw,
	    sizeof(s->pw)) != 0 ||
	    jc_get_int(&x, e, "s", "exp_boot", 1, 0, INT64_MAX, &v) != 0)
		return -EINVAL;
	s->exp_boot = v;
	if (jc_get_int(&x, e, "s", "exp", 1, 0, INT64_MAX, &v) != 0)
		return -EINVAL;
	s->exp_wall = v;
	return 0;
}

int
sessions_load(struct sessions *ss, const char *store)
{
	char why[256];
	struct jc x = { .file = ss->path, .err = why, .errlen = sizeof(why) };
	struct sess s;
	json_t *root = NULL, *a, *e;
	const char *boot;
	size_t i;
	int rc;

	memset(ss, 0, sizeof(*ss));
	clock_boot_id(ss->boot, sizeof(ss->boot));
	if ((rc = console_state_path(store, CONSOLE_SESSIONS_FILE, ss->path,
	    sizeof(ss->path))) < 0)
		return rc;
	if (access(ss->path, F_OK) != 0)
		return 0;
	if (jc_load(&x, SESS_FILE_MAX, &root) < 0) {
		log_warnx("console: %s; no session is resumed", why);
		return 0;
	}
	boot = json_string_value(json_object_get(root, "boot"));
	a = json_object_get(root, "sessions");
	if (boot == NULL || !json_is_array(a)) {
		log_warnx("console: %.200s: damaged; no session is resumed",
		    ss->path);
		goto out;
	}
	/* Another boot: every session of it ended with it. */
	if (strcmp(boot, ss->boot) != 0 || ss->boot[0] == '\0')
		goto out;
	json_array_foreach(a, i, e) {
		if (read_one(e, &s) < 0) {
			log_warnx("console: %.200s: session %zu damaged; no session "
			    "is resumed", ss->path, i);
			ss->n = 0;
			goto out;
		}
		if (ss->n < SESS_MAX)
			ss->s[ss->n++] = s;
	}
out:
	json_decref(root);
	return 0;
}

int
sessions_add(struct sessions *ss, const uint8_t token[SESS_TOKEN_LEN],
    const char *who, const char *pw, int64_t now_boot, int64_t now_wall,
    int64_t ttl_ms)
{
	struct sess *s;
	size_t i, w;

	if (ttl_ms <= 0 || ttl_ms > SESS_TTL_MS)
		ttl_ms = SESS_TTL_MS;

	/* Ended ones go first; then, if still full, the oldest. */
	for (i = w = 0; i < ss->n; i++)
		if (ss->s[i].exp_boot > now_boot)
			ss->s[w++] = ss->s[i];
	ss->n = w;
	if (ss->n == SESS_MAX) {
		memmove(&ss->s[0], &ss->s[1], (SESS_MAX - 1) * sizeof(ss->s[0]));
		ss->n--;
	}
	s = &ss->s[ss->n++];
	memset(s, 0, sizeof(*s));
	sessions_hash(token, s->hash);
	snprintf(s->who, sizeof(s->who), "%s", who);
	snprintf(s->pw, sizeof(s->pw), "%s", pw);
	s->exp_boot = now_boot + ttl_ms;
	s->exp_wall = (now_wall + ttl_ms) / 1000;
	return save(ss);
}

int
sessions_find(struct sessions *ss, const uint8_t token[SESS_TOKEN_LEN],
    int64_t now_boot)
{
	uint8_t hash[SESS_HASH_LEN];
	int found = -ENOENT;
	size_t i;

	sessions_hash(token, hash);
	/* Every entry compared, in constant time: a timing says nothing. */
	for (i = 0; i < ss->n; i++)
		if (mbedtls_ct_memcmp(hash, ss->s[i].hash, SESS_HASH_LEN) == 0 &&
		    ss->s[i].exp_boot > now_boot)
			found = (int)i;
	return found;
}

int
sessions_remove(struct sessions *ss, const uint8_t hash[SESS_HASH_LEN])
{
	size_t i;

	for (i = 0; i < ss->n; i++)
		if (memcmp(hash, ss->s[i].hash, SESS_HASH_LEN) == 0)
			break;
	if (i == ss->n)
		return -ENOENT;
	memmove(&ss->s[i], &ss->s[i + 1], (ss->n - i - 1) * sizeof(ss->s[0]));
	ss->n--;
	return save(ss);
}
