// SPDX-License-Identifier: GPL-2.0
/* The migration wire protocol's typed messages (wire.h), over wire.c. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <zstd.h>
#include "util.h"
#include "wire.h"
#include "wire_int.h"

int wire_send_buf(struct wire_conn *c, uint16_t type, struct wire_buf *b)
{
	int ret;

	if (b->oom)
		ret = wire_fail(c, -ENOMEM, "out of memory");
	else
		ret = wire_send(c, type, b->p, (uint32_t)b->len);
	wb_free(b);
	return ret;
}

static int malformed(struct wire_conn *c, const struct wire_msg *m)
{
	return wire_fail(c, -EPROTO, "malformed %s frame (%u bytes)", wire_type_name(m->type), m->len);
}

static int check_type(struct wire_conn *c, const struct wire_msg *m, uint16_t type)
{
	if (m->type != type)
		return wire_fail(c, -EPROTO, "expected a %s frame, got %s", wire_type_name(type),
			    wire_type_name(m->type));
	return 0;
}

/* ---- typed messages ---------------------------------------------------- */
void wire_hello_init(struct wire_hello *h, uint64_t caps)
{
	struct utsname u;

	memset(h, 0, sizeof(*h));
	h->version = WIRE_VERSION;
	h->caps = caps;
	if (uname(&u))
		return;
	snprintf(h->host, sizeof(h->host), "%s", u.nodename);
	snprintf(h->kernel, sizeof(h->kernel), "%s", u.release);
}

int wire_send_hello(struct wire_conn *c, const struct wire_hello *h)
{
	struct wire_buf b;

	wb_init(&b);
	wb_u32(&b, h->version);
	wb_u64(&b, h->caps);
	wb_str(&b, h->host);
	wb_str(&b, h->kernel);
	wb_bytes(&b, h->id, WIRE_ID_LEN);
	return wire_send_buf(c, WIRE_HELLO, &b);
}

int wire_parse_hello(struct wire_conn *c, const struct wire_msg *m, struct wire_hello *h)
{
	struct wire_rd r;

	if (check_type(c, m, WIRE_HELLO))
		return -EPROTO;
	rd_init(&r, m->payload, m->len);
	h->version = rd_u32(&r);
	h->caps = rd_u64(&r);
	rd_str(&r, h->host, sizeof(h->host));
	rd_str(&r, h->kernel, sizeof(h->kernel));
	const uint8_t *id = rd_bytes(&r, WIRE_ID_LEN);

	if (id)
		memcpy(h->id, id, WIRE_ID_LEN);
	if (!rd_done(&r))
		return malformed(c, m);
	/* shown to the operator */
	ferry_sanitize(h->host, false);
	ferry_sanitize(h->kernel, false);
	if (h->version != WIRE_VERSION)
		return wire_fail(c, -EPROTO, "peer speaks wire protocol %u, this ferry speaks %u",
			    h->version, WIRE_VERSION);
	return 0;
}

#define PAGES_HDR_LEN (4 + 8 + 4 + 4 + 1)

/*
 * Compress raw bytes of data into c->tmp when that pays: 0 with *out and out_len
 * set to the compressed or the original bytes and *comp saying which.
 */
static int maybe_compress(struct wire_conn *c, const void *data, size_t raw, const void **out,
			  size_t *out_len, uint8_t *comp)
{
	*out = data;
	*out_len = raw;
	*comp = WIRE_COMP_NONE;
	if (!c->tmp) {
		c->tmp = malloc(ZSTD_compressBound(WIRE_MAX_PAGES * WIRE_PAGE_SIZE));
		if (!c->tmp)
			return wire_fail(c, -ENOMEM, "out of memory");
	}
	if (!c->zc) {
		c->zc = ZSTD_createCCtx();
		if (!c->zc)
			return wire_fail(c, -ENOMEM, "out of memory");
		ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel, c->zlevel);
	}
	/* Probe: when the first 64 KiB do not compress below 7/8, the batch
	 * is sent raw -- compressing random data costs more than sending it. */
	size_t probe = raw < WIRE_PROBE_BYTES ? raw : WIRE_PROBE_BYTES;
	size_t z = ZSTD_compress2(c->zc, c->tmp,
				  ZSTD_compressBound(WIRE_MAX_PAGES * WIRE_PAGE_SIZE), data, probe);
	if (!ZSTD_isError(z) && z < probe - probe / 8 && probe < raw)
		z = ZSTD_compress2(c->zc, c->tmp,
				   ZSTD_compressBound(WIRE_MAX_PAGES * WIRE_PAGE_SIZE), data, raw);
	else if (probe < raw)
		z = raw;	/* incompressible: raw */
	if (!ZSTD_isError(z) && z < raw) {
		*out = c->tmp;
		*out_len = z;
		*comp = WIRE_COMP_ZSTD;
	}
	return 0;
}

