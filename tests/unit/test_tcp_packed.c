// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests for the packed TCP_DUMP encoding in user/tcp/tcp_state.c:
 * struct ferry_tcp_sock_packed records (with inline queue bytes) and
 * FERRY_TCP_A_QCHUNK continuations -- decoding, versioning (short, newer
 * and longer records) and the rejection of malformed ones.
 */
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

enum { ST_ESTABLISHED = 1, ST_SYN_SENT = 2, ST_TIME_WAIT = 6, ST_LISTEN = 10 };

#define P(a) (1ULL << FERRY_SOCK_A_##a)
/* What the module sets for a full socket. */
#define FULL_PRESENT (P(COOKIE) | P(FAMILY) | P(STATE) | P(SRC) | P(DST) | P(SPORT) | \
		      P(DPORT) | P(BOUND_DEV) | P(INODE) | P(SND_UNA) | P(SND_NXT) | \
		      P(WRITE_SEQ) | P(RCV_NXT) | P(COPIED_SEQ) | P(SNDQ_BYTES) | \
		      P(UNSENT_BYTES) | P(RCVQ_BYTES) | P(SND_WL1) | P(SND_WND) | \
		      P(MAX_WINDOW) | P(RCV_WND) | P(RCV_WUP) | P(MSS_CLAMP) | P(MSS_CACHE) | \
		      P(SND_WSCALE) | P(RCV_WSCALE) | P(OPTIONS) | P(TS_OFFSET) | P(TS_RECENT) | \
		      P(TS_RECENT_STAMP) | P(TS_NOW) | P(KEEPIDLE) | P(KEEPINTVL) | P(KEEPCNT) | \
		      P(USER_TIMEOUT) | P(PID) | P(FD))

static uint8_t buf[4096];

/* An ESTABLISHED IPv4 socket with 10 bytes in the send queue and 6 in the
 * receive queue (none inline). */
static struct ferry_tcp_sock_packed est(void)
{
	struct ferry_tcp_sock_packed r;

	memset(&r, 0, sizeof(r));
	r.size = sizeof(r);
	r.version = FERRY_TCP_PACKED_VERSION;
	r.present = FULL_PRESENT;
	r.cookie = 0x1122334455667788ULL;
	r.inode = 4242;
	r.pid = 77;
	r.fd = 5;
	r.family = AF_INET;
	r.state = ST_ESTABLISHED;
	memcpy(r.src, "\x0a\x00\x00\x01", 4);
	memcpy(r.dst, "\x0a\x00\x00\x02", 4);
	r.sport = 40000;
	r.dport = 80;
	r.snd_una = 0xfffffffa;	/* wraps */
	r.snd_nxt = 0xfffffffe;
	r.write_seq = 4;
	r.rcv_nxt = 1006;
	r.copied_seq = 1000;
	r.snd_wl1 = 999;
	r.snd_wnd = 65535;
	r.max_window = 65535;
	r.rcv_wnd = 43690;
	r.rcv_wup = 1000;
	r.mss_clamp = 1460;
	r.mss_cache = 1448;
	r.snd_wscale = 7;
	r.rcv_wscale = 8;
	r.options = FERRY_SOCK_OPT_SACK | FERRY_SOCK_OPT_TIMESTAMPS | FERRY_SOCK_OPT_WSCALE;
	r.ts_offset = 123;
	r.ts_recent = 456;
	r.ts_now = 789;
	r.keepidle = 7200;
	r.keepintvl = 75;
	r.keepcnt = 9;
	r.user_timeout = 1000;
	r.sndq_bytes = 10;
	r.unsent_bytes = 6;
	r.rcvq_bytes = 6;
	return r;
}

/* Record (written with `size` bytes of struct, the tail zero) + bytes. */
static size_t put_rec(const struct ferry_tcp_sock_packed *r, size_t size, const void *bytes,
		      size_t nbytes)
{
	memset(buf, 0, sizeof(buf));
	memcpy(buf, r, size < sizeof(*r) ? size : sizeof(*r));
	memcpy(buf + size, bytes, nbytes);
	return size + nbytes;
}

