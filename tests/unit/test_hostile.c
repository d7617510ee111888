// SPDX-License-Identifier: GPL-2.0
/*
 * A hand-written hostile peer against `ferry receive` (and the source's
 * parsers): one test per finding of issue #11. The receiver's session runs
 * in a child process over a socketpair, as `ferry receive` runs it; this
 * process plays the attacker. A fake `criu` early in PATH answers `criu
 * check` with success, so that pre-flight can pass on a build machine
 * where the real CRIU cannot run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "cmds.h"
#include "preflight.h"
#include "recv.h"
#include "recv_policy.h"
#include "util.h"
#include "wire.h"
#include "wire_pc.h"
#include "peer.h"

static char tmp[64], store[128], bin[128];

static int setup(void **state)
{
	char path[256];
	FILE *f;

	(void)state;
	strcpy(tmp, "/tmp/ferry-hostile-XXXXXX");
	if (!mkdtemp(tmp))
		return -1;
	snprintf(store, sizeof(store), "%s/store", tmp);
	snprintf(bin, sizeof(bin), "%s/bin", tmp);
	if (mkdir(store, 0700) || mkdir(bin, 0700))
		return -1;
	/* `criu check` succeeds, anything else (swrk, restore) fails */
	snprintf(path, sizeof(path), "%s/criu", bin);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("#!/bin/sh\n[ \"$1\" = check ] && exit 0\nexit 1\n", f);
	fclose(f);
	chmod(path, 0755);
	snprintf(path, sizeof(path), "%s:%s", bin, getenv("PATH") ? getenv("PATH") : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return peer_rmdir(tmp);
}

static struct ropts default_opts(void)
{
	static char state[160];
	struct ropts o = {
		.dir = store, .max_sessions = 4, .state_dir = state,
		.auth_ms = 2000, .phase_ms = 5000, .restore_ms = 5000,
	};

	snprintf(state, sizeof(state), "%s/outcomes", tmp);

	return o;
}

struct victim {
	pid_t pid;
	int fd;			/* the attacker's end */
	struct wire_conn c;
};

