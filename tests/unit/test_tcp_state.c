// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/tcp/tcp_state.c: TCP_DUMP parsing and queue reassembly. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/genetlink.h>
#include <cmocka.h>
#include "tcp_state.h"

enum { ST_ESTABLISHED = 1, ST_SYN_SENT = 2, ST_SYN_RECV = 3, ST_FIN_WAIT1 = 4, ST_FIN_WAIT2 = 5,
       ST_TIME_WAIT = 6, ST_CLOSE = 7, ST_CLOSE_WAIT = 8, ST_LAST_ACK = 9, ST_LISTEN = 10,
       ST_CLOSING = 11 };

static char msgbuf[65536];

static struct nlmsghdr *new_msg(void)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(msgbuf);
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));

	g->cmd = FERRY_CMD_TCP_DUMP;
	return nlh;
}

struct sk_spec {
	uint64_t cookie;
	uint8_t state, family;
	uint32_t snd_una, snd_nxt, write_seq, rcv_nxt, copied_seq;
	int full;	/* emit SND_WL1 like a full socket */
};

static void put_sock(struct nlmsghdr *nlh, const struct sk_spec *sp)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, FERRY_TCP_A_SOCK);
	uint8_t a4[4] = { 10, 0, 0, 1 }, b4[4] = { 10, 0, 0, 2 };

	mnl_attr_put_u64(nlh, FERRY_SOCK_A_COOKIE, sp->cookie);
	mnl_attr_put_u8(nlh, FERRY_SOCK_A_FAMILY, sp->family ? sp->family : AF_INET);
	mnl_attr_put_u8(nlh, FERRY_SOCK_A_STATE, sp->state);
	mnl_attr_put(nlh, FERRY_SOCK_A_SRC, 4, a4);
	mnl_attr_put(nlh, FERRY_SOCK_A_DST, 4, b4);
	mnl_attr_put_u16(nlh, FERRY_SOCK_A_SPORT, 1234);
	mnl_attr_put_u16(nlh, FERRY_SOCK_A_DPORT, 80);
	mnl_attr_put_u32(nlh, FERRY_SOCK_A_SND_UNA, sp->snd_una);
	mnl_attr_put_u32(nlh, FERRY_SOCK_A_SND_NXT, sp->snd_nxt);
	mnl_attr_put_u32(nlh, FERRY_SOCK_A_WRITE_SEQ, sp->write_seq);
	mnl_attr_put_u32(nlh, FERRY_SOCK_A_RCV_NXT, sp->rcv_nxt);
	mnl_attr_put_u32(nlh, FERRY_SOCK_A_COPIED_SEQ, sp->copied_seq);
	if (sp->full)
		mnl_attr_put_u32(nlh, FERRY_SOCK_A_SND_WL1, sp->rcv_nxt);
	mnl_attr_put_u16(nlh, FERRY_SOCK_A_MSS_CLAMP, 1460);
	mnl_attr_put_u32(nlh, FERRY_SOCK_A_OPTIONS, FERRY_SOCK_OPT_SACK | FERRY_SOCK_OPT_TIMESTAMPS);
	/* An attribute from a newer module: must be ignored. */
	mnl_attr_put_u32(nlh, FERRY_SOCK_A_MAX + 5, 7);
	mnl_attr_nest_end(nlh, n);
}

static void put_data(struct nlmsghdr *nlh, uint64_t cookie, uint8_t queue, uint32_t off,
		     const void *buf, uint32_t len, int gone)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, FERRY_TCP_A_DATA);

	mnl_attr_put_u64(nlh, FERRY_QDATA_A_COOKIE, cookie);
	mnl_attr_put_u8(nlh, FERRY_QDATA_A_QUEUE, queue);
	mnl_attr_put_u32(nlh, FERRY_QDATA_A_OFFSET, off);
	if (gone)
		mnl_attr_put(nlh, FERRY_QDATA_A_GONE, 0, NULL);
	else
		mnl_attr_put(nlh, FERRY_QDATA_A_BYTES, len, buf);
	mnl_attr_nest_end(nlh, n);
}

