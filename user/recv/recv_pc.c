// SPDX-License-Identifier: GPL-2.0
/*
 * Post-copy on the destination (migrate/postcopy.h): the final dump's pages
 * files that stayed at the source, filled as their pages arrive, and the
 * loop that feeds the lazy-pages server until every page is in place.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include "criu_lazy.h"
#include "lazy_server.h"
#include "proc_reach.h"
#include "recv_pc.h"
#include "recv_session.h"
#include "util.h"
#include "wire_pc.h"

#define PC_STALL_MS	30000	/* no page for this long while one is awaited: the source is lost */

/*
 * The error of the page traffic (PC_DATA, PC_REQ, the lazy server's
 * requests). While the pump thread runs it, the session's own s->err
 * belongs to the main thread (the restore's errors): the pump's go to
 * p->pump_err, copied over once it is joined.
 */
static int pc_err(struct session *s, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int pc_err(struct session *s, int ret, const char *fmt, ...)
{
	struct recv_pc *p = s->pc;
	va_list ap;

	va_start(ap, fmt);
	if (p && p->pumping)
		vsnprintf(p->pump_err, sizeof(p->pump_err), fmt, ap);
	else
		vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return ret;
}

struct recv_pc *recv_pc_get(struct session *s)
{
	if (!s->pc) {
		s->pc = calloc(1, sizeof(*s->pc));
		if (s->pc) {
			s->pc->sp[0] = s->pc->sp[1] = -1;
			s->pc->rem.fd = -1;
		}
	}
	return s->pc;
}

void recv_pc_free(struct session *s)
{
	struct recv_pc *p = s->pc;

	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		close(p->f[i].fd);
		munmap(p->f[i].present, p->f[i].map_len);
	}
	if (p->sp[0] >= 0)
		close(p->sp[0]);
	if (p->sp[1] >= 0)
		close(p->sp[1]);
	free(p->buf);
	free(p);
	s->pc = NULL;
}

