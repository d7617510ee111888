// SPDX-License-Identifier: GPL-2.0
/*
 * The source's pre-copy (mig_src.h): the tree's processes tracked from the
 * moment the migration begins, round 0 (every present page), then rounds
 * of the pages written since the previous one, until the policy
 * (mig_policy.h) says the rest fits the final dump.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "ctr.h"
#include "criu_img.h"
#include "imgchain.h"
#include "mig.h"
#include "mig_guard.h"
#include "mig_src.h"
#include "pagestore.h"
#include "preflight.h"
#include "util.h"

/*
 * Process i was tracked through the base version and still holds its
 * claim there: take the claim over, and copy only its soft-dirty pages in
 * round 0 (see struct src_base).
 */
static bool base_claim(struct mig *m, size_t i)
{
	struct src_base *b = m->base;

	for (size_t k = 0; b && b->version && k < b->n; k++) {
		struct src_base_proc *p = &b->p[k];

		if (p->pid != m->tr[i].pid || p->claim.fd < 0)
			continue;
		if (p->start != m->tr[i].start || p->img_pid != m->tr[i].img_pid)
			return false;	/* another process under the same PID */
		m->tr[i].claim = p->claim;
		p->claim.fd = -1;
		m->tr[i].delta = true;
		return true;
	}
	return false;
}

void src_base_drop(struct src_base *b)
{
	for (size_t k = 0; k < b->n; k++)
		dirty_release(&b->p[k].claim);
	free(b->p);
	memset(b, 0, sizeof(*b));
}

int src_base_take(struct src_base *b, struct mig *m, uint32_t version, const char *vdir,
		  unsigned int depth)
{
	size_t n = 0;

	src_base_drop(b);
	b->p = calloc(m->npids ? m->npids : 1, sizeof(*b->p));
	if (!b->p)
		return -ENOMEM;
	for (size_t i = 0; m->tr && i < m->npids; i++) {
		struct tracked *t = &m->tr[i];

		/* one that exited, or changed, is copied whole next time */
		if (t->gone || t->claim.fd < 0 || mig_pid_starttime(t->pid) != t->start)
			continue;
		b->p[n] = (struct src_base_proc){ t->pid, t->img_pid, t->start, t->claim };
		t->claim.fd = -1;
		n++;
	}
	b->n = n;
	b->version = version;
	b->depth = depth;
	snprintf(b->final_dir, sizeof(b->final_dir), "%s/final", vdir);
	snprintf(b->link, sizeof(b->link), "../../v-%u/final", version);
	return 0;
}

