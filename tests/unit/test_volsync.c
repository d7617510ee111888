// SPDX-License-Identifier: GPL-2.0
/*
 * A named volume's copy (ctr_volsync.h) over a real wire connection (a
 * socketpair, the receiver in a child): what must be unchanged is the
 * tree, entry by entry (type, mode, owner, size, content, link target,
 * mtime), after the pre-copy and again after the final phase that follows
 * changes, deletions and replacements. The receiver's side is also fed
 * hostile frames: paths out of the volume, through links, and more entries
 * or bytes than announced. Nothing may land outside its root.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "ctr_volsync.h"
#include "mig.h"
#include "util.h"
#include "wire.h"
#include "wire_vol.h"

static char top[] = "/tmp/ferry-volsync-test-XXXXXX";
static char src[600], dst[600], outside[600];

static void put(const char *dir, const char *rel, const char *content, size_t len)
{
	char p[1300];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(ferry_write_all(fd, content, len), 0);
	close(fd);
}

static void mk(const char *dir, const char *rel)
{
	char p[1300];

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	assert_int_equal(mkdir(p, 0750), 0);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(top))
		return -1;
	snprintf(src, sizeof(src), "%s/src", top);
	snprintf(dst, sizeof(dst), "%s/dst", top);
	snprintf(outside, sizeof(outside), "%s/outside", top);
	return mkdir(src, 0755) || mkdir(dst, 0755) || mkdir(outside, 0755);
}

static int teardown(void **state)
{
	(void)state;
	return mig_rmtree(top);
}

/* The receiver: apply frames to rootfd until the phase's END (or an
 * error): 0 or -errno, its message on stderr. */
static int receive_phase(struct wire_conn *c, struct vs_apply *a)
{
	struct wire_vol *v = malloc(sizeof(*v));
	struct wire_msg m;
	char err[512] = "";
	int ret = 0;

	while (!ret) {
		ret = wire_recv(c, &m);
		if (!ret)
			ret = wire_parse_vol(c, &m, v);
		if (ret) {
			fprintf(stderr, "receiver: %s\n", c->err);
			break;
		}
		if (v->op == WIRE_VOL_FILE) {
			struct wire_file f = { .size = v->size };
			int fd = vs_apply_file(a, v, err, sizeof(err));

			if (fd < 0) {
				ret = fd;
				break;
			}
			ret = wire_recv_file_body(c, &f, fd);
			if (ret) {
				close(fd);
				break;
			}
			ret = vs_apply_file_done(a, v, fd, err, sizeof(err));
			continue;
		}
		ret = vs_apply(a, v, err, sizeof(err));
		if (!ret && v->op == WIRE_VOL_BEGIN && v->phase == WIRE_VOL_PRECOPY) {
			/* the volume is made: the sender waits for this */
			struct wire_vol r = { .op = WIRE_VOL_READY, .vol = v->vol };

			ret = wire_send_vol(c, &r);
		}
		if (!ret && v->op == WIRE_VOL_END)
			break;
	}
	if (ret && err[0])
		fprintf(stderr, "receiver: %s\n", err);
	free(v);
	return ret;
}

/* Send one phase of src to a child that applies it to dst; the child's
 * verdict (0 applied). before: the pre-copy's tree, or NULL. */