int recv_pc_file(struct session *s, const struct wire_msg *m)
{
	struct recv_pc *p = recv_pc_get(s);
	struct wire_pc_file w;
	struct recv_pc_file *f;
	int dfd, ret;

	if (!p)
		return rs_err(s, -ENOMEM, "out of memory");
	ret = wire_parse_pc_file(&s->c, m, &w);
	if (ret)
		return rs_err(s, ret, "%s", s->c.err);
	if (s->is_ctr || s->committed || p->n == WIRE_PC_MAX_FILES)
		return rs_err(s, -EPROTO, "unexpected PC_FILE frame");
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->f[i].name, w.name))
			return rs_err(s, -EPROTO, "PC_FILE %s twice", w.name);
	/* its whole size is charged now: every page of it will come */
	ret = recv_count_file(&s->budget, s->err, sizeof(s->err));
	if (!ret)
		ret = recv_charge(&s->budget, w.size, s->err, sizeof(s->err));
	if (ret)
		return ret;
	f = &p->f[p->n];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", w.name);
	f->pages = w.size / WIRE_PAGE_SIZE;
	dfd = open(s->final_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return rs_err(s, -errno, "%s: %s", s->final_dir, strerror(errno));
	f->fd = openat(dfd, w.name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	close(dfd);
	if (f->fd < 0)
		return rs_err(s, -errno, "image %s: %s", w.name, strerror(errno));
	if (ftruncate(f->fd, (off_t)w.size)) {
		ret = rs_err(s, -errno, "image %s: %s", w.name, strerror(errno));
		close(f->fd);
		return ret;
	}
	/* shared with the lazy-pages server, which forks later */
	f->map_len = f->pages / 8 + 1;
	f->present = mmap(NULL, f->map_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
			  -1, 0);
	if (f->present == MAP_FAILED) {
		ret = rs_err(s, -errno, "mmap: %s", strerror(errno));
		close(f->fd);
		return ret;
	}
	p->n++;
	p->pages += f->pages;
	rs_note("post-copy: %s (%llu pages) stays at the source until it is needed", w.name,
		(unsigned long long)f->pages);
	return 0;
}

static bool present(const struct recv_pc_file *f, uint64_t i)
{
	return lz_present(f->present, i);
}

int recv_pc_data(struct session *s, const struct wire_msg *m)
{
	struct recv_pc *p = s->pc;
	struct wire_pages_hdr h;
	struct recv_pc_file *f;
	uint64_t page;
	int ret;

	if (!p || !p->n)
		return pc_err(s, -EPROTO, "unexpected PC_DATA frame");
	if (!p->buf && !(p->buf = malloc((size_t)WIRE_MAX_PAGES * WIRE_PAGE_SIZE)))
		return pc_err(s, -ENOMEM, "out of memory");
	ret = wire_parse_pages_as(&s->c, m, WIRE_PC_DATA, &h, p->buf,
				  (size_t)WIRE_MAX_PAGES * WIRE_PAGE_SIZE);
	if (ret)
		return pc_err(s, ret, "%s", s->c.err);
	page = h.vaddr / WIRE_PAGE_SIZE;
	if (h.pid >= p->n || page > p->f[h.pid].pages || h.npages > p->f[h.pid].pages - page)
		return pc_err(s, -EPROTO, "PC_DATA outside file %u", h.pid);
	f = &p->f[h.pid];
	for (uint32_t k = 0; k < h.npages; k++) {
		/* a page in place is never written again: the lazy server
		 * may be reading it */
		if (present(f, page + k))
			continue;
		ret = ferry_pwrite_all(f->fd, p->buf + (size_t)k * WIRE_PAGE_SIZE, WIRE_PAGE_SIZE,
				       (page + k) * WIRE_PAGE_SIZE);
		if (ret)
			return pc_err(s, ret, "image %s: %s", f->name, strerror(-ret));
		__atomic_fetch_or(&f->present[(page + k) / 8], (uint8_t)(1u << ((page + k) % 8)),
				  __ATOMIC_RELEASE);
		p->have++;
	}
	p->t_last = ferry_now_ns();
	/* a wake-up for the lazy server, if it runs (a full socket buffer
	 * has one waiting already) */
	if (p->sp[0] >= 0)
		(void)send(p->sp[0], "w", 1, MSG_DONTWAIT | MSG_NOSIGNAL);
	return 0;
}

/* Ask the source for the pages of run that are not in place. */
static int ask_run(struct session *s, uint32_t file, uint64_t page, uint64_t npages)
{
	struct recv_pc_file *f = &s->pc->f[file];

	while (npages) {
		struct wire_pc_req q = { .file = file, .page = page };
		int ret;

		while (npages && present(f, page)) {
			page++;
			npages--;
		}
		q.page = page;
		while (q.npages < npages && q.npages < WIRE_MAX_PAGES && !present(f, page + q.npages))
			q.npages++;
		if (!q.npages)
			break;
		ret = wire_send_pc_req(&s->c, &q);
		if (ret)
			return pc_err(s, ret, "%s", s->c.err);
		page += q.npages;
		npages -= q.npages;
	}
	return 0;
}

static int file_of(const struct recv_pc *p, uint32_t pages_id)
{
	char name[64];

	snprintf(name, sizeof(name), "pages-%u.img", pages_id);
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->f[i].name, name))
			return (int)i;
	return -1;
}

