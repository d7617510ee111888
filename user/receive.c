// SPDX-License-Identifier: GPL-2.0
/*
 * ferry receive: the destination of `ferry migrate`. Keeps a page store of
 * the pre-copied pages, writes them as CRIU parent images, restores the
 * tree with CRIU. See usage_text.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include "cmds.h"
#include "criu_img.h"
#include "json.h"
#include "mig.h"
#include "mig_net.h"
#include "pagestore.h"
#include "preflight.h"
#include "util.h"
#include "wire.h"

static const char usage_text[] =
"Usage: ferry receive --listen ADDR:PORT [OPTIONS]\n"
"\n"
"Accept process trees migrated by `ferry migrate` and restore them here\n"
"with CRIU. For each migration: answer the source's pre-flight (are the\n"
"tree's files here with the same size and ELF build-id, is there memory,\n"
"disk and a working CRIU), store the pre-copied pages, turn them into CRIU\n"
"parent images while the source dumps, receive the final images and run\n"
"`criu restore`. The source kills its copy only after this side reports the\n"
"tree running; a migration that fails or is aborted leaves nothing behind.\n"
"\n"
"Options:\n"
"  --listen ADDR:PORT   address to listen on (:PORT for any address,\n"
"                       [V6ADDR]:PORT for IPv6)\n"
"  --dir DIR            where page stores and images go (default /var/tmp);\n"
"                       each migration gets a private subdirectory, removed\n"
"                       when it ends\n"
"  --once               handle one migration, then exit with its result\n"
"  --keep               keep the subdirectory (images, restore.log)\n"
"  --criu-arg ARG       pass ARG to `criu restore` (repeatable)\n"
"  -h, --help           this text\n"
"\n"
"Migrations are served one at a time. Needs root (CRIU).\n"
"\n"
"The connection is neither authenticated nor encrypted, and whoever connects\n"
"gets a process tree of their choosing restored here as root: listen only on\n"
"an address that trusted hosts alone can reach.\n"
"\n"
"Exit status (with --once): 0 restored, 1 failed or aborted, 2 bad usage.\n";

#define MAX_CRIU_ARGS 16

struct ropts {
	const char *listen;
	const char *dir;
	bool once, keep;
	const char *criu_args[MAX_CRIU_ARGS];
	int ncriu_args;
};

struct session {
	struct ropts *o;
	struct wire_conn c;
	char dir[4096];
	char store_path[4200], parent_dir[4200], final_dir[4200], log[4200];
	struct pagestore *ps;
	bool parent_written, restored;
	uint8_t *buf;
	char err[4096];
};

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ferry receive: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int serr(struct session *s, int ret, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int serr(struct session *s, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->err, sizeof(s->err), fmt, ap);
	va_end(ap);
	return ret;
}

/* `criu check` also fills CRIU's kernel-feature cache (/run/criu.kdat),
 * which keeps the slow first-time probing out of the restore. */
static bool criu_usable(void)
{
	const char *argv[] = { "criu", "check", NULL };

	return mig_run(argv, "/dev/null") == 0;
}

static int handshake(struct session *s)
{
	struct wire_hello h = { .version = WIRE_VERSION, .caps = WIRE_CAP_ZSTD }, peer;
	struct wire_msg m;
	struct utsname u;
	int ret;

	ret = wire_expect(&s->c, WIRE_HELLO, &m);
	if (!ret)
		ret = wire_parse_hello(&s->c, &m, &peer);
	if (ret) {
		if (ret == -EPROTO)
			wire_send_error(&s->c, WIRE_ERROR, ret, "%s", s->c.err);
		return serr(s, ret, "handshake: %s", s->c.err);
	}
	uname(&u);
	snprintf(h.host, sizeof(h.host), "%s", u.nodename);
	snprintf(h.kernel, sizeof(h.kernel), "%s", u.release);
	note("migration from %s (Linux %s)", peer.host, peer.kernel);
	return wire_send_hello(&s->c, &h);
}

static int preflight(struct session *s)
{
	struct pf_list l;
	struct pf_report rep;
	struct wire_msg m;
	int ret;

	ret = wire_expect(&s->c, WIRE_PREFLIGHT, &m);
	if (!ret)
		ret = preflight_parse(&s->c, &m, &l);
	if (ret)
		return serr(s, ret, "pre-flight: %s", s->c.err);
	ret = preflight_check(&l, s->o->dir, criu_usable(), &rep);	/* slow once */
	if (!ret)
		ret = preflight_send_report(&s->c, &rep);
	note("pre-flight: %zu files checked, %zu problem%s", l.n, rep.n, rep.n == 1 ? "" : "s");
	for (size_t i = 0; i < rep.n; i++) {
		char line[4500];

		pf_problem_str(&rep.v[i], line, sizeof(line));
		note("  %s", line);
	}
	pf_list_free(&l);
	pf_report_free(&rep);
	return ret;
}

