/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A skimmer of JSON text: where things are, nothing decoded. For texts
 * that other programs wrote (a container's spec.dump, a runc bundle's
 * config.json) and that ferry reads a few members of, or edits in place:
 * a cursor steps over values, checking their syntax as it goes (strings
 * with their escapes, nesting at most JSCAN_DEPTH_MAX deep), and a string
 * is handed out raw, with a flag when it holds an escape, for the caller
 * to refuse or to compare only when there is none. Every function returns
 * -EINVAL for text that is not JSON where it looks, never reads past end.
 */
#ifndef FERRY_JSCAN_H
#define FERRY_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#define JSCAN_DEPTH_MAX	64

struct jscan {
	const char *p, *end;	/* where it stands; the text's end */
	int depth;		/* objects and arrays it is inside */
};

/* Step over blanks. */
void jscan_ws(struct jscan *c);
/* A string at c->p: its raw contents (between the quotes) in s, n; esc if
 * it holds an escape, whose meaning is not worked out. */
int jscan_str(struct jscan *c, const char **s, size_t *n, bool *esc);
/* The literal w at c->p (stepped over), or false (not moved). */
bool jscan_word(struct jscan *c, const char *w);
/* Any value at c->p (blanks before it too), to its end. */
int jscan_value(struct jscan *c);

/* A raw string (s, n) that is exactly want. */
static inline bool jscan_is(const char *s, size_t n, const char *want)
{
	return n == strlen(want) && !memcmp(s, want, n);
}

#endif