int recv_pc_prepare(struct session *s, uint64_t *eager)
{
	struct recv_pc *p = s->pc;
	struct criu_lazy_run *r = NULL;
	uint64_t want = 0;
	size_t n = 0;
	int ret;

	*eager = 0;
	ret = criu_lazy_eager_runs(s->final_dir, &r, &n, s->err, sizeof(s->err));
	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < n; i++) {
		int fi = file_of(p, r[i].pages_id);

		if (fi < 0)
			continue;	/* a pages file that came whole */
		if (r[i].page > p->f[fi].pages || r[i].npages > p->f[fi].pages - r[i].page) {
			ret = rs_err(s, -EPROTO, "pages-%u.img is shorter than its pagemap",
				     r[i].pages_id);
			break;
		}
		ret = ask_run(s, (uint32_t)fi, r[i].page, r[i].npages);
		want += r[i].npages;
	}
	/* what CRIU reads itself must be here before it starts */
	p->t_last = ferry_now_ns();
	while (!ret) {
		struct wire_msg m;
		bool all = true;

		for (size_t i = 0; all && i < n; i++) {
			int fi = file_of(p, r[i].pages_id);

			for (uint64_t k = 0; fi >= 0 && all && k < r[i].npages; k++)
				all = present(&p->f[fi], r[i].page + k);
		}
		if (all)
			break;
		ret = wire_recv(&s->c, &m);
		if (ret) {
			ret = rs_err(s, ret, "post-copy: %s", s->c.err);
			break;
		}
		if (m.type == WIRE_PC_DATA)
			ret = recv_pc_data(s, &m);
		else
			ret = rs_err(s, -EPROTO, "unexpected %s frame before the restore",
				     wire_type_name(m.type));
	}
	free(r);
	*eager = want;
	if (ret)
		return ret;
	/* the lazy server's view of the files */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, p->sp))
		return rs_err(s, -errno, "socketpair: %s", strerror(errno));
	p->rem.fd = p->sp[1];
	p->rem.n = p->n;
	p->rem.stall_ms = PC_STALL_MS;
	for (size_t i = 0; i < p->n; i++) {
		snprintf(p->rem.f[i].name, sizeof(p->rem.f[i].name), "%s", p->f[i].name);
		p->rem.f[i].pages = p->f[i].pages;
		p->rem.f[i].present = p->f[i].present;
	}
	return 0;
}

void recv_pc_started(struct session *s)
{
	/* the lazy server has its end */
	close(s->pc->sp[1]);
	s->pc->sp[1] = -1;
}

/*
 * One turn of the feeding loop: the lazy server's requests forwarded, then
 * one frame of the source's if one waits (or comes within wait_ms). 0, or
 * -errno with s->err set.
 */
static int feed_turn(struct session *s, int wait_ms)
{
	struct recv_pc *p = s->pc;
	struct pollfd fds[2] = {
		{ .fd = s->c.fd, .events = POLLIN },
		{ .fd = p->sp[0], .events = POLLIN },
	};
	int ret = 0;

	/* both every time: the lazy server's requests (faults) must not
	 * wait behind the push */
	poll(fds, 2, wire_readable(&s->c) ? 0 : wait_ms);
	for (;;) {
		union {
			struct lz_fetch q;
			struct lz_pc_stats st;
		} u;
		ssize_t n = recv(p->sp[0], &u, sizeof(u), MSG_DONTWAIT);

		if (n == sizeof(u.st) && u.st.magic == LZ_PC_STATS_MAGIC) {
			p->st = u.st;
			continue;
		}
		if (n != sizeof(u.q))
			break;
		if (u.q.file < p->n) {
			p->on_fault += u.q.npages;
			ret = ask_run(s, u.q.file, u.q.page, u.q.npages);
			if (ret)
				return ret;
		}
	}
	if (wire_readable(&s->c) || (fds[0].revents & (POLLIN | POLLHUP))) {
		struct wire_msg m;

		ret = wire_recv(&s->c, &m);
		if (ret)
			return pc_err(s, ret, "post-copy: the source: %s", s->c.err);
		if (m.type == WIRE_PC_DATA)
			return recv_pc_data(s, &m);
		if (m.type == WIRE_PC_PUSHED) {
			p->pushed = true;
			return 0;
		}
		return pc_err(s, -ECANCELED, "post-copy: the source sent %s",
			      wire_type_name(m.type));
	}
	return 0;
}

/* The pump while CRIU restores: the restored tasks (CRIU's restorer in
 * them, before the tree runs) already fault on pages still at the source,
 * and the restore waits for them. Only this thread uses the connection
 * until recv_pc_pump_stop(). */
static void *pump(void *arg)
{
	struct session *s = arg;
	struct recv_pc *p = s->pc;

	while (!__atomic_load_n(&p->pump_stop, __ATOMIC_ACQUIRE) && !p->pump_ret)
		p->pump_ret = feed_turn(s, 100);
	/* the source is lost: without the lazy server CRIU's restore fails
	 * now instead of waiting for pages until its deadline */
	if (p->pump_ret && s->lazyd > 0)
		kill(s->lazyd, SIGKILL);
	return NULL;
}

