// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_accept_race ROUNDS -- a netns TCP_DUMP reports every socket of the
 * namespace exactly once while its connections are being accepted. Run as
 * root with ferry.ko loaded, in a network namespace of its own with lo up
 * (the scenario uses unshare -n).
 *
 * Each round: 64 connections to a listener wait in its accept queue; a
 * thread accepts them one by one while the main thread runs netns dumps
 * back to back. A connection accepted between a dump's listening-hash
 * pass (which reports accept-queue children) and its established-hash pass
 * must not come twice; one inside accept() (out of the queue, not yet in
 * a file) must not be missed. Must hold, for every dump: no socket cookie
 * twice; each client end and each server end of the round's connections
 * present exactly once. Prints counts; exit 0 when all dumps hold.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/tcp.h>	/* struct tcp_info */
#include <sys/socket.h>
#include "nl.h"
#include "tcp_state.h"

#define M 64

static int lfd;
static unsigned short lport;
static int cfd[M], afd[M];
static unsigned short cport[M];
static volatile int accepted;

static void die(const char *what)
{
	fprintf(stderr, "tcp_accept_race: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void *acceptor(void *arg)
{
	(void)arg;
	for (int i = 0; i < M; i++) {
		afd[i] = accept(lfd, NULL, NULL);
		if (afd[i] < 0)
			die("accept");
		accepted = i + 1;
		if (i % 4 == 3)
			usleep(200);
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Violations in one dump: sockets twice, connection ends not once. */
static int check(const struct ferry_tcp_dump *d, int *twice, int *missing)
{
	uint64_t *c = malloc((d->n + 1) * sizeof(*c));
	int bad = 0;

	if (!c)
		die("malloc");
	for (size_t i = 0; i < d->n; i++)
		c[i] = d->socks[i].cookie;
	qsort(c, d->n, sizeof(*c), cmp_u64);
	for (size_t i = 1; i < d->n; i++)
		if (c[i] == c[i - 1]) {
			(*twice)++;
			bad++;
		}
	free(c);
	for (int k = 0; k < M; k++) {
		int cl = 0, sv = 0;

		for (size_t i = 0; i < d->n; i++) {
			const struct ferry_tcp_sock *s = &d->socks[i];

			if (s->state != 1)	/* ESTABLISHED */
				continue;
			if (s->sport == cport[k] && s->dport == lport)
				cl++;
			if (s->sport == lport && s->dport == cport[k])
				sv++;
		}
		if (cl != 1 || sv != 1) {
			(*missing)++;
			bad++;
		}
	}
	return bad;
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int rounds = argc > 1 ? atoi(argv[1]) : 100;
	int dumps = 0, bad_dumps = 0, twice = 0, missing = 0, during = 0;
	socklen_t al = sizeof(a);
	struct ferry_tcp_dump d;
	struct ferry_nl nl;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4 * M) ||
	    getsockname(lfd, (struct sockaddr *)&a, &al))
		die("listener");
	lport = ntohs(a.sin_port);
	if (ferry_nl_open(&nl)) {
		fprintf(stderr, "tcp_accept_race: ferry.ko not reachable\n");
		return 2;
	}
	memset(&d, 0, sizeof(d));
	for (int r = 0; r < rounds; r++) {
		pthread_t th;

		for (int k = 0; k < M; k++) {
			struct sockaddr_in b;
			socklen_t bl = sizeof(b);

			cfd[k] = socket(AF_INET, SOCK_STREAM, 0);
			if (cfd[k] < 0 || connect(cfd[k], (struct sockaddr *)&a, sizeof(a)) ||
			    getsockname(cfd[k], (struct sockaddr *)&b, &bl))
				die("connect");
			cport[k] = ntohs(b.sin_port);
		}
		/* connect() returns before the server has the final ACK: wait
		 * until all M connections are children in the accept queue
		 * (a listener's tcpi_unacked is its accept queue length) */
		for (int w = 0; w < 5000; w++) {
			struct tcp_info ti;
			socklen_t tl = sizeof(ti);

			if (getsockopt(lfd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0 &&
			    ti.tcpi_unacked >= M)
				break;
			usleep(1000);
		}
		accepted = 0;
		if (pthread_create(&th, NULL, acceptor, NULL))
			die("pthread_create");
		do {
			int was = accepted;

			if (ferry_tcp_dump_rerun(&nl, (uint32_t)getpid(),
						 FERRY_TCP_F_NETNS | FERRY_TCP_F_PACKED, &d))
				die("TCP_DUMP");
			dumps++;
			if (was > 0 && was < M)
				during++;
			if (check(&d, &twice, &missing))
				bad_dumps++;
		} while (accepted < M);
		pthread_join(th, NULL);
		/* RST on close: no TIME_WAIT pile-up from round to round */
		for (int k = 0; k < M; k++) {
			struct linger lg = { 1, 0 };

			setsockopt(cfd[k], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
			close(cfd[k]);
			close(afd[k]);
		}
	}
	ferry_tcp_dump_free(&d);
	ferry_nl_close(&nl);
	printf("%d rounds, %d dumps (%d while accepting): %d bad dumps, %d sockets twice, "
	       "%d connection ends not exactly once\n", rounds, dumps, during, bad_dumps, twice,
	       missing);
	if (bad_dumps) {
		printf("FAIL\n");
		return 1;
	}
	if (!during) {
		printf("FAIL: no dump ran while connections were being accepted\n");
		return 1;
	}
	printf("OK\n");
	return 0;
}
