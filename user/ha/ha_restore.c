// SPDX-License-Identifier: GPL-2.0
/*
 * `ferry restore --dir DIR`: bring a tree back from a checkpoint store
 * (ha_store.h), after its host died or the tree did. The newest complete
 * version is restored; one that fails its checksums is skipped, with the
 * reason, for the one before it. The store is only read: CRIU restores
 * from a private directory of links to the version's files, so the files
 * it writes (its log, its statistics) never land in a published version.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "cmds.h"
#include "criu_img.h"
#include "ctr.h"
#include "ctr_criuconf.h"
#include "ctr_runc.h"
#include "criu_lazy.h"
#include "lazy_server.h"
#include "ha_store.h"
#include "json.h"
#include "mig.h"
#include "mig_tcp.h"
#include "util.h"

#define MAX_CRIU_ARGS 16

static const char usage_text[] =
"Usage: ferry restore --dir DIR [OPTIONS]\n"
"       ferry restore --import FILE [--work-dir D] [--restore-timeout S] [--json]\n"
"\n"
"Restore, on this host, the process tree checkpointed into the store DIR\n"
"(`ferry checkpoint`): the newest complete version, or --version N. Every\n"
"file of the version is checked against its manifest first. A damaged\n"
"version is skipped, with the reason, for the newest complete one before\n"
"it; with --version, a damaged version is an error.\n"
"\n"
"The tree gets its original PIDs back: they must be free on this host (the\n"
"tree's old copy gone). TCP connections it had come back closed (CRIU's\n"
"--tcp-close): their peers saw the host die, and the tree's reads on them\n"
"end; listening sockets listen again.\n"
"\n"
"Options:\n"
"  --dir DIR            the checkpoint store\n"
"  --import FILE        a container's checkpoint archive (Podman's layout)\n"
"  --version N          restore version N, no other\n"
"  --work-dir D         where CRIU's private directory goes (default /tmp;\n"
"                       a container's images are linked in DIR/.restore-XXXXXX)\n"
"  --no-lazy            CRIU restores every page before the tree runs (by\n"
"                       default it restores only what it dumped last and a\n"
"                       lazy-pages server fills the rest from the store on\n"
"                       first touch and in the background: the tree runs\n"
"                       sooner; `ferry restore` returns once every page is in)\n"
"  --restore-timeout S  seconds CRIU may take before it is killed (default 600)\n"
"  --move-addr A.B.C.D/N[@DEV]\n"
"                       the tree's service address moves here: added (to the\n"
"                       interface of its subnet) and announced with a\n"
"                       gratuitous ARP before the restore, so that the\n"
"                       restored listening sockets take new connections and\n"
"                       the old connections' peers get a reset at once;\n"
"                       removed again if the restore fails\n"
"  --criu-arg ARG       pass ARG to `criu restore` (repeatable)\n"
"  --runc-root DIR      runc's --root for a runc container's version\n"
"                       (default /run/runc)\n"
"  --json               print one JSON object\n"
"  -h, --help           this text\n"
"\n"
"A container's version (`ferry checkpoint --container`) is restored by\n"
"Podman: `podman container restore --import` of a copy of its archive, with\n"
"its ID and name (both must be free here, its image present); CRIU reads the\n"
"version's images from the store, the pre-copied pages lazily as for a tree\n"
"(--no-lazy: eagerly); its links to them go in DIR/.restore-XXXXXX, CRIU\n"
"works in D/ferry-restore-ctr-XXXXXX (--work-dir D). A container with a\n"
"CRIU configuration of its own (annotation org.criu.config), or a DIR\n"
"ferry cannot write to, is restored from Podman's copy of the images,\n"
"eagerly. --criu-arg and --move-addr do not apply (its network is\n"
"Podman's), and root_pid is its init.\n"
"\n"
"A runc container's version (`ferry checkpoint --container ID --engine\n"
"runc`) is restored by `runc restore --detach` under --runc-root, with the\n"
"bundle the version names: it must be here at the same path (on storage\n"
"shared with the host that checkpointed it: the bundle's root is not in the\n"
"version) with the same config.json (SHA-256), each bind mount's source\n"
"here, and the ID and its cgroup free; otherwise nothing is started. Lazy\n"
"as for a tree; the images' links go in DIR/.restore-XXXXXX (DIR must be\n"
"writable), CRIU works in D/ferry-restore-runc-XXXXXX (--work-dir D), and\n"
"the container's output goes to D/runc-ID.log.\n"
"Its TCP connections come back as they were checkpointed (runc gives CRIU\n"
"no --tcp-close): a peer that saw the host die resets them. Restore it only\n"
"once its old host is down: ferry cannot see a copy still running there,\n"
"and two copies would write the same bundle.\n"
"\n"
"With --import, FILE is a container's checkpoint archive in Podman's layout,\n"
"made by `podman container checkpoint --export` (any compression Podman\n"
"reads) or `ferry checkpoint --container --export`: Podman restores it here\n"
"(`podman container restore --import`), with the container's ID and name\n"
"(both must be free here, its image present), and ferry checks it runs.\n"
"\n"
"Exit status: 0 restored; 1 the restore failed or no version is complete;\n"
"2 bad usage; 3 DIR holds no version, or FILE is missing.\n";

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ferry_vline("ferry: ", "", fmt, ap);
	va_end(ap);
}

struct ropts {
	const char *dir, *work_dir, *import, *runc_root;
	bool move, eager;
	struct mig_addr addr;	/* --move-addr */
	uint32_t version;
	int timeout_ms;
	const char *criu_args[MAX_CRIU_ARGS];
	int ncriu_args;
	bool json;
};