int wire_send_pages(struct wire_conn *c, uint32_t pid, uint64_t vaddr, uint32_t npages,
		    const void *data)
{
	return wire_send_pages_as(c, WIRE_PAGES, pid, vaddr, npages, data);
}

int wire_send_pages_as(struct wire_conn *c, uint16_t type, uint32_t pid, uint64_t vaddr,
		       uint32_t npages, const void *data)
{
	size_t raw = (size_t)npages * WIRE_PAGE_SIZE, out_len;
	const void *out;
	uint8_t comp;
	uint8_t hdr[WIRE_HDR_LEN + PAGES_HDR_LEN];
	int ret;

	if (!npages || npages > WIRE_MAX_PAGES)
		return wire_fail(c, -EINVAL, "bad page count %u", npages);
	ret = maybe_compress(c, data, raw, &out, &out_len, &comp);
	if (ret)
		return ret;
	/* Header and page header in one write, then the data: no copy. */
	wire_put_le(hdr, WIRE_MAGIC, 4);
	wire_put_le(hdr + 4, type, 2);
	wire_put_le(hdr + 6, 0, 2);
	wire_put_le(hdr + 8, PAGES_HDR_LEN + out_len, 4);
	wire_put_le(hdr + 12, pid, 4);
	wire_put_le(hdr + 16, vaddr, 8);
	wire_put_le(hdr + 24, npages, 4);
	wire_put_le(hdr + 28, raw, 4);
	hdr[32] = comp;
	ret = wire_write_all(c, hdr, sizeof(hdr));
	if (!ret)
		ret = wire_write_all(c, out, out_len);
	return ret;
}

int wire_parse_pages(struct wire_conn *c, const struct wire_msg *m, struct wire_pages_hdr *h,
		     void *out, size_t out_size)
{
	return wire_parse_pages_as(c, m, WIRE_PAGES, h, out, out_size);
}

int wire_parse_pages_as(struct wire_conn *c, const struct wire_msg *m, uint16_t type,
			struct wire_pages_hdr *h, void *out, size_t out_size)
{
	struct wire_rd r;
	const uint8_t *data;
	size_t n;

	if (check_type(c, m, type))
		return -EPROTO;
	rd_init(&r, m->payload, m->len);
	h->pid = rd_u32(&r);
	h->vaddr = rd_u64(&r);
	h->npages = rd_u32(&r);
	h->raw_len = rd_u32(&r);
	h->comp = rd_u8(&r);
	if (r.bad)
		return malformed(c, m);
	h->wire_len = (uint32_t)(r.len - r.off);
	data = rd_bytes(&r, h->wire_len);
	if (h->npages == 0 || h->npages > WIRE_MAX_PAGES ||
	    h->raw_len != h->npages * WIRE_PAGE_SIZE)
		return wire_fail(c, -EPROTO, "PAGES frame with %u pages and %u raw bytes", h->npages,
			    h->raw_len);
	if (h->vaddr % WIRE_PAGE_SIZE || h->vaddr + (uint64_t)h->raw_len < h->vaddr)
		return wire_fail(c, -EPROTO, "PAGES frame at bad address 0x%llx",
			    (unsigned long long)h->vaddr);
	if (out_size < h->raw_len)
		return wire_fail(c, -ENOBUFS, "PAGES buffer too small");
	switch (h->comp) {
	case WIRE_COMP_NONE:
		if (h->wire_len != h->raw_len)
			return wire_fail(c, -EPROTO, "uncompressed PAGES frame with %u of %u bytes",
				    h->wire_len, h->raw_len);
		memcpy(out, data, h->raw_len);
		return 0;
	case WIRE_COMP_ZSTD:
		if (!c->zd) {
			c->zd = ZSTD_createDCtx();
			if (!c->zd)
				return wire_fail(c, -ENOMEM, "out of memory");
		}
		n = ZSTD_decompressDCtx(c->zd, out, h->raw_len, data, h->wire_len);
		if (ZSTD_isError(n))
			return wire_fail(c, -EPROTO, "PAGES frame: zstd: %s", ZSTD_getErrorName(n));
		if (n != h->raw_len)
			return wire_fail(c, -EPROTO, "PAGES frame decompressed to %zu of %u bytes", n,
				    h->raw_len);
		return 0;
	default:
		return wire_fail(c, -EPROTO, "PAGES frame with unknown compression %u", h->comp);
	}
}

