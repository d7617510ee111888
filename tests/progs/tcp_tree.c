// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_tree -- TCP_DUMP's tree mode finds every socket of a process tree,
 * whatever the tree's threads did. Run as root with ferry.ko loaded.
 *
 * The tree (this process is its root, all on 127.0.0.1):
 *   - a listener L in the root;
 *   - a worker thread of the root forks child C, which connects to L: C's
 *     real_parent is the worker thread, not the root's leader;
 *   - a thread T made with clone() without CLONE_FILES, so with its own
 *     fd table, connects to L from there;
 *   - a child Z whose main thread exits (pthread_exit) while its second
 *     thread keeps a connection to L: Z's leader is a zombie, its thread
 *     group lives on.
 * Must hold:
 *   1. a dump of the root's pid holds L, C's connection, T's connection and
 *      Z's connection (and the root's accepted ends);
 *   2. a dump of the worker thread's TID holds the same sockets (a thread
 *      id names its process);
 *   3. a dump of Z's pid holds Z's connection; so does a netns dump by Z's
 *      pid; a DIRTY_SCAN of Z's pid succeeds (the zombie leader has no mm
 *      or namespaces of its own any more; its live thread has).
 * Prints "ok: ..." per check, "FAIL: ..." for each failure; exit 0 when
 * all hold.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "dirty_track.h"
#include "nl.h"
#include "tcp_state.h"

static int failures;
static struct sockaddr_in laddr;

#define CHECK(cond, ...) do {						\
	if (cond) { printf("ok: "); printf(__VA_ARGS__); putchar('\n'); } \
	else { printf("FAIL: "); printf(__VA_ARGS__); putchar('\n'); failures++; } \
} while (0)

static void die(const char *what)
{
	fprintf(stderr, "tcp_tree: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* A connection to L; its local port (host order) in *port. */
static int connect_l(unsigned short *port)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&laddr, sizeof(laddr)) < 0)
		return -1;
	if (getsockname(fd, (struct sockaddr *)&a, &al) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

/* ---- the worker thread that forks C ---------------------------------- */

static int c_pipe[2];
static pid_t c_pid;
static volatile pid_t w_tid;

static void *worker(void *arg)
{
	(void)arg;
	w_tid = (pid_t)syscall(SYS_gettid);
	c_pid = fork();
	if (c_pid < 0)
		die("fork C");
	if (c_pid == 0) {
		unsigned short port = 0;

		if (connect_l(&port) < 0)
			_exit(3);
		if (write(c_pipe[1], &port, sizeof(port)) != sizeof(port))
			_exit(3);
		for (;;)
			pause();
	}
	for (;;)
		pause();
	return NULL;
}

/* ---- thread T with its own fd table ---------------------------------- */

static volatile int t_port = -1;
static char t_stack[256 * 1024] __attribute__((aligned(16)));

/* Runs on a raw clone() thread: only the socket calls and a sleep, no
 * libc state of its own. */
static int t_main(void *arg)
{
	unsigned short port = 0;

	(void)arg;
	if (connect_l(&port) < 0)
		t_port = 0;
	else
		t_port = port;
	for (;;)
		syscall(SYS_pause);
	return 0;
}

/* ---- Z: a process whose leader exits --------------------------------- */

static int z_pipe[2];

static void *z_thread(void *arg)
{
	unsigned short port = 0;

	(void)arg;
	if (connect_l(&port) < 0)
		_exit(3);
	if (write(z_pipe[1], &port, sizeof(port)) != sizeof(port))
		_exit(3);
	for (;;)
		pause();
	return NULL;
}

static pid_t start_z(unsigned short *port)
{
	pid_t z = fork();

	if (z < 0)
		die("fork Z");
	if (z == 0) {
		pthread_t th;

		if (pthread_create(&th, NULL, z_thread, NULL))
			_exit(3);
		pthread_exit(NULL);	/* the leader goes; z_thread stays */
	}
	if (read(z_pipe[0], port, sizeof(*port)) != sizeof(*port))
		die("read Z's port");
	return z;
}

/* ---- checks ------------------------------------------------------------ */

static bool has_local(const struct ferry_tcp_dump *d, unsigned short port)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->socks[i].sport == port && d->socks[i].state == 1 /* ESTABLISHED */)
			return true;
	return false;
}

static bool has_listener(const struct ferry_tcp_dump *d, unsigned short port)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->socks[i].sport == port && d->socks[i].state == 10 /* LISTEN */)
			return true;
	return false;
}

static int dump(struct ferry_nl *nl, pid_t pid, uint32_t flags, struct ferry_tcp_dump *d)
{
	int ret = ferry_tcp_dump_request(nl, (uint32_t)pid, flags | FERRY_TCP_F_PACKED, d);

	if (ret)
		printf("note: TCP_DUMP of %d: %s %s\n", pid, strerror(-ret), nl->errmsg);
	return ret;
}

