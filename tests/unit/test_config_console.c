/*
 * The site config's "console" section (firmware/core/config_console.c):
 * defaults, and every bad value one line naming console.KEY.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "firmware/core/config.h"

static char dir[256], file[300];

static int
setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/wg-cfgcon-XXXXXX", t ? t : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(file, sizeof(file), "%s/site.json", dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[400];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A good config with console section (the text between the braces). */
static void
write_console(const char *section)
{
	FILE *f = fopen(file, "w");

	assert_non_null(f);
	fprintf(f, "{ \"gateway\": \"gw-test\", \"profiles\": \"%s/drivers/profiles\",\n"
	    "  \"store\": \"%s/store.db\", \"mqtt\": {\"host\": \"127.0.0.1\"},\n"
	    "  \"buses\": [{\"name\": \"lan\", \"type\": \"tcp\", \"host\": \"127.0.0.1\"}],\n"
	    "  \"devices\": [{\"name\": \"m\", \"bus\": \"lan\", \"unit\": 1, "
	    "\"profile\": \"sdm630\"}]%s%s%s }\n", WG_SOURCE_DIR, dir,
	    section ? ",\n  \"console\": " : "", section ? section : "",
	    section ? "\n" : "");
	fclose(f);
}

static void
expect_error(const char *path, const char *what)
{
	struct site_config c;
	char err[512], head[400];

	assert_int_equal(config_load(file, &c, err, sizeof(err)), -EINVAL);
	snprintf(head, sizeof(head), "%s: %s: ", file, path);
	if (strncmp(err, head, strlen(head)) != 0 ||
	    strstr(err + strlen(head), what) == NULL || strchr(err, '\n') != NULL)
		fail_msg("unexpected error: '%s' (want '%s' and '%s')", err, head, what);
}

static void
load_ok(struct site_config *c)
{
	char err[512];

	if (config_load(file, c, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

static void
test_absent(void **state)
{
	struct site_config c;

	(void)state;
	write_console(NULL);
	load_ok(&c);
	assert_int_equal(c.console.enabled, 0);
	config_free(&c);
}

static void
test_defaults(void **state)
{
	struct site_config c;

	(void)state;
	write_console("{}");
	load_ok(&c);
	assert_int_equal(c.console.enabled, 1);
	assert_string_equal(c.console.socket, "/run/wattgate/console.sock");
	assert_int_equal(c.console.mode, 0660);
	assert_string_equal(c.console.group, "");
	assert_int_equal(c.console.n_open, 0);
	assert_int_equal(c.console.idle_s, 600);
	assert_int_equal(c.console.max_clients, 8);
	assert_int_equal(c.console.lockout_after, 5);
	assert_int_equal(c.console.lockout_s, 300);
	config_free(&c);
}

static void
test_all_set(void **state)
{
	struct group *gr = getgrgid(getgid());
	char text[1024];
	struct site_config c;

	(void)state;
	assert_non_null(gr);
	snprintf(text, sizeof(text), "{\"socket\": \"%s/c.sock\", \"mode\": \"0666\", "
	    "\"group\": \"%s\", \"open\": [\"status\", \"devices\", \"hello\"], "
	    "\"idle_s\": 1, \"max_clients\": 64, \"lockout_after\": 100, "
	    "\"lockout_s\": 86400}", dir, gr->gr_name);
	write_console(text);
	load_ok(&c);
	assert_int_equal(c.console.mode, 0666);
	assert_string_equal(c.console.group, gr->gr_name);
	assert_int_equal(c.console.gid, gr->gr_gid);
	assert_int_equal(c.console.n_open, 3);
	assert_string_equal(c.console.open[1], "devices");
	assert_int_equal(c.console.idle_s, 1);
	assert_int_equal(c.console.max_clients, 64);
	config_free(&c);
	write_console("{\"mode\": \"600\"}");
	load_ok(&c);
	assert_int_equal(c.console.mode, 0600);
	config_free(&c);
}

static void
test_bad_values(void **state)
{
	(void)state;
	write_console("[]");
	expect_error("console", "expected an object");
	write_console("{\"sock\": \"/x\"}");
	expect_error("console.sock", "unknown key");
	write_console("{\"socket\": \"rel/c.sock\"}");
	expect_error("console.socket", "not an absolute path");
	write_console("{\"socket\": \"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}");
	expect_error("console.socket", "");
	write_console("{\"mode\": 660}");
	expect_error("console.mode", "expected a string");
	write_console("{\"mode\": \"0680\"}");
	expect_error("console.mode", "'0680' is not an octal mode");
	write_console("{\"mode\": \"66\"}");
	expect_error("console.mode", "not an octal mode");
	write_console("{\"mode\": \"-660\"}");
	expect_error("console.mode", "not an octal mode");
	write_console("{\"mode\": \"4660\"}");
	expect_error("console.mode", "only permission bits");
	write_console("{\"mode\": \"0662\"}");
	expect_error("console.mode", "world-writable");
	write_console("{\"mode\": \"0777\"}");
	expect_error("console.mode", "world-writable");
	write_console("{\"group\": \"no-such-group-wg\"}");
	expect_error("console.group", "no group 'no-such-group-wg'");
	write_console("{\"group\": \"\"}");
	expect_error("console.group", "");
	write_console("{\"open\": \"status\"}");
	expect_error("console.open", "expected an array");
	write_console("{\"open\": [\"status\", 1]}");
	expect_error("console.open[1]", "expected a command name");
	write_console("{\"open\": [\"Status\"]}");
	expect_error("console.open[0]", "expected a command name");
	write_console("{\"open\": [\"status\", \"status\"]}");
	expect_error("console.open[1]", "'status' is listed twice");
	write_console("{\"open\": [\"frobnicate\"]}");
	expect_error("console.open[0]", "'frobnicate' is not a console command");
	write_console("{\"idle_s\": 0}");
	expect_error("console.idle_s", "out of range");
	write_console("{\"idle_s\": 86401}");
	expect_error("console.idle_s", "out of range");
	write_console("{\"max_clients\": 65}");
	expect_error("console.max_clients", "out of range");
	write_console("{\"max_clients\": 0}");
	expect_error("console.max_clients", "out of range");
	write_console("{\"lockout_after\": 101}");
	expect_error("console.lockout_after", "out of range");
	write_console("{\"lockout_s\": 0}");
	expect_error("console.lockout_s", "out of range");
}

/* A write command can never be opened (the tables are H2's and H3's: a
 * made-up table entry is not possible here, so "reboot" only when built). */
static void
test_open_write(void **state)
{
	struct site_config c;
	char err[512];

	(void)state;
	write_console("{\"open\": [\"reboot\"]}");
	if (config_load(file, &c, err, sizeof(err)) == 0)
		fail_msg("'reboot' opened");
	if (strstr(err, "console.open[0]") == NULL ||
	    (strstr(err, "always needs a login") == NULL &&
	    strstr(err, "is not a console command") == NULL))
		fail_msg("unexpected: %s", err);
}

/* A stale socket is fine (unlinked at start); any other file is refused. */
static void
test_socket_file(void **state)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct site_config c;
	char text[512], path[300];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/c.sock", dir);
	snprintf(text, sizeof(text), "{\"socket\": \"%s\"}", path);
	write_console(text);
	fclose(fopen(path, "w"));
	expect_error("console.socket", "exists and is not a socket");
	unlink(path);
	assert_int_not_equal((fd = socket(AF_UNIX, SOCK_STREAM, 0)), -1);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.100s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(fd);
	load_ok(&c);
	config_free(&c);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_absent),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_all_set),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_open_write),
		cmocka_unit_test(test_socket_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