/* Start a receiver session in a child; we get the other end. */
static void start(struct victim *v, const struct ropts *o)
{
	int sp[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	v->pid = fork();
	assert_true(v->pid >= 0);
	if (v->pid == 0) {
		close(sp[0]);
		/* quiet: the session's notes would clutter the test output */
		int nul = open("/dev/null", O_WRONLY);

		dup2(nul, 2);
		_exit(recv_session_run(o, sp[1]));
	}
	close(sp[1]);
	v->fd = sp[0];
	wire_init(&v->c, v->fd);
	wire_set_timeout(&v->c, 20000);
}

/* The session's exit status; its peak RSS in KiB into *maxrss. */
static int finish(struct victim *v, long *maxrss)
{
	struct rusage ru;
	int status;

	wire_free(&v->c);
	close(v->fd);
	assert_int_equal(wait4(v->pid, &status, 0, &ru), v->pid);
	if (maxrss)
		*maxrss = ru.ru_maxrss;
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void hello(struct victim *v)
{
	struct wire_hello h = { .version = WIRE_VERSION, .caps = WIRE_CAP_ZSTD }, peer;
	struct wire_msg m;

	strcpy(h.host, "attacker");
	strcpy(h.kernel, "6.12");
	for (int i = 0; i < WIRE_ID_LEN; i++)
		h.id[i] = (uint8_t)rand();
	assert_int_equal(wire_send_hello(&v->c, &h), 0);
	assert_int_equal(wire_expect(&v->c, WIRE_HELLO, &m), 0);
	assert_int_equal(wire_parse_hello(&v->c, &m, &peer), 0);
}

/* A PID nobody has here: a reaped child's. */
static uint32_t free_pid(void)
{
	pid_t p = fork();

	if (p == 0)
		_exit(0);
	waitpid(p, NULL, 0);
	return (uint32_t)p;
}

static void send_preflight(struct victim *v, uint64_t mem, const char *file, uint32_t pid)
{
	struct pf_list l = { 0 };
	struct pf_file f = { 0 };

	l.mem_bytes = mem;
	if (file) {
		snprintf(f.path, sizeof(f.path), "%s", file);
		l.v = &f;
		l.n = 1;
	}
	l.tids = &pid;
	l.ntids = 1;
	assert_int_equal(preflight_send(&v->c, &l), 0);
}

/* "8 MiB PREFLIGHT took the receiver to 4.3 GB": a count the frame
 * cannot back, and a frame full of minimal entries. */
static void test_oversized_preflight(void **state)
{
	struct ropts o = default_opts();
	struct victim v;
	struct wire_buf b;
	long rss;

	(void)state;
	start(&v, &o);
	hello(&v);
	wb_init(&b);
	wb_u64(&b, 0);
	wb_u32(&b, 500000);
	while (b.len < WIRE_MAX_PAYLOAD - 32) {
		wb_str(&b, "/x");
		wb_u64(&b, 0);
		wb_u32(&b, 0);
		wb_u8(&b, 0);
	}
	assert_int_equal(wire_send(&v.c, WIRE_PREFLIGHT, b.p, (uint32_t)b.len), 0);
	wb_free(&b);
	assert_int_equal(finish(&v, &rss), RECV_FAILED);
	/* two 8 MiB frame buffers and the parse: far below a gigabyte */
	assert_true(rss < 96 * 1024);
	assert_int_equal(peer_entries(store), 0);
}

/* "pages were accepted after 'criu not usable'": a failed pre-flight ends
 * the session; nothing is written, no CRIU worker starts. */
static void test_preflight_failure_ends_session(void **state)
{
	struct ropts o = default_opts();
	struct victim v;
	struct wire_msg m;
	struct pf_report rep;
	char missing[256];
	int ret;

	(void)state;
	snprintf(missing, sizeof(missing), "%s/no-such-file", tmp);
	start(&v, &o);
	hello(&v);
	send_preflight(&v, 4096, missing, free_pid());
	assert_int_equal(wire_expect(&v.c, WIRE_PREFLIGHT_ANS, &m), 0);
	assert_int_equal(preflight_parse_report(&v.c, &m, &rep), 0);
	assert_int_equal(rep.n, 1);
	assert_int_equal(rep.v[0].kind, PF_MISSING);
	pf_report_free(&rep);
	/* carry on regardless: the receiver must have hung up */
	uint8_t page[WIRE_PAGE_SIZE] = { 1 };

	wire_send_pages(&v.c, 1, 0x10000, 1, page);
	ret = wire_recv(&v.c, &m);
	if (ret == 0)
		assert_int_equal(m.type, WIRE_ERROR);
	assert_int_equal(finish(&v, NULL), RECV_FAILED);
	assert_int_equal(peer_entries(store), 0);
}

/* "17.9 KB sent became 400 MiB in --dir": zero pages compress 1000:1; the
 * budget agreed at pre-flight (no memory claimed: the 64 MiB slack) ends
 * the session, and its directory goes. */
static void test_budget_exceeded(void **state)
{
	struct ropts o = default_opts();
	struct victim v;
	uint8_t *zero = calloc(WIRE_MAX_PAGES, WIRE_PAGE_SIZE);
	uint32_t pid = free_pid();
	struct wire_msg m;
	struct pf_report rep;
	int ret = 0;

	(void)state;
	assert_non_null(zero);
	start(&v, &o);
	hello(&v);
	send_preflight(&v, 0, NULL, pid);
	assert_int_equal(wire_expect(&v.c, WIRE_PREFLIGHT_ANS, &m), 0);
	assert_int_equal(preflight_parse_report(&v.c, &m, &rep), 0);
	assert_int_equal(rep.n, 0);
	assert_int_equal(rep.budget, PF_BUDGET_SLACK);
	pf_report_free(&rep);
	/* 100 MiB of pages, far past the budget */
	for (uint64_t i = 0; i < 25 && !ret; i++)
		ret = wire_send_pages(&v.c, pid, 0x10000000ull + i * WIRE_MAX_PAGES * WIRE_PAGE_SIZE,
				      WIRE_MAX_PAGES, zero);
	ret = wire_recv(&v.c, &m);
	assert_int_equal(ret, 0);
	assert_int_equal(m.type, WIRE_ERROR);
	char msg[512];
	int32_t code;

	assert_int_equal(wire_parse_error(&v.c, &m, &code, msg, sizeof(msg)), 0);
	assert_non_null(strstr(msg, "budget"));
	assert_int_equal(finish(&v, NULL), RECV_FAILED);
	assert_int_equal(peer_entries(store), 0);
	free(zero);
}

/* Pages for a PID pre-flight never announced are refused. */
static void test_unknown_pid_pages(void **state)
{
	struct ropts o = default_opts();
	struct victim v;
	uint8_t page[WIRE_PAGE_SIZE] = { 1 };
	uint32_t pid = free_pid();
	struct wire_msg m;
	struct pf_report rep;

	(void)state;
	start(&v, &o);
	hello(&v);
	send_preflight(&v, 0, NULL, pid);
	assert_int_equal(wire_expect(&v.c, WIRE_PREFLIGHT_ANS, &m), 0);
	assert_int_equal(preflight_parse_report(&v.c, &m, &rep), 0);
	pf_report_free(&rep);
	assert_int_equal(wire_send_pages(&v.c, pid + 1, 0x10000, 1, page), 0);
	assert_int_equal(wire_recv(&v.c, &m), 0);
	assert_int_equal(m.type, WIRE_ERROR);
	assert_int_equal(finish(&v, NULL), RECV_FAILED);
	assert_int_equal(peer_entries(store), 0);
}

/* The receiver's answer to what precedes: an ERROR whose message has
 * want; the session fails and leaves nothing. */
static void expect_refused(struct victim *v, const char *want)
{
	struct wire_msg m;
	char msg[512];
	int32_t code;

	assert_int_equal(wire_recv(&v->c, &m), 0);
	assert_int_equal(m.type, WIRE_ERROR);
	assert_int_equal(wire_parse_error(&v->c, &m, &code, msg, sizeof(msg)), 0);
	if (!strstr(msg, want))
		fail_msg("refused with '%s', not for '%s'", msg, want);
	assert_int_equal(finish(v, NULL), RECV_FAILED);
	assert_int_equal(peer_entries(store), 0);
}

static void postcopy_peer(struct victim *v, const struct ropts *o)
{
	uint32_t pid = free_pid();
	struct pf_report rep;
	struct wire_msg m;

	start(v, o);
	hello(v);
	send_preflight(v, 0, NULL, pid);
	assert_int_equal(wire_expect(&v->c, WIRE_PREFLIGHT_ANS, &m), 0);
	assert_int_equal(preflight_parse_report(&v->c, &m, &rep), 0);
	pf_report_free(&rep);
}

/* Post-copy's frames from a hostile source: a pages file past the budget,
 * one named twice, pages outside any file or before one, a COMMIT for
 * post-copy with no file left behind. Each ends the session, nothing
 * kept. */
static void test_postcopy_frames(void **state)
{
	struct ropts o = default_opts();
	struct wire_pc_file f = { .name = "pages-1.img", .size = 2 * WIRE_PAGE_SIZE };
	uint8_t page[2 * WIRE_PAGE_SIZE] = { 1 };
	uint64_t flags = WIRE_COMMIT_POSTCOPY;
	struct victim v;

	(void)state;
	postcopy_peer(&v, &o);
	f.size = WIRE_PC_MAX_BYTES;
	assert_int_equal(wire_send_pc_file(&v.c, &f), 0);
	expect_refused(&v, "budget");

	postcopy_peer(&v, &o);
	f.size = 2 * WIRE_PAGE_SIZE;
	assert_int_equal(wire_send_pc_file(&v.c, &f), 0);
	assert_int_equal(wire_send_pc_file(&v.c, &f), 0);
	expect_refused(&v, "twice");

	postcopy_peer(&v, &o);
	assert_int_equal(wire_send_pages_as(&v.c, WIRE_PC_DATA, 0, 0, 1, page), 0);
	expect_refused(&v, "PC_DATA");

	postcopy_peer(&v, &o);
	assert_int_equal(wire_send_pc_file(&v.c, &f), 0);
	assert_int_equal(wire_send_pages_as(&v.c, WIRE_PC_DATA, 0, WIRE_PAGE_SIZE, 2, page), 0);
	expect_refused(&v, "PC_DATA");

	postcopy_peer(&v, &o);
	assert_int_equal(wire_send_u64s(&v.c, WIRE_COMMIT, &flags, 1), 0);
	expect_refused(&v, "post-copy");
}

/* A peer that connects and says nothing is gone after the auth deadline. */
static void test_silent_peer_deadline(void **state)
{
	struct ropts o = default_opts();
	struct victim v;
	uint64_t t;

	(void)state;
	o.auth_ms = 300;
	t = ferry_now_ns();
	start(&v, &o);
	/* keep our end open: the session must end on its own */
	int status;

	assert_int_equal(waitpid(v.pid, &status, 0), v.pid);
	assert_true(ferry_now_ns() - t < 3000000000ull);
	assert_int_equal(WEXITSTATUS(status), RECV_REFUSED);
	wire_free(&v.c);
	close(v.fd);
}

/* "an idle peer after pre-flight blocked a second, legitimate HELLO": the
 * server runs each connection in its own process. */
static void test_idle_peer_blocks_nobody(void **state)
{
	struct sockaddr_in sa = peer_free_port();
	char listen[64];
	struct victim a, b;
	pid_t srv;

	(void)state;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", ntohs(sa.sin_port));
	char outcomes[160];

	snprintf(outcomes, sizeof(outcomes), "%s/outcomes", tmp);
	char *argv[] = { "receive", "--listen", listen, "--dir", store, "--insecure",
			 "--state-dir", outcomes, NULL };

	srv = peer_start_receiver(8, argv);
	a.fd = peer_connect(&sa);
	assert_true(a.fd >= 0);
	/* the idle one got past the handshake (an authenticated peer that
	 * then stops talking is the worst case) */
	wire_init(&a.c, a.fd);
	wire_set_timeout(&a.c, 5000);
	hello(&a);
	b.fd = peer_connect(&sa);
	assert_true(b.fd >= 0);
	wire_init(&b.c, b.fd);
	wire_set_timeout(&b.c, 3000);	/* the old server never answered */
	hello(&b);
	wire_free(&a.c);
	wire_free(&b.c);
	close(a.fd);
	close(b.fd);
	peer_stop_receiver(srv);
}

/* "MOVE_ADDR takes any address": the LAN gateway, x/1, another device. */
static void test_move_addr_allowlist(void **state)
{
	struct mig_addr allow[2], req;
	char err[256];

	(void)state;
	assert_int_equal(mig_addr_parse("10.99.0.96/27", &allow[0], err, sizeof(err)), 0);
	assert_int_equal(mig_addr_parse("192.0.2.10/32@eth1", &allow[1], err, sizeof(err)), 0);
	/* nothing allowed: nothing moves */
	assert_int_equal(mig_addr_parse("10.99.0.100/32", &req, err, sizeof(err)), 0);
	assert_int_equal(recv_addr_allowed(allow, 0, &req, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "--allow-addr"));
	/* inside, narrower or equal prefix */
	assert_int_equal(recv_addr_allowed(allow, 2, &req, err, sizeof(err)), 0);
	assert_int_equal(mig_addr_parse("10.99.0.100/27", &req, err, sizeof(err)), 0);
	assert_int_equal(recv_addr_allowed(allow, 2, &req, err, sizeof(err)), 0);
	/* a wider prefix: an on-link route for more than allowed */
	assert_int_equal(mig_addr_parse("10.99.0.100/24", &req, err, sizeof(err)), 0);
	assert_int_equal(recv_addr_allowed(allow, 2, &req, err, sizeof(err)), -EPERM);
	assert_int_equal(mig_addr_parse("10.99.0.100/1", &req, err, sizeof(err)), 0);
	assert_int_equal(recv_addr_allowed(allow, 2, &req, err, sizeof(err)), -EPERM);
	/* the gateway, outside the range */
	assert_int_equal(mig_addr_parse("10.99.0.1/24", &req, err, sizeof(err)), 0);
	assert_int_equal(recv_addr_allowed(allow, 2, &req, err, sizeof(err)), -EPERM);
	assert_int_equal(mig_addr_parse("10.99.0.1/32", &req, err, sizeof(err)), 0);
	assert_int_equal(recv_addr_allowed(allow, 2, &req, err, sizeof(err)), -EPERM);
	/* the range's network and broadcast addresses */
	assert_int_equal(mig_addr_parse("10.99.0.96/32", &req, err, sizeof(err)), 0);
	assert_int_equal(recv_addr_allowed(allow, 2, &req, err, sizeof(err)), -EPERM);
	assert_int_equal(mig_addr_parse("10.99.0.127/32", &req, err, sizeof(err)), 0);
	assert_int_equal(recv_addr_allowed(allow, 2, &req, err, sizeof(err)), -EPERM);
	/* the device is the receiver's choice */
	assert_int_equal(mig_addr_parse("192.0.2.10/32@eth0", &req, err, sizeof(err)), 0);
	assert_int_equal(recv_addr_allowed(allow, 2, &req, err, sizeof(err)), -EPERM);
	assert_int_equal(mig_addr_parse("192.0.2.10/32", &req, err, sizeof(err)), 0);
	assert_int_equal(recv_addr_allowed(allow, 2, &req, err, sizeof(err)), 0);
	assert_string_equal(req.dev, "eth1");
}

/* "Pre-flight is a root file and process oracle". */
static void test_preflight_paths(void **state)
{
	char target[256], link[256], fifo[256], secret[256];
	struct pf_list l = { 0 };
	struct pf_report rep;
	struct pf_file f;
	pid_t writer;
	int fd;

	(void)state;
	snprintf(target, sizeof(target), "%s/target", tmp);
	snprintf(link, sizeof(link), "%s/link", tmp);
	snprintf(fifo, sizeof(fifo), "%s/fifo", tmp);
	snprintf(secret, sizeof(secret), "%s/secret", tmp);
	fd = open(target, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "hello\n", 6), 6);
	close(fd);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	fd = open(secret, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "0123456789abc", 13), 13);
	close(fd);
	/* a writer blocks until someone opens the FIFO for reading: a
	 * pre-flight that opens it unblocks it (a device side effect) */
	writer = fork();
	if (writer == 0) {
		int w = open(fifo, O_WRONLY);

		_exit(w >= 0 ? 0 : 1);
	}
	l.v = calloc(6, sizeof(*l.v));
	l.n = 6;
	assert_int_equal(pf_file_info(target, &f), 0);
	l.v[0] = f;
	snprintf(l.v[0].path, sizeof(l.v[0].path), "%s", link);	/* symlink to a match */
	snprintf(l.v[1].path, sizeof(l.v[1].path), "%s", fifo);
	snprintf(l.v[2].path, sizeof(l.v[2].path), "/dev/zero");
	snprintf(l.v[3].path, sizeof(l.v[3].path), "%s", secret);
	l.v[3].size = 1;					/* a guess at its size */
	l.v[4] = f;						/* the target itself: fine */
	snprintf(l.v[5].path, sizeof(l.v[5].path), "/proc/1/cmdline");	/* a PID oracle */
	l.tids = calloc(1, sizeof(*l.tids));
	l.tids[0] = 1;						/* init: taken here */
	l.ntids = 1;
	assert_int_equal(preflight_check(&l, NULL, true, 0, &rep), 0);
	assert_int_equal(rep.n, 6);
	assert_int_equal(rep.v[0].kind, PF_NOT_REGULAR);	/* symlink not followed */
	assert_int_equal(rep.v[1].kind, PF_NOT_REGULAR);
	assert_int_equal(rep.v[2].kind, PF_NOT_REGULAR);
	assert_int_equal(rep.v[3].kind, PF_UNREADABLE);		/* not compared */
	assert_null(strstr(rep.v[3].detail, "13"));		/* no size told */
	assert_int_equal(rep.v[4].kind, PF_NOT_REGULAR);	/* /proc: not a file */
	assert_int_equal(rep.v[5].kind, PF_PID_TAKEN);
	assert_null(strstr(rep.v[5].detail, "init"));		/* no process name */
	assert_null(strstr(rep.v[5].detail, "systemd"));
	/* the FIFO was never opened: its writer still waits */
	usleep(100000);
	assert_int_equal(waitpid(writer, NULL, WNOHANG), 0);
	kill(writer, SIGKILL);
	waitpid(writer, NULL, 0);
	/* a size that differs says "differs", not the size here */
	l.v[0] = f;
	l.v[0].size = 5;
	l.n = 1;
	l.ntids = 0;
	pf_report_free(&rep);
	assert_int_equal(preflight_check(&l, NULL, true, 0, &rep), 0);
	assert_int_equal(rep.n, 1);
	assert_null(strchr(rep.v[0].detail, '6'));
	pf_report_free(&rep);
	pf_list_free(&l);
}

