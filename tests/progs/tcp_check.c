// SPDX-License-Identifier: GPL-2.0
/*
 * tcp_check SCENARIO FAMILY -- put real TCP connections between the network
 * namespaces "fa" (client) and "fb" (server) into a state, then compare
 * ferry.ko's TCP_DUMP export of every socket with what the kernel reports
 * for the same socket through TCP_REPAIR (TCP_QUEUE_SEQ per queue,
 * TCP_REPAIR_WINDOW, TCP_MAXSEG, peeked queues), ioctls (SIOCINQ,
 * SIOCOUTQ, SIOCOUTQNSD), TCP_INFO and plain getsockopts, and the exported
 * queue bytes with the bytes the test wrote and did not read (every stream
 * byte is a known function of its position).
 *
 * SCENARIO: established | finwait1 | fin (FIN_WAIT2, CLOSE_WAIT, LAST_ACK) |
 *           closing | syn (SYN_SENT and SYN_RECV) | timewait | listen |
 *           closed (CLOSE with unread bytes: after the peer's FIN in
 *           FIN_WAIT2, and after a reset) | fastopen (a Fast Open server
 *           child in SYN_RECV that wrote, its client in SYN_SENT, and a
 *           TCP_FASTOPEN_CONNECT connect before its SYN) | orphan (LAST_ACK
 *           after close() with only the FIN unread) | simopen (an orphan
 *           in FIN_WAIT1 with its SYN unacked, after a simultaneous open) |
 *           partial (a send queue whose head skb is partly acknowledged)
 * FAMILY:   4 | 6
 * With $FERRY_BIN and $TC_JSON set, also saves `ferry tcp PID --data
 * --json` of this process, taken at the checked state, to $TC_JSON.
 * Exit: 0 all checks passed, 1 a check failed, 2 the test bed failed.
 */
#include "tcp_common.h"
#include "nl.h"
#include "tcp_state.h"

#define RCVBUF 32768
#define SNDBUF 32768

struct conn {
	int family;
	int l, c, s;			/* listener (fb), client (fa), server (fb) */
	uint16_t port, cport;
	uint32_t c_wseq0, c_rseq0;	/* seq of the first data byte each way */
	uint32_t s_wseq0, s_rseq0;
	uint64_t c_wr, c_rd, s_wr, s_rd;	/* stream positions */
};

/* The two encodings of the same frozen sockets must carry the same
 * values (all but the clocks that run: ts_now, ts_recent_stamp, TIME_WAIT
 * time left), the same queue bytes, for the same sockets. */
static void compare_encodings(const struct ferry_tcp_dump *p, struct ferry_tcp_dump *a)
{
	CHECK(p->n == a->n, "packed dump has %zu sockets, attribute dump %zu", p->n, a->n);
	for (size_t i = 0; i < p->n; i++) {
		struct ferry_tcp_sock x = p->socks[i], *y = ferry_tcp_find(a, x.cookie);

		CHECK(y, "socket %llx only in the packed dump", (unsigned long long)x.cookie);
		if (!y)
			continue;
		CHECK(x.sendq.len == y->sendq.len && x.recvq.len == y->recvq.len &&
		      x.sendq.gone == y->sendq.gone && x.recvq.gone == y->recvq.gone &&
		      (!x.sendq.len || !memcmp(x.sendq.buf, y->sendq.buf, x.sendq.len)) &&
		      (!x.recvq.len || !memcmp(x.recvq.buf, y->recvq.buf, x.recvq.len)),
		      "socket %llx: queue bytes differ between the encodings",
		      (unsigned long long)x.cookie);
		x.ts_now = y->ts_now;
		x.ts_recent_stamp = y->ts_recent_stamp;
		x.tw_timeout_ms = y->tw_timeout_ms;
		x.sendq = y->sendq;
		x.recvq = y->recvq;
		CHECK(!memcmp(&x, y, sizeof(x)),
		      "socket %llx (%s): fields differ between the packed and attribute encodings",
		      (unsigned long long)x.cookie, ferry_tcp_state_name(x.state));
	}
}

/*
 * TC_LEGACY=1: dump without FERRY_TCP_F_SEQ_MARKS, as every module before
 * it did (SYN and FIN decided from the state, no bytes for CLOSE). The
 * closed and fastopen scenarios must fail that way: it is how the
 * export lost bytes before.
 */
static void dump_self(struct ferry_tcp_dump *d, uint32_t flags)
{
	uint32_t marks = getenv("TC_LEGACY") ? 0 : FERRY_TCP_F_SEQ_MARKS;
	struct ferry_tcp_dump a;
	struct ferry_nl nl;
	int ret = ferry_nl_open(&nl);

	if (ret)
		DIE("ferry netlink: %s", strerror(-ret));
	if (marks)
		ret = ferry_tcp_dump_run(&nl, (uint32_t)getpid(), flags | FERRY_TCP_F_DATA, d);
	else
		ret = ferry_tcp_dump_request(&nl, (uint32_t)getpid(),
					     flags | FERRY_TCP_F_DATA | FERRY_TCP_F_PACKED, d);
	if (ret)
		DIE("TCP_DUMP: %s (%s)", strerror(-ret), nl.errmsg);
	for (size_t i = 0; i < d->n; i++)
		if (ferry_tcp_has(&d->socks[i], FERRY_SOCK_A_SND_WL1))	/* full sockets */
			CHECK(!(d->socks[i].options & FERRY_SOCK_OPT_SEQ_MARKED) == !marks,
			      "socket %zu: marks %s", i, marks ? "missing" : "in a legacy dump");
	ret = ferry_tcp_dump_request(&nl, (uint32_t)getpid(), flags | FERRY_TCP_F_DATA | marks, &a);
	if (ret)
		DIE("TCP_DUMP (attribute encoding): %s (%s)", strerror(-ret), nl.errmsg);
	compare_encodings(d, &a);
	ferry_tcp_dump_free(&a);
	ferry_nl_close(&nl);
}

static struct ferry_tcp_sock *by_fd(struct ferry_tcp_dump *d, int fd)
{
	for (size_t i = 0; i < d->n; i++)
		if (ferry_tcp_has(&d->socks[i], FERRY_SOCK_A_FD) && d->socks[i].fd == (uint32_t)fd &&
		    d->socks[i].pid == (uint32_t)getpid())
			return &d->socks[i];
	DIE("fd %d not in the export", fd);
}

