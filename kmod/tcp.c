// SPDX-License-Identifier: GPL-2.0
/*
 * FERRY_CMD_TCP_DUMP: export the repair state of TCP sockets, and
 * optionally the bytes in their queues, without touching the owning
 * process and without putting sockets into TCP_REPAIR mode.
 *
 * Selection (in .start for tree mode, bucket by bucket for netns mode):
 *  - tree mode: the TCP sockets in the file tables of PID and all its
 *    descendants, plus the connections waiting in the accept queues of
 *    listeners found there;
 *  - netns mode: every TCP socket in PID's network namespace, from the
 *    listening hash (with each listener's accept queue) and the
 *    established hash (which also holds TIME_WAIT and request sockets).
 *
 * Every selected socket is pinned by a reference taken where it was found
 * (under the fd-table lock or the hash-bucket lock), so a socket that is
 * closed, reset or freed by its owner during the dump stays valid memory
 * until we drop it. Kernel memory is bounded: tree mode holds one small
 * entry per selected socket (sockets the tree already owns), netns mode at
 * most a batch of a few hundred entries (plus one hash bucket), and queue
 * bytes are copied straight from the socket's skbs into the netlink
 * message under the socket lock, never buffered.
 *
 * Consistency: a socket's SOCK nest is one snapshot taken while we own the
 * socket (lock_sock_fast(): no syscall and no packet can change it). Its
 * queue bytes follow in the same locked section while they fit in the
 * message; when the message is full we drop the lock and continue in the
 * next dumpit call from the saved sequence number. TCP sequence space
 * maps each number to one byte forever, so re-locking and copying from the
 * saved sequence number yields exactly the bytes of the first snapshot, as
 * long as they are still queued; if they left (acked, read, reset), the
 * queue's export ends with a FERRY_QDATA_A_GONE marker instead.
 *
 * Encodings: the attribute format (a SOCK nest of ~40 attributes per
 * socket, DATA nests) and the packed one (FERRY_TCP_F_PACKED: one
 * struct ferry_tcp_sock_packed per socket with the first queue bytes
 * appended to it, QCHUNK attributes for the rest). Both are written from
 * the same snapshot struct; messages are filled to the skb's size.
 */
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/net.h>
#include <linux/pid.h>
#include <linux/rbtree.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/sock_diag.h>
#include <net/inet_hashtables.h>
#include <net/inet_timewait_sock.h>
#include <net/net_namespace.h>
#include <net/request_sock.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tcp_states.h>
#include "ferry.h"
#include "compat.h"

const struct nla_policy ferry_tcp_policy[FERRY_TCP_A_MAX + 1] = {
	[FERRY_TCP_A_PID]	= { .type = NLA_U32 },
	[FERRY_TCP_A_FLAGS]	= NLA_POLICY_MASK(NLA_U32, FERRY_TCP_F_ALL),
	[FERRY_TCP_A_SOCK]	= { .type = NLA_REJECT },
	[FERRY_TCP_A_DATA]	= { .type = NLA_REJECT },
	[FERRY_TCP_A_PAD]	= { .type = NLA_REJECT },
	[FERRY_TCP_A_PACKED]	= { .type = NLA_REJECT },
	[FERRY_TCP_A_QCHUNK]	= { .type = NLA_REJECT },
};

/* Entries pinned at a time in netns mode. */
#define FERRY_TCP_BATCH		256
#define FERRY_TCP_MIN_ENTS	64

/* Room a DATA nest needs besides its bytes (nest, cookie, queue, offset,
 * bytes header, alignment), and the smallest chunk worth a nest. */
#define FERRY_TCP_CHUNK_OVERHEAD	64
#define FERRY_TCP_MIN_CHUNK		256

enum {
	ENT_PENDING	= 1U << 0,	/* in a listener's accept queue */
	ENT_HAS_FD	= 1U << 1,	/* pid/fd are set */
};

struct ferry_tcp_ent {
	struct sock *sk;		/* referenced */
	u64 listener;			/* listener cookie for ENT_PENDING */
	u32 pid, fd, flags;
};

enum ferry_tcp_step {
	STEP_HDR,
	STEP_SEND,
	STEP_RECV,
	STEP_DONE,
};

enum ferry_tcp_scan {
	SCAN_LISTEN,
	SCAN_EHASH,
	SCAN_DONE,
};

struct ferry_tcp_ctx {
	u32 flags;
	bool finished;
	struct net *net;			/* netns mode, referenced */
	struct inet_hashinfo *hinfo;		/* netns mode */
	enum ferry_tcp_scan scan;
	unsigned int bucket;

	struct ferry_tcp_ent *ents;
	unsigned int n, cap, pos;

	/* Progress within ents[pos]. */
	enum ferry_tcp_step step;
	int enc;				/* enum ferry_tcp_enc */
	u64 cookie;
	u32 snd_base, snd_seq, snd_end;		/* [snd_una, write_seq) */
	u32 rcv_base, rcv_seq, rcv_end;		/* [copied_seq, rcv_nxt) */
};

/* ---- helpers --------------------------------------------------------- */

static u64 ferry_sk_cookie(struct sock *sk)
{
	u32 c[2];

	sock_diag_save_cookie(sk, c);
	return (u64)c[1] << 32 | c[0];
}

/* The inode of a full socket we own: sock_graft() and sock_orphan() run
 * with the socket owned too, so sk_socket is stable here (this is what
 * sock_i_ino() reads, without its callback lock). */
static unsigned long ferry_sk_ino(const struct sock *sk)
{
	struct socket *sock = READ_ONCE(sk->sk_socket);

	return sock ? SOCK_INODE(sock)->i_ino : 0;
}

static bool ferry_is_tcp(const struct sock *sk)
{
	return (sk->sk_family == AF_INET || sk->sk_family == AF_INET6) &&
	       sk->sk_type == SOCK_STREAM && sk->sk_protocol == IPPROTO_TCP;
}

/* Make room for at least one more entry (process context, no locks). */
static int ferry_ents_grow(struct ferry_tcp_ctx *ctx)
{
	unsigned int ncap = ctx->cap ? ctx->cap * 2 : FERRY_TCP_MIN_ENTS;
	struct ferry_tcp_ent *n;

	if (ncap > INT_MAX / sizeof(*n))
		return -ENOMEM;
	n = kvmalloc_array(ncap, sizeof(*n), GFP_KERNEL_ACCOUNT);
	if (!n)
		return -ENOMEM;
	if (ctx->n)
		memcpy(n, ctx->ents, ctx->n * sizeof(*n));
	kvfree(ctx->ents);
	ctx->ents = n;
	ctx->cap = ncap;
	return 0;
}

