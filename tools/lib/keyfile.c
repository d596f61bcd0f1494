/*
 * Key files (keyfile.h): the private half as a secrets file, the public
 * half beside it, both written once.
 */
#include "tools/lib/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "firmware/base/rfile.h"
#include "firmware/base/secret.h"

/* A public key file is small; anything larger is not one. */
#define PUB_FILE_MAX	(64 * 1024)

int
keyfile_write(const char *path, const void *p, size_t len, mode_t mode,
    int excl)
{
	int fd, rc = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
	    (excl ? O_EXCL : O_TRUNC), mode);
	if (fd < 0)
		return -errno;
	errno = 0;
	if (write(fd, p, len) != (ssize_t)len || fsync(fd) != 0)
		rc = errno != 0 ? -errno : -EIO;
	if (close(fd) != 0 && rc == 0)
		rc = -errno;
	return rc;
}

/*
 * Both paths are looked at before the key is made, and a private key whose
 * public half could not be written is removed again: a second run then
 * starts clean instead of refusing over half a pair.
 */
int
keyfile_generate(const char *priv, const char *pub, char *err, size_t errlen)
{
	char kpem[SIGNER_PEM_MAX], ppem[SIGNER_PEM_MAX];
	struct signer *s;
	struct stat st;
	int rc;

	if (lstat(priv, &st) == 0 || lstat(pub, &st) == 0) {
		snprintf(err, errlen, "%s: exists: refusing to replace a key",
		    lstat(priv, &st) == 0 ? priv : pub);
		return -EEXIST;
	}
	if ((rc = signer_generate(&s, err, errlen)) < 0)
		return rc;
	rc = signer_pem_private(s, kpem, sizeof(kpem)) == 0 &&
	    signer_pem_public(s, ppem, sizeof(ppem)) == 0 ? 0 : -ENOSPC;
	signer_free(s);
	if (rc < 0)
		snprintf(err, errlen, "%s: PEM longer than %d bytes", priv,
		    SIGNER_PEM_MAX);
	else if ((rc = keyfile_write(priv, kpem, strlen(kpem), 0600, 1)) < 0)
		snprintf(err, errlen, "%s: %s", priv, strerror(-rc));
	else if ((rc = keyfile_write(pub, ppem, strlen(ppem), 0644, 1)) < 0) {
		snprintf(err, errlen, "%s: %s", pub, strerror(-rc));
		unlink(priv);
	}
	memset(kpem, 0, sizeof(kpem));
	return rc;
}

int
keyfile_load_signer(const char *path, struct signer **out, char *err,
    size_t errlen)
{
	char why[256], *pem;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = secret_read(path, &pem, &len, err, errlen)) < 0)
		return rc;
	rc = signer_load(pem, len, out, why, sizeof(why));
	secret_free(pem, len + 1);
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, why);
	return rc;
}

int
keyfile_load_public(const char *path, const char *who,
    struct cmd_pubkey **out, char *err, size_t errlen)
{
	char why[256], *pem;
	size_t len;
	int rc;

	*out = NULL;
	if ((rc = rfile_read(path, PUB_FILE_MAX, &pem, &len, NULL, err,
	    errlen)) < 0)
		return rc;
	rc = sig_key_load_public(who, pem, len, out, why, sizeof(why));
	free(pem);
	if (rc < 0)
		snprintf(err, errlen, "%s: %s", path, why);
	return rc;
}
