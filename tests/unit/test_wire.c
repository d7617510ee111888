// SPDX-License-Identifier: GPL-2.0
/* Migration wire protocol over a socketpair: every message type round-trips;
 * short reads, oversized, truncated and malformed frames and a vanished
 * peer give clear errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "util.h"
#include "recv_outcome.h"
#include "wire.h"
#include "wire_pc.h"

struct pair {
	int fd[2];
	struct wire_conn a, b;	/* a writes, b reads */
};

static int setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, p->fd), 0);
	wire_init(&p->a, p->fd[0]);
	wire_init(&p->b, p->fd[1]);
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;

	wire_free(&p->a);
	wire_free(&p->b);
	if (p->fd[0] >= 0)
		close(p->fd[0]);
	if (p->fd[1] >= 0)
		close(p->fd[1]);
	free(p);
	return 0;
}

static void raw_write(int fd, const void *buf, size_t n)
{
	assert_int_equal(write(fd, buf, n), (ssize_t)n);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void mkhdr(uint8_t *h, uint32_t magic, uint16_t type, uint16_t flags, uint32_t len)
{
	put32(h, magic);
	h[4] = (uint8_t)type;
	h[5] = (uint8_t)(type >> 8);
	h[6] = (uint8_t)flags;
	h[7] = (uint8_t)(flags >> 8);
	put32(h + 8, len);
}

static void test_hello_roundtrip(void **state)
{
	struct pair *p = *state;
	struct wire_hello h = { .version = WIRE_VERSION, .caps = WIRE_CAP_ZSTD | WIRE_CAP_CRIU };
	struct wire_hello g;
	struct wire_msg m;

	strcpy(h.host, "src-host");
	strcpy(h.kernel, "6.12.0");
	assert_int_equal(wire_send_hello(&p->a, &h), 0);
	assert_int_equal(wire_expect(&p->b, WIRE_HELLO, &m), 0);
	assert_int_equal(wire_parse_hello(&p->b, &m, &g), 0);
	assert_int_equal(g.caps, h.caps);
	assert_string_equal(g.host, "src-host");
	assert_string_equal(g.kernel, "6.12.0");

	/* wrong version inside the HELLO payload */
	h.version = WIRE_VERSION + 1;
	assert_int_equal(wire_send_hello(&p->a, &h), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_hello(&p->b, &m, &g), -EPROTO);
	assert_non_null(strstr(p->b.err, "protocol"));
}

/* CONTAINER: round trip; every field a peer sends is checked for form
 * before Podman ever sees it (an option, a path or a shell word would
 * otherwise reach its command line) */
static void test_container(void **state)
{
	static const char hex[] =
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	static const char *const bad_names[] = {
		"", "-rm", ".x", "a b", "a/b", "a;b", "../x", "a\nb",
	};
	struct pair *p = *state;
	struct wire_ctr k = { 0 }, g;
	struct wire_msg m;
	struct wire_buf b;

	strcpy(k.engine, "podman");
	strcpy(k.id, hex);
	strcpy(k.image, hex);
	strcpy(k.name, "web-1.a_b");
	assert_true(wire_ctr_ok(&k));
	assert_int_equal(wire_send_ctr(&p->a, &k), 0);
	assert_int_equal(wire_expect(&p->b, WIRE_CONTAINER, &m), 0);
	assert_int_equal(wire_parse_ctr(&p->b, &m, &g), 0);
	assert_string_equal(g.id, hex);
	assert_string_equal(g.name, "web-1.a_b");

	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		g = k;
		strcpy(g.name, bad_names[i]);
		assert_false(wire_ctr_ok(&g));
	}
	g = k;
	g.id[63] = 'A';		/* upper case is not Podman's form */
	assert_false(wire_ctr_ok(&g));
	g = k;
	g.image[10] = 0;	/* short */
	assert_false(wire_ctr_ok(&g));
	g = k;
	strcpy(g.engine, "docker");
	assert_false(wire_ctr_ok(&g));

	/* a malformed one on the wire: refused by the parser */
	wb_init(&b);
	wb_str(&b, "podman");
	wb_str(&b, hex);
	wb_str(&b, "--privileged");
	wb_str(&b, hex);
	assert_int_equal(wire_send(&p->a, WIRE_CONTAINER, b.p, (uint32_t)b.len), 0);
	wb_free(&b);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_ctr(&p->b, &m, &g), -EPROTO);
	/* trailing bytes */
	wb_init(&b);
	wb_str(&b, "podman");
	wb_str(&b, hex);
	wb_str(&b, "ok");
	wb_str(&b, hex);
	wb_u8(&b, 0);
	assert_int_equal(wire_send(&p->a, WIRE_CONTAINER, b.p, (uint32_t)b.len), 0);
	wb_free(&b);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_ctr(&p->b, &m, &g), -EPROTO);
	/* a sender from before volumes: the frame ends after the image */
	wb_init(&b);
	wb_str(&b, "podman");
	wb_str(&b, hex);
	wb_str(&b, "old");
	wb_str(&b, hex);
	assert_int_equal(wire_send(&p->a, WIRE_CONTAINER, b.p, (uint32_t)b.len), 0);
	wb_free(&b);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_ctr(&p->b, &m, &g), 0);
	assert_int_equal(g.nvols, 0);
	/* more volumes than the bound: refused before any is read */
	wb_init(&b);
	wb_str(&b, "podman");
	wb_str(&b, hex);
	wb_str(&b, "many");
	wb_str(&b, hex);
	wb_u32(&b, WIRE_CTR_MAX_VOLS + 1);
	assert_int_equal(wire_send(&p->a, WIRE_CONTAINER, b.p, (uint32_t)b.len), 0);
	wb_free(&b);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_ctr(&p->b, &m, &g), -EPROTO);
}

/* A runc container: its bundle and share marker arrive after the (empty)
 * volumes; a bundle path that could lead elsewhere, a marker name that is
 * not ferry's, volumes, or an ID that is an option are refused, and a
 * Podman container never carries them. */
