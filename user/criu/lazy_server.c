// SPDX-License-Identifier: GPL-2.0
/* ferry's lazy-pages server for `criu restore --lazy-pages`; see lazy_server.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "criu_img.h"
#include "lazy_server.h"
#include "mig.h"
#include "util.h"

#define PAGE 4096ull
#define LAZY_SOCK_NAME "lazy-pages.socket"
#define LAZY_RESTORE_FINISHED 0x52535446u	/* "ReSTore Finished", criu/uffd.c */
#define FAULT_PAGES 16		/* pages copied per fault: the faulting one and after */
#define CHUNK_PAGES 64		/* pages copied per background step */
#define MAX_CHAIN 256		/* parent links followed */

/* ---- the page map ----------------------------------------------------------- */

static uint64_t ext_end(const struct lz_ext *e)
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
	if (start % PAGE || (last && start < ext_end(last)))
		return -EINVAL;
	if (last && ext_end(last) == start && last->fd == fd &&
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

		if (ext_end(&m->v[mid]) <= addr)
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
		if (ext_end(&m->v[j]) > end) {
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

void lz_files_close(void)
{
	for (size_t i = 0; i < nopen_files; i++)
		close(open_files[i]);
	free(open_files);
	open_files = NULL;
	nopen_files = 0;
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
			b = ext_end(p) < end ? ext_end(p) : end;
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

/* ---- the server ----------------------------------------------------------------- */

/* A fault that met a changing mm (EAGAIN): retried once the pending
 * events are read. */
struct deferred {
	uint64_t addr, since;
};

struct task {
	int uffd;
	uint32_t pid;		/* 0 for a child forked after the restore */
	struct lz_map map;	/* pages not known to be in place yet */
	uint64_t cursor;	/* background fill: next address */
	bool done;		/* all in place, or the process is gone */
	struct deferred *dfr;	/* faults waiting for the mm to settle */
	size_t ndfr, dfr_cap;
};

struct server {
	const char *dir;
	struct task *t;
	size_t nt;
	int sock;		/* the restore's connection, -1 once closed */
	bool finished;		/* LAZY_RESTORE_FINISHED received */
	uint8_t *buf;
	uint64_t t_finished;
	struct lazy_server_stats st;
	char err[1024];
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ferry_vline("ferry: ", "lazy pages: ", fmt, ap);
	va_end(ap);
}

static int read_full(int fd, void *buf, size_t len, uint64_t off)
{
	uint8_t *b = buf;

	while (len) {
		ssize_t n = pread(fd, b, len, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENODATA;	/* pages file shorter than its pagemap */
		b += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

/*
 * UFFDIO_COPY up to npages from e at addr. Returns the pages now known to be
 * in place or no longer wanted (>= 1 unless the call must be retried: 0), or
 * -errno for a real failure. The pages are dropped from the map.
 */
static int64_t copy_in(struct server *s, struct task *t, const struct lz_ext *e,
		       uint64_t addr, uint64_t npages)
{
	struct uffdio_copy c;
	int ret;

	ret = read_full(e->fd, s->buf, npages * PAGE, e->off + (addr - e->start));
	if (ret)
		return ret;
	c = (struct uffdio_copy){ .dst = addr, .src = (uintptr_t)s->buf, .len = npages * PAGE };
	if (ioctl(t->uffd, UFFDIO_COPY, &c) == 0)
		ret = (int)npages;
	else if (errno == EAGAIN && c.copy > 0)
		ret = (int)(c.copy / (int64_t)PAGE);	/* partly done */
	else if (errno == EAGAIN)
		return 0;			/* mm changing: an event is pending */
	else if (errno == EEXIST)
		ret = 1;			/* that page is there already */
	else if (errno == ESRCH) {
		t->done = true;			/* the process is gone */
		return 0;
	} else if (npages > 1)
		return copy_in(s, t, e, addr, 1);	/* e.g. crosses a VMA */
	else if (errno == ENOENT || errno == EFAULT || errno == EINVAL) {
		s->st.dropped_pages++;		/* no VMA there any more */
		ret = 1;
	} else {
		return -errno;
	}
	if (lz_map_cut(&t->map, addr, addr + (uint64_t)ret * PAGE, NULL))
		return -ENOMEM;
	return ret;
}

static int wake(struct task *t, uint64_t addr)
{
	struct uffdio_range r = { .start = addr, .len = PAGE };

	if (ioctl(t->uffd, UFFDIO_WAKE, &r) && errno != ESRCH && errno != ENOENT)
		return -errno;
	return 0;
}

/*
 * Resolve a fault: 0 done, 1 to be retried (EAGAIN: the tree is changing
 * its mappings, a fork, mremap, munmap or MADV_DONTNEED event is pending,
 * and the kernel refuses copies until that event is read), -errno.
 */
static int fault_try(struct server *s, struct task *t, uint64_t addr)
{
	const struct lz_ext *e = lz_map_find(&t->map, addr);
	int64_t n;

	if (!e) {
		struct uffdio_zeropage z = { .range = { addr, PAGE } };

		/* not a page of the dump: it reads as zeros */
		if (ioctl(t->uffd, UFFDIO_ZEROPAGE, &z) == 0) {
			s->st.zero_pages++;
			return 0;
		}
		if (errno == EEXIST)
			return wake(t, addr);
		if (errno == ESRCH || errno == ENOENT) {
			t->done = errno == ESRCH;
			return 0;
		}
		return errno == EAGAIN ? 1 : -errno;
	}
	n = copy_in(s, t, e, addr, (ext_end(e) - addr) / PAGE < FAULT_PAGES ?
				   (ext_end(e) - addr) / PAGE : FAULT_PAGES);
	if (n < 0)
		return (int)n;
	if (n > 0) {
		s->st.fault_pages += (uint64_t)n;
		/* EEXIST on the faulting page itself: it raced in */
		return wake(t, addr);
	}
	return t->done ? 0 : 1;
}

static int on_fault(struct server *s, struct task *t, uint64_t addr)
{
	int ret;

	addr &= ~(PAGE - 1);
	s->st.faults++;
	ret = fault_try(s, t, addr);
	if (ret <= 0)
		return ret;
	/* the event that blocks it comes after this fault in the queue:
	 * read on, retry when the queue is empty (retry_deferred) */
	if (t->ndfr == t->dfr_cap) {
		size_t cap = t->dfr_cap ? 2 * t->dfr_cap : 8;
		struct deferred *v = realloc(t->dfr, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->dfr = v;
		t->dfr_cap = cap;
	}
	t->dfr[t->ndfr++] = (struct deferred){ addr, ferry_now_ns() };
	return 0;
}

/* Retry a task's deferred faults; one still refused after 30 s fails. */
static int retry_deferred(struct server *s, struct task *t)
{
	size_t k = 0;

	while (k < t->ndfr) {
		int ret = t->done ? 0 : fault_try(s, t, t->dfr[k].addr);

		if (ret < 0)
			return ret;
		if (ret == 0) {
			t->dfr[k] = t->dfr[--t->ndfr];
			continue;
		}
		if (ferry_now_ns() - t->dfr[k].since > 30 * 1000000000ull) {
			snprintf(s->err, sizeof(s->err), "a fault at %#llx refused (EAGAIN) for 30 s",
				 (unsigned long long)t->dfr[k].addr);
			return -EAGAIN;
		}
		k++;
	}
	return 0;
}

static int add_task(struct server *s, int uffd, uint32_t pid, const struct lz_map *map)
{
	struct task *t = realloc(s->t, (s->nt + 1) * sizeof(*t));
	int ret;

	if (!t)
		return -ENOMEM;
	s->t = t;
	t = &s->t[s->nt];
	memset(t, 0, sizeof(*t));
	t->uffd = uffd;
	t->pid = pid;
	ret = lz_map_dup(map, &t->map);
	if (ret)
		return ret;
	t->done = !t->map.n;
	s->nt++;
	return 0;
}

static int on_event(struct server *s, size_t ti)
{
	struct uffd_msg msg;
	ssize_t n;
	int ret = 0;

	for (;;) {
		struct task *t = &s->t[ti];	/* add_task may move the array */

		n = read(t->uffd, &msg, sizeof(msg));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return retry_deferred(s, t);	/* the events are read */
		if (n < 0)
			return -errno;
		if (n != sizeof(msg))
			return 0;	/* closed */
		switch (msg.event) {
		case UFFD_EVENT_PAGEFAULT:
			ret = on_fault(s, t, msg.arg.pagefault.address);
			break;
		case UFFD_EVENT_FORK: {
			int child = (int)msg.arg.fork.ufd;
			struct lz_map copy;

			/* the child shares what the parent had not got yet */
			fcntl(child, F_SETFL, O_NONBLOCK);
			ret = lz_map_dup(&t->map, &copy);
			if (!ret)
				ret = add_task(s, child, 0, &copy);
			lz_map_free(&copy);
			s->st.tasks++;
			break;
		}
		case UFFD_EVENT_REMAP:
			ret = lz_map_remap(&t->map, msg.arg.remap.from, msg.arg.remap.to,
					   msg.arg.remap.len);
			break;
		case UFFD_EVENT_REMOVE:
		case UFFD_EVENT_UNMAP: {
			uint64_t before = lz_map_pages(&t->map);

			ret = lz_map_cut(&t->map, msg.arg.remove.start, msg.arg.remove.end, NULL);
			s->st.dropped_pages += before - lz_map_pages(&t->map);
			break;
		}
		default:
			snprintf(s->err, sizeof(s->err), "unexpected userfaultfd event %u",
				 msg.event);
			return -EPROTO;
		}
		if (ret)
			return ret;
	}
}

/* One background step for one task: copy the next chunk of its pages. */
static int background(struct server *s, struct task *t)
{
	const struct lz_ext *e = lz_map_next(&t->map, t->cursor);
	uint64_t a, left;
	int64_t n;

	if (!e) {
		t->done = true;
		return 0;
	}
	a = e->start > t->cursor ? e->start : t->cursor;
	left = (ext_end(e) - a) / PAGE;
	n = copy_in(s, t, e, a, left < CHUNK_PAGES ? left : CHUNK_PAGES);
	if (n < 0)
		return (int)n;
	s->st.background_pages += (uint64_t)n;
	t->cursor = a + (uint64_t)n * PAGE;
	return 0;
}

static int recv_exact(int fd, void *buf, size_t len)
{
	uint8_t *b = buf;

	while (len) {
		ssize_t n = recv(fd, b, len, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ECONNRESET;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

static int recv_uffd(int sock)
{
	char data, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &data, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	int fd;

	while (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) < 0)
		if (errno != EINTR)
			return -errno;
	c = CMSG_FIRSTHDR(&mh);
	if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
	    c->cmsg_len != CMSG_LEN(sizeof(int)))
		return -EPROTO;
	memcpy(&fd, CMSG_DATA(c), sizeof(fd));
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static int accept_tasks(struct server *s, int lfd, uint64_t tasks)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	int ret;

	/* the restore connects within a few seconds, or has failed */
	ret = poll(&p, 1, 600 * 1000);
	if (ret <= 0) {
		snprintf(s->err, sizeof(s->err), "criu restore never connected");
		return -ETIMEDOUT;
	}
	s->sock = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (s->sock < 0)
		return -errno;
	for (uint64_t i = 0; i < tasks; i++) {
		struct lz_map map;
		int32_t pid;
		int uffd;

		ret = recv_exact(s->sock, &pid, sizeof(pid));
		if (ret) {
			snprintf(s->err, sizeof(s->err), "restore hung up before task %llu",
				 (unsigned long long)i);
			return ret;
		}
		if (pid <= 0)
			continue;	/* a zombie */
		uffd = recv_uffd(s->sock);
		if (uffd < 0) {
			snprintf(s->err, sizeof(s->err), "no userfaultfd for pid %d", pid);
			return uffd;
		}
		ret = lz_map_load(s->dir, (uint32_t)pid, &map, s->err, sizeof(s->err));
		if (!ret)
			ret = add_task(s, uffd, (uint32_t)pid, &map);
		lz_map_free(&map);
		if (ret)
			return ret;
		s->st.tasks++;
	}
	return 0;
}

static int serve(struct server *s)
{
	struct pollfd *p = NULL;
	size_t rr = 0;
	int ret = 0;

	for (;;) {
		size_t np = 0, busy = 0;
		int timeout;

		bool waiting = false;

		for (size_t i = 0; i < s->nt; i++) {
			busy += !s->t[i].done || s->t[i].ndfr;
			waiting |= s->t[i].ndfr > 0;
		}
		if (s->finished && !busy)
			break;
		free(p);
		p = calloc(s->nt + 1, sizeof(*p));
		if (!p)
			return -ENOMEM;
		for (size_t i = 0; i < s->nt; i++)
			p[np++] = (struct pollfd){ .fd = s->t[i].uffd, .events = POLLIN };
		if (s->sock >= 0)
			p[np++] = (struct pollfd){ .fd = s->sock, .events = POLLIN };
		/* background copying only once the tree runs, faults first */
		timeout = s->finished ? 0 : waiting ? 1 : 1000;
		ret = poll(p, np, timeout);
		if (ret < 0 && errno != EINTR) {
			ret = -errno;
			break;
		}
		ret = 0;
		for (size_t i = 0; !ret && i < s->nt; i++)
			if (p[i].revents & POLLIN)
				ret = on_event(s, i);
			else if (s->t[i].ndfr)
				ret = retry_deferred(s, &s->t[i]);
		if (!ret && s->sock >= 0 && (p[np - 1].revents & (POLLIN | POLLHUP))) {
			uint32_t fin;
			ssize_t n = recv(s->sock, &fin, sizeof(fin), MSG_DONTWAIT);

			if (n == sizeof(fin) && fin == LAZY_RESTORE_FINISHED) {
				s->finished = true;
				s->t_finished = ferry_now_ns();
			} else if (n == 0 || (n < 0 && errno != EAGAIN)) {
				close(s->sock);
				s->sock = -1;
				if (!s->finished) {
					snprintf(s->err, sizeof(s->err),
						 "criu restore hung up before the tree ran");
					ret = -ECONNRESET;
				}
			} else if (n > 0) {
				snprintf(s->err, sizeof(s->err), "unexpected message %#x", fin);
				ret = -EPROTO;
			}
		}
		if (ret)
			break;
		if (s->finished && busy) {
			/* one chunk for the next task that still has pages */
			for (size_t k = 0; k < s->nt; k++) {
				struct task *t = &s->t[(rr + k) % s->nt];

				if (!t->done) {
					ret = background(s, t);
					rr = (rr + k + 1) % s->nt;
					break;
				}
			}
			if (ret)
				break;
		}
	}
	free(p);
	return ret;
}

static int run_server(const char *dir, int lfd, uint64_t tasks)
{
	struct server s = { .dir = dir, .sock = -1 };
	int ret;

	s.buf = malloc(FAULT_PAGES > CHUNK_PAGES ? FAULT_PAGES * PAGE : CHUNK_PAGES * PAGE);
	if (!s.buf)
		return -ENOMEM;
	ret = accept_tasks(&s, lfd, tasks);
	close(lfd);
	if (!ret)
		ret = serve(&s);
	if (ret) {
		say("failed: %s", s.err[0] ? s.err : strerror(-ret));
	} else {
		s.st.ms = (ferry_now_ns() - s.t_finished) / 1000000;
		say("all in place %llu ms after the restore: %llu faults (%llu pages copied, "
		    "%llu zero pages), %llu pages copied in the background, %llu dropped by the "
		    "tree, %llu tasks", (unsigned long long)s.st.ms,
		    (unsigned long long)s.st.faults, (unsigned long long)s.st.fault_pages,
		    (unsigned long long)s.st.zero_pages, (unsigned long long)s.st.background_pages,
		    (unsigned long long)s.st.dropped_pages, (unsigned long long)s.st.tasks);
	}
	for (size_t i = 0; i < s.nt; i++) {
		close(s.t[i].uffd);
		lz_map_free(&s.t[i].map);
		free(s.t[i].dfr);
	}
	free(s.t);
	free(s.buf);
	if (s.sock >= 0)
		close(s.sock);
	lz_files_close();
	return ret;
}

int lazy_server_start(const char *dir, uint64_t tasks, pid_t *out, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd, ret;
	pid_t pid;

	/* CRIU connects to the name relative to its work dir (= dir) */
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir, LAZY_SOCK_NAME) >=
	    (int)sizeof(sa.sun_path))
		return ferry_errf(err, errlen, -ENAMETOOLONG,
				  "%s/%s: too long for a unix socket (use a shorter --dir)",
				  dir, LAZY_SOCK_NAME);
	unlink(sa.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		return ferry_errf(err, errlen, -errno, "socket: %s", strerror(errno));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4)) {
		ret = ferry_errf(err, errlen, -errno, "%s: %s", sa.sun_path, strerror(errno));
		close(lfd);
		return ret;
	}
	pid = fork();
	if (pid < 0) {
		ret = ferry_errf(err, errlen, -errno, "fork: %s", strerror(errno));
		close(lfd);
		return ret;
	}
	if (pid == 0) {
		/* its own process group: a Ctrl-C meant for ferry receive must
		 * not kill the server a restored tree depends on */
		setpgid(0, 0);
		signal(SIGPIPE, SIG_IGN);
		/* nothing of the receiver's stays open here: above all not
		 * its connection to the source, which must close when the
		 * receiver dies */
		ferry_close_fds_except(lfd);
		_exit(run_server(dir, lfd, tasks) ? 1 : 0);
	}
	close(lfd);
	*out = pid;
	return 0;
}

int lazy_server_wait(pid_t pid, int timeout_ms)
{
	return mig_wait_child(pid, timeout_ms);
}
