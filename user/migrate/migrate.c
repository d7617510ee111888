// SPDX-License-Identifier: GPL-2.0
/*
 * ferry migrate: move a running process tree to a host running
 * `ferry receive`, with kernel-assisted pre-copy and CRIU for the final
 * state. Its command line: mig_opts.c.
 */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>
#include "cmds.h"
#include "criu_img.h"
#include "dirty_track.h"
#include "mig.h"
#include "mig_net.h"
#include "mig_policy.h"
#include "mig_tcp.h"
#include "pagestore.h"
#include "preflight.h"
#include "util.h"
#include "wire.h"
#include "wire_tls.h"
#include "mig_commit.h"
#include "mig_frozen.h"
#include "mig_src.h"
#include "ctr.h"
#include "ctr_runc.h"
#include <sys/random.h>

void src_progress(const char *fmt, ...)
{
	va_list ap;

	/* sanitized: lines quote the destination's words */
	va_start(ap, fmt);
	ferry_vline("ferry: ", "", fmt, ap);
	va_end(ap);
}

int src_seterr(struct mig *m, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
	return ret;
}

/*
 * SIGINT/SIGTERM/SIGHUP: only noted here. The socket I/O it interrupts
 * returns -EINTR and the migration fails through its normal path, which
 * resumes a frozen tree completely (address, TCP repair mode and lock,
 * SIGCONT); a criu dump in progress finishes first (it runs in its own
 * process group). While the destination restores, the source must not
 * simply resume: see commit().
 */
static void on_signal(int sig)
{
	ferry_interrupted = sig;
}