static const struct sk_spec est = {
	.cookie = 42, .state = ST_ESTABLISHED, .snd_una = 0xfffffff0u, .snd_nxt = 0x10,
	.write_seq = 0x30, .rcv_nxt = 1000, .copied_seq = 900, .full = 1,
};

static void test_parse_sock(void **state)
{
	struct ferry_tcp_dump d = { 0 };
	struct nlmsghdr *nlh = new_msg();
	struct ferry_tcp_sock *s;

	(void)state;
	put_sock(nlh, &est);
	assert_int_equal(ferry_tcp_parse_msg(&d, nlh), 0);
	assert_int_equal(d.n, 1);
	s = &d.socks[0];
	assert_int_equal(s->cookie, 42);
	assert_int_equal(s->state, ST_ESTABLISHED);
	assert_int_equal(s->snd_una, 0xfffffff0u);
	assert_int_equal(s->mss_clamp, 1460);
	assert_int_equal(s->src[3], 1);
	assert_int_equal(s->dport, 80);
	assert_true(ferry_tcp_has(s, FERRY_SOCK_A_COPIED_SEQ));
	assert_false(ferry_tcp_has(s, FERRY_SOCK_A_PID));
	/* Wrapped sequence space: 0x40 bytes in the send queue, 0x20 unsent. */
	assert_int_equal(ferry_tcp_sendq_expected(s), 0x40);
	assert_int_equal(ferry_tcp_sendq_unsent(s), 0x20);
	assert_int_equal(ferry_tcp_recvq_expected(s), 100);
	ferry_tcp_dump_free(&d);
}

static void test_parse_rejects(void **state)
{
	struct ferry_tcp_dump d = { 0 };
	struct nlmsghdr *nlh = new_msg();
	struct nlattr *n;

	(void)state;
	/* No cookie. */
	n = mnl_attr_nest_start(nlh, FERRY_TCP_A_SOCK);
	mnl_attr_put_u8(nlh, FERRY_SOCK_A_STATE, 1);
	mnl_attr_put_u8(nlh, FERRY_SOCK_A_FAMILY, AF_INET);
	mnl_attr_nest_end(nlh, n);
	assert_int_equal(ferry_tcp_parse_msg(&d, nlh), -EPROTO);
	ferry_tcp_dump_free(&d);

	/* Wrong attribute size. */
	nlh = new_msg();
	n = mnl_attr_nest_start(nlh, FERRY_TCP_A_SOCK);
	mnl_attr_put_u64(nlh, FERRY_SOCK_A_COOKIE, 1);
	mnl_attr_put_u16(nlh, FERRY_SOCK_A_SND_UNA, 1);
	mnl_attr_nest_end(nlh, n);
	assert_int_equal(ferry_tcp_parse_msg(&d, nlh), -EPROTO);
	ferry_tcp_dump_free(&d);

	/* Data for a socket that was never announced. */
	nlh = new_msg();
	put_data(nlh, 99, FERRY_TCP_QUEUE_RECV, 0, "x", 1, 0);
	assert_int_equal(ferry_tcp_parse_msg(&d, nlh), -EPROTO);
	ferry_tcp_dump_free(&d);
}

static void test_reassembly(void **state)
{
	struct ferry_tcp_dump d = { 0 };
	uint8_t send[0x40], recv[100];
	struct nlmsghdr *nlh;
	struct ferry_tcp_sock *s;

	(void)state;
	for (size_t i = 0; i < sizeof(send); i++)
		send[i] = (uint8_t)(i * 7);
	for (size_t i = 0; i < sizeof(recv); i++)
		recv[i] = (uint8_t)(i * 13 + 1);
	/* Header and first chunks in one message, the rest in the next two
	 * (as the kernel splits a socket across messages). */
	nlh = new_msg();
	put_sock(nlh, &est);
	put_data(nlh, 42, FERRY_TCP_QUEUE_SEND, 0, send, 10, 0);
	assert_int_equal(ferry_tcp_parse_msg(&d, nlh), 0);
	nlh = new_msg();
	put_data(nlh, 42, FERRY_TCP_QUEUE_SEND, 10, send + 10, 0x40 - 10, 0);
	put_data(nlh, 42, FERRY_TCP_QUEUE_RECV, 0, recv, 60, 0);
	assert_int_equal(ferry_tcp_parse_msg(&d, nlh), 0);
	s = &d.socks[0];
	assert_false(ferry_tcp_data_complete(s));
	nlh = new_msg();
	put_data(nlh, 42, FERRY_TCP_QUEUE_RECV, 60, recv + 60, 40, 0);
	assert_int_equal(ferry_tcp_parse_msg(&d, nlh), 0);
	s = &d.socks[0];
	assert_true(ferry_tcp_data_complete(s));
	assert_int_equal(s->sendq.len, 0x40);
	assert_memory_equal(s->sendq.buf, send, sizeof(send));
	assert_memory_equal(s->recvq.buf, recv, sizeof(recv));
	assert_int_equal(d.data_bytes, 0x40 + 100);
	ferry_tcp_dump_free(&d);
}