/* Drop the references of ents[from, n) and forget them. */
static void ferry_ents_put(struct ferry_tcp_ctx *ctx, unsigned int from)
{
	unsigned int i;

	for (i = from; i < ctx->n; i++)
		sock_gen_put(ctx->ents[i].sk);
	if (from < ctx->n)
		ctx->n = from;
}

static struct ferry_tcp_ent *ferry_ent_add(struct ferry_tcp_ctx *ctx, struct sock *sk)
{
	struct ferry_tcp_ent *e = &ctx->ents[ctx->n];

	memset(e, 0, sizeof(*e));
	e->sk = sk;
	ctx->n++;
	return e;
}

/*
 * Pin the children waiting in a listener's accept queue. The queue is
 * walked under its spinlock; if the array fills, the partial walk is
 * undone, the array grown and the walk repeated.
 */
static int ferry_collect_accept_queue(struct ferry_tcp_ctx *ctx, struct sock *lsk)
{
	struct request_sock_queue *q = &inet_csk(lsk)->icsk_accept_queue;
	u64 lcookie = ferry_sk_cookie(lsk);
	struct request_sock *req;
	unsigned int start;
	bool full;
	int ret;

	for (;;) {
		start = ctx->n;
		full = false;
		spin_lock_bh(&q->rskq_lock);
		for (req = q->rskq_accept_head; req; req = req->dl_next) {
			struct ferry_tcp_ent *e;

			if (!req->sk)
				continue;
			if (ctx->n == ctx->cap) {
				full = true;
				break;
			}
			sock_hold(req->sk);
			e = ferry_ent_add(ctx, req->sk);
			e->flags = ENT_PENDING;
			e->listener = lcookie;
		}
		spin_unlock_bh(&q->rskq_lock);
		if (!full)
			return 0;
		ferry_ents_put(ctx, start);
		ret = ferry_ents_grow(ctx);
		if (ret)
			return ret;
	}
}

/* ---- tree mode: file tables of a process tree ------------------------ */

struct ferry_fd_walk {
	struct ferry_tcp_ctx *ctx;
	u32 pid;
	unsigned int stop_fd;
	bool full;
};

/* iterate_fd() callback: runs under the fd table's spinlock (and our
 * task_lock), so it only pins the socket. */
static int ferry_fd_cb(const void *arg, struct file *file, unsigned int fd)
{
	struct ferry_fd_walk *w = (struct ferry_fd_walk *)arg;
	struct ferry_tcp_ctx *ctx = w->ctx;
	struct ferry_tcp_ent *e;
	struct socket *sock;
	struct sock *sk;

	sock = sock_from_file(file);
	if (!sock)
		return 0;
	sk = READ_ONCE(sock->sk);
	if (!sk || !ferry_is_tcp(sk))
		return 0;
	if (ctx->n == ctx->cap) {
		w->full = true;
		w->stop_fd = fd;
		return 1;
	}
	sock_hold(sk);
	e = ferry_ent_add(ctx, sk);
	e->pid = w->pid;
	e->fd = fd;
	e->flags = ENT_HAS_FD;
	return 0;
}

static int ferry_collect_task(struct ferry_tcp_ctx *ctx, struct pid *pid)
{
	struct ferry_fd_walk w = { .ctx = ctx };
	struct task_struct *task;
	unsigned int next = 0;
	int ret = 0;

	task = get_pid_task(pid, PIDTYPE_PID);
	if (!task)
		return 0;	/* exited meanwhile */
	w.pid = pid_vnr(pid);
	for (;;) {
		w.full = false;
		/* As __do_SAK() does: task_lock() keeps ->files in place. */
		task_lock(task);
		if (task->files)
			iterate_fd(task->files, next, ferry_fd_cb, &w);
		task_unlock(task);
		if (!w.full)
			break;
		next = w.stop_fd;
		ret = ferry_ents_grow(ctx);
		if (ret)
			break;
	}
	put_task_struct(task);
	return ret;
}

/* The struct pids of root and its descendants (thread-group leaders). */
static int ferry_tree_pids(struct task_struct *root, struct pid ***out, unsigned int *nout)
{
	struct pid **pids = NULL;
	unsigned int n, cap = 64;
	struct task_struct *p, *t;

	for (;;) {
		kvfree(pids);
		pids = kvmalloc_array(cap, sizeof(*pids), GFP_KERNEL);
		if (!pids)
			return -ENOMEM;
		n = 0;
		rcu_read_lock();
		for_each_process(p) {
			for (t = p; t != root && t->pid > 1;
			     t = rcu_dereference(t->real_parent))
				;
			if (t != root)
				continue;
			if (n == cap)
				break;
			pids[n++] = get_pid(task_pid(p));
		}
		rcu_read_unlock();
		if (n < cap)
			break;
		/* More processes than room: start over with twice as much. */
		while (n)
			put_pid(pids[--n]);
		if (cap > (1U << 22))
			break;
		cap *= 2;
	}
	*out = pids;
	*nout = n;
	return 0;
}

/*
 * A socket shared by several fds or processes is reported once, with the
 * first (pid, fd) found: one pass over the entries in collection order
 * with a table of the sockets seen (open addressing, at most half full;
 * freed before returning).
 */
static int ferry_ents_dedup(struct ferry_tcp_ctx *ctx)
{
	unsigned int i, out = 0, bits, mask, h;
	struct sock **seen;

	if (ctx->n < 2)
		return 0;
	bits = ilog2(roundup_pow_of_two(ctx->n)) + 1;
	seen = kvcalloc(1U << bits, sizeof(*seen), GFP_KERNEL);
	if (!seen)
		return -ENOMEM;
	mask = (1U << bits) - 1;
	for (i = 0; i < ctx->n; i++) {
		struct sock *sk = ctx->ents[i].sk;

		for (h = hash_ptr(sk, bits); seen[h] && seen[h] != sk; h = (h + 1) & mask)
			;
		if (seen[h]) {
			sock_gen_put(sk);
			continue;
		}
		seen[h] = sk;
		ctx->ents[out++] = ctx->ents[i];
	}
	kvfree(seen);
	ctx->n = out;
	return 0;
}

