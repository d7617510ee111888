// SPDX-License-Identifier: GPL-2.0
/*
 * Restoring a process tree here (recv_session.h): the service address it
 * brings (--move-addr), CRIU's restore (the waiting worker, or `criu
 * restore` with lazy pages), the guard that undoes it if this receiver
 * dies, and what the tree may have reached when post-copy gives it up.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include "ctr_runc.h"
#include "cmds.h"
#include "criu_img.h"
#include "json.h"
#include "mig.h"
#include "mig_net.h"
#include "mig_tcp.h"
#include "criu_lazy.h"
#include "criu_swrk.h"
#include "ctr.h"
#include "mig_guard.h"
#include "imgchain.h"
#include "lazy_server.h"
#include "preflight.h"
#include "recv.h"
#include "recv_session.h"
#include "recv_store.h"
#include "recv_ledger.h"
#include "recv_policy.h"
#include "recv_outcome.h"
#include "util.h"
#include "wire.h"
#include "wire_tls.h"

/* MOVE_ADDR: can this host take the address over? Answer with the
 * interface it will go on, or an ERROR. */
int recv_move_addr(struct session *s, const struct wire_msg *m)
{
	struct wire_move_addr wa, ack;
	char a[96];
	int ret;

	ret = wire_parse_move_addr(&s->c, m, &wa);
	if (ret)
		return rs_err(s, ret, "%s", s->c.err);
	memset(&s->addr, 0, sizeof(s->addr));
	s->addr.addr.s_addr = wa.addr;
	s->addr.prefix = wa.prefix;
	snprintf(s->addr.dev, sizeof(s->addr.dev), "%s", wa.dev);
	ret = recv_addr_allowed(s->o->allow_addr, s->o->nallow_addr, &s->addr, s->err,
				sizeof(s->err));
	if (!ret)
		ret = mig_addr_check_absent(&s->addr, s->err, sizeof(s->err));
	if (ret) {
		wire_send_error(&s->c, WIRE_ERROR, ret, "%s", s->err);
		return ret;
	}
	s->move = true;
	ack = wa;
	snprintf(ack.dev, sizeof(ack.dev), "%s", s->addr.dev);
	mig_addr_fmt(&s->addr, a, sizeof(a));
	rs_note("service address %s will move here", a);
	ret = wire_send_move_addr(&s->c, WIRE_MOVE_ADDR_ACK, &ack);
	return ret ? rs_err(s, ret, "%s", s->c.err) : 0;
}

/*
 * Before `criu restore`: lock the service address (nothing may answer a
 * peer with a RST before the sockets exist), add it, announce it. The
 * post-restore action script unlocks it (see mig_tcp.h).
 */
static int net_before_restore(struct session *s)
{
	char a[96];
	int ret;

	if (!s->move)
		return 0;
	ret = mig_addr_lock(&s->addr, s->dir, s->unlock_script, sizeof(s->unlock_script),
			    s->err, sizeof(s->err));
	if (ret)
		return ret;
	ret = mig_addr_add(&s->addr, s->err, sizeof(s->err));
	if (ret) {
		mig_addr_unlock(&s->addr, s->dir);
		return ret;
	}
	s->addr_added = true;
	ret = mig_addr_announce(&s->addr);
	mig_addr_fmt(&s->addr, a, sizeof(a));
	rs_note("service address %s added (locked until the sockets are restored)%s", a,
	        ret ? "; no gratuitous ARP on this link" : "");
	return 0;
}

/* After `criu restore`: on failure the address goes (the source takes it
 * back); on success make sure it is unlocked and count the connections. */
static void net_after_restore(struct session *s, bool ok)
{
	struct mig_tcp_conn *v = NULL;
	size_t n = 0;
	char err[512];

	if (s->move) {
		/* failed: the address goes before the lock does, else a peer's
		 * retransmission could meet the address without a socket */
		if (!ok && s->addr_added) {
			if (mig_addr_del(&s->addr, err, sizeof(err)))
				rs_note("%s", err);
			s->addr_added = false;
		}
		if (mig_addr_unlock(&s->addr, s->dir) > 0 && ok)
			rs_note("the post-restore hook did not unlock the service address; "
			        "unlocked now");
		if (ok)
			mig_addr_announce(&s->addr);
	}
	if (!ok || mig_tcp_read_images(s->final_dir, &v, &n))
		return;
	s->tcp_kept = mig_tcp_count_present(v, n);
	n -= mig_tcp_count_ended(v, n);		/* live ones: the tables list them */
	if (n)
		rs_note("%llu of %zu dumped TCP connections present after the restore",
		        (unsigned long long)s->tcp_kept, n);
	free(v);
}

