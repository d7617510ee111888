// SPDX-License-Identifier: GPL-2.0
/* Pre-copy page source: which VMAs count, present-page discovery in a live
 * child, reading its pages with process_vm_readv and sending them over the
 * wire into a page store: the store ends up byte-identical to the child. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "mig.h"
#include "pagestore.h"
#include "wire.h"

#define PG 4096ul

/* smaps VmFlags: hugetlb ("ht") and VM_PFNMAP ("pf") are untracked. */
static void test_vmflags_untracked(void **state)
{
	(void)state;
	assert_false(mig_vmflags_untracked("VmFlags: rd wr mr mw me ac sd \n"));
	assert_true(mig_vmflags_untracked("VmFlags: rd wr mr mw me de ht sd\n"));
	assert_true(mig_vmflags_untracked("VmFlags: rd wr sh mr mw me ms io pf dd\n"));
	assert_true(mig_vmflags_untracked("VmFlags: rd ht"));
	/* a mnemonic that merely contains the letters is not one */
	assert_false(mig_vmflags_untracked("VmFlags: rd wr mr mw me hgt pff\n"));
	assert_false(mig_vmflags_untracked("Size: 2048 kB ht\n"));
	/* hugetlb alone */
	assert_true(mig_vmflags_hugetlb("VmFlags: rd wr mr mw me de ht sd\n"));
	assert_false(mig_vmflags_hugetlb("VmFlags: rd wr sh mr mw me ms io pf dd\n"));
}

static void test_maps_lines(void **state)
{
	struct mig_vma v;

	(void)state;
	assert_true(mig_maps_line_copyable("7f00-7f10 rw-p 00000000 00:00 0 \n", &v));
	assert_int_equal(v.start, 0x7f00);
	assert_int_equal(v.end, 0x7f10);
	assert_false(v.file);
	assert_true(mig_maps_line_copyable("1000-2000 r--p 0 08:01 5 /usr/lib/x.so\n", &v));
	assert_true(v.file);
	assert_true(mig_maps_line_copyable("1000-2000 rw-p 0 00:00 0   [heap]\n", &v));
	assert_true(mig_maps_line_copyable("1000-2000 rw-p 0 00:00 0   [stack]\n", &v));
	assert_false(mig_maps_line_copyable("1000-2000 rw-s 0 00:01 5 /dev/zero (deleted)\n", &v));
	assert_false(mig_maps_line_copyable("1000-2000 ---p 0 00:00 0\n", &v));
	/* CRIU dumps [vdso] pages: they must be in the parent images */
	assert_true(mig_maps_line_copyable("1000-3000 r-xp 0 00:00 0   [vdso]\n", &v));
	assert_true(v.vdso);
	assert_false(mig_maps_line_copyable("1000-2000 r--p 0 00:00 0   [vvar]\n", &v));
	assert_false(mig_maps_line_copyable("1000-2000 --xp 0 00:00 0   [vsyscall]\n", &v));
	assert_false(mig_maps_line_copyable("garbage\n", &v));
}

static void test_exts(void **state)
{
	struct mig_exts x = { 0 }, out = { 0 };
	struct mig_vma v[] = { { 0x3000, 0x5000, false, false }, { 0x8000, 0xa000, false, false }, { 0x20000, 0x21000, false, false } };

	(void)state;
	assert_int_equal(mig_exts_add(&x, 0x1000, 2), 0);
	assert_int_equal(mig_exts_add(&x, 0x3000, 1), 0);	/* merges */
	assert_int_equal(x.n, 1);
	assert_int_equal(mig_exts_add(&x, 0x6000, 5), 0);	/* 0x6000..0xb000 */
	assert_int_equal(mig_exts_add(&x, 0x30000, 1), 0);
	assert_int_equal(mig_exts_pages(&x), 9);
	assert_int_equal(mig_exts_clip(&x, v, 3, &out), 0);
	/* [0x3000,0x4000) and [0x8000,0xa000) survive */
	assert_int_equal(out.n, 2);
	assert_int_equal(out.v[0].start, 0x3000);
	assert_int_equal(out.v[0].pages, 1);
	assert_int_equal(out.v[1].start, 0x8000);
	assert_int_equal(out.v[1].pages, 2);
	mig_exts_free(&x);
	mig_exts_free(&out);
}

