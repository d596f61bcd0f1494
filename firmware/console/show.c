/*
 * The pieces every screen is made of (show.h): values as text, durations,
 * aligned tables and key/value lists.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "firmware/console/out.h"
#include "firmware/console/show.h"

const char *
show_json(json_t *v, char *buf, size_t cap)
{
	char *s;

	if (v == NULL || json_is_null(v)) {
		snprintf(buf, cap, "-");
	} else if (json_is_string(v)) {
		out_clean(buf, cap, json_string_value(v));
	} else if (json_is_true(v) || json_is_false(v)) {
		snprintf(buf, cap, "%s", json_is_true(v) ? "yes" : "no");
	} else if (json_is_integer(v)) {
		snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else {
		/* Objects, arrays, reals: as JSON, ASCII only (escapes stay
		 * escapes, never bytes that a terminal would obey). */
		s = json_dumps(v, JSON_COMPACT | JSON_ENSURE_ASCII |
		    JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
		out_clean(buf, cap, s ? s : "?");
		free(s);
	}
	return buf;
}

const char *
show_val(json_t *o, const char *key, char *buf, size_t cap)
{
	return show_json(json_object_get(o, key), buf, cap);
}

const char *
show_dur(int64_t s, char *buf, size_t cap)
{
	if (s < 0)
		snprintf(buf, cap, "-");
	else if (s < 60)
		snprintf(buf, cap, "%" PRId64 " s", s);
	else if (s < 3600 && s % 60 == 0)
		snprintf(buf, cap, "%" PRId64 " min", s / 60);
	else if (s < 3600)
		snprintf(buf, cap, "%" PRId64 " min %02" PRId64 " s", s / 60,
		    s % 60);
	else if (s < 86400 && s / 60 % 60 == 0)
		snprintf(buf, cap, "%" PRId64 " h", s / 3600);
	else if (s < 86400)
		snprintf(buf, cap, "%" PRId64 " h %02" PRId64 " min", s / 3600,
		    s / 60 % 60);
	else
		snprintf(buf, cap, "%" PRId64 " d %" PRId64 " h", s / 86400,
		    s / 3600 % 24);
	return buf;
}

const char *
show_hms(int64_t ms, char *buf, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(buf, cap, "%H:%M:%S", &tm) == 0)
		snprintf(buf, cap, "-");
	return buf;
}

void
show_block(const char *text, const char *indent)
{
	const char *p = text, *nl;
	char line[1024], shown[1024];
	size_t n;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		n = nl ? (size_t)(nl - p) : strlen(p);
		snprintf(line, sizeof(line), "%.*s", (int)(n < sizeof(line) ?
		    n : sizeof(line) - 1), p);
		out_printf("%s%s\n", indent, out_clean(shown, sizeof(shown), line));
		p += n;
		if (*p == '\n')
			p++;
	}
}

void
show_kv(json_t *o, const char *indent)
{
	const char *key;
	char k[64], v[256];
	json_t *val;
	int w = 0;

	json_object_foreach(o, key, val) {
		int l = (int)strlen(out_clean(k, sizeof(k), key));

		if (l > w)
			w = l;
	}
	json_object_foreach(o, key, val)
		out_printf("%s%-*s  %s\n", indent, w, out_clean(k, sizeof(k), key),
		    show_json(val, v, sizeof(v)));
}

void
tab_init(struct table *t, size_t ncols, unsigned right)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->right = right;
}

void
tab_row(struct table *t, ...)
{
	char buf[CELL_MAX + 1];
	const char *s;
	size_t i;
	va_list ap;
	char **c;

	if ((t->nrows + 1) * t->ncols > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : t->ncols * 16;

		if ((c = realloc(t->cells, cap * sizeof(*c))) == NULL)
			return;
		t->cells = c;
		t->cap = cap;
	}
	va_start(ap, t);
	for (i = 0; i < t->ncols; i++) {
		s = va_arg(ap, const char *);
		out_clean(buf, sizeof(buf), s ? s : "-");
		t->cells[t->nrows * t->ncols + i] = strdup(buf);
	}
	va_end(ap);
	t->nrows++;
}

/* Columns on the screen: UTF-8 continuation bytes take none. */
static int
width(const char *s)
{
	int w = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

void
tab_print(struct table *t, const char *indent)
{
	int w[16] = { 0 };
	size_t r, i;
	const char *s;

	for (r = 0; r < t->nrows; r++)
		for (i = 0; i < t->ncols && i < 16; i++) {
			s = t->cells[r * t->ncols + i];
			if (s != NULL && width(s) > w[i])
				w[i] = width(s);
		}
	for (r = 0; r < t->nrows; r++) {
		out_printf("%s", indent);
		for (i = 0; i < t->ncols && i < 16; i++) {
			s = t->cells[r * t->ncols + i];
			s = s ? s : "-";
			/* Pad by columns, not bytes; the last cell unpadded. */
			int pad = w[i] - width(s);

			if (t->right & (1u << i))
				out_printf("%*s%s", pad, "", s);
			else if (i + 1 < t->ncols)
				out_printf("%s%*s", s, pad, "");
			else
				out_printf("%s", s);
			out_printf("%s", i + 1 < t->ncols ? "  " : "\n");
		}
	}
	for (r = 0; r < t->nrows * t->ncols; r++)
		free(t->cells[r]);
	free(t->cells);
	memset(t, 0, sizeof(*t));
}