int wire_send_round(struct wire_conn *c, uint16_t type, const struct wire_round *r)
{
	struct wire_buf b;

	wb_init(&b);
	wb_u32(&b, r->round);
	wb_u64(&b, r->pages);
	wb_u64(&b, r->raw_bytes);
	wb_u64(&b, r->wire_bytes);
	wb_u64(&b, r->dirty_pages);
	wb_u64(&b, r->elapsed_ns);
	wb_u32(&b, r->flags);
	return wire_send_buf(c, type, &b);
}

int wire_parse_round(struct wire_conn *c, const struct wire_msg *m, struct wire_round *r)
{
	struct wire_rd d;

	if (m->type != WIRE_ROUND_END && m->type != WIRE_ROUND_ACK)
		return check_type(c, m, WIRE_ROUND_END);
	rd_init(&d, m->payload, m->len);
	r->round = rd_u32(&d);
	r->pages = rd_u64(&d);
	r->raw_bytes = rd_u64(&d);
	r->wire_bytes = rd_u64(&d);
	r->dirty_pages = rd_u64(&d);
	r->elapsed_ns = rd_u64(&d);
	r->flags = rd_u32(&d);
	return rd_done(&d) ? 0 : malformed(c, m);
}

static bool name_chars_ok(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-'))
			return false;
	return true;
}

bool wire_name_ok(const char *name)
{
	return name[0] && name_chars_ok(name) && strcmp(name, ".") && strcmp(name, "..");
}

bool wire_ifname_ok(const char *name, bool may_be_empty)
{
	size_t n = strlen(name);

	if (!n)
		return may_be_empty;
	return n < 16 && name_chars_ok(name) && strcmp(name, ".") && strcmp(name, "..");
}

int wire_send_file_begin(struct wire_conn *c, const struct wire_file *f)
{
	struct wire_buf b;

	wb_init(&b);
	wb_str(&b, f->name);
	wb_u64(&b, f->size);
	wb_u32(&b, f->mode);
	return wire_send_buf(c, WIRE_FILE_BEGIN, &b);
}

int wire_parse_file_begin(struct wire_conn *c, const struct wire_msg *m, struct wire_file *f)
{
	struct wire_rd r;

	if (check_type(c, m, WIRE_FILE_BEGIN))
		return -EPROTO;
	rd_init(&r, m->payload, m->len);
	rd_str(&r, f->name, sizeof(f->name));
	f->size = rd_u64(&r);
	f->mode = rd_u32(&r);
	if (!rd_done(&r))
		return malformed(c, m);
	if (!wire_name_ok(f->name)) {
		ferry_sanitize(f->name, false);
		return wire_fail(c, -EPROTO, "FILE_BEGIN with unsafe name '%s'", f->name);
	}
	return 0;
}

int wire_send_file(struct wire_conn *c, const char *name, int fd)
{
	struct wire_file f = { .mode = 0600 };
	off_t end;
	int ret;

	if (strlen(name) >= sizeof(f.name) || !wire_name_ok(name))
		return wire_fail(c, -EINVAL, "bad file name '%s'", name);
	strcpy(f.name, name);
	end = lseek(fd, 0, SEEK_END);
	if (end < 0)
		return wire_fail(c, -errno, "%s: %s", name, strerror(errno));
	f.size = (uint64_t)end;
	ret = wire_send_file_begin(c, &f);
	if (ret)
		return ret;
	return wire_send_file_body(c, name, fd, f.size);
}

