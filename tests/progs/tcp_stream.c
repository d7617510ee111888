// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_stream: N TCP connections streaming verifiable data both ways, for
 * the migration tests.
 *
 *   tcp_stream server ADDR PORT N STATUS [PIDFILE] [RATE] [CHURN_MIB]
 *   tcp_stream client ADDR PORT N STATUS [RATE]
 *
 * ADDR is an IPv4 or an IPv6 literal ("10.88.0.2", "fd99:7::2", "::").
 * The client opens N connections to ADDR:PORT; each begins with its id (u32,
 * little-endian). Then both ends send, each at RATE bytes/s per connection
 * (default 16384), the stream of bytes
 *
 *   byte o of stream (id, dir) = byte (o % 8) of the u64
 *                                (o / 8 + 1) * 0x9E3779B97F4A7C15 ^ id << 40 ^ dir << 63
 *
 * (dir 0: client to server, 1: server to client), so that every byte says
 * where it belongs: each end checks every byte it receives against the
 * stream it expects and counts them. A lost, duplicated, reordered or
 * foreign byte is a mismatch; EOF, ECONNRESET or EPIPE on a connection is
 * counted as a reset.
 *
 * SIGUSR1: write the status to STATUS (atomically, via STATUS.tmp):
 *   "OK|FAIL conns=C alive=A mismatches=M resets=R rx=BYTES tx=BYTES max_stall_ms=T"
 *   then one line per connection:
 *   "conn ID rx=BYTES tx=BYTES bad=0|1 alive=0|1 stall_ms=T"
 *   (stall: the longest time the connection received nothing; meaningful
 *   on the side that does not move, whose clock does not jump)
 *   (FAIL: a mismatch or reset happened, or fewer than N connections).
 * SIGUSR2: stop sending (keep receiving and verifying), to compare the
 *   byte counts of both ends once the queues are drained.
 * With more than 64 connections, each sends in chunks of at least 1 KiB
 * and the loop wakes every 100 ms instead of 20 (a TCG guest's CPU).
 * The server accepts exactly N connections and keeps its listening socket.
 * It writes its pid to PIDFILE once all N are accepted. Exits on SIGTERM.
 *
 * CHURN_MIB (server, > 0): memory and process churn next to the streams,
 * from the start (churn.h: a CHURN_MIB MiB heap in THP-eligible memory,
 * mmap/MADV_DONTNEED/mremap/munmap cycles, short-lived forked children,
 * all self-checking); the status line then ends with
 * " churn_ops=O churn_forks=F churn_errors=E" and any churn error makes it
 * FAIL.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include "churn.h"

#define MAXC 1024

struct conn {
	int fd;
	int32_t id;		/* -1 until the server read the header */
	uint8_t hdr[4];
	unsigned int hdr_got;
	uint64_t rx, tx;	/* stream bytes verified / sent */
	double last_rx;		/* when bytes last arrived */
	double max_stall;	/* longest time without receiving, s */
	bool bad, alive;
};

static volatile sig_atomic_t want_status, quiesce, stop;
static struct conn conns[MAXC];
static int nconns, want_n;
static uint64_t mismatches, resets;
static bool server, churn;

static void on_sig(int sig)
{
	if (sig == SIGUSR1)
		want_status = 1;
	else if (sig == SIGUSR2)
		quiesce = 1;
	else
		stop = 1;
}

static uint8_t stream_byte(uint32_t id, int dir, uint64_t o)
{
	uint64_t w = (o / 8 + 1) * 0x9E3779B97F4A7C15ull ^ (uint64_t)id << 40 ^ (uint64_t)dir << 63;

	return (uint8_t)(w >> (8 * (o % 8)));
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void);

static void write_status(const char *path)
{
	char tmp[4200];
	uint64_t rx = 0, tx = 0;
	double stall = 0;
	int alive = 0;
	FILE *f;

	for (int i = 0; i < nconns; i++) {
		rx += conns[i].rx;
		tx += conns[i].tx;
		alive += conns[i].alive;
		if (conns[i].max_stall > stall)
			stall = conns[i].max_stall;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "%s conns=%d alive=%d mismatches=%llu resets=%llu rx=%llu tx=%llu "
		"max_stall_ms=%llu",
		!mismatches && !resets && nconns == want_n && !churn_errors() ? "OK" : "FAIL",
		nconns, alive, (unsigned long long)mismatches, (unsigned long long)resets,
		(unsigned long long)rx, (unsigned long long)tx,
		(unsigned long long)(stall * 1000));
	if (churn)
		churn_report(f);
	fputc('\n', f);
	for (int i = 0; i < nconns; i++)
		fprintf(f, "conn %d rx=%llu tx=%llu bad=%d alive=%d stall_ms=%llu\n", conns[i].id,
			(unsigned long long)conns[i].rx, (unsigned long long)conns[i].tx,
			conns[i].bad, conns[i].alive,
			(unsigned long long)(conns[i].max_stall * 1000));
	fclose(f);
	rename(tmp, path);
}

/* When a connection ends, when and in which TCP state: the time, to set
 * beside a migration's steps, and the kernel's counters (retransmissions
 * of the RTO timer, zero-window probes, backoff) tell which timer gave up
 * on an ETIMEDOUT. */
static void lost(struct conn *c, bool reset, const char *what)
{
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	struct timespec ts;
	struct tm tm;

	if (!c->alive)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	memset(&ti, 0, sizeof(ti));
	getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl);
	fprintf(stderr, "%02d:%02d:%02d.%03ld conn %d: %s after %llu bytes in, %llu out "
		"(tcp state %u ca_state %u retransmits %u probes %u backoff %u rto %u us "
		"unacked %u last_ack_recv %u ms)\n", tm.tm_hour, tm.tm_min, tm.tm_sec,
		ts.tv_nsec / 1000000, c->id, what, (unsigned long long)c->rx,
		(unsigned long long)c->tx, ti.tcpi_state, ti.tcpi_ca_state, ti.tcpi_retransmits,
		ti.tcpi_probes, ti.tcpi_backoff, ti.tcpi_rto, ti.tcpi_unacked,
		ti.tcpi_last_ack_recv);
	resets += reset;
	c->alive = false;
	close(c->fd);
	c->fd = -1;
}

