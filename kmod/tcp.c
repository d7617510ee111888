// SPDX-License-Identifier: GPL-2.0
/*
 * FERRY_CMD_TCP_DUMP: export the repair state of TCP sockets, and
 * optionally the bytes in their queues, without touching the owning
 * process and without putting sockets into TCP_REPAIR mode.
 *
 * This file is the dump itself: the request, the per-dump context, and
 * one socket after another into the messages. Which sockets (a process
 * tree's or a network namespace's) is tcp_find.c's job, the snapshot of
 * one socket and its two encodings tcp_snap.c's, the queued bytes
 * tcp_queue.c's.
 *
 * Consistency: a socket's record is one snapshot taken while we own the
 * socket (lock_sock_fast(): no syscall and no packet can change it). Its
 * queue bytes follow in the same locked section while they fit in the
 * message; the rest follows in later messages (tcp_queue.c).
 *
 * Encodings: the attribute format (a SOCK nest of ~40 attributes per
 * socket, DATA nests) and the packed one (FERRY_TCP_F_PACKED: one
 * struct ferry_tcp_sock_packed per socket with the first queue bytes
 * appended to it, QCHUNK attributes for the rest). Both are written from
 * the same snapshot struct; messages are filled to the skb's size.
 */
#include <linux/nsproxy.h>
#include <linux/pid.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/sock_diag.h>
#include <net/net_namespace.h>
#include <net/sock.h>
#include <net/tcp.h>
#include "ferry.h"
#include "compat.h"
#include "tcp.h"

const struct nla_policy ferry_tcp_policy[FERRY_TCP_A_MAX + 1] = {
	[FERRY_TCP_A_PID]	= { .type = NLA_U32 },
	[FERRY_TCP_A_FLAGS]	= NLA_POLICY_MASK(NLA_U32, FERRY_TCP_F_ALL),
	[FERRY_TCP_A_SOCK]	= { .type = NLA_REJECT },
	[FERRY_TCP_A_DATA]	= { .type = NLA_REJECT },
	[FERRY_TCP_A_PAD]	= { .type = NLA_REJECT },
	[FERRY_TCP_A_PACKED]	= { .type = NLA_REJECT },
	[FERRY_TCP_A_QCHUNK]	= { .type = NLA_REJECT },
};

u64 ferry_sk_cookie(struct sock *sk)
{
	u32 c[2];

	sock_diag_save_cookie(sk, c);
	return (u64)c[1] << 32 | c[0];
}


/* ---- one socket ------------------------------------------------------ */

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
	if (ctx->step != STEP_HDR)
		ferry_queues_check_resume(ctx, sk);
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
	ferry_cookie_set_free(&ctx->pending);
	if (ctx->net)
		put_net(ctx->net);
	kfree(ctx);
}

/*
 * The network namespace of task's process: the task's own, or, when the
 * task is a thread group leader that already exited while its threads
 * live on, that of a live thread of its group. NULL if none has one.
 */
static struct net *ferry_task_net(struct task_struct *task)
{
	struct net *net = NULL;
	struct task_struct *t;

	rcu_read_lock();
	for_each_thread(task, t) {
		task_lock(t);
		if (t->nsproxy)
			net = get_net(t->nsproxy->net_ns);
		task_unlock(t);
		if (net)
			break;
	}
	rcu_read_unlock();
	return net;
}

int ferry_tcp_start(struct netlink_callback *cb)
{
	struct nlattr **attrs = ferry_dump_attrs(cb);
	struct ferry_tcp_ctx *ctx;
	struct task_struct *task;
	u32 flags = 0;
	struct pid *pid;
	pid_t nr;
	int ret;

	if (attrs[FERRY_TCP_A_FLAGS])
		flags = nla_get_u32(attrs[FERRY_TCP_A_FLAGS]);
	ret = ferry_check_perm(cb->skb, cb->extack,
			       flags & (FERRY_TCP_F_NETNS | FERRY_TCP_F_DATA));
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
	ctx->flags = flags;

	/* A thread's id names its whole process (thread group). */
	pid = find_get_pid(nr);
	task = pid ? get_pid_task(pid, PIDTYPE_PID) : NULL;
	put_pid(pid);
	if (!task) {
		NL_SET_ERR_MSG_ATTR(cb->extack, attrs[FERRY_TCP_A_PID], "no such process");
		ret = -ESRCH;
		goto fail;
	}

	if (ctx->flags & FERRY_TCP_F_NETNS) {
		struct net *net = ferry_task_net(task);

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
		while (ctx->cap < FERRY_TCP_BATCH && !ret)
			ret = ferry_ents_grow(ctx);
	} else {
		ctx->scan = SCAN_DONE;
		ret = ferry_collect_tree(ctx, task, cb->extack);
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
	return FERRY_FEATURE_TCP_DUMP | FERRY_FEATURE_TCP_DATA | FERRY_FEATURE_TCP_PACKED |
	       FERRY_FEATURE_TCP_SEQ_MARKS;
}