static int send_body(struct wire_conn *c, const char *name, int fd, uint64_t size, bool live)
{
	uint64_t sent = 0;
	bool padded = false;
	int ret = 0;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return wire_fail(c, -errno, "%s: %s", name, strerror(errno));
	uint8_t *chunk = malloc(WIRE_FILE_CHUNK);

	if (!chunk)
		return wire_fail(c, -ENOMEM, "out of memory");
	while (!ret && sent < size) {
		ssize_t n = read(fd, chunk, WIRE_FILE_CHUNK);
		const void *out;
		size_t out_len;
		uint8_t comp;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = wire_fail(c, -errno, "%s: %s", name, strerror(errno));
			break;
		}
		if (n == 0 && live) {
			/* it shrank meanwhile: the announced size still goes */
			n = (ssize_t)(size - sent < WIRE_FILE_CHUNK ? size - sent : WIRE_FILE_CHUNK);
			memset(chunk, 0, (size_t)n);
			padded = true;
		} else if (n == 0) {
			ret = wire_fail(c, -EIO, "%s shrank while being sent", name);
			break;
		}
		if ((uint64_t)n > size - sent)
			n = (ssize_t)(size - sent);
		ret = maybe_compress(c, chunk, (size_t)n, &out, &out_len, &comp);
		if (ret)
			break;
		if (comp == WIRE_COMP_ZSTD) {
			uint8_t hdr[WIRE_HDR_LEN + 4];

			wire_put_le(hdr, WIRE_MAGIC, 4);
			wire_put_le(hdr + 4, WIRE_FILE_ZDATA, 2);
			wire_put_le(hdr + 6, 0, 2);
			wire_put_le(hdr + 8, 4 + out_len, 4);
			wire_put_le(hdr + 12, (uint64_t)n, 4);
			ret = wire_write_all(c, hdr, sizeof(hdr));
			if (!ret)
				ret = wire_write_all(c, out, out_len);
		} else {
			ret = wire_send(c, WIRE_FILE_DATA, chunk, (uint32_t)n);
		}
		sent += (uint64_t)n;
	}
	free(chunk);
	if (!ret)
		ret = wire_send(c, WIRE_FILE_END, NULL, 0);
	return ret ? ret : padded;
}

int wire_send_file_body(struct wire_conn *c, const char *name, int fd, uint64_t size)
{
	return send_body(c, name, fd, size, false);
}

int wire_send_file_body_live(struct wire_conn *c, const char *name, int fd, uint64_t size)
{
	return send_body(c, name, fd, size, true);
}

int wire_recv_file_body(struct wire_conn *c, const struct wire_file *f, int out_fd)
{
	struct wire_msg m;
	uint64_t got = 0;
	int ret;

	for (;;) {
		ret = wire_recv(c, &m);
		if (ret)
			return ret == -ENODATA ? wire_fail(c, -ECONNRESET,
					"peer closed the connection during file %s", f->name) : ret;
		if (m.type == WIRE_FILE_END) {
			if (m.len)
				return malformed(c, &m);
			if (got != f->size)
				return wire_fail(c, -EPROTO, "file %s: got %llu of %llu bytes", f->name,
					    (unsigned long long)got, (unsigned long long)f->size);
			return 0;
		}
		const uint8_t *data = m.payload;
		uint32_t len = m.len;

		if (m.type == WIRE_FILE_ZDATA) {
			size_t n;

			if (m.len < 4)
				return malformed(c, &m);
			len = (uint32_t)wire_get_le(m.payload, 4);
			if (len == 0 || len > WIRE_FILE_CHUNK)
				return wire_fail(c, -EPROTO, "file %s: FILE_ZDATA of %u bytes", f->name,
					    len);
			if (!c->zbuf && !(c->zbuf = malloc(WIRE_FILE_CHUNK)))
				return wire_fail(c, -ENOMEM, "out of memory");
			if (!c->zd && !(c->zd = ZSTD_createDCtx()))
				return wire_fail(c, -ENOMEM, "out of memory");
			n = ZSTD_decompressDCtx(c->zd, c->zbuf, len, m.payload + 4, m.len - 4);
			if (ZSTD_isError(n) || n != len)
				return wire_fail(c, -EPROTO, "file %s: bad FILE_ZDATA frame", f->name);
			data = c->zbuf;
		} else if (m.type != WIRE_FILE_DATA) {
			return wire_fail(c, -EPROTO, "file %s: unexpected %s frame", f->name,
				    wire_type_name(m.type));
		}
		if (len > f->size - got)
			return wire_fail(c, -EPROTO, "file %s: more than the announced %llu bytes",
				    f->name, (unsigned long long)f->size);
		ret = ferry_write_all(out_fd, data, len);
		if (ret)
			return wire_fail(c, ret, "file %s: write: %s", f->name, strerror(-ret));
		got += len;
	}
}

int wire_send_error(struct wire_conn *c, uint16_t type, int32_t code, const char *fmt, ...)
{
	struct wire_buf b;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	wb_init(&b);
	wb_u32(&b, (uint32_t)code);
	wb_str(&b, msg);
	return wire_send_buf(c, type, &b);
}

