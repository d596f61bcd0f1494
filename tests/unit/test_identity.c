/*
 * The device identity: a key made once (0600, atomically, never replaced),
 * refused when loose or damaged, a CSR that parses back with the key's public
 * key and a valid signature, and a fingerprint that matches a hand-built
 * SubjectPublicKeyInfo (RFC 5480) hashed on its own.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/sha256.h>
#include <mbedtls/x509_csr.h>

#include "firmware/core/config.h"
#include "firmware/identity/identity.h"
#include "tests/unit/store_tmp.h"

static int
setup(void **state)
{
	(void)state;
	/* A directory that does not exist yet: creating it is part of the job. */
	return store_tmp_setup("state/sub/identity.key");
}

static size_t
slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, cap - 1, f);
	fclose(f);
	buf[n] = '\0';
	return n;
}

static void
put(const char *path, const char *text, size_t len, mode_t mode)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static struct identity *
open_ok(const char *path)
{
	struct identity *id;
	char err[512];

	if (identity_load_or_create(path, &id, err, sizeof(err)) != 0)
		fail_msg("identity_load_or_create: %s", err);
	return id;
}

/* Fails, names the path, and leaves the file exactly as it was. */
static void
expect_refused(const char *path, int want, const char *frag)
{
	struct identity *id = (struct identity *)1;
	char err[512], before[4096], after[4096];
	size_t nb, na;
	int rc;

	nb = slurp(path, before, sizeof(before));
	rc = identity_load_or_create(path, &id, err, sizeof(err));
	assert_int_equal(rc, want);
	assert_null(id);
	if (strstr(err, path) == NULL || strstr(err, frag) == NULL ||
	    strchr(err, '\n') != NULL)
		fail_msg("unexpected error '%s' (want path and '%s')", err, frag);
	assert_null(strstr(err, "PRIVATE KEY"));
	na = slurp(path, after, sizeof(after));
	assert_int_equal(na, nb);
	assert_memory_equal(after, before, nb);
}

static void
test_create_then_reload(void **state)
{
	struct identity *id;
	struct dirent *de;
	struct stat sb;
	char fp[IDENTITY_FP_HEX], key1[4096], key2[4096], dir[400];
	size_t n1, i, entries = 0;
	DIR *d;

	(void)state;
	id = open_ok(store_tmp_path);
	assert_int_equal(identity_created(id), 1);
	snprintf(fp, sizeof(fp), "%s", identity_fingerprint(id));
	identity_free(id);
	assert_int_equal(strlen(fp), 64);
	for (i = 0; i < 64; i++)
		assert_non_null(strchr("0123456789abcdef", fp[i]));

	assert_int_equal(lstat(store_tmp_path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0600);
	n1 = slurp(store_tmp_path, key1, sizeof(key1));
	assert_non_null(strstr(key1, "-----BEGIN EC PRIVATE KEY-----"));
	/* The temporary file was renamed, not left behind. */
	snprintf(dir, sizeof(dir), "%s/state/sub", store_tmp_dir);
	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) {
			assert_string_equal(de->d_name, "identity.key");
			entries++;
		}
	closedir(d);
	assert_int_equal(entries, 1);

	id = open_ok(store_tmp_path);
	assert_int_equal(identity_created(id), 0);
	assert_string_equal(identity_fingerprint(id), fp);
	identity_free(id);
	assert_int_equal(slurp(store_tmp_path, key2, sizeof(key2)), n1);
	assert_memory_equal(key1, key2, n1);
}

/* A key written by someone else (here: mbedtls directly, as the test's own). */
static void
write_foreign_key(const char *path, mbedtls_ecp_group_id curve)
{
	mbedtls_entropy_context ent;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_pk_context pk;
	unsigned char pem[1024];

	mbedtls_entropy_init(&ent);
	mbedtls_ctr_drbg_init(&drbg);
	mbedtls_pk_init(&pk);
	assert_int_equal(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &ent,
	    (const unsigned char *)"test", 4), 0);
	assert_int_equal(mbedtls_pk_setup(&pk,
	    mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
	assert_int_equal(mbedtls_ecp_gen_key(curve, mbedtls_pk_ec(pk),
	    mbedtls_ctr_drbg_random, &drbg), 0);
	assert_int_equal(mbedtls_pk_write_key_pem(&pk, pem, sizeof(pem)), 0);
	put(path, (char *)pem, strlen((char *)pem), 0600);
	mbedtls_pk_free(&pk);
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&ent);
}

