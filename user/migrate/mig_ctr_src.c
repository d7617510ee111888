// SPDX-License-Identifier: GPL-2.0
/*
 * `ferry migrate --container` on the source (mig_src.h): what differs from
 * a process tree. The pre-copy is the same (mig_precopy.c, pages named by
 * the container's PID namespace); the final dump is the engine's
 * checkpoint on top of ferry's parent images, of a container whose cgroup
 * ferry froze first, so that it stays frozen, neither running nor gone,
 * until the destination says whether it runs there.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include "ctr.h"
#include "ctr_conntrack.h"
#include "ctr_runc.h"
#include "mig.h"
#include "mig_src.h"
#include "preflight.h"
#include "util.h"

#define CTR_FREEZE_MS	30000

int src_ctr_announce(struct mig *m)
{
	struct wire_msg msg;
	bool runc = ctr_is_runc(&m->ctr->w);
	char err[512];
	int ret;

	/* runc: the marker that shows the destination shares the bundle,
	 * there only while it looks (ctr_runc.h) */
	ret = runc ? ctr_runc_share_mark(&m->ctr->w, true, err, sizeof(err)) : 0;
	if (ret)
		return src_seterr(m, ret, "container %s: its bundle: %s", m->ctr->w.name, err);
	ret = wire_send_ctr(&m->c, &m->ctr->w);
	/* its Podman answers three questions, each within its own bound: on
	 * a loaded host (TCG guests) they took more than the usual reply
	 * time; nothing is frozen yet, so waiting costs nothing but time */
	wire_set_timeout(&m->c, CTR_CHECK_PODMAN_CALLS * CTR_PODMAN_TIMEOUT_MS + MIG_REPLY_TIMEOUT_MS);
	if (!ret)
		ret = wire_expect(&m->c, WIRE_CONTAINER_ACK, &msg);
	wire_set_timeout(&m->c, MIG_REPLY_TIMEOUT_MS);
	if (runc) {
		if (ctr_runc_share_mark(&m->ctr->w, false, err, sizeof(err)))
			ferry_warn("container %s: %s (remove it)", m->ctr->w.name, err);
	}
	if (ret == -EREMOTEIO) {
		src_seterr(m, 0, "the destination cannot take container %s: %s", m->ctr->w.name,
			   m->c.err);
		return 1;
	}
	if (ret)
		return src_seterr(m, ret, "container check: %s", m->c.err);
	if (runc)
		src_progress("%s can take runc container %s (bundle %s, shared)", m->o->to,
			     m->ctr->w.name, m->ctr->w.bundle);
	else
		src_progress("%s can take container %s (image %.12s)", m->o->to, m->ctr->w.name,
			     m->ctr->w.image);
	for (uint32_t i = 0; i < m->ctr->w.nvols; i++) {
		const struct wire_ctr_vol *v = &m->ctr->w.vols[i];

		if (v->kind == WIRE_CTR_VOL_NAMED && src_ctr_vols_precopied(m))
			src_progress("volume %s at %s: pre-copied while the container runs, what "
				     "changes sent again while it is frozen", v->src, v->dest);
		else if (v->kind == WIRE_CTR_VOL_NAMED)
			src_progress("volume %s at %s: copied in Podman's checkpoint archive, while "
				     "the container is frozen (%s is an older ferry)", v->src,
				     v->dest, m->o->to);
		else
			src_progress("%s at %s: left in place (%s has it)", v->src, v->dest,
				     m->o->to);
	}
	return 0;
}

int src_ctr_tcp_check(struct mig *m)
{
	char why[512];
	int n = ctr_tcp_connections(m->o->pid), ret;

	if (n < 0)
		return src_seterr(m, n, "the connections of container %s: %s", m->ctr->w.name,
				  strerror(-n));
	/* again each time: its interfaces may have changed */
	ret = ctr_net_find(m->ctr, why, sizeof(why));
	if (ret && n > 0)
		return src_seterr(m, ret, "container %s has %d TCP connection%s, but ferry cannot "
				  "hold its network still while it moves (%s): they would be lost; "
				  "it keeps running here", m->ctr->w.name, n, n == 1 ? "" : "s", why);
	if (ret)
		ferry_warn("container %s has no TCP connections; its network cannot be locked "
			   "while it moves (%s)", m->ctr->w.name, why);
	return 0;
}