static int parse(int argc, char **argv, struct ropts *o)
{
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, 'D' },
		{ "import", required_argument, NULL, 'I' },
		{ "version", required_argument, NULL, 'v' },
		{ "work-dir", required_argument, NULL, 'w' },
		{ "restore-timeout", required_argument, NULL, 'R' },
		{ "criu-arg", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "move-addr", required_argument, NULL, 'm' },
		{ "no-lazy", no_argument, NULL, 'E' },
		{ "runc-root", required_argument, NULL, 'U' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[256];
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->work_dir = "/tmp";
	o->timeout_ms = 600000;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'D': o->dir = optarg; break;
		case 'I': o->import = optarg; break;
		case 'w': o->work_dir = optarg; break;
		case 'j': o->json = true; break;
		case 'E': o->eager = true; break;
		case 'U':
			if (ctr_runc_root_opt(optarg, &o->runc_root))
				return -1;
			break;
		case 'm':
			if (mig_addr_parse(optarg, &o->addr, err, sizeof(err))) {
				ferry_err("--move-addr: %s", err);
				return -1;
			}
			o->move = true;
			break;
		case 'v':
			if (!ferry_parse_u64(optarg, 1, UINT32_MAX, &v)) {
				ferry_err("bad --version '%s'", optarg);
				return -1;
			}
			o->version = (uint32_t)v;
			break;
		case 'R':
			if (!ferry_parse_u64(optarg, 1, 86400, &v)) {
				ferry_err("bad --restore-timeout '%s' (seconds)", optarg);
				return -1;
			}
			o->timeout_ms = (int)v * 1000;
			break;
		case 'c':
			if (ferry_arg_push(o->criu_args, &o->ncriu_args, MAX_CRIU_ARGS, optarg,
					   "--criu-arg"))
				return -1;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(FERRY_EXIT_OK);
		default:
			fputs(usage_text, stderr);
			return -1;
		}
	}
	if (optind != argc) {
		ferry_err("unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (o->import && (o->dir || o->version || o->move || o->eager || o->ncriu_args ||
			  o->runc_root)) {
		ferry_err("--import takes none of --dir, --version, --move-addr, --no-lazy, "
			  "--criu-arg and --runc-root (Podman restores the archive as it is)");
		return -1;
	}
	if (!o->dir && !o->import) {
		ferry_err("missing --dir DIR (or --import FILE)");
		return -1;
	}
	if (!o->runc_root)
		o->runc_root = CTR_RUNC_ROOT;
	return 0;
}

/*
 * work/final: a link to each file of the version's final dump, and parent
 * -> the version's newest round (its own parents follow inside the store).
 * The links lead to to_v, the version as seen from final: its absolute
 * path when NULL.
 */
static int link_images(const char *vdir, const char *to_v, const struct ha_meta *meta,
		       const char *final, char *err, size_t errlen)
{
	char src[PATH_MAX + 16], abs_v[PATH_MAX], to[2 * PATH_MAX], at[2 * PATH_MAX];
	struct dirent *de;
	DIR *d;
	int ret = 0;

	if (!realpath(vdir, abs_v))
		return ferry_errf(err, errlen, -errno, "%s: %s", vdir, strerror(errno));
	if (!to_v)
		to_v = abs_v;
	snprintf(src, sizeof(src), "%s/final", abs_v);
	d = opendir(src);
	if (!d)
		return ferry_errf(err, errlen, -errno, "%s: %s", src, strerror(errno));
	while (!ret && (de = readdir(d))) {
		struct stat sb;

		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) || !S_ISREG(sb.st_mode))
			continue;	/* ".", "..", the parent link */
		snprintf(to, sizeof(to), "%s/final/%s", to_v, de->d_name);
		snprintf(at, sizeof(at), "%s/%s", final, de->d_name);
		if (symlink(to, at))
			ret = ferry_errf(err, errlen, -errno, "symlink %s: %s", at, strerror(errno));
	}
	closedir(d);
	if (ret)
		return ret;
	snprintf(to, sizeof(to), "%s/%s", to_v, meta->top);
	snprintf(at, sizeof(at), "%s/parent", final);
	if (symlink(to, at))
		return ferry_errf(err, errlen, -errno, "symlink %s: %s", at, strerror(errno));
	return 0;
}

