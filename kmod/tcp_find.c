// SPDX-License-Identifier: GPL-2.0
/*
 * TCP_DUMP: finding the sockets to export, and pinning each with a
 * reference taken where it was found (under the fd-table lock, the accept
 * queue's lock or the hash bucket's lock), so that a socket closed, reset
 * or freed by its owner during the dump stays valid memory until the dump
 * drops it.
 *
 *  - tree mode: the TCP sockets in the file tables of every thread of the
 *    process tree rooted at PID's thread group, plus the connections
 *    waiting in the accept queues of listeners found there. Memory: one
 *    small entry per selected socket (sockets the tree already owns), and
 *    while the tree is being found, 16 bytes per process of the host.
 *  - netns mode: every TCP socket of a network namespace, from the
 *    listening hash (with each listener's accept queue) and then the
 *    established hash (which also holds TIME_WAIT and request sockets), a
 *    batch of a few hundred at a time.
 */
#include <linux/fdtable.h>
#include <linux/file.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/net.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <net/inet_hashtables.h>
#include <net/inet_timewait_sock.h>
#include <net/request_sock.h>
#include <net/sock.h>
#include <net/tcp.h>
#include "ferry.h"
#include "tcp.h"

#define FERRY_TCP_MIN_ENTS	64
/* Processes looked at per RCU section while finding a tree. */
#define FERRY_PROC_BATCH	512
/* A host with more processes than this is refused (16 bytes each). */
#define FERRY_PROC_MAX		(1U << 22)

static bool ferry_is_tcp(const struct sock *sk)
{
	return (sk->sk_family == AF_INET || sk->sk_family == AF_INET6) &&
	       sk->sk_type == SOCK_STREAM && sk->sk_protocol == IPPROTO_TCP;
}

/* Make room for at least one more entry (process context, no locks). */
int ferry_ents_grow(struct ferry_tcp_ctx *ctx)
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
void ferry_ents_put(struct ferry_tcp_ctx *ctx, unsigned int from)
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

/* ---- a set of socket cookies ---------------------------------------- */

void ferry_cookie_set_free(struct ferry_cookie_set *s)
{
	kvfree(s->slot);
	s->slot = NULL;
	s->bits = s->used = 0;
}

static u64 *ferry_cookie_slot(const struct ferry_cookie_set *s, u64 cookie)
{
	unsigned int mask = (1U << s->bits) - 1, h = hash_64(cookie, s->bits);

	while (s->slot[h] && s->slot[h] != cookie)
		h = (h + 1) & mask;
	return &s->slot[h];
}

static bool ferry_cookie_set_has(const struct ferry_cookie_set *s, u64 cookie)
{
	return s->slot && *ferry_cookie_slot(s, cookie) == cookie;
}

/* Make room for n more cookies (kept at most half full). */
static int ferry_cookie_set_reserve(struct ferry_cookie_set *s, unsigned int n)
{
	struct ferry_cookie_set grown = { .bits = s->bits ? s->bits : 6 };
	unsigned int i;

	if (n > (1U << 24) || s->used + n > (1U << 24))
		return -ENOMEM;
	while ((s->used + n) * 2 > (1U << grown.bits))
		grown.bits++;
	if (s->slot && grown.bits == s->bits)
		return 0;
	grown.slot = kvcalloc(1U << grown.bits, sizeof(u64), GFP_KERNEL_ACCOUNT);
	if (!grown.slot)
		return -ENOMEM;
	for (i = 0; s->slot && i < (1U << s->bits); i++)
		if (s->slot[i])
			*ferry_cookie_slot(&grown, s->slot[i]) = s->slot[i];
	grown.used = s->used;
	kvfree(s->slot);
	*s = grown;
	return 0;
}

/*
 * Pin the children waiting in a listener's accept queue. The queue is
 * walked under its spinlock; if the array fills, the partial walk is
 * undone, the array grown and the walk repeated. With a cookie set (netns
 * mode), each child's cookie is recorded there: the established-hash pass
 * must not report it again once it is accepted.
 */
static int ferry_collect_accept_queue(struct ferry_tcp_ctx *ctx, struct sock *lsk,
				      struct ferry_cookie_set *seen)
{
	struct request_sock_queue *q = &inet_csk(lsk)->icsk_accept_queue;
	u64 lcookie = ferry_sk_cookie(lsk);
	struct request_sock *req;
	unsigned int start, i;
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
			break;
		ferry_ents_put(ctx, start);
		ret = ferry_ents_grow(ctx);
		if (ret)
			return ret;
	}
	if (!seen || ctx->n == start)
		return 0;
	ret = ferry_cookie_set_reserve(seen, ctx->n - start);
	if (ret)
		return ret;
	for (i = start; i < ctx->n; i++) {
		u64 c = ferry_sk_cookie(ctx->ents[i].sk), *slot = ferry_cookie_slot(seen, c);

		if (!*slot) {
			*slot = c;
			seen->used++;
		}
	}
	return 0;
}