void src_catch_signals(void)
{
	struct sigaction sa = { .sa_handler = on_signal };	/* no SA_RESTART */

	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int src_interrupted(struct mig *m)
{
	return src_seterr(m, -EINTR, "interrupted by signal %d", (int)ferry_interrupted);
}

static int handshake(struct mig *m)
{
	struct wire_hello h, peer;
	struct wire_msg msg;
	int ret;

	wire_hello_init(&h, WIRE_CAP_ZSTD);
	memcpy(h.id, m->id, WIRE_ID_LEN);
	ret = wire_send_hello(&m->c, &h);
	if (!ret)
		ret = wire_expect(&m->c, WIRE_HELLO, &msg);
	if (!ret)
		ret = wire_parse_hello(&m->c, &msg, &peer);
	if (ret)
		return src_seterr(m, ret, "handshake with %s: %s", m->o->to, m->c.err);
	m->peer_caps = peer.caps;
	src_progress("connected to %s (%s, Linux %s)", m->o->to, peer.host, peer.kernel);
	return 0;
}

/* TLS before anything else: the destination must prove it is HOST. */
static int tls_connect(struct mig *m, struct wire_tls *tls)
{
	char host[256], port[16];
	int ret;

	if (mig_split_hostport(m->o->to, host, sizeof(host), port, sizeof(port)))
		return src_seterr(m, -EINVAL, "bad --to '%s'", m->o->to);
	ret = wire_tls_client(&m->c, tls, host, m->err, sizeof(m->err));
	if (ret)
		return ret;
	src_progress("TLS 1.3 with %s: certificate verified", m->o->to);
	return 0;
}

/* 0 ok, FERRY_EXIT_MISSING-style >0 when the destination refused. */
static int preflight(struct mig *m)
{
	struct pf_list l;
	struct pf_report rep;
	struct wire_msg msg;
	char line[4500];
	int ret;

	ret = m->ctr ? preflight_collect_ctr(m->o->pid, &l, m->err, sizeof(m->err))
		     : preflight_collect(m->o->pid, &l, m->err, sizeof(m->err));
	if (ret)
		return ret;
	ret = preflight_send(&m->c, &l);
	if (!ret) {
		/* the destination takes pages only for the IDs named here
		 * (tree and threads, as CRIU's images name them): kept, so
		 * that no other is tracked */
		m->announced = l.tids;
		m->nannounced = l.ntids;
		qsort(m->announced, m->nannounced, sizeof(*m->announced), ferry_cmp_u32);
		l.tids = NULL;
		l.ntids = 0;
	}
	if (!ret)
		ret = wire_expect(&m->c, WIRE_PREFLIGHT_ANS, &msg);
	if (!ret)
		ret = preflight_parse_report(&m->c, &msg, &rep);
	if (ret) {
		pf_list_free(&l);
		return src_seterr(m, ret, "pre-flight: %s", m->c.err);
	}
	src_progress("pre-flight: %zu files checked, %zu problem%s", l.n, rep.n + rep.more,
		 rep.n + rep.more == 1 ? "" : "s");
	pf_list_free(&l);
	if (rep.n || rep.more) {
		for (size_t i = 0; i < rep.n; i++) {
			pf_problem_str(&rep.v[i], line, sizeof(line));
			src_progress("  %s", line);
		}
		if (rep.more)
			src_progress("  and %u more", rep.more);
		src_seterr(m, 0, "the destination cannot take this process tree (%zu problem%s)",
		       rep.n + rep.more, rep.n + rep.more == 1 ? "" : "s");
		pf_report_free(&rep);
		return 1;
	}
	m->budget = rep.budget;
	pf_report_free(&rep);
	return 0;
}

/* --move-addr: the address must be here, and the destination must be able
 * to take it over (not configured there, an interface for it). */
static int move_addr_check(struct mig *m)
{
	struct wire_move_addr wa = { 0 }, ack;
	struct wire_msg msg;
	char s[96];
	int ret;

	m->src_addr = m->o->addr;
	m->src_addr.dev[0] = 0;		/* @DEV names the destination's */
	ret = mig_addr_find_local(&m->src_addr, m->err, sizeof(m->err));
	if (ret)
		return ret;
	wa.addr = m->src_addr.addr.s_addr;
	wa.prefix = m->src_addr.prefix;
	snprintf(wa.dev, sizeof(wa.dev), "%s", m->o->addr.dev);
	ret = wire_send_move_addr(&m->c, WIRE_MOVE_ADDR, &wa);
	if (!ret)
		ret = wire_expect(&m->c, WIRE_MOVE_ADDR_ACK, &msg);
	if (!ret)
		ret = wire_parse_move_addr(&m->c, &msg, &ack);
	if (ret)
		return src_seterr(m, ret, "--move-addr: %s", m->c.err);
	snprintf(m->remote_dev, sizeof(m->remote_dev), "%s", ack.dev);
	mig_addr_fmt(&m->src_addr, s, sizeof(s));
	src_progress("service address %s moves to %s on %s", s, ack.dev, m->o->to);
	return 0;
}

/* `criu check` before anything else: CRIU must work here, and its first
 * run probes the kernel for seconds (cached in /run/criu.kdat), which must
 * not happen while the tree is frozen. */
static int criu_check(struct mig *m)
{
	const char *argv[] = { "criu", "check", NULL };
	char log[4200], tail[2048];
	int ret;

	snprintf(log, sizeof(log), "%s/check.log", m->dir);
	ret = mig_run(argv, log);
	if (ret) {
		mig_log_errors(log, tail, sizeof(tail));
		return src_seterr(m, -ENOENT, "`criu check` failed (exit %d) on this host:\n%s", ret,
			      tail);
	}
	return 0;
}

int src_prepare_final(struct mig *m, const char *log_name, struct criu_img_stats *is)
{
	int ret;

	snprintf(m->final_dir, sizeof(m->final_dir), "%s/final", m->dir);
	snprintf(m->log, sizeof(m->log), "%s/%s", m->dir, log_name);
	/* parent images of what we sent: pagemaps only, empty pages files */
	ret = criu_img_write_parent(m->parent_dir, m->sent, false, m->track_uptime_us, is, m->err,
				    sizeof(m->err));
	if (ret)
		return ret;
	if (mkdir(m->final_dir, 0700))
		return src_seterr(m, -errno, "mkdir %s: %s", m->final_dir, strerror(errno));
	return 0;
}

/* CRIU's dump statistics and the progress lines about them. */
static int dump_stats(struct mig *m)
{
	char stats[4300];

	snprintf(stats, sizeof(stats), "%s/stats-dump", m->final_dir);
	m->have_ds = !criu_img_read_dump_stats(stats, &m->ds);
	if (m->have_ds) {
		/* the tree stopped when CRIU began freezing it, not when CRIU
		 * started: downtime counts from there */
		uint64_t fz = (m->ds.freezing_time + m->ds.frozen_time) * 1000;

		if (fz < m->t_dumped - m->t_freeze)
			m->t_freeze = m->t_dumped - fz;
	}
	if (m->have_ds)
		src_progress("dumped in %llu ms: %llu pages written, %llu skipped (in parent)%s",
			 (unsigned long long)((m->t_dumped - m->t_criu) / 1000000),
			 (unsigned long long)m->ds.pages_written,
			 (unsigned long long)m->ds.pages_skipped_parent,
			 m->tcp ? ", TCP connections locked" : "");
	if (!m->store && m->nended)
		src_progress("%zu TCP connection%s dumped, and %zu ended one%s holding unread bytes",
			     m->nconns - m->nended, m->nconns - m->nended == 1 ? "" : "s", m->nended,
			     m->nended == 1 ? "" : "s");
	else if (m->tcp && !m->store)
		src_progress("%zu TCP connection%s dumped", m->nconns, m->nconns == 1 ? "" : "s");
	return 0;
}

int src_final_dump(struct mig *m)
{
	const char *argv[32 + MAX_CRIU_ARGS];
	char pidbuf[16], tail[2048];
	struct criu_img_stats is;
	pid_t *now = NULL;
	size_t nnow = 0;
	int n = 0, ret;

	snprintf(m->parent_dir, sizeof(m->parent_dir), "%s/parent", m->dir);
	ret = src_prepare_final(m, "dump.log", &is);
	if (ret)
		return ret;
	snprintf(pidbuf, sizeof(pidbuf), "%d", m->o->pid);
	argv[n++] = "criu";
	argv[n++] = "dump";
	argv[n++] = "-t";
	argv[n++] = pidbuf;
	argv[n++] = "-D";
	argv[n++] = m->final_dir;
	argv[n++] = "--prev-images-dir";
	argv[n++] = "../parent";
	argv[n++] = "--track-mem";
	/* a checkpoint's tree goes on here; a migrating one waits, stopped,
	 * for the destination's answer */
	argv[n++] = m->store ? "--leave-running" : "--leave-stopped";
	argv[n++] = "-v2";	/* -v4 logging costs seconds under TCG */
	/* connections: CRIU locks and dumps them (see mig_tcp.h); without
	 * any, the nftables lock would only cost time in the freeze. The
	 * tree as it is now: children forked during the pre-copy count. */
	ret = pf_tree_pids(m->o->pid, &now, &nnow);
	if (ret)
		return src_seterr(m, ret, "process %d: %s", m->o->pid, strerror(-ret));
	ret = m->store ? mig_tcp_tree_count(now, nnow)
		       : mig_tcp_tree_check(now, nnow, m->o->move ? &m->src_addr.addr : NULL,
					    m->err, sizeof(m->err));
	free(now);
	if (ret < 0)
		return ret;
	m->tcp = m->o->move || ret > 0;
	if (m->tcp) {
		argv[n++] = "--tcp-established";
		argv[n++] = "--network-lock";
		argv[n++] = "nftables";
	}
	for (int i = 0; i < m->o->ncriu_args; i++)
		argv[n++] = m->o->criu_args[i];
	argv[n] = NULL;
	src_close_trackers(m);
	src_progress("freezing and dumping with CRIU (parent: %llu pages in %llu entries)",
		 (unsigned long long)is.pages, (unsigned long long)is.entries);
	m->t_criu = m->t_freeze = ferry_now_ns();
	ret = mig_run(argv, m->log);
	m->t_dumped = ferry_now_ns();
	if (ret) {
		mig_log_errors(m->log, tail, sizeof(tail));
		/* CRIU resumes the tree itself when a dump fails */
		return src_seterr(m, -EIO, "criu dump failed (exit %d, log %s):\n%s", ret, m->log,
			      tail);
	}
	if (m->store)
		return dump_stats(m);
	m->frozen = true;
	/*
	 * The tree as CRIU froze it, read again now that it cannot change:
	 * children forked during the pre-copy were dumped (and will run on
	 * the destination) but are not in m->pids, and must be killed here
	 * after the commit, or resumed if the migration fails.
	 */
	ret = pf_tree_pids(m->o->pid, &m->frozen_pids, &m->nfrozen);
	if (ret)
		return src_seterr(m, ret, "reading the frozen tree of %d: %s", m->o->pid,
			      strerror(-ret));
	if (m->nfrozen != m->npids)
		src_progress("the tree has %zu process%s now, %zu when the pre-copy began", m->nfrozen,
			 m->nfrozen == 1 ? "" : "es", m->npids);
	/* The connections to unlock if the migration fails (--tcp-established),
	 * and the ended ones (CLOSE, unread bytes), which CRIU dumps in repair
	 * mode without it too: counted for the report either way. */
	ret = mig_tcp_read_images(m->final_dir, &m->conns, &m->nconns);
	if (ret && m->tcp)
		return src_seterr(m, ret, "reading the dumped connections (files.img): %s",
			      strerror(-ret));
	if (ret) {
		free(m->conns);
		m->conns = NULL;
		m->nconns = 0;
	}
	m->nended = mig_tcp_count_ended(m->conns, m->nconns);
	if (m->o->move) {
		/* the destination adds it before its restore */
		ret = mig_addr_del(&m->src_addr, m->err, sizeof(m->err));
		if (ret)
			return ret;
		m->addr_removed = true;
	}
	ret = dump_stats(m);
	if (ret)
		return ret;
	if (ferry_interrupted)	/* while CRIU dumped: nothing sent yet, resume */
		return src_interrupted(m);
	return 0;
}

static int send_images(struct mig *m)
{
	struct dirent *de;
	DIR *d = opendir(m->final_dir);
	int ret = 0;

	if (!d)
		return src_seterr(m, -errno, "%s: %s", m->final_dir, strerror(errno));
	while (!ret && (de = readdir(d))) {
		struct stat sb;
		int fd;

		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) || !S_ISREG(sb.st_mode))
			continue;	/* ".", "..", the parent link */
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			ret = src_seterr(m, -errno, "%s: %s", de->d_name, strerror(errno));
			break;
		}
		if (m->postcopy && pc_src_keeps(de->d_name)) {
			/* served from here once the tree runs there */
			ret = pc_src_add(&m->pc, &m->c, de->d_name, fd, m->err, sizeof(m->err));
			continue;
		}
		ret = wire_send_file(&m->c, de->d_name, fd);
		if (ret)
			src_seterr(m, ret, "sending %s: %s", de->d_name, m->c.err);
		m->image_bytes += (uint64_t)sb.st_size;
		close(fd);
	}
	closedir(d);
	m->t_sent = ferry_now_ns();
	return ret;
}

