// SPDX-License-Identifier: GPL-2.0
/*
 * The lazy-pages server's page map (lazy_server.h): runs of pages and where
 * their data is, kept right as the restored tree changes its memory, and
 * resolved through a chain of image sets.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "criu_img.h"
#include "lazy_int.h"
#include "util.h"

#define MAX_CHAIN 256		/* parent links followed */

/* ---- the page map ----------------------------------------------------------- */

uint64_t lz_ext_end(const struct lz_ext *e)
{
	return e->start + e->pages * PAGE;
}

static int reserve(struct lz_map *m, size_t n)
{
	if (m->n + n > m->cap) {
		size_t cap = m->cap ? m->cap : 16;
		struct lz_ext *v;

		while (cap < m->n + n)
			cap *= 2;
		v = realloc(m->v, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	return 0;
}

int lz_map_add(struct lz_map *m, uint64_t start, uint64_t pages, int fd, uint64_t off)
{
	struct lz_ext *last = m->n ? &m->v[m->n - 1] : NULL;

	if (!pages)
		return 0;
	if (start % PAGE || (last && start < lz_ext_end(last)))
		return -EINVAL;
	if (last && lz_ext_end(last) == start && last->fd == fd &&
	    last->off + last->pages * PAGE == off) {
		last->pages += pages;
		return 0;
	}
	if (reserve(m, 1))
		return -ENOMEM;
	m->v[m->n++] = (struct lz_ext){ start, pages, fd, off };
	return 0;
}

/* Index of the first run ending above addr (m->n if none). */
static size_t first_above(const struct lz_map *m, uint64_t addr)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (lz_ext_end(&m->v[mid]) <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct lz_ext *lz_map_next(const struct lz_map *m, uint64_t addr)
{
	size_t i = first_above(m, addr);

	return i < m->n ? &m->v[i] : NULL;
}

const struct lz_ext *lz_map_find(const struct lz_map *m, uint64_t addr)
{
	const struct lz_ext *e = lz_map_next(m, addr);

	return e && e->start <= addr ? e : NULL;
}

int lz_map_cut(struct lz_map *m, uint64_t start, uint64_t end, struct lz_map *removed)
{
	size_t i = first_above(m, start), j;

	if (start >= end || i == m->n || m->v[i].start >= end)
		return 0;
	/* a run straddling start keeps its head: split it */
	if (m->v[i].start < start) {
		struct lz_ext tail = m->v[i];
		uint64_t head = (start - tail.start) / PAGE;

		if (reserve(m, 1))
			return -ENOMEM;
		tail.start = start;
		tail.pages -= head;
		tail.off += head * PAGE;
		m->v[i].pages = head;
		memmove(&m->v[i + 2], &m->v[i + 1], (m->n - i - 1) * sizeof(m->v[0]));
		m->v[i + 1] = tail;
		m->n++;
		i++;
	}
	/* ... and one straddling end keeps its tail */
	for (j = i; j < m->n && m->v[j].start < end; j++) {
		if (lz_ext_end(&m->v[j]) > end) {
			struct lz_ext head = m->v[j];
			uint64_t cut = (end - head.start) / PAGE;

			if (reserve(m, 1))
				return -ENOMEM;
			head.pages = cut;
			m->v[j].start = end;
			m->v[j].pages -= cut;
			m->v[j].off += cut * PAGE;
			memmove(&m->v[j + 1], &m->v[j], (m->n - j) * sizeof(m->v[0]));
			m->v[j] = head;
			m->n++;
			j++;
			break;
		}
	}
	for (size_t k = i; removed && k < j; k++)
		if (lz_map_add(removed, m->v[k].start, m->v[k].pages, m->v[k].fd, m->v[k].off))
			return -ENOMEM;
	memmove(&m->v[i], &m->v[j], (m->n - j) * sizeof(m->v[0]));
	m->n -= j - i;
	return 0;
}

int lz_map_remap(struct lz_map *m, uint64_t from, uint64_t to, uint64_t len)
{
	struct lz_map moved = { 0 };
	int ret;

	ret = lz_map_cut(m, from, from + len, &moved);
	/* whatever was at the destination is replaced */
	if (!ret)
		ret = lz_map_cut(m, to, to + len, NULL);
	if (!ret && moved.n) {
		size_t i = first_above(m, to);

		ret = reserve(m, moved.n);
		if (!ret) {
			for (size_t k = 0; k < moved.n; k++)
				moved.v[k].start = moved.v[k].start - from + to;
			memmove(&m->v[i + moved.n], &m->v[i], (m->n - i) * sizeof(m->v[0]));
			memcpy(&m->v[i], moved.v, moved.n * sizeof(m->v[0]));
			m->n += moved.n;
		}
	}
	free(moved.v);
	return ret;
}

int lz_map_dup(const struct lz_map *src, struct lz_map *dst)
{
	*dst = (struct lz_map){ 0 };
	if (!src->n)
		return 0;
	dst->v = malloc(src->n * sizeof(*dst->v));
	if (!dst->v)
		return -ENOMEM;
	memcpy(dst->v, src->v, src->n * sizeof(*dst->v));
	dst->n = dst->cap = src->n;
	return 0;
}

uint64_t lz_map_pages(const struct lz_map *m)
{
	uint64_t n = 0;

	for (size_t i = 0; i < m->n; i++)
		n += m->v[i].pages;
	return n;
}

void lz_map_free(struct lz_map *m)
{
	free(m->v);
	*m = (struct lz_map){ 0 };
}

/* ---- resolving pages through the image chain ------------------------------- */

static int *open_files;
static size_t nopen_files;

/* post-copy: the pages files still arriving, and the fds they are open on */
const struct lz_remote *lz_remote_cur;
static struct {
	int fd, file;
} remote_fds[LZ_REMOTE_MAX];
static size_t nremote_fds;

/* The index of the remote file fd is open on, or -1. */
int lz_remote_file_of(int fd)
{
	for (size_t i = 0; i < nremote_fds; i++)
		if (remote_fds[i].fd == fd)
			return remote_fds[i].file;
	return -1;
}

/* Opened pages-ID.img of the top directory: is it one still arriving? */
static void note_remote(int fd, uint32_t pages_id)
{
	char name[64];

	if (!lz_remote_cur)
		return;
	snprintf(name, sizeof(name), "pages-%u.img", pages_id);
	for (size_t i = 0; i < lz_remote_cur->n && nremote_fds < LZ_REMOTE_MAX; i++)
		if (!strcmp(lz_remote_cur->f[i].name, name) && lz_remote_file_of(fd) < 0)
			remote_fds[nremote_fds++] = (typeof(remote_fds[0])){ fd, (int)i };
}

void lz_files_close(void)
{
	for (size_t i = 0; i < nopen_files; i++)
		close(open_files[i]);
	free(open_files);
	open_files = NULL;
	nopen_files = 0;
	nremote_fds = 0;
}

static int keep_fd(int fd)
{
	int *v = realloc(open_files, (nopen_files + 1) * sizeof(*v));

	if (!v) {
		close(fd);
		return -ENOMEM;
	}
	open_files = v;
	open_files[nopen_files++] = fd;
	return fd;
}

/* Map of every page dir's pagemap provides (top: only its PE_LAZY ones). */
static int load_level(const char *dir, uint32_t pid, bool top, int depth, struct lz_map *out,
		      char *err, size_t errlen)
{
	struct lz_map parent = { 0 };
	struct criu_pme *e = NULL;
	char path[PATH_MAX];
	uint32_t pages_id;
	uint64_t off = 0;
	bool need_parent = false;
	size_t n = 0;
	int fd, ret;

	if (depth > MAX_CHAIN)
		return ferry_errf(err, errlen, -ELOOP, "%s: more than %d parent images", dir,
				  MAX_CHAIN);
	snprintf(path, sizeof(path), "%s/pagemap-%u.img", dir, pid);
	ret = criu_img_read_pagemap(path, &pages_id, &e, &n);
	if (ret)
		return ferry_errf(err, errlen, ret, "%s: %s", path, strerror(-ret));
	snprintf(path, sizeof(path), "%s/pages-%u.img", dir, pages_id);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = ferry_errf(err, errlen, -errno, "%s: %s", path, strerror(errno));
		goto out;
	}
	fd = keep_fd(fd);
	if (fd < 0) {
		ret = ferry_errf(err, errlen, fd, "out of memory");
		goto out;
	}
	if (depth == 0)
		note_remote(fd, pages_id);
	for (size_t i = 0; i < n; i++)
		if ((e[i].flags & CRIU_PE_PARENT) && (!top || (e[i].flags & CRIU_PE_LAZY)))
			need_parent = true;
	if (need_parent) {
		snprintf(path, sizeof(path), "%s/parent", dir);
		ret = load_level(path, pid, false, depth + 1, &parent, err, errlen);
		if (ret)
			goto out;
	}
	for (size_t i = 0; !ret && i < n; i++) {
		uint64_t a = e[i].vaddr, end = a + e[i].nr_pages * PAGE;
		bool want = !top || (e[i].flags & CRIU_PE_LAZY);

		if (e[i].flags & CRIU_PE_PRESENT) {
			if (want)
				ret = lz_map_add(out, a, e[i].nr_pages, fd, off);
			off += e[i].nr_pages * PAGE;
			continue;
		}
		if (!want || !(e[i].flags & CRIU_PE_PARENT))
			continue;
		while (!ret && a < end) {
			const struct lz_ext *p = lz_map_find(&parent, a);
			uint64_t b;

			if (!p) {
				ret = ferry_errf(err, errlen, -ENODATA,
						 "%s: page %#llx of pid %u is in none of the "
						 "parent images", dir, (unsigned long long)a, pid);
				break;
			}
			b = lz_ext_end(p) < end ? lz_ext_end(p) : end;
			ret = lz_map_add(out, a, (b - a) / PAGE, p->fd, p->off + (a - p->start));
			a = b;
		}
	}
	if (ret == -ENOMEM || ret == -EINVAL)
		ferry_errf(err, errlen, ret, "%s: pid %u: %s", dir, pid,
			   ret == -EINVAL ? "pagemap not ascending" : "out of memory");
out:
	lz_map_free(&parent);
	free(e);
	return ret;
}

int lz_map_load(const char *dir, uint32_t pid, struct lz_map *m, char *err, size_t errlen)
{
	*m = (struct lz_map){ 0 };
	return load_level(dir, pid, true, 0, m, err, errlen);
}

int lz_map_load_all(const char *dir, uint32_t pid, struct lz_map *m, char *err, size_t errlen)
{
	*m = (struct lz_map){ 0 };
	return load_level(dir, pid, false, 0, m, err, errlen);
}

