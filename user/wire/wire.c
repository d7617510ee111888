// SPDX-License-Identifier: GPL-2.0
/* The migration wire protocol: framing over the transport, deadlines, the
 * payload codec (typed messages: wire_msg.c). */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <zstd.h>
#include "util.h"
#include "wire.h"
#include "wire_int.h"

static const char *const type_names[__WIRE_TYPE_MAX] = {
	[WIRE_HELLO]		= "HELLO",
	[WIRE_PREFLIGHT]	= "PREFLIGHT",
	[WIRE_PREFLIGHT_ANS]	= "PREFLIGHT_ANS",
	[WIRE_PAGES]		= "PAGES",
	[WIRE_ROUND_END]	= "ROUND_END",
	[WIRE_ROUND_ACK]	= "ROUND_ACK",
	[WIRE_FILE_BEGIN]	= "FILE_BEGIN",
	[WIRE_FILE_DATA]	= "FILE_DATA",
	[WIRE_FILE_END]		= "FILE_END",
	[WIRE_COMMIT]		= "COMMIT",
	[WIRE_RESTORED]		= "RESTORED",
	[WIRE_ABORT]		= "ABORT",
	[WIRE_DONE]		= "DONE",
	[WIRE_ERROR]		= "ERROR",
	[WIRE_FILE_ZDATA]	= "FILE_ZDATA",
	[WIRE_MOVE_ADDR]	= "MOVE_ADDR",
	[WIRE_MOVE_ADDR_ACK]	= "MOVE_ADDR_ACK",
	[WIRE_CONTAINER]	= "CONTAINER",
	[WIRE_CONTAINER_ACK]	= "CONTAINER_ACK",
	[WIRE_NOT_RESTORED]	= "NOT_RESTORED",
	[WIRE_OUTCOME]		= "OUTCOME",
	[WIRE_STORE_OPEN]	= "STORE_OPEN",
	[WIRE_STORE_HAVE]	= "STORE_HAVE",
	[WIRE_STORE_VERSION]	= "STORE_VERSION",
	[WIRE_STORE_FILE]	= "STORE_FILE",
	[WIRE_STORE_LINK]	= "STORE_LINK",
	[WIRE_STORE_END]	= "STORE_END",
	[WIRE_STORE_DONE]	= "STORE_DONE",
	[WIRE_CONNTRACK]	= "CONNTRACK",
	[WIRE_VOLUME]		= "VOLUME",
	[WIRE_PC_FILE]		= "PC_FILE",
	[WIRE_PC_REQ]		= "PC_REQ",
	[WIRE_PC_DATA]		= "PC_DATA",
	[WIRE_PC_PUSHED]	= "PC_PUSHED",
	[WIRE_PC_DONE]		= "PC_DONE",
	[WIRE_CONNTRACK6]	= "CONNTRACK6",
};

const char *wire_type_name(uint16_t type)
{
	if (type < __WIRE_TYPE_MAX && type_names[type])
		return type_names[type];
	return "unknown";
}

int wire_fail(struct wire_conn *c, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return err;
}

void wire_init(struct wire_conn *c, int fd)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->zlevel = 1;
}

void wire_set_timeout(struct wire_conn *c, int frame_ms)
{
	c->timeout_ms = frame_ms > 0 ? frame_ms : 0;
}

void wire_set_deadline(struct wire_conn *c, uint64_t ms_from_now)
{
	c->deadline_ns = ms_from_now ? ferry_now_ns() + ms_from_now * 1000000ull : 0;
}

/* The end of the current wait: the frame's limit or the deadline. */
static uint64_t frame_limit(const struct wire_conn *c)
{
	uint64_t end = c->timeout_ms ? ferry_now_ns() + (uint64_t)c->timeout_ms * 1000000ull : 0;

	if (c->deadline_ns && (!end || c->deadline_ns < end))
		end = c->deadline_ns;
	return end;
}