/*
 * COMMIT and its outcome (mig_commit.h): 0 restored there, -EIO not
 * restored there (ours resumes), -EINPROGRESS unknown (ours stays frozen).
 */
static int pc_on_frame(void *arg, const struct wire_msg *msg)
{
	struct mig *m = arg;

	return pc_src_serve(&m->pc, &m->c, msg, m->err, sizeof(m->err));
}

static int pc_idle(void *arg)
{
	struct mig *m = arg;

	return pc_src_push(&m->pc, &m->c, m->err, sizeof(m->err));
}

static int commit(struct mig *m, struct wire_tls *tls)
{
	struct mig_commit k = {
		.c = &m->c, .to = m->o->to, .tls = tls,
		.restore_ms = m->o->commit_ms, .settle_ms = m->o->settle_ms,
		.postcopy = m->postcopy, .on_frame = pc_on_frame, .idle = pc_idle, .arg = m,
	};
	enum mig_verdict v;

	memcpy(k.id, m->id, WIRE_ID_LEN);
	v = mig_commit_run(&k);
	if (v == MIG_VERDICT_NOT_RESTORED) {
		wire_send_u64s(&m->c, WIRE_DONE, NULL, 0);	/* we know */
		return src_seterr(m, -EIO, "%s", k.err);
	}
	if (v == MIG_VERDICT_UNKNOWN) {
		m->pc_lost = k.lost;
		return src_seterr(m, -EINPROGRESS, "%s", k.err);
	}
	m->t_restored = k.t_running ? k.t_running : ferry_now_ns();
	if (m->postcopy) {
		m->pc_ms = (ferry_now_ns() - m->t_restored) / 1000000;
		memcpy(m->pc_done, k.done, sizeof(m->pc_done));
		src_progress("post-copy: every page on %s %llu ms after the tree ran there (%llu "
			     "pages: %llu asked for on fault, %llu pushed)", m->o->to,
			     (unsigned long long)m->pc_ms, (unsigned long long)k.done[0],
			     (unsigned long long)k.done[1], (unsigned long long)k.done[2]);
	}
	m->remote_restore_ms = k.v[0];
	m->remote_pages_restored = k.v[2];
	m->remote_tcp_kept = k.v[3];
	if (m->tcp && m->nconns > m->nended)
		src_progress("%llu of %zu TCP connections found on %s after the restore",
			 (unsigned long long)k.v[3], m->nconns - m->nended, m->o->to);
	return 0;
}

