// SPDX-License-Identifier: GPL-2.0
/*
 * ferry migrate's command line (mig_src.h): its manual (--help) and its
 * options, checked before anything runs.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmds.h"
#include "ctr_runc.h"
#include "dirty_track.h"
#include "mig.h"
#include "mig_net.h"
#include "mig_policy.h"
#include "mig_src.h"
#include "util.h"
#include "wire.h"
#include "wire_tls.h"

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
"by address and port, after the restore, of tcp_connections_dumped; and\n"
"tcp_ended_dumped: connections that had ended (reset, or closed by both\n"
"sides) with bytes the tree had not read yet, which CRIU restores with\n"
"those bytes and an end of stream (a reset comes back as a close).\n"
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
	case 'G':
		if (strcmp(arg, "podman") && strcmp(arg, "runc")) {
			ferry_err("--engine %s: podman or runc", arg);
			return -1;
		}
		o->runc = !strcmp(arg, "runc");
		return 1;
	case 'R':
		return ctr_runc_root_opt(arg, &o->runc_root) ? -1 : 1;
	}
	return 0;
}

int src_parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{ "to", required_argument, NULL, 't' },
		{ "container", required_argument, NULL, 'C' },
		{ "engine", required_argument, NULL, 'G' },
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