struct restored {
	pid_t root;
	uint64_t ms;		/* CRIU's restore */
	uint64_t lazy_ms;	/* from then until the last page was in */
	struct criu_restore_stats rs;
	struct criu_lazy_stats ls;
};

/* CRIU's restore returned ret, the pages left to the lazy-pages server
 * lazyd still coming in: wait for the last (its failure fails the restore;
 * the restored tasks would miss memory). */
static int lazy_finish(const struct ropts *o, pid_t lazyd, const char *what, struct restored *r,
		       int ret, char *err, size_t errlen)
{
	uint64_t t;
	int lr;

	if (!o->json)
		progress("%s runs (root PID %d); %llu pages still come from the store", what,
			 (int)r->root, (unsigned long long)r->ls.lazy_pages);
	t = ferry_now_ns();
	lr = lazy_server_wait(lazyd, 1800 * 1000);
	r->lazy_ms = (ferry_now_ns() - t) / 1000000;
	if (lr && !ret)
		ret = ferry_errf(err, errlen, -EIO, "the lazy-pages server failed (%s %d) %llu ms "
				 "after the restore: the restored tasks may miss memory",
				 lr < 0 ? "error" : "exit", lr, (unsigned long long)r->lazy_ms);
	return ret;
}

/* The lazy-pages server lazyd (0: none) once the restore is over: waited
 * for if the restore brought the tasks up (they need every page), killed
 * if it did not (nothing to serve). */
static int lazy_end(const struct ropts *o, pid_t lazyd, bool restored, const char *what,
		    struct restored *r, int ret, char *err, size_t errlen)
{
	if (lazyd <= 0)
		return ret;
	if (restored)
		return lazy_finish(o, lazyd, what, r, ret, err, errlen);
	kill(lazyd, SIGKILL);
	waitpid(lazyd, NULL, 0);
	return ret;
}

/* Restore version vdir. */
static int restore_version(const struct ropts *o, const char *vdir, const struct ha_meta *meta,
			   struct restored *r, char *err, size_t errlen)
{
	char work[4200], final[4300], log[4400], out[4400], pidf[4400], tail[2048];
	const char *argv[24 + MAX_CRIU_ARGS];
	bool restored = false;
	pid_t lazyd = 0;
	uint64_t t, x;
	int n = 0, ret;
	FILE *f;

	snprintf(work, sizeof(work), "%s/ferry-restore-XXXXXX", o->work_dir);
	if (!mkdtemp(work))
		return ferry_errf(err, errlen, -errno, "%s: %s", work, strerror(errno));
	snprintf(final, sizeof(final), "%s/final", work);
	snprintf(log, sizeof(log), "%s/restore.log", work);
	snprintf(out, sizeof(out), "%s/criu.out", work);
	snprintf(pidf, sizeof(pidf), "%s/root.pid", work);
	if (mkdir(final, 0700)) {
		ret = ferry_errf(err, errlen, -errno, "%s: %s", final, strerror(errno));
		goto out;
	}
	ret = link_images(vdir, NULL, meta, final, err, errlen);
	if (ret)
		goto out;
	if (!o->eager) {
		/* the pagemaps are rewritten under new names (criu_img.h):
		 * the links to the store's files are replaced, not written */
		ret = criu_lazy_mark(final, CRIU_LAZY_PARENT, &r->ls, err, errlen);
		if (!ret)
			ret = lazy_server_start(final, r->ls.tasks, NULL, &lazyd, err, errlen);
		if (ret)
			goto out;
	}
	argv[n++] = "criu";
	argv[n++] = "restore";
	argv[n++] = "-D";
	argv[n++] = final;
	argv[n++] = "--restore-detached";
	argv[n++] = "--tcp-close";
	argv[n++] = "-v2";
	argv[n++] = "-o";
	argv[n++] = log;
	argv[n++] = "--pidfile";
	argv[n++] = pidf;
	if (lazyd > 0)
		argv[n++] = "--lazy-pages";
	for (int i = 0; i < o->ncriu_args; i++)
		argv[n++] = o->criu_args[i];
	argv[n] = NULL;
	t = ferry_now_ns();
	ret = mig_run_timeout(argv, out, o->timeout_ms);
	r->ms = (ferry_now_ns() - t) / 1000000;
	if (ret == -ETIMEDOUT) {
		ret = ferry_errf(err, errlen, ret, "criu restore did not finish within %d s: killed",
				 o->timeout_ms / 1000);
		goto out;
	}
	if (ret) {
		mig_log_errors(log, tail, sizeof(tail));
		ret = ferry_errf(err, errlen, -EIO, "criu restore failed (exit %d, log %s):\n%s", ret,
				 log, tail);
		goto out;
	}
	f = fopen(pidf, "re");
	r->root = 0;
	if (f) {
		char line[32];

		if (fgets(line, sizeof(line), f)) {
			line[strcspn(line, "\n")] = 0;
			if (ferry_parse_u64(line, 1, INT32_MAX, &x))
				r->root = (pid_t)x;
		}
		fclose(f);
	}
	if (r->root <= 0)
		ret = ferry_errf(err, errlen, -EIO, "criu restore wrote no root PID (%s)", pidf);
	snprintf(out, sizeof(out), "%s/stats-restore", final);
	criu_img_read_restore_stats(out, &r->rs);
	restored = true;
out:
	ret = lazy_end(o, lazyd, restored, "the tree", r, ret, err, errlen);
	/* the restored tree needs none of it; a failure's log stays */
	if (!ret && !getenv("FERRY_KEEP_WORKDIR"))
		mig_rmtree(work);
	else
		ferry_warn("work directory kept: %s", work);
	return ret;
}

