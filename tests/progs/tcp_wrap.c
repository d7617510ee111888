// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_wrap -- a queue export that goes on in a later message never
 * exports other bytes than the snapshot's, even when the socket moved 2^32
 * bytes in between (its 32-bit sequence numbers then name other bytes).
 * Run as root with ferry.ko loaded, lo up.
 *
 * A loopback connection S -> R; R reads nothing, so S's send queue fills
 * (SO_SNDBUFFORCE 8 MiB). A TCP_DUMP with queue data of this process starts
 * and only its first message is read: the kernel has then made at most
 * one more, so the export of S's send queue stops a few KiB in. Then R
 * reads and S writes until S's peer acknowledged 2^32 - 2 MiB more bytes,
 * and S fills its queue again: the 32-bit sequence number where the
 * export resumes is inside S's queue once more, naming a byte 4 GiB later
 * in the stream. The rest of the dump is read.
 *
 * Must hold: every byte exported for S's send queue is the stream's byte at
 * its position (byte p of the stream is a known function of p, different
 * for p and p + 2^32), and the export either ends with GONE or is whole.
 * Prints the outcome; exit 0 when it holds, 1 when not, 2 on setup errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <linux/tcp.h>	/* struct tcp_info with tcpi_bytes_acked */
#include <linux/genetlink.h>
#include <sys/socket.h>
#include "nl.h"
#include "tcp_state.h"

#define WRAP		(1ULL << 32)
#define MARGIN		(2ULL << 20)		/* land 2 MiB short of 2^32 */
#define CHUNK		(1U << 20)
#define BUFSZ		(64U << 10)	/* dump messages are at most 32 KiB */

