// SPDX-License-Identifier: GPL-2.0
/*
 * TCP_DUMP: the snapshot of one socket, and the record that carries it.
 *
 * Every socket is first captured into a struct ferry_tcp_sock_packed (on
 * the stack, while we own the socket), then written out in the requested
 * format: as it is (FERRY_TCP_F_PACKED, one attribute, followed by the
 * first queue bytes that fit), or as the SOCK nest of the attribute
 * format, generated from the same struct, so both formats always carry
 * the same values.
 */
#include <linux/build_bug.h>
#include <linux/tcp.h>
#include <net/inet_timewait_sock.h>
#include <net/request_sock.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <net/tcp_states.h>
#include "ferry.h"
#include "compat.h"
#include "tcp.h"

/* The ABI header's numbers and sizes are the kernel's and the reader's. */
static_assert(sizeof(struct ferry_tcp_sock_packed) == FERRY_TCP_PACKED_SIZE_V1);
static_assert(sizeof(struct ferry_tcp_sock_packed) % 8 == 0);
static_assert(sizeof(struct ferry_tcp_qchunk) == 16);
static_assert((int)FERRY_TCP_QUEUE_RECV == (int)TCP_RECV_QUEUE);
static_assert((int)FERRY_TCP_QUEUE_SEND == (int)TCP_SEND_QUEUE);
static_assert(FERRY_SOCK_A_MAX < 64);	/* `present` is a u64 bitmap */

/* The inode of a full socket we own: sock_graft() and sock_orphan() run
 * with the socket owned too, so sk_socket is stable here (this is what
 * sock_i_ino() reads, without its callback lock). */
static unsigned long ferry_sk_ino(const struct sock *sk)
{
	struct socket *sock = READ_ONCE(sk->sk_socket);

	return sock ? SOCK_INODE(sock)->i_ino : 0;
}


/* ---- the snapshot ---------------------------------------------------- */

#define P(a)	(1ULL << FERRY_SOCK_A_##a)

/* Fields of every socket kind, and of the sequence-number block. */
#define FERRY_P_COMMON	(P(COOKIE) | P(FAMILY) | P(STATE) | P(SRC) | P(DST) | P(SPORT) | \
			 P(DPORT) | P(BOUND_DEV) | P(INODE))
#define FERRY_P_SEQS	(P(SND_UNA) | P(SND_NXT) | P(WRITE_SEQ) | P(RCV_NXT) | \
			 P(COPIED_SEQ) | P(SNDQ_BYTES) | P(UNSENT_BYTES) | P(RCVQ_BYTES))
#define FERRY_P_TW	(P(RCV_WND) | P(RCV_WSCALE) | P(OPTIONS) | P(TS_OFFSET) | \
			 P(TS_RECENT) | P(TS_RECENT_STAMP) | P(TS_NOW) | P(TW_TIMEOUT_MS))
#define FERRY_P_REQ	(P(RCV_WND) | P(MSS_CLAMP) | P(SND_WSCALE) | P(RCV_WSCALE) | \
			 P(OPTIONS) | P(TS_OFFSET) | P(TS_RECENT) | P(TS_NOW))
#define FERRY_P_FULL	(P(SND_WL1) | P(SND_WND) | P(MAX_WINDOW) | P(RCV_WND) | P(RCV_WUP) | \
			 P(MSS_CLAMP) | P(MSS_CACHE) | P(SND_WSCALE) | P(RCV_WSCALE) | \
			 P(OPTIONS) | P(TS_OFFSET) | P(TS_RECENT) | P(TS_RECENT_STAMP) | \
			 P(TS_NOW) | P(KEEPIDLE) | P(KEEPINTVL) | P(KEEPCNT) | P(USER_TIMEOUT))

/* Room a socket's record needs: the SOCK nest of an IPv6 listener-owned
 * child is ~400 bytes; a packed record (plus its padding). */
#define FERRY_TCP_SOCK_ROOM	640
#define FERRY_TCP_PACKED_ROOM	(NLA_HDRLEN + sizeof(struct ferry_tcp_sock_packed) + NLA_ALIGNTO)