/* Its IPv4 connections' entries: 0, -ENOENT when it has none, or -errno
 * (why in err) */
static int read_conntrack4(struct mig *m, char *err, size_t errlen)
{
	char a[INET_ADDRSTRLEN];
	uint32_t addr;
	int ret = ctr_ct_local_addr(m->o->pid, &addr);

	if (ret == -ENOENT)
		return ret;
	if (ret)
		return ferry_errf(err, errlen, ret, "its address: %s", strerror(-ret));
	ret = ctr_ct_dump(addr, &m->ct, &m->nct, &m->ct_skipped, err, errlen);
	if (ret)
		return ret;
	m->ct_addr = addr;
	inet_ntop(AF_INET, &addr, a, sizeof(a));
	src_progress("container %s (%s): %zu conntrack entr%s of its connections to carry",
		     m->ctr->w.name, a, m->nct, m->nct == 1 ? "y" : "ies");
	if (m->ct_skipped)
		ferry_warn("container %s: %zu of its connections are NATed by this host (a "
			   "published port, or masqueraded to the outside): bound to this host's "
			   "address, they cannot survive the move", m->ctr->w.name, m->ct_skipped);
	return 0;
}

/* The same for its IPv6 connections */
static int read_conntrack6(struct mig *m, char *err, size_t errlen)
{
	char a[INET6_ADDRSTRLEN];
	uint8_t addr[WIRE_CT6_ADDR_LEN];
	int ret = ctr_ct6_local_addr(m->o->pid, addr);

	if (ret == -ENOENT)
		return ret;
	if (ret)
		return ferry_errf(err, errlen, ret, "its IPv6 address: %s", strerror(-ret));
	ret = ctr_ct6_dump(addr, &m->ct6, &m->nct6, &m->ct6_skipped, err, errlen);
	if (ret)
		return ret;
	memcpy(m->ct6_addr, addr, sizeof(addr));
	inet_ntop(AF_INET6, addr, a, sizeof(a));
	src_progress("container %s (%s): %zu IPv6 conntrack entr%s of its connections to carry",
		     m->ctr->w.name, a, m->nct6, m->nct6 == 1 ? "y" : "ies");
	if (m->ct6_skipped)
		ferry_warn("container %s: %zu of its IPv6 connections are NATed by this host (a "
			   "published port, or masqueraded to the outside): bound to this host's "
			   "address, they cannot survive the move", m->ctr->w.name,
			   m->ct6_skipped);
	return 0;
}

/*
 * This host's conntrack entries of the container's connections, IPv4 and
 * IPv6, read while its network is locked (ctr_conntrack.h). Only a
 * migration needs them; a failure only warns: without them, only remote
 * clients whose packets the destination host would NAT notice the move. A
 * family without an established connection has nothing to carry.
 */
static void read_conntrack(struct mig *m)
{
	char err4[512], err6[512];
	int ret4, ret6;

	if (m->store || !m->nconns)
		return;
	ret4 = read_conntrack4(m, err4, sizeof(err4));
	ret6 = read_conntrack6(m, err6, sizeof(err6));
	if (ret4 == -ENOENT && ret6 == -ENOENT)
		ferry_warn("container %s: no established IPv4 or IPv6 connection of its found; "
			   "its connections' conntrack entries are not carried", m->ctr->w.name);
	if (ret4 && ret4 != -ENOENT)
		ferry_warn("container %s: %s; its connections' conntrack entries are not carried",
			   m->ctr->w.name, err4);
	if (ret6 && ret6 != -ENOENT)
		ferry_warn("container %s: %s; its IPv6 connections' conntrack entries are not "
			   "carried", m->ctr->w.name, err6);
}

