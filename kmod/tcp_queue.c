// SPDX-License-Identifier: GPL-2.0
/*
 * TCP_DUMP: the bytes queued in a socket, exported from the snapshot's
 * byte ranges ([snd_una, write_seq) and [copied_seq, rcv_nxt), without an
 * unacked SYN or FIN), straight from the socket's skbs into the netlink
 * message under the socket lock, never buffered.
 *
 * When the message is full the lock is dropped and the export goes on in
 * the next dumpit call from the saved sequence number. TCP sequence space
 * maps each number to one byte, so re-locking and copying from the saved
 * number yields exactly the bytes of the snapshot as long as they are still
 * queued and the connection is the same one (checked with the 64-bit byte
 * counters, see ferry_queues_check_resume()); bytes that left (acked,
 * read, reset) end the queue's export with a GONE marker instead.
 */
#include <linux/rbtree.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <net/sock.h>
#include <net/tcp.h>
#include "ferry.h"
#include "tcp.h"

/* Room a DATA nest needs besides its bytes (nest, cookie, queue, offset,
 * bytes header, alignment), and the smallest chunk worth a nest. */
#define FERRY_TCP_CHUNK_OVERHEAD	64
#define FERRY_TCP_MIN_CHUNK		256

/* Where one queue's export stands. */
struct ferry_qpos {
	u8 queue;			/* enum ferry_tcp_queue */
	u32 base, *seq, end;		/* offsets count from base */
};

