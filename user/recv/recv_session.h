/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One migration on the destination, inside `ferry receive` (private to
 * user/recv/): recv_session.c runs the conversation; recv_ctr.c is what a
 * container adds (the engine's check, its pre-copied images packed for
 * Podman, its conntrack entries, its named volumes, Podman's restore).
 */
#ifndef FERRY_RECV_SESSION_H
#define FERRY_RECV_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "criu_img.h"
#include "criu_swrk.h"
#include "ctr_volsync.h"
#include "recv_pc.h"
#include "imgchain.h"
#include "mig_guard.h"
#include "mig_net.h"
#include "recv.h"
#include "recv_policy.h"
#include "wire.h"
#include "wire_tls.h"

#define MAX_CRIU_ARGS RECV_MAX_CRIU_ARGS

struct session {
	const struct ropts *o;
	struct wire_conn c;
	char dir[4096];
	char final_dir[4200], log[4300];
	struct imgchain *ic;	/* the pre-copied pages, one image set per round */
	bool restored;
	bool lazy;		/* restore pre-copied pages through criu lazy-pages */
	pid_t lazyd;		/* that daemon, while it fills the restored tree */
	struct criu_swrk swrk;	/* CRIU worker waiting for the restore request */
	struct mig_guard guard;	/* kills the restored tree if we die unreported */
	uint64_t t_restored;
	uint8_t *buf;
	bool move;		/* MOVE_ADDR: the service address comes here */
	struct mig_addr addr;
	bool addr_added;
	char unlock_script[4300];
	uint64_t tcp_kept;	/* dumped connections found after the restore */
	bool authenticated;	/* the peer proved who it is */
	char peer_addr[64];	/* for the log: who connected */
	struct wire_tls_peer peer;	/* its certificate's names */
	uint8_t id[WIRE_ID_LEN];	/* the migration's ID (the source's) */
	bool query;		/* the peer only asks for an outcome */
	bool store;		/* the peer delivers checkpoints (recv_store.h) */
	bool committed;		/* COMMIT received: an outcome is recorded */
	bool acked;		/* the source confirmed it learnt the outcome */
	struct recv_budget budget;	/* agreed at pre-flight, charged before writing */
	bool granted;		/* the budget is in the receiver's disk account */
	uint32_t *pids;		/* the tree's PIDs/TIDs from pre-flight, sorted */
	bool is_ctr;		/* a container (CONTAINER): Podman restores it */
	struct wire_ctr ctr;
	bool ctr_archive;	/* its checkpoint archive arrived */
	char ctr_previous[4300];	/* the pre-copied images for --import-previous */
	struct wire_ct *ct;	/* CONNTRACK: its connections' entries */
	uint32_t nct;
	struct wire_ct6 *ct6;	/* CONNTRACK6: its IPv6 connections' entries */
	uint32_t nct6;
	bool ct_made;		/* made on this host (undone if the restore is) */
	/* VOLUME: the named volumes made here, each filled by its own
	 * vs_apply (index as in ctr.vols); removed unless the container runs */
	bool vol_made[WIRE_CTR_MAX_VOLS];
	struct vs_apply vols[WIRE_CTR_MAX_VOLS];
	struct recv_pc *pc;	/* post-copy: pages files still at the source */
	bool postcopy;		/* COMMIT asked for it */
	bool guard_lost;	/* in the guard: the post-copy tree may have reached out */
	bool reach_noted;	/* post-copy: recv_pc_note_reach() ran */
	char err[4096];
};

/* A line on stderr ("ferry receive: ..."), sanitized: lines quote the
 * source's words. */
void rs_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* s->err from fmt; returns ret. */
int rs_err(struct session *s, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The migration's outcome on the record (recv_outcome.h), for a source
 * that lost the answer; LOST on record stays (returned: the state now on
 * record). */
uint32_t rs_record(struct session *s, uint32_t state, const uint64_t *v);

/* recv_restore.c */
/* MOVE_ADDR: answered with the interface the address will go on, or an
 * ERROR. */
int recv_move_addr(struct session *s, const struct wire_msg *m);
/* DIR/parent -> ../rTOP: the final images in DIR (a directory of the
 * session's, beside the rounds) on top of the pre-copied chain. */
int recv_link_parent(struct session *s, const char *dir);
/* Lazy restore of the final images in DIR (CRIU's images and work dir):
 * the pre-copied pages marked lazy, and the lazy-pages server listening
 * there (s->lazyd). */
int recv_lazy_start(struct session *s, const char *dir);
/* COMMIT of a process tree: CRIU's restore, guarded. */
int recv_tree_restore(struct session *s, uint64_t *ms, struct criu_restore_stats *rs);
/* Post-copy gives the tree up (it cannot go on without its pages): LOST on
 * record before the kill when it may have reached the outside world (true,
 * why in why), NOT_RESTORED after it otherwise. */
bool recv_pc_give_up(struct session *s, char *why, size_t whylen);

/* recv_ctr.c */
/* CONTAINER: answered with CONTAINER_ACK, or an ERROR saying why not. */
int recv_ctr_check(struct session *s, const struct wire_msg *m);
/* The pre-copied images packed for --import-previous (a restore that
 * cannot read ferry's images directly). */
int recv_ctr_previous(struct session *s);
/* CONNTRACK: the entries kept until the restore. */
int recv_ctr_conntrack(struct session *s, const struct wire_msg *m);
/* CONNTRACK6: the same for its IPv6 connections. */
int recv_ctr_conntrack6(struct session *s, const struct wire_msg *m);
/* The entries made for the restore are deleted again. */
void recv_ctr_ct_undo(struct session *s);
/* VOLUME (ctr_volsync.h): a named volume made here at its first frame,
 * then filled. */
int recv_ctr_volume(struct session *s, const struct wire_msg *m);
/* The session ends: the volumes it made stay only if the container runs. */
void recv_ctr_end(struct session *s);
/* COMMIT of a container: Podman's restore, guarded. */
int recv_ctr_restore(struct session *s, uint64_t *ms, struct criu_restore_stats *rs);

#endif
