// SPDX-License-Identifier: GPL-2.0
/*
 * `ferry checkpoint PID --dir DIR`: one more version of a running tree in a
 * checkpoint store (ha_store.h), the tree frozen only for CRIU's final
 * step. The pre-copy rounds of `ferry migrate` run as they do there, while
 * the tree runs, but their pages go into the version's image chain on this
 * host (imgchain.h) instead of over a connection; CRIU then dumps, with
 * the tree frozen, only what changed since the last round, on top of that
 * chain, and leaves the tree running.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include "cmds.h"
#include "ctr.h"
#include "ctr_criuconf.h"
#include "ctr_runc.h"
#include "ha_export.h"
#include "ha_ship.h"
#include "ha_store.h"
#include "ha_store_int.h"
#include "imgchain.h"
#include "json.h"
#include "mig.h"
#include "mig_src.h"
#include "mig_tcp.h"
#include "pagestore.h"
#include "preflight.h"
#include "util.h"
#include "wire_store.h"
#include "wire_tls.h"

static const char usage_text[] =
"Usage: ferry checkpoint PID --dir DIR [OPTIONS]\n"
"       ferry checkpoint PID --to HOST:PORT [--dir DIR] [--name NAME] [OPTIONS]\n"
"       ferry checkpoint --container NAME|ID --dir DIR|--to HOST:PORT [OPTIONS]\n"
"       ferry checkpoint --container NAME|ID --export FILE [--dir DIR] [OPTIONS]\n"
"\n"
"Add one version of the running process tree rooted at PID to the\n"
"checkpoint store DIR (made if missing). The tree keeps running: its memory\n"
"is copied in rounds while it runs (as `ferry migrate` does), then CRIU\n"
"freezes it only to dump what changed since the last round, and resumes it.\n"
"\n"
"A version is written as DIR/.v-N.tmp, every file checksummed into its\n"
"MANIFEST and flushed to disk, then published as DIR/v-N by a rename: a\n"
"checkpoint that dies midway leaves no version behind, only a .tmp that the\n"
"next checkpoint removes. One checkpoint writes to a store at a time.\n"
"Each version restores on its own (`ferry restore --dir DIR`).\n"
"\n"
"With --container, the version is of a running Podman container (rootful,\n"
"cgroup v2): its memory is copied in rounds while it runs, then its cgroup\n"
"is frozen and its network locked while `podman container checkpoint\n"
"--with-previous --leave-running --export` writes what changed since the\n"
"last round (and its root file system changes and named volumes) into the\n"
"version's final/, and it runs on. `ferry restore --dir` brings it back\n"
"with Podman (same ID and name; the image must be there). A Podman\n"
"container's versions always stand alone.\n"
"\n"
"With --engine runc, the container is a plain runc container (ID as runc\n"
"names it, under --runc-root): the rounds as above, then `runc checkpoint\n"
"--leave-running` of its frozen cgroup writes what changed into final/, on\n"
"top of the rounds, as for a tree. Its bundle (config.json and its root) is\n"
"not copied: the version names it, with config.json's SHA-256, and `ferry\n"
"restore --dir` brings the container back with `runc restore` on a host\n"
"that sees that bundle at the same path (on storage both hosts share, to\n"
"restore on another host) with the same config.json. The versions of\n"
"`ferry ha` of a runc container build on each other as a tree's do.\n"
"\n"
"With --export, the container's version is also written to FILE as Podman's\n"
"checkpoint archive (checkpoint/ with CRIU's images, config.dump,\n"
"spec.dump, network.status, rootfs-diff.tar, ...), its checkpoint/ holding\n"
"every page (the rounds' too), so that `podman container restore --import\n"
"FILE` or `ferry restore --import FILE` restores it on a host with the\n"
"image, and tools that read Podman's layout (CRI-O) can take it. FILE is\n"
"written beside itself and renamed into place once flushed.\n"
"\n"
"With --to, the version is also sent to `ferry receive --store` on HOST, so\n"
"that it outlives this host: with what it builds on that HOST lacks, over\n"
"TLS, checked there against its manifest and published there before this\n"
"command reports success. The local store (--dir, by default\n"
"/var/lib/ferry/checkpoints/NAME) is where versions are built and what the\n"
"next one builds on. On HOST the chain is STORE/NAME; after this host died,\n"
"`ferry restore --dir STORE/NAME` there brings the tree back.\n"
"\n"
"Options:\n"
"  --dir DIR            the checkpoint store\n"
"  --container NAME|ID  a Podman container instead of a PID\n"
"  --engine podman|runc its engine (default podman; runc: a plain runc\n"
"                       container, ID as runc names it)\n"
"  --runc-root DIR      runc's --root for --engine runc (default /run/runc)\n"
"  --to HOST:PORT       also keep the version on HOST (`ferry receive --store`)\n"
"  --export FILE        also write it as Podman's archive (--container only)\n"
"  --name NAME          the chain's name there ([A-Za-z0-9._-], at most 64;\n"
"                       default: the container's name, or the process's name\n"
"                       and PID, e.g. redis-4242)\n"
"  --tls-cacert, --tls-cacrl, --tls-cert, --tls-key FILE\n"
"                       as for `ferry migrate` (defaults in /etc/ferry/pki)\n"
"  --insecure           plain TCP to HOST, nobody authenticated: the\n"
"                       tree's memory crosses the network in clear\n"
"  --max-downtime MS    the frozen time to aim for (default 200)\n"
"  --max-rounds N       at most N copy rounds before the freeze (default 10)\n"
"  --backend B          dirty tracking: module, pagemap-scan, soft-dirty, auto\n"
"                       (default auto)\n"
"  --criu-arg ARG       pass ARG to `criu dump` (repeatable)\n"
"  --json               print one JSON object (CRIU's stat names)\n"
"  -h, --help           this text\n"
"\n"
"TCP connections are dumped with the tree (--tcp-established, the network\n"
"locked only while CRIU dumps) and stay open here; a restore from the store\n"
"(on this host or another, after this one died) brings them back closed.\n"
"CRIU 3.17 fails on a send queue whose first packet is partly acknowledged\n"
"(\"recv failed (N, want M)\" in its log; the kernel clears that state\n"
"within a round trip or a retransmission): the version of a process tree\n"
"is then tried once more, whole, as soon as none of its connections has\n"
"retransmitted data unacknowledged (at most 30 s later; a container's is\n"
"not retried).\n"
"\n"
"Exit status: 0 the version was published (and, with --to, stored on HOST);\n"
"1 it failed (no version added, the tree runs on), or with --to it is only\n"
"in the local store, or with --export FILE was not written; 2 bad usage;\n"
"4 no such process; 5 not permitted.\n";

static const char ha_usage_text[] =
"Usage: ferry ha PID|--container NAME|ID --dir DIR|--to HOST:PORT [--interval S]\n"
"                [--keep N] [OPTIONS]\n"
"\n"
"Checkpoint the process tree rooted at PID into the store DIR every S\n"
"seconds (default 300), as `ferry checkpoint` does once, keeping the newest\n"
"N versions (default 3). Runs in the foreground, one progress line per\n"
"step, until the tree exits or a signal (SIGINT, SIGTERM) stops it (a\n"
"version being written is then abandoned, the tree resumed).\n"
"\n"
"Versions after the first are incremental: the tree stays claimed between\n"
"them (no other ferry may clear its soft-dirty bits), so a version copies\n"
"only the pages written since the one before and builds on it (`ferry\n"
"versions` shows its BASE). A process that is new in the tree is copied\n"
"whole. When a version fails, the next one is whole again (one that failed\n"
"on a TCP send queue in flux is retried once its connections recovered, as\n"
"`ferry checkpoint` says). A container's versions build on each other too\n"
"(a Podman version keeps its final dump's memory images beside Podman's\n"
"archive for the next one).\n"
"\n"
"Retention: once a version is published, the oldest beyond N is removed;\n"
"the version that builds on it is first folded (rewritten with the pages\n"
"it took from it, in one rename), so every version kept restores. A fold\n"
"that fails keeps the old version. A restore always finds N complete\n"
"versions or fewer, never none after the first.\n"
"\n"
"Options: those of `ferry checkpoint`, and\n"
"  --interval S         seconds from the start of one version to the next\n"
"  --keep N             versions kept (1..1000)\n"
"  --count N            stop after N versions (written or failed)\n"
"\n"
"Exit status: 0 stopped by a signal or --count with every version written;\n"
"1 some version failed; 2 bad usage; 4 the tree is gone.\n";

struct ckpt_opts {
	struct opts o;
	const char *dir;
	unsigned int interval_s, keep;	/* ferry ha */
	uint64_t count;
	char name[WIRE_CHAIN_MAX + 1];	/* --name: the chain on --to's host */
	char dirbuf[128];
	struct wire_tls *tls;
	bool shipped;			/* the last version reached --to's host */
	struct ha_ship_stats ship;
	const char *export;		/* --export FILE */
	bool exported;
	struct ha_export_stats exp;
	bool tcp_in_flux;		/* the last version failed in libsoccr only */
};