/*
 * Where a container's version is restored from. CRIU opens the images
 * from inside the container's root, where an absolute path leads nowhere
 * and a relative one only within the images' file system: the links to
 * the version's images go beside the versions, in dir = DIR/.restore-XXXXXX
 * (no version's name; its real path: CRIU's configuration names it), and
 * lead back as rel_v/... = ../../v-N/...; CRIU's own work dir (its log,
 * statistics, the lazy-pages socket) is local, criu_work in --work-dir: a
 * shared store's file system may hold no socket (9p).
 */
struct beside {
	char abs_v[PATH_MAX];		/* the version's real path */
	char rel_v[PATH_MAX + 8];	/* ../../v-N */
	char dir[PATH_MAX + 64];	/* DIR/.restore-XXXXXX, "" until made */
	char criu_work[PATH_MAX];	/* "" until made */
};

/* 0, or -errno; a store that takes no directory: 1 (why in err). */
static int beside_make(const struct ropts *o, const char *vdir, const char *what,
		       struct beside *b, char *err, size_t errlen)
{
	const char *slash;
	char tmp[PATH_MAX + 64];

	memset(b, 0, sizeof(*b));
	if (!realpath(vdir, b->abs_v))
		return ferry_errf(err, errlen, -errno, "%s: %s", vdir, strerror(errno));
	slash = strrchr(b->abs_v, '/');
	if (!slash || slash == b->abs_v)
		return ferry_errf(err, errlen, -EINVAL, "%s: not in a store's directory", b->abs_v);
	snprintf(b->rel_v, sizeof(b->rel_v), "../../%s", slash + 1);
	snprintf(tmp, sizeof(tmp), "%.*s/.restore-XXXXXX", (int)(slash - b->abs_v), b->abs_v);
	if (!mkdtemp(tmp))
		return ferry_errf(err, errlen, 1, "%s: %s (a container's version is restored from "
				  "beside it: its store must be writable)", tmp, strerror(errno));
	snprintf(b->dir, sizeof(b->dir), "%s", tmp);
	snprintf(tmp, sizeof(tmp), "%s/ferry-restore-%s-XXXXXX", o->work_dir, what);
	if (!mkdtemp(tmp) || !realpath(tmp, b->criu_work)) {
		int e = errno;

		b->criu_work[0] = 0;
		return ferry_errf(err, errlen, -e, "%s: %s", tmp, strerror(e));
	}
	return 0;
}

/* The links go (nothing of a failure is in them: the store stays clean);
 * CRIU's work dir stays after a failure, with its log. */
static void beside_end(struct beside *b, int ret)
{
	bool keep = getenv("FERRY_KEEP_WORKDIR") != NULL;

	if (b->dir[0] && !keep)
		mig_rmtree(b->dir);
	if (b->criu_work[0] && !ret && !keep)
		mig_rmtree(b->criu_work);
	else if (b->criu_work[0])
		ferry_warn("work directory kept: %s", b->criu_work);
	b->dir[0] = b->criu_work[0] = 0;
}