int wire_parse_error(struct wire_conn *c, const struct wire_msg *m, int32_t *code,
		     char *msg, size_t size)
{
	struct wire_rd r;

	if (m->type != WIRE_ERROR && m->type != WIRE_ABORT && m->type != WIRE_NOT_RESTORED)
		return check_type(c, m, WIRE_ERROR);
	char full[WIRE_MAX_STR + 1];

	rd_init(&r, m->payload, m->len);
	*code = (int32_t)rd_u32(&r);
	rd_str(&r, full, sizeof(full));
	if (!rd_done(&r))
		return malformed(c, m);
	ferry_sanitize(full, false);	/* shown to the operator */
	snprintf(msg, size, "%s", full);	/* a long message is cut, not refused */
	return 0;
}

int wire_send_u64s(struct wire_conn *c, uint16_t type, const uint64_t *v, uint32_t n)
{
	struct wire_buf b;

	wb_init(&b);
	wb_u32(&b, n);
	for (uint32_t i = 0; i < n; i++)
		wb_u64(&b, v[i]);
	return wire_send_buf(c, type, &b);
}

int wire_parse_u64s(struct wire_conn *c, const struct wire_msg *m, uint64_t *v, uint32_t n)
{
	struct wire_rd r;

	rd_init(&r, m->payload, m->len);
	if (rd_u32(&r) != n)
		return malformed(c, m);
	for (uint32_t i = 0; i < n; i++)
		v[i] = rd_u64(&r);
	return rd_done(&r) ? 0 : malformed(c, m);
}

int wire_send_move_addr(struct wire_conn *c, uint16_t type, const struct wire_move_addr *a)
{
	struct wire_buf b;

	wb_init(&b);
	wb_bytes(&b, &a->addr, 4);
	wb_u8(&b, a->prefix);
	wb_str(&b, a->dev);
	return wire_send_buf(c, type, &b);
}

int wire_parse_move_addr(struct wire_conn *c, const struct wire_msg *m,
			 struct wire_move_addr *a)
{
	const uint8_t *p;
	struct wire_rd r;

	if (m->type != WIRE_MOVE_ADDR && m->type != WIRE_MOVE_ADDR_ACK)
		return wire_fail(c, -EPROTO, "expected a MOVE_ADDR frame, got %s",
			    wire_type_name(m->type));
	rd_init(&r, m->payload, m->len);
	p = rd_bytes(&r, 4);
	if (p)
		memcpy(&a->addr, p, 4);
	a->prefix = rd_u8(&r);
	rd_str(&r, a->dev, sizeof(a->dev));
	if (!rd_done(&r) || a->prefix < 1 || a->prefix > 32 || !wire_ifname_ok(a->dev, true))
		return malformed(c, m);
	return 0;
}

static bool hex64(const char *s)
{
	size_t n = strlen(s);

	if (n != WIRE_CTR_ID_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool wire_ctr_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (!n || n > 255 || !isalnum((unsigned char)name[0]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return false;
	return true;
}

static bool ctr_vol_ok(const struct wire_ctr_vol *v)
{
	if (v->dest[0] != '/')
		return false;
	if (v->kind == WIRE_CTR_VOL_NAMED)
		return wire_ctr_name_ok(v->src);
	return v->kind == WIRE_CTR_VOL_BIND && v->src[0] == '/';
}

bool wire_clean_abs_path(const char *p)
{
	const char *c = p;

	if (p[0] != '/' || !p[1])
		return false;
	while (*c == '/') {
		size_t n = strcspn(c + 1, "/");

		if (!n || (n == 1 && c[1] == '.') || (n == 2 && c[1] == '.' && c[2] == '.'))
			return false;
		c += 1 + n;
	}
	return true;
}

static bool runc_ok(const struct wire_ctr *k)
{
	size_t n = strlen(k->share);

	if (!wire_ctr_name_ok(k->id) || strcmp(k->id, k->name) || !hex64(k->image) ||
	    k->nvols > WIRE_CTR_MAX_VOLS || !wire_clean_abs_path(k->bundle) ||
	    n != WIRE_CTR_SHARE_LEN)
		return false;
	/* runc has no named volumes: its bind mounts, checked on the
	 * destination (ctr_runc.h) */
	for (uint32_t i = 0; i < k->nvols; i++)
		if (k->vols[i].kind != WIRE_CTR_VOL_BIND || !ctr_vol_ok(&k->vols[i]))
			return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)k->share[i]) || isupper((unsigned char)k->share[i]))
			return false;
	return true;
}

