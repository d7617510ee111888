/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Post-copy frames (migrate/postcopy.h has the conversation), sent only
 * to a destination whose HELLO has WIRE_CAP_POSTCOPY:
 *   PC_FILE    S->D  str name (a pages image, "pages-N.img"), u64 size (a
 *                    multiple of the page size, at most WIRE_PC_MAX_BYTES):
 *                    that final image stays at the source; files are
 *                    numbered 0, 1, ... in the order of these frames
 *   PC_REQ     D->S  u32 file, u64 first page, u32 pages (1..WIRE_MAX_PAGES)
 *   PC_DATA    S->D  PAGES' layout: "pid" the file, "vaddr" the byte offset
 *   PC_PUSHED  S->D  no payload: every page was sent at least once
 *   PC_DONE    D->S  u64s: pages in all, taken on fault, pushed, post-copy
 *                    ms, fault latency median and p99 (us)
 * A destination that kills its tree after RESTORED (the pages did not all
 * come) answers NOT_RESTORED with code WIRE_PC_LOST when the tree may have
 * reached the outside world while it ran (WIRE_OUTCOME_LOST): the source
 * must not resume its older copy then.
 */
#ifndef FERRY_WIRE_PC_H
#define FERRY_WIRE_PC_H

#include <errno.h>
#include <stdint.h>
#include "wire.h"

#define WIRE_PC_MAX_FILES	64
#define WIRE_PC_MAX_BYTES	(1ull << 40)

struct wire_pc_file {
	char name[64];
	uint64_t size;
};
int wire_send_pc_file(struct wire_conn *c, const struct wire_pc_file *f);
/* name by wire_name_ok and "pages-<n>.img", size as above */
int wire_parse_pc_file(struct wire_conn *c, const struct wire_msg *m, struct wire_pc_file *f);

struct wire_pc_req {
	uint32_t file, npages;
	uint64_t page;
};
int wire_send_pc_req(struct wire_conn *c, const struct wire_pc_req *q);
/* the form only; the file and the range are the caller's to check */
int wire_parse_pc_req(struct wire_conn *c, const struct wire_msg *m, struct wire_pc_req *q);

#define WIRE_PC_DONE_N	6

#define WIRE_PC_LOST	(-ENOTRECOVERABLE)	/* NOT_RESTORED's code, see above */

#endif