/*
 * CRIU 3.17's libsoccr failed on a connection's send queue: get_queue()
 * (soccr/soccr.c, "recv failed (N, want M)") peeks the whole skbs of the
 * retransmit queue (tcp_peek_sndq) but expects write_seq - snd_una bytes
 * (SIOCOUTQ). They differ while the head skb is partly acknowledged and
 * untrimmed: tcp_clean_rtx_queue() trims only multi-segment skbs, and a
 * retransmission that collapsed small skbs into one, then acked only up to
 * an original segment's end, leaves one (losses make such retransmissions:
 * CRIU's own network lock, a version earlier, drops packets). The kernel trims
 * the skb at its next retransmission or frees it at the full ACK; CRIU
 * resumed the tree and unlocked its connections, so a new whole version
 * can succeed. (ferry.ko's export starts at snd_una inside that skb.)
 */
static bool criu_sndq_in_flux(const struct mig *m)
{
	return m->log[0] && mig_log_has(m->log, "soccr", "recv failed (");
}

/* The retry waits for the tree's connections to have no retransmitted
 * data unacknowledged (the skb is trimmed by its next retransmission and
 * freed at the full ACK), polled this often, at most this long: after
 * CRIU's lock a connection's retransmission timer may be backed off for
 * seconds. A peer that is gone never lets its connection recover: the
 * version is tried anyway when the time is up. */