static struct ferry_tcp_sock *by_ports(struct ferry_tcp_dump *d, uint16_t sport, uint16_t dport,
				       int state)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->socks[i].sport == sport && d->socks[i].dport == dport &&
		    (state < 0 || d->socks[i].state == state))
			return &d->socks[i];
	return NULL;
}

static void save_json(void)
{
	const char *bin = getenv("FERRY_BIN"), *out = getenv("TC_JSON");

	if (bin && out)
		tc_sys("%s tcp %d --data --json > %s", bin, (int)getpid(), out);
}

/*
 * Compare one exported socket with the kernel's view of fd. wseq0/rseq0:
 * sequence numbers of the first data byte this socket sent/received;
 * wr/rd: stream bytes it wrote/read; dir: its sending direction.
 */
/* The socket checked next sent a FIN that was acked (CLOSE after FIN_WAIT2). */
static int fin_acked;

static void check_sock(const char *name, int fd, const struct ferry_tcp_sock *s, int want_state,
		       uint32_t wseq0, uint32_t rseq0, uint64_t wr, uint64_t rd, int dir)
{
	struct tc_repair r;
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	uint32_t sq = ferry_tcp_sendq_expected(s), rq = ferry_tcp_recvq_expected(s);
	int v, syn = s->state == TCP_SYN_SENT || s->state == TCP_SYN_RECV;

	fprintf(stderr, "%s: %s snd_una=%u snd_nxt=%u write_seq=%u rcv_nxt=%u copied=%u "
		"sendq=%u (unsent %u) recvq=%u\n", name, ferry_tcp_state_name(s->state),
		s->snd_una, s->snd_nxt, s->write_seq, s->rcv_nxt, s->copied_seq,
		s->sendq.len, ferry_tcp_sendq_unsent(s), s->recvq.len);
	CHECK_EQ(s->state, want_state, "state");

	tc_repair_read(fd, &r);
	CHECK_EQ(s->write_seq, r.send_seq, "write_seq vs TCP_QUEUE_SEQ(send)");
	CHECK_EQ(s->rcv_nxt, r.recv_seq, "rcv_nxt vs TCP_QUEUE_SEQ(recv)");
	CHECK(r.win_ok, "TCP_REPAIR_WINDOW failed");
	CHECK_EQ(s->snd_wl1, r.win.snd_wl1, "snd_wl1");
	CHECK_EQ(s->snd_wnd, r.win.snd_wnd, "snd_wnd");
	CHECK_EQ(s->max_window, r.win.max_window, "max_window");
	CHECK_EQ(s->rcv_wnd, r.win.rcv_wnd, "rcv_wnd");
	CHECK_EQ(s->rcv_wup, r.win.rcv_wup, "rcv_wup");
	CHECK_EQ(s->mss_clamp, r.maxseg, "mss_clamp vs TCP_MAXSEG(repair)");

	if (ioctl(fd, SIOCOUTQ, &v) == 0)
		CHECK_EQ(syn ? 0 : s->write_seq - s->snd_una, v, "write_seq-snd_una vs SIOCOUTQ");
	if (ioctl(fd, SIOCOUTQNSD, &v) == 0)
		CHECK_EQ(syn ? 0 : s->write_seq - s->snd_nxt, v, "write_seq-snd_nxt vs SIOCOUTQNSD");
	if (ioctl(fd, SIOCINQ, &v) == 0)
		CHECK_EQ(rq, v, "receive queue bytes vs SIOCINQ");

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &tl) < 0)
		DIE("TCP_INFO: %s", strerror(errno));
	CHECK_EQ(s->state, ti.tcpi_state, "state vs TCP_INFO");
	CHECK_EQ(s->mss_cache, ti.tcpi_snd_mss, "mss_cache vs tcpi_snd_mss");
	if (s->options & FERRY_SOCK_OPT_WSCALE) {
		CHECK_EQ(s->snd_wscale, ti.tcpi_snd_wscale, "snd_wscale");
		CHECK_EQ(s->rcv_wscale, ti.tcpi_rcv_wscale, "rcv_wscale");
	}
	CHECK_EQ(!!(s->options & FERRY_SOCK_OPT_TIMESTAMPS), !!(ti.tcpi_options & TCPI_OPT_TIMESTAMPS),
		 "timestamps option");
	CHECK_EQ(!!(s->options & FERRY_SOCK_OPT_SACK), !!(ti.tcpi_options & TCPI_OPT_SACK), "sack option");
	CHECK_EQ(!!(s->options & FERRY_SOCK_OPT_WSCALE), !!(ti.tcpi_options & TCPI_OPT_WSCALE),
		 "wscale option");
	CHECK_EQ(!!(s->options & FERRY_SOCK_OPT_ECN), !!(ti.tcpi_options & TCPI_OPT_ECN), "ecn option");
	if (tl >= offsetof(struct tcp_info, tcpi_snd_wnd) + sizeof(ti.tcpi_snd_wnd))
		CHECK_EQ(s->snd_wnd, ti.tcpi_snd_wnd, "snd_wnd vs tcpi_snd_wnd");
	if (!syn)
		CHECK_EQ(s->mss_cache, tc_getint(fd, SOL_TCP, TCP_MAXSEG), "mss_cache vs TCP_MAXSEG");
	CHECK_EQ(s->keepidle, tc_getint(fd, SOL_TCP, TCP_KEEPIDLE), "keepidle");
	CHECK_EQ(s->keepintvl, tc_getint(fd, SOL_TCP, TCP_KEEPINTVL), "keepintvl");
	CHECK_EQ(s->keepcnt, tc_getint(fd, SOL_TCP, TCP_KEEPCNT), "keepcnt");
	CHECK_EQ(s->user_timeout, tc_getint(fd, SOL_TCP, TCP_USER_TIMEOUT), "user_timeout");
	CHECK_EQ(!!(s->options & FERRY_SOCK_OPT_NODELAY), tc_getint(fd, SOL_TCP, TCP_NODELAY), "nodelay");
	if (s->options & FERRY_SOCK_OPT_TIMESTAMPS) {
		uint32_t now = (uint32_t)tc_getint(fd, SOL_TCP, TCP_TIMESTAMP);

		/* The TSval clock runs on between export and getsockopt. */
		CHECK((int32_t)(now - s->ts_now) >= 0 && (int32_t)(now - s->ts_now) < 20000000,
		      "ts_now %u vs TCP_TIMESTAMP %u", s->ts_now, now);
	}

	/* Queue bytes: complete, equal to the peeked queues, and exactly the
	 * stream bytes written and not yet acknowledged / received and not
	 * yet read. */
	CHECK(ferry_tcp_data_complete(s), "%s: queue data incomplete (send %u/%u%s, recv %u/%u%s)",
	      name, s->sendq.len, sq, s->sendq.gone ? " gone" : "", s->recvq.len, rq,
	      s->recvq.gone ? " gone" : "");
	CHECK_EQ(s->recvq.len, r.rcvq_len, "receive queue bytes vs peeked");
	if (r.rcvq_len == (ssize_t)s->recvq.len && s->recvq.len)
		CHECK(memcmp(r.rcvq, s->recvq.buf, s->recvq.len) == 0, "receive queue differs from peek");
	CHECK(r.sndq_len >= (ssize_t)s->sendq.len, "send queue: peeked %zd < exported %u",
	      r.sndq_len, s->sendq.len);
	if (r.sndq_len >= (ssize_t)s->sendq.len && s->sendq.len)
		CHECK(memcmp(r.sndq + (r.sndq_len - s->sendq.len), s->sendq.buf, s->sendq.len) == 0,
		      "send queue differs from peek");
	if (!syn) {
		uint64_t acked = (uint32_t)(s->snd_una - wseq0);

		if (s->state == TCP_FIN_WAIT2 || (s->state == TCP_CLOSE && fin_acked))
			acked--;	/* our FIN is acked too */
		uint64_t copied = (uint32_t)(s->copied_seq - rseq0);

		CHECK_EQ(s->sendq.len, wr - acked, "send queue bytes vs written-acked");
		CHECK_EQ(tc_match(s->sendq.buf, dir, acked, s->sendq.len), s->sendq.len,
			 "send queue bytes match the stream");
		CHECK_EQ(copied, rd, "copied_seq vs bytes read");
		CHECK_EQ(tc_match(s->recvq.buf, !dir, copied, s->recvq.len), s->recvq.len,
			 "receive queue bytes match the stream");
	}
	tc_repair_free(&r);
}

