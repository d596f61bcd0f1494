/*
 * The health message's "info" object (firmware/core/health.c): present only
 * for strings read, in the profile's order, quotes and backslashes escaped so
 * the message stays JSON whatever a device answers; checked by parsing it
 * back with jansson.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "firmware/core/health.h"

static void
test_info_json(void **state)
{
	struct profile prof;
	struct device devs[2];
	struct health h;
	json_t *root, *d;
	const char *s;

	(void)state;
	memset(&prof, 0, sizeof(prof));
	memset(devs, 0, sizeof(devs));
	prof.n_info = 2;
	strcpy(prof.info[0].name, "serial");
	strcpy(prof.info[1].name, "model");
	strcpy(devs[0].name, "m1");
	strcpy(devs[1].name, "m2");
	devs[0].profile = &prof;
	devs[1].profile = &prof;
	assert_int_equal(health_init(&h, devs, 2), 0);

	/* Nothing read yet: no "info" key at all. */
	assert_non_null(s = health_json(&h));
	assert_non_null(root = json_loads(s, 0, NULL));
	assert_null(json_object_get(json_object_get(json_object_get(root,
	    "devices"), "m1"), "info"));
	json_decref(root);

	/* Only what was read; a quote and a backslash survive as text. */
	strcpy(h.now[0].info[0], "A\"B\\C");
	strcpy(h.now[1].info[1], "NG910");
	assert_non_null(s = health_json(&h));
	assert_non_null(root = json_loads(s, 0, NULL));
	d = json_object_get(json_object_get(json_object_get(root, "devices"),
	    "m1"), "info");
	assert_int_equal(json_object_size(d), 1);
	assert_string_equal(json_string_value(json_object_get(d, "serial")),
	    "A\"B\\C");
	d = json_object_get(json_object_get(json_object_get(root, "devices"),
	    "m2"), "info");
	assert_int_equal(json_object_size(d), 1);
	assert_string_equal(json_string_value(json_object_get(d, "model")),
	    "NG910");
	json_decref(root);

	/* Every string at its longest, all quotes: still fits, still JSON. */
	for (size_t i = 0; i < PROFILE_INFO_MAX; i++) {
		memset(h.now[0].info[i], '"', PROFILE_INFO_CHARS);
		h.now[0].info[i][PROFILE_INFO_CHARS] = '\0';
		snprintf(prof.info[i].name, sizeof(prof.info[i].name),
		    "%031zu", i);
	}
	prof.n_info = PROFILE_INFO_MAX;
	assert_non_null(s = health_json(&h));
	assert_non_null(root = json_loads(s, 0, NULL));
	d = json_object_get(json_object_get(json_object_get(root, "devices"),
	    "m1"), "info");
	assert_int_equal(json_object_size(d), PROFILE_INFO_MAX);
	json_decref(root);
	health_free(&h);
}

/* A device without a profile (none has info strings): JSON, no "info". */
static void
test_no_profile(void **state)
{
	struct device dev;
	struct health h;
	json_t *root;
	const char *s;

	(void)state;
	memset(&dev, 0, sizeof(dev));
	strcpy(dev.name, "bare");
	assert_int_equal(health_init(&h, &dev, 1), 0);
	assert_non_null(s = health_json(&h));
	assert_non_null(root = json_loads(s, 0, NULL));
	assert_null(json_object_get(json_object_get(json_object_get(root,
	    "devices"), "bare"), "info"));
	json_decref(root);
	health_free(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_info_json),
		cmocka_unit_test(test_no_profile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
