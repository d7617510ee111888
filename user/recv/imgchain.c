// SPDX-License-Identifier: GPL-2.0
/* Pre-copied pages kept as a chain of CRIU image sets; see imgchain.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "imgchain.h"
#include "util.h"

#define PAGE 4096ull


struct chain_pid {
	uint32_t pid, pages_id;
	struct criu_pmevec cover;	/* pages the previous rounds hold */
	struct criu_pmevec sent;	/* this round's runs, ascending */
	int fd;			/* this round's pages-ID.img, or -1 */
};

struct imgchain {
	char dir[4096];
	char top[32];		/* newest round dir, "" if none */
	char base[64];		/* r0/parent, "" if r0 has none */
	uint32_t next;		/* number of the next round dir */
	int round_fd;		/* this round's dir, -1 until its first page */
	struct chain_pid *p;
	size_t np, cap;
	struct imgchain_stats st;
	char err[512];
};

static uint64_t pme_end(const struct criu_pme *e)
{
	return e->vaddr + e->nr_pages * PAGE;
}

int imgchain_merge(const struct criu_pme *cover, size_t ncover, const struct criu_pme *sent,
		   size_t nsent, struct criu_pme **out, size_t *nout, struct criu_pme **newcover,
		   size_t *nnewcover)
{
	struct criu_pmevec o = { 0 }, u = { 0 };
	uint64_t cpos = 0;	/* cover below cpos is emitted or overlaid */
	size_t i = 0;
	int ret = 0;

	for (size_t j = 0; !ret && j <= nsent; j++) {
		uint64_t lim = j < nsent ? sent[j].vaddr : UINT64_MAX;

		/* what earlier rounds hold below this run comes from the parent */
		while (!ret && i < ncover) {
			uint64_t a = cover[i].vaddr > cpos ? cover[i].vaddr : cpos;
			uint64_t b = pme_end(&cover[i]);

			if (a >= lim)
				break;
			ret = criu_pmevec_add(&o, a, ((b < lim ? b : lim) - a) / PAGE, CRIU_PE_PARENT);
			if (b > lim) {
				cpos = lim;
				break;
			}
			i++;
		}
		if (ret || j == nsent)
			break;
		ret = criu_pmevec_add(&o, sent[j].vaddr, sent[j].nr_pages, CRIU_PE_PRESENT);
		cpos = pme_end(&sent[j]);
		while (i < ncover && pme_end(&cover[i]) <= cpos)
			i++;
	}
	/* the union, for the next round */
	for (size_t a = 0, b = 0; !ret && (a < ncover || b < nsent);) {
		const struct criu_pme *e;
		uint64_t end;

		if (b == nsent || (a < ncover && cover[a].vaddr < sent[b].vaddr))
			e = &cover[a++];
		else
			e = &sent[b++];
		end = pme_end(e);
		if (u.n && pme_end(&u.v[u.n - 1]) >= e->vaddr) {
			struct criu_pme *l = &u.v[u.n - 1];

			if (end > pme_end(l))
				l->nr_pages = (end - l->vaddr) / PAGE;
			continue;
		}
		ret = criu_pmevec_add(&u, e->vaddr, e->nr_pages, 0);
	}
	if (ret) {
		free(o.v);
		free(u.v);
		return ret;
	}
	*out = o.v;
	*nout = o.n;
	*newcover = u.v;
	*nnewcover = u.n;
	return 0;
}

static int cerr(struct imgchain *c, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cerr(struct imgchain *c, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return ret;
}

int imgchain_open(struct imgchain **out, const char *dir, char *err, size_t errlen)
{
	struct imgchain *c = calloc(1, sizeof(*c));

	if (!c)
		return ferry_errf(err, errlen, -ENOMEM, "out of memory");
	if (snprintf(c->dir, sizeof(c->dir), "%s", dir) >= (int)sizeof(c->dir)) {
		free(c);
		return ferry_errf(err, errlen, -ENAMETOOLONG, "%s: name too long", dir);
	}
	c->round_fd = -1;
	*out = c;
	return 0;
}

void imgchain_close(struct imgchain *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->np; i++) {
		if (c->p[i].fd >= 0)
			close(c->p[i].fd);
		free(c->p[i].cover.v);
		free(c->p[i].sent.v);
	}
	if (c->round_fd >= 0)
		close(c->round_fd);
	free(c->p);
	free(c);
}

