/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The migration wire protocol between `ferry migrate` (source) and
 * `ferry receive` (destination): framed, versioned messages over one TCP
 * stream.
 *
 * Frame: a 12-byte header, then len payload bytes.
 *   u32 magic   WIRE_MAGIC ("FRY" + protocol version)
 *   u16 type    enum wire_type
 *   u16 flags   0 (reserved, must be 0)
 *   u32 len     payload length, <= WIRE_MAX_PAYLOAD
 * All integers are little-endian. Strings are u16 length + bytes (no NUL;
 * a NUL inside is malformed). Every payload is parsed with bounds checks;
 * a frame with trailing bytes after its fields is malformed.
 *
 * Conversation (S = source, D = destination):
 *   S HELLO  -> D HELLO            versions must match exactly
 *   [S CONTAINER -> D CONTAINER_ACK]   with --container: D checks that its
 *                                      engine can take the container (same
 *                                      image, ID and name free); pages then
 *                                      name the PIDs inside the container,
 *                                      and the final image is the engine's
 *                                      checkpoint archive (mig_ctr.h)
 *   S PREFLIGHT -> D PREFLIGHT_ANS     files, PIDs, memory and disk checked
 *   [S MOVE_ADDR -> D MOVE_ADDR_ACK]   with --move-addr: D checks that it
 *                                      can take the address over; it adds it
 *                                      at COMMIT, before `criu restore`
 *   [S VOLUME*]                        a container's named volumes, when
 *                                      D's HELLO has WIRE_CAP_VOLUMES
 *                                      (wire_vol.h): copied before the
 *                                      pre-copy; the engine's archive then
 *                                      leaves them out
 *   S PAGES*, S ROUND_END -> D ROUND_ACK   (repeated per pre-copy round;
 *                                      the last one has WIRE_ROUND_F_LAST)
 *   S FILE_BEGIN, FILE_DATA|FILE_ZDATA*, FILE_END   (CRIU images of the
 *                                      final dump; chunks that compress are
 *                                      sent as FILE_ZDATA)
 *   [S VOLUME*]                        what changed in the volumes since
 *                                      their pre-copy, read while frozen
 *   [S CONNTRACK]                      a container's connection-tracking
 *                                      entries, when D's HELLO has
 *                                      WIRE_CAP_CONNTRACK (ctr_conntrack.h):
 *                                      D makes them before its restore
 *   [S CONNTRACK6]                     the same for its IPv6 connections,
 *                                      when D's HELLO has
 *                                      WIRE_CAP_CONNTRACK6 (added later: an
 *                                      older D never gets it)
 *   S COMMIT -> D RESTORED (tree runs on D) | D NOT_RESTORED
 *                                      RESTORED: u64 restore ms, CRIU's
 *                                      restore_time, pages restored, dumped
 *                                      TCP connections found after the
 *                                      restore, the migration ID (2 x u64).
 *                                      NOT_RESTORED (code + message): D has
 *                                      undone everything and recorded so;
 *                                      the only frame after COMMIT on which
 *                                      S resumes its copy. An ABORT that S
 *                                      sends while D restores makes D undo
 *                                      the restore and answer NOT_RESTORED,
 *                                      unless it had already recorded
 *                                      RESTORED (then RESTORED)
 *   S DONE (source killed, or resumed after NOT_RESTORED): the outcome
 *                                      is known to S
 * Outcome query, on a new connection after a COMMIT whose answer was lost
 * (mig_commit.c): S HELLO with WIRE_CAP_QUERY and the migration ID ->
 * D HELLO, D OUTCOME (ID, enum wire_outcome, the RESTORED values) from the
 * receiver's record of that migration (recv_outcome.c).
 * Checkpoint store session (`ferry checkpoint|ha --to`, `ferry receive
 * --store`; wire_store.h): S HELLO with WIRE_CAP_STORE -> D HELLO,
 * S STORE_OPEN -> D STORE_HAVE (the versions D keeps of that chain), then
 * per version S sends, oldest first, what D lacks of the chain:
 *   S STORE_VERSION, (STORE_FILE + FILE_DATA|FILE_ZDATA* + FILE_END |
 *   STORE_LINK)*, STORE_END -> D STORE_DONE (checked, flushed, published)
 *   and at last S DONE (D applies retention).
 * Either side may send ERROR (a code and a human message) at any time and
 * then close.
 */