/*
 * A container's version, direct (ctr_criuconf.h): Podman restores it from
 * a copy of its archive (the version is only read, and the copy gains the
 * annotation), CRIU from the final dump unpacked into b->dir/ctr-images,
 * whose parent link is top (to the version's newest round); lazily unless
 * --no-lazy, the lazy-pages server then left running in *lazyd. 1 when
 * the archive or the paths ask for the old way (why in err).
 */
static int restore_container_direct(const struct ropts *o, const struct beside *b,
				    const char *arch, const char *top, const struct wire_ctr *k,
				    struct restored *r, pid_t *lazyd, char *err, size_t errlen)
{
	char copy[PATH_MAX + 128], img[PATH_MAX + 128], conf[PATH_MAX + 128], at[PATH_MAX + 160];
	uint64_t t;
	int ret;

	snprintf(copy, sizeof(copy), "%s/%s", b->dir, CTR_ARCHIVE_NAME);
	snprintf(img, sizeof(img), "%s/ctr-images", b->dir);
	snprintf(conf, sizeof(conf), "%s/%s", b->dir, CTR_CRIU_CONF_NAME);
	ret = ferry_copy_file(arch, copy);
	if (ret)
		return ferry_errf(err, errlen, ret, "copying %s: %s", arch, strerror(-ret));
	if (mkdir(img, 0700))
		return ferry_errf(err, errlen, -errno, "%s: %s", img, strerror(errno));
	ret = ctr_criuconf_prepare(copy, img, conf, b->criu_work, err, errlen);
	if (ret)
		return ret;
	snprintf(at, sizeof(at), "%s/parent", img);
	if (symlink(top, at))
		return ferry_errf(err, errlen, -errno, "symlink %s: %s", at, strerror(errno));
	if (!o->eager) {
		ret = criu_lazy_mark(img, CRIU_LAZY_PARENT, &r->ls, err, errlen);
		/* CRIU connects to the server in its work dir */
		if (!ret)
			ret = lazy_server_start_at(img, b->criu_work, r->ls.tasks, NULL, lazyd, err,
						   errlen);
		if (ret)
			return ret;
	}
	ret = ctr_criuconf_write(conf, img, b->criu_work, *lazyd > 0, err, errlen);
	t = ferry_now_ns();
	if (!ret)
		ret = ctr_restore(k, copy, NULL, false, b->criu_work, o->timeout_ms, err, errlen);
	r->ms = (ferry_now_ns() - t) / 1000000;
	/* the container's annotation names it: not beyond this restore */
	unlink(conf);
	if (ret)
		ctr_append_criu_log(b->criu_work, "restore.log", err, errlen);
	snprintf(at, sizeof(at), "%s/stats-restore", b->criu_work);
	if (!ret)
		criu_img_read_restore_stats(at, &r->rs);
	return ret < 0 ? ret : ret ? -EIO : 0;
}

/*
 * A container's version: Podman restores it, from ferry's images
 * (restore_container_direct) or, for an archive that asks for it, the old
 * way: from the archive and the version's rounds as the previous
 * checkpoint (a tar that follows their parent links), eagerly.
 */
static int restore_container(struct ropts *o, const char *vdir, const struct ha_meta *meta,
			     struct restored *r, char *err, size_t errlen)
{
	char top[PATH_MAX + 32], rel_top[PATH_MAX + 48], arch[PATH_MAX + 64], tarf[4400],
	     work[4200] = "";
	struct wire_ctr k = { 0 };
	struct ctr_info *ci;
	struct beside b;
	pid_t lazyd = 0;
	uint64_t t;
	int ret;