int src_ctr_send_conntrack(struct mig *m)
{
	int ret;

	if (m->nct && !(m->peer_caps & WIRE_CAP_CONNTRACK)) {
		ferry_warn("%s takes no conntrack entries (an older ferry): remote clients whose "
			   "packets it NATs may lose their connections", m->o->to);
	} else if (m->nct) {
		ret = wire_send_ct(&m->c, m->ct_addr, m->ct, (uint32_t)m->nct);
		if (ret)
			return src_seterr(m, ret, "sending the conntrack entries: %s", m->c.err);
	}
	if (m->nct6 && !(m->peer_caps & WIRE_CAP_CONNTRACK6)) {
		ferry_warn("%s takes no IPv6 conntrack entries (an older ferry): remote clients of "
			   "the container's IPv6 address whose packets it NATs may lose their "
			   "connections", m->o->to);
	} else if (m->nct6) {
		ret = wire_send_ct6(&m->c, m->ct6_addr, m->ct6, (uint32_t)m->nct6);
		if (ret)
			return src_seterr(m, ret, "sending the IPv6 conntrack entries: %s",
					  m->c.err);
	}
	return 0;
}

int src_ctr_final(struct mig *m)
{
	char stats[4400], arch[4300], work[4300];
	struct criu_img_stats is;
	int ret;

	bool runc = ctr_is_runc(&m->ctr->w);

	if (runc) {
		/* as a tree's: final/ on top of ../parent */
		snprintf(m->parent_dir, sizeof(m->parent_dir), "%s/parent", m->dir);
	} else {
		snprintf(m->parent_dir, sizeof(m->parent_dir), "%s/pre-checkpoint",
			 m->ctr->static_dir);
		/* a checkpoint left from before must not become a parent */
		ctr_forget_checkpoint(m->ctr);
	}
	ret = src_prepare_final(m, "checkpoint.log", &is);
	if (ret)
		return ret;
	snprintf(arch, sizeof(arch), "%s/%s", m->final_dir, CTR_ARCHIVE_NAME);
	ret = src_ctr_tcp_check(m);
	if (ret)
		return ret;
	src_close_trackers(m);
	src_progress("freezing container %s and checkpointing it with %s (parent: %llu pages "
		     "in %llu entries)", m->ctr->w.name, m->ctr->w.engine,
		     (unsigned long long)is.pages, (unsigned long long)is.entries);
	m->t_freeze = ferry_now_ns();
	/* the lock first: nothing reaches its sockets after the dump, even
	 * once CRIU has unlocked the namespace again (ctr_netlock.c) */
	m->ctr_locked = true;	/* even half-locked: resume unlocks it */
	ret = ctr_net_lock(m->ctr, true, m->err, sizeof(m->err));
	if (ret)
		return ret;
	ret = ctr_freeze(m->ctr, true, CTR_FREEZE_MS, m->err, sizeof(m->err));
	m->ctr_frozen = true;	/* even half-frozen: resume thaws it */
	if (ret)
		return ret;
	/* the tree as the checkpoint takes it (for the report) */
	ret = pf_tree_pids(m->o->pid, &m->frozen_pids, &m->nfrozen);
	if (ret)
		return src_seterr(m, ret, "reading the frozen tree of %d: %s", m->o->pid,
				  strerror(-ret));
	ret = ctr_tcp_connections(m->o->pid);
	m->nconns = ret > 0 ? (size_t)ret : 0;
	if (m->nconns)
		src_progress("container %s: %zu TCP connection%s held (%d interface%s locked)",
			     m->ctr->w.name, m->nconns, m->nconns == 1 ? "" : "s", m->ctr->nlinks,
			     m->ctr->nlinks == 1 ? "" : "s");
	read_conntrack(m);
	m->t_criu = ferry_now_ns();
	if (runc) {
		snprintf(work, sizeof(work), "%s/" CTR_RUNC_WORK_NAME, m->dir);
		ret = ctr_runc_checkpoint(m->ctr, m->final_dir, "../parent", work, m->err,
					  sizeof(m->err));
	} else {
		ret = ctr_checkpoint(m->ctr, arch, m->log, m->err, sizeof(m->err));
	}
	m->t_dumped = ferry_now_ns();
	if (ret)
		return ret;
	/* CRIU writes it where it works: runc's --work-path, Podman's dir */
	snprintf(stats, sizeof(stats), "%s/stats-dump", runc ? work : m->ctr->static_dir);
	m->have_ds = !criu_img_read_dump_stats(stats, &m->ds);
	if (m->have_ds)
		src_progress("checkpointed in %llu ms: %llu pages written, %llu skipped (in parent)",
			     (unsigned long long)((m->t_dumped - m->t_criu) / 1000000),
			     (unsigned long long)m->ds.pages_written,
			     (unsigned long long)m->ds.pages_skipped_parent);
	else
		src_progress("checkpointed in %llu ms",
			     (unsigned long long)((m->t_dumped - m->t_criu) / 1000000));
	if (ferry_interrupted)
		return src_interrupted(m);
	return 0;
}

