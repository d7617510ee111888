// SPDX-License-Identifier: GPL-2.0
/* TCP_DUMP client: parse, reassemble, restore. See tcp_state.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include "nl.h"
#include "tcp_state.h"

/* linux/tcp.h values, in case the libc headers lack them. */
#ifndef TCP_REPAIR
#define TCP_REPAIR		19
#endif
#ifndef TCP_REPAIR_QUEUE
#define TCP_REPAIR_QUEUE	20
#endif
#ifndef TCP_QUEUE_SEQ
#define TCP_QUEUE_SEQ		21
#endif
#ifndef TCP_REPAIR_OPTIONS
#define TCP_REPAIR_OPTIONS	22
#endif
#ifndef TCP_TIMESTAMP
#define TCP_TIMESTAMP		24
#endif
#ifndef TCP_REPAIR_WINDOW
#define TCP_REPAIR_WINDOW	29
#endif
#define FERRY_TCPOPT_MAXSEG	2
#define FERRY_TCPOPT_WINDOW	3
#define FERRY_TCPOPT_SACK_PERM	4
#define FERRY_TCPOPT_TIMESTAMP	8

struct ferry_repair_opt {
	uint32_t opt_code;
	uint32_t opt_val;
};

struct ferry_repair_window {
	uint32_t snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup;
};

/* ---- names ------------------------------------------------------------ */

static const char *const state_names[] = {
	[1] = "ESTABLISHED", [2] = "SYN_SENT", [3] = "SYN_RECV",
	[4] = "FIN_WAIT1", [5] = "FIN_WAIT2", [6] = "TIME_WAIT",
	[7] = "CLOSE", [8] = "CLOSE_WAIT", [9] = "LAST_ACK",
	[10] = "LISTEN", [11] = "CLOSING", [12] = "NEW_SYN_RECV",
};

const char *ferry_tcp_state_name(unsigned int state)
{
	if (state < sizeof(state_names) / sizeof(state_names[0]) && state_names[state])
		return state_names[state];
	return "UNKNOWN";
}

int ferry_tcp_state_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++)
		if (state_names[i] && strcmp(state_names[i], name) == 0)
			return (int)i;
	return -1;
}

void ferry_tcp_fmt_addr(char *buf, size_t size, int family, const uint8_t *addr,
			uint16_t port)
{
	char a[INET6_ADDRSTRLEN] = "?";

	inet_ntop(family, addr, a, sizeof(a));
	if (family == AF_INET6)
		snprintf(buf, size, "[%s]:%u", a, port);
	else
		snprintf(buf, size, "%s:%u", a, port);
}

/* ---- expected queue sizes (mirror of the kernel's byte ranges) --------- */

enum { ST_ESTABLISHED = 1, ST_SYN_SENT, ST_SYN_RECV, ST_FIN_WAIT1, ST_FIN_WAIT2,
       ST_TIME_WAIT, ST_CLOSE, ST_CLOSE_WAIT, ST_LAST_ACK, ST_LISTEN, ST_CLOSING };

static bool is_full_sock(const struct ferry_tcp_sock *s)
{
	/* Timewait and request sockets carry no inode attribute value... but
	 * do carry SND_WL1 only as full sockets. */
	return ferry_tcp_has(s, FERRY_SOCK_A_SND_WL1);
}

/* The module marked which sequence numbers carry no byte
 * (FERRY_TCP_F_SEQ_MARKS); else the state tells, as older modules did. */
static bool marked(const struct ferry_tcp_sock *s)
{
	return s->options & FERRY_SOCK_OPT_SEQ_MARKED;
}

bool ferry_tcp_syn_unacked(const struct ferry_tcp_sock *s)
{
	if (marked(s))
		return s->options & FERRY_SOCK_OPT_SYN_UNACKED;
	return s->state == ST_SYN_SENT || s->state == ST_SYN_RECV;
}

static bool fin_unread(const struct ferry_tcp_sock *s)
{
	if (marked(s))
		return s->options & FERRY_SOCK_OPT_FIN_UNREAD;
	return s->state == ST_CLOSE_WAIT || s->state == ST_CLOSING || s->state == ST_LAST_ACK;
}

static bool fin_queued(const struct ferry_tcp_sock *s)
{
	if (marked(s))
		return s->options & FERRY_SOCK_OPT_FIN_QUEUED;
	return s->state == ST_FIN_WAIT1 || s->state == ST_CLOSING || s->state == ST_LAST_ACK;
}