/* "the destination's answer took ferry migrate to 4.47 GB". */
static void test_source_bounds_report(void **state)
{
	struct wire_conn c;
	struct wire_msg m = { .type = WIRE_PREFLIGHT_ANS };
	struct pf_report rep;
	struct wire_buf b;

	(void)state;
	wire_init(&c, -1);
	wb_init(&b);
	wb_u64(&b, 0);
	wb_u64(&b, 0);
	wb_u32(&b, 0);
	wb_u32(&b, 1000000);
	while (b.len < WIRE_MAX_PAYLOAD - 16) {
		wb_u32(&b, PF_MISSING);
		wb_str(&b, "");
		wb_str(&b, "");
	}
	m.payload = b.p;
	m.len = (uint32_t)b.len;
	assert_int_equal(preflight_parse_report(&c, &m, &rep), -EPROTO);
	assert_null(rep.v);
	wb_free(&b);
	wire_free(&c);
}

/* "an escape sequence cleared the operator's screen". */
static void test_escape_sequences(void **state)
{
	struct wire_hello h = { .version = WIRE_VERSION }, g;
	int sp[2];
	struct wire_conn a, b;
	struct wire_msg m;
	char msg[256];
	int32_t code;
	struct pf_problem p = { .kind = PF_MISSING };
	char line[512];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	wire_init(&a, sp[0]);
	wire_init(&b, sp[1]);
	strcpy(h.host, "evil\x1b[2J\x1b[Hhost");
	strcpy(h.kernel, "6.1\r\nferry: migration done");
	assert_int_equal(wire_send_hello(&a, &h), 0);
	assert_int_equal(wire_expect(&b, WIRE_HELLO, &m), 0);
	assert_int_equal(wire_parse_hello(&b, &m, &g), 0);
	assert_null(strchr(g.host, 0x1b));
	assert_null(strchr(g.kernel, '\n'));
	assert_null(strchr(g.kernel, '\r'));
	assert_int_equal(wire_send_error(&a, WIRE_ERROR, 1, "bad \x1b]0;title\x07 \x9b" "2J"), 0);
	assert_int_equal(wire_recv(&b, &m), 0);
	assert_int_equal(wire_parse_error(&b, &m, &code, msg, sizeof(msg)), 0);
	for (const char *q = msg; *q; q++)
		assert_true(*q >= 0x20 && *q < 0x7f);
	/* a path from the source in the receiver's own log line */
	strcpy(p.path, "/lib/\x1b[31mlibc.so");
	strcpy(p.detail, "missing here");
	pf_problem_str(&p, line, sizeof(line));
	assert_null(strchr(line, 0x1b));
	/* and the catch-all on the way out */
	char s[] = "a\x1b[2Jb\n\x7f";
	assert_int_equal(ferry_sanitize(s, true), 2);
	assert_string_equal(s, "a?[2Jb\n?");
	wire_free(&a);
	wire_free(&b);
	close(sp[0]);
	close(sp[1]);
}

