/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FERRY_CMD_DIRTY_SCAN, between its two files: dirty.c (the request, the
 * per-dump state and the reply encoding) and dirty_walk.c (the page-table
 * walk that fills the state's extent buffer and re-arms what it reports).
 */
#ifndef FERRY_DIRTY_H
#define FERRY_DIRTY_H

#include <linux/mm_types.h>
#include <linux/netlink.h>
#include <linux/types.h>

/* Extents buffered per dump: 24 bytes each, ~24 KiB per running dump. */
#define FERRY_DIRTY_BUF		1024

struct ferry_dirty_ext {
	u64 start;
	u64 pages;
	u32 flags;
};

struct ferry_dirty_state {
	struct mm_struct *mm;		/* mmgrab()ed in .start */
	unsigned long addr;		/* next address to walk */
	unsigned long end;		/* end of the requested range */
	u32 flags;			/* enum ferry_dirty_flag */
	bool walk_done;			/* addr reached end */
	bool finished;			/* stats sent, next call ends the dump */
	unsigned long last_vma_end;	/* to count VMAs once across resumes */
	/* statistics (FERRY_DSTAT_A_*) */
	u64 vmas, scanned, dirty, cleared, scan_ns, skipped;
	int setup_err;			/* request error deferred to dumpit */
	struct netlink_ext_ack setup_extack;
	/* buffered extents: ext[head..n) not yet sent; ext[n-1] may grow */
	unsigned int head, n;
	struct ferry_dirty_ext ext[FERRY_DIRTY_BUF];
};

/*
 * Walk from st->addr under the mmap lock until the range is done, the
 * extent buffer is full, or a writer waits for the lock. Every entry it
 * re-armed is flushed from every TLB before the mmap lock is dropped.
 * Returns 0 or -errno (extack says why for the errors it makes up).
 */
int ferry_dirty_walk(struct ferry_dirty_state *st, struct netlink_ext_ack *extack);

#endif /* FERRY_DIRTY_H */
