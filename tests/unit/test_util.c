// SPDX-License-Identifier: GPL-2.0
/* Number parsing and errno -> exit code mapping used by every command. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include "proc_reach.h"
#include "proc_tcp.h"
#include "util.h"

static void test_parse_u64(void **state)
{
	uint64_t v = 0;

	(void)state;
	assert_true(ferry_parse_u64("42", 0, 100, &v));
	assert_int_equal(v, 42);
	assert_true(ferry_parse_u64("0x1000", 0, UINT64_MAX, &v));
	assert_int_equal(v, 4096);
	assert_false(ferry_parse_u64("101", 0, 100, &v));
	assert_false(ferry_parse_u64("5", 10, 100, &v));
	assert_false(ferry_parse_u64("-1", 0, UINT64_MAX, &v));
	assert_false(ferry_parse_u64("12abc", 0, UINT64_MAX, &v));
	assert_false(ferry_parse_u64("", 0, UINT64_MAX, &v));
	assert_false(ferry_parse_u64(NULL, 0, UINT64_MAX, &v));
	assert_false(ferry_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v));
}

/* ferry_copy_file: every byte (more than one buffer's worth, not a
 * multiple of it), a target that exists refused and left alone, a source
 * that is no regular file or a symbolic link refused with nothing made. */
static void test_copy_file(void **state)
{
	char dir[] = "/tmp/ferry-copy-XXXXXX", a[64], b[64], l[64], c[64];
	size_t n = (3u << 20) + 4097, len;
	char *data, *back;
	int fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(a, sizeof(a), "%s/a", dir);
	snprintf(b, sizeof(b), "%s/b", dir);
	snprintf(l, sizeof(l), "%s/l", dir);
	snprintf(c, sizeof(c), "%s/c", dir);
	data = malloc(n);
	assert_non_null(data);
	for (size_t i = 0; i < n; i++)
		data[i] = (char)(i * 131 + (i >> 12));
	fd = open(a, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ferry_write_all(fd, data, n), 0);
	close(fd);
	assert_int_equal(ferry_copy_file(a, b), 0);
	assert_int_equal(ferry_read_whole(b, n, &back, &len), 0);
	assert_int_equal(len, n);
	assert_memory_equal(back, data, n);
	free(back);
	/* b exists: refused, b as it was */
	assert_int_equal(ferry_copy_file(a, b), -EEXIST);
	assert_int_equal(ferry_read_whole(b, n, &back, &len), 0);
	assert_int_equal(len, n);
	free(back);
	assert_int_equal(ferry_copy_file(dir, c), -EINVAL);
	assert_int_equal(access(c, F_OK), -1);
	assert_int_equal(symlink(a, l), 0);
	assert_int_equal(ferry_copy_file(l, c), -ELOOP);
	assert_int_equal(access(c, F_OK), -1);
	assert_int_equal(ferry_copy_file("/nonexistent-ferry", c), -ENOENT);
	unlink(a);
	unlink(b);
	unlink(l);
	rmdir(dir);
	free(data);
}

/* ferry_read_whole refuses links, _follow reads through them; both refuse
 * at once what is not a regular file (a FIFO used to block the open). */