static int ferry_put_gone(struct sk_buff *skb, struct ferry_tcp_ctx *ctx,
			  const struct ferry_qpos *q)
{
	u32 off = *q->seq - q->base;
	struct nlattr *nest;

	if (ctx->enc == ENC_CHUNK) {
		struct ferry_tcp_qchunk h = {
			.cookie = ctx->cookie, .offset = off, .queue = q->queue,
			.flags = FERRY_TCP_QCHUNK_F_GONE,
		};

		return nla_put(skb, FERRY_TCP_A_QCHUNK, sizeof(h), &h);
	}
	nest = nla_nest_start(skb, FERRY_TCP_A_DATA);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u64_64bit(skb, FERRY_QDATA_A_COOKIE, ctx->cookie, FERRY_QDATA_A_PAD) ||
	    nla_put_u8(skb, FERRY_QDATA_A_QUEUE, q->queue) ||
	    nla_put_u32(skb, FERRY_QDATA_A_OFFSET, off) ||
	    nla_put_flag(skb, FERRY_QDATA_A_GONE)) {
		nla_nest_cancel(skb, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(skb, nest);
	return 0;
}

/* Copy len bytes at offset off of qskb to the message tail; undone on error. */
static int ferry_copy_bytes(struct sk_buff *skb, const struct sk_buff *qskb, u32 off, u32 len)
{
	int ret = skb_copy_bits(qskb, off, __skb_put(skb, len), len);

	if (ret)
		__skb_trim(skb, skb->len - len);
	return ret;
}

/*
 * Copy up to len bytes at offset off of qskb (queue offset qoff) into the
 * message, as many as it has room for, in ctx->enc. Returns the bytes
 * copied (0: no room), or a negative error if the skb's bytes cannot be
 * read.
 */
static int ferry_put_chunk(struct sk_buff *skb, struct ferry_tcp_ctx *ctx, u8 queue,
			   u32 qoff, const struct sk_buff *qskb, u32 off, u32 len)
{
	int room = skb_tailroom(skb) - (NLA_ALIGNTO - 1);
	struct nlattr *nest, *data;
	int ret;

	if (ctx->enc == ENC_INLINE) {
		/* Any amount; the record's final padding stays free. */
		if (room <= 0)
			return 0;
		len = min_t(u32, len, room);
		ret = ferry_copy_bytes(skb, qskb, off, len);
		return ret ? ret : len;
	}
	room -= ctx->enc == ENC_CHUNK ? NLA_HDRLEN + sizeof(struct ferry_tcp_qchunk)
				      : FERRY_TCP_CHUNK_OVERHEAD;
	if (room < (int)min_t(u32, len, FERRY_TCP_MIN_CHUNK))
		return 0;
	len = min_t(u32, len, room);
	if (ctx->enc == ENC_CHUNK) {
		struct ferry_tcp_qchunk h = {
			.cookie = ctx->cookie, .offset = qoff, .queue = queue,
		};
		struct nlattr *a = __skb_put(skb, NLA_HDRLEN + sizeof(h));

		a->nla_type = FERRY_TCP_A_QCHUNK;
		a->nla_len = NLA_HDRLEN + sizeof(h) + len;
		memcpy(nla_data(a), &h, sizeof(h));
		ret = ferry_copy_bytes(skb, qskb, off, len);
		if (ret) {
			nlmsg_trim(skb, a);
			return ret;
		}
		if (len & (NLA_ALIGNTO - 1))
			skb_put_zero(skb, NLA_ALIGN(len) - len);
		return len;
	}
	nest = nla_nest_start(skb, FERRY_TCP_A_DATA);
	if (!nest)
		return 0;
	if (nla_put_u64_64bit(skb, FERRY_QDATA_A_COOKIE, ctx->cookie, FERRY_QDATA_A_PAD) ||
	    nla_put_u8(skb, FERRY_QDATA_A_QUEUE, queue) ||
	    nla_put_u32(skb, FERRY_QDATA_A_OFFSET, qoff))
		goto cancel;
	data = nla_reserve(skb, FERRY_QDATA_A_BYTES, len);
	if (!data)
		goto cancel;
	ret = skb_copy_bits(qskb, off, nla_data(data), len);
	if (ret) {
		nla_nest_cancel(skb, nest);
		return ret;
	}
	nla_nest_end(skb, nest);
	return len;
cancel:
	nla_nest_cancel(skb, nest);
	return 0;
}

/*
 * Export the bytes of the queue's remaining range found in one skb of it.
 * Returns 0 when the skb is used up or did not cover the next byte,
 * -EMSGSIZE when the message is full, or another error.
 */
static int ferry_put_qskb(struct sk_buff *skb, struct ferry_tcp_ctx *ctx,
			  const struct ferry_qpos *q, const struct sk_buff *qskb)
{
	const struct tcp_skb_cb *cb = TCP_SKB_CB(qskb);
	u32 dseq = cb->seq + !!(cb->tcp_flags & TCPHDR_SYN);	/* first data byte */
	u32 dend = dseq + qskb->len;
	int n;

	if (after(dseq, *q->seq) || !after(dend, *q->seq))
		return 0;
	if (after(dend, q->end))
		dend = q->end;
	while (before(*q->seq, dend)) {
		n = ferry_put_chunk(skb, ctx, q->queue, *q->seq - q->base, qskb,
				    *q->seq - dseq, dend - *q->seq);
		if (n < 0)
			return n;
		if (n == 0)
			return -EMSGSIZE;
		*q->seq += n;
	}
	return 0;
}

/*
 * After walking a queue's skbs (ret: the last ferry_put_qskb() result):
 * 0 when its range is exported; -EMSGSIZE to go on in the next message;
 * else the bytes from *seq on left the socket since the snapshot (or
 * cannot be read): end this queue's export with a GONE marker. Inline
 * copying never marks: it leaves that to the chunk encoding that follows.
 */
static int ferry_queue_end(struct sk_buff *skb, struct ferry_tcp_ctx *ctx,
			   const struct ferry_qpos *q, int ret)
{
	if (!ret && !before(*q->seq, q->end))
		return 0;
	if (ret == -EMSGSIZE || ctx->enc == ENC_INLINE)
		return -EMSGSIZE;
	ret = ferry_put_gone(skb, ctx, q);
	if (!ret)
		*q->seq = q->end;
	return ret;
}

/*
 * The skb of the retransmit queue holding seq, else the first one after
 * it, else NULL: a search of the rb-tree (keyed by sequence number, as
 * tcp_sacktag_bsearch() does), so that resuming a large queue in a later
 * message does not walk it from the start every time under the socket
 * lock.
 */
static struct sk_buff *ferry_rtx_find(struct sock *sk, u32 seq)
{
	struct rb_node *p = sk->tcp_rtx_queue.rb_node;
	struct sk_buff *after_seq = NULL;

	while (p) {
		struct sk_buff *skb = rb_to_skb(p);

		if (before(seq, TCP_SKB_CB(skb)->seq)) {
			after_seq = skb;
			p = p->rb_left;
		} else if (!before(seq, TCP_SKB_CB(skb)->end_seq)) {
			p = p->rb_right;
		} else {
			return skb;
		}
	}
	return after_seq;
}

/* Send queue: retransmit rb-tree (sent, unacked), then the write queue. */
int ferry_put_sendq(struct sk_buff *skb, struct ferry_tcp_ctx *ctx, struct sock *sk)
{
	struct ferry_qpos q = { FERRY_TCP_QUEUE_SEND, ctx->snd_base, &ctx->snd_seq, ctx->snd_end };
	struct sk_buff *qskb;
	int ret = 0;

	if (ctx->snd_gone && before(ctx->snd_seq, ctx->snd_end))
		return ferry_queue_end(skb, ctx, &q, -ENODATA);
	for (qskb = ferry_rtx_find(sk, ctx->snd_seq);
	     qskb && !ret && before(ctx->snd_seq, ctx->snd_end); qskb = skb_rb_next(qskb))
		ret = ferry_put_qskb(skb, ctx, &q, qskb);
	skb_queue_walk(&sk->sk_write_queue, qskb) {
		if (ret || !before(ctx->snd_seq, ctx->snd_end))
			break;
		ret = ferry_put_qskb(skb, ctx, &q, qskb);
	}
	return ferry_queue_end(skb, ctx, &q, ret);
}

int ferry_put_recvq(struct sk_buff *skb, struct ferry_tcp_ctx *ctx, struct sock *sk)
{
	struct ferry_qpos q = { FERRY_TCP_QUEUE_RECV, ctx->rcv_base, &ctx->rcv_seq, ctx->rcv_end };
	struct sk_buff *qskb;
	int ret = 0;

	if (ctx->rcv_gone && before(ctx->rcv_seq, ctx->rcv_end))
		return ferry_queue_end(skb, ctx, &q, -ENODATA);
	skb_queue_walk(&sk->sk_receive_queue, qskb) {
		if (ret || !before(ctx->rcv_seq, ctx->rcv_end))
			break;
		ret = ferry_put_qskb(skb, ctx, &q, qskb);
	}
	return ferry_queue_end(skb, ctx, &q, ret);
}

/*
 * Before a queue export goes on in a later message (the socket was
 * unlocked in between): is it still the stream of the snapshot, and is
 * its next byte still queued? The 64-bit byte counters move in step with
 * snd_una and rcv_nxt (tcp_snd_una_update(), tcp_rcv_nxt_update()); if
 * their progress does not match the sequence numbers' modulo 2^32, the
 * connection was reset and reconnected (tcp_disconnect() zeroes them) or
 * rewritten in repair mode, and sequence numbers no longer name the same
 * bytes. Otherwise the counters tell, without 32-bit wrap-around, whether
 * the peer acked (send) or the application read (receive) past the next
 * byte to export. Either way the rest of that queue is reported GONE.
 */
void ferry_queues_check_resume(struct ferry_tcp_ctx *ctx, struct sock *sk)
{
	const struct tcp_sock *tp = tcp_sk(sk);
	u64 acked = tp->bytes_acked, got = tp->bytes_received;

	if (ctx->step == STEP_SEND &&
	    (acked < ctx->snd_acked0 ||
	     (u32)(acked - ctx->snd_acked0) != (u32)(tp->snd_una - ctx->snd_base) ||
	     acked - ctx->snd_acked0 > (u64)(u32)(ctx->snd_seq - ctx->snd_base)))
		ctx->snd_gone = true;
	if (ctx->step == STEP_SEND || ctx->step == STEP_RECV) {
		/* 64-bit positions: the first unread byte now, and ours. */
		u64 unread_at = got - (u32)(tp->rcv_nxt - tp->copied_seq);
		u64 next_at = ctx->rcv_bytes0 - (u32)(ctx->rcv_nxt0 - ctx->rcv_seq);

		if (got < ctx->rcv_bytes0 ||
		    (u32)(got - ctx->rcv_bytes0) != (u32)(tp->rcv_nxt - ctx->rcv_nxt0) ||
		    unread_at > next_at)
			ctx->rcv_gone = true;
	}
}