/*
 * Wait until the stream can move in direction ev (POLLIN/POLLOUT) before
 * end (0: no limit). 0, -ETIMEDOUT, -EINTR (a signal ferry acts on).
 */
static int wait_io(struct wire_conn *c, short ev, uint64_t end)
{
	struct pollfd p = { .fd = c->fd, .events = ev };

	if (!end)
		return 0;
	if (ev == POLLIN && c->x.pending && c->x.pending(c->x.ctx))
		return 0;
	for (;;) {
		uint64_t now = ferry_now_ns();
		int r;

		if (now >= end)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)((end - now + 999999) / 1000000));
		if (r > 0)
			return 0;
		if (r < 0 && errno == EINTR && ferry_interrupted)
			return -EINTR;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

bool wire_readable(struct wire_conn *c)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	if (c->x.pending && c->x.pending(c->x.ctx))
		return true;
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static ssize_t xrecv(struct wire_conn *c, void *p, size_t n)
{
	if (c->x.recv)
		return c->x.recv(c->x.ctx, p, n);
	return read(c->fd, p, n);
}

static ssize_t xsend(struct wire_conn *c, const void *p, size_t n)
{
	ssize_t w;

	if (c->x.send)
		return c->x.send(c->x.ctx, p, n);
	w = send(c->fd, p, n, MSG_NOSIGNAL);
	if (w < 0 && errno == ENOTSOCK)
		w = write(c->fd, p, n);
	return w;
}

void wire_free(struct wire_conn *c)
{
	free(c->buf);
	free(c->tmp);
	free(c->zbuf);
	c->zbuf = NULL;
	ZSTD_freeCCtx(c->zc);
	ZSTD_freeDCtx(c->zd);
	c->buf = c->tmp = NULL;
	c->bufcap = 0;
	c->zc = c->zd = NULL;
}

void wire_put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

uint64_t wire_get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* A socket error of a send or receive, in words a user can act on. */
static int io_fail(struct wire_conn *c, int err, const char *op)
{
	if (err == ETIMEDOUT)
		return wire_fail(c, -err, "%s: the peer stopped answering (link down or host dead)",
			    op);
	return wire_fail(c, -err, "%s: %s", op, strerror(err));
}

static int timed_out(struct wire_conn *c, int ret, const char *op)
{
	if (ret == -EINTR)
		return wire_fail(c, -EINTR, "interrupted by signal %d", (int)ferry_interrupted);
	if (ret == -ETIMEDOUT)
		return wire_fail(c, -ETIMEDOUT, "%s: the peer took too long (%s)", op,
			    c->deadline_ns && ferry_now_ns() >= c->deadline_ns ?
			    "phase deadline passed" : "frame timeout");
	return wire_fail(c, ret, "%s: %s", op, strerror(-ret));
}

int wire_write_all(struct wire_conn *c, const void *p, size_t n)
{
	const uint8_t *q = p;
	uint64_t end = frame_limit(c);

	while (n) {
		int ret = wait_io(c, POLLOUT, end);
		ssize_t w;

		if (ret)
			return timed_out(c, ret, "send");
		w = xsend(c, q, n);
		if (w < 0 && errno == EAGAIN)
			continue;
		if (w < 0) {
			if (errno == EINTR && !ferry_interrupted)
				continue;
			if (errno == EINTR)
				return wire_fail(c, -EINTR, "interrupted by signal %d", (int)ferry_interrupted);
			return io_fail(c, errno, "send");
		}
		q += w;
		n -= (size_t)w;
		c->bytes_sent += (uint64_t)w;
	}
	return 0;
}

