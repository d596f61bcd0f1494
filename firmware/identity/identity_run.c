/*
 * The identity as the daemon and the technician see it: a site config names
 * the key file ("identity_key", docs/config.md); the daemon makes sure it
 * exists before anything connects, `wattgate --identity` prints the CSR.
 * Neither ever prints or logs the key itself, only its path and fingerprint.
 */
#include "firmware/identity/identity.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "firmware/core/config.h"
#include "firmware/base/log.h"

static int
check_and_log(const struct site_config *c)
{
	struct identity *id;
	char err[512];
	int rc;

	if ((rc = identity_load_or_create(c->identity_key, &id, err,
	    sizeof(err))) < 0) {
		log_warnx("identity: %s; running without a device identity", err);
		return rc;
	}
	log_info("identity: %s %s, fingerprint sha256:%s",
	    identity_created(id) ? "created" : "loaded", c->identity_key,
	    identity_fingerprint(id));
	identity_free(id);
	return 0;
}

/*
 * Nothing on the data path uses the key yet, so the daemon checks it in a
 * child process: the mbedtls code that parses and generates keys (~0.5 MB of
 * pages, measured with /proc/PID/smaps) is then touched by the child only and
 * never counts in the long-running daemon's RSS. The child inherits stderr and
 * logs its own line; the daemon is still single-threaded here, so fork is safe.
 */
int
identity_start(const struct site_config *c)
{
	pid_t pid;
	int st;

	fflush(NULL);
	if ((pid = fork()) == -1) {
		log_warn("identity: fork");
		return check_and_log(c);
	}
	if (pid == 0)
		_exit(check_and_log(c) < 0 ? 1 : 0);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR) {
			log_warn("identity: waitpid");
			return -errno;
		}
	/* 1: the child logged why; anything else is a surprise worth a line. */
	if (WIFEXITED(st) && WEXITSTATUS(st) <= 1)
		return WEXITSTATUS(st) == 0 ? 0 : -EINVAL;
	if (WIFEXITED(st)) {
		log_warnx("identity: the key check exited with status %d",
		    WEXITSTATUS(st));
		return -EINVAL;
	}
	log_warnx("identity: the key check died of signal %d; running without a "
	    "device identity", WTERMSIG(st));
	return -EINTR;
}

int
identity_print(const struct site_config *c, FILE *out, char *err, size_t errlen)
{
	struct identity *id;
	char pem[IDENTITY_CSR_MAX];
	int rc;

	if ((rc = identity_load_or_create(c->identity_key, &id, err, errlen)) < 0)
		return rc;
	if ((rc = identity_csr(id, c->gateway, pem, sizeof(pem), err, errlen)) < 0)
		goto out;
	/* A note for the technician, apart from what a script reads on stdout. */
	if (identity_created(id))
		fprintf(stderr, "wattgate: created the device key %s\n", c->identity_key);
	if (fprintf(out, "%sfingerprint: sha256:%s\n", pem,
	    identity_fingerprint(id)) < 0 || fflush(out) == EOF) {
		snprintf(err, errlen, "writing the CSR: %s", strerror(errno));
		rc = -EIO;
	}
out:
	identity_free(id);
	return rc;
}