	if (o->move || o->ncriu_args)
		return ferry_errf(err, errlen, -EINVAL, "version %u is of container %s: --move-addr "
				  "and --criu-arg do not apply", meta->version, meta->container_name);
	ret = beside_make(o, vdir, "ctr", &b, err, errlen);
	if (ret < 0) {
		beside_end(&b, ret);
		return ret;
	}
	snprintf(top, sizeof(top), "%s/%s", b.abs_v, meta->top);
	snprintf(arch, sizeof(arch), "%s/final/%s", b.abs_v, CTR_ARCHIVE_NAME);
	snprintf(rel_top, sizeof(rel_top), "%s/%s", b.rel_v, meta->top);
	snprintf(k.engine, sizeof(k.engine), "podman");
	memcpy(k.id, meta->container, sizeof(k.id));
	snprintf(k.name, sizeof(k.name), "%s", meta->container_name);
	if (!ret)
		ret = restore_container_direct(o, &b, arch, rel_top, &k, r, &lazyd, err, errlen);
	if (ret > 0) {
		if (!o->json)
			progress("Podman restores from its own copy of the images, eagerly: %s", err);
		err[0] = 0;
		o->eager = true;
		beside_end(&b, 0);
		snprintf(work, sizeof(work), "%s/ferry-restore-XXXXXX", o->work_dir);
		if (!mkdtemp(work))
			return ferry_errf(err, errlen, -errno, "%s: %s", work, strerror(errno));
		ret = ctr_previous_tar(top, work, tarf, sizeof(tarf), err, errlen);
		t = ferry_now_ns();
		if (!ret)
			ret = ctr_restore(&k, arch, tarf, false, work, o->timeout_ms, err, errlen);
		r->ms = (ferry_now_ns() - t) / 1000000;
	}
	ci = ret ? NULL : calloc(1, sizeof(*ci));
	if (ci && !ctr_inspect(k.id, ci, err, errlen))
		r->root = ci->pid;
	free(ci);
	ret = lazy_end(o, lazyd, !ret, "the container", r, ret, err, errlen);
	beside_end(&b, ret);
	if (!work[0])
		return ret;
	if (!ret && !getenv("FERRY_KEEP_WORKDIR"))
		mig_rmtree(work);
	else
		ferry_warn("work directory kept: %s", work);
	return ret;
}

/*
 * A runc container's version: `runc restore` of its final images on top of
 * its rounds, with the bundle the version names, which must be here (on
 * storage this host shares with the one that checkpointed it) with the
 * same config.json, its ID and cgroup free; restored from beside the
 * version as a Podman container's.
 */
static int restore_runc(const struct ropts *o, const char *vdir, const struct ha_meta *meta,
			struct restored *r, char *err, size_t errlen)
{
	char final[PATH_MAX + 80], out[PATH_MAX + 300], stats[PATH_MAX + 80], problem[2048];
	const char *id = meta->container_name;
	struct wire_ctr *k = NULL;
	struct ctr_info *ci;
	bool restored = false;
	struct beside b = { 0 };
	pid_t lazyd = 0;
	uint64_t t;
	int ret;

	if (o->ncriu_args)
		return ferry_errf(err, errlen, -EINVAL, "version %u is of runc container %s: "
				  "--criu-arg does not apply (runc runs CRIU)", meta->version, id);
	k = calloc(1, sizeof(*k));	/* its volumes make it large */
	if (!k)
		return ferry_errf(err, errlen, -ENOMEM, "out of memory");
	snprintf(k->engine, sizeof(k->engine), "runc");
	if (strlen(id) >= sizeof(k->id)) {	/* the manifest's reader bounds it */
		ret = ferry_errf(err, errlen, -EINVAL, "runc ID %s: too long", id);
		goto out;
	}
	memcpy(k->id, id, strlen(id) + 1);
	snprintf(k->name, sizeof(k->name), "%s", id);
	memcpy(k->image, meta->runc_config, sizeof(k->image));
	snprintf(k->bundle, sizeof(k->bundle), "%s", meta->runc_bundle);
	ret = ctr_runc_check_restore(k, o->runc_root, problem, sizeof(problem));
	if (ret) {
		ret = ferry_errf(err, errlen, ret < 0 ? ret : -EEXIST, "runc container %s cannot "
				 "be restored here: %s", id, problem);
		goto out;
	}
	ret = beside_make(o, vdir, "runc", &b, err, errlen);
	if (ret > 0)
		ret = -EROFS;	/* no old way to fall back to */
	if (ret)
		goto out;
	snprintf(final, sizeof(final), "%s/final", b.dir);
	if (mkdir(final, 0700)) {
		ret = ferry_errf(err, errlen, -errno, "%s: %s", final, strerror(errno));
		goto out;
	}
	ret = link_images(vdir, b.rel_v, meta, final, err, errlen);
	if (!ret && !o->eager) {
		ret = criu_lazy_mark(final, CRIU_LAZY_PARENT, &r->ls, err, errlen);
		/* CRIU connects to the server in its work dir */
		if (!ret)
			ret = lazy_server_start_at(final, b.criu_work, r->ls.tasks, NULL, &lazyd, err,
						   errlen);
	}
	if (ret)
		goto out;
	/* the container's output, for its life: not in the work dir */
	snprintf(out, sizeof(out), "%s/runc-%s.log", o->work_dir, id);
	if (!o->json)
		progress("runc container %s: bundle %s is here with the same config.json; runc "
			 "restores it (its output: %s)", id, k->bundle, out);
	t = ferry_now_ns();
	ret = ctr_runc_restore(k, o->runc_root, final, b.criu_work, lazyd > 0, out, o->timeout_ms,
			       err, errlen);
	r->ms = (ferry_now_ns() - t) / 1000000;
	if (ret)
		goto out;
	snprintf(stats, sizeof(stats), "%s/stats-restore", b.criu_work);
	criu_img_read_restore_stats(stats, &r->rs);
	ci = calloc(1, sizeof(*ci));
	if (ci && !ctr_runc_inspect(o->runc_root, id, ci, problem, sizeof(problem)))
		r->root = ci->pid;
	free(ci);
	restored = true;
out:
	ret = lazy_end(o, lazyd, restored, "the container", r, ret, err, errlen);
	free(k);
	beside_end(&b, ret);
	return ret;
}

