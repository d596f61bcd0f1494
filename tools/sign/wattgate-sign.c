/*
 * wattgate-sign: the release key's side of OTA bundles (docs/ota.md
 * "Bundle").
 *
 *   wattgate-sign --keygen PRIV.pem PUB.pem
 *   wattgate-sign --key PRIV.pem --version X.Y.Z --counter N --board B
 *                 [--board B2 ...] [--expires UNIX | --days N] [--chunk N]
 *                 IMAGE BUNDLE
 *   wattgate-sign --verify --pub PUB.pem BUNDLE
 *   wattgate-sign --manifest BUNDLE
 *
 * Exit: 0 done, 1 error (one line on stderr naming what), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "firmware/codec/manifest.h"
#include "tools/lib/cli.h"
#include "tools/lib/keyfile.h"
#include "tools/lib/signer.h"
#include "tools/sign/bundle.h"

#define EXIT_USAGE	CLI_EXIT_USAGE
#define ERR_MAX		(PATH_MAX + 512)

struct opts {
	const char *key, *pub, *version;
	const char *boards[MANIFEST_BOARDS_MAX];
	size_t n_boards;
	long long counter, expires, days, chunk;
	int keygen, verify, manifest, has_counter, has_days;
};

static void
usage(FILE *f)
{
	fputs("usage: wattgate-sign --keygen PRIV.pem PUB.pem\n"
	    "       wattgate-sign --key PRIV.pem --version X.Y.Z --counter N "
	    "--board B [--board B2 ...]\n"
	    "                     [--expires UNIX | --days N] [--chunk N] "
	    "IMAGE BUNDLE\n"
	    "       wattgate-sign --verify --pub PUB.pem BUNDLE\n"
	    "       wattgate-sign --manifest BUNDLE\n", f);
}

static int
fail(const char *what, const char *err)
{
	return cli_fail("wattgate-sign", what, err);
}

/* A regular file opened for reading, and its size. */
static int
open_file(const char *path, struct stat *st, char *err, size_t errlen)
{
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "not a regular file");
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The manifest at the head of a bundle into text[MANIFEST_TEXT_MAX], parsed
 * (not verified). 0, or -1 with err set.
 */
static int
read_manifest(int fd, uint8_t *text, struct manifest *m, char *err,
    size_t errlen)
{
	ssize_t n;

	while ((n = pread(fd, text, MANIFEST_TEXT_MAX, 0)) < 0 && errno == EINTR)
		;
	if (n < 0) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	return manifest_parse(text, (size_t)n, m, err, errlen) < 0 ? -1 : 0;
}

/*
 * The manifest of the image in ifd, signed, into text: checked as the
 * gateway will check it (parsed, and verified with the key's public half),
 * so a bad --version or --board is refused here rather than by every
 * gateway.
 */
