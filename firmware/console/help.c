/*
 * What the console tells about its commands: help (its own table, and the
 * daemon's commands it does not know, marked where they need a login) and
 * the candidates for Tab completion.
 */
#include <stdio.h>
#include <string.h>

#include "firmware/console/app.h"
#include "firmware/console/cmds.h"
#include "firmware/console/out.h"
#include "firmware/console/show.h"

#define DEVS_TTL_MS	30000	/* device names for completion, cached */

static int
class_needs_login(struct app *a, const char *name)
{
	json_t *e = cmds_daemon(a, name), *o;
	const char *cls = json_string_value(json_object_get(e, "class"));
	size_t i;

	if (cls == NULL || strcmp(cls, "none") == 0)
		return 0;
	if (strcmp(cls, "read") == 0)
		json_array_foreach(a->open, i, o)
			if (json_is_string(o) && strcmp(json_string_value(o),
			    name) == 0)
				return 0;
	return 1;
}

int
cmds_help(struct app *a, int argc, char **argv)
{
	const struct ccmd *c;
	struct table t;
	json_t *e;
	char u[128], h[256];
	size_t i;

	if (argc == 1) {
		c = cmds_find(argv[0]);
		e = cmds_daemon(a, argv[0]);
		if (c == NULL && e == NULL) {
			app_fail(a, "help: no command '%s'", argv[0]);
			return 1;
		}
		out_printf("usage: %s\n  %s%s\n", c ? c->usage :
		    show_val(e, "usage", u, sizeof(u)), c ? c->help :
		    show_val(e, "help", h, sizeof(h)), class_needs_login(a,
		    argv[0]) ? " (needs a login)" : "");
		if (strcmp(argv[0], "read") == 0)
			out_printf("  REG: 30001..39999 input, 40001..49999 holding "
			    "registers (Modbus\n  numbering), or i:N / h:N for "
			    "address N. COUNT 1..125 (default:\n  TYPE's width). "
			    "TYPE u16 s16 u32 s32 f32 (default u16).\n");
		if (strcmp(argv[0], "login") == 0)
			out_printf("  login: the console shows a challenge; answer it "
			    "with\n    wattgate-fleet tech-answer --cred CRED --key "
			    "tech.key --challenge '...'\n  and paste the one-line "
			    "response. 'login password' asks for the\n  password the "
			    "fleet set (console.password).\n");
		return 0;
	}
	tab_init(&t, 2, 0);
	for (c = cmds_table; c->name != NULL; c++) {
		if (a->help != NULL && c->show != NULL && !cmds_daemon(a, c->name))
			continue;	/* this daemon does not have it */
		if (strcmp(c->name, "exit") == 0)
			continue;	/* quit's other name */
		snprintf(h, sizeof(h), "%s%s", c->help, class_needs_login(a,
		    c->name) ? " *" : "");
		tab_row(&t, c->usage, h);
	}
	json_array_foreach(a->help, i, e) {
		const char *n = json_string_value(json_object_get(e, "name"));

		if (n == NULL || cmds_find(n) || cmds_internal(n))
			continue;
		tab_row(&t, show_val(e, "usage", u, sizeof(u)),
		    show_val(e, "help", h, sizeof(h)));
	}
	tab_print(&t, "");
	out_printf("* needs a login ('help login')\n");
	return 0;
}

json_t *
cmds_devices(struct app *a)
{
	struct call k;

	if (a->devs != NULL && app_now_ms() - a->devs_ms < DEVS_TTL_MS)
		return a->devs;
	if (a->conn.fd < 0)
		return a->devs;
	memset(&k, 0, sizeof(k));
	k.cmd = "devices";
	k.timeout_ms = 2000;
	/* Quiet: a completion that cannot ask (no login) just offers less. */
	if (conn_call(&a->conn, &k) == 0 &&
	    json_is_array(json_object_get(k.data, "devices"))) {
		json_decref(a->devs);
		a->devs = json_incref(json_object_get(k.data, "devices"));
		a->devs_ms = app_now_ms();
	}
	json_decref(k.data);
	return a->devs;
}

void
cmds_candidates(void *arg, int nw, char **w, struct cands *c)
{
	static const char *const cfg[] = { "show", "check", "apply", NULL };
	struct app *a = arg;
	const struct ccmd *cc;
	const char *const *p;
	const char *key;
	json_t *e;
	size_t i;

	if (nw == 0) {
		for (cc = cmds_table; cc->name != NULL; cc++)
			cands_add(c, cc->name);
		json_array_foreach(a->help, i, e)
			if (json_is_string(json_object_get(e, "name")) &&
			    !cmds_internal(json_string_value(json_object_get(e,
			    "name"))))
				cands_add(c, json_string_value(json_object_get(e,
				    "name")));
		return;
	}
	if ((cc = cmds_find(w[0])) == NULL)
		return;
	if (nw == 2 && cc->comp == C_CONFIG &&
	    (strcmp(w[1], "check") == 0 || strcmp(w[1], "apply") == 0)) {
		cands_files(c);
		return;
	}
	if (nw != 1)
		return;
	switch (cc->comp) {
	case C_CMD:
		cmds_candidates(arg, 0, w, c);
		break;
	case C_CONFIG:
		for (p = cfg; *p != NULL; p++)
			cands_add(c, *p);
		break;
	case C_LOGIN:
		cands_add(c, "password");
		break;
	case C_DEVICE:
	case C_BUS:
		key = cc->comp == C_DEVICE ? "name" : "bus";
		json_array_foreach(cmds_devices(a), i, e)
			if (json_is_string(json_object_get(e, key)))
				cands_add(c, json_string_value(json_object_get(e,
				    key)));
		break;
	default:
		break;
	}
}

