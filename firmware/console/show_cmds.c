/*
 * Each command's screen (show.h). The layouts are in docs/console.md
 * ("Using wattgate-console"); what each reply holds is in its table of
 * commands.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "firmware/console/app.h"
#include "firmware/console/out.h"
#include "firmware/console/show.h"

#define V(o, k, b)	show_val((o), (k), (b), sizeof(b))

static int64_t
num(json_t *o, const char *key, int64_t dflt)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	return dflt;
}

/* An object's members on one line, "key value, key value", wrapped at 78. */
static void
show_line(const char *label, json_t *o)
{
	char k[64], v[128];
	const char *key;
	json_t *val;
	size_t col;
	int n = 0;

	if (json_object_size(o) == 0)
		return;
	out_printf("%s", label);
	col = strlen(label);
	json_object_foreach(o, key, val) {
		out_clean(k, sizeof(k), key);
		show_json(val, v, sizeof(v));
		if (n > 0 && col + strlen(k) + strlen(v) + 3 > 78) {
			out_printf(",\n  ");
			col = 2;
		} else if (n > 0) {
			out_printf(", ");
			col += 2;
		}
		out_printf("%s %s", k, v);
		col += strlen(k) + strlen(v) + 1;
		n++;
	}
	out_printf("\n");
}

void
show_status(struct app *a, json_t *d)
{
	json_t *u = json_object_get(d, "uplink"), *s = json_object_get(d, "store");
	json_t *dr = json_object_get(d, "drops"), *dv = json_object_get(d,
	    "devices"), *v;
	char b1[128], b2[128], b3[128], b4[64];
	const char *key;
	int n = 0;

	out_printf("gateway  %s, wattgate %s", a->gw, V(d, "version", b1));
	if (json_is_string(json_object_get(d, "slot")))
		out_printf(", slot %s (image %s)", V(d, "slot", b2),
		    V(d, "image_version", b3));
	out_printf("\nuptime   %s, clock %s\n", show_dur(num(d, "uptime_s", -1),
	    b1, sizeof(b1)), json_is_true(json_object_get(d, "clock_synced")) ?
	    "synced" : "NOT synced");
	out_printf("uplink   %s %s, %s\n", V(u, "kind", b1), V(u, "server", b2),
	    json_is_true(json_object_get(u, "connected")) ? "connected" :
	    "NOT connected");
	v = json_object_get(s, "oldest_unsent_s");
	out_printf("store    %s batches, %s readings, %s results waiting; "
	    "oldest unsent %s\n", V(s, "batches", b1), V(s, "readings", b2),
	    V(s, "results", b3), json_is_integer(v) ? show_dur(
	    json_integer_value(v), b4, sizeof(b4)) : "none");
	out_printf("drops    ");
	json_object_foreach(dr, key, v) {
		char k[64];

		if (json_is_integer(v) && json_integer_value(v) == 0)
			continue;
		out_printf("%s%s %s", n++ ? ", " : "", out_clean(k, sizeof(k), key),
		    show_json(v, b1, sizeof(b1)));
	}
	out_printf("%s\n", n ? "" : "none");
	out_printf("devices  %s of %s answering\n", V(dv, "answering", b1),
	    V(dv, "total", b2));
}

void
show_devices(struct app *a, json_t *d)
{
	json_t *list = json_object_get(d, "devices"), *e;
	char c[10][64];
	struct table t;
	size_t i;

	(void)a;
	/* "polls" counts cycles, "ok" the requests answered (a profile may
	 * take several per cycle): the headers say so. */
	tab_init(&t, 10, 0x1e4);	/* UNIT, POLLS, READS OK, TIMEOUTS, FAILS */
	tab_row(&t, "NAME", "BUS", "UNIT", "PROFILE", "ANSWERS", "POLLS",
	    "READS OK", "TIMEOUTS", "FAILS", "LAST");
	json_array_foreach(list, i, e) {
		tab_row(&t, V(e, "name", c[0]), V(e, "bus", c[1]),
		    V(e, "unit", c[2]), V(e, "profile", c[3]),
		    json_is_true(json_object_get(e, "answering")) ? "yes" : "NO",
		    V(e, "polls", c[5]), V(e, "ok", c[6]), V(e, "timeouts", c[7]),
		    V(e, "fails", c[8]), V(e, "last", c[9]));
	}
	if (json_array_size(list) == 0)
		out_printf("no devices in the config\n");
	else
		tab_print(&t, "");
}

