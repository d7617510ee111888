/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The source side of a migration (`ferry migrate`), shared by its files:
 * migrate.c (options, the session, final dump, commit), mig_precopy.c (the
 * tracked tree and the pre-copy rounds) and mig_report.c (the report).
 */
#ifndef FERRY_MIG_SRC_H
#define FERRY_MIG_SRC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "criu_img.h"
#include "ctr.h"
#include "ctr_volsync.h"
#include "dirty_track.h"
#include "mig_net.h"
#include "mig_pc_src.h"
#include "mig_policy.h"
#include "mig_tcp.h"
#include "wire.h"
#include "wire_tls.h"

struct imgchain;

#define MAX_CRIU_ARGS 16
#define MAX_ROUNDS_HIST 64
#define MIG_REPLY_TIMEOUT_MS	120000	/* any answer but the restore's */

struct opts {
	pid_t pid;
	const char *container;	/* --container NAME|ID (then pid is its init) */
	bool keep_source;	/* --keep-source: stop it here, do not remove it */
	bool runc;		/* --engine runc: a plain runc container */
	const char *runc_root;	/* --runc-root DIR */
	const char *to;
	uint64_t max_downtime_ms;
	uint32_t max_rounds;
	enum dirty_backend backend;
	const char *work_dir;
	const char *criu_args[MAX_CRIU_ARGS];
	int ncriu_args;
	bool json;
	bool move;		/* --move-addr */
	struct mig_addr addr;
	struct wire_tls_paths tls;	/* --tls-* */
	bool insecure;
	int commit_ms, settle_ms;	/* --commit-timeout, --settle-timeout */
	enum mig_postcopy_mode postcopy;	/* --postcopy */
};

struct tracked {
	pid_t pid;
	pid_t img_pid;		/* the PID its pages travel under: CRIU's name
				 * for it (a container's PID namespace numbers) */
	uint64_t start;		/* its start time (clock ticks) */
	struct dirty_tracker *t;
	struct dirty_claim claim;	/* its soft-dirty bits are ours alone */
	bool gone;
	bool noted;	/* its tracker's backend change was reported */
	bool delta;	/* its round 0 copies only what changed since m->base */
};

/*
 * `ferry ha`: the version the next one may build on. Each process tracked
 * through that version keeps its claim afterwards, so no other ferry
 * clears its soft-dirty bits; the last clears were ferry's own rounds and
 * CRIU's final dump (--track-mem), each after or while its pages were
 * copied. A page that is not soft-dirty at the next version's first round
 * is therefore as that version's images hold it, and round 0 copies only
 * the soft-dirty ones of these processes (and everything of any other).
 */
struct src_base_proc {
	pid_t pid, img_pid;
	uint64_t start;
	struct dirty_claim claim;
};

struct src_base {
	uint32_t version;	/* 0: nothing to build on */
	char final_dir[4200];	/* its final dump: pagemaps read from here */
	char link[64];		/* the next version's r0/parent */
	unsigned int depth;	/* image sets from its final to a version that
				 * stands alone, parents CRIU will follow */
	struct src_base_proc *p;
	size_t n;
};

/* --container: a named volume copied before the pre-copy, and what changed
 * in it again while the container is frozen (ctr_volsync.h) */
struct src_vol {
	uint32_t idx;		/* in ctr->w.vols */
	int rootfd;
	struct vs_tree pre;	/* what its pre-copy sent */
	struct vs_send_stats pre_st, fin_st;
	uint64_t pre_ms, fin_ms;
};

struct mig;
/* Release the claims and forget the base. */
void src_base_drop(struct src_base *b);
/* After a published version: the processes m tracked through it, with
 * their claims, become b (whatever b was is dropped first). */
int src_base_take(struct src_base *b, struct mig *m, uint32_t version, const char *vdir,
		  unsigned int depth);

