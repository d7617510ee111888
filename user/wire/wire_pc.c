// SPDX-License-Identifier: GPL-2.0
/* Post-copy frames (wire_pc.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "wire_int.h"
#include "wire_pc.h"

int wire_send_pc_file(struct wire_conn *c, const struct wire_pc_file *f)
{
	struct wire_buf b;

	wb_init(&b);
	wb_str(&b, f->name);
	wb_u64(&b, f->size);
	return wire_send_buf(c, WIRE_PC_FILE, &b);
}

int wire_parse_pc_file(struct wire_conn *c, const struct wire_msg *m, struct wire_pc_file *f)
{
	struct wire_rd r;
	unsigned int n;
	char tail;

	if (m->type != WIRE_PC_FILE)
		return wire_fail(c, -EPROTO, "expected a PC_FILE frame, got %s",
				 wire_type_name(m->type));
	memset(f, 0, sizeof(*f));
	rd_init(&r, m->payload, m->len);
	rd_str(&r, f->name, sizeof(f->name));
	f->size = rd_u64(&r);
	if (!rd_done(&r) || !wire_name_ok(f->name) ||
	    sscanf(f->name, "pages-%u.im%c", &n, &tail) != 2 || tail != 'g' ||
	    strlen(f->name) != (size_t)snprintf(NULL, 0, "pages-%u.img", n) ||
	    f->size % WIRE_PAGE_SIZE || f->size > WIRE_PC_MAX_BYTES)
		return wire_fail(c, -EPROTO, "malformed PC_FILE frame (%u bytes)", m->len);
	return 0;
}

int wire_send_pc_req(struct wire_conn *c, const struct wire_pc_req *q)
{
	struct wire_buf b;

	wb_init(&b);
	wb_u32(&b, q->file);
	wb_u64(&b, q->page);
	wb_u32(&b, q->npages);
	return wire_send_buf(c, WIRE_PC_REQ, &b);
}

int wire_parse_pc_req(struct wire_conn *c, const struct wire_msg *m, struct wire_pc_req *q)
{
	struct wire_rd r;

	if (m->type != WIRE_PC_REQ)
		return wire_fail(c, -EPROTO, "expected a PC_REQ frame, got %s",
				 wire_type_name(m->type));
	rd_init(&r, m->payload, m->len);
	q->file = rd_u32(&r);
	q->page = rd_u64(&r);
	q->npages = rd_u32(&r);
	if (!rd_done(&r) || q->file >= WIRE_PC_MAX_FILES || !q->npages ||
	    q->npages > WIRE_MAX_PAGES || q->page > WIRE_PC_MAX_BYTES / WIRE_PAGE_SIZE)
		return wire_fail(c, -EPROTO, "malformed PC_REQ frame (%u bytes)", m->len);
	return 0;
}
