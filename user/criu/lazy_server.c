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
#include "lazy_int.h"
#include "mig.h"
#include "util.h"

#define LAZY_SOCK_NAME "lazy-pages.socket"
#define LAZY_RESTORE_FINISHED 0x52535446u	/* "ReSTore Finished", criu/uffd.c */
#define FAULT_PAGES 16		/* pages copied per fault: the faulting one and after */
#define CHUNK_PAGES 64		/* pages copied per background step */

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
	bool stalled;		/* background: its next pages are still arriving */
	struct deferred *dfr;	/* faults waiting for the mm to settle */
	size_t ndfr, dfr_cap;
	struct deferred *wait;	/* faults waiting for pages still arriving */
	size_t nwait, wait_cap;
};

struct server {
	const char *dir;
	struct task *t;
	size_t nt;
	int sock;		/* the restore's connection, -1 once closed */
	bool finished;		/* LAZY_RESTORE_FINISHED received */
	uint8_t *buf;
	uint64_t t_finished;
	uint64_t t_wake;	/* post-copy: when pages last arrived */
	uint8_t *asked[LZ_REMOTE_MAX];	/* pages asked for, per remote file */
	uint64_t *lat_us;		/* how long each waiting fault waited */
	size_t nlat, caplat;
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
	int rf = lz_remote_file_of(e->fd);
	struct uffdio_copy c;
	int ret;

	if (rf >= 0) {
		/* only the pages in place, from the first */
		const struct lz_remote_file *f = &lz_remote_cur->f[rf];
		uint64_t page = (e->off + (addr - e->start)) / PAGE, k = 0;

		while (k < npages && page + k < f->pages && lz_present(f->present, page + k))
			k++;
		if (!k)
			return -EINPROGRESS;
		npages = k;
	}
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

/* Ask for the pages of e from addr (a fault's, up to FAULT_PAGES) that are
 * still arriving and were not asked for yet. */
static int ask(struct server *s, const struct lz_ext *e, uint64_t addr)
{
	int rf = lz_remote_file_of(e->fd);
	const struct lz_remote_file *f = &lz_remote_cur->f[rf];
	uint64_t page = (e->off + (addr - e->start)) / PAGE, left = (lz_ext_end(e) - addr) / PAGE;
	struct lz_fetch q = { .file = (uint32_t)rf, .page = page };
	ssize_t n;

	if (!s->asked[rf]) {
		s->asked[rf] = calloc((f->pages + 7) / 8, 1);
		if (!s->asked[rf])
			return -ENOMEM;
	}
	while (q.npages < FAULT_PAGES && q.npages < left && page + q.npages < f->pages &&
	       !(s->asked[rf][(page + q.npages) / 8] & (1u << ((page + q.npages) % 8)))) {
		s->asked[rf][(page + q.npages) / 8] |= (uint8_t)(1u << ((page + q.npages) % 8));
		q.npages++;
	}
	if (!q.npages)
		return 0;	/* asked already */
	do
		n = write(lz_remote_cur->fd, &q, sizeof(q));
	while (n < 0 && errno == EINTR);
	if (n != sizeof(q)) {
		snprintf(s->err, sizeof(s->err), "asking for pages still arriving: %s",
			 n < 0 ? strerror(errno) : "short write");
		return n < 0 ? -errno : -EIO;
	}
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
	n = copy_in(s, t, e, addr, (lz_ext_end(e) - addr) / PAGE < FAULT_PAGES ?
				   (lz_ext_end(e) - addr) / PAGE : FAULT_PAGES);
	if (n == -EINPROGRESS) {
		/* post-copy: the page is still on its way */
		int ret = ask(s, e, addr);

		return ret ? ret : 2;
	}
	if (n < 0)
		return (int)n;
	if (n > 0) {
		s->st.fault_pages += (uint64_t)n;
		/* EEXIST on the faulting page itself: it raced in */
		return wake(t, addr);
	}
	return t->done ? 0 : 1;
}

/* Keep a fault for later in a list (*v, *n of *cap). */
static int park(struct deferred **v, size_t *n, size_t *cap, uint64_t addr)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 8;
		struct deferred *nv = realloc(*v, c * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		*v = nv;
		*cap = c;
	}
	(*v)[(*n)++] = (struct deferred){ addr, ferry_now_ns() };
	return 0;
}