int recv_pc_pump_start(struct session *s)
{
	struct recv_pc *p = s->pc;
	int ret;

	p->pump_stop = false;
	p->pump_ret = 0;
	p->pump_err[0] = 0;
	p->pumping = true;	/* before the thread: its errors go to pump_err */
	ret = pthread_create(&p->pump, NULL, pump, s);
	if (ret) {
		p->pumping = false;
		return rs_err(s, -ret, "post-copy: starting the pump: %s", strerror(ret));
	}
	return 0;
}

int recv_pc_pump_stop(struct session *s)
{
	struct recv_pc *p = s->pc;

	if (!p || !p->pumping)
		return 0;
	__atomic_store_n(&p->pump_stop, true, __ATOMIC_RELEASE);
	pthread_join(p->pump, NULL);
	p->pumping = false;
	if (p->pump_ret)
		snprintf(s->err, sizeof(s->err), "%s", p->pump_err);
	return p->pump_ret;
}

/* The tree's reach as it was restored, kept where the guard reads it too. */
#define REACH_MARK	"reaches-out"

static bool scan_tree(struct session *s, char *why, size_t whylen)
{
	uint32_t *pids;
	size_t n;
	int ret = 0;

	if (criu_pstree_pids(s->final_dir, &pids, &n)) {
		snprintf(why, whylen, "its process list is unreadable");
		return true;	/* not known: the safe answer */
	}
	for (size_t i = 0; ret <= 0 && i < n; i++) {
		ret = proc_reached_out((pid_t)pids[i], why, whylen);
		if (ret < 0 && ret != -ESRCH) {
			snprintf(why, whylen, "process %u: %s", pids[i], strerror(-ret));
			ret = 1;
		}
	}
	free(pids);
	return ret > 0;
}

void recv_pc_note_reach(struct session *s)
{
	char why[600] = "", path[4200];
	int fd;

	if (!s->postcopy || s->reach_noted)
		return;
	s->reach_noted = true;
	if (!scan_tree(s, why, sizeof(why)))
		return;
	snprintf(path, sizeof(path), "%s/" REACH_MARK, s->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || ferry_write_all(fd, why, strlen(why)))
		rs_note("post-copy: cannot write %s (%s): a lost tree will be judged by what "
			"it holds when it is lost", path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

bool recv_pc_reached_out(struct session *s, char *why, size_t whylen)
{
	char path[4200];

	/* what it held as restored counts, even if it is gone by now (a
	 * lazy-pages server that loses the source kills the tree) */
	snprintf(path, sizeof(path), "%s/" REACH_MARK, s->dir);
	if (ferry_read_file(path, why, whylen) > 0)
		return true;
	return scan_tree(s, why, whylen);
}

int recv_pc_run(struct session *s)
{
	struct recv_pc *p = s->pc;
	uint64_t t0 = ferry_now_ns();
	int ret = 0, status = -1;

	p->t_last = t0;
	while (!ret) {
		if (waitpid(s->lazyd, &status, WNOHANG) == s->lazyd) {
			struct lz_pc_stats st;

			s->lazyd = 0;
			/* its last word, if not read yet */
			while (recv(p->sp[0], &st, sizeof(st), MSG_DONTWAIT) > 0)
				if (st.magic == LZ_PC_STATS_MAGIC)
					p->st = st;
			break;
		}
		ret = feed_turn(s, 200);
		if (ret)
			break;
		if (p->pushed && p->have < p->pages)
			ret = rs_err(s, -EPROTO, "post-copy: the source pushed %llu of %llu pages",
				     (unsigned long long)p->have, (unsigned long long)p->pages);
		else if (ferry_now_ns() - p->t_last > PC_STALL_MS * 1000000ull &&
			 p->have < p->pages)
			ret = rs_err(s, -ETIMEDOUT, "post-copy: no page from the source for %d s",
				     PC_STALL_MS / 1000);
	}
	p->ms = (ferry_now_ns() - t0) / 1000000;
	if (ret)
		return ret;
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return rs_err(s, -EIO, "post-copy: the lazy-pages server failed (status %#x)",
			      status);
	rs_note("post-copy: every page in place %llu ms after the restore (%llu pages, %llu "
		"asked for on fault)", (unsigned long long)p->ms, (unsigned long long)p->pages,
		(unsigned long long)p->on_fault);
	return 0;
}