/* In the guard, once this receiver is gone (mig_guard.h). */
static void undo_restore(void *arg, int phase)
{
	struct session *s = arg;
	char mark[4300], script[4300], err[512];

	/* post-copy: the tree may have run before this receiver died. Asked
	 * before the kills, as postcopy_finish() asks: could it have reached
	 * the outside world? Then the source must not resume its copy. */
	if (phase == 0 && s->postcopy)
		s->guard_lost = recv_pc_reached_out(s, err, sizeof(err));
	/* the tree is gone: a source that asks may resume its copy, unless
	 * it may have reached the world meanwhile */
	if (phase == 1)
		rs_record(s, s->guard_lost ? WIRE_OUTCOME_LOST : WIRE_OUTCOME_NOT_RESTORED, NULL);
	if (!s->move)
		return;
	if (phase == 0) {
		/* the post-restore notification may have unlocked it */
		snprintf(mark, sizeof(mark), "%s/unlocked", s->dir);
		unlink(mark);
		mig_addr_lock(&s->addr, s->dir, script, sizeof(script), err, sizeof(err));
		return;
	}
	mig_addr_del(&s->addr, err, sizeof(err));
	mig_addr_unlock(&s->addr, s->dir);
}

/*
 * Post-copy: the tree ran here (or may have: CRIU resumed it) without all
 * its pages, and cannot go on. Asked just before the kill, while it still
 * lives: could it have reached the outside world? LOST goes on record
 * before the kill (a source asking meanwhile stays frozen), NOT_RESTORED
 * only after it. True when the record says LOST; why says what.
 */
bool recv_pc_give_up(struct session *s, char *why, size_t whylen)
{
	bool out = recv_pc_reached_out(s, why, whylen);

	if (out)
		rs_record(s, WIRE_OUTCOME_LOST, NULL);
	mig_guard_fire(&s->guard);
	if (s->lazyd > 0) {
		kill(s->lazyd, SIGKILL);
		lazy_server_wait(s->lazyd, 10000);
		s->lazyd = 0;
	}
	if (rs_record(s, out ? WIRE_OUTCOME_LOST : WIRE_OUTCOME_NOT_RESTORED, NULL) ==
	    WIRE_OUTCOME_LOST && !out) {
		snprintf(why, whylen, "its guard found it reaching out");
		out = true;
	}
	if (out)
		rs_note("post-copy failed after the tree ran here, and it may have reached the "
			"outside world (%s): it was killed, and the source is told not to resume "
			"its copy", why);
	else
		rs_note("post-copy failed after the tree ran here: it was killed; it had reached "
			"nothing outside, so the source may resume its copy");
	return out;
}

/* Before the restore: guard it until the source has been told. */
static int guard_restore(struct session *s)
{
	uint32_t *pids;
	size_t n;
	int ret;

	ret = criu_pstree_pids(s->final_dir, &pids, &n);
	if (ret)
		return rs_err(s, ret, "%s/pstree.img: %s", s->final_dir, strerror(-ret));
	ret = mig_guard_start(&s->guard, pids, n, s->swrk.pid, undo_restore, s);
	free(pids);
	return ret ? rs_err(s, ret, "starting the restore guard: %s", strerror(-ret)) : 0;
}

/* CRIU's action-script notifications, when the worker restores. */
static int on_criu_notify(const char *script, pid_t pid, void *arg)
{
	struct session *s = arg;

	/* the sockets exist (still in repair mode): peers may reach them */
	if (s->move && !strcmp(script, "post-restore"))
		mig_addr_unlock(&s->addr, s->dir);
	/* restored, not yet running: what it could reach out with (a
	 * session without --move-addr takes no notification: CRIU 3.17 hits
	 * a BUG when they meet an action-script of its configuration file,
	 * so that one looks just after the restore) */
	if (!strcmp(script, "post-restore"))
		recv_pc_note_reach(s);
	return 0;
}

/*
 * Restore through the waiting CRIU worker. -EPIPE when it is gone before
 * taking the request (nothing restored: `criu restore` can still run);
 * CRIU's log goes to log.
 */
static int restore_swrk(struct session *s, char *log, size_t loglen)
{
	struct criu_swrk_restore r = {
		.log_file = "restore.log",
		.log_level = 2,		/* -v4 logging costs seconds under TCG */
		.tcp_established = true,	/* none in the images: no effect */
		.lazy_pages = s->lazy,
		.notify = s->move ? on_criu_notify : NULL,
		.arg = s,
		.timeout_ms = s->o->restore_ms,
	};
	pid_t root = 0;
	int ret;

	snprintf(log, loglen, "%s/restore.log", s->final_dir);
	/* CRIU opens it as /proc/OUR_PID/fd/N */
	r.images_dir_fd = open(s->final_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r.images_dir_fd < 0)
		return rs_err(s, -errno, "%s: %s", s->final_dir, strerror(errno));
	ret = criu_swrk_restore(&s->swrk, &r, &root, s->err, sizeof(s->err));
	close(r.images_dir_fd);
	if (!ret)
		rs_note("restored by the waiting CRIU worker: root pid %d", (int)root);
	return ret;
}

int recv_link_parent(struct session *s, const char *dir)
{
	char link[4300], target[64];

	if (!imgchain_top(s->ic))
		return rs_err(s, -EPROTO, "commit before the last pre-copy round");
	snprintf(link, sizeof(link), "%s/parent", dir);
	snprintf(target, sizeof(target), "../%s", imgchain_top(s->ic));
	unlink(link);
	if (symlink(target, link))
		return rs_err(s, -errno, "symlink %s: %s", link, strerror(errno));
	return 0;
}