bool wire_ctr_ok(const struct wire_ctr *k)
{
	if (!strcmp(k->engine, "runc"))
		return runc_ok(k);
	if (strcmp(k->engine, "podman") || !hex64(k->id) || !hex64(k->image) ||
	    !wire_ctr_name_ok(k->name) || k->nvols > WIRE_CTR_MAX_VOLS || k->bundle[0] ||
	    k->share[0])
		return false;
	for (uint32_t i = 0; i < k->nvols; i++)
		if (!ctr_vol_ok(&k->vols[i]))
			return false;
	return true;
}

int wire_send_ctr(struct wire_conn *c, const struct wire_ctr *k)
{
	struct wire_buf b;

	wb_init(&b);
	wb_str(&b, k->engine);
	wb_str(&b, k->id);
	wb_str(&b, k->name);
	wb_str(&b, k->image);
	wb_u32(&b, k->nvols);
	for (uint32_t i = 0; i < k->nvols && i < WIRE_CTR_MAX_VOLS; i++) {
		wb_u8(&b, k->vols[i].kind);
		wb_str(&b, k->vols[i].src);
		wb_str(&b, k->vols[i].dest);
	}
	/* a Podman container's frame ends here, as before runc */
	if (!strcmp(k->engine, "runc")) {
		wb_str(&b, k->bundle);
		wb_str(&b, k->share);
	}
	return wire_send_buf(c, WIRE_CONTAINER, &b);
}

int wire_parse_ctr(struct wire_conn *c, const struct wire_msg *m, struct wire_ctr *k)
{
	struct wire_rd r;

	if (m->type != WIRE_CONTAINER)
		return wire_fail(c, -EPROTO, "expected a CONTAINER frame, got %s",
				 wire_type_name(m->type));
	memset(k, 0, sizeof(*k));
	rd_init(&r, m->payload, m->len);
	rd_str(&r, k->engine, sizeof(k->engine));
	rd_str(&r, k->id, sizeof(k->id));
	rd_str(&r, k->name, sizeof(k->name));
	rd_str(&r, k->image, sizeof(k->image));
	/* a sender from before volumes ends here */
	if (!r.bad && r.off < r.len) {
		k->nvols = rd_u32(&r);
		if (k->nvols > WIRE_CTR_MAX_VOLS)
			return malformed(c, m);
		for (uint32_t i = 0; i < k->nvols && !r.bad; i++) {
			k->vols[i].kind = rd_u8(&r);
			rd_str(&r, k->vols[i].src, sizeof(k->vols[i].src));
			rd_str(&r, k->vols[i].dest, sizeof(k->vols[i].dest));
		}
	}
	if (!r.bad && r.off < r.len) {
		rd_str(&r, k->bundle, sizeof(k->bundle));
		rd_str(&r, k->share, sizeof(k->share));
	}
	if (!rd_done(&r) || !wire_ctr_ok(k))
		return malformed(c, m);
	return 0;
}

/* What an entry of either family must be, its addresses aside */
static bool ct_fields_ok(uint8_t tcp_state, uint32_t status, uint32_t timeout, uint16_t sport,
			 uint16_t dport)
{
	return tcp_state >= 1 && tcp_state <= 8 &&	/* SYN_SENT .. CLOSE */
	       !(status & ~WIRE_CT_STATUS_KEPT) && timeout >= 1 &&
	       timeout <= WIRE_CT_MAX_TIMEOUT && sport && dport;
}

bool wire_ct_ok(const struct wire_ct *e)
{
	return ct_fields_ok(e->tcp_state, e->status, e->timeout, e->sport, e->dport) && e->src &&
	       e->dst && e->src != e->dst;
}

int wire_send_ct(struct wire_conn *c, uint32_t addr, const struct wire_ct *v, uint32_t n)
{
	struct wire_buf b;

	if (n > WIRE_CT_MAX)
		return wire_fail(c, -E2BIG, "%u conntrack entries (at most %u)", n, WIRE_CT_MAX);
	wb_init(&b);
	wb_bytes(&b, &addr, 4);
	wb_u32(&b, n);
	for (uint32_t i = 0; i < n; i++) {
		wb_bytes(&b, &v[i].src, 4);
		wb_bytes(&b, &v[i].dst, 4);
		wb_bytes(&b, &v[i].sport, 2);
		wb_bytes(&b, &v[i].dport, 2);
		wb_u8(&b, v[i].tcp_state);
		wb_u32(&b, v[i].status);
		wb_u32(&b, v[i].timeout);
	}
	return wire_send_buf(c, WIRE_CONNTRACK, &b);
}