static void die(const char *what)
{
	fprintf(stderr, "tcp_wrap: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Byte p of the stream: splitmix64 of p / 8, so that no two positions
 * 2^32 apart agree by construction. */
static uint8_t stream_byte(uint64_t p)
{
	uint64_t z = p / 8 + 0x9E3779B97F4A7C15ULL;

	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	z ^= z >> 31;
	return (uint8_t)(z >> (8 * (p % 8)));
}

static uint8_t wbuf[CHUNK], rbuf[CHUNK];
static uint64_t wpos;		/* stream bytes written by S */

/* Write what S takes now; false when it takes nothing (queue full). */
static bool fill_some(int s)
{
	ssize_t n;

	for (uint32_t i = 0; i < CHUNK; i++)
		wbuf[i] = stream_byte(wpos + i);
	n = write(s, wbuf, CHUNK);
	if (n < 0) {
		if (errno == EAGAIN)
			return false;
		die("write");
	}
	wpos += (uint64_t)n;
	return true;
}

static uint64_t acked(int s)
{
	struct tcp_info ti;
	socklen_t l = sizeof(ti);

	if (getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &l) < 0)
		die("TCP_INFO");
	return ti.tcpi_bytes_acked;
}

/* Fill S's queue until it takes nothing for a while. */
static void fill_up(int s)
{
	int idle = 0;

	while (idle < 20) {
		if (fill_some(s))
			idle = 0;
		else {
			idle++;
			usleep(10000);
		}
	}
}

/* Read one dump message into d; 1 when the dump is over. */
static int read_msg(struct ferry_nl *nl, struct ferry_tcp_dump *d, char *buf, size_t len)
{
	ssize_t n = mnl_socket_recvfrom(nl->sock, buf, len);
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	int more = 0;

	if (n < 0)
		die("netlink recv");
	for (; mnl_nlmsg_ok(h, (int)n); h = mnl_nlmsg_next(h, (int *)&n)) {
		if (h->nlmsg_type == NLMSG_DONE)
			return 1;
		if (h->nlmsg_type == NLMSG_ERROR) {
			errno = -((struct nlmsgerr *)mnl_nlmsg_get_payload(h))->error;
			die("TCP_DUMP");
		}
		if (ferry_tcp_parse_msg(d, h)) {
			errno = EPROTO;
			die("parsing a reply");
		}
		more = 0;
	}
	return more;
}

int main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t al = sizeof(a);
	int l, s, r, one = 1, big = 8 << 20, small = 64 << 10;
	uint64_t acked0, pos0, base, bad = 0, first_bad = 0;
	struct ferry_tcp_sock *ss = NULL;
	struct ferry_tcp_dump d;
	struct nlmsghdr *req;
	struct ferry_nl nl;
	unsigned short sport;
	char *buf;
	time_t t0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &al))
		die("listener");
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) ||
	    connect(s, (struct sockaddr *)&a, sizeof(a)))
		die("connect");
	r = accept(l, NULL, NULL);
	if (r < 0)
		die("accept");
	al = sizeof(a);
	getsockname(s, (struct sockaddr *)&a, &al);
	sport = ntohs(a.sin_port);
	setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(s, F_SETFL, O_NONBLOCK);
	fcntl(r, F_SETFL, O_NONBLOCK);

	fill_up(s);
	acked0 = acked(s);
	pos0 = wpos;
	printf("queue full: %llu bytes written, %llu acked\n", (unsigned long long)wpos,
	       (unsigned long long)acked0);

	if (ferry_nl_open(&nl)) {
		fprintf(stderr, "tcp_wrap: ferry.ko not reachable\n");
		return 2;
	}
	buf = malloc(BUFSZ);
	if (!buf)
		die("malloc");
	memset(&d, 0, sizeof(d));
	d.flags = FERRY_TCP_F_DATA | FERRY_TCP_F_PACKED;
	req = ferry_nl_request(&nl, FERRY_CMD_TCP_DUMP, 1);
	mnl_attr_put_u32(req, FERRY_TCP_A_PID, (uint32_t)getpid());
	mnl_attr_put_u32(req, FERRY_TCP_A_FLAGS, d.flags);
	if (mnl_socket_sendto(nl.sock, req, req->nlmsg_len) < 0)
		die("netlink send");
	/* Reading one message makes the kernel fill (at most) the next one,
	 * now; the rest waits for us. */
	if (read_msg(&nl, &d, buf, BUFSZ))
		die("dump over after one message");
	printf("first message read: %zu sockets so far\n", d.n);

	/* 2^32 - 2 MiB of progress, then a full queue again */
	t0 = time(NULL);
	while (acked(s) - acked0 < WRAP - MARGIN) {
		ssize_t n;

		fill_some(s);
		while ((n = read(r, rbuf, sizeof(rbuf))) > 0)
			;
		if (time(NULL) - t0 > 900) {
			fprintf(stderr, "tcp_wrap: 4 GiB did not pass in 15 minutes\n");
			return 2;
		}
	}
	fill_up(s);
	printf("moved %llu bytes in %lds; %llu bytes written\n",
	       (unsigned long long)(acked(s) - acked0), (long)(time(NULL) - t0),
	       (unsigned long long)wpos);

	while (!read_msg(&nl, &d, buf, BUFSZ))
		;
	for (size_t i = 0; i < d.n; i++)
		if (d.socks[i].sport == sport && d.socks[i].state == 1)
			ss = &d.socks[i];
	if (!ss) {
		fprintf(stderr, "tcp_wrap: S is not in the dump\n");
		return 1;
	}
	/* the snapshot was taken with the queue full, nothing written since */
	base = pos0 - ss->sndq_bytes;
	for (uint32_t i = 0; i < ss->sendq.len; i++)
		if (ss->sendq.buf[i] != stream_byte(base + i) && !bad++)
			first_bad = i;
	printf("S: snapshot sndq_bytes=%u, exported %u bytes, %s, %llu wrong\n", ss->sndq_bytes,
	       ss->sendq.len, ss->sendq.gone ? "then GONE" : "no GONE marker",
	       (unsigned long long)bad);
	ferry_nl_close(&nl);
	if (bad) {
		printf("FAIL: the export resumed on other bytes than the snapshot's "
		       "(first wrong byte at offset %llu)\n", (unsigned long long)first_bad);
		return 1;
	}
	if (!ss->sendq.gone && ss->sendq.len != ss->sndq_bytes) {
		printf("FAIL: the export is incomplete without a GONE marker\n");
		return 1;
	}
	if (!ss->sendq.gone) {
		printf("FAIL: the whole queue came through although its bytes were acked "
		       "and replaced: the test did not test what it must\n");
		return 1;
	}
	printf("OK: the resumed export stopped with GONE, no wrong byte\n");
	return 0;
}
