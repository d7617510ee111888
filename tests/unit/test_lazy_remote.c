// SPDX-License-Identifier: GPL-2.0
/*
 * The lazy-pages server in post-copy, with a real userfaultfd: a child
 * plays the restored task (its memory registered, empty, handed over as
 * CRIU's restore hands it), and the test plays the process that receives
 * pages from the source. What must hold: every page the task reads is the
 * dump's, whether it was in place before the fault or arrived after it;
 * a fault on a page still arriving asks for it (once) and waits; the
 * server ends only when every page is in place; and when nothing arrives,
 * it fails within its stall limit instead of hanging the task for ever.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "criu_img.h"
#include "lazy_server.h"
#include "mig.h"
#include "util.h"

#define P 4096ull
#define NPAGES 96
#define TASK_PID 4242
#define LAZY_RESTORE_FINISHED 0x52535446u

static void fill(uint8_t *p, uint64_t page)
{
	for (uint64_t i = 0; i < P; i++)
		p[i] = (uint8_t)(page * 31 + i * 7 + 1);
}

/* dir with pagemap-TASK_PID.img (NPAGES lazy pages at addr, present in
 * pages-5.img) and pages-5.img as the source has it, in src (not in dir:
 * there it is a file of zeros being filled) */
static void make_images(const char *dir, uint64_t addr, const char *src)
{
	const struct criu_pme e[] = { { addr, NPAGES, CRIU_PE_PRESENT | CRIU_PE_LAZY } };
	uint8_t page[P];
	int dfd = open(dir, O_RDONLY | O_DIRECTORY), fd;

	assert_true(dfd >= 0);
	assert_int_equal(criu_img_write_pagemap_entries(dfd, "pagemap-4242.img", 5, e, 1), 0);
	fd = openat(dfd, "pages-5.img", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(ftruncate(fd, NPAGES * P), 0);
	close(fd);
	close(dfd);
	fd = open(src, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	for (uint64_t i = 0; i < NPAGES; i++) {
		fill(page, i);
		assert_int_equal(write(fd, page, P), (ssize_t)P);
	}
	close(fd);
}

static void send_fd(int sock, int fd)
{
	char data = 0, cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &data, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(fd));
	if (sendmsg(sock, &mh, 0) != 1)
		_exit(10);
}

/*
 * The restored task: region (NPAGES, empty) registered with a userfaultfd
 * handed to the server as criu restore would; then it reads every page,
 * those of `first` first, and checks each against the dump. Exit 0 good.
 */
static void task(const char *dir, uint8_t *region, const uint64_t *first, size_t nfirst)
{
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = {
		.range = { (uintptr_t)region, NPAGES * P }, .mode = UFFDIO_REGISTER_MODE_MISSING,
	};
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint32_t fin = LAZY_RESTORE_FINISHED;
	int32_t pid = TASK_PID;
	uint8_t want[P];
	int uffd, sk;

	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api) || ioctl(uffd, UFFDIO_REGISTER, &reg))
		_exit(11);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/lazy-pages.socket", dir);
	sk = socket(AF_UNIX, SOCK_STREAM, 0);
	if (connect(sk, (struct sockaddr *)&sa, sizeof(sa)))
		_exit(12);
	if (write(sk, &pid, sizeof(pid)) != sizeof(pid))
		_exit(13);
	send_fd(sk, uffd);
	close(uffd);
	if (write(sk, &fin, sizeof(fin)) != sizeof(fin))
		_exit(14);
	for (size_t i = 0; i < nfirst; i++) {
		fill(want, first[i]);
		if (memcmp(region + first[i] * P, want, P))
			_exit(20);
	}
	for (uint64_t i = 0; i < NPAGES; i++) {
		fill(want, i);
		if (memcmp(region + i * P, want, P))
			_exit(21);
	}
	close(sk);
	_exit(0);
}

/* The receiving process's part: copy page i from src into dir's file and
 * set its bit. */
static void arrive(int src, int dst, uint8_t *present, uint64_t i)
{
	uint8_t page[P];

	assert_int_equal(pread(src, page, P, (off_t)(i * P)), (ssize_t)P);
	assert_int_equal(pwrite(dst, page, P, (off_t)(i * P)), (ssize_t)P);
	__atomic_fetch_or(&present[i / 8], (uint8_t)(1u << (i % 8)), __ATOMIC_RELEASE);
}

struct rig {
	char dir[64], src[128], dst[128];
	uint8_t *region, *present;
	struct lz_remote rem;
	int sp[2];
	pid_t server, child;
};

static void rig_up(struct rig *r, int stall_ms)
{
	char err[256];

	snprintf(r->dir, sizeof(r->dir), "/tmp/ferry-lzremote-XXXXXX");
	assert_non_null(mkdtemp(r->dir));
	snprintf(r->src, sizeof(r->src), "%s/source-pages", r->dir);
	snprintf(r->dst, sizeof(r->dst), "%s/pages-5.img", r->dir);
	r->region = mmap(NULL, NPAGES * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			 -1, 0);
	assert_true(r->region != MAP_FAILED);
	make_images(r->dir, (uintptr_t)r->region, r->src);
	r->present = mmap(NULL, (NPAGES + 7) / 8, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(r->present != MAP_FAILED);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, r->sp), 0);
	memset(&r->rem, 0, sizeof(r->rem));
	r->rem.fd = r->sp[1];
	r->rem.n = 1;
	r->rem.stall_ms = stall_ms;
	snprintf(r->rem.f[0].name, sizeof(r->rem.f[0].name), "pages-5.img");
	r->rem.f[0].pages = NPAGES;
	r->rem.f[0].present = r->present;
	assert_int_equal(lazy_server_start(r->dir, 1, &r->rem, &r->server, err, sizeof(err)), 0);
	close(r->sp[1]);
}