int src_open_trackers(struct mig *m)
{
	long tck = sysconf(_SC_CLK_TCK);
	uint64_t began;
	char msg[256];
	int ret;

	/* before the tree is read: whatever forks after this instant is
	 * dumped whole at the end (see criu_img_write_parent()) */
	ret = criu_img_uptime_us(&m->track_uptime_us);
	if (ret)
		return src_seterr(m, ret, "reading /proc/uptime: %s", strerror(-ret));
	ret = pf_tree_pids(m->o->pid, &m->pids, &m->npids);
	if (ret)
		return src_seterr(m, ret, "process %d: %s", m->o->pid, strerror(-ret));
	m->tr = calloc(m->npids, sizeof(*m->tr));
	if (!m->tr)
		return -ENOMEM;
	for (size_t i = 0; i < m->npids; i++)
		m->tr[i].claim.fd = -1;
	/* in clock ticks, as /proc/PID/stat's start times */
	began = m->track_uptime_us / (uint64_t)(1000000 / (tck > 0 ? tck : 100));

	for (size_t i = 0; i < m->npids; i++) {
		m->tr[i].pid = m->pids[i];
		m->tr[i].img_pid = m->pids[i];
		if (m->ctr) {
			pid_t v = ctr_ns_pid(m->pids[i]);

			if (v < 0 && i) {	/* exited since the tree was read */
				m->tr[i].gone = true;
				continue;
			}
			if (v < 0)
				return src_seterr(m, v, "the namespace PID of %d: %s", m->pids[i],
						  strerror(-v));
			m->tr[i].img_pid = v;
		}
		/* forked after pre-flight (a shell's short-lived child): the
		 * destination takes no pages for a PID it was not told of, so
		 * CRIU dumps this one whole */
		if (i && m->announced &&
		    !ferry_u32_in(m->announced, m->nannounced, (uint32_t)m->tr[i].img_pid)) {
			m->tr[i].gone = true;
			continue;
		}
		/* read before the tracker opens: a PID taken by another
		 * process after this is seen at the next round (tracked_same);
		 * one taken since the tree was read started after `began` */
		m->tr[i].start = mig_pid_starttime(m->pids[i]);
		if (i && (!m->tr[i].start || m->tr[i].start >= began)) {
			m->tr[i].gone = true;	/* CRIU dumps such a one whole */
			continue;
		}
		ret = base_claim(m, i) ? 0 :
		      dirty_claim(m->pids[i], m->store ? "checkpoint" : "migrate", 5000,
				  &m->tr[i].claim, m->err, sizeof(m->err));
		if (ret == -ESRCH && i) {
			m->tr[i].gone = true;
			continue;
		}
		if (ret)
			return ret;
		ret = dirty_track_open(&m->tr[i].t, m->pids[i], m->o->backend, true,
				       DIRTY_OPT_REARM_VMAS | DIRTY_OPT_FALLBACK, msg, sizeof(msg));
		if (ret == -ESRCH && i) {	/* a child exited since the tree was read */
			m->tr[i].gone = true;
			continue;
		}
		if (ret)
			return src_seterr(m, ret, "dirty tracking of %d: %s", m->pids[i], msg);
	}
	m->backend_name = dirty_backend_name(dirty_track_backend(m->tr[0].t));
	for (size_t i = 0; i < m->npids; i++) {
		struct mig_vma v;

		ret = mig_find_hugetlb(m->pids[i], &v);
		if (ret < 0 && !(ret == -ESRCH && i))
			return src_seterr(m, ret, "reading /proc/%d/smaps: %s", m->pids[i], strerror(-ret));
		if (ret > 0)
			return src_seterr(m, -ENOTSUP, "process %d has hugetlb memory (%llx-%llx): CRIU "
				      "cannot dump it on top of pre-copied images, so it cannot "
				      "move live (a plain criu dump/restore can move it)", m->pids[i],
				      (unsigned long long)v.start, (unsigned long long)v.end);
	}
	return 0;
}

void src_release_claims(struct mig *m)
{
	for (size_t i = 0; m->tr && i < m->npids; i++)
		dirty_release(&m->tr[i].claim);
}

void src_close_trackers(struct mig *m)
{
	for (size_t i = 0; m->tr && i < m->npids; i++) {
		dirty_track_close(m->tr[i].t);
		m->tr[i].t = NULL;
	}
}

/*
 * Send ROUND_END and wait for the destination's acknowledgement; into a
 * local store, the round becomes one more image set of its chain (the
 * last one only if no round wrote any: the final dump needs a parent).
 */
static int end_round(struct mig *m, struct mig_round_stat *rs, uint32_t round, uint32_t flags)
{
	struct wire_round r = {
		.round = round, .pages = rs->sent_pages, .raw_bytes = rs->raw_bytes,
		.wire_bytes = rs->wire_bytes, .dirty_pages = rs->dirty_pages, .flags = flags,
	};
	struct wire_msg msg;
	int ret;

	if (m->store) {
		bool last = flags & WIRE_ROUND_F_LAST;

		ret = imgchain_end_round(m->store, last && !imgchain_top(m->store));
		if (ret)
			snprintf(m->c.err, sizeof(m->c.err), "%s", imgchain_err(m->store));
		return ret;
	}
	ret = wire_send_round(&m->c, WIRE_ROUND_END, &r);
	if (ret || (flags & WIRE_ROUND_F_LAST))
		return ret;
	ret = wire_expect(&m->c, WIRE_ROUND_ACK, &msg);
	if (!ret)
		ret = wire_parse_round(&m->c, &msg, &r);
	return ret;
}