static void frozen_of(struct mig *m, struct mig_frozen *f)
{
	memset(f, 0, sizeof(*f));
	f->root = m->o->pid;
	/* m->pids only if the frozen tree could not be read (to resume it) */
	f->pids = m->frozen_pids ? m->frozen_pids : m->pids;
	f->npids = m->frozen_pids ? m->nfrozen : m->npids;
	f->tcp = m->tcp;
	f->conns = m->conns;
	f->nconns = m->nconns;
	f->addr_removed = m->addr_removed;
	f->addr = m->src_addr;
}

/*
 * Nobody could say whether the tree runs on the destination: it stays
 * frozen here, and the operator settles it once they have looked there.
 */
static void leave_frozen(struct mig *m)
{
	struct mig_frozen f;
	char err[512];

	if (m->ctr) {
		src_ctr_leave_frozen(m);
		return;
	}
	frozen_of(m, &f);
	if (mig_frozen_save(&f, m->dir, m->o->to, m->id, err, sizeof(err)))
		ferry_err("%s", err);
	m->frozen = false;	/* not ours to resume */
	m->keep_dir = true;
	if (m->pc_lost) {
		ferry_err("post-copy failed: the tree ran on %s without all its pages and was "
			  "killed there, after it may have reached the outside world (peers that "
			  "heard from it, files it wrote). This older copy is not resumed by "
			  "itself: it stays frozen here (connections locked, service address not "
			  "put back)", m->o->to);
		fprintf(stderr,
			"To settle it:\n"
			"  ferry settle %s --resume   resume this older copy anyway (what it "
			"sent since the freeze may be repeated or contradicted)\n"
			"  ferry settle %s --kill     end it: the workload is lost, restore it "
			"from a checkpoint\n", m->dir, m->dir);
		return;
	}
	ferry_err("the outcome of migration %d to %s is unknown: the tree stays frozen here "
		  "(connections locked, service address not put back), never resumed while it "
		  "may run there", m->o->pid, m->o->to);
	fprintf(stderr,
		"To settle it:\n"
		"  ferry settle %s            ask %s again, act on a definite answer\n"
		"  ferry settle %s --kill     the tree runs on %s: end this copy\n"
		"  ferry settle %s --resume   it does not run there: resume it here\n",
		m->dir, m->o->to, m->dir, m->o->to, m->dir);
}

