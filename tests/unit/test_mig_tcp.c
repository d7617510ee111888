// SPDX-License-Identifier: GPL-2.0
/* mig_tcp: --move-addr parsing, the MOVE_ADDR frame, reading the dumped
 * connections from a CRIU files.img, and finding connections in this
 * netns's tables by 4-tuple (with a real loopback connection). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "criu_img.h"
#include "mig_tcp.h"
#include "tcp_diag.h"
#include "wire.h"

static void test_addr_parse(void **state)
{
	struct mig_addr a;
	char err[256], buf[96];

	(void)state;
	assert_int_equal(mig_addr_parse("10.99.0.100/24@br0", &a, err, sizeof(err)), 0);
	assert_int_equal(a.prefix, 24);
	assert_string_equal(a.dev, "br0");
	mig_addr_fmt(&a, buf, sizeof(buf));
	assert_string_equal(buf, "10.99.0.100/24@br0");
	assert_int_equal(mig_addr_parse("192.0.2.1", &a, err, sizeof(err)), 0);
	assert_int_equal(a.prefix, 32);
	assert_string_equal(a.dev, "");
	mig_addr_fmt(&a, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.1/32");
	const char *bad[] = { "", "10.0.0.1/0", "10.0.0.1/33", "10.0.0.1/", "10.0.0.1@",
			      "fd00::1/64", "10.0.0.256", "10.0.0.1/24@waytoolonginterfacename",
			      "10.0.0.1/2x" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(mig_addr_parse(bad[i], &a, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "bad address"));
	}
}

static void test_wire_move_addr(void **state)
{
	struct wire_move_addr in = { .prefix = 24 }, out;
	struct wire_conn a, b;
	struct wire_msg m;
	int sp[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	wire_init(&a, sp[0]);
	wire_init(&b, sp[1]);
	inet_pton(AF_INET, "10.99.0.100", &in.addr);
	strcpy(in.dev, "br0");
	assert_int_equal(wire_send_move_addr(&a, WIRE_MOVE_ADDR, &in), 0);
	assert_int_equal(wire_recv(&b, &m), 0);
	assert_int_equal(m.type, WIRE_MOVE_ADDR);
	assert_int_equal(wire_parse_move_addr(&b, &m, &out), 0);
	assert_int_equal(out.addr, in.addr);
	assert_int_equal(out.prefix, 24);
	assert_string_equal(out.dev, "br0");
	assert_string_equal(wire_type_name(WIRE_MOVE_ADDR_ACK), "MOVE_ADDR_ACK");
	/* a prefix of 0 is malformed */
	in.prefix = 0;
	assert_int_equal(wire_send_move_addr(&a, WIRE_MOVE_ADDR_ACK, &in), 0);
	assert_int_equal(wire_recv(&b, &m), 0);
	assert_int_equal(wire_parse_move_addr(&b, &m, &out), -EPROTO);
	/* another frame type is refused */
	assert_int_equal(wire_send_u64s(&a, WIRE_DONE, NULL, 0), 0);
	assert_int_equal(wire_recv(&b, &m), 0);
	assert_int_equal(wire_parse_move_addr(&b, &m, &out), -EPROTO);
	wire_free(&a);
	wire_free(&b);
	close(sp[0]);
	close(sp[1]);
}

/* Append a length-delimited field. */
static void put_bytes(uint8_t *buf, size_t *off, uint32_t field, const uint8_t *p, size_t n)
{
	*off += pb_put_varint(buf + *off, (uint64_t)field << 3 | 2);
	*off += pb_put_varint(buf + *off, n);
	memcpy(buf + *off, p, n);
	*off += n;
}

/* One file_entry { type = INETSK, id, isk = inet_sk_entry {...} }. */
static size_t inetsk_entry(uint8_t *out, uint32_t ino, uint32_t proto, uint32_t state,
			   uint16_t sport, uint16_t dport, uint32_t src, uint32_t dst, bool reuse)
{
	uint8_t isk[256], opts[32], fe[300];
	size_t i = 0, o = 0, f = 0;

	pb_put_field(opts, &o, 1, 212992);
	pb_put_field(opts, &o, 7, reuse);
	pb_put_field(isk, &i, 1, ino + 1);
	pb_put_field(isk, &i, 2, ino);
	pb_put_field(isk, &i, 3, AF_INET);
	pb_put_field(isk, &i, 4, SOCK_STREAM);
	pb_put_field(isk, &i, 5, proto);
	pb_put_field(isk, &i, 6, state);
	pb_put_field(isk, &i, 7, sport);
	pb_put_field(isk, &i, 8, dport);
	pb_put_field(isk, &i, 11, src);
	pb_put_field(isk, &i, 12, dst);
	put_bytes(isk, &i, 14, opts, o);
	pb_put_field(fe, &f, 1, 4);	/* INETSK */
	pb_put_field(fe, &f, 2, ino + 1);
	put_bytes(fe, &f, 4, isk, i);
	out[0] = (uint8_t)f;	/* u32 size, little-endian */
	out[1] = out[2] = out[3] = 0;
	memcpy(out + 4, fe, f);
	return f + 4;
}

