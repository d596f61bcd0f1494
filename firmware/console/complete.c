/*
 * Tab completion (complete.h). What is shown is only names: the list of
 * candidates is printed as plain words in columns, and libedit redraws
 * the prompt and line below it (CC_REDISPLAY), as its own file completion
 * does.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "firmware/console/complete.h"
#include "firmware/console/out.h"
#include "firmware/console/term.h"

#define CANDS_MAX	512	/* more is not a list anyone reads at 9600 baud */
#define LINE_COPY	1024

void
cands_add(struct cands *c, const char *name)
{
	size_t i, pl = strlen(c->prefix);
	char **v;

	if (strncmp(name, c->prefix, pl) != 0 || c->n >= CANDS_MAX)
		return;
	for (i = 0; i < c->n; i++)
		if (strcmp(c->v[i], name) == 0)
			return;
	if (c->n == c->cap) {
		v = realloc(c->v, (c->cap ? c->cap * 2 : 16) * sizeof(*v));
		if (v == NULL)
			return;
		c->v = v;
		c->cap = c->cap ? c->cap * 2 : 16;
	}
	if ((c->v[c->n] = strdup(name)) != NULL)
		c->n++;
}

void
cands_free(struct cands *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->v[i]);
	free(c->v);
	c->v = NULL;
	c->n = c->cap = 0;
}

void
cands_files(struct cands *c)
{
	char dir[LINE_COPY], path[LINE_COPY + 256];
	const char *slash = strrchr(c->prefix, '/');
	const char *base = slash ? slash + 1 : c->prefix;
	struct dirent *e;
	struct stat st;
	DIR *d;
	int dl;

	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == c->prefix)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - c->prefix),
		    c->prefix);
	dl = slash ? (int)(slash - c->prefix) + 1 : 0;
	if ((d = opendir(dir)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' && base[0] != '.')
			continue;
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%.*s%s", dl, c->prefix, e->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			strncat(path, "/", sizeof(path) - strlen(path) - 1);
		cands_add(c, path);
	}
	closedir(d);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The candidates in columns, each name made printable. */
static void
list(EditLine *el, struct cands *c)
{
	struct winsize ws;
	size_t i, w = 0, cols, col = 0;
	char shown[128];
	int width = 80;

	(void)el;
	if (ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		width = ws.ws_col;
	for (i = 0; i < c->n; i++)
		if (strlen(c->v[i]) > w)
			w = strlen(c->v[i]);
	w = w + 2 > sizeof(shown) ? sizeof(shown) : w + 2;
	cols = (size_t)width / w ? (size_t)width / w : 1;
	out_printf("\n");
	for (i = 0; i < c->n; i++) {
		out_clean(shown, sizeof(shown), c->v[i]);
		if (++col == cols || i + 1 == c->n) {
			out_printf("%s\n", shown);
			col = 0;
		} else {
			out_printf("%-*s", (int)w, shown);
		}
	}
}

unsigned char
complete_el(EditLine *el, int ch)
{
	const LineInfo *li = el_line(el);
	char copy[LINE_COPY], *w[COMPLETE_WORDS + 1], *p, *save;
	struct cands c;
	struct term *t;
	size_t len, i, common;
	int nw = 0, rc = CC_ERROR;

	(void)ch;
	el_get(el, EL_CLIENTDATA, &t);
	len = (size_t)(li->cursor - li->buffer);
	if (len >= sizeof(copy))
		return CC_ERROR;
	memcpy(copy, li->buffer, len);
	copy[len] = '\0';
	memset(&c, 0, sizeof(c));
	c.prefix = "";
	/* The words before the cursor; the last one is completed unless a
	 * blank ends the text. */
	for (p = strtok_r(copy, " \t", &save); p != NULL;
	    p = strtok_r(NULL, " \t", &save)) {
		if (nw == COMPLETE_WORDS + 1)
			return CC_ERROR;
		w[nw++] = p;
	}
	if (nw > 0 && li->buffer[len - 1] != ' ' && li->buffer[len - 1] != '\t')
		c.prefix = w[--nw];
	term_candidates(t, nw, w, &c);
	if (c.n == 0)
		goto out;
	qsort(c.v, c.n, sizeof(*c.v), by_name);
	common = strlen(c.v[0]);
	for (i = 1; i < c.n; i++) {
		size_t k = 0;

		while (k < common && c.v[i][k] == c.v[0][k])
			k++;
		common = k;
	}
	len = strlen(c.prefix);
	if (c.n == 1) {
		char ins[LINE_COPY];
		size_t n = strlen(c.v[0]);

		snprintf(ins, sizeof(ins), "%s%s", c.v[0] + len,
		    n > 0 && c.v[0][n - 1] == '/' ? "" : " ");
		rc = el_insertstr(el, ins) == 0 ? CC_REFRESH : CC_ERROR;
	} else if (common > len) {
		char ins[LINE_COPY];

		snprintf(ins, sizeof(ins), "%.*s", (int)(common - len),
		    c.v[0] + len);
		rc = el_insertstr(el, ins) == 0 ? CC_REFRESH : CC_ERROR;
	} else {
		list(el, &c);
		rc = CC_REDISPLAY;
	}
out:
	cands_free(&c);
	return (unsigned char)rc;
}