static int mksock(int family)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);

	if (fd < 0)
		DIE("socket: %s", strerror(errno));
	tc_setint(fd, SOL_SOCKET, SO_RCVBUF, RCVBUF);
	tc_setint(fd, SOL_SOCKET, SO_SNDBUF, SNDBUF);
	return fd;
}

static void mklistener(struct conn *k, int backlog)
{
	struct tc_addr a;

	tc_setns("fb");
	k->l = mksock(k->family);
	tc_setint(k->l, SOL_SOCKET, SO_REUSEADDR, 1);
	tc_mkaddr(&a, k->family, 2, k->port);
	if (bind(k->l, (struct sockaddr *)&a.ss, a.len) < 0 || listen(k->l, backlog) < 0)
		DIE("bind/listen: %s", strerror(errno));
}

static int mkclient(struct conn *k, int nonblock)
{
	struct tc_addr a;
	int fd;

	tc_setns("fa");
	fd = mksock(k->family);
	if (nonblock)
		tc_nonblock(fd);
	tc_mkaddr(&a, k->family, 2, k->port);
	if (connect(fd, (struct sockaddr *)&a.ss, a.len) < 0 && !(nonblock && errno == EINPROGRESS))
		DIE("connect: %s", strerror(errno));
	return fd;
}

static void setup(struct conn *k)
{
	struct tc_repair r;

	mklistener(k, 16);
	k->c = mkclient(k, 0);
	k->s = accept(k->l, NULL, NULL);
	if (k->s < 0)
		DIE("accept: %s", strerror(errno));
	k->cport = tc_local_port(k->c);
	tc_repair_read(k->c, &r);
	k->c_wseq0 = r.send_seq;
	k->c_rseq0 = r.recv_seq;
	tc_repair_free(&r);
	tc_repair_read(k->s, &r);
	k->s_wseq0 = r.send_seq;
	k->s_rseq0 = r.recv_seq;
	tc_repair_free(&r);
	if (k->c_wseq0 != k->s_rseq0 || k->s_wseq0 != k->c_rseq0)
		DIE("initial sequence numbers do not pair up");
	tc_nonblock(k->c);
	tc_nonblock(k->s);
}

/* Data both ways, partly read: both receive queues non-empty. */
static void exchange(struct conn *k)
{
	tc_write_pat(k->c, 0, &k->c_wr, 20000);
	tc_write_pat(k->s, 1, &k->s_wr, 20000);
	tc_msleep(300);
	tc_read_pat(k->c, 1, &k->c_rd, 5000);
	tc_read_pat(k->s, 0, &k->s_rd, 5000);
	tc_msleep(200);
}

/* Freeze the link (packets are lost on arrival, so senders see their data
 * in flight) and write more both ways: unacked and unsent bytes. */
static void inflight(struct conn *k, int c_writes, int s_writes)
{
	tc_drop_in("fa", 1);
	tc_drop_in("fb", 1);
	if (c_writes)
		tc_write_pat(k->c, 0, &k->c_wr, 200000);
	if (s_writes)
		tc_write_pat(k->s, 1, &k->s_wr, 200000);
	tc_msleep(1000);
}

static void check_c(struct ferry_tcp_dump *d, struct conn *k, int state)
{
	check_sock("client", k->c, by_fd(d, k->c), state, k->c_wseq0, k->c_rseq0, k->c_wr, k->c_rd, 0);
}

static void check_s(struct ferry_tcp_dump *d, struct conn *k, int state)
{
	check_sock("server", k->s, by_fd(d, k->s), state, k->s_wseq0, k->s_rseq0, k->s_wr, k->s_rd, 1);
}

static void require_busy(const struct ferry_tcp_sock *s, const char *name, int inflight, int unsent)
{
	if (inflight)
		CHECK(s->snd_nxt != s->snd_una, "%s: no data in flight", name);
	if (unsent)
		CHECK(s->write_seq != s->snd_nxt, "%s: no unsent data", name);
}

static void sc_established(struct conn *k)
{
	struct ferry_tcp_dump d;

	setup(k);
	exchange(k);
	inflight(k, 1, 1);
	dump_self(&d, 0);
	require_busy(by_fd(&d, k->c), "client", 1, 1);
	require_busy(by_fd(&d, k->s), "server", 1, 1);
	CHECK(by_fd(&d, k->c)->recvq.len > 0 && by_fd(&d, k->s)->recvq.len > 0, "receive queues empty");
	check_c(&d, k, TCP_ESTABLISHED);
	check_s(&d, k, TCP_ESTABLISHED);
	save_json();
	ferry_tcp_dump_free(&d);
}

