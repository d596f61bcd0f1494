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

#include "firmware/core/config.h"
#include "firmware/core/log.h"

int
identity_start(const struct site_config *c)
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
	/* Nothing on the data path uses it yet: it does not stay in memory. */
	identity_free(id);
	return 0;
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