int main(void)
{
	unsigned short lport, cport, zport;
	struct ferry_tcp_dump d;
	struct ferry_nl nl;
	pthread_t wt;
	pid_t root = getpid(), z, wtid = 0, tpid;
	socklen_t al = sizeof(laddr);
	int l, ret;

	signal(SIGPIPE, SIG_IGN);
	if (pipe(c_pipe) || pipe(z_pipe))
		die("pipe");
	l = socket(AF_INET, SOCK_STREAM, 0);
	laddr.sin_family = AF_INET;
	laddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&laddr, sizeof(laddr)) < 0 || listen(l, 64) < 0 ||
	    getsockname(l, (struct sockaddr *)&laddr, &al) < 0)
		die("listener");
	lport = ntohs(laddr.sin_port);

	/* C, forked by a worker thread */
	if (pthread_create(&wt, NULL, worker, NULL))
		die("pthread_create");
	if (read(c_pipe[0], &cport, sizeof(cport)) != sizeof(cport))
		die("read C's port");
	wtid = w_tid;
	/* T, a thread with its own fd table */
	tpid = clone(t_main, t_stack + sizeof(t_stack),
		     CLONE_VM | CLONE_FS | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM, NULL);
	if (tpid < 0)
		die("clone T");
	for (int i = 0; i < 500 && t_port < 0; i++)
		usleep(10000);
	if (t_port <= 0) {
		fprintf(stderr, "tcp_tree: thread T did not connect\n");
		return 2;
	}

	/* Z, whose leader exits */
	z = start_z(&zport);
	usleep(200000);		/* let Z's leader become a zombie */

	/* accept everything, so that no connection waits in L's queue */
	for (int i = 0; i < 3; i++)
		if (accept(l, NULL, NULL) < 0)
			die("accept");

	ret = ferry_nl_open(&nl);
	if (ret) {
		fprintf(stderr, "tcp_tree: netlink: %s\n", strerror(-ret));
		return 2;
	}
	printf("root %d worker tid %d C %d (port %u) T port %d Z %d (port %u)\n", root, wtid,
	       c_pid, cport, t_port, z, zport);

	/* 1. the root's tree */
	memset(&d, 0, sizeof(d));
	ret = dump(&nl, root, 0, &d);
	CHECK(!ret, "tree dump of the root succeeds");
	CHECK(has_listener(&d, lport), "the root's listener is in its tree");
	CHECK(has_local(&d, cport), "C (forked by a worker thread) is in the root's tree");
	CHECK(has_local(&d, (unsigned short)t_port), "thread T's own fd table is walked");
	CHECK(has_local(&d, zport), "Z (leader exited, thread alive) is in the root's tree");
	ferry_tcp_dump_free(&d);

	/* 2. a thread id names its process */
	memset(&d, 0, sizeof(d));
	ret = dump(&nl, wtid, 0, &d);
	CHECK(!ret, "tree dump by the worker's TID succeeds");
	CHECK(has_listener(&d, lport), "dump by TID: the root itself is in it");
	CHECK(has_local(&d, cport), "dump by TID: C is in it");
	ferry_tcp_dump_free(&d);

	/* 3. a process whose leader exited */
	memset(&d, 0, sizeof(d));
	ret = dump(&nl, z, 0, &d);
	CHECK(!ret && has_local(&d, zport), "tree dump of Z (zombie leader) holds its connection");
	ferry_tcp_dump_free(&d);
	memset(&d, 0, sizeof(d));
	ret = dump(&nl, z, FERRY_TCP_F_NETNS, &d);
	CHECK(!ret && has_local(&d, zport), "netns dump by Z's pid works");
	ferry_tcp_dump_free(&d);
	{
		struct dirty_tracker *t;
		struct dirty_extents x;
		char msg[256];

		dirty_extents_init(&x);
		ret = dirty_track_open(&t, z, DIRTY_BACKEND_MODULE, false, 0, msg, sizeof(msg));
		if (!ret) {
			ret = dirty_track_scan(t, 0, DIRTY_ADDR_MAX, false, &x, NULL);
			if (ret)
				printf("note: DIRTY_SCAN of %d: %s\n", z, dirty_track_error(t));
			dirty_track_close(t);
		} else {
			printf("note: %s\n", msg);
		}
		CHECK(!ret && x.n > 0, "DIRTY_SCAN of Z (zombie leader) reports its memory");
		dirty_extents_free(&x);
	}
	ferry_nl_close(&nl);

	kill(c_pid, SIGKILL);
	kill(z, SIGKILL);
	waitpid(c_pid, NULL, 0);
	waitpid(z, NULL, 0);
	printf("%s: %d failure(s)\n", failures ? "FAIL" : "OK", failures);
	return failures ? 1 : 0;
}