static void test_container_runc(void **state)
{
	static const char hex[] =
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	static const char *const bad_bundles[] = {
		"", "rel/b", "/", "/a/../b", "/a/./b", "/a//b", "/a/", "/a/..",
	};
	struct pair *p = *state;
	struct wire_ctr *k = calloc(1, sizeof(*k)), *g = calloc(1, sizeof(*g));
	struct wire_msg m;

	assert_non_null(k);
	assert_non_null(g);
	strcpy(k->engine, "runc");
	strcpy(k->id, "r1");
	strcpy(k->name, "r1");
	strcpy(k->image, hex);
	strcpy(k->bundle, "/srv/bundles/r1");
	memcpy(k->share, hex, WIRE_CTR_SHARE_LEN);
	assert_true(wire_ctr_ok(k));
	assert_int_equal(wire_send_ctr(&p->a, k), 0);
	assert_int_equal(wire_expect(&p->b, WIRE_CONTAINER, &m), 0);
	assert_int_equal(wire_parse_ctr(&p->b, &m, g), 0);
	assert_string_equal(g->engine, "runc");
	assert_string_equal(g->bundle, "/srv/bundles/r1");
	assert_string_equal(g->share, k->share);

	for (size_t i = 0; i < sizeof(bad_bundles) / sizeof(bad_bundles[0]); i++) {
		*g = *k;
		strcpy(g->bundle, bad_bundles[i]);
		assert_false(wire_ctr_ok(g));
	}
	*g = *k;
	g->share[5] = 'A';
	assert_false(wire_ctr_ok(g));
	*g = *k;
	g->share[31] = 0;
	assert_false(wire_ctr_ok(g));
	*g = *k;
	strcpy(g->id, "--root");
	strcpy(g->name, "--root");
	assert_false(wire_ctr_ok(g));
	*g = *k;
	strcpy(g->name, "other");	/* runc has no names apart from IDs */
	assert_false(wire_ctr_ok(g));
	/* its bind mounts (config.json's), checked on the destination; no
	 * named volume: runc has none */
	*g = *k;
	g->nvols = 1;
	g->vols[0].kind = WIRE_CTR_VOL_BIND;
	strcpy(g->vols[0].src, "/x");
	strcpy(g->vols[0].dest, "/x");
	assert_true(wire_ctr_ok(g));
	g->vols[0].src[0] = 'x';
	assert_false(wire_ctr_ok(g));
	g->vols[0].kind = WIRE_CTR_VOL_NAMED;
	assert_false(wire_ctr_ok(g));
	g->nvols = WIRE_CTR_MAX_VOLS + 1;
	assert_false(wire_ctr_ok(g));
	/* a Podman container with a bundle: not a form any sender makes */
	*g = *k;
	strcpy(g->engine, "podman");
	strcpy(g->id, hex);
	strcpy(g->name, "web");
	assert_false(wire_ctr_ok(g));
	g->bundle[0] = 0;
	assert_false(wire_ctr_ok(g));	/* the share marker still */
	g->share[0] = 0;
	assert_true(wire_ctr_ok(g));
	/* a runc frame cut before its bundle: refused */
	*g = *k;
	g->bundle[0] = g->share[0] = 0;
	assert_false(wire_ctr_ok(g));
	free(k);
	free(g);
}

/* Volumes: both kinds arrive as sent; a count or form the receiver could
 * act on wrongly (a relative path, an option for a name) is refused. */
/* CONNTRACK: entries round-trip; a count the frame does not hold, a
 * huge one, an entry without the container's address or with a NAT bit
 * are refused before anything is made of them */
/* Post-copy frames: what goes through, what parse refuses. */
static void test_postcopy(void **state)
{
	static const char *const bad_names[] = { "pages-1.imgx", "../pages-1.img", "pages-.img",
						 "pagemap-1.img", "pages-1.img/x", "" };
	struct pair *p = *state;
	struct wire_pc_file f = { .name = "pages-17.img", .size = 3 * WIRE_PAGE_SIZE }, g;
	struct wire_pc_req q = { .file = 2, .page = 5, .npages = 16 }, r;
	uint8_t in[2 * WIRE_PAGE_SIZE], out[2 * WIRE_PAGE_SIZE];
	struct wire_pages_hdr h;
	struct wire_msg m;

	assert_int_equal(wire_send_pc_file(&p->a, &f), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_pc_file(&p->b, &m, &g), 0);
	assert_string_equal(g.name, "pages-17.img");
	assert_true(g.size == f.size);
	for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		snprintf(f.name, sizeof(f.name), "%s", bad_names[i]);
		assert_int_equal(wire_send_pc_file(&p->a, &f), 0);
		assert_int_equal(wire_recv(&p->b, &m), 0);
		assert_int_equal(wire_parse_pc_file(&p->b, &m, &g), -EPROTO);
	}
	snprintf(f.name, sizeof(f.name), "pages-1.img");
	f.size = WIRE_PAGE_SIZE + 1;	/* not whole pages */
	assert_int_equal(wire_send_pc_file(&p->a, &f), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_pc_file(&p->b, &m, &g), -EPROTO);
	assert_int_equal(wire_send_pc_req(&p->a, &q), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_pc_req(&p->b, &m, &r), 0);
	assert_int_equal(r.file, 2);
	assert_int_equal(r.npages, 16);
	assert_true(r.page == 5);
	q.npages = 0;
	assert_int_equal(wire_send_pc_req(&p->a, &q), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_pc_req(&p->b, &m, &r), -EPROTO);
	q.npages = WIRE_MAX_PAGES + 1;
	assert_int_equal(wire_send_pc_req(&p->a, &q), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_pc_req(&p->b, &m, &r), -EPROTO);
	q.npages = 1;
	q.file = WIRE_PC_MAX_FILES;
	assert_int_equal(wire_send_pc_req(&p->a, &q), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_pc_req(&p->b, &m, &r), -EPROTO);
	/* PC_DATA: PAGES' layout, its own type */
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i % 251);
	assert_int_equal(wire_send_pages_as(&p->a, WIRE_PC_DATA, 1, 7 * WIRE_PAGE_SIZE, 2, in), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_pages(&p->b, &m, &h, out, sizeof(out)), -EPROTO);
	assert_int_equal(wire_parse_pages_as(&p->b, &m, WIRE_PC_DATA, &h, out, sizeof(out)), 0);
	assert_int_equal(h.pid, 1);
	assert_true(h.vaddr == 7 * WIRE_PAGE_SIZE);
	assert_memory_equal(in, out, sizeof(in));
	/* the outcome LOST (post-copy) is one; past it, none */
	struct wire_outcome_msg o = { .id = { 7 }, .outcome = WIRE_OUTCOME_LOST }, o2;

	assert_int_equal(wire_send_outcome(&p->a, &o), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_outcome(&p->b, &m, &o2), 0);
	assert_int_equal(o2.outcome, WIRE_OUTCOME_LOST);
	o.outcome = WIRE_OUTCOME_LOST + 1;
	assert_int_equal(wire_send_outcome(&p->a, &o), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_outcome(&p->b, &m, &o2), -EPROTO);
}

