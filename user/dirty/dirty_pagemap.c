// SPDX-License-Identifier: GPL-2.0
/*
 * Dirty tracking backends without ferry.ko: "pagemap" (8 bytes per page
 * from /proc/PID/pagemap, bit 55) and "pagemap-scan" (the PAGEMAP_SCAN
 * ioctl of Linux >= 6.7). Both only report; clearing is clear_refs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include "dirty_track_int.h"
#include "pagemap_scan.h"

#define PM_CHUNK	(64 * 1024)	/* entries per pread: 512 KiB */
#define PMS_REGIONS	4096
#define USER_TOP	0x0100000000000000ULL	/* above any user address */

int dirty_clear_refs(pid_t pid)
{
	char path[64];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "/proc/%d/clear_refs", (int)pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	if (write(fd, "4", 1) != 1)
		ret = -errno;
	close(fd);
	return ret;
}

/* Call fn for every VMA of pid overlapping [start, end). */
static int for_each_vma(struct dirty_tracker *t, uint64_t start, uint64_t end,
			int (*fn)(struct dirty_tracker *, const struct dirty_vma *,
				  uint64_t, uint64_t, void *), void *data)
{
	char path[64], *line = NULL;
	size_t cap = 0;
	int ret = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)t->pid);
	f = fopen(path, "re");
	if (!f) {
		ret = errno == ENOENT ? -ESRCH : -errno;
		dirty_set_err(t, "%s: %s", path, strerror(-ret));
		return ret;
	}
	while (!ret && getline(&line, &cap, f) > 0) {
		struct dirty_vma v;
		uint64_t s, e;

		if (!dirty_parse_maps_line(line, &v) || v.start >= USER_TOP)
			continue;
		s = v.start > start ? v.start : start;
		e = v.end < end ? v.end : end;
		if (s < e)
			ret = fn(t, &v, s, e, data);
	}
	free(line);
	fclose(f);
	return ret;
}

struct pm_ctx {
	struct dirty_extents *out;
	struct dirty_stats *st;
	uint64_t *buf;
};

static int pm_vma(struct dirty_tracker *t, const struct dirty_vma *v,
		  uint64_t s, uint64_t e, void *data)
{
	struct pm_ctx *ctx = data;
	uint32_t base = dirty_vma_flags(v);

	ctx->st->vmas++;
	while (s < e) {
		size_t n = (size_t)((e - s) / 4096);
		ssize_t got;
		int ret;

		if (n > PM_CHUNK)
			n = PM_CHUNK;
		got = pread(t->pagemap_fd, ctx->buf, n * 8, (off_t)(s / 4096 * 8));
		if (got < 0) {
			ret = -errno;
			dirty_set_err(t, "reading pagemap: %s", strerror(errno));
			return ret;
		}
		if (got == 0)
			break;		/* the VMA went away */
		n = (size_t)got / 8;
		ret = dirty_pagemap_parse(ctx->buf, n, s, base, ctx->out);
		if (ret)
			return ret;
		ctx->st->pages_scanned += n;
		s += n * 4096;
	}
	return 0;
}

int dirty_pagemap_read(struct dirty_tracker *t, uint64_t start, uint64_t end,
		       struct dirty_extents *out, struct dirty_stats *st)
{
	struct pm_ctx ctx = { .out = out, .st = st };
	int ret;

	ctx.buf = malloc(PM_CHUNK * 8);
	if (!ctx.buf)
		return -ENOMEM;
	ret = for_each_vma(t, start, end, pm_vma, &ctx);
	free(ctx.buf);
	return ret;
}

bool dirty_pmscan_supported(int pagemap_fd)
{
	struct pm_scan_arg arg = { .size = 1 };	/* deliberately bad size */

	return ioctl(pagemap_fd, PAGEMAP_SCAN, &arg) < 0 && errno != ENOTTY;
}

static int top_vma(struct dirty_tracker *t, const struct dirty_vma *v,
		   uint64_t s, uint64_t e, void *data)
{
	uint64_t *top = data;

	if (e > *top)
		*top = e;
	return 0;
}

/*
 * PAGEMAP_SCAN over the whole range in one go per ioctl (it walks VMAs
 * itself); regions come back sorted and merged by category.
 */
int dirty_pmscan_read(struct dirty_tracker *t, uint64_t start, uint64_t end,
		      struct dirty_extents *out, struct dirty_stats *st)
{
	struct page_region *vec;
	uint64_t pos = start;
	int ret = 0;

	if (end > USER_TOP) {
		/* The ioctl wants a range inside the user address space
		 * (access_ok): stop at the end of the highest mapping. */
		uint64_t top = 0;

		ret = for_each_vma(t, start, end, top_vma, &top);
		if (ret)
			return ret;
		if (top <= start)
			return 0;
		end = top;
	}
	vec = malloc(PMS_REGIONS * sizeof(*vec));
	if (!vec)
		return -ENOMEM;
	while (!ret && pos < end) {
		struct pm_scan_arg arg = {
			.size = sizeof(arg),
			.start = pos,
			.end = end,
			.vec = (uintptr_t)vec,
			.vec_len = PMS_REGIONS,
			.category_mask = PAGE_IS_SOFT_DIRTY,
			.return_mask = PAGE_IS_SOFT_DIRTY | PAGE_IS_FILE | PAGE_IS_PRESENT |
				       PAGE_IS_SWAPPED | PAGE_IS_HUGE,
		};
		long n = ioctl(t->pagemap_fd, PAGEMAP_SCAN, &arg);

		if (n < 0) {
			ret = -errno;
			dirty_set_err(t, "PAGEMAP_SCAN: %s", strerror(errno));
			break;
		}
		for (long i = 0; i < n && !ret; i++) {
			/* A region cut by a full vector may come back in part
			 * from the next call: keep what is new. */
			uint64_t s = vec[i].start, last = 0;

			if (out->n)
				last = out->v[out->n - 1].start + out->v[out->n - 1].pages * 4096;
			if (s < last)
				s = last;
			if (s < vec[i].end)
				ret = dirty_extents_add(out, s, (vec[i].end - s) / 4096,
							dirty_pmscan_flags(vec[i].categories));
		}
		if (arg.walk_end <= pos)
			break;
		pos = arg.walk_end;
	}
	free(vec);
	return ret;
}
