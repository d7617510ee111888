// SPDX-License-Identifier: GPL-2.0
/*
 * ferry receive: the destination of `ferry migrate`. The server: options,
 * one process per connection (recv_session.c), a limit on how many run at
 * once. See usage_text.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "ctr_runc.h"
#include "cmds.h"
#include "mig_net.h"
#include "preflight.h"
#include "recv.h"
#include "recv_policy.h"
#include "recv_outcome.h"
#include "util.h"
#include "wire_tls.h"

static const char usage_text[] =
"Usage: ferry receive --listen ADDR:PORT [OPTIONS]\n"
"\n"
"Accept process trees migrated by `ferry migrate` and restore them here\n"
"with CRIU. For each migration: answer the source's pre-flight (are the\n"
"tree's files here, the same, is there memory, disk and a working CRIU, are\n"
"its PIDs free) and end the session when anything fails there; store the\n"
"pre-copied pages within the disk budget agreed at pre-flight, turn them\n"
"into CRIU parent images while the source dumps, receive the final images\n"
"and restore them. The restore goes through a CRIU worker (`criu swrk`,\n"
"CRIU's RPC) started once pre-flight has passed, so that starting CRIU is\n"
"not part of the downtime; when the worker is gone, `criu restore` runs\n"
"instead. The source kills its copy only after this side reports the tree\n"
"running; a migration that fails or is aborted leaves nothing behind. Until\n"
"the report is sent a guard process watches the session: if it dies\n"
"(SIGKILL, a crash) the guard kills the restored tree and removes a moved\n"
"address.\n"
"\n"
"With --store DIR it also keeps checkpoints: `ferry checkpoint` and `ferry\n"
"ha` with --to send each version they write to this host, which keeps the\n"
"versions of each chain in a checkpoint store of its own, DIR/NAME (NAME\n"
"being the sender's --name), so that they outlive the host they were taken\n"
"on: `ferry versions --dir DIR/NAME` lists them and `ferry restore --dir\n"
"DIR/NAME` restores the newest complete one, here. A version arrives whole\n"
"with what it builds on that is not here yet; it is checked against its\n"
"manifest (every file, every MiB), flushed to disk and published by a\n"
"rename, and only then acknowledged; retention folds and removes versions\n"
"by the sender's --keep, as its own store does. A version is refused when\n"
"it does not fit the disk less 5 %% and less what the other sessions were\n"
"granted; a chain is written by one session at a time and belongs to the\n"
"certificate name that first wrote to it.\n"
"\n"
"A container (`ferry migrate --container`) is restored by Podman here: the\n"
"source first asks whether Podman has its image (same ID) and whether its\n"
"ID and name are free, and the session ends if not. Its pre-copied pages\n"
"become the parent of Podman's checkpoint archive, and `podman container\n"
"restore --import ARCHIVE --import-previous` restores it, eagerly (Podman\n"
"has no lazy restore). If Podman fails, whatever it created is removed.\n"
"Podman's checkpoint on the source can take longer than the default\n"
"--phase-timeout on a slow host.\n"
"\n"
"A plain runc container (`--engine runc` on the source) is restored by runc\n"
"here, under --runc-root, with `runc restore --detach` on top of its\n"
"pre-copied images. Its bundle must be at the same path here, on storage\n"
"both hosts share: the source makes a marker file in it that must be seen\n"
"here, config.json must be the same (SHA-256), and neither a runc container\n"
"of that ID nor its cgroup may exist. Its standard input is /dev/null; its\n"
"output and runc's go to DIR/runc-ID.log.\n"
"\n"
"Each connection is served by a process of its own, so that a slow or idle\n"
"peer holds up nobody else; at most --max-sessions run at once (more are\n"
"closed at once). Every wait has a deadline: the peer must complete its\n"
"handshake within --auth-timeout, every later message must arrive within\n"
"--phase-timeout, and CRIU's restore must end within --restore-timeout.\n"
"\n"
"Options:\n"
"  --listen ADDR:PORT   address to listen on (:PORT for any address,\n"
"                       [V6ADDR]:PORT for IPv6)\n"
"  --dir DIR            where page stores and images go (default /var/tmp);\n"
"                       each migration gets a private subdirectory, removed\n"
"                       when it ends\n"
"  --once               handle one migration (a session whose peer got past\n"
"                       the handshake), then exit with its result; when\n"
"                       the source did not confirm the outcome, answer its\n"
"                       outcome queries for --linger seconds first\n"
"  --linger S           see --once (default 120)\n"
"  --state-dir DIR      where the outcome of each committed migration is\n"
"                       recorded for a source that lost the answer\n"
"                       (default /run/ferry/outcomes; kept a day)\n"
"  --store DIR          keep checkpoint chains sent with `--to` in DIR/NAME\n"
"                       (without it, such sessions are refused)\n"
"  --keep               keep the subdirectory (images, final/restore.log)\n"
"  --no-lazy            restore every pre-copied page before the tree (or\n"
"                       container) runs; by default CRIU restores only what\n"
"                       the final dump wrote and ferry's lazy-pages server\n"
"                       fills in the pre-copied pages from the local images\n"
"                       through userfaultfd, on first touch and then in the\n"
"                       background (the images stay until it is done). Used\n"
"                       anyway when `criu check --feature uffd-noncoop` fails.\n"
"                       A Podman container's CRIU reads ferry's images through\n"
"                       the configuration file its org.criu.config annotation\n"
"                       names (added to the archive's spec.dump; the file is\n"
"                       gone once the restore returns)\n"
"  --criu-arg ARG       pass ARG to `criu restore` (repeatable); options\n"
"                       exist only on CRIU's command line, so this runs\n"
"                       `criu restore` instead of the worker\n"
"  --allow-addr CIDR[@DEV]\n"
"                       a service address a source may move here with\n"
"                       --move-addr must lie in CIDR (A.B.C.D/N), with a\n"
"                       prefix no wider than N, and goes on DEV when given\n"
"                       (repeatable, at most 32). Without any, --move-addr\n"
"                       is refused\n"
"  --max-sessions N     migrations served at once (default 4)\n"
"  --auth-timeout S     seconds a new connection has to complete its\n"
"                       handshake (default 10)\n"
"  --phase-timeout S    seconds any later message may take (default 120)\n"
"  --runc-root DIR      runc's --root for runc containers (default /run/runc)\n"
"  --restore-timeout S  seconds CRIU's restore may take before it is killed\n"
"                       and undone (default 600)\n"
"  --tls-cacert FILE    the CA that signs the sources' certificates\n"
"                       (default /etc/ferry/pki/ca.pem)\n"
"  --tls-cacrl FILE     its revocation list (default /etc/ferry/pki/crl.pem,\n"
"                       read when it exists)\n"
"  --tls-cert FILE      this host's certificate (default /etc/ferry/pki/cert.pem)\n"
"  --tls-key FILE       its private key (default /etc/ferry/pki/key.pem)\n"
"  --allow NAME         accept only sources whose certificate carries NAME\n"
"                       (common name, DNS or IP alternative name;\n"
"                       repeatable); default: any certificate of the CA\n"
"  --insecure           plain TCP, no authentication: anyone who reaches\n"
"                       the port can have a tree restored here as root\n"
"                       (warned at start and on every connection)\n"
"  -h, --help           this text\n"
"\n"
"Security: every connection is TLS 1.3 with certificates on both ends\n"
"(`ferry pki` makes them); this command refuses to start without them\n"
"unless --insecure. $FERRY_PKI_DIR replaces /etc/ferry/pki in the\n"
"defaults. A peer that does not complete the TLS handshake with an\n"
"accepted certificate within --auth-timeout is disconnected before a\n"
"byte of the protocol is read.\n"
"\n"
"Limits a peer cannot raise: the disk budget agreed at pre-flight (up to\n"
"the tree's resident memory three times plus 64 MiB, as far as the disk\n"
"has room less 5 %%, less what this receiver's running sessions were\n"
"granted; refused there with less than twice plus 64 MiB free of that),\n"
"%u image files, %u pre-copy rounds, pages only for the PIDs pre-flight\n"
"announced; PREFLIGHT lists at most %u files and %u PIDs.\n"
"Pre-flight opens the source's paths O_PATH, never following a symbolic\n"
"link as the last component and never a /proc or /sys file,\n"
"compares only regular files that are world-readable or executable here,\n"
"and answers pass/fail per file: never a size, build-id or process name\n"
"of this host. Text from the peer is made printable before it is shown.\n"
"\n"
"Needs root (CRIU).\n"
"\n"
"Exit status (with --once): 0 restored, 1 failed or aborted, 2 bad usage.\n";

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	stop = sig;
}

static bool parse_secs(const char *name, const char *arg, uint64_t max, int *ms)
{
	uint64_t v;

	if (!ferry_parse_u64(arg, 1, max, &v)) {
		ferry_err("bad %s '%s' (1..%llu seconds)", name, arg, (unsigned long long)max);
		return false;
	}
	*ms = (int)(v * 1000);
	return true;
}

static int parse_opts(int argc, char **argv, struct ropts *o, struct wire_tls_paths *tp,
		      bool *insecure)
{
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "dir", required_argument, NULL, 'd' },
		{ "once", no_argument, NULL, '1' },
		{ "keep", no_argument, NULL, 'k' },
		{ "no-lazy", no_argument, NULL, 'E' },
		{ "criu-arg", required_argument, NULL, 'c' },
		{ "allow-addr", required_argument, NULL, 'A' },
		{ "max-sessions", required_argument, NULL, 'S' },
		{ "auth-timeout", required_argument, NULL, 'T' },
		{ "phase-timeout", required_argument, NULL, 'P' },
		{ "restore-timeout", required_argument, NULL, 'R' },
		WIRE_TLS_LONGOPTS,
		{ "allow", required_argument, NULL, 'n' },
		{ "insecure", no_argument, NULL, 'I' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "linger", required_argument, NULL, 'L' },
		{ "store", required_argument, NULL, 'K' },
		{ "runc-root", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[256];
	uint64_t v;
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		if (wire_tls_getopt(c, optarg, tp))
			continue;
		switch (c) {
		case 'l': o->listen = optarg; break;
		case 'd': o->dir = optarg; break;
		case 'K': o->store_dir = optarg; break;
		case 'r':
			if (ctr_runc_root_opt(optarg, &o->runc_root))
				return -1;
			break;
		case '1': o->once = true; break;
		case 'k': o->keep = true; break;
		case 'E': o->eager = true; break;
		case 'c':
			if (o->ncriu_args == RECV_MAX_CRIU_ARGS) {
				ferry_err("too many --criu-arg (at most %d)", RECV_MAX_CRIU_ARGS);
				return -1;
			}
			o->criu_args[o->ncriu_args++] = optarg;
			break;
		case 'A':
			if (o->nallow_addr == RECV_MAX_ALLOW) {
				ferry_err("too many --allow-addr (at most %d)", RECV_MAX_ALLOW);
				return -1;
			}
			if (mig_addr_parse(optarg, &o->allow_addr[o->nallow_addr], err, sizeof(err))) {
				ferry_err("--allow-addr: %s", err);
				return -1;
			}
			o->nallow_addr++;
			break;
		case 'I': *insecure = true; break;
		case 's': o->state_dir = optarg; break;
		case 'L':
			if (!parse_secs("--linger", optarg, 86400, &o->linger_ms))
				return -1;
			break;
		case 'n':
			if (o->nallow == RECV_MAX_ALLOW) {
				ferry_err("too many --allow (at most %d)", RECV_MAX_ALLOW);
				return -1;
			}
			o->allow[o->nallow++] = optarg;
			break;
		case 'S':
			if (!ferry_parse_u64(optarg, 1, 1024, &v)) {
				ferry_err("bad --max-sessions '%s' (1..1024)", optarg);
				return -1;
			}
			o->max_sessions = (unsigned int)v;
			break;
		case 'T':
			if (!parse_secs("--auth-timeout", optarg, 600, &o->auth_ms))
				return -1;
			break;
		case 'P':
			if (!parse_secs("--phase-timeout", optarg, 86400, &o->phase_ms))
				return -1;
			break;
		case 'R':
			if (!parse_secs("--restore-timeout", optarg, 86400, &o->restore_ms))
				return -1;
			break;
		case 'h':
			printf(usage_text, RECV_MAX_FILES, RECV_MAX_ROUNDS, PF_MAX_FILES, PF_MAX_TIDS);
			exit(FERRY_EXIT_OK);
		default:
			fprintf(stderr, usage_text, RECV_MAX_FILES, RECV_MAX_ROUNDS, PF_MAX_FILES,
				PF_MAX_TIDS);
			return -1;
		}
	}
	if (!o->listen || optind != argc) {
		ferry_err(o->listen ? "unexpected argument '%s'" : "missing --listen ADDR:PORT",
			  optind < argc ? argv[optind] : "");
		return -1;
	}
	return 0;
}

struct server {
	const struct ropts *o;
	pid_t *kids;		/* running sessions */
	unsigned int nkids;
	int once_status;	/* -1 until the --once session ended */
	uint64_t linger_until;	/* --once: answer outcome queries until then */
};