static void ferry_snap_common(struct ferry_tcp_sock_packed *r, struct ferry_tcp_ctx *ctx,
			      struct ferry_tcp_ent *e, u8 state)
{
	struct sock *sk = e->sk;

	r->present = FERRY_P_COMMON | FERRY_P_SEQS;
	r->cookie = ctx->cookie;
	r->family = sk->sk_family;
	r->state = state;
#if IS_ENABLED(CONFIG_IPV6)
	if (sk->sk_family == AF_INET6) {
		memcpy(r->src, &sk->sk_v6_rcv_saddr, 16);
		memcpy(r->dst, &sk->sk_v6_daddr, 16);
	} else
#endif
	{
		memcpy(r->src, &sk->sk_rcv_saddr, 4);
		memcpy(r->dst, &sk->sk_daddr, 4);
	}
	r->sport = sk->sk_num;
	r->dport = ntohs(sk->sk_dport);
	/*
	 * For a request socket this is ir_iif: not the interface the SYN came
	 * in on, but inet_request_bound_dev_if()'s answer (the listener's
	 * binding, its VRF master with tcp_l3mdev_accept, or for an IPv6
	 * link-local peer the scope's interface), which the child socket
	 * inherits as its own sk_bound_dev_if.
	 */
	r->bound_dev = sk->sk_bound_dev_if;
	if (e->flags & ENT_HAS_FD) {
		r->present |= P(PID) | P(FD);
		r->pid = e->pid;
		r->fd = e->fd;
	}
	if (e->flags & ENT_PENDING) {
		r->present |= P(ACCEPT_PENDING) | P(LISTENER);
		r->listener = e->listener;
	}
}

static void ferry_snap_seqs(struct ferry_tcp_sock_packed *r, u32 snd_una, u32 snd_nxt,
			    u32 write_seq, u32 rcv_nxt, u32 copied_seq)
{
	r->snd_una = snd_una;
	r->snd_nxt = snd_nxt;
	r->write_seq = write_seq;
	r->rcv_nxt = rcv_nxt;
	r->copied_seq = copied_seq;
	r->sndq_bytes = write_seq - snd_una;
	r->unsent_bytes = write_seq - snd_nxt;
	r->rcvq_bytes = rcv_nxt - copied_seq;
}

static u32 ferry_secs_ago(u32 stamp)
{
	return stamp ? (u32)ktime_get_seconds() - stamp : 0;
}

static void ferry_snap_tw(struct ferry_tcp_sock_packed *r, struct ferry_tcp_ctx *ctx,
			  struct ferry_tcp_ent *e)
{
	struct inet_timewait_sock *tw = inet_twsk(e->sk);
	struct tcp_timewait_sock *tcptw = tcp_twsk(e->sk);
	long left = READ_ONCE(tw->tw_timer.expires) - jiffies;

	ferry_snap_common(r, ctx, e, READ_ONCE(tw->tw_substate));
	r->present |= FERRY_P_TW;
	ferry_snap_seqs(r, tcptw->tw_snd_nxt, tcptw->tw_snd_nxt, tcptw->tw_snd_nxt,
			tcptw->tw_rcv_nxt, tcptw->tw_rcv_nxt);
	r->rcv_wnd = tcptw->tw_rcv_wnd;
	r->rcv_wscale = tw->tw_rcv_wscale;
	r->options = tcptw->tw_ts_recent_stamp ? FERRY_SOCK_OPT_TIMESTAMPS : 0;
	r->ts_offset = tcptw->tw_ts_offset;
	r->ts_recent = tcptw->tw_ts_recent;
	r->ts_recent_stamp = ferry_secs_ago(tcptw->tw_ts_recent_stamp);
	r->ts_now = ferry_tcp_tw_ts_now(tcptw);
	r->tw_timeout_ms = left > 0 ? jiffies_to_msecs(left) : 0;
}

static void ferry_snap_req(struct ferry_tcp_sock_packed *r, struct ferry_tcp_ctx *ctx,
			   struct ferry_tcp_ent *e)
{
	struct request_sock *req = inet_reqsk(e->sk);
	struct inet_request_sock *ireq = inet_rsk(req);
	struct tcp_request_sock *treq = tcp_rsk(req);
	u32 opts = 0;

