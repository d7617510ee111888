/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * ferry: kernel-assisted live migration -- the one kernel/user ABI.
 *
 * Generic netlink family FERRY_GENL_NAME. Every command has its own
 * attribute space, validated by its own strict policy in the module.
 *
 * Rules: this header is shared verbatim by kmod/ and user/. Released
 * values are never renumbered or reused; new attributes, commands,
 * flags and features are only appended. Bump FERRY_ABI_VERSION when a
 * change is not backward compatible (which should be never).
 */
#ifndef _UAPI_LINUX_FERRY_H
#define _UAPI_LINUX_FERRY_H

#include <linux/types.h>

#define FERRY_GENL_NAME		"ferry"
#define FERRY_GENL_VERSION	1
/* ABI revision of this header; the INFO reply carries the module's. */
#define FERRY_ABI_VERSION	1

enum ferry_cmd {
	FERRY_CMD_UNSPEC,
	FERRY_CMD_INFO,		/* doit: module version, ABI, features */
	FERRY_CMD_DIRTY_SCAN,	/* dumpit: soft-dirty extents of a process */
	FERRY_CMD_TCP_DUMP,	/* dumpit: TCP socket repair state */
	__FERRY_CMD_MAX,
};
#define FERRY_CMD_MAX (__FERRY_CMD_MAX - 1)

/* FERRY_INFO_A_FEATURES bits: what this module build can do. */
enum ferry_feature {
	FERRY_FEATURE_DIRTY_SCAN	= 1ULL << 0, /* DIRTY_SCAN report */
	FERRY_FEATURE_DIRTY_CLEAR	= 1ULL << 1, /* DIRTY_SCAN with CLEAR */
	FERRY_FEATURE_TCP_DUMP		= 1ULL << 2, /* TCP_DUMP */
	FERRY_FEATURE_TCP_DATA		= 1ULL << 3, /* TCP_DUMP queue data */
	FERRY_FEATURE_TCP_PACKED	= 1ULL << 4, /* TCP_DUMP FERRY_TCP_F_PACKED */
	/* DIRTY_SCAN reports hugetlb and VM_PFNMAP ranges whole on every
	 * scan (FERRY_EXTENT_F_UNTRACKED) and refuses CLEAR on an mm with
	 * MMU notifiers (EOPNOTSUPP). */
	FERRY_FEATURE_DIRTY_UNTRACKED	= 1ULL << 5,
	FERRY_FEATURE_TCP_SEQ_MARKS	= 1ULL << 6, /* TCP_DUMP FERRY_TCP_F_SEQ_MARKS */
};

/* ---- FERRY_CMD_INFO ---------------------------------------------------- */
enum ferry_info_attr {
	FERRY_INFO_A_UNSPEC,
	FERRY_INFO_A_VERSION,		/* string: module version, "x.y.z" */
	FERRY_INFO_A_ABI,		/* u32: FERRY_ABI_VERSION of the module */
	FERRY_INFO_A_FEATURES,		/* u64: enum ferry_feature bits */
	FERRY_INFO_A_KERNEL,		/* string: utsname release built for */
	FERRY_INFO_A_PAD,
	__FERRY_INFO_A_MAX,
};
#define FERRY_INFO_A_MAX (__FERRY_INFO_A_MAX - 1)

/* ---- FERRY_CMD_DIRTY_SCAN ---------------------------------------------- */
/*
 * Request: PID (required), START/END (optional, page aligned, START < END;
 * default the whole user address space), FLAGS.
 * Reply: a multi-part dump; each message carries one or more EXTENT nests;
 * the last message also carries a STATS nest.
 *
 * Soft-dirty semantics equal bit 55 of /proc/PID/pagemap: a page is dirty
 * when its PTE/PMD (or swap entry) is soft-dirty, or when its VMA has
 * VM_SOFTDIRTY set (then every page of the VMA, present or not, is dirty
 * and extents carry FERRY_EXTENT_F_VMA_SOFTDIRTY). Memory soft-dirty does
 * not track (hugetlb, VM_PFNMAP, 1 GiB leaf mappings) is reported whole on
 * every scan with FERRY_EXTENT_F_UNTRACKED. CLEAR leaves a few reported
 * pages soft-dirty, so that the next scan reports them again (extents
 * without FERRY_EXTENT_F_CLEARED): pages that may be pinned for DMA in COW
 * mappings, writable migration entries and device entries. CLEAR fails
 * with EOPNOTSUPP (and an extack reason) on a process whose mm has MMU
 * notifiers (KVM, IOMMU SVA, RDMA ODP): their secondary TLBs would keep
 * writing without setting soft-dirty.
 */
