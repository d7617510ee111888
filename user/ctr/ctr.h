/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Containers: what ferry asks of the engine (Podman, rootful) on either
 * side of a container migration.
 *
 * The source pre-copies the container's process tree with the module like
 * any tree, but names its pages by the PIDs inside the container's PID
 * namespace (what CRIU's images use). At the end it writes those pages'
 * parent images into the container's `pre-checkpoint` directory, freezes
 * the container's cgroup, and lets `podman container checkpoint
 * --with-previous --leave-running --export` dump only what changed since
 * (runc hands CRIU `--parent-path ../pre-checkpoint` with memory tracking).
 * The frozen container stays there, frozen, until the destination answers:
 * thawed if it could not restore, removed if it runs there.
 *
 * The destination keeps the pre-copied pages as CRIU images (imgchain.h)
 * and restores with `podman container restore --import ARCHIVE`, whose
 * spec.dump names a CRIU configuration file that has CRIU read ferry's
 * images, the pre-copied pages lazily (ctr_criuconf.h). A container with
 * a CRIU configuration of its own gets `--import-previous TAR` instead,
 * TAR holding the chain as pre-checkpoint/ (written in the downtime; the
 * chain is removed once the tar holds it).
 *
 * Podman runs as a child with a bounded wait; its output is captured to a
 * bound and only parsed in the fixed forms asked for.
 */
#ifndef FERRY_CTR_H
#define FERRY_CTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "wire.h"

#define CTR_PODMAN_TIMEOUT_MS	300000	/* one podman call (TCG: ~1 min) */
#define CTR_ARCHIVE_NAME	"ctr-checkpoint.tar"	/* the final image */
#define CTR_MAX_LINKS		16	/* network interfaces of one container */

/* The host's end of one of a container's veth pairs (ctr_netlock.c) */
struct ctr_link {
	int ifindex;
	char name[16];
};

struct ctr_info {
	struct wire_ctr w;	/* engine, ID, name, image ID */
	pid_t pid;		/* its init, as this host sees it */
	char static_dir[4096];	/* Podman's userdata: pre-checkpoint/ goes there */
	char cgroup[4096];	/* /sys/fs/cgroup/... of its init */
	int nlinks;		/* ctr_net_find() */
	struct ctr_link links[CTR_MAX_LINKS];
	bool vols_precopied;	/* its named volumes are on the destination
				 * already: the checkpoint leaves them out */
	char runc_root[1024];	/* runc (ctr_runc.h): its --root */
};

/*
 * Run argv (argv[0] looked up in PATH) with stdin from /dev/null; its
 * standard output (at most size - 1 bytes kept, NUL-terminated) into out,
 * its standard error appended to log_path (or dropped when NULL). Killed
 * after timeout_ms: -ETIMEDOUT. Otherwise its exit status (128 + signal).
 */
int ctr_capture(const char *const argv[], char *out, size_t size, const char *log_path,
		int timeout_ms);

/* `podman container inspect` of NAME or ID: the container must run. */
int ctr_inspect(const char *ref, struct ctr_info *ci, char *err, size_t errlen);
/* Its named volumes and bind mounts into ci->w.vols (Podman's .Mounts;
 * other kinds are warned about and left out). 0 or -errno (why in err). */
int ctr_volumes(struct ctr_info *ci, char *err, size_t errlen);
/* /sys/fs/cgroup/... of pid's cgroup v2 into out; -ENOENT without one. */
int ctr_read_cgroup(pid_t pid, char *out, size_t size);
/* The PID of a process inside its innermost PID namespace (NSpid), or
 * -errno. */
pid_t ctr_ns_pid(pid_t pid);
/* Freeze (or thaw) the cgroup v2 of ci->cgroup and wait until it says so
 * (cgroup.events), at most timeout_ms. */
int ctr_freeze(const struct ctr_info *ci, bool frozen, int timeout_ms, char *err, size_t errlen);
/* The final dump: checkpoint on top of pre-checkpoint/, leaving the
 * (frozen) container in place, into archive. Podman's stats-dump stays in
 * ci->static_dir (--keep). */
int ctr_checkpoint(const struct ctr_info *ci, const char *archive, const char *log, char *err,
		   size_t errlen);
/* TCP sockets of the network namespace of pid that are neither listening
 * nor in TIME_WAIT (/proc/PID/net/tcp, tcp6), or -errno. */
int ctr_tcp_connections(pid_t pid);
/*
 * The network lock (ctr_netlock.c). ctr_net_find: the host's end of each
 * of the container's interfaces but loopback, into ci->links; -ENOTSUP
 * (why in err) when one is not a veth whose other end is in this host's
 * network namespace, or the container shares it. ctr_net_lock: those links
 * down (locked) or up again; every link is tried, the first error is
 * returned.
 */
int ctr_net_find(struct ctr_info *ci, char *err, size_t errlen);
int ctr_net_lock(const struct ctr_info *ci, bool locked, char *err, size_t errlen);
/* `podman KIND exists REF` (KIND image, container, volume): 1 yes, 0 no,
 * -errno if Podman could not say. */
int ctr_exists(const char *kind, const char *ref, const char *log);
/* `podman rm -f ID` (none left is success too): 0 or -EIO. */
int ctr_remove(const char *id, const char *log);
/* `podman stop -t 0 ID` (a fatal signal ends even a frozen cgroup's
 * tasks): kept, stopped. 0 or -EIO. */
int ctr_stop(const char *id, const char *log);
/* After a checkpoint that is not used: drop checkpoint/ and
 * pre-checkpoint/ from ci->static_dir, so a later one starts clean. */
void ctr_forget_checkpoint(const struct ctr_info *ci);

/*
 * Destination: can this host's Podman take the container? 0 yes, 1 no
 * (why in problem), -errno when Podman could not be asked. At most
 * CTR_CHECK_PODMAN_CALLS calls of Podman, each within CTR_PODMAN_TIMEOUT_MS.
 */
#define CTR_CHECK_PODMAN_CALLS	4
int ctr_check_here(const struct wire_ctr *k, const char *log, char *problem, size_t size);
/*
 * Destination, once the pre-copy's last round is in: the tar that
 * --import-previous takes, work_dir/previous.tar (its path into tarf), with
 * the image set parent_dir (an absolute path) and the rounds below it as
 * pre-checkpoint/, pre-checkpoint/parent/, ... Copies, not links: Podman
 * refuses a link out of its directory, and CRIU follows links from the
 * restored init, whose root is already the container's.
 */
int ctr_previous_tar(const char *parent_dir, const char *work_dir, char *tarf, size_t size,
		     char *err, size_t errlen);
/*
 * Destination: restore from the received archive on top of previous_tar
 * (NULL: the archive names CRIU's images itself, ctr_criuconf.h), working
 * in work_dir; vols_here: the named volumes are here already (not in the
 * archive). 0 when Podman says the container runs; otherwise
 * whatever Podman created is removed again and -EIO (why in err).
 */
int ctr_restore(const struct wire_ctr *k, const char *archive, const char *previous_tar,
		bool vols_here, const char *work_dir, int timeout_ms, char *err, size_t errlen);
/*
 * Named volumes (ctr_volume.c). ctr_volume_path: the directory Podman keeps
 * volume name's content in (its Mountpoint), into path. ctr_volume_create:
 * a new, empty local volume of that name (it must not exist), its path
 * into path. ctr_volume_remove: `podman volume rm -f`. 0 or -errno (why
 * in err).
 */
int ctr_volume_path(const char *name, char *path, size_t size, char *err, size_t errlen);
int ctr_volume_create(const char *name, char *path, size_t size, const char *log, char *err,
		      size_t errlen);
int ctr_volume_remove(const char *name, const char *log);
/* Destination: is each bind mount's host path of k here? 0, or 1 with
 * why in problem (what ferry does not do: why, a clause). A bind mount
 * stays where it is: both hosts must have it, on storage they share. */
int ctr_binds_here(const struct wire_ctr *k, const char *why, char *problem, size_t size);
/*
 * `ferry restore --import`: restore Podman's checkpoint archive as it is
 * (made by `podman container checkpoint --export` or `ferry checkpoint
 * --export`), working in work_dir. The container Podman made, running,
 * into ci; -EIO (why in err) when Podman failed or it does not run.
 */
int ctr_restore_archive(const char *archive, const char *work_dir, int timeout_ms,
			struct ctr_info *ci, char *err, size_t errlen);
/*
 * Destination, in the restore guard once the receiver is gone (ctr_undo.c):
 * end everything the restore of container id started (processes started
 * since `since`, a mig_pid_starttime), its network locked first. Podman's
 * record of it is left to ctr_remove(). 0, or -ETIMEDOUT if something
 * still ran after 30 s.
 */
int ctr_undo_restore(const char *id, uint64_t since);
/*
 * runc restore bind-mounts the container's root at RUNC_ROOT/ID/criu-root
 * for CRIU and unmounts it when it returns. A runc killed mid-restore (the
 * guard, a timeout) leaves that mount, and `runc delete` then removes
 * RUNC_ROOT/ID with Go's os.RemoveAll, which goes through the mount into
 * the container's root: it deleted a shared runc bundle's root file system
 * under the source's running container (runc-move-failures, 6.12).
 * Detaches every mount at or under an .../ID/criu-root (ctr_undo.c); run
 * before any delete of a container whose restore may have been killed.
 * 0, -EBUSY if one stayed, -errno.
 */
int ctr_unmount_criu_root(const char *id);
/* CRIU's own error lines from work_dir/log_name, appended to err after a
 * "CRIU (PATH):" line (nothing when it has none). */
void ctr_append_criu_log(const char *work_dir, const char *log_name, char *err, size_t errlen);

#endif