int wire_parse_ct(struct wire_conn *c, const struct wire_msg *m, uint32_t *addr,
		  struct wire_ct **v, uint32_t *n)
{
	const uint8_t *p;
	struct wire_rd r;
	struct wire_ct *e = NULL;
	uint32_t cnt;

	*v = NULL;
	*n = 0;
	if (check_type(c, m, WIRE_CONNTRACK))
		return -EPROTO;
	rd_init(&r, m->payload, m->len);
	p = rd_bytes(&r, 4);
	if (p)
		memcpy(addr, p, 4);
	cnt = rd_u32(&r);
	/* the count is checked against the frame before anything is allocated */
	if (r.bad || cnt > WIRE_CT_MAX || (uint64_t)m->len != 8 + (uint64_t)cnt * WIRE_CT_ENTRY_LEN ||
	    !*addr)
		return malformed(c, m);
	if (cnt && !(e = calloc(cnt, sizeof(*e))))
		return wire_fail(c, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < cnt && !r.bad; i++) {
		p = rd_bytes(&r, 12);
		if (!p)
			break;
		memcpy(&e[i].src, p, 4);
		memcpy(&e[i].dst, p + 4, 4);
		memcpy(&e[i].sport, p + 8, 2);
		memcpy(&e[i].dport, p + 10, 2);
		e[i].tcp_state = rd_u8(&r);
		e[i].status = rd_u32(&r);
		e[i].timeout = rd_u32(&r);
		if (!wire_ct_ok(&e[i]) || (e[i].src != *addr && e[i].dst != *addr))
			r.bad = true;
	}
	if (!rd_done(&r)) {
		free(e);
		return malformed(c, m);
	}
	*v = e;
	*n = cnt;
	return 0;
}

/* The largest CONNTRACK6 fits a frame: its count is only checked against
 * the frame's length */
_Static_assert(WIRE_CT6_ADDR_LEN + 4 + (uint64_t)WIRE_CT_MAX * WIRE_CT6_ENTRY_LEN <=
	       WIRE_MAX_PAYLOAD, "CONNTRACK6 of WIRE_CT_MAX entries exceeds a frame");

bool wire_ct6_addr_ok(const uint8_t addr[WIRE_CT6_ADDR_LEN])
{
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };
	static const uint8_t zero[WIRE_CT6_ADDR_LEN];

	return memcmp(addr, zero, sizeof(zero)) && memcmp(addr, v4mapped, sizeof(v4mapped));
}

bool wire_ct6_ok(const struct wire_ct6 *e)
{
	return ct_fields_ok(e->tcp_state, e->status, e->timeout, e->sport, e->dport) &&
	       wire_ct6_addr_ok(e->src) && wire_ct6_addr_ok(e->dst) &&
	       memcmp(e->src, e->dst, WIRE_CT6_ADDR_LEN);
}

int wire_send_ct6(struct wire_conn *c, const uint8_t addr[WIRE_CT6_ADDR_LEN],
		  const struct wire_ct6 *v, uint32_t n)
{
	struct wire_buf b;

	if (n > WIRE_CT_MAX)
		return wire_fail(c, -E2BIG, "%u IPv6 conntrack entries (at most %u)", n,
				 WIRE_CT_MAX);
	wb_init(&b);
	wb_bytes(&b, addr, WIRE_CT6_ADDR_LEN);
	wb_u32(&b, n);
	for (uint32_t i = 0; i < n; i++) {
		wb_bytes(&b, v[i].src, WIRE_CT6_ADDR_LEN);
		wb_bytes(&b, v[i].dst, WIRE_CT6_ADDR_LEN);
		wb_bytes(&b, &v[i].sport, 2);
		wb_bytes(&b, &v[i].dport, 2);
		wb_u8(&b, v[i].tcp_state);
		wb_u32(&b, v[i].status);
		wb_u32(&b, v[i].timeout);
	}
	return wire_send_buf(c, WIRE_CONNTRACK6, &b);
}