uint32_t ferry_tcp_sendq_expected(const struct ferry_tcp_sock *s)
{
	uint32_t start = s->snd_una, end = s->write_seq;

	if (!is_full_sock(s) || s->state == ST_LISTEN || s->state == ST_CLOSE)
		return 0;
	/* TCP_FASTOPEN_CONNECT before the first write: no SYN yet, snd_una
	 * not set; a marking module exports nothing. */
	if (marked(s) && s->state == ST_SYN_SENT && !ferry_tcp_syn_unacked(s))
		return 0;
	if (ferry_tcp_syn_unacked(s))
		start++;
	if (fin_queued(s))
		end--;
	return (int32_t)(end - start) > 0 ? end - start : 0;
}

uint32_t ferry_tcp_recvq_expected(const struct ferry_tcp_sock *s)
{
	uint32_t end = s->rcv_nxt;

	/* A CLOSE socket keeps unread bytes; only a marking module says
	 * whether its rcv_nxt counts a FIN, and exports them. */
	if (!is_full_sock(s) || s->state == ST_LISTEN || (s->state == ST_CLOSE && !marked(s)))
		return 0;
	if (marked(s) && (s->options & FERRY_SOCK_OPT_ORPHAN))
		return 0;	/* closed by its application: its bytes were dropped */
	if (fin_unread(s))
		end--;
	return (int32_t)(end - s->copied_seq) > 0 ? end - s->copied_seq : 0;
}

uint32_t ferry_tcp_sendq_unsent(const struct ferry_tcp_sock *s)
{
	uint32_t total = ferry_tcp_sendq_expected(s);
	uint32_t sent = s->snd_nxt - s->snd_una;

	if (ferry_tcp_syn_unacked(s))
		sent = sent ? sent - 1 : 0;
	return sent >= total ? 0 : total - sent;
}

bool ferry_tcp_data_complete(const struct ferry_tcp_sock *s)
{
	return !s->sendq.gone && !s->recvq.gone &&
	       s->sendq.len == ferry_tcp_sendq_expected(s) &&
	       s->recvq.len == ferry_tcp_recvq_expected(s);
}

/* ---- parsing ---------------------------------------------------------- */

int ferry_tcp_queue_put(struct ferry_tcp_qbuf *q, uint32_t off, const void *buf,
			uint32_t len, uint32_t max)
{
	if (q->gone || off != q->len || len > max || q->len > max - len)
		return -EPROTO;
	if (q->len + len > q->cap) {
		/* The snapshot says how much is coming: one exact allocation
		 * (sockets with a few hundred queued bytes are the common case;
		 * page-sized buffers would cost a page fault each). */
		uint32_t ncap = max;
		uint8_t *n;

		n = realloc(q->buf, ncap);
		if (!n)
			return -ENOMEM;
		q->buf = n;
		q->cap = ncap;
	}
	memcpy(q->buf + q->len, buf, len);
	q->len += len;
	return 0;
}

struct attr_desc {
	enum mnl_attr_data_type type;
	size_t off;
	uint8_t size;	/* bytes of the struct field */
};

#define F(a, t, field) [a] = { t, offsetof(struct ferry_tcp_sock, field), \
			       sizeof(((struct ferry_tcp_sock *)0)->field) }
