/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The receiver's page store: (pid, vaddr) -> the latest content of that
 * page. Page data lives in one file (appended once per page, overwritten in
 * place by later rounds); RAM holds only an open-addressing index of ~48
 * bytes per page, so a 1 GiB process costs ~12 MiB of index, not 1 GiB.
 */
#ifndef FERRY_PAGESTORE_H
#define FERRY_PAGESTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PS_PAGE_SIZE 4096u

struct pagestore;

/* A page of one pid: its address and where its data is in the file. */
struct ps_ref {
	uint64_t vaddr;
	uint64_t slot;
};

struct ps_stats {
	uint64_t pages;		/* distinct pages stored */
	uint64_t writes;	/* pages written in total */
	uint64_t overwrites;	/* of those, replacing an older copy */
	uint64_t file_bytes;	/* size of the data file */
};

/* Create (truncate) the data file at path. 0 or -errno. With path NULL the
 * store keeps only the index (which pages exist; the source's record of
 * what it sent): reads then fail with -ENODATA. */
int pagestore_open(struct pagestore **out, const char *path);
/* Close; remove the data file when unlink_file. */
void pagestore_close(struct pagestore *ps, bool unlink_file);

/* Store npages consecutive pages starting at vaddr (page aligned). */
int pagestore_put(struct pagestore *ps, uint32_t pid, uint64_t vaddr, uint32_t npages,
		  const void *data);
/* Read the page at vaddr into out (PS_PAGE_SIZE bytes); -ENOENT if absent.
 * out NULL: only ask whether the page is there. */
int pagestore_get(struct pagestore *ps, uint32_t pid, uint64_t vaddr, void *out);
int pagestore_read_slot(struct pagestore *ps, uint64_t slot, void *out, uint32_t npages);
/* Append npages slots from slot on to out_fd (at its file position), in
 * the kernel when it can (copy_file_range). */
int pagestore_copy_slots(struct pagestore *ps, uint64_t slot, uint64_t npages, int out_fd);

/* Sorted distinct pids (malloc'ed, caller frees). */
int pagestore_pids(struct pagestore *ps, uint32_t **pids, size_t *n);
/* The pages of pid sorted by address (malloc'ed, caller frees). */
int pagestore_list(struct pagestore *ps, uint32_t pid, struct ps_ref **refs, size_t *n);
void pagestore_stats(const struct pagestore *ps, struct ps_stats *st);

#endif
