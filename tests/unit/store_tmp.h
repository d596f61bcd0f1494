/*
 * A scratch directory per test for the store-backed unit tests: store_tmp_dir
 * is made by store_tmp_setup (under $TMPDIR), store_tmp_path is
 * DIR/<rel> for the test's database, store_tmp_teardown removes it all.
 */
#ifndef WG_TEST_STORE_TMP_H
#define WG_TEST_STORE_TMP_H

#include <stdio.h>
#include <stdlib.h>

static char store_tmp_dir[256], store_tmp_path[300];

static int
store_tmp_setup(const char *rel)
{
	const char *t = getenv("TMPDIR");

	snprintf(store_tmp_dir, sizeof(store_tmp_dir), "%s/wg-unit-XXXXXX",
	    t ? t : "/tmp");
	if (mkdtemp(store_tmp_dir) == NULL)
		return -1;
	snprintf(store_tmp_path, sizeof(store_tmp_path), "%s/%s", store_tmp_dir, rel);
	return 0;
}

static int
store_tmp_teardown(void **state)
{
	char cmd[400];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", store_tmp_dir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