static void test_reassembly_errors(void **state)
{
	struct ferry_tcp_dump d = { 0 };
	uint8_t buf[200] = { 0 };
	struct nlmsghdr *nlh;

	(void)state;
	/* A gap. */
	nlh = new_msg();
	put_sock(nlh, &est);
	put_data(nlh, 42, FERRY_TCP_QUEUE_RECV, 0, buf, 10, 0);
	put_data(nlh, 42, FERRY_TCP_QUEUE_RECV, 11, buf, 10, 0);
	assert_int_equal(ferry_tcp_parse_msg(&d, nlh), -EPROTO);
	ferry_tcp_dump_free(&d);
	/* An overlap. */
	nlh = new_msg();
	put_sock(nlh, &est);
	put_data(nlh, 42, FERRY_TCP_QUEUE_RECV, 0, buf, 10, 0);
	put_data(nlh, 42, FERRY_TCP_QUEUE_RECV, 5, buf, 10, 0);
	assert_int_equal(ferry_tcp_parse_msg(&d, nlh), -EPROTO);
	ferry_tcp_dump_free(&d);
	/* More bytes than the snapshot's range. */
	nlh = new_msg();
	put_sock(nlh, &est);
	put_data(nlh, 42, FERRY_TCP_QUEUE_RECV, 0, buf, 101, 0);
	assert_int_equal(ferry_tcp_parse_msg(&d, nlh), -EPROTO);
	ferry_tcp_dump_free(&d);
	/* Unknown queue. */
	nlh = new_msg();
	put_sock(nlh, &est);
	put_data(nlh, 42, 3, 0, buf, 1, 0);
	assert_int_equal(ferry_tcp_parse_msg(&d, nlh), -EPROTO);
	ferry_tcp_dump_free(&d);
}

static void test_gone(void **state)
{
	struct ferry_tcp_dump d = { 0 };
	uint8_t buf[16] = { 0 };
	struct nlmsghdr *nlh = new_msg();
	struct ferry_tcp_sock *s;

	(void)state;
	put_sock(nlh, &est);
	put_data(nlh, 42, FERRY_TCP_QUEUE_SEND, 0, buf, 16, 0);
	put_data(nlh, 42, FERRY_TCP_QUEUE_SEND, 16, NULL, 0, 1);
	assert_int_equal(ferry_tcp_parse_msg(&d, nlh), 0);
	s = &d.socks[0];
	assert_true(s->sendq.gone);
	assert_false(ferry_tcp_data_complete(s));
	/* Nothing may follow a GONE marker for that queue. */
	nlh = new_msg();
	put_data(nlh, 42, FERRY_TCP_QUEUE_SEND, 16, buf, 1, 0);
	assert_int_equal(ferry_tcp_parse_msg(&d, nlh), -EPROTO);
	ferry_tcp_dump_free(&d);
}

