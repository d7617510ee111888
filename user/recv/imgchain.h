/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The receiver's pre-copied pages, kept directly as a chain of CRIU image
 * sets, one per pre-copy round:
 *
 *   DIR/r0/  pagemap-PID.img, pages-ID.img, inventory.img
 *   DIR/r1/  the same, plus parent -> ../r0
 *   ...
 *
 * A round's pages-ID.img holds the pages sent in that round, appended as
 * they arrive; its pagemap lists them as PE_PRESENT and every page an
 * earlier round holds (and this one did not resend) as PE_PARENT. The
 * newest round is then a complete parent for CRIU's final incremental
 * dump: `criu restore` follows the parent links as it does for pre-dumps.
 *
 * Every page is written once, when it arrives, and a round ends by writing
 * its small pagemaps; nothing is copied when the source freezes.
 *
 * The source sends each pid's pages of a round in ascending address order
 * (pre-copy rounds walk the address space upwards); a frame that goes
 * backwards is refused with -EPROTO, since pages-ID.img must follow the
 * pagemap's order.
 */
#ifndef FERRY_IMGCHAIN_H
#define FERRY_IMGCHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "criu_img.h"

struct imgchain;

struct imgchain_stats {
	uint32_t rounds;	/* round directories written */
	uint64_t pages;		/* pages received, all rounds */
	uint64_t bytes;		/* page data written */
	uint64_t round_pages;	/* pages of the last ended round */
	uint64_t cover_pages;	/* distinct pages the newest round covers */
};

/* Rounds go into DIR/rN (DIR must exist). */
int imgchain_open(struct imgchain **out, const char *dir, char *err, size_t errlen);
void imgchain_close(struct imgchain *c);

/*
 * An incremental chain (`ferry ha`): before the first round, r0/parent is
 * to be link (relative to DIR/r0: an image set outside DIR), and pid's
 * pages there are e[] (ascending, disjoint; flags ignored), which r0's
 * pagemap names as PE_PARENT unless the round holds them itself.
 */
int imgchain_set_base(struct imgchain *c, const char *link);
int imgchain_base_cover(struct imgchain *c, uint32_t pid, const struct criu_pme *e, size_t n);

/* npages pages of pid at vaddr, data npages * 4096 bytes, for this round. */
int imgchain_put(struct imgchain *c, uint32_t pid, uint64_t vaddr, uint32_t npages,
		 const void *data);

/*
 * End the round: write its pagemaps, inventory and parent link. A round
 * that received nothing writes no directory unless `always` (the final
 * dump needs some parent, even an empty one).
 */
int imgchain_end_round(struct imgchain *c, bool always);

/* Name of the newest round directory ("r3"), or NULL if none yet. */
const char *imgchain_top(const struct imgchain *c);
void imgchain_stats(const struct imgchain *c, struct imgchain_stats *st);
/* The reason for the last failure. */
const char *imgchain_err(const struct imgchain *c);

/*
 * Pure: the pagemap entries of one round. cover (pages of earlier rounds)
 * and sent (this round) are ascending, disjoint runs (flags ignored). out
 * gets sent as PE_PRESENT and cover minus sent as PE_PARENT, ascending,
 * with neighbours of equal flags joined; newcover gets cover + sent.
 * Both are malloc'ed. 0 or -ENOMEM.
 */
int imgchain_merge(const struct criu_pme *cover, size_t ncover, const struct criu_pme *sent,
		   size_t nsent, struct criu_pme **out, size_t *nout, struct criu_pme **newcover,
		   size_t *nnewcover);

#endif