static int ferry_collect_tree(struct ferry_tcp_ctx *ctx, struct task_struct *root)
{
	struct pid **pids;
	unsigned int npids, i, nfile;
	int ret;

	ret = ferry_tree_pids(root, &pids, &npids);
	if (ret)
		return ret;
	ret = ferry_ents_grow(ctx);
	for (i = 0; i < npids && !ret; i++)
		ret = ferry_collect_task(ctx, pids[i]);
	for (i = 0; i < npids; i++)
		put_pid(pids[i]);
	kvfree(pids);
	if (ret)
		return ret;
	ret = ferry_ents_dedup(ctx);

	/* Connections waiting to be accepted belong to the listener's owner. */
	nfile = ctx->n;
	for (i = 0; i < nfile && !ret; i++)
		if (READ_ONCE(ctx->ents[i].sk->sk_state) == TCP_LISTEN)
			ret = ferry_collect_accept_queue(ctx, ctx->ents[i].sk);
	return ret;
}

/* ---- netns mode: the hash tables, a batch at a time ------------------- */

static int ferry_collect_listen_bucket(struct ferry_tcp_ctx *ctx, unsigned int b)
{
	struct inet_listen_hashbucket *ilb = &ctx->hinfo->lhash2[b];
	struct hlist_nulls_node *node;
	unsigned int start, i, end;
	struct sock *sk;
	bool full;
	int ret;

	if (hlist_nulls_empty(&ilb->nulls_head))
		return 0;
	for (;;) {
		start = ctx->n;
		full = false;
		spin_lock_bh(&ilb->lock);
		sk_nulls_for_each(sk, node, &ilb->nulls_head) {
			if (!net_eq(sock_net(sk), ctx->net) || !ferry_is_tcp(sk))
				continue;
			if (ctx->n == ctx->cap) {
				full = true;
				break;
			}
			if (!refcount_inc_not_zero(&sk->sk_refcnt))
				continue;
			ferry_ent_add(ctx, sk);
		}
		spin_unlock_bh(&ilb->lock);
		if (!full)
			break;
		ferry_ents_put(ctx, start);
		ret = ferry_ents_grow(ctx);
		if (ret)
			return ret;
	}
	end = ctx->n;
	for (i = start; i < end; i++) {
		ret = ferry_collect_accept_queue(ctx, ctx->ents[i].sk);
		if (ret)
			return ret;
	}
	return 0;
}

static int ferry_collect_ehash_bucket(struct ferry_tcp_ctx *ctx, unsigned int b)
{
	struct inet_ehash_bucket *head = &ctx->hinfo->ehash[b];
	spinlock_t *lock = inet_ehash_lockp(ctx->hinfo, b);
	struct hlist_nulls_node *node;
	unsigned int start;
	struct sock *sk;
	bool full;
	int ret;

	if (hlist_nulls_empty(&head->chain))
		return 0;
	for (;;) {
		start = ctx->n;
		full = false;
		spin_lock_bh(lock);
		sk_nulls_for_each(sk, node, &head->chain) {
			if (!net_eq(sock_net(sk), ctx->net))
				continue;
			/* A child still in an accept queue was reported with
			 * its listener. */
			if (sk_fullsock(sk) && !sk->sk_socket &&
			    !sock_flag(sk, SOCK_DEAD))
				continue;
			if (ctx->n == ctx->cap) {
				full = true;
				break;
			}
			if (!refcount_inc_not_zero(&sk->sk_refcnt))
				continue;
			ferry_ent_add(ctx, sk);
		}
		spin_unlock_bh(lock);
		if (!full)
			return 0;
		ferry_ents_put(ctx, start);
		ret = ferry_ents_grow(ctx);
		if (ret)
			return ret;
	}
}

/* Pin the next batch of sockets of the namespace (ents is empty). */
static int ferry_refill(struct ferry_tcp_ctx *ctx)
{
	struct inet_hashinfo *h = ctx->hinfo;
	int ret = 0;

	ctx->n = 0;
	ctx->pos = 0;
	while (ctx->scan != SCAN_DONE && ctx->n < FERRY_TCP_BATCH && !ret) {
		if (ctx->scan == SCAN_LISTEN) {
			if (ctx->bucket > h->lhash2_mask) {
				ctx->scan = SCAN_EHASH;
				ctx->bucket = 0;
				continue;
			}
			ret = ferry_collect_listen_bucket(ctx, ctx->bucket++);
		} else {
			if (ctx->bucket > h->ehash_mask) {
				ctx->scan = SCAN_DONE;
				continue;
			}
			ret = ferry_collect_ehash_bucket(ctx, ctx->bucket++);
		}
		cond_resched();
	}
	return ret;
}

/* ---- the snapshot ---------------------------------------------------- */

/*
 * Every socket is first captured into a struct ferry_tcp_sock_packed (on
 * the stack, while we own the socket), then written out in the requested
 * format: as it is (FERRY_TCP_F_PACKED, one attribute), or as the SOCK
 * nest of the attribute format, generated from the same struct, so both
 * formats always carry the same values.
 */
#define P(a)	(1ULL << FERRY_SOCK_A_##a)

/* Fields of every socket kind, and of the sequence-number block. */
#define FERRY_P_COMMON	(P(COOKIE) | P(FAMILY) | P(STATE) | P(SRC) | P(DST) | P(SPORT) | \
			 P(DPORT) | P(BOUND_DEV) | P(INODE))
#define FERRY_P_SEQS	(P(SND_UNA) | P(SND_NXT) | P(WRITE_SEQ) | P(RCV_NXT) | \
			 P(COPIED_SEQ) | P(SNDQ_BYTES) | P(UNSENT_BYTES) | P(RCVQ_BYTES))
#define FERRY_P_TW	(P(RCV_WND) | P(RCV_WSCALE) | P(OPTIONS) | P(TS_OFFSET) | \
			 P(TS_RECENT) | P(TS_RECENT_STAMP) | P(TS_NOW) | P(TW_TIMEOUT_MS))
#define FERRY_P_REQ	(P(RCV_WND) | P(MSS_CLAMP) | P(SND_WSCALE) | P(RCV_WSCALE) | \
			 P(OPTIONS) | P(TS_OFFSET) | P(TS_RECENT) | P(TS_NOW))