enum ferry_dirty_flag {
	/* Atomically report and re-arm (clear soft-dirty and write-protect)
	 * each reported page, under its page-table lock. A write made after
	 * a page is reported is reported by the next scan. */
	FERRY_DIRTY_F_CLEAR	= 1U << 0,
	/* Reply with FERRY_DIRTY_A_PACKED arrays instead of EXTENT nests:
	 * 16 bytes per extent, one attribute per message. */
	FERRY_DIRTY_F_PACKED	= 1U << 1,
};
#define FERRY_DIRTY_F_ALL (FERRY_DIRTY_F_CLEAR | FERRY_DIRTY_F_PACKED)

enum ferry_dirty_attr {
	FERRY_DIRTY_A_UNSPEC,
	FERRY_DIRTY_A_PID,		/* u32, request */
	FERRY_DIRTY_A_START,		/* u64, request */
	FERRY_DIRTY_A_END,		/* u64, request (exclusive) */
	FERRY_DIRTY_A_FLAGS,		/* u32, request: enum ferry_dirty_flag */
	FERRY_DIRTY_A_EXTENT,		/* nest, reply: enum ferry_extent_attr */
	FERRY_DIRTY_A_STATS,		/* nest, reply: enum ferry_dstat_attr */
	FERRY_DIRTY_A_PAD,
	FERRY_DIRTY_A_PACKED,		/* binary, reply (FERRY_DIRTY_F_PACKED):
					 * struct ferry_dirty_packed[] */
	__FERRY_DIRTY_A_MAX,
};
#define FERRY_DIRTY_A_MAX (__FERRY_DIRTY_A_MAX - 1)

/* One extent in a FERRY_DIRTY_A_PACKED array (native byte order). An
 * extent longer than 2^32 - 1 pages comes as several. */
struct ferry_dirty_packed {
	__u64 start;			/* first page address */
	__u32 pages;			/* number of 4 KiB pages */
	__u32 flags;			/* enum ferry_extent_flag */
};

/* Extent flags: all pages of one extent share them. */
enum ferry_extent_flag {
	FERRY_EXTENT_F_ANON		= 1U << 0, /* anonymous (private) memory */
	FERRY_EXTENT_F_FILE		= 1U << 1, /* file-backed mapping */
	FERRY_EXTENT_F_SHARED		= 1U << 2, /* MAP_SHARED */
	FERRY_EXTENT_F_THP		= 1U << 3, /* mapped by a huge PMD */
	FERRY_EXTENT_F_SWAPPED		= 1U << 4, /* swap (or migration) entry */
	FERRY_EXTENT_F_NOT_PRESENT	= 1U << 5, /* no page: VM_SOFTDIRTY hole */
	FERRY_EXTENT_F_VMA_SOFTDIRTY	= 1U << 6, /* dirty by VMA flag */
	FERRY_EXTENT_F_CLEARED		= 1U << 7, /* re-armed by this scan */
	/* Soft-dirty cannot track writes here (hugetlb, VM_PFNMAP, 1 GiB
	 * leaves): the range is reported whole on every scan and never
	 * re-armed; its contents must be copied while the process is
	 * stopped. */
	FERRY_EXTENT_F_UNTRACKED	= 1U << 8,
};

enum ferry_extent_attr {
	FERRY_EXTENT_A_UNSPEC,
	FERRY_EXTENT_A_START,		/* u64: first page address */
	FERRY_EXTENT_A_PAGES,		/* u64: number of 4 KiB pages */
	FERRY_EXTENT_A_FLAGS,		/* u32: enum ferry_extent_flag */
	FERRY_EXTENT_A_PAD,
	__FERRY_EXTENT_A_MAX,
};
#define FERRY_EXTENT_A_MAX (__FERRY_EXTENT_A_MAX - 1)