/* Reap ended sessions (without waiting unless block). */
static void reap(struct server *sv, bool block)
{
	for (unsigned int i = 0; i < sv->nkids;) {
		int status;
		pid_t r = waitpid(sv->kids[i], &status, block ? 0 : WNOHANG);

		if (r == 0 || (r < 0 && errno == EINTR)) {
			i++;
			continue;
		}
		if (r == sv->kids[i]) {
			int rc = WIFEXITED(status) ? WEXITSTATUS(status) : RECV_FAILED;

			if (rc == RECV_RESTORED_UNACKED || rc == RECV_FAILED_UNACKED) {
				/* the source may not know: let it ask */
				rc = rc == RECV_RESTORED_UNACKED ? RECV_RESTORED : RECV_FAILED;
				if (sv->once_status < 0)
					sv->linger_until = ferry_now_ns() +
						(uint64_t)sv->o->linger_ms * 1000000ull;
			}
			/* --once is for one migration: store sessions and
			 * queries do not count */
			if (rc != RECV_REFUSED && rc != RECV_QUERY && rc != RECV_STORED &&
			    rc != RECV_STORE_FAILED && sv->once_status < 0)
				sv->once_status = rc;
		}
		sv->kids[i] = sv->kids[--sv->nkids];
	}
}

static void serve_one(struct server *sv, int lfd, int fd)
{
	pid_t pid;

	if (sv->nkids >= sv->o->max_sessions) {
		ferry_warn("%u migrations in progress (--max-sessions): connection closed",
			   sv->nkids);
		close(fd);
		return;
	}
	pid = fork();
	if (pid < 0) {
		ferry_err("fork: %s", strerror(errno));
		close(fd);
		return;
	}
	if (pid == 0) {
		close(lfd);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		_exit(recv_session_run(sv->o, fd));
	}
	close(fd);
	sv->kids[sv->nkids++] = pid;
}