	if (ireq->sack_ok)
		opts |= FERRY_SOCK_OPT_SACK;
	if (ireq->tstamp_ok)
		opts |= FERRY_SOCK_OPT_TIMESTAMPS;
	if (ireq->wscale_ok)
		opts |= FERRY_SOCK_OPT_WSCALE;
	if (ireq->ecn_ok)
		opts |= FERRY_SOCK_OPT_ECN;
	ferry_snap_common(r, ctx, e, TCP_SYN_RECV);
	r->present |= FERRY_P_REQ;
	/* The SYN-ACK (snt_isn) is sent, unacked; rcv_nxt is what it acks. */
	ferry_snap_seqs(r, treq->snt_isn, treq->snt_isn + 1, treq->snt_isn + 1,
			treq->rcv_nxt, treq->rcv_nxt);
	r->rcv_wnd = req->rsk_rcv_wnd;
	r->mss_clamp = req->mss;
	r->snd_wscale = ireq->snd_wscale;
	r->rcv_wscale = ireq->rcv_wscale;
	r->options = opts;
	r->ts_offset = treq->ts_off;
	r->ts_recent = req->ts_recent;
	r->ts_now = ferry_tcp_req_ts_now(treq);
	if (req->rsk_listener) {
		r->present |= P(LISTENER);
		r->listener = ferry_sk_cookie(req->rsk_listener);
	}
}

/*
 * Sequence numbers that carry no byte, decided from the socket, not its
 * state (FERRY_TCP_F_SEQ_MARKS).
 *
 * A SYN is unacked when it heads the retransmit queue at snd_una:
 * tcp_connect() and a simultaneous open queue it there, while a Fast Open
 * child's SYN-ACK is the request's, so its snd_una is already its first
 * data byte (tcp_create_openreq_child()).
 */
static bool ferry_syn_unacked(const struct sock *sk)
{
	const struct sk_buff *head = tcp_rtx_queue_head(sk);

	return head && (TCP_SKB_CB(head)->tcp_flags & TCPHDR_SYN) &&
	       TCP_SKB_CB(head)->seq == tcp_sk(sk)->snd_una;
}

/*
 * rcv_nxt counts a FIN not read yet: SOCK_DONE is set by tcp_fin() only
 * (cleared by tcp_disconnect() and tcp_connect_init()), and reading the FIN
 * moves copied_seq onto rcv_nxt. Not the receive queue's tail skb: a
 * close() that left only the FIN unread purges the queue (LAST_ACK or
 * CLOSING, orphaned, still hashed) without moving copied_seq.
 */
static bool ferry_fin_unread(const struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);

	return sock_flag(sk, SOCK_DONE) && tp->copied_seq != tp->rcv_nxt;
}

/*
 * write_seq counts our FIN: it ends the last queued skb. Not the state:
 * tcp_send_fin() enters FIN_WAIT1 or LAST_ACK before it can fail to
 * allocate the FIN's skb, and then write_seq does not count one.
 */
static bool ferry_fin_queued(struct sock *sk)
{
	const struct sk_buff *tail = tcp_write_queue_tail(sk);

	if (!tail)
		tail = skb_rb_last(&sk->tcp_rtx_queue);
	return tail && (TCP_SKB_CB(tail)->tcp_flags & TCPHDR_FIN) &&
	       TCP_SKB_CB(tail)->end_seq == tcp_sk(sk)->write_seq;
}

/* A full socket we own: the snapshot. Also records the byte ranges its
 * queue export will cover. */
static void ferry_snap_full(struct ferry_tcp_sock_packed *r, struct ferry_tcp_ctx *ctx,
			    struct ferry_tcp_ent *e)
{
	struct sock *sk = e->sk;
	const struct inet_connection_sock *icsk = inet_csk(sk);
	const struct tcp_sock *tp = tcp_sk(sk);
	bool marks = ctx->flags & FERRY_TCP_F_SEQ_MARKS;
	u8 state = sk->sk_state;
	bool syn, fin, fin_out, orphan = false;
	u32 opts = 0;