void
show_device(struct app *a, json_t *d)
{
	json_t *vals = json_object_get(d, "values"), *e;
	json_t *er = json_object_get(d, "errors");
	char c[6][64];
	struct table t;
	int64_t now = app_wall_ms(), ts;
	size_t i;

	(void)a;
	out_printf("%s: %s unit %s, %s, %s", V(d, "name", c[0]), V(d, "bus", c[1]),
	    V(d, "unit", c[2]), V(d, "profile", c[3]),
	    json_is_true(json_object_get(d, "answering")) ? "answering" :
	    "NOT answering");
	if (num(d, "backoff_s", 0) > 0)
		out_printf(", backoff %s", show_dur(num(d, "backoff_s", 0), c[4],
		    sizeof(c[4])));
	out_printf("\nerrors: %s timeouts, %s fails, last %s\n",
	    V(er, "timeouts", c[0]), V(er, "fails", c[1]), V(er, "last", c[2]));
	show_line("timings: ", json_object_get(d, "timings"));
	json_array_foreach(vals, i, e)
		if (strcmp(V(e, "quality", c[0]), "unread") != 0)
			break;
	if (i == json_array_size(vals)) {
		out_printf("no values yet (%zu point(s) unread)\n", i);
		return;
	}
	tab_init(&t, 5, 0x2);
	tab_row(&t, "POINT", "VALUE", "UNIT", "QUALITY", "AGE");
	json_array_foreach(vals, i, e) {
		ts = num(e, "ts_ms", 0);
		tab_row(&t, V(e, "point", c[0]), V(e, "value", c[1]),
		    V(e, "unit", c[2]), V(e, "quality", c[3]), ts > 0 ?
		    show_dur(now > ts ? (now - ts) / 1000 : 0, c[4],
		    sizeof(c[4])) : "-");
	}
	if (json_array_size(vals) == 0)
		out_printf("no values yet\n");
	else
		tab_print(&t, "");
}

void
show_watch_event(struct app *a, json_t *ev)
{
	char c[6][64];
	int64_t dropped = num(ev, "dropped", 0);
	const char *q = json_string_value(json_object_get(ev, "quality"));

	(void)a;
	if (dropped > 0)
		out_printf("(%" PRId64 " readings not shown: the terminal is slower "
		    "than they come)\n", dropped);
	out_printf("%s %s %s = %s", show_hms(num(ev, "ts_ms", 0), c[0],
	    sizeof(c[0])), V(ev, "device", c[1]), V(ev, "point", c[2]),
	    V(ev, "value", c[3]));
	if (json_is_string(json_object_get(ev, "unit")) &&
	    json_string_length(json_object_get(ev, "unit")) > 0)
		out_printf(" %s", V(ev, "unit", c[4]));
	if (q != NULL && strcmp(q, "ok") != 0)
		out_printf(" (%s)", V(ev, "quality", c[5]));
	out_printf("\n");
	out_flush();
}

void
show_read(struct app *a, json_t *d)
{
	json_t *raw = json_object_get(d, "raw"), *e;
	char c[8][64];
	size_t i;

	(void)a;
	out_printf("%s (%s unit %s): %s register %s, %s word(s)\n",
	    V(d, "device", c[0]), V(d, "bus", c[1]), V(d, "unit", c[2]),
	    V(d, "kind", c[3]), V(d, "register", c[4]), V(d, "count", c[5]));
	out_printf("raw:");
	json_array_foreach(raw, i, e) {
		if (i > 0 && i % 8 == 0)
			out_printf("\n    ");
		if (json_is_integer(e))
			out_printf(" 0x%04" PRIx64, (uint64_t)json_integer_value(e) &
			    0xffff);
	}
	out_printf("\n%s: %s", V(d, "type", c[6]), V(d, "value", c[7]));
	if (json_is_string(json_object_get(d, "point")))
		out_printf(" (%s)", V(d, "point", c[0]));
	out_printf("\n");
}