static int setup_dirs(struct session *s)
{
	int ret;

	snprintf(s->dir, sizeof(s->dir), "%s/ferry-receive-XXXXXX", s->o->dir);
	if (!mkdtemp(s->dir))
		return serr(s, -errno, "%s: %s", s->dir, strerror(errno));
	snprintf(s->store_path, sizeof(s->store_path), "%s/pages.store", s->dir);
	snprintf(s->parent_dir, sizeof(s->parent_dir), "%s/parent", s->dir);
	snprintf(s->final_dir, sizeof(s->final_dir), "%s/final", s->dir);
	snprintf(s->log, sizeof(s->log), "%s/restore.log", s->dir);
	if (mkdir(s->final_dir, 0700))
		return serr(s, -errno, "%s: %s", s->final_dir, strerror(errno));
	ret = pagestore_open(&s->ps, s->store_path);
	if (ret)
		return serr(s, ret, "%s: %s", s->store_path, strerror(-ret));
	s->buf = malloc(WIRE_MAX_PAGES * PS_PAGE_SIZE);
	return s->buf ? 0 : -ENOMEM;
}

static int write_parent(struct session *s)
{
	struct criu_img_stats st;
	uint64_t t = ferry_now_ns();
	int ret;

	if (s->parent_written)
		return 0;
	ret = criu_img_write_parent(s->parent_dir, s->ps, true, &st, s->err, sizeof(s->err));
	if (ret)
		return ret;
	s->parent_written = true;
	note("parent images: %llu pages of %llu processes in %llu ms",
	     (unsigned long long)st.pages, (unsigned long long)st.pids,
	     (unsigned long long)((ferry_now_ns() - t) / 1000000));
	return 0;
}

static int restore(struct session *s, uint64_t *ms, struct criu_restore_stats *rs)
{
	const char *argv[16 + MAX_CRIU_ARGS];
	char link[4300], stats[4300], tail[2048];
	uint64_t t;
	int n = 0, ret;

	ret = write_parent(s);
	if (ret)
		return ret;
	snprintf(link, sizeof(link), "%s/parent", s->final_dir);
	unlink(link);
	if (symlink("../parent", link))
		return serr(s, -errno, "symlink %s: %s", link, strerror(errno));
	argv[n++] = "criu";
	argv[n++] = "restore";
	argv[n++] = "-D";
	argv[n++] = s->final_dir;
	argv[n++] = "--restore-detached";
	argv[n++] = "-v2";	/* -v4 logging costs seconds under TCG */
	for (int i = 0; i < s->o->ncriu_args; i++)
		argv[n++] = s->o->criu_args[i];
	argv[n] = NULL;
	t = ferry_now_ns();
	ret = mig_run(argv, s->log);
	*ms = (ferry_now_ns() - t) / 1000000;
	if (ret) {
		mig_log_errors(s->log, tail, sizeof(tail));
		return serr(s, -EIO, "criu restore failed (exit %d):\n%s", ret, tail);
	}
	memset(rs, 0, sizeof(*rs));
	snprintf(stats, sizeof(stats), "%s/stats-restore", s->final_dir);
	criu_img_read_restore_stats(stats, rs);
	note("restored in %llu ms", (unsigned long long)*ms);
	return 0;
}

