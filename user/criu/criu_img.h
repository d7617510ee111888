/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Just enough of CRIU's image format (3.17; also read by 4.x) to write the
 * "parent" image set of an incremental dump: for every pid
 *
 *   pagemap-PID.img  u32 IMG_COMMON magic, u32 PAGEMAP magic, then
 *                    size-prefixed (u32) protobuf entries: one
 *                    pagemap_head { pages_id }, then pagemap_entry
 *                    { vaddr, nr_pages, flags = PE_PRESENT } per run of
 *                    consecutive pages, ascending;
 *   pages-ID.img     raw page data in pagemap order (no magic);
 *
 * and one inventory.img (INVENTORY magic only) with img_version and
 * dump_uptime, which `criu dump --track-mem --prev-images-dir` reads for
 * its pid-reuse check. The protobuf encoding is hand-written (varints,
 * field keys); a small reader exists for tests and for stats-dump.
 */
#ifndef FERRY_CRIU_IMG_H
#define FERRY_CRIU_IMG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pagestore;

#define CRIU_IMG_COMMON_MAGIC	0x54564319u
#define CRIU_IMG_SERVICE_MAGIC	0x55105940u
#define CRIU_INVENTORY_MAGIC	0x58313116u
#define CRIU_PAGEMAP_MAGIC	0x56084025u
#define CRIU_PSTREE_MAGIC	0x50273030u
#define CRIU_CORE_MAGIC		0x55053847u
#define CRIU_MM_MAGIC		0x57492820u
#define CRIU_STATS_MAGIC	0x57093306u
#define CRIU_IMAGES_V1_1	2
#define CRIU_PE_PARENT		(1u << 0)
#define CRIU_PE_LAZY		(1u << 1)
#define CRIU_PE_PRESENT		(1u << 2)
#define CRIU_PRE_DUMP_SPLICE	1

/* ---- protobuf wire format (varint, key) ------------------------------ */
#define PB_MAX_VARINT 10
size_t pb_put_varint(uint8_t *buf, uint64_t v);
/* Bytes consumed, or -1 if truncated / longer than 10 bytes. */
int pb_get_varint(const uint8_t *p, size_t len, uint64_t *v);
/* Append field (varint wire type) to buf at *off (buf must have room). */
void pb_put_field(uint8_t *buf, size_t *off, uint32_t field, uint64_t v);
/*
 * Find varint field `field` (or, for a length-delimited one, its bytes) in
 * a message. Returns 1 found, 0 absent, -1 malformed. Unknown fields of
 * every wire type are skipped.
 */
int pb_find_varint(const uint8_t *msg, size_t len, uint32_t field, uint64_t *v);
/* One field of a message, as pb_next() walks them. */
struct pb_field {
	uint32_t field;
	int wt;			/* wire type: 0 varint, 1 fixed64, 2 bytes, 5 fixed32 */
	uint64_t v;		/* varint value, or length of bytes */
	const uint8_t *bytes;	/* wire type 2 */
	size_t blen;
};
/* The field at *off (advanced past it): 1, 0 at the end, -1 malformed. */
int pb_next(const uint8_t *msg, size_t len, size_t *off, struct pb_field *f);
int pb_find_bytes(const uint8_t *msg, size_t len, uint32_t field, const uint8_t **p,
		  size_t *plen);

/* ---- images ---------------------------------------------------------- */
struct criu_pme {
	uint64_t vaddr;
	uint64_t nr_pages;
	uint32_t flags;
};

/* A growing list of pagemap entries. */
struct criu_pmevec {
	struct criu_pme *v;
	size_t n, cap;
};

/* Append pages at vaddr with flags, joined to the last entry if it ends at
 * vaddr with the same flags. 0 or -ENOMEM. */
int criu_pmevec_add(struct criu_pmevec *x, uint64_t vaddr, uint64_t pages, uint32_t flags);

struct criu_img_stats {
	uint64_t pids, entries, pages, bytes;
};

/* Write pagemap image `name` in dirfd: the head, then entries (ascending,
 * disjoint, page-aligned, else -EINVAL), replacing any old file atomically. */
int criu_img_write_pagemap_entries(int dirfd, const char *name, uint32_t pages_id,
				   const struct criu_pme *e, size_t n);
/* Write pagemap-PID.img of sorted page addresses (merged into runs). */
int criu_img_write_pagemap(int dirfd, uint32_t pid, uint32_t pages_id, const uint64_t *vaddrs,
			   size_t n, uint64_t *entries);
/* Now as /proc/uptime has it, in µs (CRIU's dump_uptime): 0 or -errno. */
int criu_img_uptime_us(uint64_t *us);
/* Write inventory.img with dump_uptime (µs since boot; 0 = now). */
int criu_img_write_inventory(int dirfd, uint64_t dump_uptime_us);
/*
 * The whole parent set for every pid of ps into dir (created if needed):
 * pagemaps, pages (with data when with_data, else empty files) and the
 * inventory. The source writes it without data (CRIU's dump reads only the
 * pagemaps), the receiver with the real pages from its store.
 *
 * dump_uptime_us (0 = now) is what `criu dump --prev-images-dir` compares
 * each process's start time with: a process that started at or after it
 * counts as a reused PID and is dumped whole, without the parent. The
 * source passes the moment it began tracking the tree, so a process forked
 * during the pre-copy under the PID of one that exited is never given the
 * pages sent for its predecessor.
 */
int criu_img_write_parent(const char *dir, struct pagestore *ps, bool with_data,
			  uint64_t dump_uptime_us, struct criu_img_stats *st, char *err,
			  size_t errlen);

/* A whole image file whose magic (after IMG_COMMON) is `magic`, malloc'ed;
 * -EPROTO if it is not one. */
int criu_img_load(const char *path, uint32_t magic, uint8_t **buf, size_t *len);
/* Its next protobuf entry from *off (0 = first): 1, 0 at the end, -EPROTO. */
int criu_img_next(const uint8_t *buf, size_t len, size_t *off, const uint8_t **msg, size_t *mlen);
/* Read back a pagemap (tests, tools): pages_id and a malloc'ed entry array. */
int criu_img_read_pagemap(const char *path, uint32_t *pages_id, struct criu_pme **ents,
			  size_t *n);

/* Dump statistics from a stats-dump image (µs and pages as CRIU names them). */
struct criu_dump_stats {
	uint64_t freezing_time, frozen_time, memdump_time, memwrite_time;
	uint64_t pages_scanned, pages_skipped_parent, pages_written;
};
int criu_img_read_dump_stats(const char *path, struct criu_dump_stats *st);

struct criu_restore_stats {
	uint64_t forking_time, restore_time, pages_restored;
};
int criu_img_read_restore_stats(const char *path, struct criu_restore_stats *st);

#endif