#define FERRY_P_FULL	(P(SND_WL1) | P(SND_WND) | P(MAX_WINDOW) | P(RCV_WND) | P(RCV_WUP) | \
			 P(MSS_CLAMP) | P(MSS_CACHE) | P(SND_WSCALE) | P(RCV_WSCALE) | \
			 P(OPTIONS) | P(TS_OFFSET) | P(TS_RECENT) | P(TS_RECENT_STAMP) | \
			 P(TS_NOW) | P(KEEPIDLE) | P(KEEPINTVL) | P(KEEPCNT) | P(USER_TIMEOUT))

/* Room a socket's record needs: the SOCK nest of an IPv6 listener-owned
 * child is ~400 bytes; a packed record (plus its padding). */
#define FERRY_TCP_SOCK_ROOM	640
#define FERRY_TCP_PACKED_ROOM	(NLA_HDRLEN + sizeof(struct ferry_tcp_sock_packed) + NLA_ALIGNTO)

static void ferry_snap_common(struct ferry_tcp_sock_packed *r, struct ferry_tcp_ctx *ctx,
			      struct ferry_tcp_ent *e, u8 state)
{
	struct sock *sk = e->sk;

	r->present = FERRY_P_COMMON | FERRY_P_SEQS;
	r->cookie = ctx->cookie;
	r->family = sk->sk_family;
	r->state = state;
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		memcpy(r->src, &sk->sk_v6_rcv_saddr, 16);
		memcpy(r->dst, &sk->sk_v6_daddr, 16);
	} else
#endif
	{
		memcpy(r->src, &sk->sk_rcv_saddr, 4);
		memcpy(r->dst, &sk->sk_daddr, 4);
	}
	r->sport = sk->sk_num;
	r->dport = ntohs(sk->sk_dport);
	r->bound_dev = sk->sk_bound_dev_if;
	if (e->flags & ENT_HAS_FD) {
		r->present |= P(PID) | P(FD);
		r->pid = e->pid;
		r->fd = e->fd;
	}
	if (e->flags & ENT_PENDING) {
		r->present |= P(ACCEPT_PENDING) | P(LISTENER);
		r->listener = e->listener;
	}
}

static void ferry_snap_seqs(struct ferry_tcp_sock_packed *r, u32 snd_una, u32 snd_nxt,
			    u32 write_seq, u32 rcv_nxt, u32 copied_seq)
{
	r->snd_una = snd_una;
	r->snd_nxt = snd_nxt;
	r->write_seq = write_seq;
	r->rcv_nxt = rcv_nxt;
	r->copied_seq = copied_seq;
	r->sndq_bytes = write_seq - snd_una;
	r->unsent_bytes = write_seq - snd_nxt;
	r->rcvq_bytes = rcv_nxt - copied_seq;
}

static u32 ferry_secs_ago(u32 stamp)
{
	return stamp ? (u32)ktime_get_seconds() - stamp : 0;
}

static void ferry_snap_tw(struct ferry_tcp_sock_packed *r, struct ferry_tcp_ctx *ctx,
			  struct ferry_tcp_ent *e)
{
	struct inet_timewait_sock *tw = inet_twsk(e->sk);
	struct tcp_timewait_sock *tcptw = tcp_twsk(e->sk);
	long left = READ_ONCE(tw->tw_timer.expires) - jiffies;

	ferry_snap_common(r, ctx, e, READ_ONCE(tw->tw_substate));
	r->present |= FERRY_P_TW;
	ferry_snap_seqs(r, tcptw->tw_snd_nxt, tcptw->tw_snd_nxt, tcptw->tw_snd_nxt,
			tcptw->tw_rcv_nxt, tcptw->tw_rcv_nxt);
	r->rcv_wnd = tcptw->tw_rcv_wnd;
	r->rcv_wscale = tw->tw_rcv_wscale;
	r->options = tcptw->tw_ts_recent_stamp ? FERRY_SOCK_OPT_TIMESTAMPS : 0;
	r->ts_offset = tcptw->tw_ts_offset;
	r->ts_recent = tcptw->tw_ts_recent;
	r->ts_recent_stamp = ferry_secs_ago(tcptw->tw_ts_recent_stamp);
	r->ts_now = ferry_tcp_tw_ts_now(tcptw);
	r->tw_timeout_ms = left > 0 ? jiffies_to_msecs(left) : 0;
}

static void ferry_snap_req(struct ferry_tcp_sock_packed *r, struct ferry_tcp_ctx *ctx,
			   struct ferry_tcp_ent *e)
{
	struct request_sock *req = inet_reqsk(e->sk);
	struct inet_request_sock *ireq = inet_rsk(req);
	struct tcp_request_sock *treq = tcp_rsk(req);
	u32 opts = 0;

	if (ireq->sack_ok)
		opts |= FERRY_SOCK_OPT_SACK;
	if (ireq->tstamp_ok)
		opts |= FERRY_SOCK_OPT_TIMESTAMPS;
	if (ireq->wscale_ok)
		opts |= FERRY_SOCK_OPT_WSCALE;
	if (ireq->ecn_ok)
		opts |= FERRY_SOCK_OPT_ECN;
	ferry_snap_common(r, ctx, e, TCP_SYN_RECV);
	r->present |= FERRY_P_REQ;
	/* The SYN-ACK (snt_isn) is sent, unacked; rcv_nxt is what it acks. */
	ferry_snap_seqs(r, treq->snt_isn, treq->snt_isn + 1, treq->snt_isn + 1,
			treq->rcv_nxt, treq->rcv_nxt);
	r->rcv_wnd = req->rsk_rcv_wnd;
	r->mss_clamp = req->mss;
	r->snd_wscale = ireq->snd_wscale;
	r->rcv_wscale = ireq->rcv_wscale;
	r->options = opts;
	r->ts_offset = treq->ts_off;
	r->ts_recent = req->ts_recent;
	r->ts_now = ferry_tcp_req_ts_now(treq);
	if (req->rsk_listener) {
		r->present |= P(LISTENER);
		r->listener = ferry_sk_cookie(req->rsk_listener);
	}
}

/* A full socket we own: the snapshot. Also records the byte ranges its
 * queue export will cover. */
static void ferry_snap_full(struct ferry_tcp_sock_packed *r, struct ferry_tcp_ctx *ctx,
			    struct ferry_tcp_ent *e)
{
	struct sock *sk = e->sk;
	const struct inet_connection_sock *icsk = inet_csk(sk);
	const struct tcp_sock *tp = tcp_sk(sk);
	u8 state = sk->sk_state;
	u32 opts = 0;