#ifndef FERRY_WIRE_H
#define FERRY_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* 5: the checkpoint store session (STORE_*, WIRE_CAP_STORE)
 * 4: CONTAINER / CONTAINER_ACK (a container instead of a process tree)
 * 3: HELLO carries the migration ID, NOT_RESTORED and the outcome query;
 *    PREFLIGHT_ANS carries the disk budget and a count of unlisted problems
 * 2: PREFLIGHT carries the tree's PIDs/TIDs; the receiver takes an ABORT
 * sent during its restore as a request to undo it */
#define WIRE_VERSION		5
#define WIRE_MAGIC		(0x46525900u | WIRE_VERSION)	/* "FRY" + version */
#define WIRE_HDR_LEN		12
#define WIRE_PAGE_SIZE		4096u
#define WIRE_MAX_PAGES		1024u		/* per PAGES frame: 4 MiB raw */
#define WIRE_MAX_PAYLOAD	(8u << 20)
#define WIRE_MAX_STR		4096u
#define WIRE_FILE_CHUNK		(1u << 20)
#define WIRE_PROBE_BYTES	(64u << 10)	/* compressibility probe per PAGES frame */

enum wire_type {
	WIRE_HELLO = 1,
	WIRE_PREFLIGHT,
	WIRE_PREFLIGHT_ANS,
	WIRE_PAGES,
	WIRE_ROUND_END,
	WIRE_ROUND_ACK,
	WIRE_FILE_BEGIN,
	WIRE_FILE_DATA,
	WIRE_FILE_END,
	WIRE_COMMIT,
	WIRE_RESTORED,
	WIRE_ABORT,
	WIRE_DONE,
	WIRE_ERROR,
	WIRE_FILE_ZDATA,	/* FILE_DATA, zstd: u32 raw length + frame */
	WIRE_MOVE_ADDR,		/* the service address that moves with the tree */
	WIRE_MOVE_ADDR_ACK,	/* the destination can take it over */
	WIRE_NOT_RESTORED,	/* after COMMIT: undone and recorded (ERROR's format) */
	WIRE_OUTCOME,		/* the answer to an outcome query */
	WIRE_CONTAINER,		/* the container that moves (struct wire_ctr) */
	WIRE_CONTAINER_ACK,	/* the destination's engine can take it */
	WIRE_STORE_OPEN,	/* the chain a checkpoint goes to (wire_store.h) */
	WIRE_STORE_HAVE,	/* the versions of it the store host keeps */
	WIRE_STORE_VERSION,	/* one version follows */
	WIRE_STORE_FILE,	/* one of its files: path, size, then its body */
	WIRE_STORE_LINK,	/* one of its symbolic links */
	WIRE_STORE_END,		/* its last entry was sent */
	WIRE_STORE_DONE,	/* the store host published it */
	WIRE_CONNTRACK,		/* a container's conntrack entries (struct wire_ct) */
	WIRE_VOLUME,		/* a named volume's entries (wire_vol.h) */
	WIRE_PC_FILE,		/* post-copy (wire_pc.h): a pages file left at the source */
	WIRE_PC_REQ,		/* pages of it the destination asks for */
	WIRE_PC_DATA,		/* pages of it (PAGES' layout) */
	WIRE_PC_PUSHED,		/* every page of them was sent */
	WIRE_PC_DONE,		/* every page is in place at the destination */
	WIRE_CONNTRACK6,	/* a container's IPv6 conntrack entries (struct wire_ct6) */
	__WIRE_TYPE_MAX,
};

/* HELLO capability bits */
enum wire_cap {
	WIRE_CAP_ZSTD		= 1ULL << 0,
	WIRE_CAP_CRIU		= 1ULL << 1,	/* criu binary works */
	WIRE_CAP_MODULE		= 1ULL << 2,	/* ferry.ko loaded */
	WIRE_CAP_LAZY		= 1ULL << 3,	/* criu lazy-pages usable */
	WIRE_CAP_QUERY		= 1ULL << 4,	/* this connection asks for an outcome */
	WIRE_CAP_STORE		= 1ULL << 5,	/* this connection delivers checkpoints */
	WIRE_CAP_CONNTRACK	= 1ULL << 6,	/* the receiver takes CONNTRACK */
	WIRE_CAP_VOLUMES	= 1ULL << 7,	/* the receiver takes VOLUME */
	WIRE_CAP_POSTCOPY	= 1ULL << 8,	/* the receiver takes PC_* (wire_pc.h) */
	WIRE_CAP_CONNTRACK6	= 1ULL << 9,	/* the receiver takes CONNTRACK6 */
};