struct rx {
	struct wire_conn *c;
	struct pagestore *ps;
	uint64_t frames;
	int ret;
};

/* Receiver: store PAGES frames until DONE. */
static void *rx_thread(void *arg)
{
	struct rx *r = arg;
	uint8_t *buf = malloc(WIRE_MAX_PAGES * PG);
	struct wire_pages_hdr h;
	struct wire_msg m;

	for (;;) {
		r->ret = wire_recv(r->c, &m);
		if (r->ret || m.type == WIRE_DONE)
			break;
		r->ret = wire_parse_pages(r->c, &m, &h, buf, WIRE_MAX_PAGES * PG);
		if (!r->ret)
			r->ret = pagestore_put(r->ps, h.pid, h.vaddr, h.npages, buf);
		if (r->ret)
			break;
		r->frames++;
	}
	free(buf);
	return NULL;
}

static void test_copy_child(void **state)
{
	int pfd[2], sp[2];
	pid_t child;
	uint8_t *area;
	const size_t npages = 2048;	/* more than one PAGES frame */

	(void)state;
	assert_int_equal(pipe(pfd), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		uint8_t *a = mmap(NULL, npages * PG, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		if (a == MAP_FAILED)
			_exit(1);
		madvise(a, npages * PG, MADV_NOHUGEPAGE);
		/* touch pages 0..1199 and 1500, leave the rest untouched */
		for (size_t i = 0; i < npages; i++)
			if (i < 1200 || i == 1500)
				memset(a + i * PG, (int)(i * 13 + 1), PG);
		if (write(pfd[1], &a, sizeof(a)) != sizeof(a))
			_exit(1);
		pause();
		_exit(0);
	}
	assert_int_equal(read(pfd[0], &area, sizeof(area)), sizeof(area));

	struct mig_exts all = { 0 }, mine = { 0 };
	assert_int_equal(mig_present_pages(child, &all), 0);
	/* restrict to the test area and check exactly the touched pages */
	struct mig_vma v = { (uint64_t)(uintptr_t)area, (uint64_t)(uintptr_t)area + npages * PG, false, false };
	assert_int_equal(mig_exts_clip(&all, &v, 1, &mine), 0);
	assert_int_equal(mine.n, 2);
	assert_int_equal(mine.v[0].start, v.start);
	assert_int_equal(mine.v[0].pages, 1200);
	assert_int_equal(mine.v[1].start, v.start + 1500 * PG);
	assert_int_equal(mine.v[1].pages, 1);

	/* every page of the child's [vdso] is included */
	struct mig_vma *vv;
	size_t nvv;
	assert_int_equal(mig_copy_vmas(child, &vv, &nvv), 0);
	for (size_t i = 0; i < nvv; i++) {
		if (!vv[i].vdso)
			continue;
		struct mig_exts vd = { 0 };
		assert_int_equal(mig_exts_clip(&all, &vv[i], 1, &vd), 0);
		assert_int_equal(mig_exts_pages(&vd), (vv[i].end - vv[i].start) / PG);
		mig_exts_free(&vd);
	}
	free(vv);

	/* plus one unmapped page in the middle of the request */
	struct mig_exts req = { 0 };
	assert_int_equal(mig_exts_add(&req, mine.v[0].start, mine.v[0].pages), 0);
	assert_int_equal(mig_exts_add(&req, 0x1000, 1), 0);	/* never mapped */
	assert_int_equal(mig_exts_add(&req, mine.v[1].start, 1), 0);

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	struct wire_conn a, b;
	struct pagestore *store, *sent;
	char path[] = "/tmp/ferry-migp-XXXXXX";
	int tfd = mkstemp(path);
	assert_true(tfd >= 0);
	close(tfd);
	assert_int_equal(pagestore_open(&store, path), 0);
	assert_int_equal(pagestore_open(&sent, NULL), 0);
	wire_init(&a, sp[0]);
	wire_init(&b, sp[1]);
	struct rx r = { &b, store, 0, 0 };
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, rx_thread, &r), 0);
	struct mig_copy_stats st = { 0 };
	/* read from child, named 1 (as a container's init would be in
	 * its PID namespace): the frames and the index carry the name */
	assert_int_equal(mig_send_pages(&a, NULL, child, 1, &req, sent, &st), 0);
	assert_int_equal(wire_send(&a, WIRE_DONE, NULL, 0), 0);
	pthread_join(th, NULL);
	assert_int_equal(r.ret, 0);
	assert_int_equal(st.pages, 1201);
	assert_int_equal(st.unreadable, 1);
	assert_true(st.wire_bytes < st.raw_bytes / 10);	/* memset pages compress */
	assert_true(r.frames >= 3);

	/* the store holds exactly the child's bytes */
	uint8_t want[PG], got[PG];
	for (size_t i = 0; i < npages; i++) {
		uint64_t va = v.start + i * PG;
		int rc = pagestore_get(store, 1, va, got);

		if (i < 1200 || i == 1500) {
			assert_int_equal(rc, 0);
			memset(want, (int)(i * 13 + 1), PG);
			assert_memory_equal(want, got, PG);
			assert_int_equal(pagestore_get(sent, 1, va, NULL), 0);
			assert_int_equal(pagestore_get(sent, (uint32_t)child, va, NULL), -ENOENT);
		} else {
			assert_int_equal(rc, -ENOENT);
		}
	}
	assert_int_equal(pagestore_get(store, 1, 0x1000, got), -ENOENT);

	/* a process that is gone */
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	struct mig_exts none = { 0 };
	assert_int_equal(mig_present_pages(child, &none), -ESRCH);
	assert_int_equal(mig_send_pages(&a, NULL, child, child, &req, sent, &st), -ESRCH);

	pagestore_close(store, true);
	pagestore_close(sent, true);
	wire_free(&a);
	wire_free(&b);
	close(sp[0]);
	close(sp[1]);
	mig_exts_free(&all);
	mig_exts_free(&mine);
	mig_exts_free(&req);
	close(pfd[0]);
	close(pfd[1]);
}