#define TCP_FLUX_POLL_MS	200
#define TCP_FLUX_WAIT_MS	30000

#define LOCAL_STORES	"/var/lib/ferry/checkpoints"
_Static_assert(WIRE_CHAIN_MAX == HA_CHAIN_MAX, "a chain name fits STORE_OPEN");

/* The default chain name: the process's name and PID, in the characters
 * a store name may hold. */
static void default_name(pid_t pid, char *out, size_t len)
{
	char path[64], comm[32] = "";
	size_t k = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "re");
	if (f) {
		if (!fgets(comm, sizeof(comm), f))
			comm[0] = 0;
		fclose(f);
	}
	for (size_t i = 0; comm[i] && comm[i] != '\n' && k < 24; i++) {
		char ch = comm[i];

		if (!ha_name_char(ch))
			ch = '_';
		if (k || ch != '.')
			comm[k++] = ch;
	}
	comm[k] = 0;
	snprintf(out, len, "%s%s%d", comm, k ? "-" : "pid-", pid);
}

static int parse(int argc, char **argv, struct ckpt_opts *co, bool ha)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'D' },
		{ "to", required_argument, NULL, 't' },
		{ "max-downtime", required_argument, NULL, 'd' },
		{ "max-rounds", required_argument, NULL, 'r' },
		{ "backend", required_argument, NULL, 'b' },
		{ "criu-arg", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "interval", required_argument, NULL, 'i' },
		{ "keep", required_argument, NULL, 'k' },
		{ "count", required_argument, NULL, 'n' },
		{ "name", required_argument, NULL, 'N' },
		{ "container", required_argument, NULL, 'C' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "export", required_argument, NULL, 'E' },
		{ "engine", required_argument, NULL, 'G' },
		{ "runc-root", required_argument, NULL, 'R' },
		WIRE_TLS_LONGOPTS,
		{ NULL, 0, NULL, 0 },
	};
	const char *usage = ha ? ha_usage_text : usage_text;
	struct opts *o = &co->o;
	uint64_t v;
	int c;

	memset(co, 0, sizeof(*co));
	o->max_downtime_ms = 200;
	o->max_rounds = 10;
	co->interval_s = 300;
	co->keep = 3;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (wire_tls_getopt(c, optarg, &o->tls))
			continue;
		if (!ha && (c == 'i' || c == 'k' || c == 'n')) {
			ferry_err("--interval, --keep and --count are for `ferry ha`");
			return -1;
		}
		if (ha && c == 'E') {
			ferry_err("--export is for `ferry checkpoint`");
			return -1;
		}
		switch (src_parse_precopy_opt(c, optarg, o)) {
		case 1: continue;
		case -1: return -1;
		}
		switch (c) {
		case 'i':
			if (!ferry_parse_u64(optarg, 1, 86400 * 7, &v)) {
				ferry_err("bad --interval '%s' (seconds)", optarg);
				return -1;
			}
			co->interval_s = (unsigned int)v;
			break;
		case 'k':
			if (!ferry_parse_u64(optarg, 1, 1000, &v)) {
				ferry_err("bad --keep '%s' (1..1000)", optarg);
				return -1;
			}
			co->keep = (unsigned int)v;
			break;
		case 'n':
			if (!ferry_parse_u64(optarg, 1, UINT32_MAX, &co->count)) {
				ferry_err("bad --count '%s'", optarg);
				return -1;
			}
			break;
		case 'D':
			co->dir = optarg;
			break;
		case 't':
			o->to = optarg;
			break;
		case 'N':
			if (!ha_chain_name_ok(optarg)) {
				ferry_err("bad --name '%s' ([A-Za-z0-9._-], 1..%d, not starting "
					  "with a dot)", optarg, WIRE_CHAIN_MAX);
				return -1;
			}
			snprintf(co->name, sizeof(co->name), "%s", optarg);
			break;
		case 'I':
			o->insecure = true;
			break;
		case 'E':
			if (!optarg[0]) {
				ferry_err("bad --export '' (a file name)");
				return -1;
			}
			co->export = optarg;
			break;
		case 'j':
			o->json = true;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(FERRY_EXIT_OK);
		default:
			fputs(usage, stderr);
			return -1;
		}
	}
	if (co->o.container) {
		if (optind != argc) {
			ferry_err("a PID or --container, not both");
			return -1;
		}
	} else if (optind != argc - 1 || !ferry_parse_u64(argv[optind], 1, INT32_MAX, &v)) {
		ferry_err(optind >= argc ? "missing PID (or --container)" : "bad PID (see --help)");
		return -1;
	} else {
		o->pid = (pid_t)v;
	}
	if (!co->dir && !o->to && !co->export) {
		ferry_err(ha ? "missing --dir DIR or --to HOST:PORT" :
			  "missing --dir DIR, --to HOST:PORT or --export FILE");
		return -1;
	}
	if (co->export && (!co->o.container || o->runc)) {
		ferry_err("--export goes with --container of Podman (Podman's archive of a "
			  "container)");
		return -1;
	}
	if (co->o.container && o->ncriu_args) {
		ferry_err("--criu-arg does not apply to --container (%s runs CRIU)",
			  o->runc ? "runc" : "Podman");
		return -1;
	}
	if (!co->o.container && (o->runc || o->runc_root)) {
		ferry_err("--engine and --runc-root are for --container");
		return -1;
	}
	if (o->runc_root && !o->runc) {
		ferry_err("--runc-root is for --engine runc");
		return -1;
	}
	if (!o->runc_root)
		o->runc_root = CTR_RUNC_ROOT;
	if (!o->to && (co->name[0] || o->insecure)) {
		ferry_err("--name and --insecure go with --to");
		return -1;
	}
	/* the chain's name: on --to's host, and for the default local store */
	if ((o->to || !co->dir) && !co->name[0] && co->o.container &&
	    ha_chain_name_ok(co->o.container))
		snprintf(co->name, sizeof(co->name), "%s", co->o.container);
	else if ((o->to || !co->dir) && !co->name[0] && co->o.container)
		snprintf(co->name, sizeof(co->name), "container");
	else if ((o->to || !co->dir) && !co->name[0])
		default_name(o->pid, co->name, sizeof(co->name));
	if (!co->dir) {
		snprintf(co->dirbuf, sizeof(co->dirbuf), "%s/%s", LOCAL_STORES, co->name);
		co->dir = co->dirbuf;
	}
	return 0;
}

