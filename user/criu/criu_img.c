// SPDX-License-Identifier: GPL-2.0
/* CRIU parent images (pagemap, pages, inventory) and stats, hand-encoded. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "util.h"
#include "criu_img.h"
#include "pagestore.h"

size_t pb_put_varint(uint8_t *buf, uint64_t v)
{
	size_t n = 0;

	do {
		uint8_t b = v & 0x7f;

		v >>= 7;
		buf[n++] = b | (v ? 0x80 : 0);
	} while (v);
	return n;
}

int pb_get_varint(const uint8_t *p, size_t len, uint64_t *v)
{
	uint64_t r = 0;

	for (size_t i = 0; i < len && i < PB_MAX_VARINT; i++) {
		uint64_t b = p[i] & 0x7f;

		if (i == 9 && b > 1)
			return -1;	/* more than 64 bits */
		r |= b << (7 * i);
		if (!(p[i] & 0x80)) {
			*v = r;
			return (int)i + 1;
		}
	}
	return -1;
}

void pb_put_field(uint8_t *buf, size_t *off, uint32_t field, uint64_t v)
{
	*off += pb_put_varint(buf + *off, (uint64_t)field << 3);	/* wire type 0 */
	*off += pb_put_varint(buf + *off, v);
}

int pb_next(const uint8_t *msg, size_t len, size_t *off, struct pb_field *f)
{
	uint64_t key, val = 0;
	int n;

	if (*off >= len)
		return 0;
	n = pb_get_varint(msg + *off, len - *off, &key);
	if (n < 0)
		return -1;
	*off += (size_t)n;
	f->bytes = NULL;
	f->blen = 0;
	switch (key & 7) {
	case 0:
		n = pb_get_varint(msg + *off, len - *off, &val);
		if (n < 0)
			return -1;
		*off += (size_t)n;
		break;
	case 1:
		if (len - *off < 8)
			return -1;
		*off += 8;
		break;
	case 5:
		if (len - *off < 4)
			return -1;
		*off += 4;
		break;
	case 2:
		n = pb_get_varint(msg + *off, len - *off, &val);
		if (n < 0 || val > len - *off - (size_t)n)
			return -1;
		*off += (size_t)n;
		f->bytes = msg + *off;
		f->blen = (size_t)val;
		*off += f->blen;
		break;
	default:
		return -1;
	}
	f->field = (uint32_t)(key >> 3);
	f->wt = (int)(key & 7);
	f->v = val;
	return 1;
}

/* Walk msg; stop at `field`, reporting wire type and value/bytes. */
static int pb_find(const uint8_t *msg, size_t len, uint32_t field, int *wt, uint64_t *v,
		   const uint8_t **p, size_t *plen)
{
	struct pb_field f;
	size_t off = 0;
	int found = 0, ret;

	while ((ret = pb_next(msg, len, &off, &f)) == 1) {
		if (f.field == field) {
			/* last occurrence wins, as in protobuf */
			*wt = f.wt;
			*v = f.v;
			*p = f.bytes;
			*plen = f.blen;
			found = 1;
		}
	}
	return ret < 0 ? -1 : found;
}

int pb_find_varint(const uint8_t *msg, size_t len, uint32_t field, uint64_t *v)
{
	const uint8_t *p;
	size_t plen;
	int wt, ret = pb_find(msg, len, field, &wt, v, &p, &plen);

	if (ret == 1 && wt != 0)
		return -1;
	return ret;
}

int pb_find_bytes(const uint8_t *msg, size_t len, uint32_t field, const uint8_t **p,
		  size_t *plen)
{
	uint64_t v;
	int wt, ret = pb_find(msg, len, field, &wt, &v, p, plen);

	if (ret == 1 && wt != 2)
		return -1;
	return ret;
}

/* ---- image files -------------------------------------------------------- */
struct obuf {
	uint8_t *p;
	size_t len, cap;
};