static int recv_file(struct session *s, const struct wire_msg *m)
{
	struct wire_file f;
	int fd, ret, dfd;

	ret = wire_parse_file_begin(&s->c, m, &f);
	if (ret)
		return serr(s, ret, "%s", s->c.err);
	dfd = open(s->final_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return serr(s, -errno, "%s: %s", s->final_dir, strerror(errno));
	fd = openat(dfd, f.name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	close(dfd);
	if (fd < 0)
		return serr(s, -errno, "image %s: %s", f.name, strerror(errno));
	ret = wire_recv_file_body(&s->c, &f, fd);
	if (close(fd) && !ret)
		ret = -errno;
	if (ret)
		return serr(s, ret, "image %s: %s", f.name, s->c.err);
	return 0;
}

/* The conversation after pre-flight. 0 when the tree runs here. */
static int serve(struct session *s)
{
	struct wire_pages_hdr h;
	struct wire_round r;
	struct wire_msg m;
	int ret;

	for (;;) {
		ret = wire_recv(&s->c, &m);
		if (ret)
			return serr(s, ret, "%s", s->c.err);
		switch (m.type) {
		case WIRE_PAGES:
			ret = wire_parse_pages(&s->c, &m, &h, s->buf, WIRE_MAX_PAGES * PS_PAGE_SIZE);
			if (ret)
				return serr(s, ret, "%s", s->c.err);
			ret = pagestore_put(s->ps, h.pid, h.vaddr, h.npages, s->buf);
			if (ret)
				return serr(s, ret, "page store: %s", strerror(-ret));
			break;
		case WIRE_ROUND_END:
			ret = wire_parse_round(&s->c, &m, &r);
			if (ret)
				return serr(s, ret, "%s", s->c.err);
			if (r.flags & WIRE_ROUND_F_LAST) {
				/* the source freezes and dumps now: build the
				 * parent images meanwhile */
				ret = write_parent(s);
				if (ret)
					return ret;
				break;
			}
			ret = wire_send_round(&s->c, WIRE_ROUND_ACK, &r);
			if (ret)
				return serr(s, ret, "%s", s->c.err);
			break;
		case WIRE_FILE_BEGIN:
			ret = recv_file(s, &m);
			if (ret)
				return ret;
			break;
		case WIRE_COMMIT: {
			struct criu_restore_stats rs;
			uint64_t ms = 0, v[3];

			ret = restore(s, &ms, &rs);
			if (ret) {
				wire_send_error(&s->c, WIRE_ERROR, ret, "%s", s->err);
				return ret;
			}
			s->restored = true;
			v[0] = ms;
			v[1] = rs.restore_time;
			v[2] = rs.pages_restored;
			ret = wire_send_u64s(&s->c, WIRE_RESTORED, v, 3);
			/* the tree runs here now, whatever happens to the
			 * connection: the source only resumes if it never
			 * got this message */
			if (!ret)
				ret = wire_expect(&s->c, WIRE_DONE, &m);
			if (ret)
				note("after restore: %s", s->c.err);
			return 0;
		}
		case WIRE_ABORT:
		case WIRE_ERROR: {
			char msg[512];
			int32_t code;

			if (wire_parse_error(&s->c, &m, &code, msg, sizeof(msg)))
				snprintf(msg, sizeof(msg), "(malformed)");
			return serr(s, -ECANCELED, "source aborted: %s", msg);
		}
		default:
			wire_send_error(&s->c, WIRE_ERROR, -EPROTO, "unexpected %s frame",
					wire_type_name(m.type));
			return serr(s, -EPROTO, "unexpected %s frame", wire_type_name(m.type));
		}
	}
}

static int session(struct ropts *o, int fd)
{
	struct session s;
	int ret;

	memset(&s, 0, sizeof(s));
	s.o = o;
	wire_init(&s.c, fd);
	ret = handshake(&s);
	if (!ret)
		ret = preflight(&s);
	if (!ret)
		ret = setup_dirs(&s);
	if (!ret)
		ret = serve(&s);
	if (ret)
		note("migration failed: %s", s.err[0] ? s.err : strerror(-ret));
	else
		note("migration done: the tree runs here");
	pagestore_close(s.ps, false);
	free(s.buf);
	wire_free(&s.c);
	if (s.dir[0] && !o->keep)
		mig_rmtree(s.dir);
	else if (s.dir[0])
		note("kept %s", s.dir);
	return ret;
}

int cmd_receive(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "dir", required_argument, NULL, 'd' },
		{ "once", no_argument, NULL, '1' },
		{ "keep", no_argument, NULL, 'k' },
		{ "criu-arg", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ropts o = { .dir = "/var/tmp" };
	char err[512];
	int c, lfd, ret = 0;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'l': o.listen = optarg; break;
		case 'd': o.dir = optarg; break;
		case '1': o.once = true; break;
		case 'k': o.keep = true; break;
		case 'c':
			if (o.ncriu_args == MAX_CRIU_ARGS) {
				ferry_err("too many --criu-arg (at most %d)", MAX_CRIU_ARGS);
				return FERRY_EXIT_USAGE;
			}
			o.criu_args[o.ncriu_args++] = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			return FERRY_EXIT_OK;
		default:
			fputs(usage_text, stderr);
			return FERRY_EXIT_USAGE;
		}
	}
	if (!o.listen || optind != argc) {
		ferry_err(o.listen ? "unexpected argument '%s'" : "missing --listen ADDR:PORT",
			  optind < argc ? argv[optind] : "");
		return FERRY_EXIT_USAGE;
	}
	signal(SIGPIPE, SIG_IGN);
	lfd = mig_listen(o.listen, err, sizeof(err));
	if (lfd < 0) {
		ferry_err("%s", err);
		return lfd == -EINVAL ? FERRY_EXIT_USAGE : FERRY_EXIT_FAIL;
	}
	note("listening on %s, working in %s", o.listen, o.dir);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			ferry_err("accept: %s", strerror(errno));
			ret = -errno;
			break;
		}
		ret = session(&o, fd);
		close(fd);
		if (o.once)
			break;
	}
	close(lfd);
	return ret ? FERRY_EXIT_FAIL : FERRY_EXIT_OK;
}