/*
 * The final dump's parent link names the pagemap-only parent the source
 * side builds (src_prepare_final); in a version it names the chain's
 * newest round, which holds those pages.
 */
static int relink_parent(struct mig *m, const char *top)
{
	char link[4300], target[64];

	snprintf(link, sizeof(link), "%s/parent", m->final_dir);
	snprintf(target, sizeof(target), "../%s", top);
	if (unlink(link) && errno != ENOENT)
		return src_seterr(m, -errno, "%s: %s", link, strerror(errno));
	if (symlink(target, link))
		return src_seterr(m, -errno, "symlink %s: %s", link, strerror(errno));
	mig_rmtree(m->parent_dir);
	return 0;
}

/*
 * A Podman container's final dump is in Podman's archive: its memory
 * images are unpacked beside it, in final/, so that final/ holds what a
 * tree's does for the next version to build on (its pagemaps, read by
 * base_seed(), and pages, which r0/parent -> ../../v-N/final leads CRIU,
 * the lazy-pages server and a fold to). The rest stays in the archive,
 * which restore and export take as it is.
 */
static int podman_memory(struct mig *m)
{
	char arch[4400], log[4300];
	int ret;

	snprintf(arch, sizeof(arch), "%s/%s", m->final_dir, CTR_ARCHIVE_NAME);
	snprintf(log, sizeof(log), "%s/archive-tar.log", m->dir);
	ret = ctr_archive_memory(arch, m->final_dir, log, m->err, sizeof(m->err));
	if (!ret)
		unlink(log);
	return ret;
}

