/* SPDX-License-Identifier: GPL-2.0 */
/*
 * TCP socket state as exported by ferry.ko (FERRY_CMD_TCP_DUMP): run the
 * dump, parse it into structs, reassemble queue data; and rebuild a socket
 * from such a snapshot with TCP_REPAIR. Used by `ferry tcp`, the tests and
 * the migration engine.
 */
#ifndef FERRY_TCP_STATE_H
#define FERRY_TCP_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <libmnl/libmnl.h>
#include <linux/ferry.h>

struct ferry_nl;

/* Reassembled bytes of one queue. */
struct ferry_tcp_qbuf {
	uint8_t *buf;
	uint32_t len;		/* contiguous bytes received, from offset 0 */
	uint32_t cap;
	bool gone;		/* kernel reported FERRY_QDATA_A_GONE */
	bool borrowed;		/* buf lives in the dump's arena */
};

struct ferry_tcp_sock {
	uint64_t present;	/* bit (1 << FERRY_SOCK_A_x): attribute seen */
	uint64_t cookie, inode, listener;
	uint32_t pid, fd;
	uint8_t family, state;
	uint8_t src[16], dst[16];	/* network order; 4 bytes for IPv4 */
	uint16_t sport, dport;
	uint32_t snd_una, snd_nxt, write_seq, rcv_nxt, copied_seq;
	uint32_t snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup;
	uint16_t mss_clamp, mss_cache;
	uint8_t snd_wscale, rcv_wscale;
	uint32_t options;		/* enum ferry_sock_opt */
	uint32_t ts_offset, ts_recent, ts_recent_stamp, ts_now;
	uint32_t keepidle, keepintvl, keepcnt, user_timeout;
	uint32_t sndq_bytes, unsent_bytes, rcvq_bytes;
	uint32_t tw_timeout_ms, bound_dev, backlog, accept_qlen;
	bool accept_pending;
	struct ferry_tcp_qbuf sendq, recvq;	/* with FERRY_TCP_F_DATA */
};

struct ferry_tcp_dump {
	struct ferry_tcp_sock *socks;
	size_t n, cap;
	uint32_t flags;			/* request flags */
	size_t last;			/* index of the last socket chunks hit */
	struct ferry_tcp_arena *arena;	/* small queue buffers, freed at once */
	uint64_t messages, data_bytes;	/* statistics */
	struct ferry_tcp_arena *spare;	/* arena chunks kept for reuse */
};

static inline bool ferry_tcp_has(const struct ferry_tcp_sock *s, int attr)
{
	return s->present & (1ULL << attr);
}

/* Run TCP_DUMP for pid with flags (enum ferry_tcp_flag) into *d (zeroed by
 * the call; free with ferry_tcp_dump_free even on failure). -errno. Asks
 * for the packed encoding (FERRY_TCP_F_PACKED) with marked sequence
 * numbers (FERRY_TCP_F_SEQ_MARKS), and drops what an older module does
 * not know: the attribute encoding, state-decided SYN and FIN. */
int ferry_tcp_dump_run(struct ferry_nl *nl, uint32_t pid, uint32_t flags,
		       struct ferry_tcp_dump *d);
/* The same with exactly these request flags (no format choice, no
 * fallback): for tests and benchmarks comparing the encodings. */
int ferry_tcp_dump_request(struct ferry_nl *nl, uint32_t pid, uint32_t flags,
			   struct ferry_tcp_dump *d);
void ferry_tcp_dump_free(struct ferry_tcp_dump *d);
/* Run the dump again into a d filled before (by any of these calls, or
 * zeroed), reusing its memory: for callers that dump periodically (fresh
 * memory costs a page fault per page). Previous contents are gone; free
 * with ferry_tcp_dump_free as usual. Exactly these request flags (add
 * FERRY_TCP_F_PACKED for the packed encoding), no fallback. */
int ferry_tcp_dump_rerun(struct ferry_nl *nl, uint32_t pid, uint32_t flags,
			 struct ferry_tcp_dump *d);
/* Empty d for reuse (no sockets), keeping its memory. */
void ferry_tcp_dump_reset(struct ferry_tcp_dump *d);

/* Pure parsing, exposed for tests: one FERRY_TCP_A_SOCK nest into a new
 * socket of d, and one FERRY_TCP_A_DATA nest into its socket's queue. */
int ferry_tcp_parse_sock(struct ferry_tcp_dump *d, const struct nlattr *nest);
int ferry_tcp_parse_data(struct ferry_tcp_dump *d, const struct nlattr *nest);
/* Packed encoding: the payload of one FERRY_TCP_A_PACKED attribute (a
 * struct ferry_tcp_sock_packed of any version >= 1 plus inline queue bytes)
 * into a new socket of d, and of one FERRY_TCP_A_QCHUNK into its socket's
 * queue. -EPROTO if malformed. */
int ferry_tcp_parse_packed(struct ferry_tcp_dump *d, const void *buf, size_t len);
int ferry_tcp_parse_qchunk(struct ferry_tcp_dump *d, const void *buf, size_t len);
/* Feed one whole reply message (genl payload) to d. */
int ferry_tcp_parse_msg(struct ferry_tcp_dump *d, const struct nlmsghdr *nlh);

/* Append len bytes at byte offset off of a queue; chunks must arrive in
 * order without gaps or overlaps and stay within max bytes. -EPROTO else. */
int ferry_tcp_queue_put(struct ferry_tcp_qbuf *q, uint32_t off, const void *buf,
			uint32_t len, uint32_t max);

/* The number of data bytes the kernel exports for each queue of s: the
 * byte ranges [snd_una, write_seq) and [copied_seq, rcv_nxt) without an
 * unacked SYN or FIN; 0 for LISTEN and timewait/request sockets, and for
 * CLOSE ones unless the module marked them (FERRY_TCP_F_SEQ_MARKS: then
 * a CLOSE socket's unread bytes count). */
uint32_t ferry_tcp_sendq_expected(const struct ferry_tcp_sock *s);
uint32_t ferry_tcp_recvq_expected(const struct ferry_tcp_sock *s);
/* snd_una is an unacked SYN's sequence number (the first byte comes at
 * offset 1): as the module marked it, else from the state. */
bool ferry_tcp_syn_unacked(const struct ferry_tcp_sock *s);
/* The unsent tail of the send queue (written after repair is off). */
uint32_t ferry_tcp_sendq_unsent(const struct ferry_tcp_sock *s);
/* Both queues fully exported (requires FERRY_TCP_F_DATA). */
bool ferry_tcp_data_complete(const struct ferry_tcp_sock *s);

struct ferry_tcp_sock *ferry_tcp_find(struct ferry_tcp_dump *d, uint64_t cookie);

const char *ferry_tcp_state_name(unsigned int state);	/* "ESTABLISHED" */
int ferry_tcp_state_from_name(const char *name);	/* -1 if unknown */

/* "10.0.0.1:80" / "[fd00::1]:80" */
void ferry_tcp_fmt_addr(char *buf, size_t size, int family, const uint8_t *addr,
			uint16_t port);

/*
 * Rebuild an ESTABLISHED connection from a snapshot with TCP_REPAIR (needs
 * CAP_NET_ADMIN and the local address present in the caller's netns):
 * sequence numbers, options, window, timestamps and both queues. The socket
 * leaves repair mode and is returned in *fd. Needs complete queue data.
 */
int ferry_tcp_restore(const struct ferry_tcp_sock *s, int *fd);

#endif