static size_t put_chunk(uint8_t *out, uint64_t cookie, uint8_t queue, uint32_t off,
			uint8_t flags, const void *bytes, size_t n)
{
	struct ferry_tcp_qchunk h = { .cookie = cookie, .offset = off, .queue = queue,
				      .flags = flags };

	memcpy(out, &h, sizeof(h));
	memcpy(out + sizeof(h), bytes, n);
	return sizeof(h) + n;
}

static void test_layout(void **state)
{
	(void)state;
	/* Fixed ABI: size, 8-byte multiple, field offsets. */
	assert_int_equal(sizeof(struct ferry_tcp_sock_packed), FERRY_TCP_PACKED_SIZE_V1);
	assert_int_equal(FERRY_TCP_PACKED_SIZE_V1 % 8, 0);
	assert_int_equal(offsetof(struct ferry_tcp_sock_packed, present), 16);
	assert_int_equal(offsetof(struct ferry_tcp_sock_packed, cookie), 24);
	assert_int_equal(offsetof(struct ferry_tcp_sock_packed, snd_una), 96);
	assert_int_equal(offsetof(struct ferry_tcp_sock_packed, reserved1), 204);
	assert_int_equal(sizeof(struct ferry_tcp_qchunk), 16);
}

static void test_decode_inline(void **state)
{
	struct ferry_tcp_sock_packed r = est();
	struct ferry_tcp_dump d = { .flags = FERRY_TCP_F_DATA | FERRY_TCP_F_PACKED };
	const struct ferry_tcp_sock *s;
	size_t len;

	(void)state;
	r.snd_inline = 10;
	r.rcv_inline = 6;
	len = put_rec(&r, sizeof(r), "0123456789abcdef", 16);
	assert_int_equal(ferry_tcp_parse_packed(&d, buf, len), 0);
	assert_int_equal(d.n, 1);
	s = &d.socks[0];
	assert_true(s->cookie == r.cookie);
	assert_int_equal(s->inode, 4242);
	assert_int_equal(s->pid, 77);
	assert_int_equal(s->fd, 5);
	assert_int_equal(s->family, AF_INET);
	assert_int_equal(s->state, ST_ESTABLISHED);
	assert_memory_equal(s->src, "\x0a\x00\x00\x01", 4);
	assert_memory_equal(s->dst, "\x0a\x00\x00\x02", 4);
	assert_int_equal(s->sport, 40000);
	assert_int_equal(s->dport, 80);
	assert_int_equal(s->snd_una, 0xfffffffa);
	assert_int_equal(s->write_seq, 4);
	assert_int_equal(s->copied_seq, 1000);
	assert_int_equal(s->rcv_wnd, 43690);
	assert_int_equal(s->mss_clamp, 1460);
	assert_int_equal(s->mss_cache, 1448);
	assert_int_equal(s->snd_wscale, 7);
	assert_int_equal(s->rcv_wscale, 8);
	assert_int_equal(s->ts_now, 789);
	assert_int_equal(s->keepcnt, 9);
	assert_int_equal(s->user_timeout, 1000);
	assert_true(ferry_tcp_has(s, FERRY_SOCK_A_SND_WL1));
	assert_true(ferry_tcp_has(s, FERRY_SOCK_A_FD));
	assert_false(ferry_tcp_has(s, FERRY_SOCK_A_LISTENER));
	assert_false(ferry_tcp_has(s, FERRY_SOCK_A_TW_TIMEOUT_MS));
	assert_false(s->accept_pending);
	assert_int_equal(s->sendq.len, 10);
	assert_memory_equal(s->sendq.buf, "0123456789", 10);
	assert_int_equal(s->recvq.len, 6);
	assert_memory_equal(s->recvq.buf, "abcdef", 6);
	assert_true(ferry_tcp_data_complete(s));
	assert_int_equal(d.data_bytes, 16);
	ferry_tcp_dump_free(&d);
}

/* Part of the send queue inline, the rest and the receive queue in
 * QCHUNKs; a GONE chunk ends a queue. */