static int run_phase(struct vs_tree *now, const struct vs_tree *before, struct vs_send_stats *st,
		     bool final)
{
	int sp[2], status, rootfd, ret;
	char err[512] = "";
	struct wire_conn c;
	pid_t pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct vs_apply a;

		close(sp[0]);
		wire_init(&c, sp[1]);
		vs_apply_init(&a, open(dst, O_RDONLY | O_DIRECTORY));
		/* the phases' order is the receiver's to check: replay it */
		if (final)
			a.phases_done = 1;
		_exit(receive_phase(&c, &a) ? 1 : 0);
	}
	close(sp[1]);
	wire_init(&c, sp[0]);
	rootfd = open(src, O_RDONLY | O_DIRECTORY);
	assert_true(rootfd >= 0);
	ret = vs_send_phase(&c, 0, rootfd, now, before, st, err, sizeof(err));
	if (ret)
		fprintf(stderr, "sender: %s\n", err);
	close(rootfd);
	wire_free(&c);
	close(sp[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return ret ? ret : WEXITSTATUS(status);
}

static bool same_content(const char *a, const char *b)
{
	char x[8192], y[8192];
	int fa = open(a, O_RDONLY), fb = open(b, O_RDONLY);
	ssize_t n, k;
	bool same = fa >= 0 && fb >= 0;

	while (same && (n = read(fa, x, sizeof(x))) > 0) {
		k = read(fb, y, sizeof(y));
		same = k == n && !memcmp(x, y, (size_t)n);
	}
	if (same)
		same = read(fb, y, 1) == 0;
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	return same;
}

/* Both trees entry by entry. */
static void assert_same_trees(void)
{
	struct vs_tree a, b;
	char err[512];
	int fa = open(src, O_RDONLY | O_DIRECTORY), fb = open(dst, O_RDONLY | O_DIRECTORY);

	assert_int_equal(vs_walk(fa, &a, err, sizeof(err)), 0);
	assert_int_equal(vs_walk(fb, &b, err, sizeof(err)), 0);
	assert_int_equal(a.n, b.n);
	for (size_t i = 0; i < a.n; i++) {
		const struct vs_entry *x = &a.v[i], *y = vs_find(&b, x->path);
		char pa[1300], pb[1300];

		if (!y)
			fail_msg("%s is missing on the destination", x->path);
		assert_int_equal(x->type, y->type);
		assert_int_equal(x->mode, y->mode);
		assert_int_equal(x->uid, y->uid);
		assert_int_equal(x->gid, y->gid);
		assert_int_equal(x->size, y->size);
		if (x->type != VS_DIR || strcmp(x->path, "."))
			assert_int_equal(x->mtime_ns, y->mtime_ns);
		if (x->type == VS_LINK)
			assert_string_equal(x->target, y->target);
		snprintf(pa, sizeof(pa), "%s/%s", src, x->path);
		snprintf(pb, sizeof(pb), "%s/%s", dst, x->path);
		if (x->type == VS_FILE && !same_content(pa, pb))
			fail_msg("%s differs", x->path);
	}
	vs_tree_free(&a);
	vs_tree_free(&b);
	close(fa);
	close(fb);
}

/* The source's root stays open across both walks, as in a migration
 * (a dup of it shares its directory offset). */
static int src_root = -1;

static struct vs_tree walk_src(void)
{
	struct vs_tree t;
	char err[512];

	if (src_root < 0)
		src_root = open(src, O_RDONLY | O_DIRECTORY);
	assert_true(src_root >= 0);
	assert_int_equal(vs_walk(src_root, &t, err, sizeof(err)), 0);
	return t;
}

static void test_path_rule(void **state)
{
	(void)state;
	assert_true(wire_vol_path_ok("a", false));
	assert_true(wire_vol_path_ok("a/b.c/..d", false));
	assert_true(wire_vol_path_ok(".", true));
	assert_false(wire_vol_path_ok(".", false));
	assert_false(wire_vol_path_ok("", true));
	assert_false(wire_vol_path_ok("/etc", false));
	assert_false(wire_vol_path_ok("a/../../etc", false));
	assert_false(wire_vol_path_ok("..", false));
	assert_false(wire_vol_path_ok("a//b", false));
	assert_false(wire_vol_path_ok("a/./b", false));
	assert_false(wire_vol_path_ok("a/", false));
}

/*
 * Pre-copy, then changes while "running" (a file rewritten, one deleted, a
 * directory deleted with its files, a file replaced by a link and a link
 * by a directory, a new file, a mode change), then the final phase: the
 * destination equals the source after each; the final phase sent only
 * what changed (the big file stays).
 */
static void test_two_phases(void **state)
{
	struct vs_send_stats pst = { 0 }, fst = { 0 };
	static char big[3 << 20];
	struct vs_tree pre, now;
	char p[1300];

	(void)state;
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + i / 4096);
	put(src, "big", big, sizeof(big));
	mk(src, "d");
	mk(src, "d/e");
	put(src, "d/e/f", "deep", 4);
	put(src, "d/g", "g", 1);
	mk(src, "gone");
	put(src, "gone/x", "x", 1);
	put(src, "keep", "keep", 4);
	put(src, "tolink", "file", 4);
	snprintf(p, sizeof(p), "%s/todir", src);
	assert_int_equal(symlink("somewhere", p), 0);
	snprintf(p, sizeof(p), "%s/abs", src);
	assert_int_equal(symlink("/etc/passwd", p), 0);
	put(src, "empty", "", 0);
	/* old enough not to count as changed while read */
	{
		struct timespec ts[2] = { { .tv_sec = 1000000000 }, { .tv_sec = 1000000000 } };
		const char *old[] = { "big", "keep", "d/e/f" };

		for (size_t i = 0; i < 3; i++) {
			snprintf(p, sizeof(p), "%s/%s", src, old[i]);
			assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
		}
	}
	sleep(VS_RACY_NS / 1000000000 + 1);	/* the ctimes set above age */
	pre = walk_src();
	assert_int_equal(run_phase(&pre, NULL, &pst, false), 0);
	assert_same_trees();
	assert_int_equal(pst.bytes, sizeof(big) + 4 + 1 + 1 + 4 + 4);	/* big f g x keep tolink */

	put(src, "d/g", "changed", 7);
	snprintf(p, sizeof(p), "%s/gone/x", src);
	unlink(p);
	snprintf(p, sizeof(p), "%s/gone", src);
	rmdir(p);
	snprintf(p, sizeof(p), "%s/tolink", src);
	unlink(p);
	assert_int_equal(symlink("keep", p), 0);
	snprintf(p, sizeof(p), "%s/todir", src);
	unlink(p);
	mk(src, "todir");
	put(src, "todir/new", "new", 3);
	snprintf(p, sizeof(p), "%s/keep", src);
	assert_int_equal(chmod(p, 0600), 0);
	now = walk_src();
	assert_int_equal(run_phase(&now, &pre, &fst, true), 0);
	assert_same_trees();
	/* the final phase left out the big file */
	assert_true(fst.bytes < 64);
	assert_true(fst.deleted >= 3);	/* gone, gone/x, tolink, todir */
	vs_tree_free(&pre);
	vs_tree_free(&now);
	snprintf(p, sizeof(p), "%s/etc/passwd", top);
	assert_int_equal(access(p, F_OK), -1);
}

