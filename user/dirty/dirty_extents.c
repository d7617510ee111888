// SPDX-License-Identifier: GPL-2.0
/* Extent arrays and /proc parsing for dirty tracking: pure logic. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "dirty_track.h"
#include "pagemap_scan.h"

#define DIRTY_PAGE_SIZE 4096ULL

void dirty_extents_init(struct dirty_extents *x)
{
	memset(x, 0, sizeof(*x));
}

void dirty_extents_reset(struct dirty_extents *x)
{
	x->n = 0;
}

void dirty_extents_free(struct dirty_extents *x)
{
	free(x->v);
	dirty_extents_init(x);
}

int dirty_extents_add(struct dirty_extents *x, uint64_t start, uint64_t pages,
		      uint32_t flags)
{
	struct dirty_extent *last;

	if (!pages)
		return 0;
	if (x->n) {
		last = &x->v[x->n - 1];
		if (start < last->start + last->pages * DIRTY_PAGE_SIZE)
			return -EINVAL;		/* not ascending */
		if (last->flags == flags &&
		    last->start + last->pages * DIRTY_PAGE_SIZE == start) {
			last->pages += pages;
			return 0;
		}
	}
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 256;
		struct dirty_extent *v = realloc(x->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		x->v = v;
		x->cap = cap;
	}
	x->v[x->n++] = (struct dirty_extent){ start, pages, flags };
	return 0;
}

uint64_t dirty_extents_pages(const struct dirty_extents *x)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < x->n; i++)
		sum += x->v[i].pages;
	return sum;
}

int dirty_extents_union(const struct dirty_extents *a, const struct dirty_extents *b,
			struct dirty_extents *out)
{
	size_t i = 0, j = 0;
	uint64_t as = 0, bs = 0;	/* progress inside a->v[i], b->v[j] */
	int ret = 0;

	dirty_extents_reset(out);
	if (a->n)
		as = a->v[0].start;
	if (b->n)
		bs = b->v[0].start;
	while (!ret && (i < a->n || j < b->n)) {
		uint64_t ae = i < a->n ? a->v[i].start + a->v[i].pages * DIRTY_PAGE_SIZE : 0;
		uint64_t be = j < b->n ? b->v[j].start + b->v[j].pages * DIRTY_PAGE_SIZE : 0;
		uint64_t s, e;
		uint32_t f;

		if (j >= b->n || (i < a->n && as < bs)) {
			/* a alone up to b's next start */
			s = as;
			e = (j < b->n && bs < ae) ? bs : ae;
			f = a->v[i].flags;
		} else if (i >= a->n || bs < as) {
			s = bs;
			e = (i < a->n && as < be) ? as : be;
			f = b->v[j].flags;
		} else {
			s = as;
			e = ae < be ? ae : be;
			f = a->v[i].flags | b->v[j].flags;
		}
		ret = dirty_extents_add(out, s, (e - s) / DIRTY_PAGE_SIZE, f);
		if (i < a->n && as < e) {
			as = e;
			if (as >= ae && ++i < a->n)
				as = a->v[i].start;
		}
		if (j < b->n && bs < e) {
			bs = e;
			if (bs >= be && ++j < b->n)
				bs = b->v[j].start;
		}
	}
	return ret;
}

bool dirty_extents_contains(const struct dirty_extents *x, uint64_t addr)
{
	size_t lo = 0, hi = x->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct dirty_extent *e = &x->v[mid];

		if (addr < e->start)
			hi = mid;
		else if (addr >= e->start + e->pages * DIRTY_PAGE_SIZE)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static const char *const flag_names[] = {
	"anon", "file", "shared", "thp", "swapped", "not-present",
	"vma-softdirty", "cleared", "untracked",
};

const char *dirty_flag_name(unsigned int bit)
{
	return bit < sizeof(flag_names) / sizeof(flag_names[0]) ? flag_names[bit] : NULL;
}

const char *dirty_flags_str(uint32_t flags, char *buf, size_t len)
{
	size_t used = 0;

	if (!len)
		return buf;
	buf[0] = '\0';
	for (unsigned int i = 0; i < 32; i++) {
		const char *name = dirty_flag_name(i);
		char tmp[16];
		int n;

		if (!(flags & (1U << i)))
			continue;
		if (!name) {
			snprintf(tmp, sizeof(tmp), "bit%u", i);
			name = tmp;
		}
		n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", name);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	if (!used)
		snprintf(buf, len, "-");
	return buf;
}

bool dirty_parse_maps_line(const char *line, struct dirty_vma *v)
{
	unsigned long long start, end, off, inode;
	char perms[8], dev[32];
	int n = 0;

	memset(v, 0, sizeof(*v));
	if (sscanf(line, "%llx-%llx %7s %llx %31s %llu %n", &start, &end, perms,
		   &off, dev, &inode, &n) < 6 || strlen(perms) < 4 || end <= start)
		return false;
	v->start = start;
	v->end = end;
	v->read = perms[0] == 'r';
	v->write = perms[1] == 'w';
	v->shared = perms[3] == 's';
	v->inode = inode;
	if (n > 0) {
		const char *name = line + n;
		size_t len;

		while (*name == ' ')
			name++;
		len = strcspn(name, "\n");
		if (len >= sizeof(v->name))
			len = sizeof(v->name) - 1;
		memcpy(v->name, name, len);
		v->name[len] = '\0';
	}
	return true;
}

uint32_t dirty_vma_flags(const struct dirty_vma *v)
{
	/* Like the module: a mapping of a file (inode) is FILE, including
	 * shared anonymous memory (a shmem inode); anything else is ANON. */
	uint32_t f = v->inode ? FERRY_EXTENT_F_FILE : FERRY_EXTENT_F_ANON;

	if (v->shared)
		f |= FERRY_EXTENT_F_SHARED;
	return f;
}

int dirty_pagemap_parse(const uint64_t *ent, size_t n, uint64_t addr,
			uint32_t base_flags, struct dirty_extents *out)
{
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++) {
		uint64_t e = ent[i];
		uint32_t f = base_flags;

		if (!(e & PM_ENTRY_SOFT_DIRTY))
			continue;
		if (e & PM_ENTRY_PRESENT)
			;
		else if (e & PM_ENTRY_SWAP)
			f |= FERRY_EXTENT_F_SWAPPED;
		else
			f |= FERRY_EXTENT_F_NOT_PRESENT;
		ret = dirty_extents_add(out, addr + i * DIRTY_PAGE_SIZE, 1, f);
	}
	return ret;
}

uint32_t dirty_pmscan_flags(uint64_t c)
{
	uint32_t f = (c & PAGE_IS_FILE) ? FERRY_EXTENT_F_FILE : FERRY_EXTENT_F_ANON;

	if (c & PAGE_IS_HUGE)
		f |= FERRY_EXTENT_F_THP;
	if (!(c & PAGE_IS_PRESENT))
		f |= (c & PAGE_IS_SWAPPED) ? FERRY_EXTENT_F_SWAPPED
					   : FERRY_EXTENT_F_NOT_PRESENT;
	return f;
}
