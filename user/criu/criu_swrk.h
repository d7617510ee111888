/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Restoring through a CRIU service worker (`criu swrk FD`, CRIU's RPC over a
 * SOCK_SEQPACKET socketpair, the interface libcriu and runc use).
 *
 * Why: under `criu restore` every migration pays for exec'ing CRIU, its
 * dynamic linking and start-up, inside the downtime -- about as long as
 * the restore itself in the TCG guests. A worker started while pre-copy
 * runs is waiting, already loaded, when the final images arrive; it answers
 * as soon as the tree runs (before CRIU's own exit).
 *
 * The wire format is the protobuf of CRIU's rpc.proto (criu_req, criu_opts,
 * criu_resp); ferry encodes the few fields it needs by hand.
 */
#ifndef FERRY_CRIU_SWRK_H
#define FERRY_CRIU_SWRK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* rpc.proto numbers (released CRIU ABI, never renumbered) */
#define CRIU_REQ_RESTORE	2
#define CRIU_REQ_NOTIFY		6

struct criu_swrk {
	pid_t pid;	/* the worker, 0 when none */
	int sk;		/* our end of the socketpair */
};

/* What the restore request carries. */
struct criu_swrk_restore {
	int images_dir_fd;	/* open in this process: CRIU opens /proc/OURPID/fd/N */
	const char *log_file;	/* a name inside the images directory */
	int log_level;
	bool tcp_established;
	bool lazy_pages;
	/* The whole restore must be over within this (0: no limit); past it
	 * the worker is killed and the call fails with -ETIMEDOUT. */
	int timeout_ms;
	/* Called for each action-script notification ("post-restore", ...);
	 * nonzero fails the restore. NULL: no notifications asked for. */
	int (*notify)(const char *script, pid_t pid, void *arg);
	void *arg;
};

/*
 * Start `criu swrk` (its stdout/stderr into out_path). 0, or -errno with
 * err filled. The worker waits for one request.
 */
int criu_swrk_start(struct criu_swrk *w, const char *out_path, char *err, size_t errlen);
/*
 * Restore: 0 with *root set once CRIU reports the tree running; -EIO with
 * CRIU's reason in err when CRIU reports failure; -EPIPE / -ECONNRESET when
 * the worker is gone (nothing was restored: the caller may fall back to
 * `criu restore`); -ETIMEDOUT when r->timeout_ms passed (the worker is
 * killed: what it restored must be killed too).
 */
int criu_swrk_restore(struct criu_swrk *w, const struct criu_swrk_restore *r, pid_t *root,
		      char *err, size_t errlen);
/* Close the socket and reap the worker (killed after timeout_ms): as
 * mig_wait_child(), or -1 for a worker never started. */
int criu_swrk_stop(struct criu_swrk *w, int timeout_ms);

/* Pure encoders/decoders, for the unit tests. */
/* criu_req{type=RESTORE, opts}: bytes written to buf, or -ENOSPC. */
int criu_swrk_encode_restore(const struct criu_swrk_restore *r, uint8_t *buf, size_t size);
/* criu_req{type=NOTIFY, notify_success=ok}. */
int criu_swrk_encode_notify_ack(bool ok, uint8_t *buf, size_t size);

struct criu_swrk_resp {
	uint32_t type;
	bool success;
	int32_t restored_pid;	/* restore.pid, 0 when absent */
	char script[64];	/* notify.script */
	int32_t notify_pid;
	int32_t cr_errno;
	char errmsg[512];	/* cr_errmsg */
};
/* 0, or -EPROTO for bytes that are not a criu_resp. */
int criu_swrk_decode_resp(const uint8_t *buf, size_t len, struct criu_swrk_resp *out);

#endif