/*
 * Whether tracked process i is still the one whose tracking began. Its PID
 * may have been taken by another process since it exited: a child the
 * tree forked under it (CRIU dumps that one whole: see
 * criu_img_write_parent()), or one outside the tree, whose memory must
 * never be read and sent. A process that changed is not read again.
 */
static bool tracked_same(struct mig *m, size_t i)
{
	uint64_t st;

	if (m->tr[i].gone)
		return false;
	st = mig_pid_starttime(m->pids[i]);
	if (st == m->tr[i].start)
		return true;
	if (st && i)
		src_progress("process %d exited and its PID now belongs to another process: "
			 "not read again", m->pids[i]);
	m->tr[i].gone = true;
	return false;
}

static int copy_dirty(struct mig *m, size_t i, uint32_t round, struct dirty_extents *dx,
		      struct mig_copy_stats *cs, struct mig_round_stat *rs);

/*
 * What the base version holds of delta process i: the pages its final
 * dump lists become those the chain already has (r0's PE_PARENT) and those
 * CRIU may take from the parent. -ENOENT: none there (copied whole).
 */
static int base_seed(struct mig *m, size_t i)
{
	struct criu_pme *e = NULL;
	uint32_t pages_id, ip = (uint32_t)m->tr[i].img_pid;
	char path[4300];
	size_t n = 0;
	int ret;

	snprintf(path, sizeof(path), "%s/pagemap-%u.img", m->base->final_dir, ip);
	ret = criu_img_read_pagemap(path, &pages_id, &e, &n);
	if (ret)
		return ret;
	if (!m->on_base) {
		ret = imgchain_set_base(m->store, m->base->link);
		if (ret) {
			free(e);
			return src_seterr(m, ret, "%s", imgchain_err(m->store));
		}
		m->on_base = true;
	}
	ret = imgchain_base_cover(m->store, ip, e, n);
	if (ret)
		src_seterr(m, ret, "%s: %s", path, imgchain_err(m->store));
	for (size_t k = 0; !ret && k < n; k++)
		ret = e[k].nr_pages > UINT32_MAX ? -EINVAL :
		      pagestore_put(m->sent, ip, e[k].vaddr, (uint32_t)e[k].nr_pages, NULL);
	free(e);
	if (ret && !m->err[0])
		src_seterr(m, ret, "%s: %s", path, strerror(-ret));
	return ret;
}

static int round_zero(struct mig *m, struct mig_round_stat *rs)
{
	struct mig_copy_stats cs = { 0 };
	struct dirty_extents dx;
	uint64_t t = ferry_now_ns();
	int ret = 0;

	/* the base's pages first: the chain takes them before any round's */
	for (size_t i = 0; !ret && m->base && i < m->npids; i++) {
		if (!m->tr[i].delta && !m->tr[i].gone && !i)
			src_progress("process %d was not tracked through version %u: copied whole",
				     m->pids[i], m->base->version);
		if (!m->tr[i].delta || m->tr[i].gone)
			continue;
		ret = base_seed(m, i);
		if (ret == -ENOENT) {
			src_progress("process %d (%d in its namespace): version %u's final dump has "
				     "no pagemap of it: copied whole", m->pids[i], m->tr[i].img_pid,
				     m->base->version);
			m->tr[i].delta = false;
			ret = 0;
		}
	}
	if (ret)
		return ret;
	dirty_extents_init(&dx);
	for (size_t i = 0; !ret && i < m->npids; i++) {
		struct mig_exts x = { 0 };
		pid_t pid = m->pids[i];

		if (!tracked_same(m, i)) {
			if (!i)
				ret = src_seterr(m, -ESRCH, "process %d exited", pid);
			continue;
		}
		if (m->tr[i].delta) {
			ret = copy_dirty(m, i, 0, &dx, &cs, rs);
			continue;
		}
		/* arm first: a write after this is caught by the next round */
		ret = dirty_clear_refs(pid);
		if (!ret)
			ret = mig_present_pages(pid, &x);
		if (!ret) {
			rs->dirty_pages += mig_exts_pages(&x);
			ret = mig_send_pages(&m->c, m->store, pid, m->tr[i].img_pid, &x, m->sent, &cs);
		}
		mig_exts_free(&x);
		if (ret == -ESRCH && i) {	/* a child exited: fine */
			m->tr[i].gone = true;
			ret = 0;
		}
		if (ret)
			ret = src_seterr(m, ret, "round 0, pid %d: %s", pid,
					 ret == -EPIPE || ret == -ECONNRESET || ret == -ETIMEDOUT ?
					 m->c.err : strerror(-ret));
	}
	dirty_extents_free(&dx);
	if (ret)
		return ret;
	rs->sent_pages = cs.pages;
	rs->raw_bytes = cs.raw_bytes;
	rs->wire_bytes = cs.wire_bytes;
	ret = end_round(m, rs, 0, 0);
	rs->ns = ferry_now_ns() - t;
	if (ret)
		return src_seterr(m, ret, "round 0: %s", m->c.err);
	return 0;
}