static void sc_finwait1(struct conn *k)
{
	struct ferry_tcp_dump d;

	setup(k);
	exchange(k);
	inflight(k, 1, 1);
	if (shutdown(k->c, SHUT_WR) < 0)
		DIE("shutdown: %s", strerror(errno));
	tc_msleep(300);
	dump_self(&d, 0);
	require_busy(by_fd(&d, k->c), "client", 1, 0);
	check_c(&d, k, TCP_FIN_WAIT1);
	check_s(&d, k, TCP_ESTABLISHED);
	save_json();
	ferry_tcp_dump_free(&d);
}

static void sc_fin(struct conn *k)
{
	struct ferry_tcp_dump d;

	setup(k);
	exchange(k);
	if (shutdown(k->c, SHUT_WR) < 0)
		DIE("shutdown: %s", strerror(errno));
	tc_msleep(500);
	inflight(k, 0, 1);
	dump_self(&d, 0);
	require_busy(by_fd(&d, k->s), "server", 1, 1);
	check_c(&d, k, TCP_FIN_WAIT2);
	check_s(&d, k, TCP_CLOSE_WAIT);
	ferry_tcp_dump_free(&d);

	if (shutdown(k->s, SHUT_WR) < 0)
		DIE("shutdown: %s", strerror(errno));
	tc_msleep(300);
	dump_self(&d, 0);
	require_busy(by_fd(&d, k->s), "server", 1, 0);
	check_c(&d, k, TCP_FIN_WAIT2);
	check_s(&d, k, TCP_LAST_ACK);
	save_json();
	ferry_tcp_dump_free(&d);
}

static void sc_closing(struct conn *k)
{
	struct ferry_tcp_dump d;

	setup(k);
	exchange(k);
	tc_drop_in("fb", 1);		/* client -> server lost */
	tc_write_pat(k->c, 0, &k->c_wr, 3000);
	if (shutdown(k->c, SHUT_WR) < 0)
		DIE("shutdown: %s", strerror(errno));
	tc_msleep(300);
	tc_write_pat(k->s, 1, &k->s_wr, 3000);
	if (shutdown(k->s, SHUT_WR) < 0)	/* its FIN reaches the client */
		DIE("shutdown: %s", strerror(errno));
	tc_msleep(500);
	tc_drop_in("fa", 1);
	tc_msleep(500);
	dump_self(&d, 0);
	require_busy(by_fd(&d, k->c), "client", 1, 0);
	require_busy(by_fd(&d, k->s), "server", 1, 0);
	check_c(&d, k, TCP_CLOSING);
	check_s(&d, k, TCP_FIN_WAIT1);
	save_json();
	ferry_tcp_dump_free(&d);
}

static void sc_syn(struct conn *k)
{
	struct ferry_tcp_sock *c, *req, *l;
	struct ferry_tcp_dump d, dn;
	struct tc_repair r;

	mklistener(k, 16);
	tc_drop_in("fa", 1);		/* SYN-ACKs lost: SYN_SENT + SYN_RECV */
	k->c = mkclient(k, 1);
	k->cport = tc_local_port(k->c);
	tc_msleep(500);
	dump_self(&d, 0);
	c = by_fd(&d, k->c);
	l = by_fd(&d, k->l);
	CHECK_EQ(l->state, TCP_LISTEN, "listener state");
	check_sock("client", k->c, c, TCP_SYN_SENT, 0, 0, 0, 0, 0);
	CHECK_EQ(c->snd_nxt, c->snd_una + 1, "SYN_SENT: snd_nxt = isn + 1");
	CHECK_EQ(c->write_seq, c->snd_una + 1, "SYN_SENT: write_seq = isn + 1");

	tc_setns("fb");
	dump_self(&dn, FERRY_TCP_F_NETNS);
	req = by_ports(&dn, k->port, k->cport, TCP_SYN_RECV);
	CHECK(req != NULL, "no SYN_RECV request socket in the server's netns");
	if (req) {
		CHECK_EQ(req->rcv_nxt, c->snd_nxt, "request rcv_nxt vs client snd_nxt");
		CHECK_EQ(req->listener, l->cookie, "request's listener cookie");
		CHECK_EQ(req->inode, 0, "request socket has no inode");
		CHECK_EQ(req->state, TCP_SYN_RECV, "request state");
		fprintf(stderr, "SYN_RECV request: snt_isn=%u rcv_nxt=%u mss=%u\n",
			req->snd_una, req->rcv_nxt, req->mss_clamp);
	}
	/* The request's ISN is what the client will acknowledge: compare with
	 * the client's view once it is let through. */
	tc_drop_in("fa", 0);
	for (int i = 0; i < 600; i++) {	/* SYN/SYN-ACK retransmits back off */
		struct tcp_info ti;
		socklen_t tl = sizeof(ti);

		if (getsockopt(k->c, SOL_TCP, TCP_INFO, &ti, &tl) == 0 &&
		    ti.tcpi_state == TCP_ESTABLISHED)
			break;
		tc_msleep(100);
	}
	tc_repair_read(k->c, &r);
	if (req)
		CHECK_EQ(req->snd_una + 1, r.recv_seq, "request snt_isn+1 vs client rcv_nxt");
	tc_repair_free(&r);
	if (req) {
		/* A request's bound device is the one its connection is bound
		 * to: the child socket it becomes inherits it. */
		struct ferry_tcp_dump de;
		struct ferry_tcp_sock *child;

		dump_self(&de, FERRY_TCP_F_NETNS);
		child = by_ports(&de, k->port, k->cport, TCP_ESTABLISHED);
		CHECK(child != NULL, "no established child after the handshake");
		if (child)
			CHECK_EQ(req->bound_dev, child->bound_dev,
				 "request bound_dev vs its established child's");
		ferry_tcp_dump_free(&de);
	}
	save_json();
	ferry_tcp_dump_free(&d);
	ferry_tcp_dump_free(&dn);
}

/*
 * CLOSE with bytes the application has not read, two ways. Must hold: the
 * export has the socket as CLOSE, with exactly the unread stream bytes,
 * complete, equal to the peeked queue and SIOCINQ (which leaves out an
 * unread FIN, as the export must).
 *  - after FIN: the client half-closes; the server writes and closes its
 *    side. The client's FIN_WAIT2 socket takes the data and the FIN and
 *    hands the connection to a timewait socket (tcp_time_wait), staying
 *    CLOSE itself with the data and the FIN unread;
 *  - after a reset: the server writes, then closes with bytes of its own
 *    unread, which sends a RST; the client's socket is CLOSE with the data
 *    unread and no FIN.
 */
