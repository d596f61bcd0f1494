/*
 * The human output of each command's reply: short, aligned, one screen
 * where it can be (a 9600 baud line shows ~900 characters a second).
 * Replies are read leniently: a member the daemon does not send shows as
 * "-" instead of failing, so a newer daemon still gets a readable screen.
 * Every string from the reply is made printable (out_clean) first.
 */
#ifndef WG_CONSOLE_SHOW_H
#define WG_CONSOLE_SHOW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define CELL_MAX	64	/* a table cell is cut there, with '~' */

/* o[key] as text: strings cleaned, numbers as JSON writes them, bools as
 * yes/no, absent and null as "-". Returns buf. */
const char *show_val(json_t *o, const char *key, char *buf, size_t cap);
/* A JSON value (any type) as one line of text, cleaned and cut to cap. */
const char *show_json(json_t *v, char *buf, size_t cap);
/* A duration: "42 s", "5 min 03 s", "2 h 05 min", "3 d 4 h". */
const char *show_dur(int64_t s, char *buf, size_t cap);
/* Local wall-clock time of ms since the epoch: "12:00:03". */
const char *show_hms(int64_t ms, char *buf, size_t cap);
/* A multi-line text (CSR, log, JSON): each line cleaned, indent before it. */
void show_block(const char *text, const char *indent);
/* Every member of an object, "key  value", keys aligned. */
void show_kv(json_t *o, const char *indent);

/* A table: cells are copied (cleaned, cut); printed with aligned columns. */
struct table {
	size_t ncols, nrows, cap;
	unsigned right;		/* bit i: column i aligned right (numbers) */
	char **cells;
};
void tab_init(struct table *t, size_t ncols, unsigned right);
/* One row of t->ncols strings (NULL shows "-"). */
void tab_row(struct table *t, ...);
/* Prints (indent before each row) and frees. */
void tab_print(struct table *t, const char *indent);

/* Each command's screen (show_cmds.c); a is for the gateway's name. */
struct app;
void show_status(struct app *a, json_t *d);
void show_devices(struct app *a, json_t *d);
void show_device(struct app *a, json_t *d);
void show_watch_event(struct app *a, json_t *ev);
void show_read(struct app *a, json_t *d);
void show_scan_event(struct app *a, json_t *ev);
void show_scan(struct app *a, json_t *d);
void show_uplink(struct app *a, json_t *d);
void show_commands(struct app *a, json_t *d);
void show_update(struct app *a, json_t *d);
void show_identity(struct app *a, json_t *d);
void show_log(struct app *a, json_t *d);
void show_any(struct app *a, json_t *d);

#endif