/* 0, -ENODATA on EOF before the first byte, -ECONNRESET on EOF inside. */
static int read_all(struct wire_conn *c, void *p, size_t n, bool frame_start)
{
	uint8_t *q = p;
	size_t got = 0;
	uint64_t end = c->frame_end ? c->frame_end : frame_limit(c);

	while (got < n) {
		int ret = wait_io(c, POLLIN, end);
		ssize_t r;

		if (ret)
			return timed_out(c, ret, "receive");
		r = xrecv(c, q + got, n - got);
		if (r < 0 && errno == EAGAIN)
			continue;
		if (r < 0) {
			if (errno == EINTR && !ferry_interrupted)
				continue;
			if (errno == EINTR)
				return wire_fail(c, -EINTR, "interrupted by signal %d", (int)ferry_interrupted);
			return io_fail(c, errno, "receive");
		}
		if (r == 0) {
			if (got == 0 && frame_start)
				return wire_fail(c, -ENODATA, "peer closed the connection");
			return wire_fail(c, -ECONNRESET,
				    "peer closed the connection in the middle of a frame");
		}
		got += (size_t)r;
		c->bytes_recv += (uint64_t)r;
	}
	return 0;
}

int wire_send(struct wire_conn *c, uint16_t type, const void *payload, uint32_t len)
{
	uint8_t hdr[WIRE_HDR_LEN];
	int ret;

	if (len > WIRE_MAX_PAYLOAD)
		return wire_fail(c, -EMSGSIZE, "%s frame of %u bytes exceeds the %u-byte limit",
			    wire_type_name(type), len, WIRE_MAX_PAYLOAD);
	wire_put_le(hdr, WIRE_MAGIC, 4);
	wire_put_le(hdr + 4, type, 2);
	wire_put_le(hdr + 6, 0, 2);
	wire_put_le(hdr + 8, len, 4);
	ret = wire_write_all(c, hdr, sizeof(hdr));
	if (!ret && len)
		ret = wire_write_all(c, payload, len);
	return ret;
}

int wire_recv(struct wire_conn *c, struct wire_msg *m)
{
	uint8_t hdr[WIRE_HDR_LEN];
	uint32_t magic, len;
	uint16_t type, flags;
	int ret;

	/* one limit for the whole frame, however it trickles in */
	c->frame_end = frame_limit(c);
	ret = read_all(c, hdr, sizeof(hdr), true);
	if (ret) {
		c->frame_end = 0;
		return ret;
	}
	magic = (uint32_t)wire_get_le(hdr, 4);
	type = (uint16_t)wire_get_le(hdr + 4, 2);
	flags = (uint16_t)wire_get_le(hdr + 6, 2);
	len = (uint32_t)wire_get_le(hdr + 8, 4);
	if ((magic & 0xffffff00u) != (WIRE_MAGIC & 0xffffff00u))
		return wire_fail(c, -EPROTO, "not a ferry stream (bad frame magic 0x%08x)", magic);
	if (magic != WIRE_MAGIC)
		return wire_fail(c, -EPROTO, "peer speaks wire protocol %u, this ferry speaks %u",
			    magic & 0xff, WIRE_VERSION);
	if (type == 0 || type >= __WIRE_TYPE_MAX)
		return wire_fail(c, -EPROTO, "unknown frame type %u", type);
	if (flags)
		return wire_fail(c, -EPROTO, "%s frame with reserved flags 0x%x set",
			    wire_type_name(type), flags);
	if (len > WIRE_MAX_PAYLOAD)
		return wire_fail(c, -EPROTO, "%s frame of %u bytes exceeds the %u-byte limit",
			    wire_type_name(type), len, WIRE_MAX_PAYLOAD);
	/* The buffer grows with the bytes that actually arrive, not with the
	 * length a header claims: a peer that announces 8 MiB and sends
	 * nothing costs 64 KiB. */
	for (uint32_t got = 0; got < len;) {
		uint32_t want = len - got;

		if (c->bufcap < len && c->bufcap < got + want) {
			size_t cap = c->bufcap ? (size_t)c->bufcap * 2 : 65536;
			uint8_t *nb;

			if (cap > len)
				cap = len;
			nb = realloc(c->buf, cap);
			if (!nb)
				return wire_fail(c, -ENOMEM, "out of memory");
			c->buf = nb;
			c->bufcap = (uint32_t)cap;
		}
		if (want > c->bufcap - got)
			want = c->bufcap - got;
		ret = read_all(c, c->buf + got, want, false);
		if (ret) {
			c->frame_end = 0;
			return ret;
		}
		got += want;
	}
	c->frame_end = 0;
	m->type = type;
	m->len = len;
	m->payload = c->buf;
	return 0;
}