static int open_round(struct imgchain *c)
{
	char path[4200];

	if (c->round_fd >= 0)
		return 0;
	snprintf(path, sizeof(path), "%s/r%u", c->dir, c->next);
	if (mkdir(path, 0700))
		return cerr(c, -errno, "mkdir %s: %s", path, strerror(errno));
	c->round_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->round_fd < 0)
		return cerr(c, -errno, "%s: %s", path, strerror(errno));
	return 0;
}

static struct chain_pid *find_pid(struct imgchain *c, uint32_t pid)
{
	for (size_t i = 0; i < c->np; i++)
		if (c->p[i].pid == pid)
			return &c->p[i];
	if (c->np == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct chain_pid *p = realloc(c->p, cap * sizeof(*p));

		if (!p)
			return NULL;
		c->p = p;
		c->cap = cap;
	}
	memset(&c->p[c->np], 0, sizeof(c->p[0]));
	c->p[c->np].pid = pid;
	c->p[c->np].pages_id = (uint32_t)c->np + 1;
	c->p[c->np].fd = -1;
	return &c->p[c->np++];
}

int imgchain_set_base(struct imgchain *c, const char *link)
{
	if (c->top[0] || c->round_fd >= 0)
		return cerr(c, -EINVAL, "a base is set before the first round");
	if (snprintf(c->base, sizeof(c->base), "%s", link) >= (int)sizeof(c->base))
		return cerr(c, -ENAMETOOLONG, "%s: name too long", link);
	return 0;
}