static void report(const struct ckpt_opts *co, const struct mig *m, const struct ha_meta *meta,
		   const char *vdir)
{
	struct json j;

	if (!m->o->json) {
		char on[48] = "";

		if (meta->base)
			snprintf(on, sizeof(on), ", on top of version %u", meta->base);
		src_progress("version %u of %d published: %s (%.1f MiB%s, %u round%s, frozen %llu ms)",
			     meta->version, m->o->pid, vdir, meta->bytes / 1048576.0, on, meta->rounds,
			     meta->rounds == 1 ? "" : "s",
			     (unsigned long long)(meta->frozen_time / 1000));
		return;
	}
	json_init(&j, stdout);
	json_obj_open(&j, NULL);
	json_u64(&j, "pid", (uint64_t)m->o->pid);
	json_u64(&j, "version", meta->version);
	json_u64(&j, "base", meta->base);
	json_str(&j, "dir", vdir);
	json_u64(&j, "created", meta->created);
	json_u64(&j, "rounds", meta->rounds);
	json_str(&j, "round_stop", mig_decision_name(m->why));
	json_str(&j, "backend", m->backend_name);
	json_u64(&j, "pages_precopied", meta->pages_precopied);
	json_u64(&j, "bytes", meta->bytes);
	json_u64(&j, "tcp_connections", meta->tcp_connections);
	json_u64(&j, "total_ms", (ferry_now_ns() - m->t0) / 1000000);
	json_obj_open(&j, "final");
	json_u64(&j, "freezing_time", m->ds.freezing_time);
	json_u64(&j, "frozen_time", m->ds.frozen_time);
	json_u64(&j, "memdump_time", m->ds.memdump_time);
	json_u64(&j, "memwrite_time", m->ds.memwrite_time);
	json_u64(&j, "pages_scanned", m->ds.pages_scanned);
	json_u64(&j, "pages_skipped_parent", m->ds.pages_skipped_parent);
	json_u64(&j, "pages_written", m->ds.pages_written);
	json_obj_close(&j);
	if (m->o->to) {
		json_obj_open(&j, "stored");
		json_str(&j, "to", m->o->to);
		json_str(&j, "chain", co->name);
		json_bool(&j, "ok", co->shipped);
		json_u64(&j, "versions_sent", co->ship.versions);
		json_u64(&j, "bytes", co->ship.bytes);
		json_u64(&j, "wire_bytes", co->ship.wire_bytes);
		json_u64(&j, "ms", co->ship.ms);
		json_obj_close(&j);
	}
	if (co->export) {
		json_obj_open(&j, "export");
		json_str(&j, "file", co->export);
		json_bool(&j, "ok", co->exported);
		json_u64(&j, "bytes", co->exp.bytes);
		json_u64(&j, "ms", co->exp.ms);
		json_obj_close(&j);
	}
	json_obj_close(&j);
	json_end(&j);
}

/* Version v, a container's, into --export's FILE too. */
static void export(struct ckpt_opts *co, const char *vdir, const struct ha_meta *meta)
{
	char err[4200];

	co->exported = !ha_export_container(vdir, meta, co->export, &co->exp, err, sizeof(err));
	if (!co->exported)
		ferry_err("version %u is in %s but not exported: %s", meta->version, vdir, err);
	else
		src_progress("version %u exported to %s as Podman's checkpoint archive (%.1f MiB, "
			     "%llu ms): `podman container restore --import %s`", meta->version,
			     co->export, co->exp.bytes / 1048576.0, (unsigned long long)co->exp.ms,
			     co->export);
}

/* Version v, published here, to --to's host too; co->shipped says if it
 * got there. */
static void ship(struct ckpt_opts *co, struct ha_store *st, uint32_t v)
{
	struct ha_ship_opts so = {
		.to = co->o.to, .chain = co->name, .keep = co->keep, .tls = co->tls,
		.timeout_ms = MIG_REPLY_TIMEOUT_MS,
	};
	char err[4200];

	co->shipped = !ha_ship(st, v, &so, &co->ship, err, sizeof(err));
	if (!co->shipped) {
		ferry_err("version %u is in %s but not on %s: %s", v, st->dir, co->o.to, err);
		return;
	}
	if (!co->ship.versions)
		src_progress("version %u: %s had it already", v, co->o.to);
	else
		src_progress("version %u stored on %s as %s/v-%u (%u version%s, %.1f MiB, "
			     "%.1f MiB on the wire, %llu ms)", v, co->o.to, co->name, v,
			     co->ship.versions, co->ship.versions == 1 ? "" : "s",
			     co->ship.bytes / 1048576.0, co->ship.wire_bytes / 1048576.0,
			     (unsigned long long)co->ship.ms);
}

/*
 * Image sets CRIU may follow from a version's final dump: a chain deeper
 * than this makes the next version whole (ferry's lazy-pages server
 * follows at most 256).
 */