	if (tp->rx_opt.sack_ok)
		opts |= FERRY_SOCK_OPT_SACK;
	if (tp->rx_opt.tstamp_ok)
		opts |= FERRY_SOCK_OPT_TIMESTAMPS;
	if (tp->rx_opt.wscale_ok)
		opts |= FERRY_SOCK_OPT_WSCALE;
	if (tp->ecn_flags & TCP_ECN_OK)
		opts |= FERRY_SOCK_OPT_ECN;
	if (tp->nonagle & TCP_NAGLE_OFF)
		opts |= FERRY_SOCK_OPT_NODELAY;
	if (tp->nonagle & TCP_NAGLE_CORK)
		opts |= FERRY_SOCK_OPT_CORK;
	if (sock_flag(sk, SOCK_KEEPOPEN))
		opts |= FERRY_SOCK_OPT_KEEPALIVE;
	if (tp->repair)
		opts |= FERRY_SOCK_OPT_REPAIR;

	ferry_snap_common(r, ctx, e, state);
	r->present |= FERRY_P_FULL;
	ferry_snap_seqs(r, tp->snd_una, tp->snd_nxt, tp->write_seq, tp->rcv_nxt, tp->copied_seq);
	r->inode = ferry_sk_ino(sk);
	r->snd_wl1 = tp->snd_wl1;
	r->snd_wnd = tp->snd_wnd;
	r->max_window = tp->max_window;
	r->rcv_wnd = tp->rcv_wnd;
	r->rcv_wup = tp->rcv_wup;
	r->mss_clamp = tp->rx_opt.mss_clamp;
	r->mss_cache = tp->mss_cache;
	r->snd_wscale = tp->rx_opt.snd_wscale;
	r->rcv_wscale = tp->rx_opt.rcv_wscale;
	r->options = opts;
	r->ts_offset = tp->tsoffset;
	r->ts_recent = tp->rx_opt.ts_recent;
	r->ts_recent_stamp = ferry_secs_ago(tp->rx_opt.ts_recent_stamp);
	r->ts_now = ferry_tcp_ts_now(tp);
	r->keepidle = keepalive_time_when(tp) / HZ;
	r->keepintvl = keepalive_intvl_when(tp) / HZ;
	r->keepcnt = keepalive_probes(tp);
	r->user_timeout = READ_ONCE(icsk->icsk_user_timeout);
	if (state == TCP_LISTEN) {
		r->present |= P(BACKLOG) | P(ACCEPT_QLEN);
		r->backlog = READ_ONCE(sk->sk_max_ack_backlog);
		r->accept_qlen = READ_ONCE(sk->sk_ack_backlog);
	}

	if (state == TCP_LISTEN || state == TCP_CLOSE) {
		/* No stream, no queues (a reset socket's were purged). */
		ctx->snd_base = ctx->snd_seq = ctx->snd_end = 0;
		ctx->rcv_base = ctx->rcv_seq = ctx->rcv_end = 0;
	} else {
		/* Byte ranges: an unacked SYN or FIN takes a sequence number
		 * but carries no byte. */
		ctx->snd_base = ctx->snd_seq = tp->snd_una;
		if ((1 << state) & (TCPF_SYN_SENT | TCPF_SYN_RECV))
			ctx->snd_seq++;
		ctx->snd_end = tp->write_seq;
		if ((1 << state) & (TCPF_FIN_WAIT1 | TCPF_CLOSING | TCPF_LAST_ACK))
			ctx->snd_end--;
		ctx->rcv_base = ctx->rcv_seq = tp->copied_seq;
		ctx->rcv_end = tp->rcv_nxt;
		if ((1 << state) & (TCPF_CLOSE_WAIT | TCPF_CLOSING | TCPF_LAST_ACK))
			ctx->rcv_end--;
		if (after(ctx->snd_seq, ctx->snd_end))
			ctx->snd_seq = ctx->snd_end;
		if (after(ctx->rcv_seq, ctx->rcv_end))
			ctx->rcv_seq = ctx->rcv_end;
	}
}

/* ---- attribute format ------------------------------------------------ */

/*
 * The SOCK nest is written without a per-attribute room check (the caller
 * checked FERRY_TCP_SOCK_ROOM once): tens of thousands of sockets, ~45
 * attributes each. Padding bytes are zeroed.
 */
static inline void *fput_hdr(struct sk_buff *skb, int type, int len)
{
	struct nlattr *a = __skb_put(skb, NLA_ALIGN(NLA_HDRLEN + len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len & (NLA_ALIGNTO - 1))
		*(u32 *)((char *)a + NLA_ALIGN(NLA_HDRLEN + len) - NLA_ALIGNTO) = 0;
	return nla_data(a);
}

#define FF(a, field) { FERRY_SOCK_A_##a, sizeof_field(struct ferry_tcp_sock_packed, field), \
		       offsetof(struct ferry_tcp_sock_packed, field) }
static const struct {
	u8 type, size;
	u16 off;
} ferry_sock_fields[] = {
	FF(COOKIE, cookie), FF(INODE, inode), FF(PID, pid), FF(FD, fd),
	FF(FAMILY, family), FF(STATE, state), FF(SPORT, sport), FF(DPORT, dport),
	FF(SND_UNA, snd_una), FF(SND_NXT, snd_nxt), FF(WRITE_SEQ, write_seq),
	FF(RCV_NXT, rcv_nxt), FF(COPIED_SEQ, copied_seq), FF(SND_WL1, snd_wl1),
	FF(SND_WND, snd_wnd), FF(MAX_WINDOW, max_window), FF(RCV_WND, rcv_wnd),
	FF(RCV_WUP, rcv_wup), FF(MSS_CLAMP, mss_clamp), FF(MSS_CACHE, mss_cache),
	FF(SND_WSCALE, snd_wscale), FF(RCV_WSCALE, rcv_wscale), FF(OPTIONS, options),
	FF(TS_OFFSET, ts_offset), FF(TS_RECENT, ts_recent),
	FF(TS_RECENT_STAMP, ts_recent_stamp), FF(TS_NOW, ts_now),
	FF(KEEPIDLE, keepidle), FF(KEEPINTVL, keepintvl), FF(KEEPCNT, keepcnt),
	FF(USER_TIMEOUT, user_timeout), FF(SNDQ_BYTES, sndq_bytes),
	FF(UNSENT_BYTES, unsent_bytes), FF(RCVQ_BYTES, rcvq_bytes),
	FF(TW_TIMEOUT_MS, tw_timeout_ms), FF(BOUND_DEV, bound_dev),
	FF(LISTENER, listener), FF(BACKLOG, backlog), FF(ACCEPT_QLEN, accept_qlen),
};
#undef FF