/* vs_changed: what the pre-copy could not trust goes again. */
static void test_changed(void **state)
{
	struct vs_entry b = { .type = VS_FILE, .ino = 5, .size = 3, .mtime_ns = 10,
			      .ctime_ns = 100, .seen_ns = 100 + (int64_t)VS_RACY_NS, .mode = 0644 };
	struct vs_entry e = b;

	(void)state;
	assert_false(vs_changed(&b, &e));
	assert_true(vs_changed(NULL, &e));
	e.ctime_ns++;
	assert_true(vs_changed(&b, &e));
	e = b;
	e.size = 4;
	assert_true(vs_changed(&b, &e));
	e = b;
	b.seen_ns = b.ctime_ns + 1;	/* changed right before it was read */
	assert_true(vs_changed(&b, &e));
	b.seen_ns = 100 + (int64_t)VS_RACY_NS;
	b.dirty = true;
	assert_true(vs_changed(&b, &e));
	e.type = VS_DIR;	/* attributes only, always */
	b.dirty = false;
	assert_true(vs_changed(&b, &e));
}

/* A hostile sender: frames sent straight to the receiver's vs_apply. */
static int apply_raw(struct vs_apply *a, struct wire_vol *v)
{
	char err[512] = "";
	int fd, ret;

	if (v->op != WIRE_VOL_FILE) {
		ret = vs_apply(a, v, err, sizeof(err));
		if (ret)
			fprintf(stderr, "refused: %s\n", err);
		return ret;
	}
	fd = vs_apply_file(a, v, err, sizeof(err));
	if (fd < 0)
		fprintf(stderr, "refused: %s\n", err);
	if (fd < 0)
		return fd;
	if (write(fd, "pwned", 5) != 5)
		return -EIO;
	return vs_apply_file_done(a, v, fd, err, sizeof(err));
}