#define MAX_CHAIN_DEPTH	200u

/*
 * One version of co's tree into the open (locked) store st. 0 published
 * (*meta filled), else -errno with m's reason printed; the tree runs on
 * either way, and a failed version leaves nothing in the store.
 *
 * base (`ferry ha`, NULL for one checkpoint): the version to build on,
 * replaced by this one when it is published, dropped when it fails (the
 * next version is then whole: this one's clears are in no version).
 */
static int checkpoint_once(struct ckpt_opts *co, struct ha_store *st, struct ha_meta *meta,
			   struct src_base *base)
{
	struct imgchain_stats is;
	struct statvfs sv;
	char vdir[4200];
	unsigned int swept;
	uint32_t version = 0;
	struct mig m;
	int ret;

	memset(&m, 0, sizeof(m));
	memset(meta, 0, sizeof(*meta));
	co->tcp_in_flux = false;
	m.o = &co->o;
	m.fd = -1;
	m.t0 = ferry_now_ns();
	m.base = base && base->version ? base : NULL;
	if (co->o.container) {
		/* looked up each time: its init as this host sees it now */
		m.ctr = calloc(1, sizeof(*m.ctr));
		if (!m.ctr)
			ret = -ENOMEM;
		else if (co->o.runc)
			ret = ctr_runc_inspect(co->o.runc_root, co->o.container, m.ctr, m.err,
					       sizeof(m.err));
		else
			ret = ctr_inspect(co->o.container, m.ctr, m.err, sizeof(m.err));
		if (!ret && !co->o.runc)
			ret = ctr_volumes(m.ctr, m.err, sizeof(m.err));
		if (!ret && co->o.runc && strlen(m.ctr->w.bundle) >= HA_RUNC_BUNDLE_MAX)
			ret = src_seterr(&m, -ENAMETOOLONG, "runc container %s: its bundle's path "
					 "is longer than a version records (%d bytes)",
					 co->o.container, HA_RUNC_BUNDLE_MAX - 1);
		if (ret == -ENOENT)
			ret = -ESRCH;
		if (ret)
			goto out;
		co->o.pid = m.ctr->pid;
	}
	ret = ha_store_begin(st, &version, &swept, m.dir, sizeof(m.dir), m.err, sizeof(m.err));
	if (ret)
		goto out;
	if (swept)
		src_progress("removed %u incomplete version%s left by a checkpoint that died",
			     swept, swept == 1 ? "" : "s");
	src_progress("version %u of %d: writing %s", version, co->o.pid, m.dir);
	/* the disk is the destination: the rounds stop before they fill it */
	if (!statvfs(co->dir, &sv))
		m.budget = (uint64_t)sv.f_bavail * sv.f_frsize / 10 * 9;
	ret = pagestore_open(&m.sent, NULL);
	if (!ret)
		ret = imgchain_open(&m.store, m.dir, m.err, sizeof(m.err));
	if (ret)
		goto out;
	ret = src_open_trackers(&m);
	if (ret)
		goto out;
	src_progress("tracking %zu process%s with the %s backend", m.npids, m.npids == 1 ? "" : "es",
		     m.backend_name);
	ret = src_precopy(&m);
	if (!ret && m.ctr) {
		/* the engine's checkpoint on top of the rounds, frozen (and its
		 * network locked) only for that; then it runs on */
		ret = src_ctr_final(&m);
		src_ctr_resume(&m);
		if (co->o.runc) {
			/* runc's work dir is no part of the version: its
			 * statistics are read, CRIU's errors are in m.err */
			char work[sizeof(m.dir) + 16];

			snprintf(work, sizeof(work), "%s/" CTR_RUNC_WORK_NAME, m.dir);
			mig_rmtree(work);
		}
	} else if (!ret) {
		ret = src_final_dump(&m);
	}
	if (ret)
		goto out;
	imgchain_stats(m.store, &is);
	snprintf(meta->top, sizeof(meta->top), "%s", imgchain_top(m.store));
	imgchain_close(m.store);	/* its files are complete */
	m.store = NULL;
	if (m.ctr && !co->o.runc)	/* runc's final/ is a tree's */
		ret = podman_memory(&m);
	if (!ret)
		ret = relink_parent(&m, meta->top);
	if (!ret && m.tcp && !m.ctr)
		ret = mig_tcp_read_images(m.final_dir, &m.conns, &m.nconns);
	if (ret)
		goto out;
	meta->version = version;
	meta->created = (uint64_t)time(NULL);
	meta->root = (uint32_t)co->o.pid;
	meta->rounds = (uint32_t)m.nrounds;
	meta->pages_precopied = is.cover_pages;
	meta->pages_written = m.ds.pages_written;
	meta->pages_skipped_parent = m.ds.pages_skipped_parent;
	meta->frozen_time = m.ds.frozen_time;
	meta->tcp_connections = (uint32_t)m.nconns;
	meta->base = m.on_base ? m.base->version : 0;
	if (m.ctr) {
		if (!m.have_ds)	/* Podman kept no statistics: the freeze as timed */
			meta->frozen_time = (m.t_dumped - m.t_freeze) / 1000;
		snprintf(meta->container_name, sizeof(meta->container_name), "%s", m.ctr->w.name);
	}
	if (m.ctr && co->o.runc) {
		meta->runc = true;
		/* its length checked after ctr_runc_inspect() */
		memcpy(meta->runc_bundle, m.ctr->w.bundle, strlen(m.ctr->w.bundle) + 1);
		memcpy(meta->runc_config, m.ctr->w.image, sizeof(meta->runc_config));
	} else if (m.ctr) {
		memcpy(meta->container, m.ctr->w.id, sizeof(meta->container));
	}
	ret = ha_store_publish(st, meta, m.err, sizeof(m.err));
	if (ret)
		goto out;
	ha_store_path(st, version, vdir, sizeof(vdir));
	/* said once it is here; JSON, one object, once it is there too */
	if (!m.o->json)
		report(co, &m, meta, vdir);
	if (co->o.to)
		ship(co, st, version);
	if (co->export)
		export(co, vdir, meta);
	if (m.o->json)
		report(co, &m, meta, vdir);
	if (base) {
		unsigned int depth = meta->rounds + 1 + (m.on_base ? m.base->depth : 0);

		if (depth + co->o.max_rounds + 1 > MAX_CHAIN_DEPTH) {
			src_base_drop(base);
			src_progress("the next version stands alone (%u image sets in this chain)",
				     depth);
		} else if (src_base_take(base, &m, version, vdir, depth)) {
			src_base_drop(base);
		} else if (!base->n) {
			src_progress("no process stayed tracked through version %u: the next "
				     "version stands alone", version);
		}
	}
	goto cleanup;
out:
	ferry_err("checkpoint of %d failed: %s (no version added; the tree runs on)", co->o.pid,
		  m.err[0] ? m.err : strerror(-ret));
	co->tcp_in_flux = !m.ctr && criu_sndq_in_flux(&m);
	if (version)
		ha_store_abandon(st, version);
	if (base)
		src_base_drop(base);
cleanup:
	src_close_trackers(&m);
	src_release_claims(&m);
	if (m.store)
		imgchain_close(m.store);
	free(m.tr);
	free(m.pids);
	free(m.conns);
	free(m.frozen_pids);
	free(m.ctr);
	pagestore_close(m.sent, false);
	return ret;
}