	if (marks) {
		syn = ferry_syn_unacked(sk);
		fin = ferry_fin_unread(sk);
		fin_out = ferry_fin_queued(sk);
		orphan = sock_flag(sk, SOCK_DEAD);
		opts |= FERRY_SOCK_OPT_SEQ_MARKED;
		if (syn)
			opts |= FERRY_SOCK_OPT_SYN_UNACKED;
		if (fin)
			opts |= FERRY_SOCK_OPT_FIN_UNREAD;
		if (fin_out)
			opts |= FERRY_SOCK_OPT_FIN_QUEUED;
		if (orphan)
			opts |= FERRY_SOCK_OPT_ORPHAN;
	} else {
		syn = (1 << state) & (TCPF_SYN_SENT | TCPF_SYN_RECV);
		fin = (1 << state) & (TCPF_CLOSE_WAIT | TCPF_CLOSING | TCPF_LAST_ACK);
		fin_out = (1 << state) & (TCPF_FIN_WAIT1 | TCPF_CLOSING | TCPF_LAST_ACK);
	}
	if (tp->rx_opt.sack_ok)
		opts |= FERRY_SOCK_OPT_SACK;
	if (tp->rx_opt.tstamp_ok)
		opts |= FERRY_SOCK_OPT_TIMESTAMPS;
	if (tp->rx_opt.wscale_ok)
		opts |= FERRY_SOCK_OPT_WSCALE;
	if (tp->ecn_flags & TCP_ECN_OK)
		opts |= FERRY_SOCK_OPT_ECN;
	if (tp->nonagle & TCP_NAGLE_OFF)
		opts |= FERRY_SOCK_OPT_NODELAY;
	if (tp->nonagle & TCP_NAGLE_CORK)
		opts |= FERRY_SOCK_OPT_CORK;
	if (sock_flag(sk, SOCK_KEEPOPEN))
		opts |= FERRY_SOCK_OPT_KEEPALIVE;
	if (tp->repair)
		opts |= FERRY_SOCK_OPT_REPAIR;

	ferry_snap_common(r, ctx, e, state);
	r->present |= FERRY_P_FULL;
	ferry_snap_seqs(r, tp->snd_una, tp->snd_nxt, tp->write_seq, tp->rcv_nxt, tp->copied_seq);
	r->inode = ferry_sk_ino(sk);
	r->snd_wl1 = tp->snd_wl1;
	r->snd_wnd = tp->snd_wnd;
	r->max_window = tp->max_window;
	r->rcv_wnd = tp->rcv_wnd;
	r->rcv_wup = tp->rcv_wup;
	r->mss_clamp = tp->rx_opt.mss_clamp;
	r->mss_cache = tp->mss_cache;
	r->snd_wscale = tp->rx_opt.snd_wscale;
	r->rcv_wscale = tp->rx_opt.rcv_wscale;
	r->options = opts;
	r->ts_offset = tp->tsoffset;
	r->ts_recent = tp->rx_opt.ts_recent;
	r->ts_recent_stamp = ferry_secs_ago(tp->rx_opt.ts_recent_stamp);
	r->ts_now = ferry_tcp_ts_now(tp);
	r->keepidle = keepalive_time_when(tp) / HZ;
	r->keepintvl = keepalive_intvl_when(tp) / HZ;
	r->keepcnt = keepalive_probes(tp);
	r->user_timeout = READ_ONCE(icsk->icsk_user_timeout);
	if (state == TCP_LISTEN) {
		r->present |= P(BACKLOG) | P(ACCEPT_QLEN);
		r->backlog = READ_ONCE(sk->sk_max_ack_backlog);
		r->accept_qlen = READ_ONCE(sk->sk_ack_backlog);
	}