enum ferry_dstat_attr {
	FERRY_DSTAT_A_UNSPEC,
	FERRY_DSTAT_A_VMAS,		/* u64: VMAs visited */
	FERRY_DSTAT_A_PAGES_SCANNED,	/* u64: pages covered by the walk */
	FERRY_DSTAT_A_PAGES_DIRTY,	/* u64: pages reported dirty */
	FERRY_DSTAT_A_PAGES_CLEARED,	/* u64: pages re-armed */
	FERRY_DSTAT_A_SCAN_NS,		/* u64: kernel time spent walking */
	FERRY_DSTAT_A_TABLES_SKIPPED,	/* u64: PTE tables with nothing dirty */
	FERRY_DSTAT_A_PAD,
	__FERRY_DSTAT_A_MAX,
};
#define FERRY_DSTAT_A_MAX (__FERRY_DSTAT_A_MAX - 1)

/* ---- FERRY_CMD_TCP_DUMP ------------------------------------------------ */
/*
 * Request: PID (required), FLAGS.
 *  - default: the TCP sockets referenced by the file tables of the process
 *    tree rooted at PID (PID and all its descendants), and the connections
 *    waiting in the accept queues of its listeners. The files are walked
 *    before the queues: a connection the running tree accepts in between
 *    is in neither when looked at, and missing; stop the tree for an exact
 *    dump (a migration's freeze does);
 *  - FERRY_TCP_F_NETNS: every TCP socket in the hash tables of PID's
 *    network namespace, including TIME_WAIT, SYN_RECV and not-yet-accepted
 *    connections. Sockets in no table (CLOSE: never connected, ended, or
 *    bound but neither listening nor connecting) only tree mode finds,
 *    through their files.
 * Reply: a multi-part dump, one FERRY_TCP_A_SOCK nest per socket; with
 * FERRY_TCP_F_DATA, queue contents follow in FERRY_TCP_A_DATA nests that
 * name their socket by FERRY_SOCK_A_COOKIE.
 *
 * Every SOCK nest is one snapshot taken under the socket lock. The DATA
 * nests of a socket follow its SOCK nest and carry exactly the bytes with
 * sequence numbers in [snd_una, write_seq) (send queue, SYN and FIN
 * excluded) and [copied_seq, rcv_nxt) (receive queue) of that snapshot;
 * FERRY_QDATA_A_OFFSET is the byte's sequence number minus snd_una (send)
 * or minus copied_seq (receive). A queue too large for one message
 * continues in the next one; bytes that left the socket in between are
 * reported with FERRY_QDATA_A_GONE instead of being replaced by others.
 * LISTEN and CLOSE sockets have no queue data (but see
 * FERRY_TCP_F_SEQ_MARKS). Sockets in a listener's
 * accept queue carry FERRY_SOCK_A_ACCEPT_PENDING and, in both modes,
 * FERRY_SOCK_A_LISTENER. TIME_WAIT sockets report their state as
 * TCP_TIME_WAIT (or TCP_FIN_WAIT2 for an orphaned FIN_WAIT2 kept as a
 * timewait socket); request sockets as TCP_SYN_RECV.
 *
 * FERRY_TCP_F_PACKED changes only the encoding: each socket comes as one
 * FERRY_TCP_A_PACKED attribute (struct ferry_tcp_sock_packed, followed by
 * the first queue bytes when they fit in the message) instead of a SOCK
 * nest, and the rest of its queues as FERRY_TCP_A_QCHUNK attributes
 * (struct ferry_tcp_qchunk + bytes) instead of DATA nests. Same sockets,
 * same order, same snapshot and byte-range rules.
 *
 * FERRY_TCP_F_SEQ_MARKS: without it, "an unacked SYN or FIN" is decided
 * from the state alone (SYN_SENT and SYN_RECV start with one, CLOSE_WAIT,
 * CLOSING and LAST_ACK end with a FIN received), which is wrong for a
 * Fast Open server child in SYN_RECV (its SYN-ACK belongs to the request,
 * snd_una is its first data byte) and for a FIN_WAIT1 or CLOSING socket
 * from a simultaneous open (its SYN is still unacked), and a CLOSE
 * socket's unread bytes are not exported. With it, every full socket's
 * OPTIONS carry FERRY_SOCK_OPT_SEQ_MARKED and say, from the socket's
 * queues, whether snd_una is an unacked SYN (FERRY_SOCK_OPT_SYN_UNACKED:
 * the send range starts at snd_una + 1, its first byte at offset 1) and
 * whether rcv_nxt counts a FIN the application has not read
 * (FERRY_SOCK_OPT_FIN_UNREAD: the receive range ends at rcv_nxt - 1); and
 * a CLOSE socket exports its receive range [copied_seq, rcv_nxt) without
 * such a FIN. A connection that ended (reset, or FIN_WAIT2 that received
 * the peer's FIN: the socket moves on to TIME_WAIT) keeps its unread bytes
 * until the application reads or closes it. Also marked: whether
 * write_seq counts our FIN (FERRY_SOCK_OPT_FIN_QUEUED; the state says so
 * before the FIN is queued, and always if its allocation failed), and an
 * orphan (FERRY_SOCK_OPT_ORPHAN: its application closed it, the unread
 * bytes were dropped, its receive range is empty). A SYN_SENT socket
 * without an unacked SYN (TCP_FASTOPEN_CONNECT before the first write)
 * has an empty send range.
 */
