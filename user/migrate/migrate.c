// SPDX-License-Identifier: GPL-2.0
/*
 * ferry migrate: move a running process tree to a host running
 * `ferry receive`, with kernel-assisted pre-copy and CRIU for the final
 * state. See usage_text.
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

static const char usage_text[] =
"Usage: ferry migrate PID --to HOST:PORT [OPTIONS]\n"
"       ferry migrate --container NAME|ID --to HOST:PORT [OPTIONS]\n"
"\n"
"Move the running process tree rooted at PID to HOST, where `ferry receive`\n"
"listens on PORT. The tree keeps running while its memory is copied in\n"
"rounds (pre-copy): ferry.ko reports the pages written since the previous\n"
"round, ferry reads them with process_vm_readv and streams them zstd-\n"
"compressed. Then CRIU freezes the tree and dumps only what changed since\n"
"the last round (ferry hands it parent images of the pages already sent),\n"
"the images are streamed, and CRIU restores the tree on HOST. The tree here\n"
"is killed only after HOST reports it running; on any failure before that\n"
"it is resumed unchanged.\n"
"\n"
"Before anything is frozen, HOST checks that every file the tree maps or\n"
"executes exists there with the same size and ELF build-id, that no PID or\n"
"thread ID of the tree is in use there (CRIU restores them unchanged), that\n"
"CRIU works and that memory and disk suffice; otherwise the migration stops\n"
"with the list of problems (exit status 3) and the tree is untouched.\n"
"\n"
"Containers: with --container, what moves is a running Podman container\n"
"(rootful; runc as its runtime, since Debian's crun has no CRIU support).\n"
"Its process tree is pre-copied the same way, its pages named by the PIDs\n"
"inside the container. HOST first checks that it has the same image (by\n"
"ID) and that the container's ID and name are free there. Then ferry\n"
"writes its parent images into the container's pre-checkpoint directory,\n"
"sets its network down (the host's end of each of its veth pairs: one lock\n"
"per interface, whatever the number of connections), freezes its cgroup,\n"
"and `podman container checkpoint --with-previous --leave-running\n"
"--tcp-established --export` dumps only what changed, with its TCP\n"
"connections (TCP repair) and root filesystem changes; HOST restores it\n"
"with `podman container restore --import --import-previous\n"
"--tcp-established` under the same ID, name, IP and MAC address. The\n"
"container here stays frozen and its network down until HOST answers: it\n"
"is removed (podman rm -f) once the container runs there, and unlocked and\n"
"thawed if the migration fails. Its address must then reach HOST (the\n"
"network's job: ferry does not route). Refused before anything is frozen:\n"
"a container with connections whose network ferry cannot lock (--network\n"
"host, an interface that is not a veth with its other end on this host).\n"
"Volumes: a named volume is pre-copied. Before the memory, ferry makes the\n"
"volume on HOST and copies its directories, files and symbolic links (mode,\n"
"owner, mtime) while the container runs; once it is frozen, only what\n"
"changed since goes again, and what was deleted is deleted there; Podman's\n"
"checkpoint then leaves the volumes out. Not copied: sockets, FIFOs, device\n"
"nodes, extended attributes and ACLs; hard links become separate files.\n"
"HOST must not have a volume of that name. (An older ferry on HOST takes\n"
"the volumes in Podman's archive instead, copied while frozen.) A bind\n"
"mount stays where it is: its host path must exist on HOST (storage both\n"
"hosts share). Both are checked before anything is frozen, and the report\n"
"lists each volume, how it moved, and how much went before and during the\n"
"freeze.\n"
"\n"
"Plain runc (--engine runc): the container's bundle (config.json and its\n"
"root) must be on storage both hosts share, at the same path: runc copies\n"
"no root file system, and a copy on HOST would lose what the container\n"
"wrote. ferry proves it before anything is frozen: it makes a marker file\n"
"with a random name in the bundle, which HOST must see, with the same\n"
"config.json (SHA-256); HOST must also have runc, and no container of that\n"
"ID nor its cgroup. The memory is pre-copied as for Podman; `runc\n"
"checkpoint --parent-path --leave-running --tcp-established` of the frozen\n"
"container dumps what changed, and HOST runs `runc restore --detach` under\n"
"its own --runc-root. The restored container's standard input is\n"
"/dev/null; its output goes to runc-ID.log in HOST's receive directory.\n"
"\n"
"Options:\n"
"  --container NAME|ID   move this container (Podman's, or runc's with\n"
"                        --engine runc) instead of a PID\n"
"  --engine podman|runc  its engine (default podman; runc: a plain runc\n"
"                        container, ID as runc names it, see below)\n"
"  --runc-root DIR       runc's --root for --engine runc (default /run/runc)\n"
"  --keep-source         once it runs on HOST, stop the container here\n"
"                        (podman stop, runc kill) instead of removing it\n"
"  --to HOST:PORT        the destination (required; [V6ADDR]:PORT for IPv6)\n"
"  --max-downtime MS     stop pre-copy once the dirty set left is estimated\n"
"                        to copy in MS milliseconds (default 200)\n"
"  --max-rounds N        at most N pre-copy rounds including the first full\n"
"                        copy (default 10); pre-copy also stops when a round\n"
"                        does not shrink the dirty set below 90 %, and\n"
"                        before a round could leave the disk budget HOST\n"
"                        granted at pre-flight too small for the final dump\n"
"                        (each round's pages stay on its disk until the\n"
"                        restore): stop_reason disk-budget\n"
"  --backend B           dirty tracking: module | pagemap-scan | pagemap |\n"
"                        auto (default auto; the pagemap backends stop the\n"
"                        tree briefly at each round)\n"
"  --work-dir DIR        where the final CRIU images are written before they\n"
"                        are streamed (default /tmp; a private subdirectory\n"
"                        is created and removed)\n"
"  --criu-arg ARG        pass ARG to `criu dump` (repeatable), e.g.\n"
"                        --criu-arg=--shell-job\n"
"  --move-addr A.B.C.D[/N][@DEV]\n"
"                        the IPv4 service address the tree's connections\n"
"                        and listeners use: it is removed here after the\n"
"                        final dump and added on HOST (on DEV there, or on\n"
"                        the interface whose subnet holds it) before the\n"
"                        restore, announced with a gratuitous ARP; put\n"
"                        back here if the migration fails\n"
"  --json                print one JSON object with the report on stdout\n"
"  --tls-cacert FILE     the CA that signs the destination's certificate\n"
"                        (default /etc/ferry/pki/ca.pem)\n"
"  --tls-cacrl FILE      its revocation list (default /etc/ferry/pki/crl.pem,\n"
"                        read when it exists)\n"
"  --tls-cert FILE       this host's certificate (default /etc/ferry/pki/cert.pem)\n"
"  --tls-key FILE        its private key (default /etc/ferry/pki/key.pem)\n"
"  --insecure            plain TCP: the tree's memory (keys included) crosses\n"
"                        the network in clear, and nothing proves who HOST is\n"
"  --commit-timeout S    how long HOST's restore may take before the answer\n"
"                        counts as lost (default 660)\n"
"  --settle-timeout S    how long to keep asking HOST after a lost answer\n"
"                        (default 60)\n"
"  --postcopy[=WHEN]     leave the final dump's pages here and send them once\n"
"                        the tree runs on HOST, those it touches first:\n"
"                        auto (the default: when the pre-copy did not fit\n"
"                        --max-downtime, i.e. stopped not-shrinking, at\n"
"                        --max-rounds or for the disk budget), always (a\n"
"                        bare --postcopy) or never.\n"
"                        Until every page is there, the tree on HOST depends\n"
"                        on this host: if either fails, HOST kills its copy;\n"
"                        this one resumes if that copy cannot have reached\n"
"                        the outside world (no network socket, no file open\n"
"                        for writing), else it stays frozen for `ferry\n"
"                        settle` (exit 7). Processes only; HOST needs a lazy\n"
"                        restore (not `ferry receive --no-lazy`)\n"
"  -h, --help            this text\n"
"\n"
"TCP: when the tree holds connected TCP sockets (or --move-addr is given),\n"
"CRIU dumps them with --tcp-established --network-lock nftables: each\n"
"connection is locked by an nftables rule (peers' packets are dropped, so\n"
"they see no RST and lose nothing: they retransmit) and its socket is left\n"
"in repair mode until HOST runs the tree. Connections keep their addresses,\n"
"so their local address must be the one that moves (--move-addr). HOST\n"
"keeps the address locked until CRIU has re-created the sockets. If the\n"
"migration fails, repair mode and the lock are undone here and the\n"
"connections go on. Needs nftables (nft, libnftables) on both hosts.\n"
"\n"
"Progress lines go to stderr. The report gives downtime_ms (from the freeze\n"
"to the tree running on HOST), total_ms, every round's pages and bytes, the\n"
"compression ratio, the final dump / transfer / restore times, and\n"
"tcp_connections_kept: the connections CRIU dumped that HOST found again,\n"
"by address and port, after the restore.\n"
"\n"
"Security: the connection is TLS 1.3 with certificates on both ends\n"
"(`ferry pki` makes them); HOST's certificate must name HOST as given in\n"
"--to (DNS name or IP address). $FERRY_PKI_DIR replaces /etc/ferry/pki in\n"
"the defaults.\n"
"\n"
"Needs root (CRIU, process_vm_readv, /proc/PID/clear_refs).\n"
"\n"
"Interrupting (SIGINT, SIGTERM, SIGHUP) stops the migration and leaves the\n"
"tree running here, as any failure does; a CRIU dump in progress finishes\n"
"first. Once HOST restores, ferry asks it to undo and waits for its\n"
"answer: if the tree already runs there, the migration completes instead\n"
"(\"too late to interrupt\"). A link that stops answering ends the\n"
"migration within about 20 s, with the same effect as a failure.\n"
"\n"
"Environment: FERRY_KEEP_WORKDIR=1 keeps the work directory (CRIU's dump.log,\n"
"the images) instead of removing it. FERRY_NO_ANNOUNCE=1 (also for `ferry\n"
"receive`) sends no gratuitous ARP for a moved address.\n"
"\n"
"The commit: once the final images are sent, the tree is frozen here and\n"
"stays so until HOST says what it did -- restored (this copy is killed) or\n"
"not restored (this copy resumes). If the answer is lost (link cut,\n"
"receiver killed, --commit-timeout passed, Ctrl-C twice), ferry asks HOST\n"
"again on new connections for --settle-timeout; if nobody can say, the\n"
"tree stays frozen, the work directory is kept and `ferry settle DIR`\n"
"(printed) resumes or kills it later. Never two live copies, never none.\n"
"\n"
"Exit status: 0 migrated, 1 failed (the tree still runs here), 2 bad usage,\n"
"3 the destination lacks files, memory, disk or CRIU, or a PID is taken\n"
"there (a container: its image is not there, or its ID or name is taken),\n"
"4 no such process (or no such running container), 5 not permitted, 7 outcome unknown: the tree is\n"
"left frozen here (see `ferry settle`).\n";

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
	if (m->tcp && !m->store)
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
	if (m->tcp) {
		ret = mig_tcp_read_images(m->final_dir, &m->conns, &m->nconns);
		if (ret)
			return src_seterr(m, ret, "reading the dumped connections (files.img): %s",
				      strerror(-ret));
	}
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
	if (m->tcp)
		src_progress("%llu of %zu TCP connections found on %s after the restore",
			 (unsigned long long)k.v[3], m->nconns, m->o->to);
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

int src_parse_precopy_opt(int c, const char *arg, struct opts *o)
{
	uint64_t v;

	switch (c) {
	case 'd':
		if (!ferry_parse_u64(arg, 0, 3600000, &o->max_downtime_ms)) {
			ferry_err("bad --max-downtime '%s' (milliseconds)", arg);
			return -1;
		}
		return 1;
	case 'r':
		if (!ferry_parse_u64(arg, 1, MAX_ROUNDS_HIST, &v)) {
			ferry_err("bad --max-rounds '%s' (1..%d)", arg, MAX_ROUNDS_HIST);
			return -1;
		}
		o->max_rounds = (uint32_t)v;
		return 1;
	case 'b':
		if (!dirty_backend_parse(arg, &o->backend)) {
			ferry_err("unknown --backend '%s'", arg);
			return -1;
		}
		return 1;
	case 'c':
		return ferry_arg_push(o->criu_args, &o->ncriu_args, MAX_CRIU_ARGS, arg, "--criu-arg")
			       ? -1 : 1;
	case 'C':
		/* a name or an ID, never something Podman takes for an option */
		if (!wire_ctr_name_ok(arg)) {
			ferry_err("bad --container '%s' (a container's name or ID)", arg);
			return -1;
		}
		o->container = arg;
		return 1;
	}
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "to", required_argument, NULL, 't' },
		{ "container", required_argument, NULL, 'C' },
		{ "engine", required_argument, NULL, 'E' },
		{ "keep-source", no_argument, NULL, 'K' },
		{ "runc-root", required_argument, NULL, 'R' },
		{ "max-downtime", required_argument, NULL, 'd' },
		{ "max-rounds", required_argument, NULL, 'r' },
		{ "backend", required_argument, NULL, 'b' },
		{ "work-dir", required_argument, NULL, 'w' },
		{ "criu-arg", required_argument, NULL, 'c' },
		{ "move-addr", required_argument, NULL, 'm' },
		{ "json", no_argument, NULL, 'j' },
		WIRE_TLS_LONGOPTS,
		{ "insecure", no_argument, NULL, 'I' },
		{ "commit-timeout", required_argument, NULL, 'T' },
		{ "settle-timeout", required_argument, NULL, 'S' },
		{ "postcopy", optional_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->max_downtime_ms = 200;
	o->max_rounds = 10;
	o->work_dir = "/tmp";
	o->commit_ms = 660000;	/* the receiver's default restore deadline + 1 min */
	o->settle_ms = 60000;
	o->postcopy = MIG_PC_AUTO;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (wire_tls_getopt(c, optarg, &o->tls))
			continue;
		switch (src_parse_precopy_opt(c, optarg, o)) {
		case 1: continue;
		case -1: return -1;
		}
		switch (c) {
		case 't':
			o->to = optarg;
			break;
		case 'K':
			o->keep_source = true;
			break;
		case 'E':
			if (strcmp(optarg, "podman") && strcmp(optarg, "runc")) {
				ferry_err("--engine %s: podman or runc", optarg);
				return -1;
			}
			o->runc = !strcmp(optarg, "runc");
			break;
		case 'R':
			if (optarg[0] != '/') {
				ferry_err("--runc-root %s: not an absolute path", optarg);
				return -1;
			}
			o->runc_root = optarg;
			break;
		case 'w':
			o->work_dir = optarg;
			break;
		case 'm': {
			char err[256];

			if (mig_addr_parse(optarg, &o->addr, err, sizeof(err))) {
				ferry_err("--move-addr: %s", err);
				return -1;
			}
			o->move = true;
			break;
		}
		case 'j':
			o->json = true;
			break;
		case 'I': o->insecure = true; break;
		case 'P':
			if (!optarg || !strcmp(optarg, "always"))
				o->postcopy = MIG_PC_ALWAYS;
			else if (!strcmp(optarg, "auto"))
				o->postcopy = MIG_PC_AUTO;
			else if (!strcmp(optarg, "never"))
				o->postcopy = MIG_PC_NEVER;
			else {
				ferry_err("--postcopy=%s: auto, always or never", optarg);
				return -1;
			}
			break;
		case 'T':
		case 'S':
			if (!ferry_parse_u64(optarg, 1, 86400, &v)) {
				ferry_err("bad --%s-timeout '%s' (seconds)", c == 'T' ? "commit" : "settle",
					  optarg);
				return -1;
			}
			*(c == 'T' ? &o->commit_ms : &o->settle_ms) = (int)v * 1000;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(FERRY_EXIT_OK);
		default:
			fputs(usage_text, stderr);
			return -1;
		}
	}
	if (o->container) {
		if (optind != argc) {
			ferry_err("--container takes the place of a PID (see --help)");
			return -1;
		}
		if (o->move || o->ncriu_args || o->postcopy == MIG_PC_ALWAYS) {
			ferry_err("--container: --move-addr, --criu-arg and --postcopy are for "
				  "process trees");
			return -1;
		}
	} else if (o->keep_source || o->runc || o->runc_root) {
		ferry_err("--keep-source, --engine and --runc-root are for --container");
		return -1;
	} else if (optind != argc - 1 || !ferry_parse_u64(argv[optind], 1, INT32_MAX, &v)) {
		ferry_err(optind >= argc ? "missing PID" : "bad PID (see --help)");
		return -1;
	} else {
		o->pid = (pid_t)v;
	}
	if (o->runc_root && !o->runc) {
		ferry_err("--runc-root is for --engine runc");
		return -1;
	}
	if (!o->runc_root)
		o->runc_root = CTR_RUNC_ROOT;
	if (!o->to) {
		ferry_err("missing --to HOST:PORT");
		return -1;
	}
	return 0;
}

int cmd_migrate(int argc, char **argv)
{
	struct wire_tls *tls = NULL;
	struct opts o;
	struct mig m;
	int ret, rc = FERRY_EXIT_FAIL;

	if (parse_opts(argc, argv, &o))
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
	if (!ret && m.nct)
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
