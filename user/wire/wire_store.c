// SPDX-License-Identifier: GPL-2.0
/* The checkpoint store session's messages (wire_store.h). */
#include <errno.h>
#include <string.h>
#include "wire_int.h"
#include "wire_store.h"

static int bad(struct wire_conn *c, const struct wire_msg *m, uint16_t type)
{
	if (m->type != type)
		return wire_fail(c, -EPROTO, "expected a %s frame, got %s", wire_type_name(type),
				 wire_type_name(m->type));
	return wire_fail(c, -EPROTO, "malformed %s frame (%u bytes)", wire_type_name(m->type),
			 m->len);
}

int wire_send_store_open(struct wire_conn *c, const struct wire_store_open *o)
{
	struct wire_buf b;

	wb_init(&b);
	wb_str(&b, o->chain);
	wb_u32(&b, o->keep);
	return wire_send_buf(c, WIRE_STORE_OPEN, &b);
}

int wire_parse_store_open(struct wire_conn *c, const struct wire_msg *m,
			  struct wire_store_open *o)
{
	struct wire_rd r;

	if (m->type != WIRE_STORE_OPEN)
		return bad(c, m, WIRE_STORE_OPEN);
	rd_init(&r, m->payload, m->len);
	rd_str(&r, o->chain, sizeof(o->chain));
	o->keep = rd_u32(&r);
	if (!rd_done(&r))
		return bad(c, m, WIRE_STORE_OPEN);
	return 0;
}

int wire_send_store_have(struct wire_conn *c, const struct wire_store_have *h)
{
	struct wire_buf b;

	if (h->n > WIRE_STORE_MAX_HAVE)
		return wire_fail(c, -EINVAL, "%u versions to list", h->n);
	wb_init(&b);
	wb_u32(&b, h->n);
	for (uint32_t i = 0; i < h->n; i++) {
		wb_u32(&b, h->version[i]);
		wb_u64(&b, h->created[i]);
	}
	return wire_send_buf(c, WIRE_STORE_HAVE, &b);
}

int wire_parse_store_have(struct wire_conn *c, const struct wire_msg *m,
			  struct wire_store_have *h)
{
	struct wire_rd r;

	if (m->type != WIRE_STORE_HAVE)
		return bad(c, m, WIRE_STORE_HAVE);
	rd_init(&r, m->payload, m->len);
	h->n = rd_u32(&r);
	/* the count is checked against the frame before it is believed */
	if (r.bad || h->n > WIRE_STORE_MAX_HAVE || (uint64_t)h->n * 12 != m->len - 4)
		return bad(c, m, WIRE_STORE_HAVE);
	for (uint32_t i = 0; i < h->n; i++) {
		h->version[i] = rd_u32(&r);
		h->created[i] = rd_u64(&r);
	}
	if (!rd_done(&r))
		return bad(c, m, WIRE_STORE_HAVE);
	return 0;
}

int wire_send_store_version(struct wire_conn *c, const struct wire_store_version *v)
{
	uint64_t u[6] = { v->version, v->base, v->created, v->base_created, v->bytes, v->entries };

	return wire_send_u64s(c, WIRE_STORE_VERSION, u, 6);
}

int wire_parse_store_version(struct wire_conn *c, const struct wire_msg *m,
			     struct wire_store_version *v)
{
	uint64_t u[6];

	if (m->type != WIRE_STORE_VERSION)
		return bad(c, m, WIRE_STORE_VERSION);
	if (wire_parse_u64s(c, m, u, 6))
		return -EPROTO;
	if (!u[0] || u[0] > UINT32_MAX || u[1] >= u[0] || u[5] > UINT32_MAX)
		return wire_fail(c, -EPROTO, "STORE_VERSION: version %llu on base %llu with %llu "
				 "entries", (unsigned long long)u[0], (unsigned long long)u[1],
				 (unsigned long long)u[5]);
	v->version = (uint32_t)u[0];
	v->base = (uint32_t)u[1];
	v->created = u[2];
	v->base_created = u[3];
	v->bytes = u[4];
	v->entries = (uint32_t)u[5];
	return 0;
}

int wire_send_store_file(struct wire_conn *c, const char *path, uint64_t size)
{
	struct wire_buf b;

	wb_init(&b);
	wb_str(&b, path);
	wb_u64(&b, size);
	return wire_send_buf(c, WIRE_STORE_FILE, &b);
}

int wire_send_store_link(struct wire_conn *c, const char *path, const char *target)
{
	struct wire_buf b;

	wb_init(&b);
	wb_str(&b, path);
	wb_str(&b, target);
	return wire_send_buf(c, WIRE_STORE_LINK, &b);
}

int wire_parse_store_entry(struct wire_conn *c, const struct wire_msg *m,
			   struct wire_store_entry *e)
{
	struct wire_rd r;

	memset(e, 0, sizeof(*e));
	if (m->type != WIRE_STORE_FILE && m->type != WIRE_STORE_LINK)
		return bad(c, m, WIRE_STORE_FILE);
	rd_init(&r, m->payload, m->len);
	rd_str(&r, e->path, sizeof(e->path));
	if (m->type == WIRE_STORE_FILE)
		e->size = rd_u64(&r);
	else
		rd_str(&r, e->target, sizeof(e->target));
	if (!rd_done(&r))
		return bad(c, m, m->type);
	return 0;
}
