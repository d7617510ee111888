// SPDX-License-Identifier: GPL-2.0
/* Receiver page store: data file + open-addressing index. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pagestore.h"
#include "util.h"

struct ps_ent {
	uint64_t vaddr;
	uint64_t slot;		/* page index in the data file */
	uint32_t pid;
	uint32_t used;
};

struct pagestore {
	int fd;
	char *path;
	struct ps_ent *tab;
	size_t cap;		/* power of two */
	size_t n;
	uint64_t next_slot;
	struct ps_stats st;
};

static uint64_t hash(uint32_t pid, uint64_t vaddr)
{
	uint64_t h = (vaddr >> 12) ^ ((uint64_t)pid << 40);

	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static struct ps_ent *lookup(struct ps_ent *tab, size_t cap, uint32_t pid, uint64_t vaddr)
{
	size_t i = hash(pid, vaddr) & (cap - 1);

	for (;;) {
		struct ps_ent *e = &tab[i];

		if (!e->used || (e->pid == pid && e->vaddr == vaddr))
			return e;
		i = (i + 1) & (cap - 1);
	}
}

static int grow(struct pagestore *ps)
{
	size_t cap = ps->cap * 2;
	struct ps_ent *tab = calloc(cap, sizeof(*tab));

	if (!tab)
		return -ENOMEM;
	for (size_t i = 0; i < ps->cap; i++)
		if (ps->tab[i].used)
			*lookup(tab, cap, ps->tab[i].pid, ps->tab[i].vaddr) = ps->tab[i];
	free(ps->tab);
	ps->tab = tab;
	ps->cap = cap;
	return 0;
}

int pagestore_open(struct pagestore **out, const char *path)
{
	struct pagestore *ps = calloc(1, sizeof(*ps));
	int err;

	if (!ps)
		return -ENOMEM;
	ps->cap = 1024;
	ps->tab = calloc(ps->cap, sizeof(*ps->tab));
	ps->fd = -1;
	if (!ps->tab) {
		err = -ENOMEM;
		goto fail;
	}
	if (!path) {		/* index only */
		*out = ps;
		return 0;
	}
	ps->path = strdup(path);
	if (!ps->path) {
		err = -ENOMEM;
		goto fail;
	}
	ps->fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (ps->fd < 0) {
		err = -errno;
		goto fail;
	}
	*out = ps;
	return 0;
fail:
	free(ps->tab);
	free(ps->path);
	free(ps);
	return err;
}

void pagestore_close(struct pagestore *ps, bool unlink_file)
{
	if (!ps)
		return;
	if (ps->fd >= 0)
		close(ps->fd);
	if (unlink_file && ps->path)
		unlink(ps->path);
	free(ps->tab);
	free(ps->path);
	free(ps);
}

static int pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t w = pwrite(fd, p, len, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		len -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int pagestore_put(struct pagestore *ps, uint32_t pid, uint64_t vaddr, uint32_t npages,
		  const void *data)
{
	const uint8_t *p = data;
	uint64_t run_slot = 0, run_len = 0;
	const uint8_t *run_data = NULL;
	int ret;

	if (vaddr % PS_PAGE_SIZE || vaddr + (uint64_t)npages * PS_PAGE_SIZE < vaddr)
		return -EINVAL;
	for (uint32_t i = 0; i < npages; i++) {
		uint64_t va = vaddr + (uint64_t)i * PS_PAGE_SIZE;
		struct ps_ent *e;

		if ((ps->n + 1) * 10 > ps->cap * 7) {
			ret = grow(ps);
			if (ret)
				return ret;
		}
		e = lookup(ps->tab, ps->cap, pid, va);
		if (e->used) {
			ps->st.overwrites++;
		} else {
			e->used = 1;
			e->pid = pid;
			e->vaddr = va;
			e->slot = ps->next_slot++;
			ps->n++;
		}
		ps->st.writes++;
		if (ps->fd < 0)
			continue;
		/* write consecutive slots with one pwrite */
		if (run_len && e->slot == run_slot + run_len) {
			run_len++;
			continue;
		}
		if (run_len) {
			ret = pwrite_all(ps->fd, run_data, run_len * PS_PAGE_SIZE,
					 run_slot * PS_PAGE_SIZE);
			if (ret)
				return ret;
		}
		run_slot = e->slot;
		run_len = 1;
		run_data = p + (size_t)i * PS_PAGE_SIZE;
	}
	if (run_len)
		return pwrite_all(ps->fd, run_data, run_len * PS_PAGE_SIZE,
				  run_slot * PS_PAGE_SIZE);
	return 0;
}

int pagestore_read_slot(struct pagestore *ps, uint64_t slot, void *out, uint32_t npages)
{
	size_t len = (size_t)npages * PS_PAGE_SIZE, got = 0;

	if (ps->fd < 0)
		return -ENODATA;
	while (got < len) {
		ssize_t r = pread(ps->fd, (uint8_t *)out + got, len - got,
				  (off_t)(slot * PS_PAGE_SIZE + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		got += (size_t)r;
	}
	return 0;
}

int pagestore_copy_slots(struct pagestore *ps, uint64_t slot, uint64_t npages, int out_fd)
{
	if (ps->fd < 0)
		return -ENODATA;
	return ferry_copy_range(ps->fd, slot * PS_PAGE_SIZE, npages * PS_PAGE_SIZE, out_fd);
}

int pagestore_get(struct pagestore *ps, uint32_t pid, uint64_t vaddr, void *out)
{
	struct ps_ent *e = lookup(ps->tab, ps->cap, pid, vaddr);

	if (!e->used)
		return -ENOENT;
	if (!out)
		return 0;
	return pagestore_read_slot(ps, e->slot, out, 1);
}

static int cmp_ref(const void *a, const void *b)
{
	const struct ps_ref *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

int pagestore_pids(struct pagestore *ps, uint32_t **pids, size_t *n)
{
	uint32_t *v = NULL;
	size_t k = 0, cap = 0;

	for (size_t i = 0; i < ps->cap; i++) {
		struct ps_ent *e = &ps->tab[i];
		bool seen = false;

		if (!e->used)
			continue;
		for (size_t j = 0; j < k; j++)
			if (v[j] == e->pid) {
				seen = true;
				break;
			}
		if (seen)
			continue;
		if (k == cap) {
			uint32_t *nv = realloc(v, (cap ? cap * 2 : 8) * sizeof(*v));

			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap = cap ? cap * 2 : 8;
		}
		v[k++] = e->pid;
	}
	if (k)
		qsort(v, k, sizeof(*v), ferry_cmp_u32);
	*pids = v;
	*n = k;
	return 0;
}

int pagestore_list(struct pagestore *ps, uint32_t pid, struct ps_ref **refs, size_t *n)
{
	struct ps_ref *v;
	size_t k = 0;

	v = malloc((ps->n ? ps->n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < ps->cap; i++) {
		struct ps_ent *e = &ps->tab[i];

		if (e->used && e->pid == pid) {
			v[k].vaddr = e->vaddr;
			v[k].slot = e->slot;
			k++;
		}
	}
	if (k)
		qsort(v, k, sizeof(*v), cmp_ref);
	*refs = v;
	*n = k;
	return 0;
}

void pagestore_stats(const struct pagestore *ps, struct ps_stats *st)
{
	*st = ps->st;
	st->pages = ps->n;
	st->file_bytes = ps->fd < 0 ? 0 : ps->next_slot * PS_PAGE_SIZE;
}