static void test_hostile(void **state)
{
	struct wire_vol v;
	struct vs_apply a;
	char p[1300], dir[700];
	struct stat st;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/hostile", top);
	assert_int_equal(mkdir(dir, 0755), 0);
	vs_apply_init(&a, open(dir, O_RDONLY | O_DIRECTORY));
	memset(&v, 0, sizeof(v));
	/* nothing before BEGIN, and not the final phase first */
	v.op = WIRE_VOL_DIR;
	snprintf(v.path, sizeof(v.path), "x");
	assert_int_equal(apply_raw(&a, &v), -EPROTO);
	v.op = WIRE_VOL_BEGIN;
	v.phase = WIRE_VOL_FINAL;
	assert_int_equal(apply_raw(&a, &v), -EPROTO);
	v.phase = WIRE_VOL_PRECOPY;
	v.entries = 6;
	v.bytes = 10;
	assert_int_equal(apply_raw(&a, &v), 0);
	/* a link out of the volume, then a file and a directory through it */
	v.op = WIRE_VOL_LINK;
	snprintf(v.path, sizeof(v.path), "esc");
	snprintf(v.target, sizeof(v.target), "%s", outside);
	v.uid = getuid();
	v.gid = getgid();
	assert_int_equal(apply_raw(&a, &v), 0);
	v.op = WIRE_VOL_FILE;
	v.mode = 04755;
	v.size = 5;
	snprintf(v.path, sizeof(v.path), "esc/x");
	assert_true(apply_raw(&a, &v) < 0);
	v.op = WIRE_VOL_DIR;
	snprintf(v.path, sizeof(v.path), "esc/d");
	assert_true(apply_raw(&a, &v) < 0);
	/* a file over the link replaces the link, not its target */
	v.op = WIRE_VOL_FILE;
	snprintf(v.path, sizeof(v.path), "esc");
	assert_int_equal(apply_raw(&a, &v), 0);
	snprintf(p, sizeof(p), "%s/esc", dir);
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	/* more bytes than announced */
	snprintf(v.path, sizeof(v.path), "big");
	v.size = 6;
	assert_int_equal(apply_raw(&a, &v), -EPROTO);
	/* more entries than announced: 4 of 6 taken so far (the two refused
	 * for their path too, not the one over the byte bound), then 2 more
	 * and no further */
	v.op = WIRE_VOL_DEL;
	snprintf(v.path, sizeof(v.path), "nothing-here");
	assert_int_equal(apply_raw(&a, &v), 0);
	assert_int_equal(apply_raw(&a, &v), 0);
	assert_int_equal(apply_raw(&a, &v), -EPROTO);
	/* the outside directory is untouched */
	snprintf(p, sizeof(p), "%s/x", outside);
	assert_int_equal(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "%s/d", outside);
	assert_int_equal(access(p, F_OK), -1);
	vs_apply_free(&a);
}

/* The wire form: what parse refuses. */
static void test_frames(void **state)
{
	struct wire_vol v, out;
	struct wire_conn c[2];
	struct wire_msg m;
	int sp[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	wire_init(&c[0], sp[0]);
	wire_init(&c[1], sp[1]);
	memset(&v, 0, sizeof(v));
	v.op = WIRE_VOL_LINK;
	v.vol = 3;
	snprintf(v.path, sizeof(v.path), "a/b");
	snprintf(v.target, sizeof(v.target), "../c");
	v.uid = 7;
	v.mtime_ns = 123456789012345ull;
	assert_int_equal(wire_send_vol(&c[0], &v), 0);
	assert_int_equal(wire_recv(&c[1], &m), 0);
	assert_int_equal(wire_parse_vol(&c[1], &m, &out), 0);
	assert_string_equal(out.path, "a/b");
	assert_string_equal(out.target, "../c");
	assert_int_equal(out.vol, 3);
	assert_int_equal(out.uid, 7);
	assert_true(out.mtime_ns == v.mtime_ns);
	/* a path out of the volume, "." for a file, a mode beyond 07777, an
	 * unknown op: each refused */
	snprintf(v.path, sizeof(v.path), "../x");
	assert_int_equal(wire_send_vol(&c[0], &v), 0);
	assert_int_equal(wire_recv(&c[1], &m), 0);
	assert_int_equal(wire_parse_vol(&c[1], &m, &out), -EPROTO);
	v.op = WIRE_VOL_FILE;
	snprintf(v.path, sizeof(v.path), ".");
	assert_int_equal(wire_send_vol(&c[0], &v), 0);
	assert_int_equal(wire_recv(&c[1], &m), 0);
	assert_int_equal(wire_parse_vol(&c[1], &m, &out), -EPROTO);
	v.op = WIRE_VOL_DIR;
	v.mode = 010000;
	assert_int_equal(wire_send_vol(&c[0], &v), 0);
	assert_int_equal(wire_recv(&c[1], &m), 0);
	assert_int_equal(wire_parse_vol(&c[1], &m, &out), -EPROTO);
	v.op = 99;
	assert_int_equal(wire_send_vol(&c[0], &v), 0);
	assert_int_equal(wire_recv(&c[1], &m), 0);
	assert_int_equal(wire_parse_vol(&c[1], &m, &out), -EPROTO);
	wire_free(&c[0]);
	wire_free(&c[1]);
	close(sp[0]);
	close(sp[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_rule),
		cmocka_unit_test(test_changed),
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_two_phases),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