enum ferry_tcp_flag {
	FERRY_TCP_F_NETNS	= 1U << 0,
	FERRY_TCP_F_DATA	= 1U << 1,
	FERRY_TCP_F_PACKED	= 1U << 2,
	FERRY_TCP_F_SEQ_MARKS	= 1U << 3,
};
#define FERRY_TCP_F_ALL (FERRY_TCP_F_NETNS | FERRY_TCP_F_DATA | FERRY_TCP_F_PACKED | \
			 FERRY_TCP_F_SEQ_MARKS)

enum ferry_tcp_attr {
	FERRY_TCP_A_UNSPEC,
	FERRY_TCP_A_PID,		/* u32, request */
	FERRY_TCP_A_FLAGS,		/* u32, request: enum ferry_tcp_flag */
	FERRY_TCP_A_SOCK,		/* nest, reply: enum ferry_sock_attr */
	FERRY_TCP_A_DATA,		/* nest, reply: enum ferry_qdata_attr */
	FERRY_TCP_A_PAD,
	FERRY_TCP_A_PACKED,		/* binary, reply (FERRY_TCP_F_PACKED):
					 * struct ferry_tcp_sock_packed, then
					 * snd_inline + rcv_inline queue bytes */
	FERRY_TCP_A_QCHUNK,		/* binary, reply (FERRY_TCP_F_PACKED):
					 * struct ferry_tcp_qchunk, then bytes */
	__FERRY_TCP_A_MAX,
};
#define FERRY_TCP_A_MAX (__FERRY_TCP_A_MAX - 1)

/* Which queue a FERRY_TCP_A_DATA chunk belongs to (values of
 * FERRY_QDATA_A_QUEUE; equal to the kernel's TCP_RECV_QUEUE/TCP_SEND_QUEUE). */
enum ferry_tcp_queue {
	FERRY_TCP_QUEUE_RECV = 1,	/* received, not yet read by the app */
	FERRY_TCP_QUEUE_SEND = 2,	/* written by the app, not yet acked */
};