#define WIRE_ID_LEN	16	/* a migration ID: random bytes from the source */

/* What became of a migration, as the destination recorded it. */
enum wire_outcome {
	WIRE_OUTCOME_UNKNOWN = 0,	/* no record, or its session died unrecorded */
	WIRE_OUTCOME_RESTORED,		/* the tree runs on the destination */
	WIRE_OUTCOME_NOT_RESTORED,	/* undone there: the source may resume */
	WIRE_OUTCOME_IN_PROGRESS,	/* the restore still runs: ask again */
	/* post-copy: the tree ran there, then was killed without all its
	 * pages, after it may have talked to the outside world (a network
	 * socket, a file open for writing): neither copy is current, the
	 * source's stays frozen for the operator (ferry settle) */
	WIRE_OUTCOME_LOST,
};

/* PAGES compression */
enum wire_comp {
	WIRE_COMP_NONE = 0,
	WIRE_COMP_ZSTD = 1,
};

/*
 * The byte stream under the frames: the plain socket, or a TLS session
 * (wire_tls.c) that sets these hooks. recv/send return bytes moved, or -1
 * with errno set (EINTR, EAGAIN, ECONNRESET, EPROTO for a TLS failure...);
 * pending says how many decrypted bytes wait in user space (a poll on the
 * socket would not see them).
 */
struct wire_xport {
	ssize_t (*recv)(void *ctx, void *p, size_t n);
	ssize_t (*send)(void *ctx, const void *p, size_t n);
	size_t (*pending)(void *ctx);
	void *ctx;
};

/* A connection: the fd plus a receive buffer and the last error. */
struct wire_conn {
	int fd;
	struct wire_xport x;		/* .recv NULL: plain socket */
	/* Every wait for the peer is bounded: a frame must arrive (or leave)
	 * within timeout_ms of its first byte being waited for, and nothing
	 * goes on past deadline_ns (CLOCK_MONOTONIC, 0: none). */
	int timeout_ms;			/* 0: no per-frame limit */
	uint64_t deadline_ns;
	uint64_t frame_end;		/* the frame being read must be in by then */
	uint8_t *buf;			/* the last frame's payload; grows with
					 * what arrives, up to WIRE_MAX_PAYLOAD */
	uint32_t bufcap;
	uint8_t *tmp;			/* send/compress scratch, lazily */
	uint8_t *zbuf;			/* FILE_ZDATA decompression, lazily */
	void *zc, *zd;			/* ZSTD_CCtx / ZSTD_DCtx */
	int zlevel;
	uint64_t bytes_sent, bytes_recv;
	char err[256];			/* human reason of the last failure */
};

/* A received frame; payload points into conn->buf (valid until the next
 * wire_recv on that conn). */
struct wire_msg {
	uint16_t type;
	uint32_t len;
	const uint8_t *payload;
};

void wire_init(struct wire_conn *c, int fd);
/* The per-frame limit (ms, 0 none) and an absolute end (ms from now, 0
 * none); a wait past either fails with -ETIMEDOUT. */
void wire_set_timeout(struct wire_conn *c, int frame_ms);
void wire_set_deadline(struct wire_conn *c, uint64_t ms_from_now);
void wire_free(struct wire_conn *c);	/* does not close fd */

/* Raw frames. 0 or -errno; -EPIPE/-ECONNRESET when the peer is gone,
 * -EPROTO for a malformed frame (c->err says why). wire_recv returns
 * -ENODATA on a clean EOF at a frame boundary. */
int wire_send(struct wire_conn *c, uint16_t type, const void *payload, uint32_t len);
int wire_recv(struct wire_conn *c, struct wire_msg *m);
/* Receive and insist on one type; an ERROR frame becomes -EREMOTEIO with
 * the peer's message in c->err. */
int wire_expect(struct wire_conn *c, uint16_t type, struct wire_msg *m);
/* The same judgement of a frame already received (0 if it is of type). */
int wire_expect_failed(struct wire_conn *c, const struct wire_msg *m, uint16_t type);
const char *wire_type_name(uint16_t type);
/* Does a frame's first byte wait (on the socket or decrypted already)? */
bool wire_readable(struct wire_conn *c);