int recv_lazy_start(struct session *s, const char *dir)
{
	struct criu_lazy_stats ls;
	uint64_t eager = 0;
	int ret;

	ret = criu_lazy_mark(dir, CRIU_LAZY_PARENT | (s->postcopy ? CRIU_LAZY_OWN : 0), &ls,
			     s->err, sizeof(s->err));
	if (!ret && s->postcopy)
		ret = recv_pc_prepare(s, &eager);
	if (!ret)
		ret = lazy_server_start(dir, ls.tasks, s->postcopy ? &s->pc->rem : NULL, &s->lazyd,
					s->err, sizeof(s->err));
	if (ret)
		return ret;
	if (s->postcopy)
		recv_pc_started(s);
	rs_note("lazy restore: %llu pages left to the lazy-pages server, %llu restored by "
	        "CRIU%s", (unsigned long long)ls.lazy_pages, (unsigned long long)ls.eager_pages,
	        s->postcopy ? " (post-copy: the final dump's own pages too)" : "");
	if (s->postcopy)
		rs_note("post-copy: %llu pages CRIU reads itself fetched first",
			(unsigned long long)eager);
	return 0;
}

int recv_tree_restore(struct session *s, uint64_t *ms, struct criu_restore_stats *rs)
{
	const char *argv[16 + MAX_CRIU_ARGS];
	char stats[4300], tail[2048], log[4300];
	uint64_t t;
	int n = 0, ret;

	ret = recv_link_parent(s, s->final_dir);
	if (ret)
		return ret;
	argv[n++] = "criu";
	argv[n++] = "restore";
	argv[n++] = "-D";
	argv[n++] = s->final_dir;
	argv[n++] = "--restore-detached";
	argv[n++] = "-v2";	/* -v4 logging costs seconds under TCG */
	argv[n++] = "--tcp-established";	/* none in the images: no effect */
	if (s->move) {
		argv[n++] = "--action-script";
		argv[n++] = s->unlock_script;
	}
	if (s->postcopy && !s->lazy)
		return rs_err(s, -EPROTO, "post-copy, but no lazy restore here");
	if (s->lazy) {
		ret = recv_lazy_start(s, s->final_dir);
		if (ret)
			return ret;
		argv[n++] = "--lazy-pages";
	}
	for (int i = 0; i < s->o->ncriu_args; i++)
		argv[n++] = s->o->criu_args[i];
	argv[n] = NULL;
	rs_note("final images received: restoring");
	t = ferry_now_ns();
	ret = net_before_restore(s);
	if (!ret)
		ret = guard_restore(s);
	if (ret) {
		net_after_restore(s, false);
		return ret;
	}
	ret = s->postcopy ? recv_pc_pump_start(s) : 0;
	if (ret) {
		mig_guard_release(&s->guard);
		net_after_restore(s, false);
		return ret;
	}
	ret = -EPIPE;
	if (s->swrk.pid > 0) {
		ret = restore_swrk(s, log, sizeof(log));
		if (ret == -EPIPE)
			rs_note("%s: running `criu restore` instead", s->err);
	}
	if (ret == -EPIPE) {
		snprintf(log, sizeof(log), "%s", s->log);
		ret = mig_run_flags(argv, log, s->o->restore_ms, MIG_RUN_DIE_WITH_PARENT);
		if (ret == -ETIMEDOUT)
			rs_err(s, ret, "criu restore did not finish within %d s: killed",
			        s->o->restore_ms / 1000);
		else if (ret)
			rs_err(s, -EIO, "criu restore failed (exit %d)", ret);
	}
	if (s->postcopy) {
		int pret;

		if (!ret)	/* unless the notification did, as it starts to run */
			recv_pc_note_reach(s);
		pret = recv_pc_pump_stop(s);

		if (!ret && pret) {
			/* restored, but the source is lost: the tree cannot
			 * go on without its pages (and ran meanwhile) */
			char why[600] = "";

			recv_pc_give_up(s, why, sizeof(why));
			net_after_restore(s, false);
			return pret;
		}
	}
	*ms = (ferry_now_ns() - t) / 1000000;
	if (ret < 0 && ret != -EIO)
		/* the worker died mid-restore: no CRIU cleaned up after it,
		 * so the guard kills whatever it had restored */
		mig_guard_fire(&s->guard);
	else if (ret)
		mig_guard_release(&s->guard);	/* CRIU undid its own restore */
	net_after_restore(s, ret == 0);
	if (ret) {
		size_t l = strlen(s->err);

		mig_log_errors(log, tail, sizeof(tail));
		snprintf(s->err + l, sizeof(s->err) - l, ":\n%s", tail);
		return -EIO;
	}
	s->t_restored = ferry_now_ns();
	memset(rs, 0, sizeof(*rs));
	snprintf(stats, sizeof(stats), "%s/stats-restore", s->final_dir);
	criu_img_read_restore_stats(stats, rs);
	rs_note("restored in %llu ms", (unsigned long long)*ms);
	return 0;
}