static int on_fault(struct server *s, struct task *t, uint64_t addr)
{
	int ret;

	addr &= ~(PAGE - 1);
	s->st.faults++;
	ret = fault_try(s, t, addr);
	if (ret <= 0)
		return ret;
	if (ret == 2) {
		s->st.remote_waits++;
		return park(&t->wait, &t->nwait, &t->wait_cap, addr);
	}
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
		if (ret == 2)
			ret = park(&t->wait, &t->nwait, &t->wait_cap, t->dfr[k].addr);
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

/* Post-copy: more pages arrived; retry the faults that wait for them. One
 * that waited longer than the remote's stall_ms fails. */
static int retry_waiting(struct server *s, struct task *t)
{
	size_t k = 0;

	while (k < t->nwait) {
		int ret = t->done ? 0 : fault_try(s, t, t->wait[k].addr);

		if (ret < 0)
			return ret;
		if (ret == 1)
			ret = park(&t->dfr, &t->ndfr, &t->dfr_cap, t->wait[k].addr);
		if (ret < 0)
			return ret;
		if (ret != 2) {
			if (s->nlat == s->caplat) {
				size_t cap = s->caplat ? 2 * s->caplat : 256;
				uint64_t *v = realloc(s->lat_us, cap * sizeof(*v));

				if (v) {
					s->lat_us = v;
					s->caplat = cap;
				}
			}
			if (s->nlat < s->caplat)
				s->lat_us[s->nlat++] = (ferry_now_ns() - t->wait[k].since) / 1000;
			t->wait[k] = t->wait[--t->nwait];
			continue;
		}
		if (s->finished &&
		    ferry_now_ns() - (t->wait[k].since > s->t_finished ? t->wait[k].since
								: s->t_finished) >
			    (uint64_t)lz_remote_cur->stall_ms * 1000000ull) {
			snprintf(s->err, sizeof(s->err), "post-copy: the page at %#llx of pid %u did "
				 "not arrive within %d s", (unsigned long long)t->wait[k].addr, t->pid,
				 lz_remote_cur->stall_ms / 1000);
			return -ETIMEDOUT;
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
	left = (lz_ext_end(e) - a) / PAGE;
	n = copy_in(s, t, e, a, left < CHUNK_PAGES ? left : CHUNK_PAGES);
	if (n == -EINPROGRESS) {
		t->stalled = true;	/* until more pages arrive */
		return 0;
	}
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

/* Post-copy: pages arrived (wake-up bytes on the remote's fd). */
static int on_arrival(struct server *s)
{
	char b[256];
	int ret = 0;

	while (read(lz_remote_cur->fd, b, sizeof(b)) > 0)
		;
	s->t_wake = ferry_now_ns();
	for (size_t i = 0; !ret && i < s->nt; i++) {
		s->t[i].stalled = false;
		ret = retry_waiting(s, &s->t[i]);
	}
	return ret;
}

/* The restore's connection: LAZY_RESTORE_FINISHED, or its end. */
static int on_restore_sock(struct server *s)
{
	uint32_t fin;
	ssize_t n = recv(s->sock, &fin, sizeof(fin), MSG_DONTWAIT);

	if (n == sizeof(fin) && fin == LAZY_RESTORE_FINISHED) {
		s->finished = true;
		s->t_finished = ferry_now_ns();
	} else if (n == 0 || (n < 0 && errno != EAGAIN)) {
		close(s->sock);
		s->sock = -1;
		if (!s->finished) {
			snprintf(s->err, sizeof(s->err), "criu restore hung up before the tree ran");
			return -ECONNRESET;
		}
	} else if (n > 0) {
		snprintf(s->err, sizeof(s->err), "unexpected message %#x", fin);
		return -EPROTO;
	}
	return 0;
}

static int serve(struct server *s)
{
	struct pollfd *p = NULL;
	size_t rr = 0;
	int ret = 0;

	s->t_wake = ferry_now_ns();
	for (;;) {
		size_t np = 0, busy = 0, movable = 0, nwait = 0;
		int timeout, isock = -1, iremote = -1;
		bool waiting = false;

		for (size_t i = 0; i < s->nt; i++) {
			busy += !s->t[i].done || s->t[i].ndfr || s->t[i].nwait;
			movable += !s->t[i].done && !s->t[i].stalled;
			waiting |= s->t[i].ndfr > 0;
			nwait += s->t[i].nwait;
		}
		if (s->finished && !busy)
			break;
		/* a stall counts once the restore is done: until then the
		 * receiver is busy with it, and pages cannot be fetched */
		if (lz_remote_cur && s->finished && (nwait || !movable) &&
		    ferry_now_ns() - (s->t_wake > s->t_finished ? s->t_wake : s->t_finished) >
			    (uint64_t)lz_remote_cur->stall_ms * 1000000ull) {
			snprintf(s->err, sizeof(s->err), "post-copy: no page arrived for %d s",
				 lz_remote_cur->stall_ms / 1000);
			ret = -ETIMEDOUT;
			break;
		}
		free(p);
		p = calloc(s->nt + 2, sizeof(*p));
		if (!p)
			return -ENOMEM;
		for (size_t i = 0; i < s->nt; i++)
			p[np++] = (struct pollfd){ .fd = s->t[i].uffd, .events = POLLIN };
		if (s->sock >= 0) {
			isock = (int)np;
			p[np++] = (struct pollfd){ .fd = s->sock, .events = POLLIN };
		}
		if (lz_remote_cur) {
			iremote = (int)np;
			p[np++] = (struct pollfd){ .fd = lz_remote_cur->fd, .events = POLLIN };
		}
		/* background copying only once the tree runs, faults first;
		 * pages still arriving are waited for */
		timeout = waiting ? 1 : s->finished && movable ? 0 : nwait || s->finished ? 200 : 1000;
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
		if (!ret && isock >= 0 && (p[isock].revents & (POLLIN | POLLHUP)))
			ret = on_restore_sock(s);
		if (!ret && iremote >= 0 && (p[iremote].revents & POLLIN))
			ret = on_arrival(s);
		if (!ret && iremote >= 0 && (p[iremote].revents & (POLLHUP | POLLERR))) {
			snprintf(s->err, sizeof(s->err), "post-copy: the pages' source hung up");
			ret = -ECONNRESET;
		}
		if (ret)
			break;
		if (s->finished && movable) {
			/* one chunk for the next task that still has pages here */
			for (size_t k = 0; k < s->nt; k++) {
				struct task *t = &s->t[(rr + k) % s->nt];

				if (!t->done && !t->stalled) {
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

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Post-copy: what the faults waited, to the process that fed the pages. */
static void send_stats(struct server *s)
{
	struct lz_pc_stats st = {
		.magic = LZ_PC_STATS_MAGIC, .waits = s->nlat,
		.fault_pages = s->st.fault_pages, .background_pages = s->st.background_pages,
	};

	if (s->nlat) {
		qsort(s->lat_us, s->nlat, sizeof(*s->lat_us), cmp_u64);
		st.median_us = s->lat_us[s->nlat / 2];
		st.p99_us = s->lat_us[(s->nlat * 99) / 100 < s->nlat ? (s->nlat * 99) / 100
								     : s->nlat - 1];
	}
	if (write(lz_remote_cur->fd, &st, sizeof(st)) != sizeof(st))
		say("post-copy: the statistics did not go out: %s", strerror(errno));
}

static int run_server(const char *dir, int lfd, uint64_t tasks, const struct lz_remote *rem)
{
	struct server s = { .dir = dir, .sock = -1 };
	int ret;

	lz_remote_cur = rem;
	if (lz_remote_cur)
		fcntl(lz_remote_cur->fd, F_SETFL, O_NONBLOCK);

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
		if (lz_remote_cur) {
			fcntl(lz_remote_cur->fd, F_SETFL, 0);	/* this one must go */
			send_stats(&s);
		}
		s.st.ms = (ferry_now_ns() - s.t_finished) / 1000000;
		say("all in place %llu ms after the restore: %llu faults (%llu pages copied, "
		    "%llu zero pages, %llu waited for pages still arriving), %llu pages copied "
		    "in the background, %llu dropped by the tree, %llu tasks",
		    (unsigned long long)s.st.ms, (unsigned long long)s.st.faults,
		    (unsigned long long)s.st.fault_pages, (unsigned long long)s.st.zero_pages,
		    (unsigned long long)s.st.remote_waits,
		    (unsigned long long)s.st.background_pages,
		    (unsigned long long)s.st.dropped_pages, (unsigned long long)s.st.tasks);
	}
	for (size_t i = 0; i < s.nt; i++) {
		close(s.t[i].uffd);
		lz_map_free(&s.t[i].map);
		free(s.t[i].dfr);
		free(s.t[i].wait);
	}
	for (size_t i = 0; i < LZ_REMOTE_MAX; i++)
		free(s.asked[i]);
	free(s.lat_us);
	free(s.t);
	free(s.buf);
	if (s.sock >= 0)
		close(s.sock);
	lz_files_close();
	return ret;
}

int lazy_server_start(const char *dir, uint64_t tasks, const struct lz_remote *rem, pid_t *out,
		      char *err, size_t errlen)
{
	return lazy_server_start_at(dir, dir, tasks, rem, out, err, errlen);
}

int lazy_server_start_at(const char *dir, const char *sock_dir, uint64_t tasks,
			 const struct lz_remote *rem, pid_t *out, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd, ret, dfd = -1;
	pid_t pid;

	/*
	 * CRIU connects to the name relative to its work dir (sock_dir). One
	 * too long for sun_path (a store deep in a shared file system) is
	 * reached through its descriptor's /proc link, which the bind's path
	 * walk follows to the same directory.
	 */
	if (snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", sock_dir, LAZY_SOCK_NAME) >=
	    (int)sizeof(sa.sun_path)) {
		dfd = open(sock_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0)
			return ferry_errf(err, errlen, -errno, "%s: %s", sock_dir, strerror(errno));
		snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s", dfd,
			 LAZY_SOCK_NAME);
	}
	unlink(sa.sun_path);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		ret = ferry_errf(err, errlen, -errno, "socket: %s", strerror(errno));
		goto out_dfd;
	}
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4)) {
		ret = ferry_errf(err, errlen, -errno, "%s/%s: %s", sock_dir, LAZY_SOCK_NAME,
				 strerror(errno));
		close(lfd);
		goto out_dfd;
	}
	if (dfd >= 0)
		close(dfd);
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
		ferry_close_fds_except2(lfd, rem ? rem->fd : -1);
		_exit(run_server(dir, lfd, tasks, rem) ? 1 : 0);
	}
	close(lfd);
	*out = pid;
	return 0;
out_dfd:
	if (dfd >= 0)
		close(dfd);
	return ret;
}

int lazy_server_wait(pid_t pid, int timeout_ms)
{
	return mig_wait_child(pid, timeout_ms);
}