/* ---- payload encoding -------------------------------------------------- */
struct wire_buf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};
void wb_init(struct wire_buf *b);
void wb_free(struct wire_buf *b);
void wb_u8(struct wire_buf *b, uint8_t v);
void wb_u16(struct wire_buf *b, uint16_t v);
void wb_u32(struct wire_buf *b, uint32_t v);
void wb_u64(struct wire_buf *b, uint64_t v);
void wb_bytes(struct wire_buf *b, const void *p, size_t n);
void wb_str(struct wire_buf *b, const char *s);	/* truncated at WIRE_MAX_STR */

struct wire_rd {
	const uint8_t *p;
	size_t len, off;
	bool bad;			/* read past the end or bad string */
};
void rd_init(struct wire_rd *r, const void *p, size_t len);
uint8_t rd_u8(struct wire_rd *r);
uint16_t rd_u16(struct wire_rd *r);
uint32_t rd_u32(struct wire_rd *r);
uint64_t rd_u64(struct wire_rd *r);
const uint8_t *rd_bytes(struct wire_rd *r, size_t n);
/* Copies into out (size >= 1); malformed if longer than size - 1 or
 * containing a NUL. */
void rd_str(struct wire_rd *r, char *out, size_t size);
/* All fields consumed and none was out of bounds. */
bool rd_done(const struct wire_rd *r);

/* ---- typed messages ---------------------------------------------------- */
struct wire_hello {
	uint32_t version;
	uint64_t caps;
	char host[256];
	char kernel[128];
	uint8_t id[WIRE_ID_LEN];	/* the source's migration ID (zero from D) */
};
/* "3f9a...": 2 * WIRE_ID_LEN hex digits; false if s is not one. */
void wire_id_hex(const uint8_t id[WIRE_ID_LEN], char out[2 * WIRE_ID_LEN + 1]);
bool wire_id_parse(const char *s, uint8_t id[WIRE_ID_LEN]);
/* This host's HELLO: this protocol version, caps, its name and kernel
 * release (uname), a zero ID. */
void wire_hello_init(struct wire_hello *h, uint64_t caps);
int wire_send_hello(struct wire_conn *c, const struct wire_hello *h);
int wire_parse_hello(struct wire_conn *c, const struct wire_msg *m, struct wire_hello *h);

struct wire_pages_hdr {
	uint32_t pid;
	uint64_t vaddr;
	uint32_t npages;
	uint32_t raw_len;
	uint8_t comp;
	uint32_t wire_len;	/* payload bytes after the header (parse only) */
};
/* Compress (zstd, unless a probe of the first WIRE_PROBE_BYTES does not
 * shrink by 1/8, or the result does not shrink) and send npages pages. */
int wire_send_pages(struct wire_conn *c, uint32_t pid, uint64_t vaddr, uint32_t npages,
		    const void *data);
/* Parse a PAGES frame and decompress into out (npages * 4096 bytes, out_size
 * at least that). */
int wire_parse_pages(struct wire_conn *c, const struct wire_msg *m, struct wire_pages_hdr *h,
		     void *out, size_t out_size);
/* The same frame layout under another type (post-copy's PC_DATA). */
int wire_send_pages_as(struct wire_conn *c, uint16_t type, uint32_t pid, uint64_t vaddr,
		       uint32_t npages, const void *data);
int wire_parse_pages_as(struct wire_conn *c, const struct wire_msg *m, uint16_t type,
			struct wire_pages_hdr *h, void *out, size_t out_size);

struct wire_round {
	uint32_t round;
	uint64_t pages;		/* pages sent this round */
	uint64_t raw_bytes;	/* their size before compression */
	uint64_t wire_bytes;	/* PAGES payload bytes on the wire */
	uint64_t dirty_pages;	/* reported dirty by the scan */
	uint64_t elapsed_ns;	/* round duration on the source */
	uint32_t flags;		/* enum wire_round_flag */
};

enum wire_round_flag {
	/* The last pre-copy round: the source freezes and dumps next, so the
	 * destination can write its CRIU parent images meanwhile. */
	WIRE_ROUND_F_LAST	= 1U << 0,
};
int wire_send_round(struct wire_conn *c, uint16_t type, const struct wire_round *r);
int wire_parse_round(struct wire_conn *c, const struct wire_msg *m, struct wire_round *r);

struct wire_file {
	char name[256];		/* a plain file name: no '/', not "." or ".." */
	uint64_t size;
	uint32_t mode;
};
int wire_send_file_begin(struct wire_conn *c, const struct wire_file *f);
int wire_parse_file_begin(struct wire_conn *c, const struct wire_msg *m, struct wire_file *f);
/* Send a whole file (BEGIN, DATA chunks, END) from an open fd. */
int wire_send_file(struct wire_conn *c, const char *name, int fd);
/* Only the DATA/ZDATA chunks and END of size bytes of fd from its start
 * (after a frame that announced them); name is for messages. */