/*
 * The pages tracked process i wrote since its last clear (re-armed now),
 * into the round. A child that exited is marked gone (0).
 */
static int copy_dirty(struct mig *m, size_t i, uint32_t round, struct dirty_extents *dx,
		      struct mig_copy_stats *cs, struct mig_round_stat *rs)
{
	struct mig_exts x = { 0 }, clipped = { 0 };
	struct dirty_stats st = { 0 };
	struct mig_vma *v = NULL;
	size_t nv = 0;
	int ret;

	ret = dirty_track_scan(m->tr[i].t, 0, DIRTY_ADDR_MAX, true, dx, &st);
	if (ret) {
		if (ret == -ESRCH && i) {
			m->tr[i].gone = true;
			return 0;
		}
		return src_seterr(m, ret, "round %u, pid %d: %s", round, m->pids[i],
				  dirty_track_error(m->tr[i].t));
	}
	if (dirty_track_note(m->tr[i].t)[0] && !m->tr[i].noted) {
		src_progress("%s", dirty_track_note(m->tr[i].t));
		m->tr[i].noted = true;
	}
	for (size_t k = 0; !ret && k < dx->n; k++) {
		uint32_t f = dx->v[k].flags;

		/* not-present holes and shared memory are CRIU's, and
		 * so is what soft-dirty cannot track (copied frozen) */
		if (f & (FERRY_EXTENT_F_NOT_PRESENT | FERRY_EXTENT_F_SHARED |
			 FERRY_EXTENT_F_UNTRACKED))
			continue;
		ret = mig_exts_add(&x, dx->v[k].start, dx->v[k].pages);
	}
	/* only the module flags untracked memory itself */
	if (!ret && dirty_track_backend(m->tr[i].t) == DIRTY_BACKEND_MODULE)
		ret = mig_copy_vmas(m->pids[i], &v, &nv);
	else if (!ret)
		ret = mig_copy_vmas_tracked(m->pids[i], &v, &nv);
	if (!ret)
		ret = mig_exts_clip(&x, v, nv, &clipped);
	if (!ret) {
		rs->dirty_pages += mig_exts_pages(&clipped);
		ret = mig_send_pages(&m->c, m->store, m->pids[i], m->tr[i].img_pid, &clipped, m->sent,
				     cs);
	}
	if (ret == -ESRCH && i) {
		m->tr[i].gone = true;
		ret = 0;
	} else if (ret) {
		src_seterr(m, ret, "round %u, pid %d: %s", round, m->pids[i],
			   ret == -EPIPE || ret == -ECONNRESET || ret == -ETIMEDOUT ? m->c.err : strerror(-ret));
	}
	free(v);
	mig_exts_free(&x);
	mig_exts_free(&clipped);
	return ret;
}

