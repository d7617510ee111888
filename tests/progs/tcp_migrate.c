// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_migrate FAMILY -- sufficiency of the TCP_DUMP export: move one end of
 * a live connection to another network namespace using nothing but the
 * export, and go on with the byte stream, byte-exact both ways.
 *
 * Namespaces "fa" (client, 10.0.0.1 / fd00::1 on va) and "fb" (server) come
 * from the scenario script. Steps:
 *  1. connect fa -> fb; write known streams both ways, read part of them;
 *  2. network lock (drop arriving packets in fa and fb); write more both
 *     ways, so data is in flight, unsent and unread on both sides;
 *  3. TCP_DUMP with queue data; keep only the client's snapshot;
 *  4. close the client silently (TCP_REPAIR, close: nothing is sent);
 *  5. move the address: interface va from fa into a new namespace fc;
 *  6. in fc, rebuild the socket from the snapshot (ferry_tcp_restore);
 *  7. unlock; both ends write the rest of their streams and read
 *     everything the other wrote; every byte is checked against the
 *     stream pattern, and both totals must match.
 * The server socket is never touched besides its normal reads and writes.
 * Exit: 0 ok, 1 a check failed, 2 test bed failure.
 */
#include <poll.h>
#include "tcp_common.h"
#include "nl.h"
#include "tcp_state.h"

#define TOTAL	(400 * 1000)	/* stream bytes each way */

static int mksock(int family)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);

	if (fd < 0)
		DIE("socket: %s", strerror(errno));
	tc_setint(fd, SOL_SOCKET, SO_RCVBUF, 65536);
	tc_setint(fd, SOL_SOCKET, SO_SNDBUF, 65536);
	return fd;
}

static void copy_queue(struct ferry_tcp_qbuf *dst, const struct ferry_tcp_qbuf *src)
{
	*dst = *src;
	dst->buf = malloc(src->len + 1);
	if (!dst->buf)
		DIE("malloc");
	if (src->len)
		memcpy(dst->buf, src->buf, src->len);
	dst->cap = src->len + 1;
	dst->borrowed = false;
}