static void test_chunks(void **state)
{
	struct ferry_tcp_sock_packed r = est();
	struct ferry_tcp_dump d = { .flags = FERRY_TCP_F_DATA | FERRY_TCP_F_PACKED };
	uint8_t c[64];
	size_t len;

	(void)state;
	r.snd_inline = 4;
	len = put_rec(&r, sizeof(r), "0123", 4);
	assert_int_equal(ferry_tcp_parse_packed(&d, buf, len), 0);
	assert_int_equal(d.socks[0].sendq.len, 4);
	/* Out of order: rejected. */
	len = put_chunk(c, r.cookie, FERRY_TCP_QUEUE_SEND, 5, 0, "56789", 5);
	assert_int_equal(ferry_tcp_parse_qchunk(&d, c, len), -EPROTO);
	len = put_chunk(c, r.cookie, FERRY_TCP_QUEUE_SEND, 4, 0, "456789", 6);
	assert_int_equal(ferry_tcp_parse_qchunk(&d, c, len), 0);
	/* More than the snapshot's range: rejected. */
	len = put_chunk(c, r.cookie, FERRY_TCP_QUEUE_SEND, 10, 0, "x", 1);
	assert_int_equal(ferry_tcp_parse_qchunk(&d, c, len), -EPROTO);
	len = put_chunk(c, r.cookie, FERRY_TCP_QUEUE_RECV, 0, 0, "abc", 3);
	assert_int_equal(ferry_tcp_parse_qchunk(&d, c, len), 0);
	assert_false(ferry_tcp_data_complete(&d.socks[0]));
	len = put_chunk(c, r.cookie, FERRY_TCP_QUEUE_RECV, 3, FERRY_TCP_QCHUNK_F_GONE, NULL, 0);
	assert_int_equal(ferry_tcp_parse_qchunk(&d, c, len), 0);
	assert_memory_equal(d.socks[0].sendq.buf, "0123456789", 10);
	assert_true(d.socks[0].recvq.gone);
	assert_false(ferry_tcp_data_complete(&d.socks[0]));
	/* Malformed chunks: unknown socket, unknown queue, too short, GONE
	 * with bytes, data without bytes. */
	len = put_chunk(c, 999, FERRY_TCP_QUEUE_SEND, 0, 0, "x", 1);
	assert_int_equal(ferry_tcp_parse_qchunk(&d, c, len), -EPROTO);
	len = put_chunk(c, r.cookie, 7, 0, 0, "x", 1);
	assert_int_equal(ferry_tcp_parse_qchunk(&d, c, len), -EPROTO);
	assert_int_equal(ferry_tcp_parse_qchunk(&d, c, sizeof(struct ferry_tcp_qchunk) - 1),
			 -EPROTO);
	len = put_chunk(c, r.cookie, FERRY_TCP_QUEUE_SEND, 0, FERRY_TCP_QCHUNK_F_GONE, "x", 1);
	assert_int_equal(ferry_tcp_parse_qchunk(&d, c, len), -EPROTO);
	len = put_chunk(c, r.cookie, FERRY_TCP_QUEUE_SEND, 10, 0, NULL, 0);
	assert_int_equal(ferry_tcp_parse_qchunk(&d, c, len), -EPROTO);
	ferry_tcp_dump_free(&d);
}

/* An unacked SYN: inline bytes start after it; chunk offsets count it. */
static void test_syn_offsets(void **state)
{
	struct ferry_tcp_sock_packed r = est();
	struct ferry_tcp_dump d = { .flags = FERRY_TCP_F_DATA | FERRY_TCP_F_PACKED };
	uint8_t c[64];
	size_t len;

	(void)state;
	r.state = ST_SYN_SENT;
	r.snd_una = 100;
	r.snd_nxt = 101;
	r.write_seq = 106;	/* SYN + 5 bytes */
	r.rcv_nxt = r.copied_seq = 0;
	r.snd_inline = 2;
	len = put_rec(&r, sizeof(r), "ab", 2);
	assert_int_equal(ferry_tcp_parse_packed(&d, buf, len), 0);
	assert_int_equal(ferry_tcp_sendq_expected(&d.socks[0]), 5);
	len = put_chunk(c, r.cookie, FERRY_TCP_QUEUE_SEND, 0, 0, "c", 1);
	assert_int_equal(ferry_tcp_parse_qchunk(&d, c, len), -EPROTO);	/* the SYN */
	len = put_chunk(c, r.cookie, FERRY_TCP_QUEUE_SEND, 3, 0, "cde", 3);
	assert_int_equal(ferry_tcp_parse_qchunk(&d, c, len), 0);
	assert_memory_equal(d.socks[0].sendq.buf, "abcde", 5);
	assert_true(ferry_tcp_data_complete(&d.socks[0]));
	ferry_tcp_dump_free(&d);
}