/* the command that unlocks its network by hand, into buf */
static void unlock_cmd(const struct ctr_info *ci, char *buf, size_t size)
{
	size_t l = 0;

	buf[0] = 0;
	for (int i = 0; i < ci->nlinks && l < size; i++)
		l += (size_t)snprintf(buf + l, size - l, "%sip link set %s up", i ? "; " : "",
				      ci->links[i].name);
}

void src_ctr_resume(struct mig *m)
{
	char err[512], cmd[512];

	if (m->ctr_locked) {
		/* before the thaw: its first packets go out */
		if (ctr_net_lock(m->ctr, false, err, sizeof(err))) {
			unlock_cmd(m->ctr, cmd, sizeof(cmd));
			ferry_err("container %s: its network stays locked: %s; unlock it with: %s",
				  m->ctr->w.name, err, cmd);
		}
		m->ctr_locked = false;
	}
	if (!m->ctr_frozen)
		return;
	if (!ctr_is_runc(&m->ctr->w))
		ctr_forget_checkpoint(m->ctr);
	if (ctr_freeze(m->ctr, false, CTR_FREEZE_MS, err, sizeof(err))) {
		ferry_err("container %s stays frozen: %s; thaw it with: echo 0 > %s/cgroup.freeze",
			  m->ctr->w.name, err, m->ctr->cgroup);
		return;
	}
	m->ctr_frozen = false;
	src_progress("container %s thawed: it runs here", m->ctr->w.name);
}

void src_ctr_remove(struct mig *m)
{
	bool runc = ctr_is_runc(&m->ctr->w), keep = m->o->keep_source;
	const char *id = m->ctr->w.id, *root = m->ctr->runc_root;
	char log[4300];
	int ret;

	snprintf(log, sizeof(log), "%s/remove.log", m->dir);
	if (runc)
		ret = keep ? ctr_runc_kill(root, id, log) : ctr_runc_delete(root, id, log);
	else
		ret = keep ? ctr_stop(id, log) : ctr_remove(id, log);
	if (ret) {
		m->keep_dir = true;
		ferry_err("container %s runs on %s, but `%s%s %s %s` failed here (log %s): it "
			  "stays frozen here; remove it", m->ctr->w.name, m->o->to,
			  runc ? "runc --root " : "podman", runc ? root : "",
			  runc ? (keep ? "kill" : "delete --force") : (keep ? "stop" : "rm -f"), id,
			  log);
	}
	m->ctr_frozen = m->ctr_locked = false;	/* its links went with it */
}

void src_ctr_leave_frozen(struct mig *m)
{
	char cmd[512];

	unlock_cmd(m->ctr, cmd, sizeof(cmd));
	m->ctr_frozen = m->ctr_locked = false;	/* not ours to thaw */
	m->keep_dir = true;
	ferry_err("the outcome of migrating container %s to %s is unknown: it stays frozen here, "
		  "never thawed while it may run there", m->ctr->w.name, m->o->to);
	if (ctr_is_runc(&m->ctr->w))
		fprintf(stderr,
			"To settle it, look on %s (runc --root ROOT state %s, ROOT its receiver's "
			"--runc-root), then:\n"
			"  runc --root %s delete --force %s     it runs there: end this copy\n"
			"  %s%secho 0 > %s/cgroup.freeze   it does not: let this one run again\n",
			m->o->to, m->ctr->w.id, m->ctr->runc_root, m->ctr->w.id, cmd,
			cmd[0] ? "; " : "", m->ctr->cgroup);
	else
		fprintf(stderr,
			"To settle it, look on %s (podman ps --filter id=%s), then:\n"
			"  podman rm -f %s                      it runs there: end this copy\n"
			"  %s%secho 0 > %s/cgroup.freeze   it does not: let this one run again\n",
			m->o->to, m->ctr->w.id, m->ctr->w.id, cmd, cmd[0] ? "; " : "",
			m->ctr->cgroup);
}