/* --import FILE: Podman's archive, restored by Podman as it is. */
static int restore_import(const struct ropts *o)
{
	char work[4200], err[4200] = "";
	struct ctr_info *ci = NULL;
	struct stat sb;
	uint64_t t = 0, ms = 0;
	int ret;

	if (stat(o->import, &sb)) {
		ret = errno;
		ferry_err("%s: %s", o->import, strerror(ret));
		return ret == ENOENT ? FERRY_EXIT_MISSING : FERRY_EXIT_FAIL;
	}
	if (!S_ISREG(sb.st_mode)) {
		ferry_err("%s: not a file", o->import);
		return FERRY_EXIT_FAIL;
	}
	snprintf(work, sizeof(work), "%s/ferry-import-XXXXXX", o->work_dir);
	if (!mkdtemp(work)) {
		ferry_err("%s: %s", work, strerror(errno));
		return FERRY_EXIT_FAIL;
	}
	if (!o->json)
		progress("restoring %s (%.1f MiB) with Podman", o->import, sb.st_size / 1048576.0);
	ci = calloc(1, sizeof(*ci));
	if (!ci) {
		ret = ferry_errf(err, sizeof(err), -ENOMEM, "out of memory");
	} else {
		t = ferry_now_ns();
		ret = ctr_restore_archive(o->import, work, o->timeout_ms, ci, err, sizeof(err));
		ms = (ferry_now_ns() - t) / 1000000;
	}
	if (ret)
		ferry_err("restore of %s failed: %s", o->import, err);
	else if (!o->json)
		progress("container %s (%.12s) restored: init PID %d, running after %llu ms",
			 ci->w.name, ci->w.id, (int)ci->pid, (unsigned long long)ms);
	if (o->json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_open(&j, NULL);
		json_bool(&j, "restored", !ret);
		json_str(&j, "archive", o->import);
		json_u64(&j, "archive_bytes", (uint64_t)sb.st_size);
		if (!ret) {
			json_obj_open(&j, "container");
			json_str(&j, "id", ci->w.id);
			json_str(&j, "name", ci->w.name);
			json_obj_close(&j);
		}
		json_u64(&j, "root_pid", (uint64_t)(ret ? 0 : ci->pid));
		json_u64(&j, "restore_ms", ms);
		if (ret)
			json_str(&j, "error", err);
		json_obj_close(&j);
		json_end(&j);
	}
	free(ci);
	if (!ret && !getenv("FERRY_KEEP_WORKDIR"))
		mig_rmtree(work);
	else
		ferry_warn("work directory kept: %s", work);
	return ret ? FERRY_EXIT_FAIL : FERRY_EXIT_OK;
}