/* A newer module's longer record: known fields read, the unknown tail
 * and unknown presence bits ignored, inline bytes found after `size`. */
static void test_newer_version(void **state)
{
	struct ferry_tcp_sock_packed r = est();
	struct ferry_tcp_dump d = { .flags = FERRY_TCP_F_DATA | FERRY_TCP_F_PACKED };
	size_t size = sizeof(r) + 16, len;

	(void)state;
	r.size = (uint16_t)size;
	r.version = FERRY_TCP_PACKED_VERSION + 1;
	r.present |= 1ULL << 62;	/* a field we do not know */
	r.snd_inline = 10;
	r.rcv_inline = 6;
	len = put_rec(&r, size, "0123456789abcdef", 16);
	memset(buf + sizeof(r), 0xee, 16);	/* the new fields */
	assert_int_equal(ferry_tcp_parse_packed(&d, buf, len), 0);
	assert_int_equal(d.n, 1);
	assert_false(d.socks[0].present & (1ULL << 62));
	assert_int_equal(d.socks[0].user_timeout, 1000);
	assert_memory_equal(d.socks[0].sendq.buf, "0123456789", 10);
	assert_memory_equal(d.socks[0].recvq.buf, "abcdef", 6);
	ferry_tcp_dump_free(&d);
}

static void test_rejects(void **state)
{
	struct ferry_tcp_sock_packed r = est();
	struct ferry_tcp_dump d = { .flags = FERRY_TCP_F_DATA | FERRY_TCP_F_PACKED };
	size_t len;

	(void)state;
	/* Shorter than version 1, by size field or by payload. */
	r.size = FERRY_TCP_PACKED_SIZE_V1 - 8;
	len = put_rec(&r, r.size, NULL, 0);
	assert_int_equal(ferry_tcp_parse_packed(&d, buf, len), -EPROTO);
	r = est();
	len = put_rec(&r, sizeof(r), NULL, 0);
	assert_int_equal(ferry_tcp_parse_packed(&d, buf, len - 1), -EPROTO);
	assert_int_equal(ferry_tcp_parse_packed(&d, buf, 1), -EPROTO);
	assert_int_equal(ferry_tcp_parse_packed(&d, buf, 0), -EPROTO);
	/* size beyond the payload. */
	r.size = sizeof(r) + 8;
	len = put_rec(&r, sizeof(r), NULL, 0);
	assert_int_equal(ferry_tcp_parse_packed(&d, buf, len), -EPROTO);
	/* Inline counts that do not match the payload. */
	r = est();
	r.snd_inline = 10;
	len = put_rec(&r, sizeof(r), "0123456789", 9);
	assert_int_equal(ferry_tcp_parse_packed(&d, buf, len), -EPROTO);
	r.snd_inline = 0xffffffff;
	r.rcv_inline = 10;	/* sums to 9 in 32 bits */
	len = put_rec(&r, sizeof(r), "0123456789", 9);
	assert_int_equal(ferry_tcp_parse_packed(&d, buf, len), -EPROTO);
	/* Unknown family. */
	r = est();
	r.family = 99;
	len = put_rec(&r, sizeof(r), NULL, 0);
	assert_int_equal(ferry_tcp_parse_packed(&d, buf, len), -EPROTO);
	assert_int_equal(d.n, 0);
	/* More inline bytes than the snapshot's send range. */
	r = est();
	r.snd_inline = 11;
	len = put_rec(&r, sizeof(r), "0123456789x", 11);
	assert_int_equal(ferry_tcp_parse_packed(&d, buf, len), -EPROTO);
	/* Receive bytes inline while the send range is incomplete. */
	r = est();
	r.snd_inline = 4;
	r.rcv_inline = 2;
	len = put_rec(&r, sizeof(r), "0123ab", 6);
	assert_int_equal(ferry_tcp_parse_packed(&d, buf, len), -EPROTO);
	ferry_tcp_dump_free(&d);
}