struct mig {
	struct opts *o;
	struct wire_conn c;
	int fd;
	pid_t *pids;		/* the tree when its tracking began */
	size_t npids;
	uint32_t *announced;	/* the IDs pre-flight told the destination, sorted */
	size_t nannounced;
	pid_t *frozen_pids;	/* the tree CRIU dumped and left stopped */
	size_t nfrozen;
	uint64_t track_uptime_us;	/* when the tracking began (/proc/uptime) */
	struct tracked *tr;
	struct pagestore *sent;
	struct imgchain *store;	/* `ferry checkpoint`: rounds go into this local
				 * image chain, not over c */
	struct src_base *base;	/* `ferry ha`: build on this version (or NULL) */
	bool on_base;		/* some process's round 0 did (r0/parent is set) */
	char dir[4096];		/* private work dir */
	char final_dir[4200], parent_dir[4200], log[4200];
	struct mig_round_stat hist[MAX_ROUNDS_HIST];
	size_t nrounds;
	enum mig_decision why;
	uint64_t t0, t_criu, t_freeze, t_dumped, t_sent, t_restored;
	uint64_t image_bytes, wire_total;
	uint64_t budget;	/* the destination's disk budget (pre-flight) */
	uint64_t remote_restore_ms, remote_pages_restored;
	struct criu_dump_stats ds;
	bool have_ds;
	bool frozen;		/* CRIU left the tree stopped */
	bool tcp;		/* dumped with --tcp-established */
	bool addr_removed;	/* --move-addr: deleted here after the dump */
	struct mig_tcp_conn *conns;	/* the connections CRIU dumped */
	size_t nconns;
	size_t nended;		/* of those, ended ones (CLOSE, unread bytes) */
	uint64_t remote_tcp_kept;
	struct mig_addr src_addr;	/* --move-addr as configured here */
	char remote_dev[16];
	const char *backend_name;
	uint8_t id[WIRE_ID_LEN];	/* this migration's ID */
	struct ctr_info *ctr;	/* --container: the container (NULL: a PID) */
	bool ctr_frozen;	/* its cgroup is frozen: thawed unless it runs there */
	bool ctr_locked;	/* its network is locked: unlocked with the thaw */
	struct wire_ct *ct;	/* its connections' conntrack entries on this host */
	size_t nct, ct_skipped;	/* ... and those left out (NATed here) */
	uint32_t ct_addr;	/* its address they are of (network order) */
	struct wire_ct6 *ct6;	/* the same for its IPv6 connections */
	size_t nct6, ct6_skipped;
	uint8_t ct6_addr[WIRE_CT6_ADDR_LEN];
	uint64_t peer_caps;	/* the destination's HELLO */
	bool postcopy;		/* the final pages stay here (postcopy.h) */
	struct pc_src pc;
	uint64_t pc_ms;		/* post-copy: RESTORED to PC_DONE */
	bool pc_lost;		/* post-copy: killed there after it may have reached out */
	uint64_t pc_done[6];	/* PC_DONE's values */
	struct src_vol *vols;	/* its named volumes, when the destination
				 * takes VOLUME (else the archive has them) */
	uint32_t nvols;
	bool keep_dir;		/* the settle record lives in it */
	char err[4096];
};

/* A progress line on stderr ("ferry: ..."), sanitized. */
void src_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* m->err says which signal (ferry_interrupted) stopped it: -EINTR. */
int src_interrupted(struct mig *m);
/* Set m->err; returns ret. */
int src_seterr(struct mig *m, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * The tree as its tracking begins (m->pids, m->tr, m->track_uptime_us): a
 * dirty tracker per process; refuses hugetlb memory.
 */
int src_open_trackers(struct mig *m);
void src_close_trackers(struct mig *m);
/* Let other ferry trackers have the tree's soft-dirty bits again: after the
 * final dump (CRIU's --track-mem clears them too). */
void src_release_claims(struct mig *m);
/* The pre-copy: round 0 (everything), then dirty rounds until the policy
 * stops; the last ROUND_END tells the destination to build its parents. */
int src_precopy(struct mig *m);

/* Before the final dump: parent images of the pages sent into
 * m->parent_dir (set by the caller), m->final_dir made, m->log named. */
int src_prepare_final(struct mig *m, const char *log_name, struct criu_img_stats *is);

/*
 * CRIU's final dump of the tree into m->final_dir on top of m->parent_dir:
 * left stopped for a migration, left running for a checkpoint (m->store).
 * With connections, dumped with --tcp-established under the nftables lock.
 */
int src_final_dump(struct mig *m);
/* The pre-copy options `migrate` and `checkpoint` share, by getopt code:
 * 'd' --max-downtime, 'r' --max-rounds, 'b' --backend, 'c' --criu-arg,
 * 'C' --container, 'G' --engine, 'R' --runc-root.
 * 1 handled, 0 not one of them, -1 bad (said). */
int src_parse_precopy_opt(int c, const char *arg, struct opts *o);
/* ferry migrate's whole command line into o (mig_opts.c): 0, or -1 when it
 * is wrong (said); --help prints the manual and exits. */
int src_parse_opts(int argc, char **argv, struct opts *o);
/* SIGINT, SIGTERM, SIGHUP set ferry_interrupted (no SA_RESTART). */
void src_catch_signals(void);

/* The report: progress lines, or one JSON object with --json. */
void src_report(struct mig *m);

/*
 * --container (mig_ctr_src.c, the engine's side in ctr.h): announce it to
 * the destination (CONTAINER), the final dump through the engine into
 * final/CTR_ARCHIVE_NAME, and what becomes of the frozen container here:
 * resumed (thawed) before the destination runs it, removed once it does,
 * or left frozen with the commands that settle it.
 */
int src_ctr_announce(struct mig *m);
/* Before the pre-copy and again before the freeze: find the links that
 * lock its network (ctr_net_find); a container with TCP connections whose
 * network cannot be locked is refused (-ENOTSUP and the like). */
int src_ctr_tcp_check(struct mig *m);
/* The container's conntrack entries to the destination, before COMMIT:
 * CONNTRACK, CONNTRACK6 (a warning instead of each it cannot take). */
int src_ctr_send_conntrack(struct mig *m);
int src_ctr_final(struct mig *m);
/* mig_ctr_vol.c: whether the named volumes are pre-copied (the destination
 * takes VOLUME); before the pre-copy, each volume's whole content; after
 * the checkpoint, while frozen, what changed since; and the end. */
bool src_ctr_vols_precopied(const struct mig *m);
int src_ctr_volumes_precopy(struct mig *m);
int src_ctr_volumes_final(struct mig *m);
void src_ctr_volumes_free(struct mig *m);
void src_ctr_resume(struct mig *m);
void src_ctr_remove(struct mig *m);
void src_ctr_leave_frozen(struct mig *m);

#endif