int wire_send_file_body(struct wire_conn *c, const char *name, int fd, uint64_t size);
/* The same for a file that may change while it is read: if it ends early,
 * the rest is sent as zeros, and 1 is returned (0 when all came from the
 * file). */
int wire_send_file_body_live(struct wire_conn *c, const char *name, int fd, uint64_t size);
/* After FILE_BEGIN: receive DATA/ZDATA frames into out_fd until FILE_END;
 * the byte count must equal f->size. */
int wire_recv_file_body(struct wire_conn *c, const struct wire_file *f, int out_fd);
/* An image name CRIU writes: [A-Za-z0-9._-], not "." or "..", no '/'. */
bool wire_name_ok(const char *name);
/* An interface name: 1..15 bytes of [A-Za-z0-9._-] (or "" when may_be_empty). */
bool wire_ifname_ok(const char *name, bool may_be_empty);

/* ERROR / ABORT: code (errno-like) + human message */
int wire_send_error(struct wire_conn *c, uint16_t type, int32_t code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The message is cut to fit size. */
int wire_parse_error(struct wire_conn *c, const struct wire_msg *m, int32_t *code,
		     char *msg, size_t size);

/* MOVE_ADDR: an IPv4 address (network order), its prefix length and the
 * destination's interface ("" = D picks the one whose subnet holds it).
 * MOVE_ADDR_ACK: the same, with the interface D chose. */
struct wire_move_addr {
	uint32_t addr;
	uint8_t prefix;
	char dev[16];
};
int wire_send_move_addr(struct wire_conn *c, uint16_t type, const struct wire_move_addr *a);
int wire_parse_move_addr(struct wire_conn *c, const struct wire_msg *m,
			 struct wire_move_addr *a);

/*
 * CONTAINER: the engine ("podman"), the container's full ID (64 hex
 * digits), its name and its image's full ID; then (added after the first
 * release: a frame that ends after the image has none) the count of its
 * volumes and each one's kind, source and destination. Both sides check
 * each field's form (wire_ctr_ok) before anything uses it.
 */
#define WIRE_CTR_ID_LEN		64
#define WIRE_CTR_MAX_VOLS	16
#define WIRE_CTR_PATH_MAX	1024
enum wire_ctr_vol_kind {
	WIRE_CTR_VOL_NAMED = 1,	/* a named volume: src is its name */
	WIRE_CTR_VOL_BIND = 2,	/* a host path bind-mounted: src is the path */
};
struct wire_ctr_vol {
	uint8_t kind;
	char src[WIRE_CTR_PATH_MAX];
	char dest[WIRE_CTR_PATH_MAX];	/* inside the container */
};
#define WIRE_CTR_SHARE_LEN	32
struct wire_ctr {
	char engine[16];	/* "podman" or "runc" */
	char id[WIRE_CTR_ID_LEN + 1];
	char name[256];
	char image[WIRE_CTR_ID_LEN + 1];	/* runc: SHA-256 of config.json */
	uint32_t nvols;
	struct wire_ctr_vol vols[WIRE_CTR_MAX_VOLS];
	/* runc only (after the volumes; absent from a sender of Podman's
	 * alone): its bundle, on storage both hosts share, and the name of a
	 * marker the source put there to prove it (ctr_runc.h) */
	char bundle[WIRE_CTR_PATH_MAX];
	char share[WIRE_CTR_SHARE_LEN + 1];
};
int wire_send_ctr(struct wire_conn *c, const struct wire_ctr *k);
int wire_parse_ctr(struct wire_conn *c, const struct wire_msg *m, struct wire_ctr *k);
/* engine "podman": IDs of 64 lower-case hex digits, a name of 1..255 bytes
 * of [A-Za-z0-9_.-] that starts with a letter or digit (Podman's rule);
 * at most WIRE_CTR_MAX_VOLS volumes, each of a known kind, a named one's
 * name by the same rule, a bind's source and every destination absolute;
 * no bundle. Engine "runc": the ID by the name rule and the name the same,
 * the image 64 hex digits, no volumes, the bundle an absolute path without
 * "." or ".." components, the share marker 32 hex digits. */
bool wire_ctr_ok(const struct wire_ctr *k);
/* An absolute path of clean components: no "", "." or ".." among them. */
bool wire_clean_abs_path(const char *p);
/* The name rule alone (also what `--container` accepts: a name, or an ID
 * or its prefix, whose hex digits fit it) */
bool wire_ctr_name_ok(const char *name);

/*
 * CONNTRACK: the container's address (IPv4, network order), a u32 count
 * and that many entries, each 21 bytes: the original direction's source
 * and destination address (4 + 4) and ports (2 + 2), as they are on the
 * wire of the network (big-endian), its TCP state (u8, TCP_CONNTRACK_*),
 * status bits (u32) and timeout in seconds (u32). Each entry has the
 * container's address at one end and passes wire_ct_ok().
 */
#define WIRE_CT_MAX		65536u
#define WIRE_CT_ENTRY_LEN	21u
#define WIRE_CT_MAX_TIMEOUT	(5u * 86400)	/* the kernel's established default */
#define WIRE_CT_STATUS_KEPT	0x6u		/* IPS_SEEN_REPLY | IPS_ASSURED */
struct wire_ct {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint8_t tcp_state;
	uint32_t status;
	uint32_t timeout;
};
/* A state from SYN_SENT to CLOSE, only the kept status bits, a timeout of
 * 1..WIRE_CT_MAX_TIMEOUT, non-zero ports and distinct non-zero addresses. */
bool wire_ct_ok(const struct wire_ct *e);
int wire_send_ct(struct wire_conn *c, uint32_t addr, const struct wire_ct *v, uint32_t n);
/* *v malloc'ed (NULL when n is 0). */
int wire_parse_ct(struct wire_conn *c, const struct wire_msg *m, uint32_t *addr,
		  struct wire_ct **v, uint32_t *n);

/*
 * CONNTRACK6: CONNTRACK for the container's IPv6 connections. Its IPv6
 * address (16 bytes, network order), a u32 count (at most WIRE_CT_MAX) and
 * that many entries, each 45 bytes: the original direction's source and
 * destination address (16 + 16) and ports (2 + 2, big-endian), its TCP
 * state (u8), status bits (u32) and timeout in seconds (u32), under
 * CONNTRACK's rules (wire_ct6_ok). An IPv4-mapped address (::ffff:a.b.c.d)
 * is an IPv4 connection's, which conntrack tracks as IPv4 (CONNTRACK):
 * never in this frame.
 */
#define WIRE_CT6_ENTRY_LEN	45u
#define WIRE_CT6_ADDR_LEN	16u
struct wire_ct6 {
	uint8_t src[WIRE_CT6_ADDR_LEN], dst[WIRE_CT6_ADDR_LEN];
	uint16_t sport, dport;
	uint8_t tcp_state;
	uint32_t status;
	uint32_t timeout;
};
/* Neither unspecified (::) nor IPv4-mapped. */
bool wire_ct6_addr_ok(const uint8_t addr[WIRE_CT6_ADDR_LEN]);
/* wire_ct_ok's rules, with addresses that pass wire_ct6_addr_ok. */
bool wire_ct6_ok(const struct wire_ct6 *e);
int wire_send_ct6(struct wire_conn *c, const uint8_t addr[WIRE_CT6_ADDR_LEN],
		  const struct wire_ct6 *v, uint32_t n);
/* *v malloc'ed (NULL when n is 0). */
int wire_parse_ct6(struct wire_conn *c, const struct wire_msg *m,
		   uint8_t addr[WIRE_CT6_ADDR_LEN], struct wire_ct6 **v, uint32_t *n);

/* OUTCOME: the ID, an enum wire_outcome and the RESTORED values (4). */
struct wire_outcome_msg {
	uint8_t id[WIRE_ID_LEN];
	uint32_t outcome;
	uint64_t v[4];
};
int wire_send_outcome(struct wire_conn *c, const struct wire_outcome_msg *o);
const char *wire_outcome_name(uint32_t outcome);
int wire_parse_outcome(struct wire_conn *c, const struct wire_msg *m, struct wire_outcome_msg *o);

/* COMMIT's flags */
#define WIRE_COMMIT_POSTCOPY	0x1ull	/* pages files stay at the source (wire_pc.h) */

/* Frames with a small list of u64 values (COMMIT, RESTORED, DONE): */
int wire_send_u64s(struct wire_conn *c, uint16_t type, const uint64_t *v, uint32_t n);
/* Exactly n values expected; malformed otherwise. */
int wire_parse_u64s(struct wire_conn *c, const struct wire_msg *m, uint64_t *v, uint32_t n);

#endif