enum ferry_sock_attr {
	FERRY_SOCK_A_UNSPEC,
	FERRY_SOCK_A_COOKIE,		/* u64: socket cookie (stable id) */
	FERRY_SOCK_A_INODE,		/* u64: socket inode, 0 if no file */
	FERRY_SOCK_A_PID,		/* u32: a pid holding it (tree mode) */
	FERRY_SOCK_A_FD,		/* u32: its fd in that pid */
	FERRY_SOCK_A_FAMILY,		/* u8: AF_INET / AF_INET6 */
	FERRY_SOCK_A_STATE,		/* u8: TCP_ESTABLISHED ... (linux/tcp_states) */
	FERRY_SOCK_A_SRC,		/* binary, 4 or 16 bytes, network order */
	FERRY_SOCK_A_DST,		/* binary, 4 or 16 bytes, network order */
	FERRY_SOCK_A_SPORT,		/* u16, host order */
	FERRY_SOCK_A_DPORT,		/* u16, host order */
	FERRY_SOCK_A_SND_UNA,		/* u32 */
	FERRY_SOCK_A_SND_NXT,		/* u32 */
	FERRY_SOCK_A_WRITE_SEQ,		/* u32 */
	FERRY_SOCK_A_RCV_NXT,		/* u32 */
	FERRY_SOCK_A_COPIED_SEQ,	/* u32 */
	FERRY_SOCK_A_SND_WL1,		/* u32 */
	FERRY_SOCK_A_SND_WND,		/* u32 */
	FERRY_SOCK_A_MAX_WINDOW,	/* u32 */
	FERRY_SOCK_A_RCV_WND,		/* u32 */
	FERRY_SOCK_A_RCV_WUP,		/* u32 */
	FERRY_SOCK_A_MSS_CLAMP,		/* u16: rx_opt.mss_clamp */
	FERRY_SOCK_A_MSS_CACHE,		/* u16: current send MSS */
	FERRY_SOCK_A_SND_WSCALE,	/* u8 */
	FERRY_SOCK_A_RCV_WSCALE,	/* u8 */
	FERRY_SOCK_A_OPTIONS,		/* u32: enum ferry_sock_opt bits */
	FERRY_SOCK_A_TS_OFFSET,		/* u32: tsoffset */
	FERRY_SOCK_A_TS_RECENT,		/* u32: rx_opt.ts_recent */
	FERRY_SOCK_A_TS_RECENT_STAMP,	/* u32: seconds ago ts_recent was set */
	FERRY_SOCK_A_TS_NOW,		/* u32: current TSval clock incl. offset */
	FERRY_SOCK_A_KEEPIDLE,		/* u32: seconds */
	FERRY_SOCK_A_KEEPINTVL,		/* u32: seconds */
	FERRY_SOCK_A_KEEPCNT,		/* u32 */
	FERRY_SOCK_A_USER_TIMEOUT,	/* u32: ms */
	FERRY_SOCK_A_SNDQ_BYTES,	/* u32: write_seq - snd_una */
	FERRY_SOCK_A_UNSENT_BYTES,	/* u32: write_seq - snd_nxt */
	FERRY_SOCK_A_RCVQ_BYTES,	/* u32: rcv_nxt - copied_seq */
	FERRY_SOCK_A_TW_TIMEOUT_MS,	/* u32: TIME_WAIT: ms left */
	FERRY_SOCK_A_BOUND_DEV,		/* u32: ifindex bound to, 0 if none
					 * (SYN_RECV: what the connection will
					 * be bound to: the listener's binding,
					 * a VRF master, an IPv6 link-local
					 * scope) */
	FERRY_SOCK_A_ACCEPT_PENDING,	/* flag: in a listener's accept queue */
	FERRY_SOCK_A_PAD,
	FERRY_SOCK_A_LISTENER,		/* u64: cookie of the listener an
					 * ACCEPT_PENDING or SYN_RECV socket
					 * belongs to */
	FERRY_SOCK_A_BACKLOG,		/* u32: LISTEN: listen() backlog */
	FERRY_SOCK_A_ACCEPT_QLEN,	/* u32: LISTEN: connections waiting */
	__FERRY_SOCK_A_MAX,
};
#define FERRY_SOCK_A_MAX (__FERRY_SOCK_A_MAX - 1)

enum ferry_sock_opt {
	FERRY_SOCK_OPT_SACK		= 1U << 0,
	FERRY_SOCK_OPT_TIMESTAMPS	= 1U << 1,
	FERRY_SOCK_OPT_WSCALE		= 1U << 2,
	FERRY_SOCK_OPT_ECN		= 1U << 3,
	FERRY_SOCK_OPT_NODELAY		= 1U << 4,
	FERRY_SOCK_OPT_CORK		= 1U << 5,
	FERRY_SOCK_OPT_KEEPALIVE	= 1U << 6,
	FERRY_SOCK_OPT_REPAIR		= 1U << 7, /* socket is in TCP_REPAIR */
	/* FERRY_TCP_F_SEQ_MARKS, full sockets: the two bits below are set
	 * from the queues (without this bit, decide from the state). */
	FERRY_SOCK_OPT_SEQ_MARKED	= 1U << 8,
	FERRY_SOCK_OPT_SYN_UNACKED	= 1U << 9, /* snd_una is our SYN's */
	FERRY_SOCK_OPT_FIN_UNREAD	= 1U << 10, /* rcv_nxt counts an unread FIN */
	FERRY_SOCK_OPT_FIN_QUEUED	= 1U << 11, /* write_seq counts our FIN */
	FERRY_SOCK_OPT_ORPHAN		= 1U << 12, /* closed by its application: no
						     * receive bytes exported */
};