	ctx->snd_acked0 = tp->bytes_acked;
	ctx->rcv_bytes0 = tp->bytes_received;
	ctx->rcv_nxt0 = tp->rcv_nxt;
	if (state == TCP_LISTEN || (state == TCP_CLOSE && !marks)) {
		/* No stream, no queues. */
		ctx->snd_base = ctx->snd_seq = ctx->snd_end = 0;
		ctx->rcv_base = ctx->rcv_seq = ctx->rcv_end = 0;
		return;
	}
	/* Byte ranges: an unacked SYN or FIN takes a sequence number but
	 * carries no byte. */
	ctx->snd_base = ctx->snd_seq = tp->snd_una;
	if (state == TCP_CLOSE || (marks && state == TCP_SYN_SENT && !syn)) {
		/* What was not acked is gone: tcp_reset() purged it, and a
		 * socket done with FIN_WAIT2 had everything acked. A
		 * TCP_FASTOPEN_CONNECT connect() defers its SYN (and
		 * tcp_connect_init(), which sets snd_una) to the first
		 * write: nothing is queued. */
		ctx->snd_end = tp->snd_una;
	} else {
		if (syn)
			ctx->snd_seq++;
		ctx->snd_end = tp->write_seq;
		if (fin_out)
			ctx->snd_end--;
	}
	ctx->rcv_base = ctx->rcv_seq = tp->copied_seq;
	ctx->rcv_end = tp->rcv_nxt;
	if (fin)
		ctx->rcv_end--;
	/* Closed by its application: __tcp_close() purged what it had not
	 * read (copied_seq stays), and nobody will read it. */
	if (orphan)
		ctx->rcv_end = ctx->rcv_seq;
	if (after(ctx->snd_seq, ctx->snd_end))
		ctx->snd_seq = ctx->snd_end;
	if (after(ctx->rcv_seq, ctx->rcv_end))
		ctx->rcv_seq = ctx->rcv_end;
}

/* ---- attribute format ------------------------------------------------ */

/*
 * The SOCK nest is written without a per-attribute room check (the caller
 * checked FERRY_TCP_SOCK_ROOM once): tens of thousands of sockets, ~45
 * attributes each. Padding bytes are zeroed.
 */
static inline void *fput_hdr(struct sk_buff *skb, int type, int len)
{
	struct nlattr *a = __skb_put(skb, NLA_ALIGN(NLA_HDRLEN + len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len & (NLA_ALIGNTO - 1))
		*(u32 *)((char *)a + NLA_ALIGN(NLA_HDRLEN + len) - NLA_ALIGNTO) = 0;
	return nla_data(a);
}

#define FF(a, field) { FERRY_SOCK_A_##a, sizeof_field(struct ferry_tcp_sock_packed, field), \
		       offsetof(struct ferry_tcp_sock_packed, field) }
static const struct {
	u8 type, size;
	u16 off;
} ferry_sock_fields[] = {
	FF(COOKIE, cookie), FF(INODE, inode), FF(PID, pid), FF(FD, fd),
	FF(FAMILY, family), FF(STATE, state), FF(SPORT, sport), FF(DPORT, dport),
	FF(SND_UNA, snd_una), FF(SND_NXT, snd_nxt), FF(WRITE_SEQ, write_seq),
	FF(RCV_NXT, rcv_nxt), FF(COPIED_SEQ, copied_seq), FF(SND_WL1, snd_wl1),
	FF(SND_WND, snd_wnd), FF(MAX_WINDOW, max_window), FF(RCV_WND, rcv_wnd),
	FF(RCV_WUP, rcv_wup), FF(MSS_CLAMP, mss_clamp), FF(MSS_CACHE, mss_cache),
	FF(SND_WSCALE, snd_wscale), FF(RCV_WSCALE, rcv_wscale), FF(OPTIONS, options),
	FF(TS_OFFSET, ts_offset), FF(TS_RECENT, ts_recent),
	FF(TS_RECENT_STAMP, ts_recent_stamp), FF(TS_NOW, ts_now),
	FF(KEEPIDLE, keepidle), FF(KEEPINTVL, keepintvl), FF(KEEPCNT, keepcnt),
	FF(USER_TIMEOUT, user_timeout), FF(SNDQ_BYTES, sndq_bytes),
	FF(UNSENT_BYTES, unsent_bytes), FF(RCVQ_BYTES, rcvq_bytes),
	FF(TW_TIMEOUT_MS, tw_timeout_ms), FF(BOUND_DEV, bound_dev),
	FF(LISTENER, listener), FF(BACKLOG, backlog), FF(ACCEPT_QLEN, accept_qlen),
};
#undef FF

