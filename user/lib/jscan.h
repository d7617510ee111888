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
/* The object or array that open ('{' or '[') starts at c->p (blanks
 * before it too), stepped into: 1 when a member or element follows, 0 when
 * it is empty (stepped over whole). For walking one by hand:
 *   for (more = jscan_open(c, '['); more > 0; more = jscan_more(c, ']'))
 *           ... one element at c->p, walked over ...
 *   more < 0: not JSON */
int jscan_open(struct jscan *c, char open);
/* After a member or element of the object or array that close ends:
 * 1 when another follows (the ',' stepped over), 0 at its end (the
 * bracket stepped over), -EINVAL otherwise (a trailing comma too). */
int jscan_more(struct jscan *c, char close);
/* A member's key at c->p (as jscan_str), and the ':' after it. */
int jscan_key(struct jscan *c, const char **s, size_t *n, bool *esc);

/* A raw string (s, n) that is exactly want. */
static inline bool jscan_is(const char *s, size_t n, const char *want)
{
	return n == strlen(want) && !memcmp(s, want, n);
}

#endif