int wire_expect(struct wire_conn *c, uint16_t type, struct wire_msg *m)
{
	int ret = wire_recv(c, m);

	if (ret)
		return ret;
	return wire_expect_failed(c, m, type);
}

int wire_expect_failed(struct wire_conn *c, const struct wire_msg *m, uint16_t type)
{
	if (m->type == type)
		return 0;
	if (m->type == WIRE_ERROR || m->type == WIRE_ABORT) {
		char msg[200];
		int32_t code;

		if (wire_parse_error(c, m, &code, msg, sizeof(msg)))
			return -EPROTO;
		wire_fail(c, -EREMOTEIO, "peer: %s", msg);
		return -EREMOTEIO;
	}
	return wire_fail(c, -EPROTO, "expected a %s frame, got %s", wire_type_name(type),
		    wire_type_name(m->type));
}

/* ---- payload encoding -------------------------------------------------- */
void wb_init(struct wire_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void wb_free(struct wire_buf *b)
{
	free(b->p);
	wb_init(b);
}

void wb_bytes(struct wire_buf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		uint8_t *np;

		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void wb_le(struct wire_buf *b, uint64_t v, int n)
{
	uint8_t t[8];

	wire_put_le(t, v, n);
	wb_bytes(b, t, (size_t)n);
}

void wb_u8(struct wire_buf *b, uint8_t v)   { wb_le(b, v, 1); }
void wb_u16(struct wire_buf *b, uint16_t v) { wb_le(b, v, 2); }
void wb_u32(struct wire_buf *b, uint32_t v) { wb_le(b, v, 4); }
void wb_u64(struct wire_buf *b, uint64_t v) { wb_le(b, v, 8); }

void wb_str(struct wire_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	if (n > WIRE_MAX_STR)
		n = WIRE_MAX_STR;
	wb_u16(b, (uint16_t)n);
	wb_bytes(b, s, n);
}

void rd_init(struct wire_rd *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
	r->bad = false;
}

const uint8_t *rd_bytes(struct wire_rd *r, size_t n)
{
	const uint8_t *p;

	if (r->bad || n > r->len - r->off) {
		r->bad = true;
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static uint64_t rd_le(struct wire_rd *r, int n)
{
	const uint8_t *p = rd_bytes(r, (size_t)n);

	return p ? wire_get_le(p, n) : 0;
}

uint8_t rd_u8(struct wire_rd *r)   { return (uint8_t)rd_le(r, 1); }
uint16_t rd_u16(struct wire_rd *r) { return (uint16_t)rd_le(r, 2); }
uint32_t rd_u32(struct wire_rd *r) { return (uint32_t)rd_le(r, 4); }
uint64_t rd_u64(struct wire_rd *r) { return rd_le(r, 8); }

void rd_str(struct wire_rd *r, char *out, size_t size)
{
	uint16_t n = rd_u16(r);
	const uint8_t *p;

	out[0] = 0;
	if (r->bad)
		return;
	if (n >= size || n > WIRE_MAX_STR) {
		r->bad = true;
		return;
	}
	p = rd_bytes(r, n);
	if (!p)
		return;
	if (memchr(p, 0, n)) {
		r->bad = true;
		return;
	}
	memcpy(out, p, n);
	out[n] = 0;
}

bool rd_done(const struct wire_rd *r)
{
	return !r->bad && r->off == r->len;
}