/*
 * The fingerprint computed apart from identity.c: the SubjectPublicKeyInfo of
 * a P-256 key is a fixed 26-byte header (RFC 5480: id-ecPublicKey, prime256v1,
 * BIT STRING of 66 bytes) and the uncompressed point 04 || X || Y.
 */
static void
independent_fingerprint(const char *path, char hex[IDENTITY_FP_HEX])
{
	static const unsigned char hdr[26] = {
		0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
		0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
		0x07, 0x03, 0x42, 0x00,
	};
	unsigned char spki[91], md[32];
	mbedtls_pk_context pk;
	mbedtls_ecp_keypair *ec;
	int i;

	mbedtls_pk_init(&pk);
	assert_int_equal(mbedtls_pk_parse_keyfile(&pk, path, NULL), 0);
	ec = mbedtls_pk_ec(pk);
	memcpy(spki, hdr, sizeof(hdr));
	spki[26] = 0x04;
	assert_int_equal(mbedtls_mpi_write_binary(&ec->Q.X, spki + 27, 32), 0);
	assert_int_equal(mbedtls_mpi_write_binary(&ec->Q.Y, spki + 59, 32), 0);
	assert_int_equal(mbedtls_sha256_ret(spki, sizeof(spki), md, 0), 0);
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	mbedtls_pk_free(&pk);
}

static void
test_existing_key_is_used_not_replaced(void **state)
{
	struct identity *id;
	char want[IDENTITY_FP_HEX], before[4096], after[4096];
	struct stat s1, s2;
	size_t n;

	(void)state;
	snprintf(before, sizeof(before), "%s/state", store_tmp_dir);
	assert_int_equal(mkdir(before, 0700), 0);
	snprintf(before, sizeof(before), "%s/state/sub", store_tmp_dir);
	assert_int_equal(mkdir(before, 0700), 0);
	write_foreign_key(store_tmp_path, MBEDTLS_ECP_DP_SECP256R1);
	n = slurp(store_tmp_path, before, sizeof(before));
	assert_int_equal(stat(store_tmp_path, &s1), 0);

	id = open_ok(store_tmp_path);
	assert_int_equal(identity_created(id), 0);
	independent_fingerprint(store_tmp_path, want);
	assert_string_equal(identity_fingerprint(id), want);
	identity_free(id);

	assert_int_equal(stat(store_tmp_path, &s2), 0);
	assert_int_equal(s1.st_ino, s2.st_ino);
	assert_int_equal(slurp(store_tmp_path, after, sizeof(after)), n);
	assert_memory_equal(before, after, n);
}

static void
test_fingerprint_matches_independent(void **state)
{
	struct identity *id;
	char want[IDENTITY_FP_HEX];

	(void)state;
	id = open_ok(store_tmp_path);
	independent_fingerprint(store_tmp_path, want);
	assert_string_equal(identity_fingerprint(id), want);
	identity_free(id);
}

static void
test_loose_mode_refused(void **state)
{
	struct identity *id;

	(void)state;
	id = open_ok(store_tmp_path);
	identity_free(id);
	assert_int_equal(chmod(store_tmp_path, 0644), 0);
	expect_refused(store_tmp_path, -EPERM, "chmod 600");
	assert_int_equal(chmod(store_tmp_path, 0640), 0);
	expect_refused(store_tmp_path, -EPERM, "mode 0640");
}

static void
test_damaged_refused_not_replaced(void **state)
{
	struct identity *id;
	char key[4096], *p;
	size_t n;

	(void)state;
	id = open_ok(store_tmp_path);
	identity_free(id);
	n = slurp(store_tmp_path, key, sizeof(key));

	put(store_tmp_path, "not a key\n", 10, 0600);
	expect_refused(store_tmp_path, -EINVAL, "not a readable private key");
	put(store_tmp_path, "", 0, 0600);
	expect_refused(store_tmp_path, -EINVAL, "empty");
	/* Half a key: a write cut short by something other than us. */
	put(store_tmp_path, key, n / 2, 0600);
	expect_refused(store_tmp_path, -EINVAL, "refusing to replace");
	/* One base64 digit changed in the middle of the key material. */
	p = key + n / 2;
	*p = *p == 'A' ? 'B' : 'A';
	put(store_tmp_path, key, n, 0600);
	expect_refused(store_tmp_path, -EINVAL, store_tmp_path);
	/* Binary junk with a NUL in it. */
	put(store_tmp_path, "\x30\x82\x00\x01\xff", 5, 0600);
	expect_refused(store_tmp_path, -EINVAL, "refusing to replace");
}

