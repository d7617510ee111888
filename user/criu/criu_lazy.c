// SPDX-License-Identifier: GPL-2.0
/* Lazy restore of pre-copied pages from local images; see criu_lazy.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include "criu_lazy.h"
#include "util.h"

#define PAGE 4096ull

/* VmaEntry.status bits (criu/include/image.h) */
#define VMA_AREA_VSYSCALL	(1u << 2)
#define VMA_AREA_VDSO		(1u << 3)
#define VMA_AREA_VVAR		(1u << 12)

bool criu_lazy_vma_ok(uint32_t flags, uint32_t status)
{
	return (flags & MAP_ANONYMOUS) && (flags & MAP_PRIVATE) && !(flags & MAP_LOCKED) &&
	       !(flags & MAP_HUGETLB) &&
	       !(status & (VMA_AREA_VSYSCALL | VMA_AREA_VDSO | VMA_AREA_VVAR));
}

/* [a, b) as one more entry of o */
static int emit(struct criu_pmevec *o, uint64_t a, uint64_t b, uint32_t flags)
{
	return a < b ? criu_pmevec_add(o, a, (b - a) / PAGE, flags) : 0;
}

/* Lowest stack-pointer page in [a, b), or b. */
static uint64_t next_sp_page(const uint64_t *sp, size_t nsp, uint64_t a, uint64_t b)
{
	uint64_t best = b;

	for (size_t i = 0; i < nsp; i++) {
		uint64_t pg = sp[i] & ~(PAGE - 1);

		if (pg >= a && pg < best)
			best = pg;
	}
	return best;
}

int criu_lazy_split(const struct criu_pme *in, size_t n, const struct criu_lazy_vma *v,
		    size_t nv, const uint64_t *sp, size_t nsp, unsigned int mark,
		    struct criu_pme **out, size_t *nout, uint64_t *lazy)
{
	struct criu_pmevec o = { 0 };
	size_t k = 0;		/* first VMA that may still matter */
	int ret = 0;

	*lazy = 0;
	for (size_t i = 0; !ret && i < n; i++) {
		uint64_t a = in[i].vaddr, end = a + in[i].nr_pages * PAGE;
		uint32_t f = in[i].flags;

		bool want = ((f & CRIU_PE_PARENT) && (mark & CRIU_LAZY_PARENT)) ||
			    ((f & CRIU_PE_PRESENT) && (mark & CRIU_LAZY_OWN));

		if (!want || (f & CRIU_PE_LAZY)) {
			ret = emit(&o, a, end, f);
			continue;
		}
		while (!ret && a < end) {
			uint64_t b;

			while (k < nv && v[k].end <= a)
				k++;
			if (k == nv || v[k].start > a) {
				/* outside every VMA: leave it to CRIU as it is */
				b = k < nv && v[k].start < end ? v[k].start : end;
				ret = emit(&o, a, b, f);
				a = b;
				continue;
			}
			b = v[k].end < end ? v[k].end : end;
			if (!v[k].lazy) {
				ret = emit(&o, a, b, f);
				a = b;
				continue;
			}
			while (!ret && a < b) {
				uint64_t s = next_sp_page(sp, nsp, a, b);

				ret = emit(&o, a, s, f | CRIU_PE_LAZY);
				*lazy += (s - a) / PAGE;
				if (!ret && s < b)
					ret = emit(&o, s, s + PAGE, f);
				a = s < b ? s + PAGE : b;
			}
		}
	}
	if (ret) {
		free(o.v);
		return ret;
	}
	*out = o.v;
	*nout = o.n;
	return 0;
}

/* ---- reading the final dump's images ------------------------------------ */

struct proc {
	uint32_t pid;
	uint32_t *tids;
	size_t ntids;
};

static int read_pstree(const char *dir, struct proc **out, size_t *nout)
{
	struct proc *p = NULL;
	size_t np = 0, off = 0, mlen;
	const uint8_t *msg;
	char path[4200];
	uint8_t *buf;
	size_t len;
	int ret;

	snprintf(path, sizeof(path), "%s/pstree.img", dir);
	ret = criu_img_load(path, CRIU_PSTREE_MAGIC, &buf, &len);
	if (ret)
		return ret;
	while ((ret = criu_img_next(buf, len, &off, &msg, &mlen)) == 1) {
		struct proc *np2 = realloc(p, (np + 1) * sizeof(*p));
		struct pb_field f;
		size_t fo = 0;
		int r;

		if (!np2) {
			ret = -ENOMEM;
			break;
		}
		p = np2;
		memset(&p[np], 0, sizeof(p[np]));
		np++;
		while ((r = pb_next(msg, mlen, &fo, &f)) == 1) {
			if (f.field == 1 && f.wt == 0) {
				p[np - 1].pid = (uint32_t)f.v;
			} else if (f.field == 5 && (f.wt == 0 || f.wt == 2)) {
				/* repeated uint32 threads, plain or packed */
				size_t po = 0;
				uint64_t t = f.v;

				do {
					uint32_t *tt;

					if (f.wt == 2) {
						int c;

						if (po >= f.blen)
							break;
						c = pb_get_varint(f.bytes + po, f.blen - po, &t);
						if (c < 0) {
							r = -1;
							break;
						}
						po += (size_t)c;
					}
					tt = realloc(p[np - 1].tids,
						     (p[np - 1].ntids + 1) * sizeof(*tt));
					if (!tt) {
						r = -2;
						break;
					}
					p[np - 1].tids = tt;
					tt[p[np - 1].ntids++] = (uint32_t)t;
				} while (f.wt == 2);
				if (r < 0)
					break;
			}
		}
		if (r < 0) {
			ret = r == -2 ? -ENOMEM : -EPROTO;
			break;
		}
		if (!p[np - 1].pid) {
			ret = -EPROTO;
			break;
		}
	}
	free(buf);
	if (ret < 0) {
		for (size_t i = 0; i < np; i++)
			free(p[i].tids);
		free(p);
		return ret;
	}
	*out = p;
	*nout = np;
	return 0;
}

