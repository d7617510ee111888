/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Pre-flight of a migration: every regular file the process tree maps or
 * executes must exist on the destination with the same size and ELF
 * build-id, every PID and TID of the tree must be free there (CRIU restores
 * them unchanged), and the destination must have room. The source collects
 * (preflight_collect), the destination compares (preflight_check); both
 * travel in PREFLIGHT / PREFLIGHT_ANS frames.
 */
#ifndef FERRY_PREFLIGHT_H
#define FERRY_PREFLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct wire_conn;
struct wire_msg;

#define PF_BUILD_ID_MAX	64
/* What one PREFLIGHT / PREFLIGHT_ANS may carry: a peer's frame is parsed
 * into at most this many entries, allocated as they are read. */
#define PF_MAX_FILES	4096u
#define PF_MAX_TIDS	65536u
#define PF_MAX_PROBLEMS	256u		/* more are counted, not listed */
/*
 * The destination's disk budget for a migration. It needs the tree's memory
 * twice (the first pre-copy round, then a final dump that may hold every
 * page again: soft-dirty marks a whole huge page for one write) plus this,
 * for the final images: pre-flight refuses a disk with less free. It grants
 * up to three times the memory (pages re-sent by later rounds), as much as
 * its disk has free, and the source stops pre-copy before a round could
 * leave too little for the final dump (MIG_STOP_BUDGET).
 */
#define PF_BUDGET_SLACK	(64ull << 20)

enum pf_kind {
	PF_KIND_MAP	= 1U << 0,	/* mapped by some process of the tree */
	PF_KIND_EXE	= 1U << 1,	/* /proc/PID/exe of some process */
};

struct pf_file {
	char path[4096];
	uint64_t size;
	uint32_t kind;			/* enum pf_kind */
	uint8_t build_id_len;		/* 0: not ELF or no build-id note */
	uint8_t build_id[PF_BUILD_ID_MAX];
	uint32_t mode;			/* st_mode here (not sent) */
};

struct pf_list {
	struct pf_file *v;
	size_t n, cap;
	uint64_t mem_bytes;		/* resident memory of the tree */
	/* every process and thread ID of the tree: CRIU restores them as
	 * they are, so each must be free on the destination */
	uint32_t *tids;
	size_t ntids;
	/* set by the destination (never sent) for a container: its PIDs live
	 * in a PID namespace of their own, so they need not be free here */
	bool own_pid_ns;
};

enum pf_problem_kind {
	PF_MISSING = 1,		/* no such file on the destination */
	PF_NOT_REGULAR,		/* exists but is not a regular file */
	PF_SIZE,		/* size or ELF build-id differ (the answer says
				 * which file, never the destination's values) */
	PF_BUILD_ID,		/* (old peers) ELF build-id differs */
	PF_UNREADABLE,		/* cannot be read on the destination, or not
				 * comparable: neither world-readable nor
				 * executable there (no size oracle) */
	PF_NO_MEMORY,		/* MemAvailable below the tree's resident size */
	PF_NO_DISK,		/* page store directory lacks room */
	PF_NO_CRIU,		/* criu not usable on the destination */
	PF_PID_TAKEN,		/* a PID/TID of the tree is in use on the destination */
};

struct pf_problem {
	uint32_t kind;		/* enum pf_problem_kind */
	char path[4096];	/* file, or "" for host problems */
	char detail[256];	/* human text: "source 1234 bytes, here 1240" */
};

struct pf_report {
	struct pf_problem *v;
	size_t n, cap;
	uint64_t files_checked;
	uint32_t more;		/* problems past PF_MAX_PROBLEMS, not listed */
	uint64_t budget;	/* bytes the destination accepts (pages + images) */
};

void pf_list_free(struct pf_list *l);
void pf_report_free(struct pf_report *r);

/*
 * Size and build-id of one file. 0, or -errno (-EINVAL: not regular,
 * -ELOOP: the file is a symbolic link). The path is opened O_PATH|O_NOFOLLOW
 * (openat2 without /proc magic links) and checked with fstat before a byte
 * is read, so a peer-chosen path never opens a device, FIFO or socket, nor
 * a file of /proc or /sys (-EINVAL).
 */
int pf_file_info(const char *path, struct pf_file *f);
/* Bytes a tree of mem_bytes needs here: 2 * mem_bytes + PF_BUDGET_SLACK. */
uint64_t pf_budget(uint64_t mem_bytes);
/* Bytes it is granted with avail bytes free: 3 * mem_bytes + PF_BUDGET_SLACK
 * at most, what the disk has free less 5 %, never below pf_budget(). */
uint64_t pf_budget_grant(uint64_t mem_bytes, uint64_t avail);
/* Resident memory of one process (VmRSS), 0 when it is gone. */
uint64_t pf_rss(pid_t pid);
/* ELF build-id (NT_GNU_BUILD_ID) of an open file: length, 0 if none or not
 * ELF, -errno on read errors. */
int pf_elf_build_id(int fd, uint8_t *buf, size_t size);
/* "d0a1..." */
void pf_hex(const uint8_t *b, size_t n, char *out, size_t size);

/* PIDs of the tree rooted at pid, root first (via task/T/children). */
int pf_tree_pids(pid_t pid, pid_t **pids, size_t *n);
/* Parse the path of one /proc/PID/maps line ("" when anonymous). */
bool pf_maps_path(const char *line, char *path, size_t size);

/* Source side: every regular file of the tree, deduplicated and sorted. */
int preflight_collect(pid_t pid, struct pf_list *out, char *err, size_t errlen);
/* Source side, for a container: no files (they are the image's, checked
 * by its ID), the tree's PIDs as its PID namespace numbers them (the names
 * its pages travel under), its memory. */
int preflight_collect_ctr(pid_t pid, struct pf_list *out, char *err, size_t errlen);
/* Destination side: compare against local files; store_dir (or NULL) is
 * where pages will go. Host checks use mem_bytes. */
int preflight_check(const struct pf_list *src, const char *store_dir, bool criu_ok,
		    uint64_t reserved, struct pf_report *rep);
/* One problem as a human line. */
void pf_problem_str(const struct pf_problem *p, char *buf, size_t size);

/* Wire encoding (PREFLIGHT and PREFLIGHT_ANS frames). */
int preflight_send(struct wire_conn *c, const struct pf_list *l);
int preflight_parse(struct wire_conn *c, const struct wire_msg *m, struct pf_list *l);
int preflight_send_report(struct wire_conn *c, const struct pf_report *r);
int preflight_parse_report(struct wire_conn *c, const struct wire_msg *m, struct pf_report *r);

#endif