static int ob_reserve(struct obuf *b, size_t n)
{
	if (b->len + n <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	uint8_t *np = realloc(b->p, cap);
	if (!np)
		return -ENOMEM;
	b->p = np;
	b->cap = cap;
	return 0;
}

static int ob_u32(struct obuf *b, uint32_t v)
{
	if (ob_reserve(b, 4))
		return -ENOMEM;
	for (int i = 0; i < 4; i++)
		b->p[b->len++] = (uint8_t)(v >> (8 * i));
	return 0;
}

/* One size-prefixed protobuf entry. */
static int ob_entry(struct obuf *b, const uint8_t *msg, size_t len)
{
	if (ob_u32(b, (uint32_t)len) || ob_reserve(b, len))
		return -ENOMEM;
	memcpy(b->p + b->len, msg, len);
	b->len += len;
	return 0;
}

static int write_file(int dirfd, const char *name, const void *buf, size_t len)
{
	int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int ret;

	if (fd < 0)
		return -errno;
	ret = ferry_write_all(fd, buf, len);
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

int criu_pmevec_add(struct criu_pmevec *x, uint64_t vaddr, uint64_t pages, uint32_t flags)
{
	struct criu_pme *last = x->n ? &x->v[x->n - 1] : NULL;

	if (!pages)
		return 0;
	if (last && last->flags == flags && last->vaddr + last->nr_pages * 4096 == vaddr) {
		last->nr_pages += pages;
		return 0;
	}
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 16;
		struct criu_pme *v = realloc(x->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		x->v = v;
		x->cap = cap;
	}
	x->v[x->n++] = (struct criu_pme){ vaddr, pages, flags };
	return 0;
}

int criu_img_write_pagemap_entries(int dirfd, const char *name, uint32_t pages_id,
				   const struct criu_pme *e, size_t n)
{
	struct obuf b = { 0 };
	uint8_t msg[64];
	size_t len = 0;
	char tmp[300];
	int ret;

	ret = ob_u32(&b, CRIU_IMG_COMMON_MAGIC);
	ret = ret ?: ob_u32(&b, CRIU_PAGEMAP_MAGIC);
	pb_put_field(msg, &len, 1, pages_id);		/* pagemap_head.pages_id */
	ret = ret ?: ob_entry(&b, msg, len);
	for (size_t i = 0; i < n && !ret; i++) {
		if (e[i].vaddr % 4096 || !e[i].nr_pages || e[i].nr_pages > UINT32_MAX ||
		    (i && e[i].vaddr < e[i - 1].vaddr + e[i - 1].nr_pages * 4096)) {
			ret = -EINVAL;	/* must be sorted, disjoint, aligned */
			break;
		}
		len = 0;
		pb_put_field(msg, &len, 1, e[i].vaddr);		/* vaddr */
		pb_put_field(msg, &len, 2, e[i].nr_pages);	/* nr_pages */
		pb_put_field(msg, &len, 4, e[i].flags);		/* flags */
		ret = ob_entry(&b, msg, len);
	}
	/* written whole under a temporary name, then renamed over: a reader
	 * (CRIU) never sees half a pagemap */
	if (!ret && snprintf(tmp, sizeof(tmp), "%s.tmp", name) >= (int)sizeof(tmp))
		ret = -ENAMETOOLONG;
	if (!ret)
		ret = write_file(dirfd, tmp, b.p, b.len);
	if (!ret && renameat(dirfd, tmp, dirfd, name))
		ret = -errno;
	free(b.p);
	return ret;
}

int criu_img_write_pagemap(int dirfd, uint32_t pid, uint32_t pages_id, const uint64_t *vaddrs,
			   size_t n, uint64_t *entries)
{
	struct criu_pme *e = malloc((n ? n : 1) * sizeof(*e));
	char name[64];
	size_t ne = 0;
	int ret = 0;

	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;

		if (vaddrs[i] % 4096 || (i && vaddrs[i] <= vaddrs[i - 1])) {
			ret = -EINVAL;	/* must be sorted, distinct, aligned */
			break;
		}
		while (j < n && vaddrs[j] == vaddrs[j - 1] + 4096)
			j++;
		e[ne++] = (struct criu_pme){ vaddrs[i], j - i, CRIU_PE_PRESENT };
		i = j;
	}
	snprintf(name, sizeof(name), "pagemap-%u.img", pid);
	if (!ret)
		ret = criu_img_write_pagemap_entries(dirfd, name, pages_id, e, ne);
	free(e);
	if (entries)
		*entries = ne;
	return ret;
}

int criu_img_uptime_us(uint64_t *us)
{
	char buf[128];
	double up;
	int fd = open("/proc/uptime", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = 0;
	if (sscanf(buf, "%lf", &up) != 1)
		return -EIO;
	*us = (uint64_t)(up * 1000000.0);
	return 0;
}

int criu_img_write_inventory(int dirfd, uint64_t dump_uptime_us)
{
	struct obuf b = { 0 };
	uint8_t msg[64];
	size_t len = 0;
	int ret;

	if (!dump_uptime_us) {
		ret = criu_img_uptime_us(&dump_uptime_us);
		if (ret)
			return ret;
	}
	pb_put_field(msg, &len, 1, CRIU_IMAGES_V1_1);	/* img_version */
	pb_put_field(msg, &len, 8, dump_uptime_us);	/* dump_uptime */
	pb_put_field(msg, &len, 9, CRIU_PRE_DUMP_SPLICE);	/* pre_dump_mode */
	ret = ob_u32(&b, CRIU_INVENTORY_MAGIC);	/* no common magic here */
	ret = ret ?: ob_entry(&b, msg, len);
	ret = ret ?: write_file(dirfd, "inventory.img", b.p, b.len);
	free(b.p);
	return ret;
}


static int write_pages(int dirfd, struct pagestore *ps, uint32_t pages_id,
		       const struct ps_ref *refs, size_t n, bool with_data)
{
	char name[64];
	int fd, ret = 0;

	snprintf(name, sizeof(name), "pages-%u.img", pages_id);
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (size_t i = 0; with_data && !ret && i < n;) {
		size_t j = i + 1;

		/* one copy for each run of consecutive slots */
		while (j < n && refs[j].slot == refs[j - 1].slot + 1)
			j++;
		ret = pagestore_copy_slots(ps, refs[i].slot, j - i, fd);
		i = j;
	}
	if (close(fd) && !ret)
		ret = -errno;
	return ret;
}

int criu_img_write_parent(const char *dir, struct pagestore *ps, bool with_data,
			  uint64_t dump_uptime_us, struct criu_img_stats *st, char *err,
			  size_t errlen)
{
	struct criu_img_stats s = { 0 };
	uint32_t *pids = NULL;
	size_t npids = 0;
	int dirfd, ret;

	if (mkdir(dir, 0700) && errno != EEXIST)
		return ferry_errf(err, errlen, -errno, "mkdir %s: %s", dir, strerror(errno));
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return ferry_errf(err, errlen, -errno, "%s: %s", dir, strerror(errno));
	ret = pagestore_pids(ps, &pids, &npids);
	for (size_t i = 0; !ret && i < npids; i++) {
		struct ps_ref *refs = NULL;
		uint64_t *va = NULL, ne = 0;
		size_t n = 0;

		ret = pagestore_list(ps, pids[i], &refs, &n);
		if (!ret) {
			va = malloc((n ? n : 1) * sizeof(*va));
			if (!va)
				ret = -ENOMEM;
		}
		for (size_t k = 0; !ret && k < n; k++)
			va[k] = refs[k].vaddr;
		if (!ret)
			ret = criu_img_write_pagemap(dirfd, pids[i], (uint32_t)i + 1, va, n, &ne);
		if (!ret)
			ret = write_pages(dirfd, ps, (uint32_t)i + 1, refs, n, with_data);
		if (ret)
			ferry_errf(err, errlen, ret, "writing images of pid %u in %s: %s", pids[i], dir,
			     strerror(-ret));
		s.pids++;
		s.entries += ne;
		s.pages += n;
		if (with_data)
			s.bytes += n * PS_PAGE_SIZE;
		free(va);
		free(refs);
	}
	free(pids);
	if (!ret) {
		ret = criu_img_write_inventory(dirfd, dump_uptime_us);
		if (ret)
			ferry_errf(err, errlen, ret, "writing %s/inventory.img: %s", dir, strerror(-ret));
	}
	close(dirfd);
	if (st)
		*st = s;
	return ret;
}

/* ---- readers -------------------------------------------------------------- */
/* An image whole (through the store's links; at most 64 MiB, regular). */
#define CRIU_IMG_MAX	(64u << 20)
static int read_whole(const char *path, uint8_t **out, size_t *len)
{
	return ferry_read_whole_follow(path, CRIU_IMG_MAX, (char **)out, len);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Next size-prefixed entry at *off: 1 got one, 0 at the end, -EPROTO bad. */
static int next_entry(const uint8_t *buf, size_t len, size_t *off, const uint8_t **msg,
		      size_t *mlen)
{
	uint32_t n;

	if (*off == len)
		return 0;
	if (len - *off < 4)
		return -EPROTO;
	n = le32(buf + *off);
	*off += 4;
	if (n > len - *off)
		return -EPROTO;
	*msg = buf + *off;
	*mlen = n;
	*off += n;
	return 1;
}

int criu_img_load(const char *path, uint32_t magic, uint8_t **buf, size_t *len)
{
	int ret = read_whole(path, buf, len);

	if (ret)
		return ret;
	if (*len < 8 || le32(*buf) != CRIU_IMG_COMMON_MAGIC || le32(*buf + 4) != magic) {
		free(*buf);
		*buf = NULL;
		return -EPROTO;
	}
	return 0;
}

int criu_img_next(const uint8_t *buf, size_t len, size_t *off, const uint8_t **msg, size_t *mlen)
{
	if (*off < 8)
		*off = 8;
	return next_entry(buf, len, off, msg, mlen);
}

int criu_img_read_pagemap(const char *path, uint32_t *pages_id, struct criu_pme **ents,
			  size_t *n)
{
	struct criu_pme *v = NULL;
	size_t off = 8, k = 0, cap = 0, mlen;
	const uint8_t *msg;
	uint8_t *buf;
	uint64_t x;
	size_t len;
	int ret;

	ret = read_whole(path, &buf, &len);
	if (ret)
		return ret;
	if (len < 8 || le32(buf) != CRIU_IMG_COMMON_MAGIC || le32(buf + 4) != CRIU_PAGEMAP_MAGIC) {
		ret = -EPROTO;
		goto out;
	}
	ret = next_entry(buf, len, &off, &msg, &mlen);
	if (ret != 1 || pb_find_varint(msg, mlen, 1, &x) != 1) {
		ret = -EPROTO;
		goto out;
	}
	*pages_id = (uint32_t)x;
	while ((ret = next_entry(buf, len, &off, &msg, &mlen)) == 1) {
		struct criu_pme e = { 0 };
		uint64_t np5;

		if (pb_find_varint(msg, mlen, 1, &e.vaddr) != 1 ||
		    pb_find_varint(msg, mlen, 2, &e.nr_pages) != 1) {
			ret = -EPROTO;
			goto out;
		}
		if (pb_find_varint(msg, mlen, 5, &np5) == 1)	/* CRIU 4.x nr_pages */
			e.nr_pages = np5;
		if (pb_find_varint(msg, mlen, 4, &x) == 1)
			e.flags = (uint32_t)x;
		if (k == cap) {
			struct criu_pme *nv = realloc(v, (cap ? cap * 2 : 16) * sizeof(*v));

			if (!nv) {
				ret = -ENOMEM;
				goto out;
			}
			v = nv;
			cap = cap ? cap * 2 : 16;
		}
		v[k++] = e;
	}
out:
	free(buf);
	if (ret) {
		free(v);
		return ret < 0 ? ret : -EPROTO;
	}
	*ents = v;
	*n = k;
	return 0;
}

static int read_stats(const char *path, uint32_t field, const uint8_t **sub, size_t *sublen,
		      uint8_t **buf)
{
	const uint8_t *msg;
	size_t len, off = 8, mlen;
	int ret;

	ret = read_whole(path, buf, &len);
	if (ret)
		return ret;
	if (len < 8 || le32(*buf) != CRIU_IMG_SERVICE_MAGIC || le32(*buf + 4) != CRIU_STATS_MAGIC ||
	    next_entry(*buf, len, &off, &msg, &mlen) != 1 ||
	    pb_find_bytes(msg, mlen, field, sub, sublen) != 1) {
		free(*buf);
		*buf = NULL;
		return -EPROTO;
	}
	return 0;
}

int criu_img_read_dump_stats(const char *path, struct criu_dump_stats *st)
{
	const uint8_t *m;
	uint8_t *buf;
	size_t ml;
	int ret = read_stats(path, 1, &m, &ml, &buf);

	if (ret)
		return ret;
	memset(st, 0, sizeof(*st));
	if (pb_find_varint(m, ml, 1, &st->freezing_time) < 0 ||
	    pb_find_varint(m, ml, 2, &st->frozen_time) < 0 ||
	    pb_find_varint(m, ml, 3, &st->memdump_time) < 0 ||
	    pb_find_varint(m, ml, 4, &st->memwrite_time) < 0 ||
	    pb_find_varint(m, ml, 5, &st->pages_scanned) < 0 ||
	    pb_find_varint(m, ml, 6, &st->pages_skipped_parent) < 0 ||
	    pb_find_varint(m, ml, 7, &st->pages_written) < 0)
		ret = -EPROTO;
	free(buf);
	return ret;
}

int criu_img_read_restore_stats(const char *path, struct criu_restore_stats *st)
{
	const uint8_t *m;
	uint8_t *buf;
	size_t ml;
	int ret = read_stats(path, 2, &m, &ml, &buf);

	if (ret)
		return ret;
	memset(st, 0, sizeof(*st));
	if (pb_find_varint(m, ml, 3, &st->forking_time) < 0 ||
	    pb_find_varint(m, ml, 4, &st->restore_time) < 0 ||
	    pb_find_varint(m, ml, 5, &st->pages_restored) < 0)
		ret = -EPROTO;
	free(buf);
	return ret;
}
