// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_chain N -- a process tree shaped as one chain N processes deep
 * (each forks the next; the workload controls its own tree) does not make
 * a TCP_DUMP stall the kernel, and its deepest socket is found.
 *
 * The chain members share this process's memory (clone(CLONE_VM), a small
 * stack each, raw system calls only), so that tens of thousands fit in a
 * test guest. The last one connects to a listener of this process. Then
 * one tree-mode TCP_DUMP of this process runs and "tree dump: ..." is
 * printed; the chain stays until stdin reaches EOF (so that the caller can
 * look for RCU stalls of the dump alone). Must hold: the dump succeeds and
 * holds the deepest member's connection. Exit 0 / 1; 2 when the chain
 * cannot be built.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include "nl.h"
#include "tcp_state.h"

#define STACK	(16 * 1024)

static char *stacks;
static int depth;
static struct sockaddr_in laddr;
static volatile int built, last_port = -1;
static int quit;	/* futex: the members exit when it turns 1 */

/*
 * A chain member: start the next one, or (the last) connect; then wait
 * for quit and exit. Each is its own process group, so that the exits do
 * not scan one group of tens of thousands (the kernel's orphaned-pgrp
 * check is linear in the group, per exit). Shares memory and TLS with the
 * others: raw system calls only.
 */
static int member(void *arg)
{
	long i = (long)arg;

	syscall(SYS_setpgid, 0, 0);
	if (i + 1 < depth) {
		if (clone(member, stacks + (i + 2) * STACK, CLONE_VM | SIGCHLD, (void *)(i + 1)) < 0)
			built = -1;
	} else {
		struct sockaddr_in a;
		socklen_t al = sizeof(a);
		long fd = syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);

		if (fd < 0 || syscall(SYS_connect, fd, &laddr, sizeof(laddr)) < 0 ||
		    syscall(SYS_getsockname, fd, &a, &al) < 0)
			built = -1;
		else {
			last_port = ntohs(a.sin_port);
			built = 1;
		}
	}
	while (!__atomic_load_n(&quit, __ATOMIC_ACQUIRE))
		syscall(SYS_futex, &quit, FUTEX_WAIT, 0, NULL, NULL, 0);
	syscall(SYS_exit, 0);
	return 0;
}

/*
 * Tell the members to exit and reap them all (they are reparented to us,
 * the subreaper, as their parents go): a few hundred at a time, since
 * tens of thousands of exits at once can starve a TCG guest's RCU
 * grace-period thread.
 */
static void end_chain(void)
{
	time_t t0 = time(NULL);
	long n = 0;

	__atomic_store_n(&quit, 1, __ATOMIC_RELEASE);
	while (time(NULL) - t0 < 600) {
		pid_t p;

		syscall(SYS_futex, &quit, FUTEX_WAKE, 256, NULL, NULL, 0);
		while ((p = waitpid(-1, NULL, __WALL | WNOHANG)) > 0)
			n++;
		if (p < 0 && errno == ECHILD)
			break;
		usleep(5000);
	}
	printf("chain ended: %ld processes reaped in %lds\n", n, (long)(time(NULL) - t0));
}

int main(int argc, char **argv)
{
	struct ferry_tcp_dump d;
	struct ferry_nl nl;
	struct timespec t0, t1;
	socklen_t al = sizeof(laddr);
	int l, found = 0, ret;
	pid_t head;

	depth = argc > 1 ? atoi(argv[1]) : 0;
	if (depth < 2) {
		fprintf(stderr, "usage: tcp_chain DEPTH (>= 2)\n");
		return 2;
	}
	l = socket(AF_INET, SOCK_STREAM, 0);
	laddr.sin_family = AF_INET;
	laddr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (l < 0 || bind(l, (struct sockaddr *)&laddr, sizeof(laddr)) || listen(l, 4) ||
	    getsockname(l, (struct sockaddr *)&laddr, &al)) {
		perror("listener");
		return 2;
	}
	/* orphans of the chain come to us, to be reaped */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1)) {
		perror("PR_SET_CHILD_SUBREAPER");
		return 2;
	}
	stacks = mmap(NULL, (size_t)(depth + 1) * STACK, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (stacks == MAP_FAILED) {
		perror("mmap stacks");
		return 2;
	}
	head = clone(member, stacks + STACK, CLONE_VM | SIGCHLD, (void *)0);
	if (head < 0) {
		perror("clone");
		return 2;
	}
	for (int i = 0; i < 36000 && !built; i++)
		usleep(10000);
	if (built != 1) {
		fprintf(stderr, "tcp_chain: the chain of %d was not built (%s)\n", depth,
			built ? "a clone or the connect failed" : "timeout");
		end_chain();
		return 2;
	}
	printf("chain of %d processes built; the last one's port is %d\n", depth, last_port);
	fflush(stdout);

	if (ferry_nl_open(&nl)) {
		fprintf(stderr, "tcp_chain: ferry.ko not reachable\n");
		end_chain();
		return 2;
	}
	memset(&d, 0, sizeof(d));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = ferry_tcp_dump_request(&nl, (uint32_t)getpid(), FERRY_TCP_F_PACKED, &d);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (size_t i = 0; !ret && i < d.n; i++)
		if (d.socks[i].sport == last_port)
			found = 1;
	printf("tree dump: %s, %zu sockets, %.2f s\n", ret ? strerror(-ret) : "ok", d.n,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	ferry_tcp_dump_free(&d);
	ferry_nl_close(&nl);
	/* The caller checks the kernel log around the dump, then closes our
	 * stdin: only then does the chain go. */
	fflush(stdout);
	while (getchar() != EOF)
		;
	end_chain();
	if (ret || !found) {
		printf("FAIL: %s\n", ret ? "the dump failed" : "the deepest member's socket is missing");
		return 1;
	}
	printf("OK: the deepest member's connection is in the dump\n");
	return 0;
}