enum ferry_qdata_attr {
	FERRY_QDATA_A_UNSPEC,
	FERRY_QDATA_A_COOKIE,		/* u64: the socket (FERRY_SOCK_A_COOKIE) */
	FERRY_QDATA_A_QUEUE,		/* u8: enum ferry_tcp_queue */
	FERRY_QDATA_A_OFFSET,		/* u32: byte offset in that queue */
	FERRY_QDATA_A_BYTES,		/* binary: the bytes */
	FERRY_QDATA_A_PAD,
	FERRY_QDATA_A_GONE,		/* flag: the queue's bytes from OFFSET on
					 * left the socket while the dump was
					 * under way (acked, read or reset);
					 * this queue's export is incomplete */
	__FERRY_QDATA_A_MAX,
};
#define FERRY_QDATA_A_MAX (__FERRY_QDATA_A_MAX - 1)

/*
 * One socket in a FERRY_TCP_A_PACKED attribute (native byte order; the
 * attribute payload is only 4-byte aligned: copy it out before use).
 *
 * Versioning: the struct only grows, by appending fields (each new version
 * a multiple of 8 bytes). `size` is the struct size the module wrote; a
 * reader takes the fields it knows from min(size, its sizeof) bytes and
 * treats missing ones as absent (their `present` bit is clear), and skips
 * a longer struct's unknown tail. size < FERRY_TCP_PACKED_SIZE_V1 is
 * malformed. `present` has bit (1 << FERRY_SOCK_A_x) set for every field
 * the attribute format would have carried (FERRY_SOCK_A_ACCEPT_PENDING:
 * the flag itself); other fields are 0.
 *
 * Queue bytes: with FERRY_TCP_F_DATA, the attribute payload continues after
 * `size` bytes with snd_inline bytes of the send queue, then rcv_inline
 * bytes of the receive queue, each from the start of the queue's exported
 * byte range (the first byte after an unacked SYN). rcv_inline is 0
 * unless the whole send range is inline. Whatever is not inline follows in
 * FERRY_TCP_A_QCHUNK attributes.
 */
#define FERRY_TCP_PACKED_VERSION	1
#define FERRY_TCP_PACKED_SIZE_V1	208

struct ferry_tcp_sock_packed {
	__u16 size;			/* bytes of this struct the module wrote */
	__u16 version;			/* FERRY_TCP_PACKED_VERSION of the module */
	__u32 snd_inline;		/* send-queue bytes after the struct */
	__u32 rcv_inline;		/* receive-queue bytes after those */
	__u32 reserved0;
	__u64 present;			/* bit (1 << FERRY_SOCK_A_x): field valid */
	__u64 cookie;
	__u64 inode;
	__u64 listener;
	__u32 pid;
	__u32 fd;
	__u8 src[16];			/* network order; 4 bytes used for IPv4 */
	__u8 dst[16];
	__u8 family;
	__u8 state;
	__u8 snd_wscale;
	__u8 rcv_wscale;
	__u16 sport;			/* host order */
	__u16 dport;
	__u32 snd_una;
	__u32 snd_nxt;
	__u32 write_seq;
	__u32 rcv_nxt;
	__u32 copied_seq;
	__u32 snd_wl1;
	__u32 snd_wnd;
	__u32 max_window;
	__u32 rcv_wnd;
	__u32 rcv_wup;
	__u16 mss_clamp;
	__u16 mss_cache;
	__u32 options;			/* enum ferry_sock_opt */
	__u32 ts_offset;
	__u32 ts_recent;
	__u32 ts_recent_stamp;
	__u32 ts_now;
	__u32 keepidle;
	__u32 keepintvl;
	__u32 keepcnt;
	__u32 user_timeout;
	__u32 sndq_bytes;
	__u32 unsent_bytes;
	__u32 rcvq_bytes;
	__u32 tw_timeout_ms;
	__u32 bound_dev;
	__u32 backlog;
	__u32 accept_qlen;
	__u32 reserved1;
	/* version 1 ends here (FERRY_TCP_PACKED_SIZE_V1) */
};

/* FERRY_TCP_A_QCHUNK header: the rest of the attribute is bytes of one
 * queue of the socket `cookie`, starting at `offset` (as
 * FERRY_QDATA_A_OFFSET). */
enum ferry_tcp_qchunk_flag {
	FERRY_TCP_QCHUNK_F_GONE	= 1U << 0,	/* as FERRY_QDATA_A_GONE; no bytes */
};

struct ferry_tcp_qchunk {
	__u64 cookie;
	__u32 offset;
	__u8 queue;			/* enum ferry_tcp_queue */
	__u8 flags;			/* enum ferry_tcp_qchunk_flag */
	__u16 reserved;
};

#endif /* _UAPI_LINUX_FERRY_H */
