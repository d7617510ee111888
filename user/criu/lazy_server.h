/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ferry's lazy-pages server: fills the memory of a tree that `criu restore
 * --lazy-pages` started without its pre-copied pages, from the images on
 * this host, through the userfaultfd descriptors CRIU hands over.
 *
 * It speaks CRIU's side of the protocol (criu/uffd.c, 3.17): it listens on
 * DIR/lazy-pages.socket; the restore connects once and sends, for each
 * task of pstree.img, its pid (int; negative for a zombie, which sends
 * nothing more) and then its userfaultfd (SCM_RIGHTS with one data byte);
 * when the tree runs it sends LAZY_PAGES_RESTORE_FINISHED (u32) and hangs
 * up. The server
 *   - answers each page fault at once: UFFDIO_COPY of the faulting page
 *     and a few after it from the images, or UFFDIO_ZEROPAGE where the dump
 *     has no page;
 *   - follows the tree's own changes: fork (a new descriptor for the
 *     child, which gets the same pages), mremap (pages move), munmap and
 *     MADV_DONTNEED (pages dropped: never filled);
 *   - once the restore has finished, copies all remaining pages in the
 *     background, faults first, and exits 0 when every page is in place
 *     (closing a descriptor then leaves nothing missing).
 *
 * Why not `criu lazy-pages`: in 3.17 a fault whose page lies in a parent
 * image is read but never copied in (the parent page_read has no
 * io_complete), so the task waits forever.
 */
#ifndef FERRY_LAZY_SERVER_H
#define FERRY_LAZY_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* A run of pages whose data is at fd:off. */
struct lz_ext {
	uint64_t start, pages;
	int fd;
	uint64_t off;
};

/* Ascending, disjoint runs. */
struct lz_map {
	struct lz_ext *v;
	size_t n, cap;
};

/* Append a run above every other; joined to the last if contiguous in
 * memory and in the same file. 0, -EINVAL (not above), -ENOMEM. */
int lz_map_add(struct lz_map *m, uint64_t start, uint64_t pages, int fd, uint64_t off);
/* The run holding addr, or NULL. */
const struct lz_ext *lz_map_find(const struct lz_map *m, uint64_t addr);
/* The first run ending above addr, or NULL. */
const struct lz_ext *lz_map_next(const struct lz_map *m, uint64_t addr);
/* Drop [start, end); the dropped pieces go to removed if not NULL. */
int lz_map_cut(struct lz_map *m, uint64_t start, uint64_t end, struct lz_map *removed);
/* The pages of [from, from + len) now live at to (mremap). */
int lz_map_remap(struct lz_map *m, uint64_t from, uint64_t to, uint64_t len);
int lz_map_dup(const struct lz_map *src, struct lz_map *dst);
uint64_t lz_map_pages(const struct lz_map *m);
void lz_map_free(struct lz_map *m);

/*
 * The PE_LAZY pages of pid's pagemap in dir, each resolved to its data:
 * dir's own pages file, or a parent's (dir/parent, recursively). Opened
 * files stay open (the map refers to them) until lz_files_close().
 */
int lz_map_load(const char *dir, uint32_t pid, struct lz_map *m, char *err, size_t errlen);
/* Every page dir's pagemap provides (its own and its parents'), resolved
 * the same way: what a restore from dir would put in place. */
int lz_map_load_all(const char *dir, uint32_t pid, struct lz_map *m, char *err, size_t errlen);
void lz_files_close(void);

struct lazy_server_stats {
	uint64_t tasks, faults, zero_pages, fault_pages, background_pages, dropped_pages;
	uint64_t remote_waits;	/* faults that waited for pages still arriving */
	uint64_t ms;		/* from the restore finishing to the last page */
};

/*
 * Post-copy: pages files of dir that are still arriving from the source.
 * Each is a file of its full size whose pages are in place once their bit
 * in present is set (by the process that writes them, after the write;
 * present is shared memory, one bit per page). A fault on a page not in
 * place yet asks for it on fd (struct lz_fetch) and waits; a byte read
 * from fd says more pages are in place. Background copying takes pages as
 * they come.
 */
#define LZ_REMOTE_MAX	64
struct lz_remote_file {
	char name[64];			/* e.g. "pages-3.img", in dir */
	uint64_t pages;
	const uint8_t *present;
};
struct lz_remote {
	int fd;
	size_t n;
	struct lz_remote_file f[LZ_REMOTE_MAX];
	int stall_ms;			/* a wait for pages longer than this fails */
};
/* A request on lz_remote.fd: npages pages of file f from page. */
struct lz_fetch {
	uint32_t file;
	uint32_t npages;
	uint64_t page;
};
/* The server's last message on lz_remote.fd before it exits 0. */
#define LZ_PC_STATS_MAGIC	0x5053544cu
struct lz_pc_stats {
	uint32_t magic, pad;
	uint64_t waits;			/* faults that waited for pages */
	uint64_t median_us, p99_us;	/* how long they waited */
	uint64_t fault_pages, background_pages;
};

/* Is page i of a present bitmap in place? */
static inline int lz_present(const uint8_t *present, uint64_t i)
{
	return (__atomic_load_n(&present[i / 8], __ATOMIC_ACQUIRE) >> (i % 8)) & 1;
}

/*
 * Fork the server for the images in dir, serving `tasks` tasks (pstree.img
 * entries); remote (or NULL: every page is here) as above, its fd kept
 * open in the server. Returns once it listens; the restore may start then.
 */
int lazy_server_start(const char *dir, uint64_t tasks, const struct lz_remote *remote, pid_t *pid,
		      char *err, size_t errlen);
/* The same, listening in sock_dir (CRIU's work dir) instead: for images on
 * a file system that holds no socket (9p, some FUSE). */
int lazy_server_start_at(const char *dir, const char *sock_dir, uint64_t tasks,
			 const struct lz_remote *remote, pid_t *pid, char *err, size_t errlen);
/*
 * Wait for the server to finish (every page in place), up to timeout_ms
 * (then it is killed). Its exit status (0 good), 128+signal, or
 * -ETIMEDOUT.
 */
int lazy_server_wait(pid_t pid, int timeout_ms);

#endif