static const struct attr_desc sock_attrs[FERRY_SOCK_A_MAX + 1] = {
	F(FERRY_SOCK_A_COOKIE, MNL_TYPE_U64, cookie),
	F(FERRY_SOCK_A_INODE, MNL_TYPE_U64, inode),
	F(FERRY_SOCK_A_PID, MNL_TYPE_U32, pid),
	F(FERRY_SOCK_A_FD, MNL_TYPE_U32, fd),
	F(FERRY_SOCK_A_FAMILY, MNL_TYPE_U8, family),
	F(FERRY_SOCK_A_STATE, MNL_TYPE_U8, state),
	F(FERRY_SOCK_A_SPORT, MNL_TYPE_U16, sport),
	F(FERRY_SOCK_A_DPORT, MNL_TYPE_U16, dport),
	F(FERRY_SOCK_A_SND_UNA, MNL_TYPE_U32, snd_una),
	F(FERRY_SOCK_A_SND_NXT, MNL_TYPE_U32, snd_nxt),
	F(FERRY_SOCK_A_WRITE_SEQ, MNL_TYPE_U32, write_seq),
	F(FERRY_SOCK_A_RCV_NXT, MNL_TYPE_U32, rcv_nxt),
	F(FERRY_SOCK_A_COPIED_SEQ, MNL_TYPE_U32, copied_seq),
	F(FERRY_SOCK_A_SND_WL1, MNL_TYPE_U32, snd_wl1),
	F(FERRY_SOCK_A_SND_WND, MNL_TYPE_U32, snd_wnd),
	F(FERRY_SOCK_A_MAX_WINDOW, MNL_TYPE_U32, max_window),
	F(FERRY_SOCK_A_RCV_WND, MNL_TYPE_U32, rcv_wnd),
	F(FERRY_SOCK_A_RCV_WUP, MNL_TYPE_U32, rcv_wup),
	F(FERRY_SOCK_A_MSS_CLAMP, MNL_TYPE_U16, mss_clamp),
	F(FERRY_SOCK_A_MSS_CACHE, MNL_TYPE_U16, mss_cache),
	F(FERRY_SOCK_A_SND_WSCALE, MNL_TYPE_U8, snd_wscale),
	F(FERRY_SOCK_A_RCV_WSCALE, MNL_TYPE_U8, rcv_wscale),
	F(FERRY_SOCK_A_OPTIONS, MNL_TYPE_U32, options),
	F(FERRY_SOCK_A_TS_OFFSET, MNL_TYPE_U32, ts_offset),
	F(FERRY_SOCK_A_TS_RECENT, MNL_TYPE_U32, ts_recent),
	F(FERRY_SOCK_A_TS_RECENT_STAMP, MNL_TYPE_U32, ts_recent_stamp),
	F(FERRY_SOCK_A_TS_NOW, MNL_TYPE_U32, ts_now),
	F(FERRY_SOCK_A_KEEPIDLE, MNL_TYPE_U32, keepidle),
	F(FERRY_SOCK_A_KEEPINTVL, MNL_TYPE_U32, keepintvl),
	F(FERRY_SOCK_A_KEEPCNT, MNL_TYPE_U32, keepcnt),
	F(FERRY_SOCK_A_USER_TIMEOUT, MNL_TYPE_U32, user_timeout),
	F(FERRY_SOCK_A_SNDQ_BYTES, MNL_TYPE_U32, sndq_bytes),
	F(FERRY_SOCK_A_UNSENT_BYTES, MNL_TYPE_U32, unsent_bytes),
	F(FERRY_SOCK_A_RCVQ_BYTES, MNL_TYPE_U32, rcvq_bytes),
	F(FERRY_SOCK_A_TW_TIMEOUT_MS, MNL_TYPE_U32, tw_timeout_ms),
	F(FERRY_SOCK_A_BOUND_DEV, MNL_TYPE_U32, bound_dev),
	F(FERRY_SOCK_A_LISTENER, MNL_TYPE_U64, listener),
	F(FERRY_SOCK_A_BACKLOG, MNL_TYPE_U32, backlog),
	F(FERRY_SOCK_A_ACCEPT_QLEN, MNL_TYPE_U32, accept_qlen),
};
#undef F

static struct ferry_tcp_sock *new_sock(struct ferry_tcp_dump *d)
{
	struct ferry_tcp_sock *s;

	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 256;
		struct ferry_tcp_sock *n = realloc(d->socks, ncap * sizeof(*n));

		if (!n)
			return NULL;
		d->socks = n;
		d->cap = ncap;
	}
	s = &d->socks[d->n];
	memset(s, 0, sizeof(*s));
	return s;
}

/* Hot path (tens of thousands of sockets): attributes are walked by hand,
 * lengths checked against the table, no library call per attribute. */
static inline int attr_ok(const struct nlattr *a, size_t left)
{
	return left >= sizeof(*a) && a->nla_len >= sizeof(*a) && a->nla_len <= left;
}

#define ATTR_NEXT(a) ((const struct nlattr *)((const char *)(a) + NLA_ALIGN((a)->nla_len)))

