/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Post-copy on the source (postcopy.h): the final dump's pages files stay
 * here and are served from here, asked-for pages first, the rest pushed,
 * until the destination has every page. The push follows the tree: after a
 * request it goes on from the page after it (what a tree touches next is
 * most often near what it touched last), and wraps around to what it
 * passed over.
 */
#ifndef FERRY_MIG_PC_SRC_H
#define FERRY_MIG_PC_SRC_H

#include <stdbool.h>
#include <stdint.h>
#include "wire.h"
#include "wire_pc.h"

struct pc_src_file {
	char name[64];
	int fd;
	uint64_t pages;
	uint8_t *sent;		/* bit per page */
};

struct pc_src {
	struct pc_src_file f[WIRE_PC_MAX_FILES];
	size_t n;
	size_t push_file;	/* the push's cursor */
	uint64_t push_page;
	bool pushed;		/* PC_PUSHED went */
	uint64_t pages, on_request, on_push;
	uint64_t unsent;	/* pages never sent yet */
	uint8_t *buf;		/* WIRE_MAX_PAGES pages */
};

/* Is this final image one post-copy leaves here? */
bool pc_src_keeps(const char *name);
/* Keep final image name (open on fd, taken over) here and announce it with
 * PC_FILE. 0 or -errno (why in err). */
int pc_src_add(struct pc_src *p, struct wire_conn *c, const char *name, int fd, char *err,
	       size_t errlen);
/* A PC_REQ: the pages asked for, at once; the push goes on after them. */
int pc_src_serve(struct pc_src *p, struct wire_conn *c, const struct wire_msg *m, char *err,
		 size_t errlen);
/* One push step: the next pages not sent yet (then PC_PUSHED once). 1 when
 * nothing is left to push, 0 after a step, -errno. */
int pc_src_push(struct pc_src *p, struct wire_conn *c, char *err, size_t errlen);
void pc_src_free(struct pc_src *p);

#endif
