// SPDX-License-Identifier: GPL-2.0
/*
 * FERRY_CMD_DIRTY_SCAN: report (and optionally re-arm) the soft-dirty pages
 * of a process as compact extents, in a multi-part generic netlink dump.
 * This file holds the request, the per-dump state and the reply encoding;
 * the page-table walk (what is reported, how it is re-armed) is in
 * dirty_walk.c.
 *
 * Memory is bounded: a fixed buffer of extents lives in the per-dump state
 * (allocated in .start, freed in .done). The walk stops when the buffer is
 * full and resumes at the recorded address in the next dumpit call; no lock
 * is held across calls, the mmap lock is dropped whenever a writer waits
 * for it, and the walk calls cond_resched() as it goes. The mm is pinned
 * with mmgrab() for the whole dump and with mmget_not_zero() while walking,
 * so a target that exits mid-scan ends the dump with -ESRCH. An error ends
 * the dump; after a failed CLEAR scan the caller must assume that every
 * page may be dirty (the pages re-armed so far were not all reported).
 */
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include "ferry.h"
#include "compat.h"
#include "dirty.h"

/* 16 bytes per extent, as the ABI header promises user space. */
static_assert(sizeof(struct ferry_dirty_packed) == 16);

const struct nla_policy ferry_dirty_policy[FERRY_DIRTY_A_MAX + 1] = {
	[FERRY_DIRTY_A_PID]	= { .type = NLA_U32 },
	[FERRY_DIRTY_A_START]	= { .type = NLA_U64 },
	[FERRY_DIRTY_A_END]	= { .type = NLA_U64 },
	[FERRY_DIRTY_A_FLAGS]	= NLA_POLICY_MASK(NLA_U32, FERRY_DIRTY_F_ALL),
	/* Reply-only attributes are refused in requests. */
	[FERRY_DIRTY_A_EXTENT]	= { .type = NLA_REJECT },
	[FERRY_DIRTY_A_STATS]	= { .type = NLA_REJECT },
	[FERRY_DIRTY_A_PAD]	= { .type = NLA_REJECT },
	[FERRY_DIRTY_A_PACKED]	= { .type = NLA_REJECT },
};

static inline struct ferry_dirty_state *ferry_dirty_state(struct netlink_callback *cb)
{
	return (struct ferry_dirty_state *)cb->args[0];
}

static int ferry_put_extent(struct sk_buff *skb, const struct ferry_dirty_ext *e)
{
	struct nlattr *nest = nla_nest_start(skb, FERRY_DIRTY_A_EXTENT);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, FERRY_EXTENT_A_START, e->start, FERRY_EXTENT_A_PAD) ||
	    nla_put_u64_64bit(skb, FERRY_EXTENT_A_PAGES, e->pages, FERRY_EXTENT_A_PAD) ||
	    nla_put_u32(skb, FERRY_EXTENT_A_FLAGS, e->flags)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

static int ferry_put_stats(struct sk_buff *skb, const struct ferry_dirty_state *st)
{
	struct nlattr *nest = nla_nest_start(skb, FERRY_DIRTY_A_STATS);

	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, FERRY_DSTAT_A_VMAS, st->vmas, FERRY_DSTAT_A_PAD) ||
	    nla_put_u64_64bit(skb, FERRY_DSTAT_A_PAGES_SCANNED, st->scanned, FERRY_DSTAT_A_PAD) ||
	    nla_put_u64_64bit(skb, FERRY_DSTAT_A_PAGES_DIRTY, st->dirty, FERRY_DSTAT_A_PAD) ||
	    nla_put_u64_64bit(skb, FERRY_DSTAT_A_PAGES_CLEARED, st->cleared, FERRY_DSTAT_A_PAD) ||
	    nla_put_u64_64bit(skb, FERRY_DSTAT_A_SCAN_NS, st->scan_ns, FERRY_DSTAT_A_PAD) ||
	    nla_put_u64_64bit(skb, FERRY_DSTAT_A_TABLES_SKIPPED, st->skipped, FERRY_DSTAT_A_PAD)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* As many buffered extents as fit, in one FERRY_DIRTY_A_PACKED array. */