/* ---- tree mode: which processes ------------------------------------- */

/* One thread group of the host, by global (init_pid_ns) numbers. */
struct ferry_proc {
	struct pid *pid;		/* referenced; its TGID task is the leader */
	pid_t tgid, ptgid;		/* and its real parent's thread group */
};

/*
 * Every thread group of the host with its parent's, by PID number, a
 * batch per RCU section so that the walk can reschedule (a few million
 * processes at most). Linear in the number of processes.
 */
static int ferry_all_procs(struct ferry_proc **out, unsigned int *nout,
			   struct netlink_ext_ack *extack)
{
	struct ferry_proc *v = NULL, *grown;
	unsigned int n = 0, cap = 0, k;
	int nr = 1;

	for (;;) {
		bool done = false;

		if (n == cap) {
			if (cap >= FERRY_PROC_MAX) {
				NL_SET_ERR_MSG(extack, "too many processes on this host to find a tree");
				goto fail_e2big;
			}
			cap = cap ? cap * 2 : 1024;
			grown = kvmalloc_array(cap, sizeof(*v), GFP_KERNEL_ACCOUNT);
			if (!grown)
				goto fail_nomem;
			if (n)
				memcpy(grown, v, n * sizeof(*v));
			kvfree(v);
			v = grown;
		}
		rcu_read_lock();
		for (k = 0; k < FERRY_PROC_BATCH && n < cap; k++) {
			struct pid *pid = find_ge_pid(nr, &init_pid_ns);
			struct task_struct *leader;

			if (!pid) {
				done = true;
				break;
			}
			nr = pid_nr(pid) + 1;
			leader = pid_task(pid, PIDTYPE_TGID);
			if (!leader)
				continue;	/* a thread's pid, or exiting */
			v[n].pid = get_pid(pid);
			v[n].tgid = pid_nr(pid);
			v[n].ptgid = task_tgid_nr(rcu_dereference(leader->real_parent));
			n++;
		}
		rcu_read_unlock();
		if (done)
			break;
		if (fatal_signal_pending(current)) {
			while (n)
				put_pid(v[--n].pid);
			kvfree(v);
			return -EINTR;
		}
		cond_resched();
	}
	*out = v;
	*nout = n;
	return 0;
fail_e2big:
	while (n)
		put_pid(v[--n].pid);
	kvfree(v);
	return -E2BIG;
fail_nomem:
	while (n)
		put_pid(v[--n].pid);
	kvfree(v);
	return -ENOMEM;
}

/*
 * Mark in[i] for the processes descending from thread group root (root
 * included): each process's parent chain is followed only until a process
 * whose answer is known, and every process on the way gets that answer,
 * so every process is visited a bounded number of times whatever the
 * shape of the tree (a workload may make itself one deep chain). The
 * parent links come from one pass over the host's processes: a process
 * reparented meanwhile is seen where it was then.
 */
enum { MEMB_UNKNOWN, MEMB_IN, MEMB_OUT, MEMB_VISITING };

static int ferry_tree_members(const struct ferry_proc *v, unsigned int n, pid_t root,
			      u8 *memb)
{
	unsigned int bits = ilog2(roundup_pow_of_two(n ? n : 1)) + 1;
	unsigned int mask = (1U << bits) - 1, i, h, top;
	unsigned int *idx, *stack;

	/* tgid -> index, open addressing; v[] is sorted by tgid but a hash
	 * is simpler than a binary search per step. ~0U: empty. */
	idx = kvmalloc_array(1U << bits, sizeof(*idx), GFP_KERNEL);
	stack = kvmalloc_array(n ? n : 1, sizeof(*stack), GFP_KERNEL);
	if (!idx || !stack) {
		kvfree(idx);
		kvfree(stack);
		return -ENOMEM;
	}
	memset(idx, 0xff, (1U << bits) * sizeof(*idx));
	for (i = 0; i < n; i++) {
		for (h = hash_32(v[i].tgid, bits); idx[h] != ~0U; h = (h + 1) & mask)
			;
		idx[h] = i;
	}
	memset(memb, MEMB_UNKNOWN, n);
	for (i = 0; i < n; i++) {
		unsigned int j = i;
		u8 answer;

		top = 0;
		for (;;) {
			pid_t parent;

			if (memb[j] == MEMB_IN || memb[j] == MEMB_OUT) {
				answer = memb[j];
				break;
			}
			if (v[j].tgid == root) {
				answer = MEMB_IN;
				break;
			}
			if (memb[j] == MEMB_VISITING || v[j].tgid <= 1) {
				answer = MEMB_OUT;	/* init, or a loop */
				break;
			}
			memb[j] = MEMB_VISITING;
			stack[top++] = j;
			parent = v[j].ptgid;
			for (h = hash_32(parent, bits); idx[h] != ~0U && v[idx[h]].tgid != parent;
			     h = (h + 1) & mask)
				;
			if (idx[h] == ~0U) {
				answer = MEMB_OUT;	/* parent gone meanwhile */
				break;
			}
			j = idx[h];
		}
		if (v[j].tgid == root)
			memb[j] = MEMB_IN;
		while (top)
			memb[stack[--top]] = answer;
		if (!(i % 1024))
			cond_resched();
	}
	kvfree(idx);
	kvfree(stack);
	return 0;
}