/* Wait until none of pid's tree's connections is recovering from losses,
 * at most TCP_FLUX_WAIT_MS: how long it waited (ms). Without sock_diag it
 * waits 2 s. */
static uint64_t wait_recovered(pid_t pid)
{
	uint64_t t0 = ferry_now_ns(), waited = 0;
	int last = -1;

	while (!ferry_interrupted && waited < TCP_FLUX_WAIT_MS) {
		pid_t *pids = NULL;
		size_t n = 0;
		int busy = pf_tree_pids(pid, &pids, &n);

		if (!busy)
			busy = mig_tcp_tree_recovering(pids, n);
		free(pids);
		if (busy == 0)
			break;
		if (busy < 0 && waited >= 2000)
			break;
		if (busy > 0 && busy != last)
			src_progress("%d connection%s of %d still retransmitting: waiting (at most %d s)",
				     busy, busy == 1 ? "" : "s", (int)pid, TCP_FLUX_WAIT_MS / 1000);
		last = busy;
		usleep(TCP_FLUX_POLL_MS * 1000);
		waited = (ferry_now_ns() - t0) / 1000000;
	}
	return waited;
}

/* A version that failed only because a send queue was in flux, once more
 * when the connections recovered (a whole version: the failed one dropped
 * base). */
static int retry_in_flux(struct ckpt_opts *co, struct ha_store *st, struct ha_meta *meta,
			 struct src_base *base, int ret)
{
	uint64_t waited;

	if (!ret || !co->tcp_in_flux || ferry_interrupted)
		return ret;
	src_progress("CRIU met a TCP send queue in flux (a partly acknowledged packet): the "
		     "version once more when the connections have recovered");
	waited = wait_recovered(co->o.pid);
	if (ferry_interrupted)
		return ret;
	src_progress("trying again after %llu ms", (unsigned long long)waited);
	return checkpoint_once(co, st, meta, base);
}