static void test_run(void **state)
{
	char log[] = "/tmp/ferry-migrun-XXXXXX", tail[256];
	const char *ok[] = { "sh", "-c", "echo one; echo two; echo three >&2", NULL };
	const char *bad[] = { "sh", "-c", "exit 7", NULL };
	const char *none[] = { "/nonexistent/prog", NULL };
	int fd = mkstemp(log);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(mig_run(ok, log), 0);
	mig_log_tail(log, 2, tail, sizeof(tail));
	assert_string_equal(tail, "two\nthree");
	assert_int_equal(mig_run(bad, log), 7);
	assert_int_equal(mig_run(none, log), 127);
	mig_log_tail(log, 1, tail, sizeof(tail));
	assert_non_null(strstr(tail, "cannot run /nonexistent/prog"));
	unlink(log);

	char dir[] = "/tmp/ferry-rmtree-XXXXXX", p[128];
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/sub", dir);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/sub/f", dir);
	fclose(fopen(p, "w"));
	snprintf(p, sizeof(p), "%s/link", dir);
	assert_int_equal(symlink("/etc", p), 0);	/* not followed */
	assert_int_equal(mig_rmtree(dir), 0);
	assert_int_equal(access(dir, F_OK), -1);
	assert_int_equal(access("/etc/passwd", F_OK), 0);
	assert_int_equal(mig_rmtree(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_maps_lines),
		cmocka_unit_test(test_vmflags_untracked),
		cmocka_unit_test(test_exts),
		cmocka_unit_test(test_copy_child),
		cmocka_unit_test(test_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