void
show_scan_event(struct app *a, json_t *ev)
{
	json_t *f = json_object_get(ev, "found");
	char c[2][128];

	(void)a;
	if (f == NULL || json_is_null(f) || json_is_false(f))
		return;		/* only what answers is worth a line */
	out_printf("  unit %s: %s\n", V(ev, "unit", c[0]), json_is_object(f) ?
	    show_val(f, "profile", c[1], sizeof(c[1])) :
	    show_json(f, c[1], sizeof(c[1])));
	out_flush();
}

void
show_scan(struct app *a, json_t *d)
{
	json_t *list = json_object_get(d, "found"), *e;
	char c[3][256];
	size_t i;

	(void)a;
	out_printf("%s: %zu device(s) found\n", V(d, "bus", c[0]),
	    json_array_size(list));
	json_array_foreach(list, i, e) {
		out_printf("  unit %s  %s\n", V(e, "unit", c[0]),
		    V(e, "profile", c[1]));
		if (json_object_get(e, "config") != NULL)
			out_printf("    %s\n", V(e, "config", c[2]));
	}
}

void
show_uplink(struct app *a, json_t *d)
{
	(void)a;
	show_kv(d, "");
}

void
show_commands(struct app *a, json_t *d)
{
	json_t *list = json_object_get(d, "commands"), *e;
	char c[6][64], age[32];
	int64_t now = app_wall_ms(), t0;
	struct table t;
	size_t i;

	(void)a;
	if (json_array_size(list) == 0) {
		out_printf("no commands in the journal\n");
		return;
	}
	tab_init(&t, 6, 0x4);
	tab_row(&t, "ID", "TYPE", "SEQ", "STATE", "AGE", "WHY");
	json_array_foreach(list, i, e) {
		t0 = num(e, "t_ms", 0);
		tab_row(&t, V(e, "id", c[0]), V(e, "type", c[1]), V(e, "seq", c[2]),
		    V(e, "state", c[3]), t0 > 0 ? show_dur(now > t0 ?
		    (now - t0) / 1000 : 0, age, sizeof(age)) : "-",
		    V(e, "why", c[5]));
	}
	tab_print(&t, "");
}

void
show_update(struct app *a, json_t *d)
{
	json_t *job = json_object_get(d, "job");
	char c[2][64];

	(void)a;
	if (json_is_string(json_object_get(d, "slot")))
		out_printf("slot %s, image %s\n", V(d, "slot", c[0]),
		    V(d, "image_version", c[1]));
	else
		out_printf("no A/B slot (not started by the bootloader)\n");
	if (!json_is_object(job)) {
		out_printf("no update running\n");
		return;
	}
	out_printf("update:\n");
	show_kv(job, "  ");
}

void
show_identity(struct app *a, json_t *d)
{
	char fp[160];
	const char *csr = json_string_value(json_object_get(d, "csr"));

	(void)a;
	out_printf("fingerprint %s\n", V(d, "fingerprint", fp));
	if (csr != NULL)
		show_block(csr, "");
}

void
show_log(struct app *a, json_t *d)
{
	json_t *lines = json_object_get(d, "lines"), *e;
	char shown[1024];
	size_t i;

	(void)a;
	json_array_foreach(lines, i, e)
		out_printf("%s\n", show_json(e, shown, sizeof(shown)));
}

void
show_any(struct app *a, json_t *d)
{
	(void)a;
	if (json_object_size(d) == 0)
		out_printf("ok\n");
	else
		show_kv(d, "");
}