static int exit_code(int ret)
{
	int rc = ret == -ESRCH ? FERRY_EXIT_NOPROC : ferry_exit_from_errno(ret);

	return rc == FERRY_EXIT_USAGE || rc == FERRY_EXIT_OK ? FERRY_EXIT_FAIL : rc;
}

/* Open the store as its one writer; a reason printed on failure. */
static int open_store(struct ckpt_opts *co, struct ha_store *st)
{
	char err[4200];
	int ret;

	signal(SIGPIPE, SIG_IGN);
	src_catch_signals();
	if (kill(co->o.pid, 0) && errno == ESRCH) {
		ferry_err("no such process: %d", co->o.pid);
		return -ESRCH;
	}
	if (co->dir == co->dirbuf) {	/* the default local store */
		mkdir("/var/lib/ferry", 0755);
		mkdir(LOCAL_STORES, 0700);
	}
	if (co->o.to && !co->o.insecure) {
		ret = wire_tls_load(&co->tls, &co->o.tls, false, err, sizeof(err));
		if (ret) {
			ferry_err("%s", err);
			return ret;
		}
	}
	if (co->o.to && co->o.insecure)
		ferry_warn("--insecure: versions cross the network to %s in clear and it is not "
			   "authenticated", co->o.to);
	ret = ha_store_open(st, co->dir, true, true, err, sizeof(err));
	if (ret) {
		ferry_err("%s", err);
		ha_store_close(st);
		wire_tls_free(co->tls);
		co->tls = NULL;
	}
	return ret;
}

int cmd_checkpoint(int argc, char **argv)
{
	struct ckpt_opts co;
	struct ha_store st;
	struct ha_meta meta;
	int ret;

	if (parse(argc, argv, &co, false))
		return FERRY_EXIT_USAGE;
	co.keep = 1000;	/* --to's host retires nothing this store keeps */
	ret = open_store(&co, &st);
	if (ret)
		return exit_code(ret);
	ret = checkpoint_once(&co, &st, &meta, NULL);
	ret = retry_in_flux(&co, &st, &meta, NULL, ret);
	ha_store_close(&st);
	wire_tls_free(co.tls);
	if (ret)
		return exit_code(ret);
	if ((co.o.to && !co.shipped) || (co.export && !co.exported))
		return FERRY_EXIT_FAIL;
	return FERRY_EXIT_OK;
}

int cmd_ha(int argc, char **argv)
{
	struct ckpt_opts co;
	struct ha_store st;
	struct ha_meta meta;
	struct src_base base = { 0 };
	uint64_t done = 0, failed = 0;
	char what[300];
	int ret = 0;

	if (parse(argc, argv, &co, true))
		return FERRY_EXIT_USAGE;
	ret = open_store(&co, &st);
	if (ret)
		return exit_code(ret);
	if (co.o.container)
		snprintf(what, sizeof(what), "container %s", co.o.container);
	else
		snprintf(what, sizeof(what), "%d", co.o.pid);
	src_progress("checkpointing %s into %s%s%s%s%s every %u s, keeping %u version%s", what,
		     co.dir, co.o.to ? " and " : "", co.o.to ? co.o.to : "", co.o.to ? " as " : "",
		     co.o.to ? co.name : "", co.interval_s, co.keep, co.keep == 1 ? "" : "s");
	while (!ferry_interrupted) {
		uint64_t next = ferry_now_ns() + (uint64_t)co.interval_s * 1000000000ull;

		ret = checkpoint_once(&co, &st, &meta, &base);
		ret = retry_in_flux(&co, &st, &meta, &base, ret);
		if (ret == -ESRCH || (ret && kill(co.o.pid, 0) && errno == ESRCH)) {
			ret = -ESRCH;
			ferry_err("process %d is gone: no more versions", co.o.pid);
			break;
		}
		if (ret == -EINTR)
			break;
		/* a failed version is retried at the next interval: the
		 * versions already kept stay as they are */
		if (ret)
			failed++;
		else if (co.o.to && !co.shipped)
			failed++, ha_store_prune(&st, co.keep, src_progress);
		else
			done++, ha_store_prune(&st, co.keep, src_progress);
		if (co.count && done + failed >= co.count)
			break;
		while (!ferry_interrupted && ferry_now_ns() < next)
			usleep(100000);
	}
	src_base_drop(&base);
	ha_store_close(&st);
	wire_tls_free(co.tls);
	src_progress("%llu version%s written, %llu failed", (unsigned long long)done,
		     done == 1 ? "" : "s", (unsigned long long)failed);
	if (ret == -ESRCH)
		return FERRY_EXIT_NOPROC;
	return failed ? FERRY_EXIT_FAIL : FERRY_EXIT_OK;
}