static void ferry_put_sock_attrs(struct sk_buff *skb, const struct ferry_tcp_sock_packed *r)
{
	struct nlattr *nest = (struct nlattr *)skb_tail_pointer(skb);
	int alen = r->family == AF_INET6 ? 16 : 4;
	unsigned int i;

	fput_hdr(skb, FERRY_TCP_A_SOCK | NLA_F_NESTED, 0);
	for (i = 0; i < ARRAY_SIZE(ferry_sock_fields); i++) {
		int type = ferry_sock_fields[i].type;

		if (r->present & (1ULL << type))
			memcpy(fput_hdr(skb, type, ferry_sock_fields[i].size),
			       (const char *)r + ferry_sock_fields[i].off,
			       ferry_sock_fields[i].size);
	}
	memcpy(fput_hdr(skb, FERRY_SOCK_A_SRC, alen), r->src, alen);
	memcpy(fput_hdr(skb, FERRY_SOCK_A_DST, alen), r->dst, alen);
	if (r->present & P(ACCEPT_PENDING))
		fput_hdr(skb, FERRY_SOCK_A_ACCEPT_PENDING, 0);
	nest->nla_len = skb_tail_pointer(skb) - (unsigned char *)nest;
	WARN_ON_ONCE(nest->nla_len > FERRY_TCP_SOCK_ROOM);
}

/* ---- queue data ------------------------------------------------------ */

/*
 * Queue bytes go out in one of three encodings (ctx->enc): DATA nests
 * (attribute format), QCHUNK attributes (packed format), or raw bytes
 * appended to the socket's PACKED record while it is being written.
 */
enum ferry_tcp_enc {
	ENC_NEST,
	ENC_CHUNK,
	ENC_INLINE,
};

/* Where one queue's export stands. */
struct ferry_qpos {
	u8 queue;			/* enum ferry_tcp_queue */
	u32 base, *seq, end;		/* offsets count from base */
};

static int ferry_put_gone(struct sk_buff *skb, struct ferry_tcp_ctx *ctx,
			  const struct ferry_qpos *q)
{
	u32 off = *q->seq - q->base;
	struct nlattr *nest;

	if (ctx->enc == ENC_CHUNK) {
		struct ferry_tcp_qchunk h = {
			.cookie = ctx->cookie, .offset = off, .queue = q->queue,
			.flags = FERRY_TCP_QCHUNK_F_GONE,
		};

		return nla_put(skb, FERRY_TCP_A_QCHUNK, sizeof(h), &h);
	}
	nest = nla_nest_start(skb, FERRY_TCP_A_DATA);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, FERRY_QDATA_A_COOKIE, ctx->cookie, FERRY_QDATA_A_PAD) ||
	    nla_put_u8(skb, FERRY_QDATA_A_QUEUE, q->queue) ||
	    nla_put_u32(skb, FERRY_QDATA_A_OFFSET, off) ||
	    nla_put_flag(skb, FERRY_QDATA_A_GONE)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* Copy len bytes at offset off of qskb to the message tail; undone on error. */
static int ferry_copy_bytes(struct sk_buff *skb, const struct sk_buff *qskb, u32 off, u32 len)
{
	int ret = skb_copy_bits(qskb, off, __skb_put(skb, len), len);

	if (ret)
		__skb_trim(skb, skb->len - len);
	return ret;
}

/*
 * Copy up to len bytes at offset off of qskb (queue offset qoff) into the
 * message, as many as it has room for, in ctx->enc. Returns the bytes
 * copied (0: no room), or a negative error if the skb's bytes cannot be
 * read.
 */
static int ferry_put_chunk(struct sk_buff *skb, struct ferry_tcp_ctx *ctx, u8 queue,
			   u32 qoff, const struct sk_buff *qskb, u32 off, u32 len)
{
	int room = skb_tailroom(skb) - (NLA_ALIGNTO - 1);
	struct nlattr *nest, *data;
	int ret;

	if (ctx->enc == ENC_INLINE) {
		/* Any amount; the record's final padding stays free. */
		if (room <= 0)
			return 0;
		len = min_t(u32, len, room);
		ret = ferry_copy_bytes(skb, qskb, off, len);
		return ret ? ret : len;
	}
	room -= ctx->enc == ENC_CHUNK ? NLA_HDRLEN + sizeof(struct ferry_tcp_qchunk)
				      : FERRY_TCP_CHUNK_OVERHEAD;
	if (room < (int)min_t(u32, len, FERRY_TCP_MIN_CHUNK))
		return 0;
	len = min_t(u32, len, room);
	if (ctx->enc == ENC_CHUNK) {
		struct ferry_tcp_qchunk h = {
			.cookie = ctx->cookie, .offset = qoff, .queue = queue,
		};
		struct nlattr *a = __skb_put(skb, NLA_HDRLEN + sizeof(h));

		a->nla_type = FERRY_TCP_A_QCHUNK;
		a->nla_len = NLA_HDRLEN + sizeof(h) + len;
		memcpy(nla_data(a), &h, sizeof(h));
		ret = ferry_copy_bytes(skb, qskb, off, len);
		if (ret) {
			nlmsg_trim(skb, a);
			return ret;
		}
		if (len & (NLA_ALIGNTO - 1))
			skb_put_zero(skb, NLA_ALIGN(len) - len);
		return len;
	}
	nest = nla_nest_start(skb, FERRY_TCP_A_DATA);
	if (!nest)
		return 0;
	if (nla_put_u64_64bit(skb, FERRY_QDATA_A_COOKIE, ctx->cookie, FERRY_QDATA_A_PAD) ||
	    nla_put_u8(skb, FERRY_QDATA_A_QUEUE, queue) ||
	    nla_put_u32(skb, FERRY_QDATA_A_OFFSET, qoff))
		goto cancel;
	data = nla_reserve(skb, FERRY_QDATA_A_BYTES, len);
	if (!data)
		goto cancel;
	ret = skb_copy_bits(qskb, off, nla_data(data), len);
	if (ret) {
		nla_nest_cancel(skb, nest);
		return ret;
	}
	nla_nest_end(skb, nest);
	return len;
cancel:
	nla_nest_cancel(skb, nest);
	return 0;
}

