/*
 * Tab completion for wattgate-console's editor: the word at the cursor is
 * completed from candidates the program names (command names, then device
 * or bus names, config sub-commands, file names); this file does the
 * matching and the screen: one candidate is inserted whole, several their
 * common start, or, when that adds nothing, the list of them is shown.
 */
#ifndef WG_CONSOLE_COMPLETE_H
#define WG_CONSOLE_COMPLETE_H

#include <stddef.h>

#include <histedit.h>

#define COMPLETE_WORDS	8	/* words before the cursor looked at */

struct cands {
	const char *prefix;	/* the word being completed, so far */
	char **v;
	size_t n, cap;
};

/* Adds name if it starts with c->prefix and is not there yet. */
void cands_add(struct cands *c, const char *name);
/* Paths that start with c->prefix (directories end in '/'). */
void cands_files(struct cands *c);
void cands_free(struct cands *c);

/* The editor's completion function (EL_ADDFN); its client data is the term. */
unsigned char complete_el(EditLine *el, int ch);

#endif
