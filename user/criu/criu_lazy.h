/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Lazy restore of the pre-copied pages from the destination's own images.
 *
 * CRIU's final incremental dump lists every page it did not dump as
 * PE_PARENT, and `criu restore` copies all of them into the new process
 * before it runs: at 1 GiB that population is most of the downtime. With
 * `--lazy-pages`, CRIU skips the entries flagged PE_LAZY, registers their
 * VMAs with userfaultfd and hands the descriptors to a lazy-pages server,
 * which fills the pages on first touch and streams the rest in the
 * background once the tree runs (ferry's own server, lazy_server.h: CRIU
 * 3.17's `criu lazy-pages` never completes a fault whose page lies in a
 * parent image).
 *
 * CRIU's dump sets PE_LAZY only on pages it writes itself, so before the
 * restore criu_lazy_mark() adds it to the in-parent entries CRIU would have
 * made lazy: those in private anonymous VMAs that are not locked, hugetlb,
 * [vdso], [vvar] or [vsyscall], except the page each thread's stack pointer
 * is in (CRIU keeps that one eager too).
 */
#ifndef FERRY_CRIU_LAZY_H
#define FERRY_CRIU_LAZY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "criu_img.h"

struct criu_lazy_vma {
	uint64_t start, end;
	bool lazy;		/* CRIU may fill it through userfaultfd */
};

/* Pure: VmaEntry flags/status -> can CRIU restore it lazily? */
bool criu_lazy_vma_ok(uint32_t flags, uint32_t status);

/*
 * Pure: the entries of one pagemap with PE_LAZY added to the in-parent
 * pages (mark CRIU_LAZY_PARENT) and/or its own present ones (CRIU_LAZY_OWN)
 * inside lazy VMAs (ascending, disjoint), except the pages holding
 * one of sp[] (any order). Entries are split where that changes. *lazy
 * gets the number of pages newly marked. out is malloc'ed.
 */
#define CRIU_LAZY_PARENT	0x1	/* the in-parent pages (pre-copied) */
#define CRIU_LAZY_OWN		0x2	/* the dump's own pages (post-copy) */
int criu_lazy_split(const struct criu_pme *in, size_t n, const struct criu_lazy_vma *v,
		    size_t nv, const uint64_t *sp, size_t nsp, unsigned int mark,
		    struct criu_pme **out, size_t *nout, uint64_t *lazy);

struct criu_lazy_stats {
	uint64_t tasks;		/* processes in pstree.img, zombies included */
	uint64_t processes;	/* pagemaps rewritten */
	uint64_t lazy_pages;	/* in-parent pages left to the daemon */
	uint64_t eager_pages;	/* in-parent pages CRIU still restores itself */
};

/* The processes (not threads) of pstree.img in dir: 0 or -errno. */
int criu_pstree_pids(const char *dir, uint32_t **pids, size_t *n);

/* Mark the final dump in dir (pstree, mm, core and pagemap images); mark
 * as for criu_lazy_split. */
int criu_lazy_mark(const char *dir, unsigned int mark, struct criu_lazy_stats *st, char *err,
		   size_t errlen);

/* A run of pages of pages-<pages_id>.img, counted in pages from its start. */
struct criu_lazy_run {
	uint32_t pages_id;
	uint64_t page, npages;
};
/* Post-copy: the present pages of dir's pagemaps that CRIU reads itself
 * (not PE_LAZY), as runs of their pages files: what must be in place
 * before `criu restore` starts. *out malloc'ed. */
int criu_lazy_eager_runs(const char *dir, struct criu_lazy_run **out, size_t *nout, char *err,
			 size_t errlen);

#endif