/* Before the destination runs the tree: put ours back as it was. */
static void resume_source(struct mig *m)
{
	struct mig_frozen f;

	if (m->ctr) {
		src_ctr_resume(m);
		return;
	}
	if (!m->frozen)
		return;
	frozen_of(m, &f);
	mig_frozen_resume(&f);
	m->addr_removed = false;
	m->frozen = false;
}

static void kill_source(struct mig *m)
{
	struct mig_frozen f;

	if (m->ctr) {
		src_ctr_remove(m);
		return;
	}
	frozen_of(m, &f);
	mig_frozen_kill(&f);
	m->frozen = false;
}

int cmd_migrate(int argc, char **argv)
{
	struct wire_tls *tls = NULL;
	struct opts o;
	struct mig m;
	int ret, rc = FERRY_EXIT_FAIL;

	if (src_parse_opts(argc, argv, &o))
		return FERRY_EXIT_USAGE;
	memset(&m, 0, sizeof(m));
	m.o = &o;
	m.fd = -1;
	m.t0 = ferry_now_ns();
	signal(SIGPIPE, SIG_IGN);
	src_catch_signals();
	if (o.container) {
		char err[512];

		m.ctr = calloc(1, sizeof(*m.ctr));
		if (!m.ctr) {
			ferry_err("out of memory");
			return FERRY_EXIT_FAIL;
		}
		if (o.runc) {
			ret = ctr_runc_inspect(o.runc_root, o.container, m.ctr, err, sizeof(err));
		} else {
			ret = ctr_inspect(o.container, m.ctr, err, sizeof(err));
			if (!ret)
				ret = ctr_volumes(m.ctr, err, sizeof(err));
		}
		if (ret) {
			ferry_err("%s", err);
			free(m.ctr);
			return ret == -ENOENT || ret == -ESRCH ? FERRY_EXIT_NOPROC : FERRY_EXIT_FAIL;
		}
		o.pid = m.ctr->pid;
	}
	if (kill(o.pid, 0) && errno == ESRCH) {
		ferry_err("no such process: %d", o.pid);
		return FERRY_EXIT_NOPROC;
	}
	if (getrandom(m.id, sizeof(m.id), 0) != sizeof(m.id)) {
		ferry_err("getrandom: %s", strerror(errno));
		return FERRY_EXIT_FAIL;
	}
	snprintf(m.dir, sizeof(m.dir), "%s/ferry-migrate-%d-XXXXXX", o.work_dir, o.pid);
	if (!mkdtemp(m.dir)) {
		ferry_err("%s: %s", m.dir, strerror(errno));
		return FERRY_EXIT_FAIL;
	}
	ret = pagestore_open(&m.sent, NULL);
	if (ret)
		goto out;
	if (!o.insecure) {
		ret = wire_tls_load(&tls, &o.tls, false, m.err, sizeof(m.err));
		if (ret)
			goto out;
	}
	m.fd = mig_connect(o.to, m.err, sizeof(m.err));
	if (m.fd < 0) {
		ret = m.fd;
		goto out;
	}
	wire_init(&m.c, m.fd);
	/* the destination is no more trusted than the source: every answer
	 * it owes comes within a bound (the restore has its own, commit()) */
	wire_set_timeout(&m.c, MIG_REPLY_TIMEOUT_MS);
	ret = tls ? tls_connect(&m, tls) : 0;
	if (o.insecure)
		ferry_warn("--insecure: the tree's memory crosses the network in clear and %s is "
			   "not authenticated", o.to);
	if (!ret)
		ret = handshake(&m);
	if (!ret && m.ctr)
		ret = src_ctr_announce(&m);
	if (ret > 0) {
		wire_send_error(&m.c, WIRE_ABORT, -ENOENT, "the destination refused the container");
		rc = FERRY_EXIT_MISSING;
		goto out_msg;
	}
	if (ret)
		goto out;
	ret = preflight(&m);
	if (ret > 0) {
		wire_send_error(&m.c, WIRE_ABORT, -ENOENT, "pre-flight failed on the destination");
		rc = FERRY_EXIT_MISSING;
		goto out_msg;
	}
	if (ret)
		goto out;
	if (o.move) {
		ret = move_addr_check(&m);
		if (ret)
			goto out;
	}
	ret = criu_check(&m);
	if (ret)
		goto out;
	ret = src_open_trackers(&m);
	if (ret)
		goto out;
	src_progress("tracking %zu process%s with the %s backend", m.npids, m.npids == 1 ? "" : "es",
		 m.backend_name);
	/* connections that could not survive: refuse now, not after the
	 * pre-copy (the final dump checks again just before the freeze) */
	ret = m.ctr ? src_ctr_tcp_check(&m)
		    : mig_tcp_tree_check(m.pids, m.npids, o.move ? &m.src_addr.addr : NULL, m.err,
					 sizeof(m.err));
	if (ret < 0)
		goto out;
	ret = m.ctr ? src_ctr_volumes_precopy(&m) : 0;
	if (!ret)
		ret = src_precopy(&m);
	if (!ret && !m.ctr && o.postcopy != MIG_PC_NEVER) {
		/* post-copy when asked, or when the pre-copy did not converge */
		bool want = mig_postcopy_wanted(o.postcopy, m.why);

		if (want && !(m.peer_caps & WIRE_CAP_POSTCOPY))
			ferry_warn("%s takes no post-copy: the final dump carries every page",
				   o.to);
		else if (want)
			src_progress("post-copy: the final dump's pages stay here and go once the "
				     "tree runs on %s (pre-copy stopped: %s)", o.to,
				     mig_decision_name(m.why));
		m.postcopy = want && (m.peer_caps & WIRE_CAP_POSTCOPY);
	}
	if (!ret)
		ret = m.ctr ? src_ctr_final(&m) : src_final_dump(&m);
	if (!ret)
		ret = send_images(&m);
	if (!ret && m.nvols)
		ret = src_ctr_volumes_final(&m);
	if (!ret && (m.nct || m.nct6))
		ret = src_ctr_send_conntrack(&m);
	if (!ret)
		ret = commit(&m, tls);
	if (ret == -EINPROGRESS) {
		leave_frozen(&m);
		rc = FERRY_EXIT_UNDECIDED;
		goto cleanup;
	}
	if (ret)
		goto out;
	/* the destination runs the tree: ours goes */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	kill_source(&m);
	wire_send_u64s(&m.c, WIRE_DONE, NULL, 0);
	if (m.ctr)
		src_progress("container %s running on %s; %s here", m.ctr->w.name, o.to,
			     o.keep_source ? "stopped" : "removed");
	else
		src_progress("tree running on %s; killed here", o.to);
	src_report(&m);
	rc = FERRY_EXIT_OK;
	goto cleanup;
out:
	rc = ret == -ESRCH ? FERRY_EXIT_NOPROC : ferry_exit_from_errno(ret);
	if (rc == FERRY_EXIT_USAGE || rc == FERRY_EXIT_OK)
		rc = FERRY_EXIT_FAIL;
	if (m.fd >= 0)
		wire_send_error(&m.c, WIRE_ABORT, ret, "source: %s", m.err);
out_msg:
	resume_source(&m);
	if (m.ctr)
		ferry_err("migration of container %s failed: %s", m.ctr->w.name,
			  m.err[0] ? m.err : strerror(-ret));
	else
		ferry_err("migration of %d failed: %s", o.pid, m.err[0] ? m.err : strerror(-ret));
cleanup:
	src_close_trackers(&m);
	src_release_claims(&m);
	free(m.tr);
	free(m.pids);
	free(m.announced);
	free(m.frozen_pids);
	free(m.conns);
	free(m.ct);
	free(m.ct6);
	src_ctr_volumes_free(&m);
	free(m.ctr);
	pc_src_free(&m.pc);
	pagestore_close(m.sent, false);
	if (m.fd >= 0) {
		wire_tls_end(&m.c);
		wire_free(&m.c);
		close(m.fd);
	}
	wire_tls_free(tls);
	if (!getenv("FERRY_KEEP_WORKDIR") && !m.keep_dir)
		mig_rmtree(m.dir);
	else
		src_progress("work directory kept: %s", m.dir);
	return rc;
}