static void test_expected_by_state(void **state)
{
	struct ferry_tcp_sock s;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.present = 1ULL << FERRY_SOCK_A_SND_WL1;
	s.snd_una = 100, s.snd_nxt = 150, s.write_seq = 201, s.copied_seq = 10, s.rcv_nxt = 31;
	s.state = ST_FIN_WAIT1;		/* FIN queued: 100 bytes + FIN */
	assert_int_equal(ferry_tcp_sendq_expected(&s), 100);
	assert_int_equal(ferry_tcp_recvq_expected(&s), 21);
	assert_int_equal(ferry_tcp_sendq_unsent(&s), 50);
	s.state = ST_CLOSE_WAIT;	/* FIN received: 20 bytes + FIN */
	assert_int_equal(ferry_tcp_recvq_expected(&s), 20);
	assert_int_equal(ferry_tcp_sendq_expected(&s), 101);
	s.state = ST_CLOSING;
	assert_int_equal(ferry_tcp_sendq_expected(&s), 100);
	assert_int_equal(ferry_tcp_recvq_expected(&s), 20);
	s.state = ST_LAST_ACK;
	assert_int_equal(ferry_tcp_sendq_expected(&s), 100);
	assert_int_equal(ferry_tcp_recvq_expected(&s), 20);
	s.state = ST_LISTEN;
	assert_int_equal(ferry_tcp_sendq_expected(&s), 0);
	s.state = ST_CLOSE;
	assert_int_equal(ferry_tcp_recvq_expected(&s), 0);
	/* The app read the FIN already: nothing left, never negative. */
	s.state = ST_CLOSE_WAIT;
	s.copied_seq = 31;
	assert_int_equal(ferry_tcp_recvq_expected(&s), 0);
	/* SYN_SENT: write_seq = snd_una + 1 (the SYN) and no bytes. */
	s.state = ST_SYN_SENT;
	s.snd_una = 5, s.snd_nxt = 6, s.write_seq = 6;
	assert_int_equal(ferry_tcp_sendq_expected(&s), 0);
	/* Timewait sockets (no SND_WL1) carry no queues. */
	s.present = 0;
	s.state = ST_TIME_WAIT;
	assert_int_equal(ferry_tcp_sendq_expected(&s), 0);
	assert_int_equal(ferry_tcp_recvq_expected(&s), 0);
	assert_int_equal(ST_FIN_WAIT2, ferry_tcp_state_from_name("FIN_WAIT2"));
}