/*
 * Export the bytes of the queue's remaining range found in one skb of it.
 * Returns 0 when the skb is used up or did not cover the next byte,
 * -EMSGSIZE when the message is full, or another error.
 */
static int ferry_put_qskb(struct sk_buff *skb, struct ferry_tcp_ctx *ctx,
			  const struct ferry_qpos *q, const struct sk_buff *qskb)
{
	const struct tcp_skb_cb *cb = TCP_SKB_CB(qskb);
	u32 dseq = cb->seq + !!(cb->tcp_flags & TCPHDR_SYN);	/* first data byte */
	u32 dend = dseq + qskb->len;
	int n;

	if (after(dseq, *q->seq) || !after(dend, *q->seq))
		return 0;
	if (after(dend, q->end))
		dend = q->end;
	while (before(*q->seq, dend)) {
		n = ferry_put_chunk(skb, ctx, q->queue, *q->seq - q->base, qskb,
				    *q->seq - dseq, dend - *q->seq);
		if (n < 0)
			return n;
		if (n == 0)
			return -EMSGSIZE;
		*q->seq += n;
	}
	return 0;
}

/*
 * After walking a queue's skbs (ret: the last ferry_put_qskb() result):
 * 0 when its range is exported; -EMSGSIZE to go on in the next message;
 * else the bytes from *seq on left the socket since the snapshot (or
 * cannot be read): end this queue's export with a GONE marker. Inline
 * copying never marks: it leaves that to the chunk encoding that follows.
 */
static int ferry_queue_end(struct sk_buff *skb, struct ferry_tcp_ctx *ctx,
			   const struct ferry_qpos *q, int ret)
{
	if (!ret && !before(*q->seq, q->end))
		return 0;
	if (ret == -EMSGSIZE || ctx->enc == ENC_INLINE)
		return -EMSGSIZE;
	ret = ferry_put_gone(skb, ctx, q);
	if (!ret)
		*q->seq = q->end;
	return ret;
}

/* Send queue: retransmit rb-tree (sent, unacked), then the write queue. */
static int ferry_put_sendq(struct sk_buff *skb, struct ferry_tcp_ctx *ctx, struct sock *sk)
{
	struct ferry_qpos q = { FERRY_TCP_QUEUE_SEND, ctx->snd_base, &ctx->snd_seq, ctx->snd_end };
	struct sk_buff *qskb;
	int ret = 0;

	for (qskb = skb_rb_first(&sk->tcp_rtx_queue);
	     qskb && !ret && before(ctx->snd_seq, ctx->snd_end); qskb = skb_rb_next(qskb))
		ret = ferry_put_qskb(skb, ctx, &q, qskb);
	skb_queue_walk(&sk->sk_write_queue, qskb) {
		if (ret || !before(ctx->snd_seq, ctx->snd_end))
			break;
		ret = ferry_put_qskb(skb, ctx, &q, qskb);
	}
	return ferry_queue_end(skb, ctx, &q, ret);
}

static int ferry_put_recvq(struct sk_buff *skb, struct ferry_tcp_ctx *ctx, struct sock *sk)
{
	struct ferry_qpos q = { FERRY_TCP_QUEUE_RECV, ctx->rcv_base, &ctx->rcv_seq, ctx->rcv_end };
	struct sk_buff *qskb;
	int ret = 0;

	skb_queue_walk(&sk->sk_receive_queue, qskb) {
		if (ret || !before(ctx->rcv_seq, ctx->rcv_end))
			break;
		ret = ferry_put_qskb(skb, ctx, &q, qskb);
	}
	return ferry_queue_end(skb, ctx, &q, ret);
}

/* ---- one socket ------------------------------------------------------ */

/*
 * The socket's record (the caller owns a full socket). Packed: the
 * record, then as many queue bytes as fit in the same attribute. The
 * queues' remaining bytes, if any, follow in ctx->step.
 */
static int ferry_put_record(struct sk_buff *skb, struct ferry_tcp_ctx *ctx,
			    struct ferry_tcp_ent *e)
{
	struct ferry_tcp_sock_packed r;
	struct nlattr *a;
	u32 snd0, rcv0, len;
	bool full = false;

	if (skb_tailroom(skb) < ((ctx->flags & FERRY_TCP_F_PACKED) ? FERRY_TCP_PACKED_ROOM
								  : FERRY_TCP_SOCK_ROOM))
		return -EMSGSIZE;
	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.version = FERRY_TCP_PACKED_VERSION;
	switch (e->sk->sk_state) {
	case TCP_TIME_WAIT:
		ferry_snap_tw(&r, ctx, e);
		break;
	case TCP_NEW_SYN_RECV:
		ferry_snap_req(&r, ctx, e);
		break;
	default:
		ferry_snap_full(&r, ctx, e);
		full = true;
		break;
	}
	ctx->step = full && (ctx->flags & FERRY_TCP_F_DATA) ? STEP_SEND : STEP_DONE;
	if (!(ctx->flags & FERRY_TCP_F_PACKED)) {
		ferry_put_sock_attrs(skb, &r);
		ctx->enc = ENC_NEST;
		return 0;
	}

	a = __skb_put(skb, NLA_HDRLEN + sizeof(r));
	if (ctx->step == STEP_SEND) {
		ctx->enc = ENC_INLINE;
		snd0 = ctx->snd_seq;
		rcv0 = ctx->rcv_seq;
		if (!ferry_put_sendq(skb, ctx, e->sk)) {
			ctx->step = STEP_RECV;
			if (!ferry_put_recvq(skb, ctx, e->sk))
				ctx->step = STEP_DONE;
		}
		r.snd_inline = ctx->snd_seq - snd0;
		r.rcv_inline = ctx->rcv_seq - rcv0;
	}
	ctx->enc = ENC_CHUNK;
	len = NLA_HDRLEN + sizeof(r) + r.snd_inline + r.rcv_inline;
	a->nla_type = FERRY_TCP_A_PACKED;
	a->nla_len = len;
	memcpy(nla_data(a), &r, sizeof(r));
	if (len & (NLA_ALIGNTO - 1))
		skb_put_zero(skb, NLA_ALIGN(len) - len);
	return 0;
}