int ferry_tcp_parse_sock(struct ferry_tcp_dump *d, const struct nlattr *nest)
{
	const char *end = (const char *)nest + nest->nla_len;
	struct ferry_tcp_sock *s;
	const struct nlattr *a;

	s = new_sock(d);
	if (!s)
		return -ENOMEM;
	for (a = (const struct nlattr *)((const char *)nest + NLA_HDRLEN);
	     attr_ok(a, (size_t)(end - (const char *)a)); a = ATTR_NEXT(a)) {
		int t = a->nla_type & NLA_TYPE_MASK;
		uint16_t plen = a->nla_len - NLA_HDRLEN;
		const void *p = (const char *)a + NLA_HDRLEN;
		const struct attr_desc *ad;

		if (t > FERRY_SOCK_A_MAX || t >= 64)
			continue;	/* newer module: ignore what we do not know */
		ad = &sock_attrs[t];
		if (ad->size) {
			if (plen != ad->size)
				return -EPROTO;
			memcpy((char *)s + ad->off, p, ad->size);
		} else if (t == FERRY_SOCK_A_SRC || t == FERRY_SOCK_A_DST) {
			if (plen != 4 && plen != 16)
				return -EPROTO;
			memcpy(t == FERRY_SOCK_A_SRC ? s->src : s->dst, p, plen);
		} else if (t == FERRY_SOCK_A_ACCEPT_PENDING) {
			s->accept_pending = true;
		}
		s->present |= 1ULL << t;
	}
	if (!ferry_tcp_has(s, FERRY_SOCK_A_COOKIE) || !ferry_tcp_has(s, FERRY_SOCK_A_STATE) ||
	    (s->family != AF_INET && s->family != AF_INET6))
		return -EPROTO;
	d->last = d->n++;
	return 0;
}

struct ferry_tcp_sock *ferry_tcp_find(struct ferry_tcp_dump *d, uint64_t cookie)
{
	/* Chunks follow their socket: try the last one first. */
	if (d->last < d->n && d->socks[d->last].cookie == cookie)
		return &d->socks[d->last];
	for (size_t i = d->n; i-- > 0;)
		if (d->socks[i].cookie == cookie) {
			d->last = i;
			return &d->socks[i];
		}
	return NULL;
}

/* Small queues (the common case: a few hundred bytes) are carved out of
 * large chunks instead of one malloc each. */
#define ARENA_CHUNK	(1U << 20)
#define ARENA_SMALL	(64U << 10)

struct ferry_tcp_arena {
	struct ferry_tcp_arena *next;
	size_t used;
	uint8_t data[];
};

static uint8_t *arena_alloc(struct ferry_tcp_dump *d, uint32_t size)
{
	struct ferry_tcp_arena *a = d->arena;

	size = (size + 7) & ~7U;
	if (!a || a->used + size > ARENA_CHUNK) {
		if (d->spare) {
			a = d->spare;
			d->spare = a->next;
		} else {
			a = malloc(sizeof(*a) + ARENA_CHUNK);
			if (!a)
				return NULL;
		}
		a->next = d->arena;
		a->used = 0;
		d->arena = a;
	}
	a->used += size;
	return a->data + a->used - size;
}

/*
 * Bytes (or the GONE marker) of one queue of s at wire offset off (counted
 * from snd_una / copied_seq, as the kernel sends it). The small common
 * queues are carved out of the dump's arena.
 */
static int queue_append(struct ferry_tcp_dump *d, struct ferry_tcp_sock *s, unsigned int queue,
			uint32_t off, const void *buf, uint32_t len, bool gone)
{
	struct ferry_tcp_qbuf *q;
	uint32_t max;

	if (queue == FERRY_TCP_QUEUE_SEND) {
		q = &s->sendq;
		max = ferry_tcp_sendq_expected(s);
		/* Offsets count from snd_una; an unacked SYN takes offset 0. */
		if (ferry_tcp_syn_unacked(s)) {
			if (off == 0)
				return -EPROTO;
			off--;
		}
	} else if (queue == FERRY_TCP_QUEUE_RECV) {
		q = &s->recvq;
		max = ferry_tcp_recvq_expected(s);
	} else {
		return -EPROTO;
	}
	if (gone) {
		q->gone = true;
		return 0;
	}
	if (!q->buf && max && max <= ARENA_SMALL) {
		q->buf = arena_alloc(d, max);
		if (!q->buf)
			return -ENOMEM;
		q->cap = max;
		q->borrowed = true;
	}
	d->data_bytes += len;
	return ferry_tcp_queue_put(q, off, buf, len, max);
}