static int read_vmas(const char *dir, uint32_t pid, struct criu_lazy_vma **out, size_t *nout)
{
	struct criu_lazy_vma *v = NULL;
	size_t nv = 0, off = 0, mlen, fo = 0;
	const uint8_t *msg;
	struct pb_field f;
	char path[4200];
	uint8_t *buf;
	size_t len;
	int ret, r;

	snprintf(path, sizeof(path), "%s/mm-%u.img", dir, pid);
	ret = criu_img_load(path, CRIU_MM_MAGIC, &buf, &len);
	if (ret)
		return ret;
	ret = criu_img_next(buf, len, &off, &msg, &mlen);
	if (ret != 1) {
		free(buf);
		return -EPROTO;
	}
	ret = 0;
	while ((r = pb_next(msg, mlen, &fo, &f)) == 1) {
		uint64_t start, end, flags = 0, status = 0;
		struct criu_lazy_vma *nv2;

		if (f.field != 14 || f.wt != 2)	/* mm_entry.vmas */
			continue;
		if (pb_find_varint(f.bytes, f.blen, 1, &start) != 1 ||
		    pb_find_varint(f.bytes, f.blen, 2, &end) != 1 ||
		    pb_find_varint(f.bytes, f.blen, 6, &flags) != 1 ||
		    pb_find_varint(f.bytes, f.blen, 7, &status) != 1 ||
		    start >= end || (nv && start < v[nv - 1].end)) {
			ret = -EPROTO;
			break;
		}
		nv2 = realloc(v, (nv + 1) * sizeof(*v));
		if (!nv2) {
			ret = -ENOMEM;
			break;
		}
		v = nv2;
		v[nv++] = (struct criu_lazy_vma){ start, end,
			criu_lazy_vma_ok((uint32_t)flags, (uint32_t)status) };
	}
	if (r < 0 && !ret)
		ret = -EPROTO;
	free(buf);
	if (ret) {
		free(v);
		return ret;
	}
	*out = v;
	*nout = nv;
	return 0;
}

/* core_entry.thread_info (2) . gpregs (2) . sp (20), x86-64 */
static int read_sp(const char *dir, uint32_t tid, uint64_t *sp)
{
	const uint8_t *msg, *ti, *regs;
	size_t off = 0, mlen, tilen, rlen, len;
	char path[4200];
	uint8_t *buf;
	int ret;

	snprintf(path, sizeof(path), "%s/core-%u.img", dir, tid);
	ret = criu_img_load(path, CRIU_CORE_MAGIC, &buf, &len);
	if (ret)
		return ret;
	ret = criu_img_next(buf, len, &off, &msg, &mlen) == 1 &&
	      pb_find_bytes(msg, mlen, 2, &ti, &tilen) == 1 &&
	      pb_find_bytes(ti, tilen, 2, &regs, &rlen) == 1 &&
	      pb_find_varint(regs, rlen, 20, sp) == 1 ? 0 : -EPROTO;
	free(buf);
	return ret;
}

static int mark_one(const char *dir, int dirfd, const struct proc *p, unsigned int mark,
		    struct criu_lazy_stats *st, char *err, size_t errlen)
{
	struct criu_lazy_vma *v = NULL;
	struct criu_pme *e = NULL, *o = NULL;
	uint64_t *sp = NULL, lazy = 0, parent = 0;
	size_t nv = 0, ne = 0, no = 0;
	char path[4200], name[64];
	uint32_t pages_id;
	int ret;