static void do_read(struct conn *c)
{
	uint8_t buf[65536];
	int dir = server ? 0 : 1;

	for (;;) {
		ssize_t n = read(c->fd, buf, sizeof(buf));
		ssize_t i = 0;

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			lost(c, true, strerror(errno));	/* ECONNRESET, ... */
			return;
		}
		if (n == 0) {
			lost(c, true, "EOF");	/* the peer never closes */
			return;
		}
		{
			/* the gap since the last bytes (the server's clock jumps
			 * when it moves: only its client's figure counts) */
			double t = now();

			if (c->last_rx > 0 && t - c->last_rx > c->max_stall)
				c->max_stall = t - c->last_rx;
			c->last_rx = t;
		}
		if (c->id < 0) {
			while (i < n && c->hdr_got < 4)
				c->hdr[c->hdr_got++] = buf[i++];
			if (c->hdr_got < 4)
				continue;
			c->id = (int32_t)(c->hdr[0] | c->hdr[1] << 8 | c->hdr[2] << 16 |
					  (uint32_t)c->hdr[3] << 24);
		}
		for (; i < n; i++) {
			if (!c->bad && buf[i] != stream_byte((uint32_t)c->id, dir, c->rx)) {
				c->bad = true;
				mismatches++;
				fprintf(stderr, "conn %d: mismatch at byte %llu\n", c->id,
					(unsigned long long)c->rx);
			}
			if (!c->bad)
				c->rx++;
		}
	}
}

/* With many connections, each one's bytes go out in chunks of at least
 * this many (one write of a few bytes per connection every 20 ms would
 * keep a TCG guest's CPU busy with 1000 connections) */
#define MANY_CONNS	64
#define MANY_MIN_WRITE	1024

static void do_write(struct conn *c, uint64_t quota)
{
	uint8_t buf[8192];
	int dir = server ? 1 : 0;

	if (c->id < 0 || quiesce)
		return;
	if (nconns > MANY_CONNS && quota < c->tx + MANY_MIN_WRITE)
		return;
	while (quota > c->tx) {
		size_t n = quota - c->tx;
		ssize_t w;

		if (n > sizeof(buf))
			n = sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = stream_byte((uint32_t)c->id, dir, c->tx + i);
		w = write(c->fd, buf, n);
		if (w < 0) {
			if (errno != EAGAIN && errno != EINTR)
				lost(c, true, strerror(errno));	/* EPIPE, ... */
			return;
		}
		c->tx += (uint64_t)w;
		if ((size_t)w < n)
			return;
	}
}

/* An IPv4 or IPv6 literal and a port into sa (its length in *len); -1 if
 * addr is neither */