int ferry_tcp_parse_data(struct ferry_tcp_dump *d, const struct nlattr *nest)
{
	const struct nlattr *tb[FERRY_QDATA_A_MAX + 1] = { 0 };
	struct ferry_tcp_sock *s;
	const struct nlattr *a;

	mnl_attr_for_each_nested(a, nest) {
		int t = mnl_attr_get_type(a);

		if (t <= FERRY_QDATA_A_MAX)
			tb[t] = a;
	}
	if (!tb[FERRY_QDATA_A_COOKIE] || mnl_attr_validate(tb[FERRY_QDATA_A_COOKIE], MNL_TYPE_U64) ||
	    !tb[FERRY_QDATA_A_QUEUE] || mnl_attr_validate(tb[FERRY_QDATA_A_QUEUE], MNL_TYPE_U8) ||
	    !tb[FERRY_QDATA_A_OFFSET] || mnl_attr_validate(tb[FERRY_QDATA_A_OFFSET], MNL_TYPE_U32))
		return -EPROTO;
	s = ferry_tcp_find(d, mnl_attr_get_u64(tb[FERRY_QDATA_A_COOKIE]));
	if (!s)
		return -EPROTO;
	if (!tb[FERRY_QDATA_A_GONE] && !tb[FERRY_QDATA_A_BYTES])
		return -EPROTO;
	return queue_append(d, s, mnl_attr_get_u8(tb[FERRY_QDATA_A_QUEUE]),
			    mnl_attr_get_u32(tb[FERRY_QDATA_A_OFFSET]),
			    tb[FERRY_QDATA_A_BYTES] ? mnl_attr_get_payload(tb[FERRY_QDATA_A_BYTES]) : NULL,
			    tb[FERRY_QDATA_A_BYTES] ? mnl_attr_get_payload_len(tb[FERRY_QDATA_A_BYTES]) : 0,
			    tb[FERRY_QDATA_A_GONE] != NULL);
}

/* ---- packed format ------------------------------------------------------ */

/* The bits a packed record may set: the attributes we know. */
#define KNOWN_PRESENT	((2ULL << FERRY_SOCK_A_MAX) - 2)

int ferry_tcp_parse_packed(struct ferry_tcp_dump *d, const void *buf, size_t len)
{
	struct ferry_tcp_sock_packed r;
	struct ferry_tcp_sock *s;
	const uint8_t *bytes;
	uint16_t size;
	int ret;

	if (len < sizeof(size))
		return -EPROTO;
	memcpy(&size, buf, sizeof(size));
	if (size < FERRY_TCP_PACKED_SIZE_V1 || size > len)
		return -EPROTO;
	/* Newer module: take what we know. (Older: nothing is older than v1.) */
	memset(&r, 0, sizeof(r));
	memcpy(&r, buf, size < sizeof(r) ? size : sizeof(r));
	bytes = (const uint8_t *)buf + size;
	if ((uint64_t)r.snd_inline + r.rcv_inline != len - size)
		return -EPROTO;
	if (r.family != AF_INET && r.family != AF_INET6)
		return -EPROTO;
	s = new_sock(d);
	if (!s)
		return -ENOMEM;
	s->present = r.present & KNOWN_PRESENT;
	s->present |= (1ULL << FERRY_SOCK_A_COOKIE) | (1ULL << FERRY_SOCK_A_STATE) |
		      (1ULL << FERRY_SOCK_A_FAMILY);
	s->cookie = r.cookie;
	s->inode = r.inode;
	s->listener = r.listener;
	s->pid = r.pid;
	s->fd = r.fd;
	s->family = r.family;
	s->state = r.state;
	memcpy(s->src, r.src, r.family == AF_INET6 ? 16 : 4);
	memcpy(s->dst, r.dst, r.family == AF_INET6 ? 16 : 4);
	s->sport = r.sport;
	s->dport = r.dport;
	s->snd_una = r.snd_una;
	s->snd_nxt = r.snd_nxt;
	s->write_seq = r.write_seq;
	s->rcv_nxt = r.rcv_nxt;
	s->copied_seq = r.copied_seq;
	s->snd_wl1 = r.snd_wl1;
	s->snd_wnd = r.snd_wnd;
	s->max_window = r.max_window;
	s->rcv_wnd = r.rcv_wnd;
	s->rcv_wup = r.rcv_wup;
	s->mss_clamp = r.mss_clamp;
	s->mss_cache = r.mss_cache;
	s->snd_wscale = r.snd_wscale;
	s->rcv_wscale = r.rcv_wscale;
	s->options = r.options;
	s->ts_offset = r.ts_offset;
	s->ts_recent = r.ts_recent;
	s->ts_recent_stamp = r.ts_recent_stamp;
	s->ts_now = r.ts_now;
	s->keepidle = r.keepidle;
	s->keepintvl = r.keepintvl;
	s->keepcnt = r.keepcnt;
	s->user_timeout = r.user_timeout;
	s->sndq_bytes = r.sndq_bytes;
	s->unsent_bytes = r.unsent_bytes;
	s->rcvq_bytes = r.rcvq_bytes;
	s->tw_timeout_ms = r.tw_timeout_ms;
	s->bound_dev = r.bound_dev;
	s->backlog = r.backlog;
	s->accept_qlen = r.accept_qlen;
	s->accept_pending = ferry_tcp_has(s, FERRY_SOCK_A_ACCEPT_PENDING);
	d->last = d->n++;

	/* Inline bytes start each queue's exported range; the receive
	 * queue's only once the whole send range is there. */
	if (r.snd_inline) {
		if (r.snd_inline > ferry_tcp_sendq_expected(s))
			goto bad;
		ret = queue_append(d, s, FERRY_TCP_QUEUE_SEND,
				   ferry_tcp_syn_unacked(s) ? 1 : 0,
				   bytes, r.snd_inline, false);
		if (ret)
			goto fail;
	}
	if (r.rcv_inline) {
		if (s->sendq.len != ferry_tcp_sendq_expected(s))
			goto bad;
		ret = queue_append(d, s, FERRY_TCP_QUEUE_RECV, 0, bytes + r.snd_inline,
				   r.rcv_inline, false);
		if (ret)
			goto fail;
	}
	return 0;
bad:
	ret = -EPROTO;
fail:
	/* Keep d consistent: the socket stays (ferry_tcp_dump_free frees
	 * its buffers), the caller fails the dump. */
	return ret;
}