static void
test_wrong_curve_refused(void **state)
{
	char d[400];

	(void)state;
	snprintf(d, sizeof(d), "%s/state", store_tmp_dir);
	assert_int_equal(mkdir(d, 0700), 0);
	snprintf(d, sizeof(d), "%s/state/sub", store_tmp_dir);
	assert_int_equal(mkdir(d, 0700), 0);
	write_foreign_key(store_tmp_path, MBEDTLS_ECP_DP_SECP384R1);
	expect_refused(store_tmp_path, -EINVAL, "secp384r1");
}

/* Anything at the path is the identity or a problem, never a place to write. */
static void
test_dangling_symlink_and_dir_not_replaced(void **state)
{
	struct identity *id = NULL;
	char err[512], d[400], target[400];
	struct stat sb;

	(void)state;
	snprintf(d, sizeof(d), "%s/state", store_tmp_dir);
	assert_int_equal(mkdir(d, 0700), 0);
	snprintf(d, sizeof(d), "%s/state/sub", store_tmp_dir);
	assert_int_equal(mkdir(d, 0700), 0);
	snprintf(target, sizeof(target), "%s/elsewhere.key", store_tmp_dir);
	assert_int_equal(symlink(target, store_tmp_path), 0);
	assert_int_equal(identity_load_or_create(store_tmp_path, &id, err,
	    sizeof(err)), -ENOENT);
	assert_null(id);
	assert_non_null(strstr(err, store_tmp_path));
	assert_int_equal(lstat(store_tmp_path, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	assert_int_equal(access(target, F_OK), -1);

	assert_int_equal(unlink(store_tmp_path), 0);
	assert_int_equal(mkdir(store_tmp_path, 0700), 0);
	assert_int_equal(identity_load_or_create(store_tmp_path, &id, err,
	    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "regular file"));
}

static void
test_unwritable_place_is_an_error(void **state)
{
	struct identity *id = NULL;
	char err[512], path[400];

	(void)state;
	/* The "directory" is a file: nothing can be created under it. */
	snprintf(path, sizeof(path), "%s/state", store_tmp_dir);
	put(path, "x", 1, 0600);
	assert_true(identity_load_or_create(store_tmp_path, &id, err,
	    sizeof(err)) < 0);
	assert_null(id);
	assert_non_null(strstr(err, store_tmp_path));
}

static void
test_csr_parses_back(void **state)
{
	struct identity *id;
	mbedtls_x509_csr csr;
	mbedtls_pk_context key;
	unsigned char d1[160], d2[160], hash[32];
	char pem[IDENTITY_CSR_MAX], err[512], dn[256];
	int n1, n2;

	(void)state;
	id = open_ok(store_tmp_path);
	if (identity_csr(id, "gw-0001.home_a", pem, sizeof(pem), err,
	    sizeof(err)) != 0)
		fail_msg("identity_csr: %s", err);
	assert_non_null(strstr(pem, "-----BEGIN CERTIFICATE REQUEST-----"));
	assert_null(strstr(pem, "PRIVATE"));

	mbedtls_x509_csr_init(&csr);
	assert_int_equal(mbedtls_x509_csr_parse(&csr, (unsigned char *)pem,
	    strlen(pem) + 1), 0);
	assert_true(mbedtls_x509_dn_gets(dn, sizeof(dn), &csr.subject) > 0);
	assert_string_equal(dn, "CN=gw-0001.home_a, O=wattgate");
	assert_int_equal(csr.sig_md, MBEDTLS_MD_SHA256);
	assert_int_equal(csr.sig_pk, MBEDTLS_PK_ECDSA);
	/* The CSR's signature verifies with the CSR's own public key ... */
	assert_int_equal(mbedtls_md(mbedtls_md_info_from_type(csr.sig_md),
	    csr.cri.p, csr.cri.len, hash), 0);
	assert_int_equal(mbedtls_pk_verify(&csr.pk, csr.sig_md, hash, 0,
	    csr.sig.p, csr.sig.len), 0);
	/* ... and that key is the one in the key file. */
	mbedtls_pk_init(&key);
	assert_int_equal(mbedtls_pk_parse_keyfile(&key, store_tmp_path, NULL), 0);
	n1 = mbedtls_pk_write_pubkey_der(&csr.pk, d1, sizeof(d1));
	n2 = mbedtls_pk_write_pubkey_der(&key, d2, sizeof(d2));
	assert_true(n1 > 0);
	assert_int_equal(n1, n2);
	assert_memory_equal(d1 + sizeof(d1) - n1, d2 + sizeof(d2) - n2, n1);
	mbedtls_pk_free(&key);
	mbedtls_x509_csr_free(&csr);

	/* A common name that would inject into the subject is refused. */
	assert_int_equal(identity_csr(id, "gw,O=evil", pem, sizeof(pem), err,
	    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "gw,O=evil"));
	assert_int_equal(identity_csr(id, "", pem, sizeof(pem), err, sizeof(err)),
	    -EINVAL);
	memset(dn, 'a', 65);
	dn[65] = '\0';
	assert_int_equal(identity_csr(id, dn, pem, sizeof(pem), err, sizeof(err)),
	    -EINVAL);
	/* Too small a buffer is an error, not a truncated CSR. */
	assert_true(identity_csr(id, "gw-1", pem, 100, err, sizeof(err)) < 0);
	identity_free(id);
}

/* A good site config with extra top-level text; returns its path. */
static const char *
write_site(const char *extra)
{
	static char site[400];
	FILE *f;

	snprintf(site, sizeof(site), "%s/site.json", store_tmp_dir);
	f = fopen(site, "w");
	assert_non_null(f);
	fprintf(f, "{ \"gateway\": \"gw-1\", \"store\": \"%s/db/store.db\", %s"
	    "\"profiles\": \"%s/drivers/profiles\", \"mqtt\": {\"host\": \"h\"}, "
	    "\"buses\": [{\"name\": \"lan\", \"type\": \"tcp\", \"host\": \"h\"}], "
	    "\"devices\": [{\"name\": \"m\", \"bus\": \"lan\", \"unit\": 1, "
	    "\"profile\": \"sdm630\"}] }\n", store_tmp_dir, extra, WG_SOURCE_DIR);
	fclose(f);
	return site;
}

/* "identity_key": beside the store by default, or where the site says. */
static void
test_config_key(void **state)
{
	struct site_config c;
	const char *site;
	char want[400], err[512];

	(void)state;
	site = write_site("");
	if (config_load(site, &c, err, sizeof(err)) != 0)
		fail_msg("config_load: %s", err);
	snprintf(want, sizeof(want), "%s/db/identity.key", store_tmp_dir);
	assert_string_equal(c.identity_key, want);
	config_free(&c);

	site = write_site("\"identity_key\": \"/etc/wg/id.key\", ");
	if (config_load(site, &c, err, sizeof(err)) != 0)
		fail_msg("config_load: %s", err);
	assert_string_equal(c.identity_key, "/etc/wg/id.key");
	config_free(&c);

	site = write_site("\"identity_key\": 7, ");
	assert_int_equal(config_load(site, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, site));
	assert_non_null(strstr(err, "identity_key"));
	assert_non_null(strstr(err, "expected a string"));
	site = write_site("\"identity_key\": \"\", ");
	assert_int_equal(config_load(site, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "identity_key"));
	assert_non_null(strstr(err, "empty"));
}

int
main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, store_tmp_teardown)
	const struct CMUnitTest tests[] = {
		T(test_create_then_reload),
		T(test_existing_key_is_used_not_replaced),
		T(test_fingerprint_matches_independent),
		T(test_loose_mode_refused),
		T(test_damaged_refused_not_replaced),
		T(test_wrong_curve_refused),
		T(test_dangling_symlink_and_dir_not_replaced),
		T(test_unwritable_place_is_an_error),
		T(test_csr_parses_back),
		T(test_config_key),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