static int ferry_put_packed(struct sk_buff *skb, struct ferry_dirty_state *st,
			    unsigned int limit)
{
	unsigned int room, k, i;
	struct ferry_dirty_packed *p;
	struct nlattr *attr;
	int len;

	/* An attribute is at most U16_MAX bytes long. */
	len = min_t(int, skb_tailroom(skb) - NLA_HDRLEN - NLA_ALIGNTO, U16_MAX - NLA_HDRLEN);
	if (len < (int)sizeof(*p))
		return -EMSGSIZE;
	room = len / sizeof(*p);
	/* Extents longer than U32_MAX pages are sent in pieces. */
	for (k = 0, i = st->head; i < limit && k < room; i++)
		k += DIV_ROUND_UP(st->ext[i].pages, U32_MAX);
	k = min(k, room);
	attr = nla_reserve(skb, FERRY_DIRTY_A_PACKED, k * sizeof(*p));
	if (!attr)
		return -EMSGSIZE;
	p = nla_data(attr);
	while (k && st->head < limit) {
		struct ferry_dirty_ext *e = &st->ext[st->head];
		u32 chunk = min_t(u64, e->pages, U32_MAX);

		p->start = e->start;
		p->pages = chunk;
		p->flags = e->flags;
		p++;
		k--;
		if (chunk == e->pages) {
			st->head++;
		} else {
			e->start += (u64)chunk << PAGE_SHIFT;
			e->pages -= chunk;
		}
	}
	return st->head < limit ? -EMSGSIZE : 0;
}

/*
 * Move buffered extents into skb. While the walk goes on, the last extent
 * may still grow and stays behind. -EMSGSIZE when skb is full.
 */
static int ferry_dirty_drain(struct sk_buff *skb, struct ferry_dirty_state *st)
{
	unsigned int limit = st->walk_done ? st->n : (st->n ? st->n - 1 : 0);
	int ret = 0;

	if (st->flags & FERRY_DIRTY_F_PACKED) {
		if (st->head < limit)
			ret = ferry_put_packed(skb, st, limit);
	} else {
		while (st->head < limit) {
			ret = ferry_put_extent(skb, &st->ext[st->head]);
			if (ret)
				break;
			st->head++;
		}
	}
	if (st->head) {
		memmove(st->ext, st->ext + st->head,
			(st->n - st->head) * sizeof(st->ext[0]));
		st->n -= st->head;
		st->head = 0;
	}
	return ret;
}

/*
 * The mm of task's process: the task's own, or, when the task is a thread
 * group leader that already exited (a zombie whose other threads still
 * run), the mm of a live thread of its group. NULL if none has one.
 */
static struct mm_struct *ferry_task_mm(struct task_struct *task)
{
	struct mm_struct *mm = get_task_mm(task);
	struct task_struct *t;

	if (mm)
		return mm;
	rcu_read_lock();
	for_each_thread(task, t) {
		mm = get_task_mm(t);
		if (mm)
			break;
	}
	rcu_read_unlock();
	return mm;
}

/*
 * Validate the request and pin the target's mm. Errors carry an extended
 * ack message in extack.
 */
static int ferry_dirty_setup(struct netlink_callback *cb, struct ferry_dirty_state *st,
			     struct netlink_ext_ack *extack)
{
	struct nlattr **attrs = ferry_dump_attrs(cb);
	u64 start = 0, end = TASK_SIZE_MAX;
	struct task_struct *task;
	struct mm_struct *mm;
	struct pid *pid;

	if (!attrs[FERRY_DIRTY_A_PID]) {
		NL_SET_ERR_ATTR_MISS(extack, NULL, FERRY_DIRTY_A_PID);
		NL_SET_ERR_MSG(extack, "FERRY_DIRTY_A_PID is required: the process to scan");
		return -EINVAL;
	}
	if (!nla_get_u32(attrs[FERRY_DIRTY_A_PID])) {
		NL_SET_ERR_MSG_ATTR(extack, attrs[FERRY_DIRTY_A_PID], "pid must be positive");
		return -EINVAL;
	}
	if (attrs[FERRY_DIRTY_A_START]) {
		start = nla_get_u64(attrs[FERRY_DIRTY_A_START]);
		if (start & ~PAGE_MASK) {
			NL_SET_ERR_MSG_ATTR(extack, attrs[FERRY_DIRTY_A_START],
					    "start address must be page aligned");
			return -EINVAL;
		}
		if (start >= TASK_SIZE_MAX) {
			NL_SET_ERR_MSG_ATTR(extack, attrs[FERRY_DIRTY_A_START],
					    "start address is beyond the user address space");
			return -EINVAL;
		}
	}
	if (attrs[FERRY_DIRTY_A_END]) {
		end = nla_get_u64(attrs[FERRY_DIRTY_A_END]);
		if (end & ~PAGE_MASK) {
			NL_SET_ERR_MSG_ATTR(extack, attrs[FERRY_DIRTY_A_END],
					    "end address must be page aligned");
			return -EINVAL;
		}
		if (end > TASK_SIZE_MAX) {
			NL_SET_ERR_MSG_ATTR(extack, attrs[FERRY_DIRTY_A_END],
					    "end address is beyond the user address space");
			return -EINVAL;
		}
		if (start >= end) {
			NL_SET_ERR_MSG_ATTR(extack, attrs[FERRY_DIRTY_A_END],
					    "end address must be above start address");
			return -EINVAL;
		}
	}