static int dirty_round(struct mig *m, uint32_t round, struct mig_round_stat *rs)
{
	struct mig_copy_stats cs = { 0 };
	struct dirty_extents dx;
	uint64_t t = ferry_now_ns();
	int ret = 0;

	dirty_extents_init(&dx);
	for (size_t i = 0; !ret && i < m->npids; i++) {
		if (!tracked_same(m, i)) {
			if (!i)
				ret = src_seterr(m, -ESRCH, "process %d exited", m->pids[i]);
			continue;
		}
		ret = copy_dirty(m, i, round, &dx, &cs, rs);
	}
	dirty_extents_free(&dx);
	if (ret)
		return ret;
	rs->sent_pages = cs.pages;
	rs->raw_bytes = cs.raw_bytes;
	rs->wire_bytes = cs.wire_bytes;
	ret = end_round(m, rs, round, 0);
	rs->ns = ferry_now_ns() - t;
	if (ret)
		return src_seterr(m, ret, "round %u: %s", round, m->c.err);
	return 0;
}

static void print_round(const struct mig *m, uint32_t i, const struct mig_round_stat *r,
			uint64_t est)
{
	char tail[64] = "";

	if (i)
		snprintf(tail, sizeof(tail), ", final copy estimated at %llu ms",
			 (unsigned long long)est);
	if (m->store) {
		src_progress("round %u: %llu pages dirty, %llu stored (%.1f MiB), %llu ms%s", i,
			     (unsigned long long)r->dirty_pages, (unsigned long long)r->sent_pages,
			     r->raw_bytes / 1048576.0, (unsigned long long)(r->ns / 1000000), tail);
		return;
	}
	src_progress("round %u: %llu pages dirty, %llu sent, %.1f MiB -> %.1f MiB on the wire, %llu ms%s",
		 i, (unsigned long long)r->dirty_pages, (unsigned long long)r->sent_pages,
		 r->raw_bytes / 1048576.0, r->wire_bytes / 1048576.0,
		 (unsigned long long)(r->ns / 1000000), tail);
}

/* What the final dump may write on the destination: every resident page
 * of the tree now (soft-dirty marks a whole huge page for one write) and
 * its other images. */
static uint64_t final_need(const struct mig *m)
{
	uint64_t rss = 0;

	for (size_t i = 0; i < m->npids; i++)
		if (!m->tr[i].gone)
			rss += pf_rss(m->pids[i]);
	return rss + PF_BUDGET_SLACK;
}

int src_precopy(struct mig *m)
{
	uint64_t est = 0;
	int ret;

	ret = round_zero(m, &m->hist[0]);
	if (ret)
		return ret;
	m->nrounds = 1;
	print_round(m, 0, &m->hist[0], 0);
	for (;;) {
		struct mig_policy p = { m->o->max_downtime_ms, m->o->max_rounds, 90,
					m->budget, final_need(m) };

		m->why = mig_policy_decide(&p, m->hist, m->nrounds, &est);
		if (m->why != MIG_CONTINUE || m->nrounds >= MAX_ROUNDS_HIST)
			break;
		if (ferry_interrupted)
			return src_interrupted(m);
		ret = dirty_round(m, (uint32_t)m->nrounds, &m->hist[m->nrounds]);
		if (ret)
			return ret;
		m->nrounds++;
		mig_policy_decide(&p, m->hist, m->nrounds, &est);
		print_round(m, (uint32_t)m->nrounds - 1, &m->hist[m->nrounds - 1], est);
	}
	if (m->why == MIG_CONTINUE)
		m->why = MIG_STOP_MAX_ROUNDS;
	src_progress("pre-copy done after %zu round%s (%s)", m->nrounds, m->nrounds == 1 ? "" : "s",
		 mig_decision_name(m->why));
	/* tell the destination to build its parent images while we dump */
	struct mig_round_stat last = { 0 };
	return end_round(m, &last, (uint32_t)m->nrounds, WIRE_ROUND_F_LAST);
}