static void test_read_images(void **state)
{
	char dir[] = "/tmp/ferry-test-mig-tcp-XXXXXX", path[256];
	uint8_t img[2048];
	struct mig_tcp_conn *v;
	size_t off = 8, n;
	uint32_t magic[2] = { CRIU_IMG_COMMON_MAGIC, 0x56303138 };
	uint32_t a1 = htonl(0x0a630064), a2 = htonl(0x0a630032);
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	memcpy(img, magic, 8);	/* little-endian host */
	off += inetsk_entry(img + off, 0x1234, IPPROTO_TCP, 1, 7940, 40000, a1, a2, true);
	off += inetsk_entry(img + off, 0x1235, IPPROTO_TCP, 10, 7940, 0, a1, 0, true); /* listener */
	off += inetsk_entry(img + off, 0x1236, IPPROTO_UDP, 1, 53, 5353, a1, a2, false);
	off += inetsk_entry(img + off, 0x1237, IPPROTO_TCP, 1, 7940, 40001, a1, a2, false);
	off += inetsk_entry(img + off, 0x1238, IPPROTO_TCP, 1, 7940, 40002, a1, a2, false);
	snprintf(path, sizeof(path), "%s/files.img", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(img, 1, off, f), off);
	fclose(f);
	/* only 0x1234 and 0x1237 were dumped in repair mode */
	snprintf(path, sizeof(path), "%s/tcp-stream-1234.img", dir);
	fclose(fopen(path, "w"));
	snprintf(path, sizeof(path), "%s/tcp-stream-1237.img", dir);
	fclose(fopen(path, "w"));
	assert_int_equal(mig_tcp_read_images(dir, &v, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(v[0].ino, 0x1234);
	assert_true(v[0].reuseaddr);
	assert_int_equal(v[0].sport, 7940);
	assert_int_equal(v[0].dport, 40000);
	assert_int_equal(v[0].src[0], a1);
	assert_int_equal(v[0].dst[0], a2);
	assert_int_equal(v[1].ino, 0x1237);
	assert_false(v[1].reuseaddr);
	free(v);
	/* no files.img: an error, not zero connections */
	snprintf(path, sizeof(path), "%s/files.img", dir);
	unlink(path);
	assert_int_equal(mig_tcp_read_images(dir, &v, &n), -ENOENT);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

/* A listener on a free loopback port; sa gets its address. */
static int loopback_listener(struct sockaddr_in *sa)
{
	socklen_t sl = sizeof(*sa);
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	assert_int_equal(bind(l, (struct sockaddr *)sa, sizeof(*sa)), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)sa, &sl), 0);
	return l;
}

static void test_count_present(void **state)
{
	struct sockaddr_in sa;
	struct mig_tcp_conn c[2];
	int l, cl, sv;
	pid_t me = getpid();
	char err[256];

	(void)state;
	l = loopback_listener(&sa);
	assert_int_equal(mig_tcp_tree_check(&me, 1, NULL, err, sizeof(err)), 0);
	cl = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(cl, (struct sockaddr *)&sa, sizeof(sa)), 0);
	sv = accept(l, NULL, NULL);
	assert_true(sv >= 0);
	/* two ends of a loopback connection: kept with the tree */
	assert_int_equal(mig_tcp_tree_check(&me, 1, NULL, err, sizeof(err)), 2);
	memset(c, 0, sizeof(c));
	c[0].family = AF_INET;
	c[0].src[0] = htonl(INADDR_LOOPBACK);
	c[0].dst[0] = htonl(INADDR_LOOPBACK);
	c[0].sport = ntohs(sa.sin_port);	/* the server side */
	{
		struct sockaddr_in peer;
		socklen_t pl = sizeof(peer);

		assert_int_equal(getsockname(cl, (struct sockaddr *)&peer, &pl), 0);
		c[0].dport = ntohs(peer.sin_port);
	}
	c[1] = c[0];
	c[1].dport = (uint16_t)(c[0].dport + 1 ? c[0].dport + 1 : 1);	/* no such one */
	assert_int_equal(mig_tcp_count_present(c, 2), 1);
	assert_int_equal(mig_tcp_count_present(c, 0), 0);
	close(cl);
	close(sv);
	close(l);
}

/* sock_diag's view (tcp_diag.h) of a healthy loopback connection of this
 * process: nothing retransmitted, so nothing recovering; a process that
 * is not there cannot be asked. (The VM test checkpoint-tcp-flux has a
 * connection that is recovering.) */
static bool any_inode(unsigned long inode, void *arg)
{
	(void)arg;
	return inode != 0;
}

static void test_recovering(void **state)
{
	struct sockaddr_in sa;
	int l, cl, sv;
	pid_t me = getpid();
	char buf[4096] = { 0 };

	(void)state;
	l = loopback_listener(&sa);
	cl = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(cl, (struct sockaddr *)&sa, sizeof(sa)), 0);
	sv = accept(l, NULL, NULL);
	assert_true(sv >= 0);
	assert_int_equal(write(cl, buf, sizeof(buf)), (ssize_t)sizeof(buf));
	assert_int_equal(mig_tcp_tree_recovering(&me, 1), 0);
	assert_true(tcp_diag_recovering(me, any_inode, NULL) >= 0);
	assert_true(tcp_diag_recovering(0x7ffffff0, any_inode, NULL) < 0);
	close(cl);
	close(sv);
	close(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_wire_move_addr),
		cmocka_unit_test(test_read_images),
		cmocka_unit_test(test_count_present),
		cmocka_unit_test(test_recovering),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