static int parse_addr(const char *addr, const char *port, struct sockaddr_storage *sa,
		      socklen_t *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)sa;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)sa;
	uint16_t p = htons((uint16_t)atoi(port));

	memset(sa, 0, sizeof(*sa));
	if (inet_pton(AF_INET, addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = p;
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = p;
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

static int setup(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fcntl(fd, F_SETFL, O_NONBLOCK);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage sa;
	socklen_t salen;
	const char *status, *pidfile = NULL;
	/* SA_RESTART: a status request must not fail a blocking connect() */
	struct sigaction act = { .sa_handler = on_sig, .sa_flags = SA_RESTART };
	struct pollfd pfd[MAXC];
	double rate = 16384, t0, budget = 0;
	uint64_t quota;
	int lfd = -1;

	if (argc < 6 || (strcmp(argv[1], "server") && strcmp(argv[1], "client"))) {
		fprintf(stderr, "usage: %s server ADDR PORT N STATUS [PIDFILE] [RATE] [CHURN_MIB]\n"
			"       %s client ADDR PORT N STATUS [RATE]\n", argv[0], argv[0]);
		return 2;
	}
	server = !strcmp(argv[1], "server");
	if (parse_addr(argv[2], argv[3], &sa, &salen))
		return 2;
	want_n = atoi(argv[4]);
	status = argv[5];
	if (want_n < 1 || want_n > MAXC)
		return 2;
	if (server) {
		pidfile = argc > 6 ? argv[6] : NULL;
		if (argc > 7)
			rate = atof(argv[7]);
		churn = argc > 8 && atoi(argv[8]) > 0;
		if (churn && churn_start((size_t)atoi(argv[8]))) {
			fprintf(stderr, "churn: cannot start\n");
			return 1;
		}
	} else if (argc > 6) {
		rate = atof(argv[6]);
	}
	sigaction(SIGUSR1, &act, NULL);
	sigaction(SIGUSR2, &act, NULL);
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (server) {
		int one = 1;

		lfd = socket(sa.ss_family, SOCK_STREAM, 0);
		setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, salen) ||
		    listen(lfd, want_n)) {
			perror("listen");
			return 1;
		}
		while (nconns < want_n && !stop) {
			int fd = accept(lfd, NULL, NULL);

			if (fd < 0) {
				if (errno == EINTR)
					continue;
				perror("accept");
				return 1;
			}
			setup(fd);
			conns[nconns++] = (struct conn){ .fd = fd, .id = -1, .alive = true };
		}
		if (pidfile) {
			FILE *f = fopen(pidfile, "w");

			if (f) {
				fprintf(f, "%d\n", getpid());
				fclose(f);
			}
		}
	} else {
		for (int i = 0; i < want_n; i++) {
			uint8_t hdr[4] = { (uint8_t)i, (uint8_t)(i >> 8), 0, 0 };
			int fd = socket(sa.ss_family, SOCK_STREAM, 0);

			if (fd < 0 || connect(fd, (struct sockaddr *)&sa, salen) ||
			    write(fd, hdr, 4) != 4) {
				perror("connect");
				return 1;
			}
			setup(fd);
			conns[nconns++] = (struct conn){ .fd = fd, .id = i, .alive = true };
		}
	}
	/* The send budget grows with time, in steps of at most 0.1 s: the
	 * monotonic clock jumps (either way) when the process moves to
	 * another host. */
	t0 = now();
	while (!stop) {
		double t = now(), dt = t - t0;
		int n = 0;

		t0 = t;
		if (dt < 0)
			dt = 0;
		if (dt > 0.1)
			dt = 0.1;
		budget += dt * rate;
		quota = (uint64_t)budget;

		for (int i = 0; i < nconns; i++) {
			if (!conns[i].alive)
				continue;
			do_write(&conns[i], quota);
		}
		for (int i = 0; i < nconns; i++) {
			pfd[i].fd = conns[i].alive ? conns[i].fd : -1;
			pfd[i].events = POLLIN;
			pfd[i].revents = 0;
		}
		n = poll(pfd, (nfds_t)nconns, nconns > MANY_CONNS ? 100 : 20);
		for (int i = 0; n > 0 && i < nconns; i++)
			if (pfd[i].revents && conns[i].alive)
				do_read(&conns[i]);
		if (want_status) {
			want_status = 0;
			write_status(status);
		}
	}
	write_status(status);
	return 0;
}
