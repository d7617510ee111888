/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Migration engine internals shared by `ferry migrate` (source) and
 * `ferry receive` (destination): reading a process's pages for pre-copy,
 * and running CRIU.
 */
#ifndef FERRY_MIG_H
#define FERRY_MIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct wire_conn;
struct pagestore;
struct imgchain;

/* A run of pages. */
struct mig_ext {
	uint64_t start;
	uint64_t pages;
};

struct mig_exts {
	struct mig_ext *v;
	size_t n, cap;
};

int mig_exts_add(struct mig_exts *x, uint64_t start, uint64_t pages);
void mig_exts_free(struct mig_exts *x);
uint64_t mig_exts_pages(const struct mig_exts *x);

/* One VMA the pre-copy copies from: private and readable, not [vvar] or
 * [vsyscall]. */
struct mig_vma {
	uint64_t start, end;
	bool file;	/* file-backed: its not-COWed pages come from the file */
	bool vdso;	/* [vdso]: copied whole, see mig_present_pages() */
};
/* Parse /proc/PID/maps into the VMAs worth copying. */
int mig_copy_vmas(pid_t pid, struct mig_vma **v, size_t *n);
/*
 * The same without the VMAs whose writes soft-dirty cannot track (hugetlb,
 * VM_PFNMAP: "ht"/"pf" in /proc/PID/smaps VmFlags, which costs a walk of
 * the page tables): a pre-copy round must never send their pages, so that
 * CRIU's final dump, with the process frozen, copies them.
 */
int mig_copy_vmas_tracked(pid_t pid, struct mig_vma **v, size_t *n);
/* Pure: is this maps line a VMA to copy? Fills start/end. */
bool mig_maps_line_copyable(const char *line, struct mig_vma *v);
/* Pure: does this smaps "VmFlags:" line mark memory soft-dirty cannot
 * track (hugetlb "ht", VM_PFNMAP "pf")? */
bool mig_vmflags_untracked(const char *line);
/* Pure: does this smaps "VmFlags:" line mark hugetlb memory ("ht")? */
bool mig_vmflags_hugetlb(const char *line);
/*
 * The first hugetlb VMA of pid (from /proc/PID/smaps) in *v: 1 if there is
 * one, 0 if not, -errno. CRIU 3.17 cannot dump hugetlb memory on top of
 * parent images (it wants its pages, never soft-dirty, in the parent, and
 * its restorer cannot read them from there), so a live migration must
 * refuse such a process before freezing it.
 */
int mig_find_hugetlb(pid_t pid, struct mig_vma *v);

/* Present (or swapped) anonymous/COWed pages of the copyable VMAs, from
 * /proc/PID/pagemap, plus every page of [vdso]: a vdso page read-faulted in
 * later is present without being soft-dirty, and CRIU dumps vdso pages, so
 * it would expect it in the parent images. */
int mig_present_pages(pid_t pid, struct mig_exts *out);
/* Keep only the parts of x that lie inside the copyable VMAs. */
int mig_exts_clip(const struct mig_exts *x, const struct mig_vma *v, size_t nv,
		  struct mig_exts *out);

struct mig_copy_stats {
	uint64_t pages;		/* pages read and sent */
	uint64_t raw_bytes;
	uint64_t wire_bytes;	/* frame bytes sent */
	uint64_t unreadable;	/* pages process_vm_readv refused (unmapped since) */
};

/*
 * Read the pages of x from pid (process_vm_readv, one remote iovec per page
 * so a hole costs one page, not a batch), send them as PAGES frames, record
 * them in sent (an index-only page store), both under img_pid: the PID
 * CRIU's images will name the process by (inside a container, its PID
 * namespace's number; else pid). Adds to *st. With store (`ferry
 * checkpoint`: the rounds stay on this host) the pages go into that image
 * chain instead of over c.
 */
int mig_send_pages(struct wire_conn *c, struct imgchain *store, pid_t pid, pid_t img_pid,
		   const struct mig_exts *x, struct pagestore *sent, struct mig_copy_stats *st);

/* Run a program, stdout+stderr appended to log_path. Returns its exit
 * status (0..255), 128+signal, or -errno if it could not run. */
int mig_run(const char *const argv[], const char *log_path);
/* The same, SIGKILLed after timeout_ms (0: none): then -ETIMEDOUT. */
int mig_run_timeout(const char *const argv[], const char *log_path, int timeout_ms);
/* SIGKILL the program when the caller dies (PR_SET_PDEATHSIG): for a
 * `criu restore` whose session is gone. Not for a dump: a CRIU dump killed
 * midway leaves the tree frozen with its parasite inside. */
#define MIG_RUN_DIE_WITH_PARENT 0x1
int mig_run_flags(const char *const argv[], const char *log_path, int timeout_ms,
		  unsigned int flags);
/* Reap child pid, SIGKILLed after timeout_ms: its exit status, 128 + the
 * signal that ended it, -ETIMEDOUT (killed) or -errno. */
int mig_wait_child(pid_t pid, int timeout_ms);
/* The last `lines` lines of a log into buf (for error messages). */
void mig_log_tail(const char *path, int lines, char *buf, size_t size);
/* The first error and warning lines of a CRIU log ("Error (", "Warn  ("),
 * or its tail if there are none. */
void mig_log_errors(const char *path, char *buf, size_t size);
/* Whether one line of the log at path holds both a and b. */
bool mig_log_has(const char *path, const char *a, const char *b);
/* rm -r of a directory tree we created (no symlink following). */
int mig_rmtree(const char *path);

#endif