static void test_read_whole_kinds(void **state)
{
	char dir[] = "/tmp/ferry-whole-XXXXXX", f[64], l[64], p[64];
	char *text;
	size_t len;
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(f, sizeof(f), "%s/f", dir);
	snprintf(l, sizeof(l), "%s/l", dir);
	snprintf(p, sizeof(p), "%s/p", dir);
	fp = fopen(f, "w");
	assert_non_null(fp);
	fputs("ferry", fp);
	fclose(fp);
	assert_int_equal(symlink(f, l), 0);
	assert_int_equal(mkfifo(p, 0600), 0);

	assert_int_equal(ferry_read_whole(l, 64, &text, &len), -ELOOP);
	assert_int_equal(ferry_read_whole_follow(l, 64, &text, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(text, "ferry");
	free(text);
	assert_int_equal(ferry_read_whole_follow(f, 4, &text, &len), -EFBIG);
	assert_int_equal(ferry_read_whole(p, 64, &text, &len), -EINVAL);
	assert_int_equal(ferry_read_whole_follow(p, 64, &text, &len), -EINVAL);
	assert_int_equal(ferry_read_whole_follow(dir, 64, &text, &len), -EINVAL);
	unlink(f);
	unlink(l);
	unlink(p);
	rmdir(dir);
}

static void test_exit_codes(void **state)
{
	(void)state;
	assert_int_equal(ferry_exit_from_errno(0), FERRY_EXIT_OK);
	assert_int_equal(ferry_exit_from_errno(-ESRCH), FERRY_EXIT_NOPROC);
	assert_int_equal(ferry_exit_from_errno(ESRCH), FERRY_EXIT_NOPROC);
	assert_int_equal(ferry_exit_from_errno(-EPERM), FERRY_EXIT_PERM);
	assert_int_equal(ferry_exit_from_errno(-EINVAL), FERRY_EXIT_USAGE);
	assert_int_equal(ferry_exit_from_errno(-EIO), FERRY_EXIT_FAIL);
}

static void test_read_file(void **state)
{
	char buf[64];
	FILE *f;

	(void)state;
	f = fopen("/tmp/ferry-unit-read", "w");
	assert_non_null(f);
	fputs("hello\n\n", f);
	fclose(f);
	assert_int_equal(ferry_read_file("/tmp/ferry-unit-read", buf, sizeof(buf)), 5);
	assert_string_equal(buf, "hello");
	assert_int_equal(ferry_read_file("/nonexistent/x", buf, sizeof(buf)), -ENOENT);
	remove("/tmp/ferry-unit-read");
}

static void vline(const char *p1, const char *p2, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ferry_vline(p1, p2, fmt, ap);
	va_end(ap);
}

/*
 * A message line leaves in one write(2), newline included: with stderr on a
 * SOCK_SEQPACKET socket every write is one packet, so a line written in
 * pieces (text, then newline) would arrive as several packets.
 */
static void test_vline_one_write(void **state)
{
	char buf[256];
	int sv[2], saved;
	ssize_t n;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(sv[0], STDERR_FILENO), STDERR_FILENO);
	vline("ferry receive: ", "lazy pages: ", "all in place, %d tasks", 1);
	ferry_err("code %d", 7);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	close(sv[0]);

	n = recv(sv[1], buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "ferry receive: lazy pages: all in place, 1 tasks\n");
	n = recv(sv[1], buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_string_equal(buf, "ferry: error: code 7\n");
	assert_int_equal(recv(sv[1], buf, sizeof(buf), 0), 0);	/* nothing else */
	close(sv[1]);
}

struct want {
	uint16_t lport, rport;
	int v4, v6;
};

static int find_conn(const struct proc_tcp_sock *s, void *arg)
{
	struct want *w = arg;

	if (s->state == 0x01 && s->lport == w->lport && s->rport == w->rport) {
		if (s->family == AF_INET && s->laddr[0] == htonl(INADDR_LOOPBACK))
			w->v4++;
		if (s->family == AF_INET6 && s->laddr[3] == htonl(1) && !s->laddr[0])
			w->v6++;
	}
	return 0;
}

static int stop_at_first(const struct proc_tcp_sock *s, void *arg)
{
	(void)s;
	++*(int *)arg;
	return 7;
}

/* proc_tcp_each finds a real loopback connection of each family, with its
 * ports and state, and stops when told */
static void test_proc_tcp(void **state)
{
	struct sockaddr_in6 a6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	struct sockaddr_in a4 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len;
	int n = 0;

	(void)state;
	for (int fam = 0; fam < 2; fam++) {
		struct sockaddr *sa = fam ? (struct sockaddr *)&a6 : (struct sockaddr *)&a4;
		socklen_t sl = fam ? sizeof(a6) : sizeof(a4);
		int l = socket(fam ? AF_INET6 : AF_INET, SOCK_STREAM, 0), c, acc;
		struct want w = { 0 };
		struct sockaddr_storage me;

		assert_true(l >= 0);
		if (fam)
			a6.sin6_port = 0;
		else
			a4.sin_port = 0;
		if (bind(l, sa, sl)) {
			close(l);
			assert_int_equal(fam, 1);	/* no IPv6 loopback here */
			continue;
		}
		assert_int_equal(listen(l, 1), 0);
		len = sl;
		assert_int_equal(getsockname(l, sa, &len), 0);
		c = socket(fam ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
		assert_int_equal(connect(c, sa, sl), 0);
		acc = accept(l, NULL, NULL);
		assert_true(acc >= 0);
		len = sizeof(me);
		assert_int_equal(getsockname(c, (struct sockaddr *)&me, &len), 0);
		w.lport = ntohs(fam ? ((struct sockaddr_in6 *)&me)->sin6_port
				    : ((struct sockaddr_in *)&me)->sin_port);
		w.rport = ntohs(fam ? a6.sin6_port : a4.sin_port);
		assert_int_equal(proc_tcp_each(getpid(), 1, find_conn, &w), 0);
		assert_int_equal(fam ? w.v6 : w.v4, 1);
		close(acc);
		close(c);
		close(l);
	}
	assert_int_equal(proc_tcp_each(getpid(), 1, stop_at_first, &n), 7);
	assert_int_equal(n, 1);
	assert_true(proc_tcp_each(999999999, 1, stop_at_first, &n) < 0);
}

enum reach_kind { R_QUIET, R_TCP, R_UDP, R_FILE_W, R_MAP_SHARED, R_FILE_RO };

/* A child holding what kind says (its stdio on /dev/null, a pipe and a unix
 * socketpair always), asked whether it could have reached the world. */
static int reach_of(enum reach_kind kind, char *why, size_t whylen)
{
	char tmpl[] = "/tmp/ferry-reach-XXXXXX";
	int ready[2], ret, tfd;
	pid_t pid;
	char c;

	assert_int_equal(pipe(ready), 0);
	tfd = mkstemp(tmpl);
	assert_true(tfd >= 0);
	close(tfd);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		int null = open("/dev/null", O_RDWR), sp[2], p[2], fd = -1, mfd;

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		for (int i = 3; i < 1024; i++)
			if (i != ready[1])
				close(i);
		if (pipe(p) || socketpair(AF_UNIX, SOCK_STREAM, 0, sp))
			_exit(1);
		mfd = memfd_create("reach", 0);	/* writable, but a memfd */
		if (mfd < 0 || ftruncate(mfd, 4096) ||
		    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0) == MAP_FAILED)
			_exit(1);
		switch (kind) {
		case R_TCP: fd = socket(AF_INET, SOCK_STREAM, 0); break;
		case R_UDP: fd = socket(AF_INET6, SOCK_DGRAM, 0); break;
		case R_FILE_W: fd = open(tmpl, O_WRONLY | O_APPEND); break;
		case R_FILE_RO: fd = open(tmpl, O_RDONLY); break;
		case R_MAP_SHARED:
			fd = open(tmpl, O_RDWR);
			if (fd < 0 || ftruncate(fd, 4096) ||
			    mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED)
				_exit(1);
			close(fd);	/* the mapping alone */
			fd = 0;
			break;
		default: fd = 0; break;
		}
		if (fd < 0 && kind == R_UDP)	/* no IPv6 here */
			fd = socket(AF_INET, SOCK_DGRAM, 0);
		if (fd < 0)
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(ready[1]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	why[0] = 0;
	ret = proc_reached_out(pid, why, whylen);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	unlink(tmpl);
	return ret;
}

/* proc_reached_out: what counts as talking to the world, and what not */
static void test_proc_reach(void **state)
{
	char why[256];

	(void)state;
	assert_int_equal(reach_of(R_QUIET, why, sizeof(why)), 0);
	assert_int_equal(reach_of(R_FILE_RO, why, sizeof(why)), 0);
	assert_int_equal(reach_of(R_TCP, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "network socket"));
	assert_int_equal(reach_of(R_UDP, why, sizeof(why)), 1);
	assert_int_equal(reach_of(R_FILE_W, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "open for writing"));
	assert_int_equal(reach_of(R_MAP_SHARED, why, sizeof(why)), 1);
	assert_non_null(strstr(why, "shared and writable"));
	assert_int_equal(proc_reached_out(999999999, why, sizeof(why)), -ESRCH);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_proc_tcp),
		cmocka_unit_test(test_proc_reach),
		cmocka_unit_test(test_exit_codes),
		cmocka_unit_test(test_read_file),
		cmocka_unit_test(test_read_whole_kinds),
		cmocka_unit_test(test_copy_file),
		cmocka_unit_test(test_vline_one_write),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
