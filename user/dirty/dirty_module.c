// SPDX-License-Identifier: GPL-2.0
/* Dirty tracking backend "module": FERRY_CMD_DIRTY_SCAN of ferry.ko. */
#include <errno.h>
#include <string.h>
#include <linux/genetlink.h>
#include "dirty_track_int.h"

struct module_ctx {
	struct dirty_extents *out;
	struct dirty_stats *st;
	int err;
};

static uint64_t get_u64(const struct nlattr *a)
{
	return a && mnl_attr_validate(a, MNL_TYPE_U64) == 0 ? mnl_attr_get_u64(a) : 0;
}

static int scan_cb(const struct nlmsghdr *nlh, void *data)
{
	struct module_ctx *ctx = data;
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		const struct nlattr *tb[FERRY_DSTAT_A_MAX + 1];
		const struct nlattr *eb[FERRY_EXTENT_A_MAX + 1];

		switch (mnl_attr_get_type(a)) {
		case FERRY_DIRTY_A_EXTENT:
			ferry_nl_parse_nested(a, eb, FERRY_EXTENT_A_MAX);
			if (!eb[FERRY_EXTENT_A_START] || !eb[FERRY_EXTENT_A_PAGES] ||
			    !eb[FERRY_EXTENT_A_FLAGS] ||
			    mnl_attr_validate(eb[FERRY_EXTENT_A_FLAGS], MNL_TYPE_U32)) {
				errno = EPROTO;
				return MNL_CB_ERROR;
			}
			ctx->err = dirty_extents_add(ctx->out, get_u64(eb[FERRY_EXTENT_A_START]),
						     get_u64(eb[FERRY_EXTENT_A_PAGES]),
						     mnl_attr_get_u32(eb[FERRY_EXTENT_A_FLAGS]));
			if (ctx->err) {
				errno = -ctx->err;
				return MNL_CB_ERROR;
			}
			break;
		case FERRY_DIRTY_A_PACKED: {
			const struct ferry_dirty_packed *p = mnl_attr_get_payload(a);
			size_t n = mnl_attr_get_payload_len(a) / sizeof(*p);

			if (mnl_attr_get_payload_len(a) % sizeof(*p)) {
				errno = EPROTO;
				return MNL_CB_ERROR;
			}
			for (size_t i = 0; i < n; i++) {
				struct ferry_dirty_packed e;

				memcpy(&e, p + i, sizeof(e));	/* attrs are 4-aligned */
				ctx->err = dirty_extents_add(ctx->out, e.start, e.pages, e.flags);
				if (ctx->err) {
					errno = -ctx->err;
					return MNL_CB_ERROR;
				}
			}
			break;
		}
		case FERRY_DIRTY_A_STATS:
			ferry_nl_parse_nested(a, tb, FERRY_DSTAT_A_MAX);
			ctx->st->vmas = get_u64(tb[FERRY_DSTAT_A_VMAS]);
			ctx->st->pages_scanned = get_u64(tb[FERRY_DSTAT_A_PAGES_SCANNED]);
			ctx->st->pages_dirty = get_u64(tb[FERRY_DSTAT_A_PAGES_DIRTY]);
			ctx->st->pages_cleared = get_u64(tb[FERRY_DSTAT_A_PAGES_CLEARED]);
			ctx->st->kernel_ns = get_u64(tb[FERRY_DSTAT_A_SCAN_NS]);
			ctx->st->tables_skipped = get_u64(tb[FERRY_DSTAT_A_TABLES_SKIPPED]);
			break;
		}
	}
	return MNL_CB_OK;
}

int dirty_module_scan(struct dirty_tracker *t, uint64_t start, uint64_t end,
		      bool clear, struct dirty_extents *out, struct dirty_stats *st)
{
	struct module_ctx ctx = { .out = out, .st = st };
	struct nlmsghdr *nlh;
	int ret;

	nlh = ferry_nl_request(&t->nl, FERRY_CMD_DIRTY_SCAN, 1);
	mnl_attr_put_u32(nlh, FERRY_DIRTY_A_PID, (uint32_t)t->pid);
	if (start)
		mnl_attr_put_u64(nlh, FERRY_DIRTY_A_START, start);
	if (end != DIRTY_ADDR_MAX)
		mnl_attr_put_u64(nlh, FERRY_DIRTY_A_END, end);
	mnl_attr_put_u32(nlh, FERRY_DIRTY_A_FLAGS,
			 FERRY_DIRTY_F_PACKED | (clear ? FERRY_DIRTY_F_CLEAR : 0));
	ret = ferry_nl_run(&t->nl, nlh, scan_cb, &ctx);
	if (ret < 0) {
		if (t->nl.errmsg[0])
			dirty_set_err(t, "pid %d: %s (%s)", (int)t->pid, t->nl.errmsg,
				      strerror(-ret));
		else if (ret == -ESRCH)
			dirty_set_err(t, "process %d exited or does not exist", (int)t->pid);
		else
			dirty_set_err(t, "DIRTY_SCAN failed: %s", strerror(-ret));
	}
	return ret;
}