/* ---- tree mode: the sockets in the file tables ------------------------ */

struct ferry_fd_walk {
	struct ferry_tcp_ctx *ctx;
	u32 pid;
	unsigned int stop_fd;
	bool full;
};

/* iterate_fd() callback: runs under the fd table's spinlock (and the
 * thread's task_lock), so it only pins the socket. */
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

/* The fd table of one thread, unless it is one already walked (threads
 * usually share their process's table; one made with clone() without
 * CLONE_FILES, or after unshare(CLONE_FILES), has its own). */
static int ferry_collect_thread(struct ferry_tcp_ctx *ctx, struct task_struct *t,
				u32 nr, struct files_struct **seen, unsigned int *nseen,
				unsigned int maxseen)
{
	struct ferry_fd_walk w = { .ctx = ctx, .pid = nr };
	unsigned int next = 0, k;
	int ret = 0;

	for (;;) {
		struct files_struct *files;

		w.full = false;
		/* As __do_SAK() does: task_lock() keeps ->files in place. */
		task_lock(t);
		files = t->files;
		for (k = 0; files && k < *nseen; k++)
			if (seen[k] == files)
				files = NULL;
		if (files) {
			iterate_fd(files, next, ferry_fd_cb, &w);
			if (!w.full && *nseen < maxseen)
				seen[(*nseen)++] = files;
		}
		task_unlock(t);
		if (!w.full)
			return 0;
		next = w.stop_fd;
		ret = ferry_ents_grow(ctx);
		if (ret)
			return ret;
	}
}

/* Every thread of one process (the leader may have exited, its threads
 * live on). Threads are pinned first, then walked without RCU. */