int cmd_restore(int argc, char **argv)
{
	struct ha_meta meta;
	struct ha_store st;
	struct ropts o;
	uint32_t *v = NULL, chosen = 0;
	size_t n = 0, nskipped = 0;
	struct { uint32_t v; char why[2048]; } skipped[4];
	char err[2048], vdir[4200];
	struct restored r;
	int ret, rc;

	if (parse(argc, argv, &o))
		return FERRY_EXIT_USAGE;
	if (o.import)
		return restore_import(&o);
	ret = ha_store_open(&st, o.dir, false, false, err, sizeof(err));
	if (!ret && (ret = ha_store_versions(&st, &v, &n)))
		snprintf(err, sizeof(err), "%s: %s", o.dir, strerror(-ret));
	if (ret) {
		ferry_err("%s", err);
		ha_store_close(&st);
		return ret == -ENOENT ? FERRY_EXIT_MISSING : FERRY_EXIT_FAIL;
	}
	if (!n) {
		ferry_err("%s holds no complete version (see `ferry versions --dir %s`)", o.dir,
			  o.dir);
		ha_store_close(&st);
		return FERRY_EXIT_MISSING;
	}
	/* newest first; with --version, that one only */
	for (size_t i = n; i-- > 0 && !chosen;) {
		if (o.version && v[i] != o.version)
			continue;
		ha_store_path(&st, v[i], vdir, sizeof(vdir));
		if (!o.json)
			progress("checking version %u against its manifest", v[i]);
		/* and every version it builds on */
		ret = ha_verify_chain(&st, v[i], &meta, err, sizeof(err));
		if (!ret) {
			chosen = v[i];
			break;
		}
		ferry_warn("version %u is %s: %s%s", v[i], ret == -EBADMSG ? "damaged" : "unreadable",
			   err, o.version ? "" : i ? "; trying the version before it" : "");
		if (nskipped < sizeof(skipped) / sizeof(skipped[0])) {
			skipped[nskipped].v = v[i];
			snprintf(skipped[nskipped].why, sizeof(skipped[0].why), "%s", err);
			nskipped++;
		}
	}
	free(v);
	ha_store_close(&st);
	if (!chosen) {
		if (o.version && !nskipped)
			ferry_err("%s has no version %u", o.dir, o.version);
		else
			ferry_err("no complete version to restore in %s", o.dir);
		return FERRY_EXIT_FAIL;
	}
	if (!o.json)
		progress("restoring version %u of %u (taken %llu s ago, %u TCP connection%s, "
			   "which come back %s)", chosen, meta.root,
			   (unsigned long long)((uint64_t)time(NULL) - meta.created),
			   meta.tcp_connections, meta.tcp_connections == 1 ? "" : "s",
			   meta.runc ? "as checkpointed: runc has no --tcp-close" : "closed");
	if (o.move) {
		char a[96];

		ret = mig_addr_check_absent(&o.addr, err, sizeof(err));
		if (!ret)
			ret = mig_addr_add(&o.addr, err, sizeof(err));
		if (ret) {
			ferry_err("--move-addr: %s", err);
			return FERRY_EXIT_FAIL;
		}
		mig_addr_fmt(&o.addr, a, sizeof(a));
		ret = mig_addr_announce(&o.addr);
		if (!o.json)
			progress("service address %s added%s", a,
				 ret ? "; no gratuitous ARP on this link" : " and announced");
	}
	memset(&r, 0, sizeof(r));
	if (meta.runc) {
		if (!o.json)
			progress("version %u is of runc container %s: runc restores it", chosen,
				 meta.container_name);
		ret = restore_runc(&o, vdir, &meta, &r, err, sizeof(err));
	} else if (meta.container[0]) {
		if (!o.json)
			progress("version %u is of container %s (%.12s): Podman restores it",
				 chosen, meta.container_name, meta.container);
		ret = restore_container(&o, vdir, &meta, &r, err, sizeof(err));
	} else {
		ret = restore_version(&o, vdir, &meta, &r, err, sizeof(err));
	}
	if (ret && o.move) {
		char e2[256];

		if (mig_addr_del(&o.addr, e2, sizeof(e2)))
			ferry_warn("removing the service address again: %s", e2);
	}
	if (ret) {
		ferry_err("restore of version %u failed: %s", chosen, err);
		rc = FERRY_EXIT_FAIL;
	} else {
		rc = FERRY_EXIT_OK;
		if (!o.json)
			progress("version %u restored: root PID %d, running after %llu ms%s", chosen,
				 (int)r.root, (unsigned long long)r.ms,
				 o.eager ? "" : ", every page in after the lazy-pages server");
	}
	if (o.json) {
		struct json j;

		json_init(&j, stdout);
		json_obj_open(&j, NULL);
		json_bool(&j, "restored", !ret);
		json_u64(&j, "version", chosen);
		json_str(&j, "path", vdir);
		json_u64(&j, "created", meta.created);
		json_u64(&j, "root_pid", (uint64_t)(ret ? 0 : r.root));
		json_u64(&j, "tcp_connections_closed", ret || meta.runc ? 0 : meta.tcp_connections);
		if (meta.runc) {
			json_str(&j, "engine", "runc");
			json_str(&j, "container", meta.container_name);
			json_str(&j, "bundle", meta.runc_bundle);
		}
		json_u64(&j, "restore_ms", r.ms);
		json_bool(&j, "lazy", !o.eager);
		json_u64(&j, "lazy_pages", r.ls.lazy_pages);
		json_u64(&j, "lazy_ms", r.lazy_ms);
		json_u64(&j, "pages_restored", r.rs.pages_restored);
		json_u64(&j, "restore_time", r.rs.restore_time);
		if (ret)
			json_str(&j, "error", err);
		json_arr_open(&j, "skipped");
		for (size_t i = 0; i < nskipped; i++) {
			json_obj_open(&j, NULL);
			json_u64(&j, "version", skipped[i].v);
			json_str(&j, "reason", skipped[i].why);
			json_obj_close(&j);
		}
		json_arr_close(&j);
		json_obj_close(&j);
		json_end(&j);
	}
	return rc;
}
