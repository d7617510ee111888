/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Dirty-page tracking of another process, behind one interface with three
 * backends:
 *
 *  module        ferry.ko FERRY_CMD_DIRTY_SCAN: extents straight from the
 *                page tables; CLEAR re-arms the reported pages without
 *                stopping the process.
 *  pagemap-scan  the PAGEMAP_SCAN ioctl (Linux >= 6.7); reports only, so
 *                a clearing scan freezes the target around the ioctl and a
 *                write of "4" to /proc/PID/clear_refs.
 *  pagemap       8 bytes per page from /proc/PID/pagemap (bit 55); a
 *                clearing scan freezes the target the same way.
 *
 * Every backend reports the same thing: the pages whose soft-dirty bit
 * (pagemap bit 55) is set, as sorted, non-overlapping extents; flags are
 * FERRY_EXTENT_F_* and are as precise as the backend can make them (only
 * the module knows THP and VMA_SOFTDIRTY for sure).
 *
 * The freeze (SIGSTOP, wait for every thread to stop, SIGCONT) is what the
 * module avoids: a clearing scan through the module never stops the target,
 * except once after a VMA appeared (see DIRTY_OPT_REARM_VMAS).
 */
#ifndef FERRY_DIRTY_TRACK_H
#define FERRY_DIRTY_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/ferry.h>

enum dirty_backend {
	DIRTY_BACKEND_AUTO,		/* module, else pagemap-scan, else pagemap */
	DIRTY_BACKEND_MODULE,
	DIRTY_BACKEND_PAGEMAP_SCAN,
	DIRTY_BACKEND_PAGEMAP,
};

/* The whole user address space. */
#define DIRTY_ADDR_MAX	UINT64_MAX

struct dirty_extent {
	uint64_t start;		/* address of the first page */
	uint64_t pages;		/* number of pages */
	uint32_t flags;		/* enum ferry_extent_flag */
};

/* A growable array of extents, kept sorted by the producers. */
struct dirty_extents {
	struct dirty_extent *v;
	size_t n, cap;
};

struct dirty_stats {
	uint64_t vmas;			/* VMAs visited (module, pagemap) */
	uint64_t pages_scanned;		/* pages covered */
	uint64_t pages_dirty;		/* pages reported */
	uint64_t pages_cleared;		/* pages re-armed */
	uint64_t tables_skipped;	/* module: clean PTE tables skipped */
	uint64_t kernel_ns;		/* module: kernel walk time */
	uint64_t wall_ns;		/* whole scan as seen by the caller */
	uint64_t frozen_ns;		/* target stopped during this scan */
	bool rearmed_vmas;		/* froze to clear VM_SOFTDIRTY */
};

/* Options for dirty_track_open(). */
enum dirty_opt {
	/*
	 * module backend: when a clearing scan of the whole address space
	 * reports pages dirty only because their VMA is new (VM_SOFTDIRTY,
	 * which a module cannot clear), freeze the target, scan and clear
	 * again, write "4" to clear_refs (which clears VM_SOFTDIRTY), thaw.
	 * Nothing is lost and later rounds of that VMA are page-precise.
	 */
	DIRTY_OPT_REARM_VMAS	= 1U << 0,
	/*
	 * module backend: when ferry.ko refuses to re-arm (EOPNOTSUPP: the
	 * process's memory has MMU notifiers, e.g. it runs a KVM guest,
	 * whose secondary TLBs only clear_refs can tell), track with
	 * pagemap-scan (or pagemap) from then on, which freezes the process
	 * for each clearing scan. dirty_track_note() says so.
	 */
	DIRTY_OPT_FALLBACK	= 1U << 1,
};

struct dirty_tracker;

/*
 * Start tracking pid with the given backend (AUTO: the best available;
 * need_clear: the caller will ask for clearing scans). Returns 0 or
 * -errno: -ESRCH no such process, -EPERM not allowed, -ENOENT/-ENOTSUP
 * the backend is unavailable. *msg (if not NULL) gets a reason.
 */
int dirty_track_open(struct dirty_tracker **out, pid_t pid,
		     enum dirty_backend backend, bool need_clear,
		     unsigned int opts, char *msg, size_t msglen);
void dirty_track_close(struct dirty_tracker *t);

/* Write "4" to /proc/PID/clear_refs: clear every soft-dirty bit and
 * VM_SOFTDIRTY (-ESRCH if PID is gone). Arms tracking from scratch; not
 * atomic with any read, so callers copy everything after it. */
int dirty_clear_refs(pid_t pid);
enum dirty_backend dirty_track_backend(const struct dirty_tracker *t);