int ferry_tcp_parse_qchunk(struct ferry_tcp_dump *d, const void *buf, size_t len)
{
	struct ferry_tcp_qchunk h;
	struct ferry_tcp_sock *s;
	bool gone;

	if (len < sizeof(h))
		return -EPROTO;
	memcpy(&h, buf, sizeof(h));
	s = ferry_tcp_find(d, h.cookie);
	if (!s)
		return -EPROTO;
	gone = h.flags & FERRY_TCP_QCHUNK_F_GONE;
	if (gone ? len != sizeof(h) : len == sizeof(h))
		return -EPROTO;
	return queue_append(d, s, h.queue, h.offset, (const uint8_t *)buf + sizeof(h),
			    (uint32_t)(len - sizeof(h)), gone);
}

int ferry_tcp_parse_msg(struct ferry_tcp_dump *d, const struct nlmsghdr *nlh)
{
	const struct nlattr *a;
	int ret = 0;

	d->messages++;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		switch (mnl_attr_get_type(a)) {
		case FERRY_TCP_A_SOCK:
			ret = ferry_tcp_parse_sock(d, a);
			break;
		case FERRY_TCP_A_DATA:
			ret = ferry_tcp_parse_data(d, a);
			break;
		case FERRY_TCP_A_PACKED:
			ret = ferry_tcp_parse_packed(d, mnl_attr_get_payload(a),
						     mnl_attr_get_payload_len(a));
			break;
		case FERRY_TCP_A_QCHUNK:
			ret = ferry_tcp_parse_qchunk(d, mnl_attr_get_payload(a),
						     mnl_attr_get_payload_len(a));
			break;
		}
		if (ret)
			return ret;
	}
	return 0;
}