/* One CONNTRACK6 entry from r into e: false if it is not one of addr's */
static bool rd_ct6(struct wire_rd *r, const uint8_t addr[WIRE_CT6_ADDR_LEN], struct wire_ct6 *e)
{
	const uint8_t *p = rd_bytes(r, 2 * WIRE_CT6_ADDR_LEN + 4);

	if (!p)
		return false;
	memcpy(e->src, p, WIRE_CT6_ADDR_LEN);
	memcpy(e->dst, p + WIRE_CT6_ADDR_LEN, WIRE_CT6_ADDR_LEN);
	memcpy(&e->sport, p + 2 * WIRE_CT6_ADDR_LEN, 2);
	memcpy(&e->dport, p + 2 * WIRE_CT6_ADDR_LEN + 2, 2);
	e->tcp_state = rd_u8(r);
	e->status = rd_u32(r);
	e->timeout = rd_u32(r);
	return !r->bad && wire_ct6_ok(e) && (!memcmp(e->src, addr, WIRE_CT6_ADDR_LEN) ||
					     !memcmp(e->dst, addr, WIRE_CT6_ADDR_LEN));
}

int wire_parse_ct6(struct wire_conn *c, const struct wire_msg *m,
		   uint8_t addr[WIRE_CT6_ADDR_LEN], struct wire_ct6 **v, uint32_t *n)
{
	const uint8_t *p;
	struct wire_rd r;
	struct wire_ct6 *e = NULL;
	uint32_t cnt;

	*v = NULL;
	*n = 0;
	memset(addr, 0, WIRE_CT6_ADDR_LEN);
	if (check_type(c, m, WIRE_CONNTRACK6))
		return -EPROTO;
	rd_init(&r, m->payload, m->len);
	p = rd_bytes(&r, WIRE_CT6_ADDR_LEN);
	if (p)
		memcpy(addr, p, WIRE_CT6_ADDR_LEN);
	cnt = rd_u32(&r);
	/* the count is checked against the frame before anything is allocated */
	if (r.bad || cnt > WIRE_CT_MAX ||
	    (uint64_t)m->len != WIRE_CT6_ADDR_LEN + 4 + (uint64_t)cnt * WIRE_CT6_ENTRY_LEN ||
	    !wire_ct6_addr_ok(addr))
		return malformed(c, m);
	if (cnt && !(e = calloc(cnt, sizeof(*e))))
		return wire_fail(c, -ENOMEM, "out of memory");
	for (uint32_t i = 0; i < cnt && !r.bad; i++)
		if (!rd_ct6(&r, addr, &e[i]))
			r.bad = true;
	if (!rd_done(&r)) {
		free(e);
		return malformed(c, m);
	}
	*v = e;
	*n = cnt;
	return 0;
}

void wire_id_hex(const uint8_t id[WIRE_ID_LEN], char out[2 * WIRE_ID_LEN + 1])
{
	for (int i = 0; i < WIRE_ID_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", id[i]);
}

bool wire_id_parse(const char *s, uint8_t id[WIRE_ID_LEN])
{
	if (strlen(s) != 2 * WIRE_ID_LEN)
		return false;
	for (int i = 0; i < WIRE_ID_LEN; i++) {
		unsigned int v;

		if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) ||
		    sscanf(s + 2 * i, "%2x", &v) != 1)
			return false;
		id[i] = (uint8_t)v;
	}
	return true;
}

int wire_send_outcome(struct wire_conn *c, const struct wire_outcome_msg *o)
{
	struct wire_buf b;

	wb_init(&b);
	wb_bytes(&b, o->id, WIRE_ID_LEN);
	wb_u32(&b, o->outcome);
	for (int i = 0; i < 4; i++)
		wb_u64(&b, o->v[i]);
	return wire_send_buf(c, WIRE_OUTCOME, &b);
}

int wire_parse_outcome(struct wire_conn *c, const struct wire_msg *m, struct wire_outcome_msg *o)
{
	const uint8_t *id;
	struct wire_rd r;

	if (check_type(c, m, WIRE_OUTCOME))
		return -EPROTO;
	rd_init(&r, m->payload, m->len);
	id = rd_bytes(&r, WIRE_ID_LEN);
	if (id)
		memcpy(o->id, id, WIRE_ID_LEN);
	o->outcome = rd_u32(&r);
	for (int i = 0; i < 4; i++)
		o->v[i] = rd_u64(&r);
	if (!rd_done(&r) || o->outcome > WIRE_OUTCOME_LOST)
		return malformed(c, m);
	return 0;
}

const char *wire_outcome_name(uint32_t o)
{
	switch (o) {
	case WIRE_OUTCOME_RESTORED: return "restored";
	case WIRE_OUTCOME_NOT_RESTORED: return "not restored";
	case WIRE_OUTCOME_IN_PROGRESS: return "restore in progress";
	case WIRE_OUTCOME_LOST: return "ran there, then killed without all its pages after it "
				       "may have reached the outside world";
	default: return "unknown";
	}
}
