// SPDX-License-Identifier: GPL-2.0
/* A skimmer of JSON text (jscan.h). */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include "jscan.h"

void jscan_ws(struct jscan *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

int jscan_str(struct jscan *c, const char **s, size_t *n, bool *esc)
{
	if (c->p >= c->end || *c->p != '"')
		return -EINVAL;
	*s = ++c->p;
	*esc = false;
	while (c->p < c->end) {
		unsigned char ch = (unsigned char)*c->p;

		if (ch == '"') {
			*n = (size_t)(c->p - *s);
			c->p++;
			return 0;
		}
		if (ch < 0x20)
			return -EINVAL;
		if (ch == '\\') {
			*esc = true;
			if (++c->p >= c->end || !*c->p || !strchr("\"\\/bfnrtu", *c->p))
				return -EINVAL;
			if (*c->p == 'u') {
				if (c->end - c->p < 5)
					return -EINVAL;
				for (int i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)c->p[i]))
						return -EINVAL;
				c->p += 4;
			}
		}
		c->p++;
	}
	return -EINVAL;
}

bool jscan_word(struct jscan *c, const char *w)
{
	size_t n = strlen(w);

	if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n))
		return false;
	c->p += n;
	return true;
}

/* An object or array at c->p, to its closing bracket. */
static int jcontainer(struct jscan *c)
{
	char open = *c->p, close = open == '{' ? '}' : ']';
	const char *s;
	size_t n;
	bool esc;
	int more, ret = 0;

	for (more = jscan_open(c, open); more > 0 && !ret; more = jscan_more(c, close)) {
		if (open == '{')
			ret = jscan_key(c, &s, &n, &esc);
		if (!ret)
			ret = jscan_value(c);
	}
	return ret ? ret : more;
}

int jscan_value(struct jscan *c)
{
	const char *s;
	size_t n;
	bool esc;

	jscan_ws(c);
	if (c->p >= c->end)
		return -EINVAL;
	switch (*c->p) {
	case '"':
		return jscan_str(c, &s, &n, &esc);
	case '{':
	case '[':
		return jcontainer(c);
	case 't':
		return jscan_word(c, "true") ? 0 : -EINVAL;
	case 'f':
		return jscan_word(c, "false") ? 0 : -EINVAL;
	case 'n':
		return jscan_word(c, "null") ? 0 : -EINVAL;
	default:
		s = c->p;
		while (c->p < c->end && *c->p && strchr("+-.0123456789eE", *c->p))
			c->p++;
		return c->p > s ? 0 : -EINVAL;
	}
}

int jscan_open(struct jscan *c, char open)
{
	char close = open == '{' ? '}' : ']';

	jscan_ws(c);
	if (c->p >= c->end || *c->p != open || c->depth >= JSCAN_DEPTH_MAX)
		return -EINVAL;
	c->p++;
	c->depth++;
	jscan_ws(c);
	if (c->p < c->end && *c->p == close) {
		c->p++;
		c->depth--;
		return 0;
	}
	return c->p < c->end ? 1 : -EINVAL;
}

int jscan_more(struct jscan *c, char close)
{
	jscan_ws(c);
	if (c->p >= c->end)
		return -EINVAL;
	if (*c->p == close) {
		c->p++;
		c->depth--;
		return 0;
	}
	if (*c->p != ',')
		return -EINVAL;
	c->p++;
	jscan_ws(c);
	return c->p < c->end && *c->p != close ? 1 : -EINVAL;
}

int jscan_key(struct jscan *c, const char **s, size_t *n, bool *esc)
{
	int ret = jscan_str(c, s, n, esc);

	if (ret)
		return ret;
	jscan_ws(c);
	if (c->p >= c->end || *c->p++ != ':')
		return -EINVAL;
	jscan_ws(c);
	return 0;
}
