/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Plain runc containers (`ferry migrate --container ID --engine runc`):
 * what ferry asks of runc on either side.
 *
 * A runc container has no image and no engine that copies its root file
 * system: its bundle (config.json and the root it names) is the user's
 * directory. ferry moves one only when both hosts see that directory, on
 * storage they share, so that what the container wrote there is on the
 * destination too; otherwise it would restore the container on a stale
 * root and lose those writes. The source proves the share: it makes a
 * marker file with a random name in the bundle, and the destination must
 * see it (and the same config.json, by SHA-256) before anything is frozen.
 *
 * The memory goes as for Podman: pre-copied with the module, then `runc
 * checkpoint --parent-path` on top of ferry's parent images of a container
 * whose cgroup ferry froze first, `--leave-running`, so that it stays
 * frozen until the destination answers. The final images travel as a
 * tree's do, and the destination runs `runc restore --detach` on top of
 * its pre-copied image chain (relative parent links, which CRIU follows
 * from inside the container's root as well).
 *
 * runc runs as a child with a bounded wait; its output is parsed only in
 * the fixed forms asked for.
 */
#ifndef FERRY_CTR_RUNC_H
#define FERRY_CTR_RUNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "ctr.h"

#define CTR_RUNC_ROOT		"/run/runc"	/* runc's own default --root */
#define CTR_RUNC_TIMEOUT_MS	300000		/* one runc call, CRIU's included */
#define CTR_RUNC_CONFIG_MAX	(1u << 20)	/* a bundle's config.json */
#define CTR_RUNC_SHARE_PREFIX	".ferry-share-"
/* runc's --work-path (CRIU's log, statistics) in a migration's or a
 * checkpoint's directory: no part of the images */
#define CTR_RUNC_WORK_NAME	"runc-work"

static inline bool ctr_is_runc(const struct wire_ctr *w)
{
	return !strcmp(w->engine, "runc");
}

/* --runc-root ARG (migrate, checkpoint, receive, restore): an absolute
 * path into *root, or -1 (said). */
int ctr_runc_root_opt(const char *arg, const char **root);

/*
 * `runc --root ROOT state ID`: it must run. Fills ci (engine "runc", ID
 * and name, the image as config.json's SHA-256, its bundle, init PID and
 * cgroup) and a fresh share marker name. 0, or -ENOENT (no such
 * container), -ESRCH (not running), -errno (why in err).
 */
int ctr_runc_inspect(const char *root, const char *id, struct ctr_info *ci, char *err,
		     size_t errlen);
/* The marker in ci->w.bundle: made (fsync'd with its directory) or removed. */
int ctr_runc_share_mark(const struct wire_ctr *w, bool make, char *err, size_t errlen);
/*
 * Pure: config.json's bind mounts (text, len bytes): each mount of type
 * "bind" or with an option "bind" or "rbind", as runc decides, into
 * w->vols (WIRE_CTR_VOL_BIND; a relative source is bundle's, a relative
 * destination the root's). The destination checks each is there before
 * anything is frozen; ferry copies none (storage both hosts share).
 * 0, -EINVAL (not a JSON object, or an escape in a mount's type, source,
 * destination or options: compared raw, it could hide a bind), -E2BIG
 * (more than WIRE_CTR_MAX_VOLS), -ENAMETOOLONG; w->nvols 0 on failure.
 */
int ctr_runc_config_binds(const char *text, size_t len, const char *bundle, struct wire_ctr *w);
/* SHA-256 of BUNDLE/config.json (at most CTR_RUNC_CONFIG_MAX bytes, no
 * link followed) as 64 lower-case hex digits into hex. */
int ctr_runc_config_hash(const char *bundle, char hex[WIRE_CTR_ID_LEN + 1]);
/*
 * The cgroup (v2, cgroupfs) runc gives the container of that bundle:
 * config.json's linux.cgroupsPath, or /ID without one, under
 * /sys/fs/cgroup. -ENOTSUP for a systemd slice path ("a:b:c").
 */
int ctr_runc_cgroup(const char *bundle, const char *id, char *out, size_t size);
/*
 * The final dump: `runc checkpoint` of the frozen container into
 * image_dir on top of parent_rel (relative to image_dir), working in
 * work_dir, leaving it in place. CRIU's errors appended to err.
 */
int ctr_runc_checkpoint(const struct ctr_info *ci, const char *image_dir, const char *parent_rel,
			const char *work_dir, char *err, size_t errlen);
/* `runc delete --force` (gone already is success): 0 or -EIO. */
int ctr_runc_delete(const char *root, const char *id, const char *log);
/* `runc kill ID KILL`: it stays, stopped (--keep-source). 0 or -EIO. */
int ctr_runc_kill(const char *root, const char *id, const char *log);
/*
 * Destination: can runc here take it? runc and the bundle here, the same
 * config.json, the source's share marker seen, the ID and its cgroup free,
 * each bind mount's source here.
 * 0 yes, 1 no (why in problem), -errno when runc could not be asked.
 */
int ctr_runc_check_here(const struct wire_ctr *k, const char *root, char *problem, size_t size);
/*
 * A restore from a checkpoint store (`ferry restore --dir`): the same
 * checks without a share marker, the bind mounts read from the bundle's
 * config.json here (which must hash to k->image). Fills k->vols.
 */
int ctr_runc_check_restore(struct wire_ctr *k, const char *root, char *problem, size_t size);
/*
 * Destination: `runc restore --detach` from image_dir (its parent link
 * already set), working in work_dir (lazy: with --lazy-pages, a lazy-pages
 * server listening there); the container's standard output and error, and
 * runc's, go to out_log. 0 when runc says it runs; otherwise
 * what runc made is deleted again and -EIO (why in err).
 */
int ctr_runc_restore(const struct wire_ctr *k, const char *root, const char *image_dir,
		     const char *work_dir, bool lazy, const char *out_log, int timeout_ms,
		     char *err, size_t errlen);
/*
 * Destination, in the restore guard once the receiver is gone: end what
 * the restore started: the container's cgroup (frozen, its network
 * locked, then killed) and `runc ... ID` processes started since `since`.
 * 0, or -ETIMEDOUT if something still ran after 30 s (ctr_undo.c).
 */
int ctr_undo_runc(const char *cgroup_dir, const char *id, uint64_t since);

#endif