int cmd_receive(int argc, char **argv)
{
	struct ropts o = {
		.dir = "/var/tmp", .max_sessions = 4, .runc_root = CTR_RUNC_ROOT,
		.auth_ms = 10000, .phase_ms = 120000, .restore_ms = 600000,
		.state_dir = RECV_OUTCOME_DIR, .linger_ms = 120000,
	};
	struct server sv = { .o = &o, .once_status = -1 };
	struct sigaction sa = { .sa_handler = on_stop };
	struct wire_tls_paths tp = { 0 };
	bool insecure = false;
	char err[8192];
	int lfd, ret = 0;

	if (parse_opts(argc, argv, &o, &tp, &insecure))
		return FERRY_EXIT_USAGE;
	if (insecure && (tp.cacert || tp.cacrl || tp.cert || tp.key || o.nallow)) {
		ferry_err("--insecure excludes --tls-* and --allow");
		return FERRY_EXIT_USAGE;
	}
	/* no credentials, no service: plain TCP only when asked for */
	if (!insecure && wire_tls_load(&o.tls, &tp, true, err, sizeof(err))) {
		ferry_err("%s", err);
		return FERRY_EXIT_FAIL;
	}
	ret = recv_outcome_init(o.state_dir, 86400);
	if (ret) {
		ferry_err("%s: %s", o.state_dir, strerror(-ret));
		wire_tls_free(o.tls);
		return FERRY_EXIT_FAIL;
	}
	if (o.store_dir) {	/* made now, so that a bad path is said at start */
		struct stat sb;

		if (mkdir(o.store_dir, 0700) && errno != EEXIST) {
			ferry_err("--store %s: %s", o.store_dir, strerror(errno));
			wire_tls_free(o.tls);
			return FERRY_EXIT_FAIL;
		}
		if (stat(o.store_dir, &sb) || !S_ISDIR(sb.st_mode)) {
			ferry_err("--store %s: not a directory", o.store_dir);
			wire_tls_free(o.tls);
			return FERRY_EXIT_FAIL;
		}
	}
	if (insecure)
		ferry_warn("--insecure: migrations arrive unauthenticated and unencrypted; anyone "
			   "who can reach %s can have a process tree restored here as root",
			   o.listen);
	signal(SIGPIPE, SIG_IGN);
	lfd = mig_listen(o.listen, err, sizeof(err));
	if (lfd < 0) {
		ferry_err("%s", err);
		return lfd == -EINVAL ? FERRY_EXIT_USAGE : FERRY_EXIT_FAIL;
	}
	sv.kids = calloc(o.max_sessions, sizeof(*sv.kids));
	if (!sv.kids) {
		close(lfd);
		return FERRY_EXIT_FAIL;
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	fprintf(stderr, "ferry receive: listening on %s, working in %s%s%s\n", o.listen, o.dir,
		o.store_dir ? ", keeping checkpoints in " : "", o.store_dir ? o.store_dir : "");
	while (!stop) {
		struct pollfd p = { .fd = lfd, .events = POLLIN };
		int fd;

		reap(&sv, false);
		if (o.once && sv.once_status >= 0 && ferry_now_ns() >= sv.linger_until)
			break;
		/* wake up now and then to reap ended sessions */
		if (poll(&p, 1, 200) <= 0)
			continue;
		fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			ferry_err("accept: %s", strerror(errno));
			ret = -errno;
			break;
		}
		mig_net_tune(fd);
		serve_one(&sv, lfd, fd);
	}
	close(lfd);
	/* sessions in progress finish (each has its deadlines) */
	reap(&sv, true);
	free(sv.kids);
	wire_tls_free(o.tls);
	if (o.once)
		return sv.once_status > 0 || ret ? FERRY_EXIT_FAIL : FERRY_EXIT_OK;
	return ret ? FERRY_EXIT_FAIL : FERRY_EXIT_OK;
}