/* Export ents[pos], continuing where the last message ended. 0: done with
 * it; -EMSGSIZE: the message is full (progress saved). */
static int ferry_put_ent(struct sk_buff *skb, struct ferry_tcp_ctx *ctx,
			 struct ferry_tcp_ent *e)
{
	struct sock *sk = e->sk;
	bool slow;
	int ret = 0;

	if (ctx->step == STEP_HDR) {
		ctx->cookie = ferry_sk_cookie(sk);
		if (!sk_fullsock(sk))	/* TIME_WAIT, request: immutable enough */
			return ferry_put_record(skb, ctx, e);
	}
	/*
	 * Owning the socket either way excludes its process (syscalls) and
	 * its softirq input alike: lock_sock_fast() holds the socket spinlock
	 * with BHs off when nobody owns the socket (as tcp_get_info() does),
	 * else it sleeps in lock_sock(). Nothing below sleeps or allocates:
	 * the snapshot and the queue bytes go straight into the message.
	 */
	slow = lock_sock_fast(sk);
	if (ctx->step == STEP_HDR) {
		ret = ferry_put_record(skb, ctx, e);
		if (ret)
			goto out;
	}
	if (ctx->step == STEP_SEND) {
		ret = ferry_put_sendq(skb, ctx, sk);
		if (ret)
			goto out;
		ctx->step = STEP_RECV;
	}
	if (ctx->step == STEP_RECV) {
		ret = ferry_put_recvq(skb, ctx, sk);
		if (ret)
			goto out;
		ctx->step = STEP_DONE;
	}
out:
	unlock_sock_fast(sk, slow);
	return ret;
}

/* ---- genetlink callbacks ---------------------------------------------- */

static void ferry_tcp_ctx_free(struct ferry_tcp_ctx *ctx)
{
	if (!ctx)
		return;
	ferry_ents_put(ctx, ctx->pos);
	kvfree(ctx->ents);
	if (ctx->net)
		put_net(ctx->net);
	kfree(ctx);
}

int ferry_tcp_start(struct netlink_callback *cb)
{
	struct nlattr **attrs = ferry_dump_attrs(cb);
	struct ferry_tcp_ctx *ctx;
	struct task_struct *task;
	struct pid *pid;
	pid_t nr;
	int ret;

	ret = ferry_check_perm(cb->skb, cb->extack);
	if (ret)
		return ret;
	if (!attrs[FERRY_TCP_A_PID]) {
		NL_SET_ERR_MSG(cb->extack, "FERRY_TCP_A_PID (the process to dump) is required");
		return -EINVAL;
	}
	nr = nla_get_u32(attrs[FERRY_TCP_A_PID]);
	if (nr <= 0) {
		NL_SET_ERR_MSG_ATTR(cb->extack, attrs[FERRY_TCP_A_PID], "invalid pid");
		return -EINVAL;
	}
	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	if (attrs[FERRY_TCP_A_FLAGS])
		ctx->flags = nla_get_u32(attrs[FERRY_TCP_A_FLAGS]);

	pid = find_get_pid(nr);
	task = pid ? get_pid_task(pid, PIDTYPE_PID) : NULL;
	put_pid(pid);
	if (!task) {
		NL_SET_ERR_MSG_ATTR(cb->extack, attrs[FERRY_TCP_A_PID], "no such process");
		ret = -ESRCH;
		goto fail;
	}

	if (ctx->flags & FERRY_TCP_F_NETNS) {
		struct net *net = NULL;

		task_lock(task);
		if (task->nsproxy)
			net = get_net(task->nsproxy->net_ns);
		task_unlock(task);
		put_task_struct(task);
		if (!net) {
			NL_SET_ERR_MSG_ATTR(cb->extack, attrs[FERRY_TCP_A_PID],
					    "process is exiting: no network namespace");
			ret = -ESRCH;
			goto fail;
		}
		ctx->net = net;
		ctx->hinfo = net->ipv4.tcp_death_row.hashinfo;
		ctx->scan = SCAN_LISTEN;
		ret = ferry_ents_grow(ctx);
		if (ret)
			goto fail;
		while (ctx->cap < FERRY_TCP_BATCH && !ret)
			ret = ferry_ents_grow(ctx);
	} else {
		ctx->scan = SCAN_DONE;
		ret = ferry_collect_tree(ctx, task);
		put_task_struct(task);
	}
	if (ret)
		goto fail;
	cb->args[0] = (long)ctx;
	return 0;
fail:
	ferry_tcp_ctx_free(ctx);
	return ret;
}

int ferry_tcp_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct ferry_tcp_ctx *ctx = (struct ferry_tcp_ctx *)cb->args[0];
	unsigned int empty_len;
	void *hdr;
	int ret = 0;

	if (!ctx || ctx->finished)
		return 0;
	hdr = ferry_dump_msg_start(skb, cb);
	if (!hdr)
		return -EMSGSIZE;
	empty_len = skb->len;
	for (;;) {
		if (ctx->pos == ctx->n) {
			if (ctx->scan == SCAN_DONE) {
				ctx->finished = true;
				break;
			}
			ret = ferry_refill(ctx);
			if (ret)
				break;
			continue;
		}
		ret = ferry_put_ent(skb, ctx, &ctx->ents[ctx->pos]);
		if (ret)
			break;
		sock_gen_put(ctx->ents[ctx->pos].sk);
		ctx->pos++;
		ctx->step = STEP_HDR;
		cond_resched();
	}
	if (ret == -EMSGSIZE && skb->len > empty_len)
		ret = 0;	/* full: go on in the next message */
	if (ret) {
		genlmsg_cancel(skb, hdr);
		return ret;
	}
	if (skb->len == empty_len) {
		genlmsg_cancel(skb, hdr);
		return 0;
	}
	genlmsg_end(skb, hdr);
	return skb->len;
}

int ferry_tcp_done(struct netlink_callback *cb)
{
	ferry_tcp_ctx_free((struct ferry_tcp_ctx *)cb->args[0]);
	cb->args[0] = 0;
	return 0;
}

u64 ferry_tcp_features(void)
{
	return FERRY_FEATURE_TCP_DUMP | FERRY_FEATURE_TCP_DATA | FERRY_FEATURE_TCP_PACKED;
}