/* FERRY_TCP_F_SEQ_MARKS: the module's marks decide, not the state. */
static void test_expected_by_marks(void **state)
{
	struct ferry_tcp_sock s;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.present = 1ULL << FERRY_SOCK_A_SND_WL1;
	s.options = FERRY_SOCK_OPT_SEQ_MARKED;
	/* A Fast Open child in SYN_RECV: snd_una is its first data byte. */
	s.state = ST_SYN_RECV;
	s.snd_una = 1001, s.snd_nxt = 4001, s.write_seq = 4001, s.copied_seq = 7, s.rcv_nxt = 1007;
	assert_false(ferry_tcp_syn_unacked(&s));
	assert_int_equal(ferry_tcp_sendq_expected(&s), 3000);
	assert_int_equal(ferry_tcp_sendq_unsent(&s), 0);
	assert_int_equal(ferry_tcp_recvq_expected(&s), 1000);
	/* Unmarked (an older module): the state's rule, one byte less. */
	s.options = 0;
	assert_true(ferry_tcp_syn_unacked(&s));
	assert_int_equal(ferry_tcp_sendq_expected(&s), 2999);
	/* FIN_WAIT1 from a simultaneous open: SYN, then FIN, no byte. */
	s.options = FERRY_SOCK_OPT_SEQ_MARKED | FERRY_SOCK_OPT_SYN_UNACKED | FERRY_SOCK_OPT_FIN_QUEUED;
	s.state = ST_FIN_WAIT1;
	s.snd_una = 5, s.snd_nxt = 7, s.write_seq = 7;
	assert_int_equal(ferry_tcp_sendq_expected(&s), 0);
	/* CLOSE with unread bytes: after a reset (no FIN), after a FIN. */
	s.state = ST_CLOSE;
	s.options = FERRY_SOCK_OPT_SEQ_MARKED;
	s.snd_una = 7, s.write_seq = 9;		/* purged by the reset */
	s.copied_seq = 100, s.rcv_nxt = 160;
	assert_int_equal(ferry_tcp_sendq_expected(&s), 0);
	assert_int_equal(ferry_tcp_recvq_expected(&s), 60);
	s.options |= FERRY_SOCK_OPT_FIN_UNREAD;
	assert_int_equal(ferry_tcp_recvq_expected(&s), 59);
	/* CLOSE_WAIT whose FIN the application read: no mark, no bytes. */
	s.state = ST_CLOSE_WAIT;
	s.options = FERRY_SOCK_OPT_SEQ_MARKED;
	s.copied_seq = 160;
	assert_int_equal(ferry_tcp_recvq_expected(&s), 0);
	/* An orphan (closed by its application): nothing, whatever the
	 * stale copied_seq says. */
	s.options = FERRY_SOCK_OPT_SEQ_MARKED | FERRY_SOCK_OPT_ORPHAN;
	s.state = ST_LAST_ACK;
	s.copied_seq = 100;
	assert_int_equal(ferry_tcp_recvq_expected(&s), 0);
	/* FIN_WAIT1 whose FIN could not be queued: every byte counts. */
	s.options = FERRY_SOCK_OPT_SEQ_MARKED;
	s.state = ST_FIN_WAIT1;
	s.snd_una = 10, s.snd_nxt = 20, s.write_seq = 30;
	assert_int_equal(ferry_tcp_sendq_expected(&s), 20);
	s.options |= FERRY_SOCK_OPT_FIN_QUEUED;
	assert_int_equal(ferry_tcp_sendq_expected(&s), 19);
	/* TCP_FASTOPEN_CONNECT before its SYN: snd_una unset, nothing. */
	s.options = FERRY_SOCK_OPT_SEQ_MARKED;
	s.state = ST_SYN_SENT;
	s.snd_una = 0, s.snd_nxt = 0, s.write_seq = 123456;
	assert_int_equal(ferry_tcp_sendq_expected(&s), 0);
	/* Unmarked CLOSE: nothing, as before. */
	s.state = ST_CLOSE;
	s.options = 0;
	s.copied_seq = 100;
	assert_int_equal(ferry_tcp_recvq_expected(&s), 0);
}

static void test_names(void **state)
{
	char buf[80];
	uint8_t a6[16] = { 0xfd, 0, [15] = 1 }, a4[4] = { 192, 0, 2, 7 };

	(void)state;
	for (int st = 1; st <= 11; st++)
		assert_int_equal(ferry_tcp_state_from_name(ferry_tcp_state_name((unsigned)st)), st);
	assert_string_equal(ferry_tcp_state_name(6), "TIME_WAIT");
	assert_string_equal(ferry_tcp_state_name(200), "UNKNOWN");
	assert_int_equal(ferry_tcp_state_from_name("nope"), -1);
	ferry_tcp_fmt_addr(buf, sizeof(buf), AF_INET6, a6, 443);
	assert_string_equal(buf, "[fd00::1]:443");
	ferry_tcp_fmt_addr(buf, sizeof(buf), AF_INET, a4, 80);
	assert_string_equal(buf, "192.0.2.7:80");
}

static void test_queue_put(void **state)
{
	struct ferry_tcp_qbuf q = { 0 };
	uint8_t big[10000];

	(void)state;
	memset(big, 0xab, sizeof(big));
	assert_int_equal(ferry_tcp_queue_put(&q, 0, big, 5000, 10000), 0);
	assert_int_equal(ferry_tcp_queue_put(&q, 5000, big, 5000, 10000), 0);
	assert_int_equal(q.len, 10000);
	assert_int_equal(ferry_tcp_queue_put(&q, 10000, big, 1, 10000), -EPROTO);
	/* len + offset overflow must not wrap around the bound. */
	assert_int_equal(ferry_tcp_queue_put(&q, 10000, big, 0xffffffffu, 10000), -EPROTO);
	free(q.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_sock),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_reassembly),
		cmocka_unit_test(test_reassembly_errors),
		cmocka_unit_test(test_gone),
		cmocka_unit_test(test_expected_by_state),
		cmocka_unit_test(test_expected_by_marks),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_queue_put),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
