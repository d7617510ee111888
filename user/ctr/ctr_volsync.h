/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A named volume's content copied to the destination in two phases
 * (wire_vol.h), so that the container's downtime carries only what it
 * changed since:
 *   - pre-copy, while the container runs: every directory, regular file and
 *     symbolic link under the volume's root, with mode, owner and mtime;
 *   - final, while it is frozen: a second walk compared with the first.
 *     What is gone is deleted there; what is new or differs (type, inode,
 *     size, mtime, ctime, mode, owner) is sent again, and so is every entry
 *     the first walk could not trust: read while it changed, or changed
 *     within VS_RACY_NS before it was looked at (a write in the same clock
 *     tick leaves ctime as it was). Directories are always sent again
 *     (their attributes only).
 * Left out, with a warning: sockets, FIFOs and device nodes; extended
 * attributes and ACLs. Hard links arrive as separate files.
 *
 * Both sides treat the tree as hostile: the source's container may swap a
 * directory for a link while it is walked, and the destination's session
 * may be sent any path. So every path is opened beneath the volume's root
 * (openat2 RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV), never
 * through a link, and the destination takes no more entries or bytes than
 * the phase announced.
 */
#ifndef FERRY_CTR_VOLSYNC_H
#define FERRY_CTR_VOLSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "wire_vol.h"

#define VS_RACY_NS	(2ull * 1000000000ull)
#define VS_MAX_DEPTH	256

enum vs_type { VS_DIR = 1, VS_FILE, VS_LINK };

struct vs_entry {
	char *path;		/* relative; "." the root */
	char *target;		/* VS_LINK */
	uint8_t type;
	bool dirty;		/* pre-copy: read while it changed, send again */
	uint32_t mode, uid, gid;
	uint64_t size, ino, dev;
	int64_t mtime_ns, ctime_ns;
	int64_t seen_ns;	/* CLOCK_REALTIME when it was looked at */
};

struct vs_tree {
	struct vs_entry *v;	/* parents before children */
	size_t n, cap;
	size_t *byname;		/* indexes sorted by path (vs_walk) */
	uint64_t bytes;		/* its regular files' sizes */
	size_t special;		/* sockets, FIFOs, devices left out */
	size_t hardlinked;	/* files with more than one link */
};

/* Every entry under the directory rootfd (the root itself first). 0 or
 * -errno (why in err). */
int vs_walk(int rootfd, struct vs_tree *t, char *err, size_t errlen);
void vs_tree_free(struct vs_tree *t);
/* The entry of that path, or NULL. */
struct vs_entry *vs_find(const struct vs_tree *t, const char *path);
/* Would the final phase send e again, given what the pre-copy saw (NULL:
 * nothing)? Pure. */
bool vs_changed(const struct vs_entry *before, const struct vs_entry *e);

/* openat2(rootfd, path, flags) beneath rootfd, through no link. */
int vs_open_beneath(int rootfd, const char *path, int flags);

struct vs_send_stats {
	uint64_t files, bytes, dirs, links, deleted;
};

struct wire_conn;
/*
 * One phase of volume vol: before == NULL sends all of now (pre-copy,
 * marking the entries it must send again as dirty; after its BEGIN it
 * waits for the receiver's READY, within c's frame limit); otherwise what differs
 * from before (final: a file that changes while it is read is an error, -EAGAIN,
 * since the container is frozen). Adds to *st.
 */
int vs_send_phase(struct wire_conn *c, uint8_t vol, int rootfd, struct vs_tree *now,
		  const struct vs_tree *before, struct vs_send_stats *st, char *err,
		  size_t errlen);

/* ---- the destination ---------------------------------------------------- */
struct vs_dir_time {
	char *path;
	int64_t mtime_ns;
};

struct vs_apply {
	int rootfd;			/* the volume's root here */
	bool begun;
	uint8_t phase;
	uint64_t bytes_left, entries_left;
	struct vs_dir_time *dirs;	/* mtimes set at the phase's end */
	size_t ndirs, capdirs;
	uint64_t files, bytes, deleted;
	unsigned int phases_done;	/* bit per phase ended */
};

/* Start applying to the directory rootfd (taken over: closed by
 * vs_apply_free). */
void vs_apply_init(struct vs_apply *a, int rootfd);
void vs_apply_free(struct vs_apply *a);
/*
 * One VOLUME frame but FILE. 0 or -errno (why in err): -EPROTO for a frame
 * out of order or past the phase's bounds.
 */
int vs_apply(struct vs_apply *a, const struct wire_vol *v, char *err, size_t errlen);
/*
 * FILE: charged to the phase, created (whatever was at its path goes) and
 * open for writing its body: the fd, or -errno. vs_apply_file_done() then
 * sets its mode, owner and mtime, and closes it.
 */
int vs_apply_file(struct vs_apply *a, const struct wire_vol *v, char *err, size_t errlen);
int vs_apply_file_done(struct vs_apply *a, const struct wire_vol *v, int fd, char *err,
		       size_t errlen);

#endif
