/* SPDX-License-Identifier: GPL-2.0 */
/*
 * FERRY_CMD_TCP_DUMP, between its files:
 *   tcp.c        the dump itself: request, per-dump context, one socket
 *                after another, genetlink callbacks
 *   tcp_find.c   finding the sockets (a process tree's file tables, or a
 *                network namespace's hash tables) and pinning them
 *   tcp_snap.c   the snapshot of one socket and its two encodings
 *   tcp_queue.c  the bytes queued in a socket, exported in pieces
 */
#ifndef FERRY_TCP_H
#define FERRY_TCP_H

#include <linux/netlink.h>
#include <linux/pid.h>
#include <linux/skbuff.h>
#include <net/inet_hashtables.h>
#include <net/sock.h>

/* Entries pinned at a time in netns mode. */
#define FERRY_TCP_BATCH		256

enum {
	ENT_PENDING	= 1U << 0,	/* in a listener's accept queue */
	ENT_HAS_FD	= 1U << 1,	/* pid/fd are set */
};

struct ferry_tcp_ent {
	struct sock *sk;		/* referenced */
	u64 listener;			/* listener cookie for ENT_PENDING */
	u32 pid, fd, flags;
};

enum ferry_tcp_step {
	STEP_HDR,
	STEP_SEND,
	STEP_RECV,
	STEP_DONE,
};

enum ferry_tcp_scan {
	SCAN_LISTEN,
	SCAN_EHASH,
	SCAN_DONE,
};

/* Cookies of the sockets a netns dump already reported (a growable hash
 * set, open addressing; 0 is never a cookie). */
struct ferry_cookie_set {
	u64 *slot;
	unsigned int bits, used;
};

struct ferry_tcp_ctx {
	u32 flags;
	bool finished;
	struct net *net;			/* netns mode, referenced */
	struct inet_hashinfo *hinfo;		/* netns mode */
	enum ferry_tcp_scan scan;
	unsigned int bucket;
	struct ferry_cookie_set pending;	/* netns mode: accept-queue
						 * children the listen pass
						 * reported */

	struct ferry_tcp_ent *ents;
	unsigned int n, cap, pos;

	/* Progress within ents[pos]. */
	enum ferry_tcp_step step;
	int enc;				/* enum ferry_tcp_enc */
	u64 cookie;
	u32 snd_base, snd_seq, snd_end;		/* [snd_una, write_seq) */
	u32 rcv_base, rcv_seq, rcv_end;		/* [copied_seq, rcv_nxt) */
	/*
	 * Where the 64-bit byte counters stood at the snapshot: a queue
	 * export resumed in a later message checks with them that it is
	 * still the same byte stream and that its next byte is still queued
	 * (32-bit sequence numbers alone cannot tell after 2^31 bytes of
	 * progress, or after a disconnect and reconnect).
	 */
	u64 snd_acked0;				/* tp->bytes_acked at snd_base */
	u64 rcv_bytes0;				/* tp->bytes_received ... */
	u32 rcv_nxt0;				/* ... at this rcv_nxt */
	bool snd_gone, rcv_gone;		/* the rest of that queue left */
};

/* Queue bytes go out in one of three encodings (ctx->enc): DATA nests
 * (attribute format), QCHUNK attributes (packed format), or raw bytes
 * appended to the socket's PACKED record while it is being written. */
enum ferry_tcp_enc {
	ENC_NEST,
	ENC_CHUNK,
	ENC_INLINE,
};

u64 ferry_sk_cookie(struct sock *sk);

/* tcp_find.c */
int ferry_ents_grow(struct ferry_tcp_ctx *ctx);
void ferry_ents_put(struct ferry_tcp_ctx *ctx, unsigned int from);
int ferry_collect_tree(struct ferry_tcp_ctx *ctx, struct task_struct *root,
		       struct netlink_ext_ack *extack);
int ferry_refill(struct ferry_tcp_ctx *ctx);
void ferry_cookie_set_free(struct ferry_cookie_set *s);

/* tcp_snap.c: the record of ents[pos] (ctx->step set for the queues) */
int ferry_put_record(struct sk_buff *skb, struct ferry_tcp_ctx *ctx,
		     struct ferry_tcp_ent *e);

/* tcp_queue.c */
int ferry_put_sendq(struct sk_buff *skb, struct ferry_tcp_ctx *ctx, struct sock *sk);
int ferry_put_recvq(struct sk_buff *skb, struct ferry_tcp_ctx *ctx, struct sock *sk);
void ferry_queues_check_resume(struct ferry_tcp_ctx *ctx, struct sock *sk);

#endif /* FERRY_TCP_H */