int main(int argc, char **argv)
{
	int family, l, c, s, c2, ret;
	uint64_t c_wr = 0, c_rd = 0, s_wr = 0, s_rd = 0;
	uint16_t port = (uint16_t)(6000 + getpid() % 1000);
	struct ferry_tcp_sock snap;
	struct ferry_tcp_dump d;
	struct ferry_nl nl;
	struct tc_addr a;
	time_t deadline;

	if (argc != 2 || (strcmp(argv[1], "4") && strcmp(argv[1], "6")))
		DIE("usage: tcp_migrate 4|6");
	family = argv[1][0] == '4' ? AF_INET : AF_INET6;

	/* 1 */
	tc_setns("fb");
	l = mksock(family);
	tc_setint(l, SOL_SOCKET, SO_REUSEADDR, 1);
	tc_mkaddr(&a, family, 2, port);
	if (bind(l, (struct sockaddr *)&a.ss, a.len) < 0 || listen(l, 4) < 0)
		DIE("listen: %s", strerror(errno));
	tc_setns("fa");
	c = mksock(family);
	if (connect(c, (struct sockaddr *)&a.ss, a.len) < 0)
		DIE("connect: %s", strerror(errno));
	s = accept(l, NULL, NULL);
	if (s < 0)
		DIE("accept: %s", strerror(errno));
	close(l);
	tc_nonblock(c);
	tc_nonblock(s);
	tc_write_pat(c, 0, &c_wr, 30000);
	tc_write_pat(s, 1, &s_wr, 30000);
	tc_msleep(300);
	tc_read_pat(c, 1, &c_rd, 7000);
	tc_read_pat(s, 0, &s_rd, 9000);
	tc_msleep(200);

	/* 2 */
	tc_drop_in("fa", 1);
	tc_drop_in("fb", 1);
	tc_write_pat(c, 0, &c_wr, 100000);
	tc_write_pat(s, 1, &s_wr, 100000);
	tc_msleep(1000);

	/* 3 */
	ret = ferry_nl_open(&nl);
	if (ret)
		DIE("netlink: %s", strerror(-ret));
	ret = ferry_tcp_dump_run(&nl, (uint32_t)getpid(), FERRY_TCP_F_DATA, &d);
	if (ret)
		DIE("TCP_DUMP: %s (%s)", strerror(-ret), nl.errmsg);
	ferry_nl_close(&nl);
	memset(&snap, 0, sizeof(snap));
	for (size_t i = 0; i < d.n; i++)
		if (ferry_tcp_has(&d.socks[i], FERRY_SOCK_A_FD) && d.socks[i].fd == (uint32_t)c &&
		    d.socks[i].pid == (uint32_t)getpid()) {
			snap = d.socks[i];
			copy_queue(&snap.sendq, &d.socks[i].sendq);
			copy_queue(&snap.recvq, &d.socks[i].recvq);
		}
	ferry_tcp_dump_free(&d);
	if (!snap.cookie)
		DIE("client socket not in the export");
	fprintf(stderr, "snapshot: %s snd_una=%u snd_nxt=%u write_seq=%u rcv_nxt=%u copied=%u "
		"sendq=%u (unsent %u) recvq=%u\n", ferry_tcp_state_name(snap.state), snap.snd_una,
		snap.snd_nxt, snap.write_seq, snap.rcv_nxt, snap.copied_seq, snap.sendq.len,
		ferry_tcp_sendq_unsent(&snap), snap.recvq.len);
	CHECK(snap.snd_nxt != snap.snd_una, "no client data in flight");
	CHECK(snap.write_seq != snap.snd_nxt, "no unsent client data");
	CHECK(snap.recvq.len > 0, "client receive queue empty");

	/* 4 */
	tc_setint(c, SOL_TCP, TCP_REPAIR, TCP_REPAIR_ON);
	close(c);

	/* 5 */
	tc_sys("ip netns add fc && ip -n fa link set va netns fc && "
	       "ip netns exec fc sysctl -qw net.ipv6.conf.all.accept_dad=0 && "
	       "ip -n fc link set lo up && ip -n fc addr add 10.0.0.1/24 dev va && "
	       "ip -n fc addr add fd00::1/64 dev va nodad && ip -n fc link set va up && "
	       "mac=$(ip -n fb -o link show vb | sed -n 's/.*link\\/ether \\([0-9a-f:]*\\).*/\\1/p') && "
	       "ip -n fc neigh replace 10.0.0.2 lladdr $mac dev va nud permanent && "
	       "ip -n fc neigh replace fd00::2 lladdr $mac dev va nud permanent");

	/* 6 */
	tc_setns("fc");
	ret = ferry_tcp_restore(&snap, &c2);
	if (ret)
		DIE("restore: %s", strerror(-ret));
	tc_nonblock(c2);
	fprintf(stderr, "restored in fc as fd %d\n", c2);

	/* 7 */
	tc_drop_in("fb", 0);
	deadline = time(NULL) + 180;
	while (c_rd < TOTAL || s_rd < TOTAL || c_wr < TOTAL || s_wr < TOTAL) {
		struct pollfd p[2] = { { c2, POLLIN | (c_wr < TOTAL ? POLLOUT : 0), 0 },
				       { s, POLLIN | (s_wr < TOTAL ? POLLOUT : 0), 0 } };
		uint8_t buf[16384];
		ssize_t n;

		if (time(NULL) > deadline)
			DIE("stalled: client wrote %llu read %llu, server wrote %llu read %llu",
			    (unsigned long long)c_wr, (unsigned long long)c_rd,
			    (unsigned long long)s_wr, (unsigned long long)s_rd);
		poll(p, 2, 1000);
		if (c_wr < TOTAL)
			tc_write_pat(c2, 0, &c_wr, TOTAL - c_wr);
		if (s_wr < TOTAL)
			tc_write_pat(s, 1, &s_wr, TOTAL - s_wr);
		n = recv(c2, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			size_t m = tc_match(buf, 1, c_rd, (size_t)n);

			if (m != (size_t)n)
				DIE("client read: stream differs at byte %llu",
				    (unsigned long long)(c_rd + m));
			c_rd += (uint64_t)n;
		} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			DIE("client read: %s", n ? strerror(errno) : "EOF");
		}
		n = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
		if (n > 0) {
			size_t m = tc_match(buf, 0, s_rd, (size_t)n);

			if (m != (size_t)n)
				DIE("server read: stream differs at byte %llu",
				    (unsigned long long)(s_rd + m));
			s_rd += (uint64_t)n;
		} else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			DIE("server read: %s", n ? strerror(errno) : "EOF");
		}
	}
	/* Orderly end: both see EOF after exactly TOTAL bytes. */
	shutdown(c2, SHUT_WR);
	shutdown(s, SHUT_WR);
	tc_msleep(500);
	{
		uint8_t b;

		deadline = time(NULL) + 30;
		while (recv(s, &b, 1, MSG_DONTWAIT) < 0 && time(NULL) < deadline)
			tc_msleep(50);
		CHECK(recv(s, &b, 1, MSG_DONTWAIT) == 0, "server: no EOF after the stream");
		while (recv(c2, &b, 1, MSG_DONTWAIT) < 0 && time(NULL) < deadline)
			tc_msleep(50);
		CHECK(recv(c2, &b, 1, MSG_DONTWAIT) == 0, "client: no EOF after the stream");
	}
	printf("migrate IPv%s: %s; %d bytes each way verified (client restored with %u unacked+unsent and "
	       "%u unread bytes)\n", argv[1], tc_failures ? "FAIL" : "ok", TOTAL, snap.sendq.len,
	       snap.recvq.len);
	return tc_failures ? 1 : 0;
}