static int dump_cb(const struct nlmsghdr *nlh, void *data)
{
	int ret = ferry_tcp_parse_msg(data, nlh);

	if (ret) {
		errno = -ret;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int dump_request(struct ferry_nl *nl, uint32_t pid, uint32_t flags,
			struct ferry_tcp_dump *d)
{
	struct nlmsghdr *req;

	d->flags = flags;
	req = ferry_nl_request(nl, FERRY_CMD_TCP_DUMP, 1);
	mnl_attr_put_u32(req, FERRY_TCP_A_PID, pid);
	if (flags)
		mnl_attr_put_u32(req, FERRY_TCP_A_FLAGS, flags);
	return ferry_nl_run(nl, req, dump_cb, d);
}

int ferry_tcp_dump_request(struct ferry_nl *nl, uint32_t pid, uint32_t flags,
			   struct ferry_tcp_dump *d)
{
	memset(d, 0, sizeof(*d));
	return dump_request(nl, pid, flags, d);
}

static void free_qbufs(struct ferry_tcp_dump *d)
{
	for (size_t i = 0; i < d->n; i++) {
		if (!d->socks[i].sendq.borrowed)
			free(d->socks[i].sendq.buf);
		if (!d->socks[i].recvq.borrowed)
			free(d->socks[i].recvq.buf);
	}
}

void ferry_tcp_dump_reset(struct ferry_tcp_dump *d)
{
	free_qbufs(d);
	d->n = 0;
	d->last = 0;
	d->messages = d->data_bytes = 0;
	while (d->arena) {
		struct ferry_tcp_arena *a = d->arena;

		d->arena = a->next;
		a->used = 0;
		a->next = d->spare;
		d->spare = a;
	}
}

int ferry_tcp_dump_rerun(struct ferry_nl *nl, uint32_t pid, uint32_t flags,
			 struct ferry_tcp_dump *d)
{
	ferry_tcp_dump_reset(d);
	return dump_request(nl, pid, flags, d);
}

int ferry_tcp_dump_run(struct ferry_nl *nl, uint32_t pid, uint32_t flags,
		       struct ferry_tcp_dump *d)
{
	/* Newest first; a module from before a flag rejects it (EINVAL, its
	 * policy's mask), and the result means the same either way. */
	static const uint32_t extra[] = {
		FERRY_TCP_F_PACKED | FERRY_TCP_F_SEQ_MARKS, FERRY_TCP_F_PACKED, 0,
	};
	int ret = -EINVAL;

	for (size_t i = 0; i < sizeof(extra) / sizeof(extra[0]) && ret == -EINVAL; i++) {
		if (i && (flags | extra[i - 1]) == (flags | extra[i]))
			continue;
		if (i)
			ferry_tcp_dump_free(d);
		ret = ferry_tcp_dump_request(nl, pid, flags | extra[i], d);
	}
	return ret;
}

void ferry_tcp_dump_free(struct ferry_tcp_dump *d)
{
	free_qbufs(d);
	while (d->arena) {
		struct ferry_tcp_arena *next = d->arena->next;

		free(d->arena);
		d->arena = next;
	}
	while (d->spare) {
		struct ferry_tcp_arena *next = d->spare->next;

		free(d->spare);
		d->spare = next;
	}
	free(d->socks);
	memset(d, 0, sizeof(*d));
}

/* ---- restore ------------------------------------------------------------ */

static int sockaddr_of(const struct ferry_tcp_sock *s, const uint8_t *addr, uint16_t port,
		       struct sockaddr_storage *ss, socklen_t *len)
{
	memset(ss, 0, sizeof(*ss));
	if (s->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
		memcpy(&sin->sin_addr, addr, 4);
		*len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		memcpy(&sin6->sin6_addr, addr, 16);
		*len = sizeof(*sin6);
	}
	return 0;
}

static int setopt(int fd, int opt, const void *val, socklen_t len)
{
	return setsockopt(fd, SOL_TCP, opt, val, len) < 0 ? -errno : 0;
}

static int setint(int fd, int opt, int val)
{
	return setopt(fd, opt, &val, sizeof(val));
}

/* Queue len bytes in repair mode (the kernel takes at most a few pages per
 * call in the receive queue, so loop). */
static int repair_write(int fd, int queue, const uint8_t *buf, uint32_t len)
{
	int ret = setint(fd, TCP_REPAIR_QUEUE, queue);

	if (ret)
		return ret;
	while (len) {
		ssize_t n = send(fd, buf, len, 0);

		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		buf += n;
		len -= (uint32_t)n;
	}
	return 0;
}

int ferry_tcp_restore(const struct ferry_tcp_sock *s, int *out)
{
	struct sockaddr_storage ss;
	struct ferry_repair_opt opts[4];
	struct ferry_repair_window win;
	uint32_t unsent, sent_len, nopts = 0;
	socklen_t sl;
	int fd, ret, one = 1;

	*out = -1;
	if (s->state != ST_ESTABLISHED)
		return -EOPNOTSUPP;
	if (!ferry_tcp_data_complete(s))
		return -ENODATA;
	fd = socket(s->family, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd < 0)
		return -errno;
	ret = setint(fd, TCP_REPAIR, 1);
	if (ret)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
		ret = -errno;
		goto fail;
	}
	/* Room for the queues we put back (repair writes must not block on
	 * a full buffer: nothing will ever drain it). Best effort: needs
	 * CAP_NET_ADMIN, which TCP_REPAIR needs anyway. */
	{
		int sb = (int)(2 * s->sendq.len + 65536), rb = (int)(2 * s->recvq.len + 65536);

		if (sb > 65536 * 2)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sb, sizeof(sb));
		if (rb > 65536 * 2)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof(rb));
	}
	/* Sequence numbers of the queue starts: the bytes we are about to
	 * queue again bring them back to write_seq and rcv_nxt. */
	ret = setint(fd, TCP_REPAIR_QUEUE, TCP_SEND_QUEUE);
	if (!ret)
		ret = setint(fd, TCP_QUEUE_SEQ, (int)s->snd_una);
	if (!ret)
		ret = setint(fd, TCP_REPAIR_QUEUE, TCP_RECV_QUEUE);
	if (!ret)
		ret = setint(fd, TCP_QUEUE_SEQ, (int)(s->rcv_nxt - s->recvq.len));
	if (ret)
		goto fail;
	sockaddr_of(s, s->src, s->sport, &ss, &sl);
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0) {
		ret = -errno;
		goto fail;
	}
	sockaddr_of(s, s->dst, s->dport, &ss, &sl);
	if (connect(fd, (struct sockaddr *)&ss, sl) < 0) {
		ret = -errno;
		goto fail;
	}
	opts[nopts++] = (struct ferry_repair_opt){ FERRY_TCPOPT_MAXSEG, s->mss_clamp };
	if (s->options & FERRY_SOCK_OPT_WSCALE)
		opts[nopts++] = (struct ferry_repair_opt){
			FERRY_TCPOPT_WINDOW, s->snd_wscale | ((uint32_t)s->rcv_wscale << 16) };
	if (s->options & FERRY_SOCK_OPT_SACK)
		opts[nopts++] = (struct ferry_repair_opt){ FERRY_TCPOPT_SACK_PERM, 0 };
	if (s->options & FERRY_SOCK_OPT_TIMESTAMPS)
		opts[nopts++] = (struct ferry_repair_opt){ FERRY_TCPOPT_TIMESTAMP, 0 };
	ret = setopt(fd, TCP_REPAIR_OPTIONS, opts, (socklen_t)(nopts * sizeof(opts[0])));
	if (ret)
		goto fail;
	if (s->options & FERRY_SOCK_OPT_TIMESTAMPS) {
		ret = setint(fd, TCP_TIMESTAMP, (int)s->ts_now);
		if (ret)
			goto fail;
	}
	/* Sent but unacked bytes go back "as sent"; the unsent tail is
	 * written normally once repair is off. */
	unsent = ferry_tcp_sendq_unsent(s);
	sent_len = s->sendq.len - unsent;
	if (sent_len) {
		ret = repair_write(fd, TCP_SEND_QUEUE, s->sendq.buf, sent_len);
		if (ret)
			goto fail;
	}
	if (s->recvq.len) {
		ret = repair_write(fd, TCP_RECV_QUEUE, s->recvq.buf, s->recvq.len);
		if (ret)
			goto fail;
	}
	win = (struct ferry_repair_window){ s->snd_wl1, s->snd_wnd, s->max_window,
					    s->rcv_wnd, s->rcv_wup };
	ret = setopt(fd, TCP_REPAIR_WINDOW, &win, sizeof(win));
	if (ret)
		goto fail;
	if (s->options & FERRY_SOCK_OPT_NODELAY)
		setint(fd, TCP_NODELAY, 1);
	ret = setint(fd, TCP_REPAIR, 0);
	if (ret)
		goto fail;
	for (uint32_t done = 0; done < unsent;) {
		ssize_t n = send(fd, s->sendq.buf + sent_len + done, unsent - done, 0);

		if (n <= 0) {
			ret = n < 0 ? -errno : -EIO;
			goto fail;
		}
		done += (uint32_t)n;
	}
	*out = fd;
	return 0;
fail:
	close(fd);
	return ret;
}