/* Records of other kinds and a whole message through the dispatcher. */
static void test_message(void **state)
{
	static char msg[8192];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(msg);
	struct genlmsghdr *g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	struct ferry_tcp_sock_packed r = est(), tw, lst;
	struct ferry_tcp_dump d = { 0 };
	uint8_t rec[512];
	size_t len;

	(void)state;
	g->cmd = FERRY_CMD_TCP_DUMP;
	r.snd_inline = 10;
	len = put_rec(&r, sizeof(r), "0123456789", 10);
	mnl_attr_put(nlh, FERRY_TCP_A_PACKED, len, buf);
	/* An unknown attribute from a newer module in between is skipped. */
	mnl_attr_put_u32(nlh, FERRY_TCP_A_MAX + 3, 1);
	len = put_chunk(rec, r.cookie, FERRY_TCP_QUEUE_RECV, 0, 0, "abcdef", 6);
	mnl_attr_put(nlh, FERRY_TCP_A_QCHUNK, len, rec);

	memset(&tw, 0, sizeof(tw));
	tw.size = sizeof(tw);
	tw.version = 1;
	tw.present = P(COOKIE) | P(FAMILY) | P(STATE) | P(SRC) | P(DST) | P(TW_TIMEOUT_MS) |
		     P(SND_UNA) | P(RCV_NXT);
	tw.cookie = 2;
	tw.family = AF_INET6;
	tw.state = ST_TIME_WAIT;
	memset(tw.src, 0xfd, 16);
	tw.tw_timeout_ms = 59000;
	mnl_attr_put(nlh, FERRY_TCP_A_PACKED, sizeof(tw), &tw);

	lst = est();
	lst.cookie = 3;
	lst.state = ST_LISTEN;
	lst.present |= P(BACKLOG) | P(ACCEPT_QLEN);
	lst.backlog = 128;
	lst.accept_qlen = 2;
	mnl_attr_put(nlh, FERRY_TCP_A_PACKED, sizeof(lst), &lst);

	assert_int_equal(ferry_tcp_parse_msg(&d, nlh), 0);
	assert_int_equal(d.n, 3);
	assert_true(ferry_tcp_data_complete(&d.socks[0]));
	assert_memory_equal(d.socks[0].recvq.buf, "abcdef", 6);
	assert_int_equal(d.socks[1].family, AF_INET6);
	assert_memory_equal(d.socks[1].src, "\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd\xfd", 16);
	assert_true(ferry_tcp_has(&d.socks[1], FERRY_SOCK_A_TW_TIMEOUT_MS));
	assert_false(ferry_tcp_has(&d.socks[1], FERRY_SOCK_A_SND_WL1));
	assert_int_equal(ferry_tcp_sendq_expected(&d.socks[1]), 0);
	assert_int_equal(d.socks[1].tw_timeout_ms, 59000);
	assert_int_equal(d.socks[2].backlog, 128);
	assert_int_equal(d.socks[2].accept_qlen, 2);
	assert_int_equal(ferry_tcp_sendq_expected(&d.socks[2]), 0);
	assert_int_equal(d.messages, 1);

	/* Reuse keeps working: a reset dump parses the same message again. */
	ferry_tcp_dump_reset(&d);
	assert_int_equal(d.n, 0);
	assert_int_equal(ferry_tcp_parse_msg(&d, nlh), 0);
	assert_int_equal(d.n, 3);
	assert_memory_equal(d.socks[0].sendq.buf, "0123456789", 10);
	ferry_tcp_dump_free(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_decode_inline),
		cmocka_unit_test(test_chunks),
		cmocka_unit_test(test_syn_offsets),
		cmocka_unit_test(test_newer_version),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