static void sc_closed(struct conn *k)
{
	struct conn r = { .family = k->family, .port = (uint16_t)(k->port + 1) };
	struct ferry_tcp_sock *c, *rc;
	struct ferry_tcp_dump d;

	setup(k);
	exchange(k);
	if (shutdown(k->c, SHUT_WR) < 0)
		DIE("shutdown: %s", strerror(errno));
	tc_msleep(300);
	tc_write_pat(k->s, 1, &k->s_wr, 7000);
	if (shutdown(k->s, SHUT_WR) < 0)
		DIE("shutdown: %s", strerror(errno));

	setup(&r);
	exchange(&r);
	tc_write_pat(r.s, 1, &r.s_wr, 3000);
	tc_msleep(300);
	close(r.s);			/* unread bytes: a RST, not a FIN */
	r.s = -1;
	tc_msleep(500);

	dump_self(&d, 0);
	c = by_fd(&d, k->c);
	rc = by_fd(&d, r.c);
	CHECK(c->options & FERRY_SOCK_OPT_FIN_UNREAD, "after FIN: the unread FIN is not marked");
	CHECK(!(rc->options & FERRY_SOCK_OPT_FIN_UNREAD), "after a reset: a FIN is marked");
	CHECK_EQ(c->recvq.len, k->s_wr - k->c_rd, "after FIN: exported unread bytes");
	CHECK_EQ(rc->recvq.len, r.s_wr - r.c_rd, "after a reset: exported unread bytes");
	fin_acked = 1;
	check_c(&d, k, TCP_CLOSE);
	fin_acked = 0;
	check_sock("client (reset)", r.c, rc, TCP_CLOSE, r.c_wseq0, r.c_rseq0, r.c_wr, r.c_rd, 0);
	save_json();
	ferry_tcp_dump_free(&d);
}

/*
 * TCP Fast Open: the client's SYN carries data; the server's child socket
 * is accepted at once, in SYN_RECV, and writes. Every packet arriving at
 * the client is dropped, so the child stays in SYN_RECV with its bytes
 * unacked and the client in SYN_SENT. The child's SYN-ACK belongs to its
 * request (snd_una is the child's first data byte); the client's SYN
 * heads its retransmit queue. Must hold: the child exports every byte it
 * wrote, from stream position 0, not marked SYN_UNACKED; the client
 * exports its SYN's data, marked SYN_UNACKED; the child's receive queue
 * is the SYN's data.
 */
static void sc_fastopen(struct conn *k)
{
	struct ferry_tcp_sock *c, *s;
	struct ferry_tcp_dump d;
	uint8_t buf[1000];
	struct tc_addr a;
	ssize_t n;

	tc_sys("ip netns exec fa sysctl -qw net.ipv4.tcp_fastopen=0x207");
	tc_sys("ip netns exec fb sysctl -qw net.ipv4.tcp_fastopen=0x207");
	mklistener(k, 16);
	tc_setint(k->l, SOL_TCP, TCP_FASTOPEN, 16);
	tc_drop_in("fa", 1);
	tc_setns("fa");
	k->c = mksock(k->family);
	tc_nonblock(k->c);
	tc_mkaddr(&a, k->family, 2, k->port);
	tc_fill(buf, 0, 0, sizeof(buf));
	n = sendto(k->c, buf, sizeof(buf), MSG_FASTOPEN, (struct sockaddr *)&a.ss, a.len);
	if (n != (ssize_t)sizeof(buf))
		DIE("sendto MSG_FASTOPEN: %zd (%s)", n, n < 0 ? strerror(errno) : "short");
	k->c_wr = sizeof(buf);
	for (int i = 0; i < 100 && k->s < 0; i++) {
		k->s = accept4(k->l, NULL, NULL, SOCK_NONBLOCK);
		if (k->s < 0)
			tc_msleep(50);
	}
	if (k->s < 0)
		DIE("no Fast Open child to accept: %s", strerror(errno));
	tc_write_pat(k->s, 1, &k->s_wr, 3000);
	tc_msleep(300);

	dump_self(&d, 0);
	c = by_fd(&d, k->c);
	s = by_fd(&d, k->s);
	fprintf(stderr, "fastopen: client %s snd_una=%u write_seq=%u sendq=%u; child %s "
		"snd_una=%u write_seq=%u sendq=%u recvq=%u\n",
		ferry_tcp_state_name(c->state), c->snd_una, c->write_seq, c->sendq.len,
		ferry_tcp_state_name(s->state), s->snd_una, s->write_seq, s->sendq.len, s->recvq.len);
	CHECK_EQ(c->state, TCP_SYN_SENT, "client state");
	CHECK_EQ(s->state, TCP_SYN_RECV, "child state");
	CHECK(c->options & FERRY_SOCK_OPT_SYN_UNACKED, "client: unacked SYN not marked");
	CHECK(!(s->options & FERRY_SOCK_OPT_SYN_UNACKED), "child: SYN marked unacked");
	CHECK(ferry_tcp_data_complete(c) && ferry_tcp_data_complete(s), "queue data incomplete");
	CHECK_EQ(c->sendq.len, k->c_wr, "client: exported SYN data");
	CHECK_EQ(tc_match(c->sendq.buf, 0, 0, c->sendq.len), c->sendq.len,
		 "client: send bytes match the stream");
	CHECK_EQ(s->sendq.len, k->s_wr, "child: exported bytes vs written");
	CHECK_EQ(s->write_seq - s->snd_una, k->s_wr, "child: write_seq - snd_una vs written");
	CHECK_EQ(tc_match(s->sendq.buf, 1, 0, s->sendq.len), s->sendq.len,
		 "child: send bytes match the stream from its first byte");
	CHECK_EQ(s->recvq.len, k->c_wr, "child: received SYN data");
	CHECK_EQ(tc_match(s->recvq.buf, 0, 0, s->recvq.len), s->recvq.len,
		 "child: receive bytes match the SYN's data");
	save_json();
	ferry_tcp_dump_free(&d);

	/* TCP_FASTOPEN_CONNECT: connect() returns at once and the SYN (with
	 * tcp_connect_init(), which sets snd_una) waits for the first write.
	 * Must hold: SYN_SENT, nothing to export, complete (not a range from
	 * a snd_una never set to write_seq, reported GONE). */
	{
		struct ferry_tcp_sock *dc;
		int fd;

		tc_setns("fa");
		fd = mksock(k->family);
		tc_setint(fd, SOL_TCP, TCP_FASTOPEN_CONNECT, 1);
		if (connect(fd, (struct sockaddr *)&a.ss, a.len) < 0)
			DIE("connect (TCP_FASTOPEN_CONNECT): %s", strerror(errno));
		dump_self(&d, 0);
		dc = by_fd(&d, fd);
		fprintf(stderr, "deferred connect: %s snd_una=%u write_seq=%u sendq=%u%s\n",
			ferry_tcp_state_name(dc->state), dc->snd_una, dc->write_seq, dc->sendq.len,
			dc->sendq.gone ? " gone" : "");
		CHECK_EQ(dc->state, TCP_SYN_SENT, "deferred connect: state");
		CHECK(ferry_tcp_data_complete(dc) && dc->sendq.len == 0,
		      "deferred connect: export not empty and complete");
		ferry_tcp_dump_free(&d);
		close(fd);
	}
}