static int ferry_collect_proc(struct ferry_tcp_ctx *ctx, struct pid *pid)
{
	struct files_struct *seen[16];
	struct task_struct *leader, *t, **threads;
	unsigned int nthreads = 0, cap = 0, nseen = 0, i;
	u32 nr;
	int ret = 0;

	for (;;) {
		unsigned int count = 0;

		rcu_read_lock();
		leader = pid_task(pid, PIDTYPE_TGID);
		if (leader)
			for_each_thread(leader, t)
				count++;
		rcu_read_unlock();
		if (!leader)
			return 0;	/* exited meanwhile */
		threads = kvmalloc_array(count + 8, sizeof(*threads), GFP_KERNEL);
		if (!threads)
			return -ENOMEM;
		cap = count + 8;
		nthreads = 0;
		rcu_read_lock();
		leader = pid_task(pid, PIDTYPE_TGID);
		if (leader) {
			for_each_thread(leader, t) {
				if (nthreads == cap)
					break;
				get_task_struct(t);
				threads[nthreads++] = t;
			}
		}
		rcu_read_unlock();
		if (nthreads < cap || !leader)
			break;
		/* Threads appeared in between: count again. */
		while (nthreads)
			put_task_struct(threads[--nthreads]);
		kvfree(threads);
	}
	nr = pid_vnr(pid);
	for (i = 0; i < nthreads && !ret; i++)
		ret = ferry_collect_thread(ctx, threads[i], nr, seen, &nseen, ARRAY_SIZE(seen));
	for (i = 0; i < nthreads; i++)
		put_task_struct(threads[i]);
	kvfree(threads);
	return ret;
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

int ferry_collect_tree(struct ferry_tcp_ctx *ctx, struct task_struct *root,
		       struct netlink_ext_ack *extack)
{
	struct ferry_proc *v;
	unsigned int n, i, nfile;
	u8 *memb;
	int ret;

	ret = ferry_all_procs(&v, &n, extack);
	if (ret)
		return ret;
	memb = kvmalloc(n ? n : 1, GFP_KERNEL);
	ret = memb ? ferry_tree_members(v, n, task_tgid_nr(root), memb) : -ENOMEM;
	if (!ret)
		ret = ferry_ents_grow(ctx);
	for (i = 0; i < n && !ret; i++) {
		if (memb[i] == MEMB_IN)
			ret = ferry_collect_proc(ctx, v[i].pid);
		if (fatal_signal_pending(current))
			ret = -EINTR;
		cond_resched();
	}
	for (i = 0; i < n; i++)
		put_pid(v[i].pid);
	kvfree(v);
	kvfree(memb);
	if (ret)
		return ret;
	ret = ferry_ents_dedup(ctx);

	/* Connections waiting to be accepted belong to the listener's owner. */
	nfile = ctx->n;
	for (i = 0; i < nfile && !ret; i++)
		if (READ_ONCE(ctx->ents[i].sk->sk_state) == TCP_LISTEN)
			ret = ferry_collect_accept_queue(ctx, ctx->ents[i].sk, NULL);
	/*
	 * A child can move from one listener's queue to another's between
	 * the two walks (SO_REUSEPORT with net.ipv4.tcp_migrate_req, when
	 * its listener closes): report it once.
	 */
	if (!ret && ctx->n > nfile)
		ret = ferry_ents_dedup(ctx);
	return ret;
}

/* ---- netns mode: the hash tables, a batch at a time ------------------- */

/*
 * Pin the sockets of one hash chain that live in the dump's namespace
 * (TCP ones only, with tcp_only: the listening hash is shared with other
 * protocols' lookups), walked under the bucket's lock. If the array
 * fills, the partial walk is undone, the array grown and the walk
 * repeated. The new entries are ents[*start, n).
 */
static int ferry_collect_chain(struct ferry_tcp_ctx *ctx, struct hlist_nulls_head *chain,
			       spinlock_t *lock, bool tcp_only, unsigned int *start)
{
	struct hlist_nulls_node *node;
	struct sock *sk;
	bool full;
	int ret;

	for (;;) {
		*start = ctx->n;
		full = false;
		spin_lock_bh(lock);
		sk_nulls_for_each(sk, node, chain) {
			if (!net_eq(sock_net(sk), ctx->net) || (tcp_only && !ferry_is_tcp(sk)))
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
		ferry_ents_put(ctx, *start);
		ret = ferry_ents_grow(ctx);
		if (ret)
			return ret;
	}
}

/* One bucket of the listening hash, with each listener's accept queue. */
static int ferry_collect_listen_bucket(struct ferry_tcp_ctx *ctx, unsigned int b)
{
	struct inet_listen_hashbucket *ilb = &ctx->hinfo->lhash2[b];
	unsigned int start, i, end;
	int ret;

	if (hlist_nulls_empty(&ilb->nulls_head))
		return 0;
	ret = ferry_collect_chain(ctx, &ilb->nulls_head, &ilb->lock, true, &start);
	end = ctx->n;
	for (i = start; i < end && !ret; i++)
		ret = ferry_collect_accept_queue(ctx, ctx->ents[i].sk, &ctx->pending);
	return ret;
}

/*
 * One bucket of the established hash. A child that the listen pass found
 * in an accept queue was reported with its listener: it is skipped here
 * whatever happened to it since (accepted meanwhile, or inside accept(),
 * between the queue and its file). Every other socket is reported here,
 * including a connection that reached an accept queue after the listen
 * pass.
 */
static int ferry_collect_ehash_bucket(struct ferry_tcp_ctx *ctx, unsigned int b)
{
	struct inet_ehash_bucket *head = &ctx->hinfo->ehash[b];
	unsigned int start, i, out;
	int ret;

	if (hlist_nulls_empty(&head->chain))
		return 0;
	ret = ferry_collect_chain(ctx, &head->chain, inet_ehash_lockp(ctx->hinfo, b), false,
				  &start);
	if (ret || !ctx->pending.used)
		return ret;
	/* Cookies are taken outside the bucket lock (the first use of one
	 * assigns it). */
	for (i = out = start; i < ctx->n; i++) {
		struct sock *s = ctx->ents[i].sk;

		if (sk_fullsock(s) && ferry_cookie_set_has(&ctx->pending, ferry_sk_cookie(s))) {
			sock_gen_put(s);
			continue;
		}
		ctx->ents[out++] = ctx->ents[i];
	}
	ctx->n = out;
	return 0;
}

/* Pin the next batch of sockets of the namespace (ents is empty). */
int ferry_refill(struct ferry_tcp_ctx *ctx)
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