static void test_conntrack(void **state)
{
	struct pair *p = *state;
	struct wire_ct v[2] = {
		{ .src = 0x3200630a, .dst = 0x0200580a, .sport = 0x409c, .dport = 0xbc1b,
		  .tcp_state = 3, .status = 6, .timeout = 432000 },
		{ .src = 0x0200580a, .dst = 0x0100000a, .sport = 0x1111, .dport = 0x5000,
		  .tcp_state = 3, .status = 2, .timeout = 60 },
	}, *got;
	uint32_t addr = 0x0200580a, a2, n;
	struct wire_msg m;
	struct wire_buf b;

	assert_int_equal(wire_send_ct(&p->a, addr, v, 2), 0);
	assert_int_equal(wire_expect(&p->b, WIRE_CONNTRACK, &m), 0);
	assert_int_equal(m.len, 8 + 2 * WIRE_CT_ENTRY_LEN);
	assert_int_equal(wire_parse_ct(&p->b, &m, &a2, &got, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(a2, addr);
	for (int i = 0; i < 2; i++)
		assert_true(got[i].src == v[i].src && got[i].dst == v[i].dst &&
			    got[i].sport == v[i].sport && got[i].dport == v[i].dport &&
			    got[i].tcp_state == v[i].tcp_state && got[i].status == v[i].status &&
			    got[i].timeout == v[i].timeout);
	free(got);
	/* the other end is not the container's */
	assert_int_equal(wire_send_ct(&p->a, 0x0300580a, v, 2), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_ct(&p->b, &m, &a2, &got, &n), -EPROTO);
	assert_null(got);
	/* a NAT bit */
	v[1].status = 0x16;
	assert_int_equal(wire_send_ct(&p->a, addr, v, 2), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_ct(&p->b, &m, &a2, &got, &n), -EPROTO);
	/* counts that the frame does not hold */
	for (int i = 0; i < 2; i++) {
		wb_init(&b);
		wb_bytes(&b, &addr, 4);
		wb_u32(&b, i ? 0xffffffffu : 2);
		wb_bytes(&b, v, 12);	/* not even one whole entry */
		assert_int_equal(wire_send(&p->a, WIRE_CONNTRACK, b.p, (uint32_t)b.len), 0);
		wb_free(&b);
		assert_int_equal(wire_recv(&p->b, &m), 0);
		assert_int_equal(wire_parse_ct(&p->b, &m, &a2, &got, &n), -EPROTO);
		assert_null(got);
	}
	/* none: fine */
	assert_int_equal(wire_send_ct(&p->a, addr, v, 0), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_ct(&p->b, &m, &a2, &got, &n), 0);
	assert_int_equal(n, 0);
	assert_null(got);
}

/*
 * calloc, counted while watch_calloc is set (glibc's own does the work):
 * a parser must refuse a count that its frame cannot hold before it
 * allocates anything by it.
 */
extern void *__libc_calloc(size_t n, size_t size);
static bool watch_calloc;
static unsigned int watched_callocs;

void *calloc(size_t n, size_t size)
{
	if (watch_calloc)
		watched_callocs++;
	return __libc_calloc(n, size);
}

/* CONNTRACK6: entries round-trip; a count the frame does not hold is
 * refused before anything is allocated; an entry without the container's
 * address, with a NAT bit or an IPv4-mapped address, and a frame of no
 * container address, are refused */
static void test_conntrack6(void **state)
{
	struct pair *p = *state;
	/* fd99:7::2 (the container), fd99:7::1 (its gateway), fd00:99::50 */
	uint8_t addr[16] = { 0xfd, 0x99, 0, 7, [15] = 2 }, a2[16];
	uint8_t gw[16] = { 0xfd, 0x99, 0, 7, [15] = 1 };
	uint8_t cli[16] = { 0xfd, 0, 0, 0x99, [15] = 0x50 };
	uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff, 10, 99, 0, 50 };
	struct wire_ct6 v[2] = {
		{ .sport = 0x409c, .dport = 0xbc1b, .tcp_state = 3, .status = 6,
		  .timeout = 432000 },
		{ .sport = 0x1111, .dport = 0x5000, .tcp_state = 3, .status = 2, .timeout = 60 },
	}, *got;
	uint32_t n;
	struct wire_msg m;
	struct wire_buf b;

	memcpy(v[0].src, cli, 16);
	memcpy(v[0].dst, addr, 16);
	memcpy(v[1].src, addr, 16);
	memcpy(v[1].dst, gw, 16);
	assert_int_equal(wire_send_ct6(&p->a, addr, v, 2), 0);
	assert_int_equal(wire_expect(&p->b, WIRE_CONNTRACK6, &m), 0);
	assert_int_equal(m.len, 16 + 4 + 2 * WIRE_CT6_ENTRY_LEN);
	assert_int_equal(WIRE_CT6_ENTRY_LEN, 16 + 16 + 2 + 2 + 1 + 4 + 4);
	watched_callocs = 0;
	watch_calloc = true;	/* the counter counts: this parse allocates once */
	assert_int_equal(wire_parse_ct6(&p->b, &m, a2, &got, &n), 0);
	watch_calloc = false;
	assert_int_equal(watched_callocs, 1);
	assert_int_equal(n, 2);
	assert_memory_equal(a2, addr, 16);
	for (int i = 0; i < 2; i++)
		assert_true(!memcmp(got[i].src, v[i].src, 16) &&
			    !memcmp(got[i].dst, v[i].dst, 16) &&
			    got[i].sport == v[i].sport && got[i].dport == v[i].dport &&
			    got[i].tcp_state == v[i].tcp_state && got[i].status == v[i].status &&
			    got[i].timeout == v[i].timeout);
	free(got);
	/* CONNTRACK's parser takes none of it, nor CONNTRACK6's a CONNTRACK */
	assert_int_equal(wire_send_ct6(&p->a, addr, v, 2), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	{
		struct wire_ct *g4;
		uint32_t a4;

		assert_int_equal(wire_parse_ct(&p->b, &m, &a4, &g4, &n), -EPROTO);
	}
	/* the other end is not the container's */
	assert_int_equal(wire_send_ct6(&p->a, gw, v, 2), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_ct6(&p->b, &m, a2, &got, &n), -EPROTO);
	assert_null(got);
	/* a NAT bit */
	v[1].status = 0x16;
	assert_int_equal(wire_send_ct6(&p->a, addr, v, 2), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_ct6(&p->b, &m, a2, &got, &n), -EPROTO);
	v[1].status = 2;
	/* an IPv4 connection's address: never IPv6 conntrack's */
	memcpy(v[0].src, mapped, 16);
	assert_false(wire_ct6_ok(&v[0]));
	assert_int_equal(wire_send_ct6(&p->a, addr, v, 2), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_ct6(&p->b, &m, a2, &got, &n), -EPROTO);
	memcpy(v[0].src, cli, 16);
	/* no container address (::), or an IPv4-mapped one */
	assert_int_equal(wire_send_ct6(&p->a, (uint8_t[16]){ 0 }, v, 0), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_ct6(&p->b, &m, a2, &got, &n), -EPROTO);
	assert_int_equal(wire_send_ct6(&p->a, mapped, v, 0), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_ct6(&p->b, &m, a2, &got, &n), -EPROTO);
	/* counts that the frame does not hold: refused, nothing allocated */
	for (int i = 0; i < 3; i++) {
		static const uint32_t counts[] = { 2, WIRE_CT_MAX, 0xffffffffu };

		wb_init(&b);
		wb_bytes(&b, addr, 16);
		wb_u32(&b, counts[i]);
		wb_bytes(&b, &v[0], 36);	/* not even one whole entry */
		assert_int_equal(wire_send(&p->a, WIRE_CONNTRACK6, b.p, (uint32_t)b.len), 0);
		wb_free(&b);
		assert_int_equal(wire_recv(&p->b, &m), 0);
		watched_callocs = 0;
		watch_calloc = true;
		assert_int_equal(wire_parse_ct6(&p->b, &m, a2, &got, &n), -EPROTO);
		watch_calloc = false;
		assert_int_equal(watched_callocs, 0);
		assert_null(got);
	}
	/* one entry too many for the frame's length, and one too few */
	for (int i = 0; i < 2; i++) {
		wb_init(&b);
		wb_bytes(&b, addr, 16);
		wb_u32(&b, i ? 3 : 1);
		for (int k = 0; k < 2; k++) {
			wb_bytes(&b, v[k].src, 16);
			wb_bytes(&b, v[k].dst, 16);
			wb_bytes(&b, &v[k].sport, 2);
			wb_bytes(&b, &v[k].dport, 2);
			wb_u8(&b, v[k].tcp_state);
			wb_u32(&b, v[k].status);
			wb_u32(&b, v[k].timeout);
		}
		assert_int_equal(wire_send(&p->a, WIRE_CONNTRACK6, b.p, (uint32_t)b.len), 0);
		wb_free(&b);
		assert_int_equal(wire_recv(&p->b, &m), 0);
		assert_int_equal(wire_parse_ct6(&p->b, &m, a2, &got, &n), -EPROTO);
		assert_null(got);
	}
	/* too many to send */
	assert_int_equal(wire_send_ct6(&p->a, addr, v, WIRE_CT_MAX + 1), -E2BIG);
	/* none: fine */
	assert_int_equal(wire_send_ct6(&p->a, addr, v, 0), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_ct6(&p->b, &m, a2, &got, &n), 0);
	assert_int_equal(n, 0);
	assert_null(got);
	assert_string_equal(wire_type_name(WIRE_CONNTRACK6), "CONNTRACK6");
}

static void test_container_volumes(void **state)
{
	static const char hex[] =
		"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct pair *p = *state;
	struct wire_ctr *k = calloc(1, sizeof(*k)), *g = calloc(1, sizeof(*g));
	struct wire_msg m;

	assert_non_null(k);
	assert_non_null(g);
	strcpy(k->engine, "podman");
	strcpy(k->id, hex);
	strcpy(k->image, hex);
	strcpy(k->name, "db");
	k->nvols = 2;
	k->vols[0].kind = WIRE_CTR_VOL_NAMED;
	strcpy(k->vols[0].src, "pgdata");
	strcpy(k->vols[0].dest, "/var/lib/pg");
	k->vols[1].kind = WIRE_CTR_VOL_BIND;
	strcpy(k->vols[1].src, "/srv/shared/conf");
	strcpy(k->vols[1].dest, "/etc/app");
	assert_true(wire_ctr_ok(k));
	assert_int_equal(wire_send_ctr(&p->a, k), 0);
	assert_int_equal(wire_expect(&p->b, WIRE_CONTAINER, &m), 0);
	assert_int_equal(wire_parse_ctr(&p->b, &m, g), 0);
	assert_int_equal(g->nvols, 2);
	assert_int_equal(g->vols[0].kind, WIRE_CTR_VOL_NAMED);
	assert_string_equal(g->vols[0].src, "pgdata");
	assert_string_equal(g->vols[1].src, "/srv/shared/conf");
	assert_string_equal(g->vols[1].dest, "/etc/app");

	*g = *k;
	strcpy(g->vols[0].src, "--all");	/* an option, not a volume name */
	assert_false(wire_ctr_ok(g));
	*g = *k;
	strcpy(g->vols[1].src, "srv/conf");	/* relative host path */
	assert_false(wire_ctr_ok(g));
	*g = *k;
	strcpy(g->vols[0].dest, "data");
	assert_false(wire_ctr_ok(g));
	*g = *k;
	g->vols[1].kind = 3;
	assert_false(wire_ctr_ok(g));
	*g = *k;
	g->nvols = WIRE_CTR_MAX_VOLS + 1;
	assert_false(wire_ctr_ok(g));
	/* and on the wire: the sender's form is checked again */
	*g = *k;
	strcpy(g->vols[0].src, "../x");
	assert_int_equal(wire_send_ctr(&p->a, g), 0);
	assert_int_equal(wire_expect(&p->b, WIRE_CONTAINER, &m), 0);
	assert_int_equal(wire_parse_ctr(&p->b, &m, g), -EPROTO);
	free(k);
	free(g);
}

static void fill_pages(uint8_t *buf, uint32_t npages, int compressible)
{
	uint32_t x = 12345;

	for (size_t i = 0; i < (size_t)npages * WIRE_PAGE_SIZE; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = compressible ? (uint8_t)(i / 512) : (uint8_t)(x >> 16);
	}
}

struct sender {
	struct wire_conn *c;
	uint32_t npages;
	const uint8_t *data;
	int ret;
};

static void *send_thread(void *arg)
{
	struct sender *s = arg;

	s->ret = wire_send_pages(s->c, 42, 0x7f0000000000ull, s->npages, s->data);
	return NULL;
}

static void pages_roundtrip(struct pair *p, uint32_t npages, int compressible, uint8_t comp)
{
	size_t len = (size_t)npages * WIRE_PAGE_SIZE;
	uint8_t *in = malloc(len), *out = malloc(len);
	struct sender s = { &p->a, npages, in, -1 };
	struct wire_pages_hdr h;
	struct wire_msg m;
	pthread_t th;

	assert_non_null(in);
	assert_non_null(out);
	fill_pages(in, npages, compressible);
	/* big frames exceed the socket buffer: send from a thread */
	assert_int_equal(pthread_create(&th, NULL, send_thread, &s), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	pthread_join(th, NULL);
	assert_int_equal(s.ret, 0);
	assert_int_equal(m.type, WIRE_PAGES);
	assert_int_equal(wire_parse_pages(&p->b, &m, &h, out, len), 0);
	assert_int_equal(h.pid, 42);
	assert_int_equal(h.vaddr, 0x7f0000000000ull);
	assert_int_equal(h.npages, npages);
	assert_int_equal(h.comp, comp);
	if (comp == WIRE_COMP_ZSTD)
		assert_true(h.wire_len < len / 4);
	assert_memory_equal(in, out, len);
	/* a too-small output buffer is refused, not overflowed */
	assert_int_equal(wire_parse_pages(&p->b, &m, &h, out, len - 1), -ENOBUFS);
	free(in);
	free(out);
}

static void test_pages(void **state)
{
	struct pair *p = *state;

	pages_roundtrip(p, 1, 1, WIRE_COMP_ZSTD);
	pages_roundtrip(p, WIRE_MAX_PAGES, 1, WIRE_COMP_ZSTD);
	pages_roundtrip(p, 3, 0, WIRE_COMP_NONE);	/* random: sent raw */
	pages_roundtrip(p, 64, 0, WIRE_COMP_NONE);	/* random beyond the probe */
	assert_int_equal(wire_send_pages(&p->a, 1, 0, 0, "x"), -EINVAL);
	assert_int_equal(wire_send_pages(&p->a, 1, 0, WIRE_MAX_PAGES + 1, "x"), -EINVAL);
}

/* Craft PAGES payloads by hand: each inconsistency is refused. */
static void test_pages_malformed(void **state)
{
	struct pair *p = *state;
	uint8_t out[2 * WIRE_PAGE_SIZE];
	struct wire_pages_hdr h;
	struct wire_buf b;
	struct wire_msg m;
	static const struct { uint64_t vaddr; uint32_t np, raw; uint8_t comp; size_t data; } bad[] = {
		{ 0x1000, 0, 0, 0, 0 },				/* no pages */
		{ 0x1000, 1, 100, 0, 100 },			/* raw_len != pages */
		{ 0x1001, 1, 4096, 0, 4096 },			/* unaligned */
		{ 0x1000, 1, 4096, 0, 4000 },			/* short raw data */
		{ 0x1000, 1, 4096, 9, 4096 },			/* unknown compression */
		{ 0x1000, 1, 4096, 1, 50 },			/* garbage zstd */
		{ 0x1000, WIRE_MAX_PAGES + 1, (WIRE_MAX_PAGES + 1) * 4096, 0, 0 },
		{ ~0ull & ~0xfffull, 2, 8192, 0, 8192 },	/* wraps */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		wb_init(&b);
		wb_u32(&b, 1);
		wb_u64(&b, bad[i].vaddr);
		wb_u32(&b, bad[i].np);
		wb_u32(&b, bad[i].raw);
		wb_u8(&b, bad[i].comp);
		for (size_t j = 0; j < bad[i].data; j++)
			wb_u8(&b, (uint8_t)(j * 7));
		assert_false(b.oom);
		assert_int_equal(wire_send(&p->a, WIRE_PAGES, b.p, (uint32_t)b.len), 0);
		wb_free(&b);
		assert_int_equal(wire_recv(&p->b, &m), 0);
		assert_int_not_equal(wire_parse_pages(&p->b, &m, &h, out, sizeof(out)), 0);
		assert_true(p->b.err[0] != 0);
	}
	/* truncated page header */
	assert_int_equal(wire_send(&p->a, WIRE_PAGES, "abc", 3), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_pages(&p->b, &m, &h, out, sizeof(out)), -EPROTO);
	assert_non_null(strstr(p->b.err, "malformed PAGES"));
}

static void test_round_and_u64s(void **state)
{
	struct pair *p = *state;
	struct wire_round r = { 3, 100, 409600, 5000, 120, 999, WIRE_ROUND_F_LAST }, q;
	uint64_t v[3] = { 1, 2, UINT64_MAX }, w[3];
	struct wire_msg m;

	assert_int_equal(wire_send_round(&p->a, WIRE_ROUND_END, &r), 0);
	assert_int_equal(wire_expect(&p->b, WIRE_ROUND_END, &m), 0);
	assert_int_equal(wire_parse_round(&p->b, &m, &q), 0);
	assert_int_equal(q.round, 3);
	assert_int_equal(q.pages, 100);
	assert_int_equal(q.raw_bytes, 409600);
	assert_int_equal(q.wire_bytes, 5000);
	assert_int_equal(q.dirty_pages, 120);
	assert_int_equal(q.elapsed_ns, 999);
	assert_int_equal(q.flags, WIRE_ROUND_F_LAST);

	assert_int_equal(wire_send_u64s(&p->a, WIRE_RESTORED, v, 3), 0);
	assert_int_equal(wire_expect(&p->b, WIRE_RESTORED, &m), 0);
	assert_int_equal(wire_parse_u64s(&p->b, &m, w, 3), 0);
	assert_memory_equal(v, w, sizeof(v));
	/* count mismatch */
	assert_int_equal(wire_send_u64s(&p->a, WIRE_RESTORED, v, 2), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_u64s(&p->b, &m, w, 3), -EPROTO);
	/* trailing garbage after a round */
	uint8_t big[64] = { 0 };
	assert_int_equal(wire_send(&p->a, WIRE_ROUND_END, big, sizeof(big)), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_round(&p->b, &m, &q), -EPROTO);
}

static void test_error_frames(void **state)
{
	struct pair *p = *state;
	struct wire_msg m;
	char msg[64];
	int32_t code;

	assert_int_equal(wire_send_error(&p->a, WIRE_ERROR, -ENOENT, "missing %s", "/bin/x"), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_error(&p->b, &m, &code, msg, sizeof(msg)), 0);
	assert_int_equal(code, -ENOENT);
	assert_string_equal(msg, "missing /bin/x");
	/* an ERROR where something else was expected */
	assert_int_equal(wire_send_error(&p->a, WIRE_ERROR, -EIO, "restore failed"), 0);
	assert_int_equal(wire_expect(&p->b, WIRE_RESTORED, &m), -EREMOTEIO);
	assert_string_equal(p->b.err, "peer: restore failed");
	/* an unexpected type */
	assert_int_equal(wire_send(&p->a, WIRE_DONE, NULL, 0), 0);
	assert_int_equal(wire_expect(&p->b, WIRE_RESTORED, &m), -EPROTO);
	assert_non_null(strstr(p->b.err, "expected a RESTORED frame, got DONE"));
	/* message longer than the caller's buffer: cut */
	char longmsg[200];
	memset(longmsg, 'x', sizeof(longmsg) - 1);
	longmsg[sizeof(longmsg) - 1] = 0;
	assert_int_equal(wire_send_error(&p->a, WIRE_ABORT, 1, "%s", longmsg), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_error(&p->b, &m, &code, msg, sizeof(msg)), 0);
	assert_int_equal(strlen(msg), sizeof(msg) - 1);
	/* a string running past the payload is malformed */
	uint8_t bad[] = { 1, 0, 0, 0, 50, 0, 'a' };
	assert_int_equal(wire_send(&p->a, WIRE_ERROR, bad, sizeof(bad)), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_error(&p->b, &m, &code, msg, sizeof(msg)), -EPROTO);
}

static void test_bad_headers(void **state)
{
	struct pair *p = *state;
	uint8_t h[WIRE_HDR_LEN];
	struct wire_msg m;

	mkhdr(h, 0xdeadbeef, WIRE_HELLO, 0, 0);
	raw_write(p->fd[0], h, sizeof(h));
	assert_int_equal(wire_recv(&p->b, &m), -EPROTO);
	assert_non_null(strstr(p->b.err, "not a ferry stream"));

	mkhdr(h, (WIRE_MAGIC & ~0xffu) | 7, WIRE_HELLO, 0, 0);
	raw_write(p->fd[0], h, sizeof(h));
	assert_int_equal(wire_recv(&p->b, &m), -EPROTO);
	assert_non_null(strstr(p->b.err, "protocol 7"));

	mkhdr(h, WIRE_MAGIC, 999, 0, 0);
	raw_write(p->fd[0], h, sizeof(h));
	assert_int_equal(wire_recv(&p->b, &m), -EPROTO);
	assert_non_null(strstr(p->b.err, "unknown frame type 999"));

	mkhdr(h, WIRE_MAGIC, 0, 0, 0);
	raw_write(p->fd[0], h, sizeof(h));
	assert_int_equal(wire_recv(&p->b, &m), -EPROTO);

	mkhdr(h, WIRE_MAGIC, WIRE_DONE, 1, 0);
	raw_write(p->fd[0], h, sizeof(h));
	assert_int_equal(wire_recv(&p->b, &m), -EPROTO);
	assert_non_null(strstr(p->b.err, "reserved flags"));

	mkhdr(h, WIRE_MAGIC, WIRE_FILE_DATA, 0, WIRE_MAX_PAYLOAD + 1);
	raw_write(p->fd[0], h, sizeof(h));
	assert_int_equal(wire_recv(&p->b, &m), -EPROTO);
	assert_non_null(strstr(p->b.err, "exceeds"));

	mkhdr(h, WIRE_MAGIC, WIRE_FILE_DATA, 0, 0xffffffffu);
	raw_write(p->fd[0], h, sizeof(h));
	assert_int_equal(wire_recv(&p->b, &m), -EPROTO);

	assert_int_equal(wire_send(&p->a, WIRE_FILE_DATA, "", WIRE_MAX_PAYLOAD + 1), -EMSGSIZE);
}

/* A frame delivered one byte at a time still parses. */
static void test_short_reads(void **state)
{
	struct pair *p = *state;
	uint8_t frame[WIRE_HDR_LEN + 8];
	uint64_t v;
	struct wire_msg m;
	pid_t pid;

	mkhdr(frame, WIRE_MAGIC, WIRE_DONE, 0, 8 + 4);
	/* u64s payload: count 1, value */
	uint8_t full[WIRE_HDR_LEN + 12];
	memcpy(full, frame, WIRE_HDR_LEN);
	put32(full + WIRE_HDR_LEN, 1);
	put32(full + WIRE_HDR_LEN + 4, 0x11223344);
	put32(full + WIRE_HDR_LEN + 8, 0x55667788);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		for (size_t i = 0; i < sizeof(full); i++) {
			if (write(p->fd[0], full + i, 1) != 1)
				_exit(1);
			usleep(1000);
		}
		_exit(0);
	}
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(m.type, WIRE_DONE);
	assert_int_equal(wire_parse_u64s(&p->b, &m, &v, 1), 0);
	assert_int_equal(v, 0x5566778811223344ull);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

static void test_disconnect(void **state)
{
	struct pair *p = *state;
	uint8_t h[WIRE_HDR_LEN];
	struct wire_msg m;

	/* truncated frame, then EOF */
	mkhdr(h, WIRE_MAGIC, WIRE_FILE_DATA, 0, 100);
	raw_write(p->fd[0], h, sizeof(h));
	raw_write(p->fd[0], "abc", 3);
	close(p->fd[0]);
	p->fd[0] = -1;
	assert_int_equal(wire_recv(&p->b, &m), -ECONNRESET);
	assert_non_null(strstr(p->b.err, "middle of a frame"));
	/* clean EOF */
	assert_int_equal(wire_recv(&p->b, &m), -ENODATA);
	/* sending to a closed peer: error, no SIGPIPE */
	p->b.fd = p->fd[1];
	close(p->fd[1]);
	int sp[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	close(sp[1]);
	p->a.fd = sp[0];
	assert_int_equal(wire_send(&p->a, WIRE_DONE, NULL, 0), -EPIPE);
	close(sp[0]);
	p->fd[1] = -1;
}

static void test_file_transfer(void **state)
{
	struct pair *p = *state;
	char src[] = "/tmp/ferry-wire-src-XXXXXX", dst[] = "/tmp/ferry-wire-dst-XXXXXX";
	int sfd = mkstemp(src), dfd = mkstemp(dst);
	struct wire_file f;
	struct wire_msg m;
	char buf[5000];

	assert_true(sfd >= 0 && dfd >= 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (char)(i * 31);
	raw_write(sfd, buf, sizeof(buf));
	assert_int_equal(wire_send_file(&p->a, "pagemap-1.img", sfd), 0);
	assert_int_equal(wire_expect(&p->b, WIRE_FILE_BEGIN, &m), 0);
	assert_int_equal(wire_parse_file_begin(&p->b, &m, &f), 0);
	assert_string_equal(f.name, "pagemap-1.img");
	assert_int_equal(f.size, sizeof(buf));
	assert_int_equal(wire_recv_file_body(&p->b, &f, dfd), 0);
	char got[5000];
	assert_int_equal(pread(dfd, got, sizeof(got), 0), (ssize_t)sizeof(got));
	assert_memory_equal(buf, got, sizeof(buf));

	/* unsafe names */
	assert_int_equal(wire_send_file(&p->a, "../etc/passwd", sfd), -EINVAL);
	struct wire_file bad = { .size = 1 };
	strcpy(bad.name, "../x");
	assert_int_equal(wire_send_file_begin(&p->a, &bad), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_file_begin(&p->b, &m, &f), -EPROTO);
	assert_non_null(strstr(p->b.err, "unsafe"));

	/* more data than announced */
	strcpy(bad.name, "x");
	assert_int_equal(wire_send_file_begin(&p->a, &bad), 0);
	assert_int_equal(wire_send(&p->a, WIRE_FILE_DATA, "ab", 2), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_file_begin(&p->b, &m, &f), 0);
	assert_int_equal(wire_recv_file_body(&p->b, &f, dfd), -EPROTO);
	/* fewer than announced */
	bad.size = 10;
	assert_int_equal(wire_send_file_begin(&p->a, &bad), 0);
	assert_int_equal(wire_send(&p->a, WIRE_FILE_DATA, "ab", 2), 0);
	assert_int_equal(wire_send(&p->a, WIRE_FILE_END, NULL, 0), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(wire_parse_file_begin(&p->b, &m, &f), 0);
	assert_int_equal(wire_recv_file_body(&p->b, &f, dfd), -EPROTO);
	assert_non_null(strstr(p->b.err, "got 2 of 10"));
	close(sfd);
	close(dfd);
	unlink(src);
	unlink(dst);
}

struct fsender {
	struct wire_conn *c;
	int fd;
	int ret;
};

static void *file_thread(void *arg)
{
	struct fsender *s = arg;

	s->ret = wire_send_file(s->c, "pages-1.img", s->fd);
	return NULL;
}

/* A compressible multi-chunk file travels as FILE_ZDATA and arrives intact;
 * broken FILE_ZDATA frames are refused. */
static void test_file_compressed(void **state)
{
	struct pair *p = *state;
	char src[] = "/tmp/ferry-wire-zs-XXXXXX", dst[] = "/tmp/ferry-wire-zd-XXXXXX";
	int sfd = mkstemp(src), dfd = mkstemp(dst);
	size_t len = 3 * WIRE_FILE_CHUNK + 1234;
	uint8_t *buf = malloc(len), *got = malloc(len);
	struct fsender fs = { &p->a, sfd, -1 };
	struct wire_file f;
	struct wire_msg m;
	pthread_t th;

	assert_true(sfd >= 0 && dfd >= 0 && buf && got);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i % 4096 < 100 ? i * 7 : 0);
	raw_write(sfd, buf, len);
	uint64_t before = p->b.bytes_recv;
	assert_int_equal(pthread_create(&th, NULL, file_thread, &fs), 0);
	assert_int_equal(wire_expect(&p->b, WIRE_FILE_BEGIN, &m), 0);
	assert_int_equal(wire_parse_file_begin(&p->b, &m, &f), 0);
	assert_int_equal(f.size, len);
	assert_int_equal(wire_recv_file_body(&p->b, &f, dfd), 0);
	pthread_join(th, NULL);
	assert_int_equal(fs.ret, 0);
	assert_true(p->b.bytes_recv - before < len / 4);
	assert_int_equal(pread(dfd, got, len, 0), (ssize_t)len);
	assert_memory_equal(buf, got, len);

	/* malformed FILE_ZDATA frames */
	struct wire_file small = { .size = 100 };
	strcpy(small.name, "x");
	static const uint8_t cases[][8] = {
		{ 0, 0 },			/* shorter than the length field */
		{ 0, 0, 0, 0, 1, 2, 3, 4 },	/* raw length 0 */
		{ 0, 0, 0x20, 0, 1, 2, 3, 4 },	/* 2 MiB: more than a chunk */
		{ 50, 0, 0, 0, 1, 2, 3, 4 },	/* garbage zstd */
	};
	static const uint32_t clen[] = { 2, 8, 8, 8 };
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(wire_send(&p->a, WIRE_FILE_ZDATA, cases[i], clen[i]), 0);
		assert_int_not_equal(wire_recv_file_body(&p->b, &small, dfd), 0);
		assert_true(p->b.err[0] != 0);
	}
	free(buf);
	free(got);
	close(sfd);
	close(dfd);
	unlink(src);
	unlink(dst);
}

static void test_codec(void **state)
{
	struct wire_buf b;
	struct wire_rd r;
	char s[8];

	(void)state;
	wb_init(&b);
	wb_u8(&b, 0xab);
	wb_u16(&b, 0xbeef);
	wb_u32(&b, 0xdeadbeef);
	wb_u64(&b, 0x0123456789abcdefull);
	wb_str(&b, "hi");
	rd_init(&r, b.p, b.len);
	assert_int_equal(rd_u8(&r), 0xab);
	assert_int_equal(rd_u16(&r), 0xbeef);
	assert_int_equal(rd_u32(&r), 0xdeadbeef);
	assert_int_equal(rd_u64(&r), 0x0123456789abcdefull);
	rd_str(&r, s, sizeof(s));
	assert_string_equal(s, "hi");
	assert_true(rd_done(&r));
	assert_int_equal(rd_u8(&r), 0);		/* past the end */
	assert_false(rd_done(&r));
	/* string with an embedded NUL */
	wb_free(&b);
	wb_u16(&b, 3);
	wb_bytes(&b, "a\0b", 3);
	rd_init(&r, b.p, b.len);
	rd_str(&r, s, sizeof(s));
	assert_true(r.bad);
	/* string claiming more bytes than the payload has */
	wb_free(&b);
	wb_u16(&b, 100);
	wb_bytes(&b, "abc", 3);
	rd_init(&r, b.p, b.len);
	rd_str(&r, s, sizeof(s));
	assert_true(r.bad);
	wb_free(&b);
	assert_true(wire_name_ok("pages-1.img"));
	assert_false(wire_name_ok(""));
	assert_false(wire_name_ok(".."));
	assert_false(wire_name_ok("a/b"));
	assert_string_equal(wire_type_name(WIRE_PAGES), "PAGES");
	assert_string_equal(wire_type_name(999), "unknown");
}

static void on_alarm(int sig)
{
	ferry_interrupted = sig;
}

/* A signal that sets ferry_interrupted ends a blocked receive with -EINTR
 * (Ctrl-C must not wait for a peer that never answers); one that does
 * not (the flag clear) is retried. */
static void test_interrupted(void **state)
{
	struct pair *p = *state;
	struct sigaction sa = { .sa_handler = on_alarm }, old;
	struct wire_msg m;

	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, &old), 0);
	ferry_interrupted = 0;
	alarm(1);
	assert_int_equal(wire_recv(&p->b, &m), -EINTR);
	assert_non_null(strstr(p->b.err, "interrupted by signal"));
	ferry_interrupted = 0;
	/* a frame that arrives is read normally afterwards */
	assert_int_equal(wire_send(&p->a, WIRE_DONE, NULL, 0), 0);
	assert_int_equal(wire_recv(&p->b, &m), 0);
	assert_int_equal(m.type, WIRE_DONE);
	sigaction(SIGALRM, &old, NULL);
}

/*
 * The receiver's wait for DONE after a post-copy outcome: the source's
 * pushes that crossed our PC_DONE (PC_DATA, PC_PUSHED) come first and are
 * skipped, within the bound; past it, or without one, they are what they
 * are: not a DONE. (Without the skip a migration's receiver took PC_PUSHED
 * for a missing DONE and lingered 120 s.)
 */
static void test_await_done_after_pushes(void **state)
{
	struct pair *p = *state;
	uint8_t page[64] = { 1 };

	for (int bound = 0; bound <= 3; bound++) {
		assert_int_equal(wire_send(&p->a, WIRE_PC_DATA, page, sizeof(page)), 0);
		assert_int_equal(wire_send(&p->a, WIRE_PC_PUSHED, NULL, 0), 0);
		assert_int_equal(wire_send_u64s(&p->a, WIRE_DONE, NULL, 0), 0);
		if (bound >= 2) {
			assert_int_equal(recv_await_done(&p->b, (uint64_t)bound), 0);
			continue;
		}
		assert_int_not_equal(recv_await_done(&p->b, (uint64_t)bound), 0);
		assert_non_null(strstr(p->b.err, bound ? "PC_PUSHED" : "PC_DATA"));
		/* what is left of the three */
		for (int i = bound + 1; i < 3; i++) {
			struct wire_msg m;

			assert_int_equal(wire_recv(&p->b, &m), 0);
		}
	}
	/* an interrupted source's ABORT crossed the answer: once, skipped */
	assert_int_equal(wire_send_error(&p->a, WIRE_ABORT, -EINTR, "interrupted"), 0);
	assert_int_equal(wire_send(&p->a, WIRE_PC_PUSHED, NULL, 0), 0);
	assert_int_equal(wire_send_u64s(&p->a, WIRE_DONE, NULL, 0), 0);
	assert_int_equal(recv_await_done(&p->b, 1), 0);
	assert_int_equal(wire_send_error(&p->a, WIRE_ABORT, -EINTR, "interrupted"), 0);
	assert_int_equal(wire_send_error(&p->a, WIRE_ABORT, -EINTR, "again"), 0);
	assert_int_not_equal(recv_await_done(&p->b, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_codec),
		cmocka_unit_test_setup_teardown(test_hello_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_container_volumes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conntrack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_conntrack6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_postcopy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_container, setup, teardown),
		cmocka_unit_test_setup_teardown(test_container_runc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pages_malformed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_round_and_u64s, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_reads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_interrupted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_transfer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_compressed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_await_done_after_pushes, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
