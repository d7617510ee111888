// SPDX-License-Identifier: GPL-2.0
/* VOLUME frames (wire_vol.h). */
#include <errno.h>
#include <string.h>
#include "wire_int.h"
#include "wire_vol.h"

bool wire_vol_path_ok(const char *path, bool root_ok)
{
	const char *p = path;

	if (!strcmp(path, "."))
		return root_ok;
	if (!*p || strlen(p) >= WIRE_VOL_PATH_MAX)
		return false;
	for (;;) {
		size_t n = strcspn(p, "/");

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		if (!p[n])
			return true;
		p += n + 1;
	}
}

int wire_send_vol(struct wire_conn *c, const struct wire_vol *v)
{
	struct wire_buf b;

	wb_init(&b);
	wb_u8(&b, v->op);
	wb_u8(&b, v->vol);
	switch (v->op) {
	case WIRE_VOL_BEGIN:
		wb_u8(&b, v->phase);
		wb_u64(&b, v->bytes);
		wb_u64(&b, v->entries);
		break;
	case WIRE_VOL_DIR:
	case WIRE_VOL_FILE:
		wb_str(&b, v->path);
		wb_u32(&b, v->mode);
		wb_u32(&b, v->uid);
		wb_u32(&b, v->gid);
		wb_u64(&b, v->mtime_ns);
		if (v->op == WIRE_VOL_FILE)
			wb_u64(&b, v->size);
		break;
	case WIRE_VOL_LINK:
		wb_str(&b, v->path);
		wb_str(&b, v->target);
		wb_u32(&b, v->uid);
		wb_u32(&b, v->gid);
		wb_u64(&b, v->mtime_ns);
		break;
	case WIRE_VOL_DEL:
		wb_str(&b, v->path);
		break;
	default:
		break;
	}
	return wire_send_buf(c, WIRE_VOLUME, &b);
}

int wire_parse_vol(struct wire_conn *c, const struct wire_msg *m, struct wire_vol *v)
{
	struct wire_rd r;
	bool ok;

	if (m->type != WIRE_VOLUME)
		return wire_fail(c, -EPROTO, "expected a VOLUME frame, got %s",
				 wire_type_name(m->type));
	memset(v, 0, sizeof(*v));
	rd_init(&r, m->payload, m->len);
	v->op = rd_u8(&r);
	v->vol = rd_u8(&r);
	switch (v->op) {
	case WIRE_VOL_BEGIN:
		v->phase = rd_u8(&r);
		v->bytes = rd_u64(&r);
		v->entries = rd_u64(&r);
		ok = v->phase <= WIRE_VOL_FINAL && v->entries <= WIRE_VOL_MAX_ENTRIES;
		break;
	case WIRE_VOL_DIR:
	case WIRE_VOL_FILE:
		rd_str(&r, v->path, sizeof(v->path));
		v->mode = rd_u32(&r);
		v->uid = rd_u32(&r);
		v->gid = rd_u32(&r);
		v->mtime_ns = rd_u64(&r);
		if (v->op == WIRE_VOL_FILE)
			v->size = rd_u64(&r);
		ok = !r.bad && wire_vol_path_ok(v->path, v->op == WIRE_VOL_DIR) &&
		     !(v->mode & ~07777u);
		break;
	case WIRE_VOL_LINK:
		rd_str(&r, v->path, sizeof(v->path));
		rd_str(&r, v->target, sizeof(v->target));
		v->uid = rd_u32(&r);
		v->gid = rd_u32(&r);
		v->mtime_ns = rd_u64(&r);
		ok = !r.bad && wire_vol_path_ok(v->path, false) && v->target[0];
		break;
	case WIRE_VOL_DEL:
		rd_str(&r, v->path, sizeof(v->path));
		ok = !r.bad && wire_vol_path_ok(v->path, false);
		break;
	case WIRE_VOL_END:
	case WIRE_VOL_READY:
		ok = true;
		break;
	default:
		ok = false;
	}
	if (!ok || !rd_done(&r))
		return wire_fail(c, -EPROTO, "malformed VOLUME frame (%u bytes)", m->len);
	return 0;
}