	ret = read_vmas(dir, p->pid, &v, &nv);
	if (ret == -ENOENT)
		return 0;	/* a zombie: no memory, no pagemap */
	if (ret)
		return ferry_errf(err, errlen, ret, "%s/mm-%u.img: %s", dir, p->pid,
				  strerror(-ret));
	sp = calloc(p->ntids ? p->ntids : 1, sizeof(*sp));
	if (!sp)
		ret = -ENOMEM;
	for (size_t i = 0; !ret && i < p->ntids; i++) {
		ret = read_sp(dir, p->tids[i], &sp[i]);
		if (ret)
			ferry_errf(err, errlen, ret, "%s/core-%u.img: %s", dir, p->tids[i],
				   strerror(-ret));
	}
	snprintf(name, sizeof(name), "pagemap-%u.img", p->pid);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (!ret) {
		ret = criu_img_read_pagemap(path, &pages_id, &e, &ne);
		if (ret)
			ferry_errf(err, errlen, ret, "%s: %s", path, strerror(-ret));
	}
	if (!ret)
		ret = criu_lazy_split(e, ne, v, nv, sp, p->ntids, mark, &o, &no, &lazy);
	if (!ret) {
		ret = criu_img_write_pagemap_entries(dirfd, name, pages_id, o, no);
		if (ret)
			ferry_errf(err, errlen, ret, "rewriting %s: %s", path, strerror(-ret));
	}
	if (!ret) {
		/* CRIU's dump marks its own pages PE_LAZY already where the
		 * VMA allows (a lazy restore may take them): those count as
		 * lazy too */
		for (size_t i = 0; i < ne; i++) {
			if (((e[i].flags & CRIU_PE_PARENT) && (mark & CRIU_LAZY_PARENT)) ||
			    ((e[i].flags & CRIU_PE_PRESENT) && (mark & CRIU_LAZY_OWN)))
				parent += e[i].nr_pages;
			if ((e[i].flags & CRIU_PE_PRESENT) && (e[i].flags & CRIU_PE_LAZY) &&
			    (mark & CRIU_LAZY_OWN))
				lazy += e[i].nr_pages;
		}
		st->processes++;
		st->lazy_pages += lazy;
		st->eager_pages += parent - lazy;
	} else if (ret == -ENOMEM) {
		ferry_errf(err, errlen, ret, "out of memory");
	}
	free(v);
	free(sp);
	free(e);
	free(o);
	return ret;
}

int criu_pstree_pids(const char *dir, uint32_t **pids, size_t *n)
{
	struct proc *p = NULL;
	size_t np = 0;
	int ret = read_pstree(dir, &p, &np);

	*pids = NULL;
	*n = 0;
	if (ret)
		return ret;
	*pids = calloc(np ? np : 1, sizeof(**pids));
	if (*pids) {
		for (size_t i = 0; i < np; i++)
			(*pids)[i] = p[i].pid;
		*n = np;
	} else {
		ret = -ENOMEM;
	}
	for (size_t i = 0; i < np; i++)
		free(p[i].tids);
	free(p);
	return ret;
}

int criu_lazy_mark(const char *dir, unsigned int mark, struct criu_lazy_stats *st, char *err,
		   size_t errlen)
{
	struct proc *p = NULL;
	size_t np = 0;
	int dirfd, ret;

	memset(st, 0, sizeof(*st));
	st->tasks = 0;
	ret = read_pstree(dir, &p, &np);
	if (ret)
		return ferry_errf(err, errlen, ret, "%s/pstree.img: %s", dir, strerror(-ret));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		ret = ferry_errf(err, errlen, -errno, "%s: %s", dir, strerror(errno));
	for (size_t i = 0; !ret && i < np; i++) {
		st->tasks++;
		ret = mark_one(dir, dirfd, &p[i], mark, st, err, errlen);
	}
	if (dirfd >= 0)
		close(dirfd);
	for (size_t i = 0; i < np; i++)
		free(p[i].tids);
	free(p);
	return ret;
}

int criu_lazy_eager_runs(const char *dir, struct criu_lazy_run **out, size_t *nout, char *err,
			 size_t errlen)
{
	struct criu_lazy_run *v = NULL;
	uint32_t *pids = NULL;
	size_t n = 0, np = 0;
	int ret;

	*out = NULL;
	*nout = 0;
	ret = criu_pstree_pids(dir, &pids, &np);
	if (ret)
		return ferry_errf(err, errlen, ret, "%s/pstree.img: %s", dir, strerror(-ret));
	for (size_t i = 0; !ret && i < np; i++) {
		struct criu_pme *e = NULL;
		char path[4200];
		uint32_t pages_id;
		uint64_t off = 0;
		size_t ne = 0;

		snprintf(path, sizeof(path), "%s/pagemap-%u.img", dir, pids[i]);
		ret = criu_img_read_pagemap(path, &pages_id, &e, &ne);
		if (ret == -ENOENT) {	/* a zombie */
			ret = 0;
			continue;
		}
		if (ret) {
			ferry_errf(err, errlen, ret, "%s: %s", path, strerror(-ret));
			break;
		}
		for (size_t k = 0; !ret && k < ne; k++) {
			if (!(e[k].flags & CRIU_PE_PRESENT))
				continue;
			if (!(e[k].flags & CRIU_PE_LAZY)) {
				struct criu_lazy_run *nv = realloc(v, (n + 1) * sizeof(*v));

				if (!nv) {
					ret = ferry_errf(err, errlen, -ENOMEM, "out of memory");
					break;
				}
				v = nv;
				v[n++] = (struct criu_lazy_run){ pages_id, off, e[k].nr_pages };
			}
			off += e[k].nr_pages;
		}
		free(e);
	}
	free(pids);
	if (ret) {
		free(v);
		return ret;
	}
	*out = v;
	*nout = n;
	return 0;
}