int imgchain_base_cover(struct imgchain *c, uint32_t pid, const struct criu_pme *e, size_t n)
{
	struct chain_pid *p;

	if (!c->base[0] || c->top[0] || c->round_fd >= 0)
		return cerr(c, -EINVAL, "pid %u: base pages without a base, or too late", pid);
	p = find_pid(c, pid);
	if (!p)
		return cerr(c, -ENOMEM, "out of memory");
	if (p->cover.n)
		return cerr(c, -EINVAL, "pid %u: base pages given twice", pid);
	for (size_t i = 0; i < n; i++) {
		if (!e[i].nr_pages || e[i].vaddr % PAGE || pme_end(&e[i]) < e[i].vaddr ||
		    (i && e[i].vaddr < pme_end(&e[i - 1])))
			return cerr(c, -EINVAL, "pid %u: base pages not ascending at %#llx", pid,
				    (unsigned long long)e[i].vaddr);
		if (criu_pmevec_add(&p->cover, e[i].vaddr, e[i].nr_pages, 0))
			return cerr(c, -ENOMEM, "out of memory");
	}
	return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *b = buf;

	while (len) {
		ssize_t n = write(fd, b, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

/* This round's pages file of p, created on first use. */
static int open_pages(struct imgchain *c, struct chain_pid *p)
{
	char name[64];

	if (p->fd >= 0)
		return 0;
	snprintf(name, sizeof(name), "pages-%u.img", p->pages_id);
	p->fd = openat(c->round_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (p->fd < 0)
		return cerr(c, -errno, "%s/r%u/%s: %s", c->dir, c->next, name, strerror(errno));
	return 0;
}

int imgchain_put(struct imgchain *c, uint32_t pid, uint64_t vaddr, uint32_t npages,
		 const void *data)
{
	struct chain_pid *p;
	int ret;

	if (!npages || vaddr % PAGE || vaddr + npages * PAGE < vaddr)
		return cerr(c, -EINVAL, "pid %u: bad page run %#llx+%u", pid,
			    (unsigned long long)vaddr, npages);
	ret = open_round(c);
	if (ret)
		return ret;
	p = find_pid(c, pid);
	if (!p)
		return cerr(c, -ENOMEM, "out of memory");
	if (p->sent.n && vaddr < pme_end(&p->sent.v[p->sent.n - 1]))
		return cerr(c, -EPROTO, "pid %u: pages at %#llx arrived after %#llx in round %u "
			    "(a round's pages must come in ascending address order)", pid,
			    (unsigned long long)vaddr,
			    (unsigned long long)pme_end(&p->sent.v[p->sent.n - 1]), c->next);
	ret = open_pages(c, p);
	if (ret)
		return ret;
	ret = write_all(p->fd, data, npages * PAGE);
	if (ret)
		return cerr(c, ret, "%s/r%u/pages-%u.img: %s", c->dir, c->next, p->pages_id,
			    strerror(-ret));
	ret = criu_pmevec_add(&p->sent, vaddr, npages, 0);
	if (ret)
		return cerr(c, ret, "out of memory");
	c->st.pages += npages;
	c->st.bytes += npages * PAGE;
	return 0;
}

static int end_pid(struct imgchain *c, struct chain_pid *p, uint64_t *covered)
{
	struct criu_pme *e = NULL, *u = NULL;
	size_t ne = 0, nu = 0;
	char name[64];
	int ret;

	/* nothing new for this pid: an empty pages file, all from parent */
	ret = open_pages(c, p);
	if (ret)
		return ret;
	ret = close(p->fd) ? -errno : 0;
	p->fd = -1;
	if (ret)
		return cerr(c, ret, "%s/r%u/pages-%u.img: %s", c->dir, c->next, p->pages_id,
			    strerror(-ret));
	ret = imgchain_merge(p->cover.v, p->cover.n, p->sent.v, p->sent.n, &e, &ne, &u, &nu);
	if (ret)
		return cerr(c, ret, "out of memory");
	snprintf(name, sizeof(name), "pagemap-%u.img", p->pid);
	ret = criu_img_write_pagemap_entries(c->round_fd, name, p->pages_id, e, ne);
	free(e);
	if (ret) {
		free(u);
		return cerr(c, ret, "%s/r%u/%s: %s", c->dir, c->next, name, strerror(-ret));
	}
	free(p->cover.v);
	p->cover = (struct criu_pmevec){ u, nu, nu };
	for (size_t i = 0; i < nu; i++)
		*covered += u[i].nr_pages;
	p->sent.n = 0;
	return 0;
}

int imgchain_end_round(struct imgchain *c, bool always)
{
	uint64_t round_pages = 0, covered = 0;
	char parent[72];
	int ret;

	if (c->round_fd < 0 && !always)
		return 0;
	ret = open_round(c);
	for (size_t i = 0; !ret && i < c->np; i++) {
		for (size_t k = 0; k < c->p[i].sent.n; k++)
			round_pages += c->p[i].sent.v[k].nr_pages;
		ret = end_pid(c, &c->p[i], &covered);
	}
	if (!ret) {
		ret = criu_img_write_inventory(c->round_fd, 0);
		if (ret)
			cerr(c, ret, "%s/r%u/inventory.img: %s", c->dir, c->next, strerror(-ret));
	}
	if (!ret && (c->top[0] || c->base[0])) {
		if (c->top[0])
			snprintf(parent, sizeof(parent), "../%s", c->top);
		else
			snprintf(parent, sizeof(parent), "%s", c->base);
		if (symlinkat(parent, c->round_fd, "parent"))
			ret = cerr(c, -errno, "%s/r%u/parent: %s", c->dir, c->next,
				   strerror(errno));
	}
	if (ret)
		return ret;
	close(c->round_fd);
	c->round_fd = -1;
	snprintf(c->top, sizeof(c->top), "r%u", c->next++);
	c->st.rounds++;
	c->st.round_pages = round_pages;
	c->st.cover_pages = covered;
	return 0;
}

const char *imgchain_top(const struct imgchain *c)
{
	return c->top[0] ? c->top : NULL;
}

void imgchain_stats(const struct imgchain *c, struct imgchain_stats *st)
{
	*st = c->st;
}

const char *imgchain_err(const struct imgchain *c)
{
	return c->err;
}