static int
make_manifest(const struct opts *o, struct signer *s, int ifd, uint64_t size,
    uint8_t *text, struct manifest *m, char *err, size_t errlen)
{
	char pem[SIGNER_PEM_MAX], *body;
	struct cmd_pubkey *k = NULL;
	size_t i, len;
	int rc;

	memset(m, 0, sizeof(*m));
	snprintf(m->version, sizeof(m->version), "%s", o->version);
	m->counter = (uint32_t)o->counter;
	for (i = 0; i < o->n_boards; i++)
		snprintf(m->boards[i], sizeof(m->boards[i]), "%s", o->boards[i]);
	m->n_boards = o->n_boards;
	m->size = size;
	m->expires = o->expires != 0 ? o->expires :
	    (int64_t)time(NULL) + o->days * 86400;
	if (bundle_pick_chunk(size, (uint32_t)o->chunk, &m->chunk, err,
	    errlen) < 0 || bundle_hash(ifd, 0, m, err, errlen) < 0)
		return -1;
	if ((body = bundle_body(m)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* A body that is not a manifest: the gateway's parser says why. */
	rc = signer_manifest(s, (const uint8_t *)body, strlen(body), text,
	    MANIFEST_TEXT_MAX, &len, err, errlen) < 0 ||
	    manifest_parse(text, len, m, err, errlen) < 0 ? -1 : 0;
	free(body);
	if (rc == 0 && (signer_pem_public(s, pem, sizeof(pem)) != 0 ||
	    sig_key_load_public("manifest", pem, strlen(pem), &k, err,
	    errlen) != 0 || manifest_verify(k, m) != 0)) {
		snprintf(err, errlen, "manifest: the signature made does not "
		    "verify");
		rc = -1;
	}
	cmd_pubkey_free(k);
	return rc;
}

/* n bytes of ifd from offset 0 appended to ofd. */
static int
copy_image(int ifd, int ofd, uint64_t n, char *err, size_t errlen)
{
	static uint8_t buf[64 * 1024];
	uint64_t done = 0;
	ssize_t r;

	while (done < n) {
		r = pread(ifd, buf, n - done < sizeof(buf) ? n - done : sizeof(buf),
		    (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || write(ofd, buf, (size_t)r) != r) {
			snprintf(err, errlen, "copying the image: %s", r == 0 ?
			    "it shrank" : strerror(errno));
			return -1;
		}
		done += (uint64_t)r;
	}
	return 0;
}

/*
 * The bundle is written beside its name and renamed over it only once it
 * checks out (bundle_check reads back what was written: an image changed
 * while it was signed shows there), so BUNDLE is whole or absent.
 */
static int
cmd_sign(const struct opts *o, const char *image, const char *bundle)
{
	static uint8_t text[MANIFEST_TEXT_MAX];
	static struct manifest m;
	char err[ERR_MAX] = "", tmp[PATH_MAX];
	struct signer *s = NULL;
	struct stat st;
	int ifd = -1, ofd = -1, rc = EXIT_FAILURE;

	if (o->key == NULL || o->version == NULL || !o->has_counter ||
	    o->n_boards == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", bundle) >= sizeof(tmp))
		return fail(bundle, "path too long");
	if (keyfile_load_signer(o->key, &s, err, sizeof(err)) < 0)
		return fail("--key", err);
	if ((ifd = open_file(image, &st, err, sizeof(err))) < 0)
		fail(image, err);
	else if (st.st_size == 0)
		fail(image, "empty (0 bytes): nothing to sign");
	else if (make_manifest(o, s, ifd, (uint64_t)st.st_size, text, &m, err,
	    sizeof(err)) < 0)
		fail(image, err);
	else if ((ofd = open(tmp, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0644)) < 0)
		fail(tmp, strerror(errno));
	else if (write(ofd, text, m.text_len) != (ssize_t)m.text_len)
		fail(tmp, strerror(errno != 0 ? errno : EIO));
	else if (copy_image(ifd, ofd, m.size, err, sizeof(err)) < 0)
		fail(tmp, err);
	else if (fsync(ofd) != 0)
		fail(tmp, strerror(errno));
	else if (bundle_check(ofd, m.text_len + m.size, &m, err, sizeof(err)) < 0)
		fail(image, "changed while it was signed");
	else if (rename(tmp, bundle) != 0)
		fail(bundle, strerror(errno));
	else
		rc = 0;
	if (ofd >= 0) {
		close(ofd);
		if (rc != 0)
			unlink(tmp);
	}
	if (ifd >= 0)
		close(ifd);
	signer_free(s);
	if (rc == 0)
		fprintf(stderr, "wattgate-sign: %s: version %s, counter %" PRIu32
		    ", %" PRIu64 " bytes in %zu chunks of %" PRIu32 ", expires %"
		    PRId64 "\n", bundle, m.version, m.counter, m.size, m.n_chunks,
		    m.chunk, m.expires);
	return rc;
}

/* Signature, length, every chunk, the whole hash; prints the body. */
static int
cmd_verify(const struct opts *o, const char *bundle)
{
	static uint8_t text[MANIFEST_TEXT_MAX];
	static struct manifest m;
	struct cmd_pubkey *k;
	char err[ERR_MAX];
	struct stat st;
	int fd, rc = EXIT_FAILURE;

	if (o->pub == NULL) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (keyfile_load_public(o->pub, "manifest", &k, err, sizeof(err)) < 0)
		return fail("--pub", err);
	if ((fd = open_file(bundle, &st, err, sizeof(err))) < 0 ||
	    read_manifest(fd, text, &m, err, sizeof(err)) < 0)
		fail(bundle, err);
	else if (manifest_verify(k, &m) != 0)
		fail(bundle, "manifest: signature does not verify with this key");
	else if (bundle_check(fd, (uint64_t)st.st_size, &m, err, sizeof(err)) < 0)
		fail(bundle, err);
	else
		rc = 0;
	if (rc == 0) {
		fwrite(m.body, 1, m.body_len, stdout);
		fputc('\n', stdout);
		rc = fflush(stdout) == 0 ? 0 : EXIT_FAILURE;
	}
	if (fd >= 0)
		close(fd);
	cmd_pubkey_free(k);
	return rc;
}

/* What the fleet puts in ota.start: body LF sighex LF, as in the bundle. */
static int
cmd_manifest(const char *bundle)
{
	static uint8_t text[MANIFEST_TEXT_MAX];
	static struct manifest m;
	char err[ERR_MAX];
	struct stat st;
	int fd, rc;

	if ((fd = open_file(bundle, &st, err, sizeof(err))) < 0)
		return fail(bundle, err);
	rc = read_manifest(fd, text, &m, err, sizeof(err));
	close(fd);
	if (rc < 0)
		return fail(bundle, err);
	fwrite(text, 1, m.body_len + 1 + MANIFEST_SIG_HEX, stdout);
	fputc('\n', stdout);
	return fflush(stdout) == 0 ? 0 : EXIT_FAILURE;
}

static int
cmd_keygen(const char *priv, const char *pub)
{
	char err[ERR_MAX];

	if (keyfile_generate(priv, pub, err, sizeof(err)) < 0)
		return fail(err, "");
	fprintf(stderr, "wattgate-sign: %s (private, 0600) and %s written\n",
	    priv, pub);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "keygen", 0, NULL, 'g' }, { "verify", 0, NULL, 'V' },
		{ "manifest", 0, NULL, 'M' }, { "key", 1, NULL, 'k' },
		{ "pub", 1, NULL, 'P' }, { "version", 1, NULL, 'v' },
		{ "counter", 1, NULL, 'c' }, { "board", 1, NULL, 'b' },
		{ "expires", 1, NULL, 'e' }, { "days", 1, NULL, 'd' },
		{ "chunk", 1, NULL, 'C' }, { "help", 0, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct opts o = { .days = 365 };
	int ch, li = 0, bad = 0, args;

	while ((ch = getopt_long(argc, argv, "h", lo, &li)) != -1) {
		switch (ch) {
		case 'g': o.keygen = 1; break;
		case 'V': o.verify = 1; break;
		case 'M': o.manifest = 1; break;
		case 'k': o.key = optarg; break;
		case 'P': o.pub = optarg; break;
		case 'v': o.version = optarg; break;
		case 'b':
			bad = o.n_boards == MANIFEST_BOARDS_MAX;
			if (!bad)
				o.boards[o.n_boards++] = optarg;
			break;
		case 'c':
			bad = cli_num(optarg, 0, UINT32_MAX, &o.counter);
			o.has_counter = 1;
			break;
		case 'e':
			bad = cli_num(optarg, 1, MANIFEST_TIME_MAX, &o.expires);
			break;
		case 'd':
			bad = cli_num(optarg, 1, 36500, &o.days);
			o.has_days = 1;
			break;
		case 'C':
			bad = cli_num(optarg, 1, MANIFEST_CHUNK_MAX, &o.chunk);
			break;
		case 'h': usage(stdout); return 0;
		default: bad = 1; break;
		}
		if (bad)
			return cli_bad_value("wattgate-sign", ch, lo[li].name,
			    optarg);
	}
	args = argc - optind;
	if (o.keygen + o.verify + o.manifest > 1 ||
	    (o.expires != 0 && o.has_days))
		args = -1;
	if (o.keygen && args == 2)
		return cmd_keygen(argv[optind], argv[optind + 1]);
	if (o.verify && args == 1)
		return cmd_verify(&o, argv[optind]);
	if (o.manifest && args == 1)
		return cmd_manifest(argv[optind]);
	if (!o.keygen && !o.verify && !o.manifest && args == 2)
		return cmd_sign(&o, argv[optind], argv[optind + 1]);
	usage(stderr);
	return EXIT_USAGE;
}