/*
 * A server that got the client's data and FIN, read the data, and closed
 * with its own bytes in flight (arrivals at the client dropped): LAST_ACK,
 * orphaned (no file; netns mode finds it), its FIN and bytes unacked.
 * __tcp_close() purged the receive queue (only the FIN was unread, so no
 * reset) without moving copied_seq. Must hold: the export is complete and
 * marked ORPHAN, with no receive bytes (not GONE), and the send queue is
 * exactly the unacked stream bytes, without the FIN.
 */
static void sc_orphan(struct conn *k)
{
	struct ferry_tcp_sock *s;
	struct ferry_tcp_dump d;
	struct tc_repair r;
	uint32_t acked0;

	setup(k);
	exchange(k);
	tc_read_pat(k->s, 0, &k->s_rd, k->c_wr - k->s_rd);
	tc_read_pat(k->c, 1, &k->c_rd, k->s_wr - k->c_rd);
	if (shutdown(k->c, SHUT_WR) < 0)
		DIE("shutdown: %s", strerror(errno));
	tc_msleep(500);
	tc_drop_in("fa", 1);
	tc_repair_read(k->s, &r);
	acked0 = r.send_seq;		/* everything written so far is acked */
	tc_repair_free(&r);
	tc_write_pat(k->s, 1, &k->s_wr, 3000);
	tc_msleep(300);
	close(k->s);
	k->s = -1;
	tc_msleep(300);

	tc_setns("fb");
	dump_self(&d, FERRY_TCP_F_NETNS);
	s = by_ports(&d, k->port, k->cport, TCP_LAST_ACK);
	CHECK(s != NULL, "no LAST_ACK socket in the server's netns");
	if (s) {
		fprintf(stderr, "orphan: %s snd_una=%u write_seq=%u rcv_nxt=%u copied=%u sendq=%u%s "
			"recvq=%u%s\n", ferry_tcp_state_name(s->state), s->snd_una, s->write_seq,
			s->rcv_nxt, s->copied_seq, s->sendq.len, s->sendq.gone ? " gone" : "",
			s->recvq.len, s->recvq.gone ? " gone" : "");
		CHECK(s->options & FERRY_SOCK_OPT_ORPHAN, "orphan not marked");
		CHECK(s->options & FERRY_SOCK_OPT_FIN_QUEUED, "queued FIN not marked");
		CHECK(ferry_tcp_data_complete(s), "orphan: queue data incomplete (send%s, recv%s)",
		      s->sendq.gone ? " gone" : "", s->recvq.gone ? " gone" : "");
		CHECK_EQ(s->recvq.len, 0, "orphan: receive bytes");
		CHECK_EQ(s->snd_una, acked0, "orphan: snd_una (the new bytes unacked)");
		CHECK_EQ(s->sendq.len, 3000, "orphan: unacked bytes exported");
		CHECK_EQ(tc_match(s->sendq.buf, 1, k->s_wr - 3000, s->sendq.len), s->sendq.len,
			 "orphan: send bytes match the stream");
	}
	ferry_tcp_dump_free(&d);
}

/*
 * Simultaneous open: the server's socket (fb) connects to the client's
 * port before the client (fa) connects to it; every packet arriving at the
 * client is dropped. The client's SYN finds the server's socket in
 * SYN_SENT: it turns SYN_RECV and answers with its own SYN (now a SYN-ACK)
 * at the head of its retransmit queue, unacked. The server's application
 * then closes it (shutdown() leaves a SYN_RECV socket as it is): an
 * orphan in FIN_WAIT1 with the SYN still unacked and its FIN queued. Must
 * hold: state FIN_WAIT1, marked SYN_UNACKED, FIN_QUEUED and ORPHAN,
 * write_seq - snd_una = 2 (the SYN and the FIN, no byte), the export
 * complete and empty -- not a one-sequence range over the SYN reported
 * GONE, which is what deciding the SYN from the state alone gave.
 */