/* Budget arithmetic and caps. */
static void test_budget_caps(void **state)
{
	struct recv_budget b = { .limit = 100 };
	uint32_t pids[] = { 3, 7, 9 };
	char err[256];

	(void)state;
	assert_int_equal(recv_charge(&b, 60, err, sizeof(err)), 0);
	assert_int_equal(recv_charge(&b, 40, err, sizeof(err)), 0);
	assert_int_equal(recv_charge(&b, 1, err, sizeof(err)), -EDQUOT);
	assert_int_equal(recv_charge(&b, UINT64_MAX, err, sizeof(err)), -EDQUOT);
	for (unsigned int i = 0; i < RECV_MAX_FILES; i++)
		assert_int_equal(recv_count_file(&b, err, sizeof(err)), 0);
	assert_int_equal(recv_count_file(&b, err, sizeof(err)), -EDQUOT);
	for (unsigned int i = 0; i < RECV_MAX_ROUNDS; i++)
		assert_int_equal(recv_count_round(&b, err, sizeof(err)), 0);
	assert_int_equal(recv_count_round(&b, err, sizeof(err)), -EDQUOT);
	b.pids = pids;
	b.npids = 3;
	assert_true(recv_pid_known(&b, 7));
	assert_false(recv_pid_known(&b, 8));
	assert_int_equal(pf_budget(10), 20 + PF_BUDGET_SLACK);
	assert_int_equal(pf_budget(UINT64_MAX / 2), UINT64_MAX);
	/* granted: three times the memory as far as the disk has room (less
	 * 5 %), never less than the need, no overflow */
	const uint64_t MiB = 1048576;
	assert_int_equal(pf_budget_grant(100 * MiB, 10000 * MiB), 364 * MiB);
	assert_int_equal(pf_budget_grant(100 * MiB, 300 * MiB), 285 * MiB);
	assert_int_equal(pf_budget_grant(100 * MiB, 270 * MiB), 264 * MiB);
	assert_int_equal(pf_budget_grant(100 * MiB, 0), 264 * MiB);
	assert_int_equal(pf_budget_grant(UINT64_MAX / 3, UINT64_MAX), UINT64_MAX - UINT64_MAX / 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oversized_preflight),
		cmocka_unit_test(test_preflight_failure_ends_session),
		cmocka_unit_test(test_budget_exceeded),
		cmocka_unit_test(test_unknown_pid_pages),
		cmocka_unit_test(test_silent_peer_deadline),
		cmocka_unit_test(test_idle_peer_blocks_nobody),
		cmocka_unit_test(test_move_addr_allowlist),
		cmocka_unit_test(test_preflight_paths),
		cmocka_unit_test(test_source_bounds_report),
		cmocka_unit_test(test_escape_sequences),
		cmocka_unit_test(test_budget_caps),
		cmocka_unit_test(test_postcopy_frames),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