static void ferry_put_sock_attrs(struct sk_buff *skb, const struct ferry_tcp_sock_packed *r)
{
	struct nlattr *nest = (struct nlattr *)skb_tail_pointer(skb);
	int alen = r->family == AF_INET6 ? 16 : 4;
	unsigned int i;

	fput_hdr(skb, FERRY_TCP_A_SOCK | NLA_F_NESTED, 0);
	for (i = 0; i < ARRAY_SIZE(ferry_sock_fields); i++) {
		int type = ferry_sock_fields[i].type;

		if (r->present & (1ULL << type))
			memcpy(fput_hdr(skb, type, ferry_sock_fields[i].size),
			       (const char *)r + ferry_sock_fields[i].off,
			       ferry_sock_fields[i].size);
	}
	memcpy(fput_hdr(skb, FERRY_SOCK_A_SRC, alen), r->src, alen);
	memcpy(fput_hdr(skb, FERRY_SOCK_A_DST, alen), r->dst, alen);
	if (r->present & P(ACCEPT_PENDING))
		fput_hdr(skb, FERRY_SOCK_A_ACCEPT_PENDING, 0);
	nest->nla_len = skb_tail_pointer(skb) - (unsigned char *)nest;
	WARN_ON_ONCE(nest->nla_len > FERRY_TCP_SOCK_ROOM);
}

/*
 * The socket's record (the caller owns a full socket). Packed: the
 * record, then as many queue bytes as fit in the same attribute. The
 * queues' remaining bytes, if any, follow in ctx->step.
 */
int ferry_put_record(struct sk_buff *skb, struct ferry_tcp_ctx *ctx,
		     struct ferry_tcp_ent *e)
{
	struct ferry_tcp_sock_packed r;
	struct nlattr *a;
	u32 snd0, rcv0, len;
	bool full = false;

	if (skb_tailroom(skb) < ((ctx->flags & FERRY_TCP_F_PACKED) ? FERRY_TCP_PACKED_ROOM
								  : FERRY_TCP_SOCK_ROOM))
		return -EMSGSIZE;
	memset(&r, 0, sizeof(r));
	ctx->snd_gone = ctx->rcv_gone = false;
	r.size = sizeof(r);
	r.version = FERRY_TCP_PACKED_VERSION;
	switch (e->sk->sk_state) {
	case TCP_TIME_WAIT:
		ferry_snap_tw(&r, ctx, e);
		break;
	case TCP_NEW_SYN_RECV:
		ferry_snap_req(&r, ctx, e);
		break;
	default:
		ferry_snap_full(&r, ctx, e);
		full = true;
		break;
	}
	ctx->step = full && (ctx->flags & FERRY_TCP_F_DATA) ? STEP_SEND : STEP_DONE;
	if (!(ctx->flags & FERRY_TCP_F_PACKED)) {
		ferry_put_sock_attrs(skb, &r);
		ctx->enc = ENC_NEST;
		return 0;
	}

	a = __skb_put(skb, NLA_HDRLEN + sizeof(r));
	if (ctx->step == STEP_SEND) {
		ctx->enc = ENC_INLINE;
		snd0 = ctx->snd_seq;
		rcv0 = ctx->rcv_seq;
		if (!ferry_put_sendq(skb, ctx, e->sk)) {
			ctx->step = STEP_RECV;
			if (!ferry_put_recvq(skb, ctx, e->sk))
				ctx->step = STEP_DONE;
		}
		r.snd_inline = ctx->snd_seq - snd0;
		r.rcv_inline = ctx->rcv_seq - rcv0;
	}
	ctx->enc = ENC_CHUNK;
	len = NLA_HDRLEN + sizeof(r) + r.snd_inline + r.rcv_inline;
	a->nla_type = FERRY_TCP_A_PACKED;
	a->nla_len = len;
	memcpy(nla_data(a), &r, sizeof(r));
	if (len & (NLA_ALIGNTO - 1))
		skb_put_zero(skb, NLA_ALIGN(len) - len);
	return 0;
}

/* Export ents[pos], continuing where the last message ended. 0: done with
 * it; -EMSGSIZE: the message is full (progress saved). */