static void rig_down(struct rig *r)
{
	char cmd[128];

	close(r->sp[0]);
	munmap(r->region, NPAGES * P);
	munmap((void *)r->present, (NPAGES + 7) / 8);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", r->dir);
	assert_int_equal(system(cmd), 0);
}

/*
 * A store deep in a shared file system: its work dir's socket path is
 * longer than sun_path holds. The server still listens, at the name CRIU
 * connects to relative to that dir (before, it refused: ENAMETOOLONG).
 */
static void test_long_dir(void **state)
{
	char dir[400], sock[460], err[512], cmd[500];
	struct stat sb;
	pid_t server;
	size_t l;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/ferry-lzlong-XXXXXX");
	assert_non_null(mkdtemp(dir));
	l = strlen(dir);
	while (l < 200) {
		l += (size_t)snprintf(dir + l, sizeof(dir) - l, "/a-rather-long-directory-name");
		assert_int_equal(mkdir(dir, 0700), 0);
	}
	assert_true(strlen(dir) + sizeof("/lazy-pages.socket") > sizeof(((struct sockaddr_un *)0)->sun_path));
	assert_int_equal(lazy_server_start(dir, 1, NULL, &server, err, sizeof(err)), 0);
	snprintf(sock, sizeof(sock), "%s/lazy-pages.socket", dir);
	assert_int_equal(stat(sock, &sb), 0);
	assert_true(S_ISSOCK(sb.st_mode));
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	snprintf(cmd, sizeof(cmd), "rm -rf /tmp/%.*s", 19, dir + 5);
	assert_int_equal(system(cmd), 0);
}

/*
 * A third of the pages in place before the task runs; it reads pages 50
 * and 80 first (not in place): each is asked for, and the test answers
 * as the source would, fault pages first, then pushes the rest in order.
 */
static void test_faults_and_push(void **state)
{
	static const uint64_t first[] = { 50, 80 };
	bool sent[NPAGES] = { 0 };
	struct lz_pc_stats stats = { 0 };
	int src, dst, asks = 0;
	uint64_t next = 0;
	struct rig r;

	(void)state;
	rig_up(&r, 20000);
	src = open(r.src, O_RDONLY);
	dst = open(r.dst, O_WRONLY);
	for (uint64_t i = 0; i < NPAGES / 3; i++) {
		arrive(src, dst, r.present, i);
		sent[i] = true;
	}
	r.child = fork();
	assert_true(r.child >= 0);
	if (r.child == 0)
		task(r.dir, r.region, first, 2);
	/* answer requests first; push one page per quiet 20 ms */
	for (;;) {
		struct pollfd p = { .fd = r.sp[0], .events = POLLIN };
		union {
			struct lz_fetch q;
			struct lz_pc_stats st;
		} u;
		struct lz_fetch q;
		ssize_t n = 0;
		int status;

		if (poll(&p, 1, 20) > 0)
			n = read(r.sp[0], &u, sizeof(u));
		if (n == sizeof(u.st)) {
			/* its last word: what the faults waited */
			assert_int_equal(u.st.magic, LZ_PC_STATS_MAGIC);
			stats = u.st;
			continue;
		}
		if (n == sizeof(q)) {
			q = u.q;
			asks++;
			assert_int_equal(q.file, 0);
			assert_true(q.npages >= 1 && q.page + q.npages <= NPAGES);
			/* the faulting page was not in place when asked for
			 * (the push may have brought it meanwhile) */
			for (uint64_t i = q.page; i < q.page + q.npages; i++) {
				if (!sent[i])
					arrive(src, dst, r.present, i);
				sent[i] = true;
			}
			assert_int_equal(write(r.sp[0], "w", 1), 1);
			continue;
		}
		while (next < NPAGES && sent[next])
			next++;
		if (next < NPAGES) {
			arrive(src, dst, r.present, next);
			sent[next] = true;
			assert_int_equal(write(r.sp[0], "w", 1), 1);
			continue;
		}
		if (waitpid(r.server, &status, WNOHANG) == r.server) {
			assert_true(WIFEXITED(status));
			assert_int_equal(WEXITSTATUS(status), 0);
			/* its last word may still wait */
			while (recv(r.sp[0], &u, sizeof(u), MSG_DONTWAIT) > 0)
				if (u.st.magic == LZ_PC_STATS_MAGIC)
					stats = u.st;
			break;
		}
	}
	{
		int status;

		assert_int_equal(waitpid(r.child, &status, 0), r.child);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	/* page 50 was read before the push got past 32: asked for, and
	 * the wait counted */
	assert_true(asks >= 1);
	assert_int_equal(stats.magic, LZ_PC_STATS_MAGIC);
	assert_true(stats.waits >= 1);
	assert_true(stats.p99_us >= stats.median_us);
	assert_int_equal(stats.fault_pages + stats.background_pages, NPAGES);
	close(src);
	close(dst);
	rig_down(&r);
}

/* Nothing ever arrives: the server fails within its stall limit (the
 * task, left waiting, is killed by the test). */
static void test_stall(void **state)
{
	static const uint64_t first[] = { 0 };
	uint64_t t0 = ferry_now_ns();
	struct rig r;
	int status;

	(void)state;
	rig_up(&r, 1500);
	r.child = fork();
	assert_true(r.child >= 0);
	if (r.child == 0)
		task(r.dir, r.region, first, 1);
	assert_int_equal(waitpid(r.server, &status, 0), r.server);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_true(ferry_now_ns() - t0 < 30 * 1000000000ull);
	kill(r.child, SIGKILL);
	waitpid(r.child, &status, 0);
	rig_down(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_long_dir),
		cmocka_unit_test(test_faults_and_push),
		cmocka_unit_test(test_stall),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