	pid = find_get_pid(nla_get_u32(attrs[FERRY_DIRTY_A_PID]));
	task = pid ? get_pid_task(pid, PIDTYPE_PID) : NULL;
	put_pid(pid);
	if (!task) {
		NL_SET_ERR_MSG_ATTR(extack, attrs[FERRY_DIRTY_A_PID], "no such process");
		return -ESRCH;
	}
	mm = ferry_task_mm(task);
	put_task_struct(task);
	if (!mm) {
		NL_SET_ERR_MSG_ATTR(extack, attrs[FERRY_DIRTY_A_PID],
				    "process has no user memory (kernel thread or exiting)");
		return -ESRCH;
	}
	mmgrab(mm);
	mmput(mm);
	st->mm = mm;
	st->addr = start;
	st->end = end;
	if (attrs[FERRY_DIRTY_A_FLAGS])
		st->flags = nla_get_u32(attrs[FERRY_DIRTY_A_FLAGS]);
	return 0;
}

int ferry_dirty_start(struct netlink_callback *cb)
{
	struct netlink_ext_ack *extack;
	struct ferry_dirty_state *st;
	int ret;

	/* The extent buffer needs no zeroing; the rest does. */
	st = kvmalloc(sizeof(*st), GFP_KERNEL_ACCOUNT);
	if (!st)
		return -ENOMEM;
	memset(st, 0, offsetof(struct ferry_dirty_state, ext));
	/*
	 * Before 6.2 netlink does not pass the extended ack to a dump's
	 * .start; it does pass one to .dumpit. Then keep the error and its
	 * message and fail the first dumpit call with them.
	 */
	extack = cb->extack ? cb->extack : &st->setup_extack;
	ret = ferry_check_perm(cb->skb, extack, false);
	if (!ret)
		ret = ferry_dirty_setup(cb, st, extack);
	if (ret && cb->extack) {
		kvfree(st);
		return ret;
	}
	st->setup_err = ret;
	cb->args[0] = (long)st;
	return 0;
}

int ferry_dirty_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct ferry_dirty_state *st = ferry_dirty_state(cb);
	int ret = 0;
	void *hdr;

	if (!st)
		return -EINVAL;
	if (st->setup_err) {
		if (cb->extack) {
			cb->extack->_msg = st->setup_extack._msg;
			cb->extack->bad_attr = st->setup_extack.bad_attr;
			cb->extack->miss_type = st->setup_extack.miss_type;
			cb->extack->miss_nest = st->setup_extack.miss_nest;
		}
		return st->setup_err;
	}
	if (st->finished)
		return 0;
	hdr = ferry_dump_msg_start(skb, cb);
	if (!hdr)
		return -EMSGSIZE;
	for (;;) {
		if (ferry_dirty_drain(skb, st))
			break;		/* message full: more next call */
		if (st->walk_done) {
			if (!ferry_put_stats(skb, st))
				st->finished = true;
			break;
		}
		ret = ferry_dirty_walk(st, cb->extack);
		if (ret)
			break;
		cond_resched();
	}
	if (ret) {
		genlmsg_cancel(skb, hdr);
		return ret;
	}
	genlmsg_end(skb, hdr);
	return skb->len;
}

int ferry_dirty_done(struct netlink_callback *cb)
{
	struct ferry_dirty_state *st = ferry_dirty_state(cb);

	if (st) {
		if (st->mm)
			mmdrop(st->mm);
		kvfree(st);
		cb->args[0] = 0;
	}
	return 0;
}

u64 ferry_dirty_features(void)
{
	return FERRY_FEATURE_DIRTY_SCAN | FERRY_FEATURE_DIRTY_CLEAR | FERRY_FEATURE_DIRTY_UNTRACKED;
}