/*
 * The dirty pages of [start, end) (page aligned; end DIRTY_ADDR_MAX for
 * everything), appended to out (which is reset first). With clear, every
 * reported page is re-armed: a write after the report shows up in the next
 * scan. On error the extents are undefined; after a failed clearing scan
 * the caller must assume everything is dirty. dirty_track_error() says why.
 */
int dirty_track_scan(struct dirty_tracker *t, uint64_t start, uint64_t end,
		     bool clear, struct dirty_extents *out, struct dirty_stats *st);
const char *dirty_track_error(const struct dirty_tracker *t);
/* Why the backend changed since dirty_track_open() ("" if it did not). */
const char *dirty_track_note(const struct dirty_tracker *t);

const char *dirty_backend_name(enum dirty_backend b);
/* "module", "pagemap-scan", "pagemap" or "auto"; false if unknown. */
bool dirty_backend_parse(const char *s, enum dirty_backend *b);

/* ---- extents (pure logic, unit tested) ------------------------------- */
void dirty_extents_init(struct dirty_extents *x);
void dirty_extents_reset(struct dirty_extents *x);
void dirty_extents_free(struct dirty_extents *x);
/* Append, merging with the last extent when adjacent with equal flags.
 * Extents must come in ascending order. 0 or -ENOMEM / -EINVAL. */
int dirty_extents_add(struct dirty_extents *x, uint64_t start, uint64_t pages,
		      uint32_t flags);
uint64_t dirty_extents_pages(const struct dirty_extents *x);
/* out = a ∪ b (both sorted, non-overlapping); overlapping pages get the
 * OR of both flags. out must differ from a and b. */
int dirty_extents_union(const struct dirty_extents *a, const struct dirty_extents *b,
			struct dirty_extents *out);
/* Is the page at addr in x? (binary search) */
bool dirty_extents_contains(const struct dirty_extents *x, uint64_t addr);
/* Comma-separated names of FERRY_EXTENT_F_* bits into buf. */
const char *dirty_flags_str(uint32_t flags, char *buf, size_t len);
/* Name of extent flag bit i, NULL past the last. */
const char *dirty_flag_name(unsigned int bit);

/* ---- /proc parsing (pure logic, unit tested) ------------------------- */
struct dirty_vma {
	uint64_t start, end;
	bool read, write, shared;
	uint64_t inode;
	char name[256];		/* path, [heap], ... or "" */
};
/* Parse one line of /proc/PID/maps. */
bool dirty_parse_maps_line(const char *line, struct dirty_vma *v);
/* Extent flags every page of this VMA gets (ANON/FILE/SHARED). */
uint32_t dirty_vma_flags(const struct dirty_vma *v);

#define PM_ENTRY_SOFT_DIRTY	(1ULL << 55)
#define PM_ENTRY_FILE		(1ULL << 61)
#define PM_ENTRY_SWAP		(1ULL << 62)
#define PM_ENTRY_PRESENT	(1ULL << 63)
/* Turn n pagemap entries for pages starting at addr into extents. */
int dirty_pagemap_parse(const uint64_t *ent, size_t n, uint64_t addr,
			uint32_t base_flags, struct dirty_extents *out);
/* Extent flags of a PAGEMAP_SCAN region's categories. */
uint32_t dirty_pmscan_flags(uint64_t categories);

/* ---- freezing (pagemap backends, benchmarks) -------------------------- */
struct dirty_freeze {
	pid_t pid;
	bool was_stopped;	/* already stopped: leave it stopped */
	bool frozen;
	uint64_t t0;
};
/* SIGSTOP the process and wait until every thread has stopped. */
int dirty_freeze(struct dirty_freeze *f, pid_t pid);
int dirty_thaw(struct dirty_freeze *f);

/*
 * Soft-dirty bits are one per page, shared by whoever reads them: two
 * clearing users of one process (`ferry ha` and `ferry migrate`, two
 * checkpoints, `ferry dirty --clear`) would each re-arm pages the other has
 * not copied yet, and the other's copy would keep a stale page. A claim
 * makes ferry's clearing users of a process exclusive: an flock on
 * /run/ferry/dirty-PID-STARTTIME, held from before the first clear until
 * the bits are no longer needed (after CRIU's final dump). Other programs
 * that clear soft-dirty (CRIU pre-dumps, clear_refs) are not seen.
 */
struct dirty_claim {
	int fd;
	char path[80];
};

/* Claim pid for `ferry what`, waiting up to wait_ms for a holder to let
 * go: 0, or -EBUSY (err says who holds it). */
int dirty_claim(pid_t pid, const char *what, int wait_ms, struct dirty_claim *c, char *err,
		size_t errlen);
void dirty_release(struct dirty_claim *c);

#endif