static void sc_simopen(struct conn *k)
{
	uint16_t cport = (uint16_t)(k->port + 1);
	struct ferry_tcp_sock *s;
	struct ferry_tcp_dump d;
	struct tcp_info ti;
	socklen_t tl = sizeof(ti);
	struct tc_addr a;

	tc_drop_in("fa", 1);
	tc_setns("fb");
	k->s = mksock(k->family);
	tc_nonblock(k->s);
	tc_mkaddr(&a, k->family, 2, k->port);
	if (bind(k->s, (struct sockaddr *)&a.ss, a.len) < 0)
		DIE("bind (server): %s", strerror(errno));
	tc_mkaddr(&a, k->family, 1, cport);
	if (connect(k->s, (struct sockaddr *)&a.ss, a.len) < 0 && errno != EINPROGRESS)
		DIE("connect (server): %s", strerror(errno));
	tc_setns("fa");
	k->c = mksock(k->family);
	tc_nonblock(k->c);
	if (bind(k->c, (struct sockaddr *)&a.ss, a.len) < 0)
		DIE("bind (client): %s", strerror(errno));
	tc_mkaddr(&a, k->family, 2, k->port);
	if (connect(k->c, (struct sockaddr *)&a.ss, a.len) < 0 && errno != EINPROGRESS)
		DIE("connect (client): %s", strerror(errno));
	tc_msleep(300);
	if (getsockopt(k->s, SOL_TCP, TCP_INFO, &ti, &tl) < 0)
		DIE("TCP_INFO: %s", strerror(errno));
	if (ti.tcpi_state != TCP_SYN_RECV)	/* the test bed, not the export */
		DIE("no simultaneous open: the server's socket is %s, not SYN_RECV",
		    ferry_tcp_state_name(ti.tcpi_state));
	close(k->s);
	k->s = -1;
	tc_msleep(300);

	tc_setns("fb");
	dump_self(&d, FERRY_TCP_F_NETNS);
	s = by_ports(&d, k->port, cport, -1);
	CHECK(s != NULL, "the server's socket is not in its netns's export");
	if (s) {
		fprintf(stderr, "simopen: server %s snd_una=%u snd_nxt=%u write_seq=%u rcv_nxt=%u "
			"sendq=%u%s recvq=%u%s\n", ferry_tcp_state_name(s->state), s->snd_una,
			s->snd_nxt, s->write_seq, s->rcv_nxt, s->sendq.len, s->sendq.gone ? " gone" : "",
			s->recvq.len, s->recvq.gone ? " gone" : "");
		CHECK_EQ(s->state, TCP_FIN_WAIT1, "server state (SYN_RECV of a simultaneous open, closed)");
		CHECK_EQ(s->write_seq - s->snd_una, 2, "write_seq - snd_una (the SYN and the FIN)");
		CHECK(s->options & FERRY_SOCK_OPT_SYN_UNACKED, "unacked SYN not marked");
		CHECK(s->options & FERRY_SOCK_OPT_FIN_QUEUED, "queued FIN not marked");
		CHECK(s->options & FERRY_SOCK_OPT_ORPHAN, "orphan not marked");
		CHECK(ferry_tcp_data_complete(s), "simopen: queue data incomplete (send %u%s, recv %u%s)",
		      s->sendq.len, s->sendq.gone ? " gone" : "", s->recvq.len,
		      s->recvq.gone ? " gone" : "");
		CHECK_EQ(s->sendq.len, 0, "send bytes exported");
		CHECK_EQ(s->recvq.len, 0, "receive bytes exported");
	}
	ferry_tcp_dump_free(&d);
}

/*
 * A send queue whose head skb is partly acknowledged and untrimmed. The
 * server (TCP_NODELAY, its RTO at least 3 s by a route to the client)
 * writes A; the client gets it, its ACK is lost. Then every packet to the
 * client is lost too and the server writes B and C, sent at once: the
 * retransmission timer collapses A, B and C into one single-segment skb
 * (tcp_retrans_try_collapse walks only sent skbs, so B and C must be out
 * before it fires: under TCG the default 200 ms RTO came first). The
 * client's ACKs are let through again and it writes: its segment
 * acknowledges A alone, which moves snd_una into that skb, and
 * tcp_clean_rtx_queue() trims only multi-segment skbs. The kernel's
 * repair-mode peek of the send queue (tcp_peek_sndq, what CRIU's libsoccr
 * dumps) then returns A's acknowledged bytes too: more than SIOCOUTQ, and
 * CRIU 3.17 fails ("recv failed (N, want M)"); the state lasts until the
 * next retransmission (6 s on) trims the skb.
 * Must hold: that state is reached (the test bed, exit 2 if not), and the
 * export is exactly B and C, from stream position |A| on, and complete.
 */
static void sc_partial(struct conn *k)
{
	struct ferry_tcp_sock *s;
	struct ferry_tcp_dump d;
	struct tc_repair r;
	int outq = -1;

	if (k->family == AF_INET)
		tc_sys("ip -n fb route add 10.0.0.1/32 dev vb rto_min 3s");
	else
		tc_sys("ip -n fb -6 route add fd00::1/128 dev vb rto_min 3s");
	setup(k);
	tc_setint(k->s, SOL_TCP, TCP_NODELAY, 1);
	tc_drop_in("fb", 1);		/* the client's ACKs lost */
	tc_write_pat(k->s, 1, &k->s_wr, 300);	/* A: arrives */
	tc_msleep(100);
	tc_drop_in("fa", 1);		/* from now on nothing arrives */
	tc_write_pat(k->s, 1, &k->s_wr, 300);	/* B */
	tc_write_pat(k->s, 1, &k->s_wr, 300);	/* C */
	tc_msleep(4000);		/* the RTO: A+B+C collapse */
	tc_drop_in("fb", 0);
	tc_write_pat(k->c, 0, &k->c_wr, 100);	/* acknowledges A only */
	tc_msleep(100);

	dump_self(&d, 0);
	tc_repair_read(k->s, &r);
	if (ioctl(k->s, SIOCOUTQ, &outq) < 0)
		DIE("SIOCOUTQ: %s", strerror(errno));
	s = by_fd(&d, k->s);
	fprintf(stderr, "partial: server snd_una=%u write_seq=%u SIOCOUTQ=%d peeked=%zd "
		"exported=%u\n", s->snd_una, s->write_seq, outq, r.sndq_len, s->sendq.len);
	if (r.sndq_len <= outq)		/* the test bed, not the export */
		DIE("no partly acknowledged head skb: the peek gave %zd bytes, SIOCOUTQ %d "
		    "(snd_una %u: %u bytes acked)", r.sndq_len, outq, s->snd_una,
		    s->snd_una - k->s_wseq0);
	tc_repair_free(&r);
	CHECK_EQ(s->snd_una - k->s_wseq0, 300, "snd_una: A acknowledged, no more");
	check_s(&d, k, TCP_ESTABLISHED);
	save_json();
	ferry_tcp_dump_free(&d);
}

static void sc_timewait(struct conn *k)
{
	struct ferry_tcp_sock *tw, *c;
	struct ferry_tcp_dump d, dn;
	uint32_t W, V, opts, tsoff;
	char buf[64];

	setup(k);
	exchange(k);
	tc_read_pat(k->c, 1, &k->c_rd, k->s_wr - k->c_rd);
	tc_read_pat(k->s, 0, &k->s_rd, k->c_wr - k->s_rd);
	dump_self(&d, 0);
	c = by_fd(&d, k->c);
	W = c->write_seq;
	V = by_fd(&d, k->s)->write_seq;
	opts = c->options;
	tsoff = c->ts_offset;
	ferry_tcp_dump_free(&d);
	close(k->c);			/* active close: the client ends in TIME_WAIT */
	tc_msleep(300);
	if (recv(k->s, buf, sizeof(buf), MSG_DONTWAIT) != 0)
		DIE("server did not see EOF");
	close(k->s);
	tc_msleep(500);

	tc_setns("fa");
	dump_self(&dn, FERRY_TCP_F_NETNS);
	tw = by_ports(&dn, k->cport, k->port, -1);
	CHECK(tw != NULL, "client socket not in the netns export");
	if (tw) {
		fprintf(stderr, "timewait: %s snd_nxt=%u rcv_nxt=%u left=%ums\n",
			ferry_tcp_state_name(tw->state), tw->snd_nxt, tw->rcv_nxt, tw->tw_timeout_ms);
		CHECK_EQ(tw->state, TCP_TIME_WAIT, "state");
		CHECK_EQ(tw->snd_nxt, W + 1, "TIME_WAIT snd_nxt = write_seq + FIN");
		CHECK_EQ(tw->rcv_nxt, V + 1, "TIME_WAIT rcv_nxt = peer write_seq + FIN");
		CHECK(tw->tw_timeout_ms > 0 && tw->tw_timeout_ms <= 60000, "tw timeout %u ms",
		      tw->tw_timeout_ms);
		CHECK_EQ(!!(tw->options & FERRY_SOCK_OPT_TIMESTAMPS),
			 !!(opts & FERRY_SOCK_OPT_TIMESTAMPS), "TIME_WAIT timestamps");
		if (opts & FERRY_SOCK_OPT_TIMESTAMPS) {
			CHECK_EQ(tw->ts_offset, tsoff, "TIME_WAIT ts_offset");
			CHECK(tw->ts_recent != 0, "TIME_WAIT ts_recent is 0");
		}
		CHECK_EQ(tw->inode, 0, "TIME_WAIT inode");
	}
	ferry_tcp_dump_free(&dn);
}

static void sc_listen(struct conn *k)
{
	struct ferry_tcp_dump d, dn;
	struct ferry_tcp_sock *l, *ch;
	int cl[3], sv[3];
	uint64_t wr[3] = { 0 };
	uint16_t cp[3];

	mklistener(k, 8);
	for (int i = 0; i < 3; i++) {
		cl[i] = mkclient(k, 0);
		cp[i] = tc_local_port(cl[i]);
		tc_write_pat(cl[i], 0, &wr[i], 1000 * (size_t)(i + 1));
	}
	tc_msleep(500);
	dump_self(&d, 0);
	l = by_fd(&d, k->l);
	CHECK_EQ(l->state, TCP_LISTEN, "listener state");
	CHECK_EQ(l->backlog, 8, "listen backlog");
	CHECK_EQ(l->accept_qlen, 3, "accept queue length");
	for (int i = 0; i < 3; i++) {
		ch = by_ports(&d, k->port, cp[i], -1);
		CHECK(ch != NULL, "pending child %d not exported in tree mode", i);
		if (!ch)
			continue;
		CHECK_EQ(ch->state, TCP_ESTABLISHED, "child state");
		CHECK(ch->accept_pending, "child %d: ACCEPT_PENDING missing", i);
		CHECK_EQ(ch->listener, l->cookie, "child's listener cookie");
		CHECK(ferry_tcp_data_complete(ch), "child %d data incomplete", i);
		CHECK_EQ(ch->recvq.len, wr[i], "child receive queue bytes vs written");
		CHECK_EQ(tc_match(ch->recvq.buf, 0, 0, ch->recvq.len), ch->recvq.len,
			 "child receive queue bytes match the stream");
	}
	tc_setns("fb");
	dump_self(&dn, FERRY_TCP_F_NETNS);
	for (int i = 0; i < 3; i++) {
		ch = by_ports(&dn, k->port, cp[i], -1);
		CHECK(ch != NULL && ch->accept_pending && ch->listener == l->cookie,
		      "netns mode: child %d missing or not marked pending", i);
	}
	CHECK(by_ports(&dn, k->port, 0, TCP_LISTEN) != NULL, "netns mode: listener missing");
	save_json();
	/* Accept them and compare with what the export said. */
	for (int i = 0; i < 3; i++) {
		struct tc_repair r;
		int v;

		sv[i] = accept(k->l, NULL, NULL);
		if (sv[i] < 0)
			DIE("accept: %s", strerror(errno));
		{
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			uint16_t peer;

			if (getpeername(sv[i], (struct sockaddr *)&ss, &sl) < 0)
				DIE("getpeername: %s", strerror(errno));
			peer = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
							     : ((struct sockaddr_in6 *)&ss)->sin6_port);
			ch = by_ports(&d, k->port, peer, -1);
		}
		CHECK(ch != NULL, "accepted socket not in the export");
		if (!ch)
			continue;
		tc_repair_read(sv[i], &r);
		CHECK_EQ(ch->rcv_nxt, r.recv_seq, "accepted: rcv_nxt");
		CHECK_EQ(ch->write_seq, r.send_seq, "accepted: write_seq");
		if (ioctl(sv[i], SIOCINQ, &v) == 0)
			CHECK_EQ(ch->recvq.len, v, "accepted: SIOCINQ");
		tc_repair_free(&r);
	}
	ferry_tcp_dump_free(&d);
	ferry_tcp_dump_free(&dn);
}

int main(int argc, char **argv)
{
	struct conn k = { .l = -1, .c = -1, .s = -1 };
	const char *sc;

	if (argc != 3 || (strcmp(argv[2], "4") && strcmp(argv[2], "6"))) {
		fprintf(stderr, "usage: tcp_check SCENARIO 4|6\n");
		return 2;
	}
	sc = argv[1];
	k.family = argv[2][0] == '4' ? AF_INET : AF_INET6;
	k.port = (uint16_t)(5000 + (getpid() % 1000));
	if (!strcmp(sc, "established"))
		sc_established(&k);
	else if (!strcmp(sc, "finwait1"))
		sc_finwait1(&k);
	else if (!strcmp(sc, "fin"))
		sc_fin(&k);
	else if (!strcmp(sc, "closing"))
		sc_closing(&k);
	else if (!strcmp(sc, "syn"))
		sc_syn(&k);
	else if (!strcmp(sc, "timewait"))
		sc_timewait(&k);
	else if (!strcmp(sc, "listen"))
		sc_listen(&k);
	else if (!strcmp(sc, "closed"))
		sc_closed(&k);
	else if (!strcmp(sc, "fastopen"))
		sc_fastopen(&k);
	else if (!strcmp(sc, "orphan"))
		sc_orphan(&k);
	else if (!strcmp(sc, "simopen"))
		sc_simopen(&k);
	else if (!strcmp(sc, "partial"))
		sc_partial(&k);
	else
		DIE("unknown scenario %s", sc);
	printf("%s IPv%s: %s (%d failed checks)\n", sc, argv[2], tc_failures ? "FAIL" : "ok",
	       tc_failures);
	return tc_failures ? 1 : 0;
}
