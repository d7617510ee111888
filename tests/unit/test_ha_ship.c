// SPDX-License-Identifier: GPL-2.0
/*
 * Checkpoints kept on another host (ha_ship.c to recv_store.c, over a real
 * TCP connection on the loopback, the receiver in a process of its own as
 * `ferry receive` runs it). What must hold:
 * - a version arrives with the versions it builds on that the store host
 *   lacks, and there it verifies and restores exactly the pages it does
 *   here; a version the store host has is not sent again;
 * - a version damaged on the way (or here) is never published there, and
 *   the sender is told why;
 * - what a hostile sender sends is refused before it is written: a chain
 *   name or a path that leaves the store, a link that leaves the version,
 *   a file longer than announced, a version larger than the disk, a
 *   version that builds on one the store host does not have;
 * - a receiver without --store refuses store sessions.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <cmocka.h>
#include "criu_img.h"
#include "ha_ship.h"
#include "ha_store.h"
#include "imgchain.h"
#include "lazy_server.h"
#include "mig.h"
#include "mig_net.h"
#include "recv.h"
#include "wire.h"
#include "wire_store.h"
#include "ha_fixture.h"

static char remote[200];	/* the store host's --store */
static char to[64];		/* its 127.0.0.1:PORT */
static pid_t server = -1;
static int lfd = -1;

/* A receiver serving one connection at a time, as `ferry receive` does
 * (a process per session); store_dir NULL: without --store. */
static void serve(const char *store_dir)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);

	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lfd >= 0);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 4), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &len), 0);
	snprintf(to, sizeof(to), "127.0.0.1:%u", ntohs(sa.sin_port));
	server = fork();
	assert_true(server >= 0);
	if (server == 0) {
		struct ropts o = {
			.store_dir = store_dir, .auth_ms = 10000, .phase_ms = 10000,
			.state_dir = remote,	/* the disk account's file */
		};

		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* a failed test leaves none */
		for (;;) {
			int fd = accept(lfd, NULL, NULL);
			pid_t k;

			if (fd < 0)
				_exit(1);
			k = fork();
			if (k == 0)
				_exit(recv_session_run(&o, fd));
			close(fd);
			waitpid(k, NULL, 0);
		}
	}
}

static void stop(void)
{
	kill(server, SIGKILL);
	waitpid(server, NULL, 0);
	close(lfd);
}

static void setup_remote(void)
{
	snprintf(remote, sizeof(remote), "/tmp/ferry-test-ship-XXXXXX");
	assert_non_null(mkdtemp(remote));
	serve(remote);
}

static void cleanup_remote(void)
{
	stop();
	mig_rmtree(remote);
}

static int ship(struct ha_store *st, uint32_t v, struct ha_ship_stats *s, char *err, size_t len)
{
	struct ha_ship_opts o = { .to = to, .chain = "app-1", .keep = 5, .timeout_ms = 10000 };

	return ha_ship(st, v, &o, s, err, len);
}

/* The pages a restore of version v of the remote chain gets. */
static void remote_pages(uint32_t v, char *out, size_t len)
{
	char saved[256];

	snprintf(saved, sizeof(saved), "%s", base);
	snprintf(base, sizeof(base), "%s/app-1", remote);
	pages_seen(v, out, len);
	snprintf(base, sizeof(base), "%s", saved);
}

static void test_chain_arrives_whole(void **state)
{
	struct ha_store st, rs;
	struct ha_ship_stats s;
	struct ha_meta m;
	char err[1024], seen[512], dir[400];

	(void)state;
	make_chain(&st);
	setup_remote();
	assert_int_equal(ship(&st, 2, &s, err, sizeof(err)), 0);
	assert_int_equal(s.versions, 2);	/* v-2 needs v-1 there */
	snprintf(dir, sizeof(dir), "%s/app-1", remote);
	assert_int_equal(ha_store_open(&rs, dir, false, false, err, sizeof(err)), 0);
	assert_int_equal(ha_verify_chain(&rs, 2, &m, err, sizeof(err)), 0);
	assert_int_equal(m.base, 1);
	remote_pages(2, seen, sizeof(seen));
	assert_string_equal(seen, CHAIN_PAGES);
	/* sent again: nothing to send */
	assert_int_equal(ship(&st, 2, &s, err, sizeof(err)), 0);
	assert_int_equal(s.versions, 0);
	/* folded and retired here: the same version there, not sent */
	assert_int_equal(ha_store_fold(&st, 2, err, sizeof(err)), 0);
	assert_int_equal(ha_store_retire(&st, 1), 0);
	assert_int_equal(ship(&st, 2, &s, err, sizeof(err)), 0);
	assert_int_equal(s.versions, 0);
	ha_store_close(&rs);
	cleanup_remote();
	cleanup(&st);
}

static void test_damaged_never_published(void **state)
{
	struct ha_store st;
	struct ha_ship_stats s;
	char err[1024], path[400];
	struct stat sb;

	(void)state;
	make_chain(&st);
	setup_remote();
	/* one bit of v-1's page data, flipped after it was published here */
	flip_in("v-1/r0/pages-1.img", 4096 + 7);
	assert_int_equal(ship(&st, 2, &s, err, sizeof(err)), -EREMOTEIO);
	assert_non_null(strstr(err, "version 1 arrived damaged"));
	assert_non_null(strstr(err, "pages-1.img"));
	snprintf(path, sizeof(path), "%s/app-1/v-1", remote);
	assert_int_equal(stat(path, &sb), -1);
	snprintf(path, sizeof(path), "%s/app-1/.v-1.tmp", remote);
	assert_int_equal(stat(path, &sb), -1);
	cleanup_remote();
	cleanup(&st);
}

/* A hand-made sender: connected, HELLO exchanged, chain opened. */
static void raw_open(struct wire_conn *c, const char *chain, bool expect_have)
{
	struct wire_hello h = { .version = WIRE_VERSION, .caps = WIRE_CAP_STORE, .id = { 1 } };
	struct wire_store_open so = { .keep = 3 };
	struct wire_msg m;
	char err[256];
	int fd;

	fd = mig_connect(to, err, sizeof(err));
	assert_true(fd >= 0);
	wire_init(c, fd);
	wire_set_timeout(c, 10000);
	assert_int_equal(wire_send_hello(c, &h), 0);
	assert_int_equal(wire_expect(c, WIRE_HELLO, &m), 0);
	snprintf(so.chain, sizeof(so.chain), "%s", chain);
	assert_int_equal(wire_send_store_open(c, &so), 0);
	if (expect_have)
		assert_int_equal(wire_expect(c, WIRE_STORE_HAVE, &m), 0);
}

static void raw_close(struct wire_conn *c)
{
	close(c->fd);
	wire_free(c);
}

/* The receiver's answer to what was sent: an ERROR naming why. */
static void expect_refused(struct wire_conn *c, const char *why)
{
	struct wire_msg m;
	int ret;

	do
		ret = wire_expect(c, WIRE_STORE_DONE, &m);
	while (ret == 0);
	if (!strstr(c->err, why))
		fail_msg("refused with \"%s\", expected \"%s\"", c->err, why);
}

static void send_version(struct wire_conn *c, uint32_t v, uint32_t b, uint64_t bytes)
{
	struct wire_store_version wv = { .version = v, .base = b, .bytes = bytes, .entries = 4 };

	assert_int_equal(wire_send_store_version(c, &wv), 0);
}

static void test_hostile_sender(void **state)
{
	static const char data[16] = "0123456789abcdef";
	struct wire_conn c;
	char path[400];
	struct stat sb;

	(void)state;
	setup_remote();
	raw_open(&c, "../etc", false);
	expect_refused(&c, "bad chain name");
	raw_close(&c);

	raw_open(&c, "a", true);
	send_version(&c, 1, 0, 100);
	assert_int_equal(wire_send_store_file(&c, "../../x", 4), 0);
	expect_refused(&c, "unsafe path");
	raw_close(&c);

	raw_open(&c, "a", true);
	send_version(&c, 1, 0, 100);
	assert_int_equal(wire_send_store_link(&c, "final/parent", "/etc"), 0);
	expect_refused(&c, "leaves the version");
	raw_close(&c);

	raw_open(&c, "a", true);
	send_version(&c, 1, 0, 8);
	assert_int_equal(wire_send_store_file(&c, "dump.log", 16), 0);
	expect_refused(&c, "more than version 1 announced");
	raw_close(&c);

	/* a file body longer than its STORE_FILE said */
	raw_open(&c, "a", true);
	send_version(&c, 1, 0, 100);
	assert_int_equal(wire_send_store_file(&c, "dump.log", 8), 0);
	assert_int_equal(wire_send(&c, WIRE_FILE_DATA, data, 16), 0);
	expect_refused(&c, "more than the announced 8 bytes");
	raw_close(&c);

	raw_open(&c, "a", true);
	send_version(&c, 1, 0, 1ull << 60);
	expect_refused(&c, "free beyond the reserve and other sessions' grants");
	raw_close(&c);

	raw_open(&c, "a", true);
	send_version(&c, 5, 4, 100);
	expect_refused(&c, "which this store does not hold");
	raw_close(&c);

	/* a version without a manifest is damaged, and never published */
	raw_open(&c, "a", true);
	send_version(&c, 1, 0, 100);
	assert_int_equal(wire_send_store_file(&c, "dump.log", 16), 0);
	assert_int_equal(wire_send(&c, WIRE_FILE_DATA, data, 16), 0);
	assert_int_equal(wire_send(&c, WIRE_FILE_END, NULL, 0), 0);
	assert_int_equal(wire_send(&c, WIRE_STORE_END, NULL, 0), 0);
	expect_refused(&c, "arrived damaged");
	raw_close(&c);

	snprintf(path, sizeof(path), "%s/x", remote);
	assert_int_equal(stat(path, &sb), -1);
	snprintf(path, sizeof(path), "%s/a/v-1", remote);
	assert_int_equal(stat(path, &sb), -1);
	snprintf(path, sizeof(path), "%s/etc", remote);
	assert_int_equal(stat(path, &sb), -1);
	cleanup_remote();
}

static void test_no_store_refused(void **state)
{
	struct ha_store st;
	struct ha_ship_stats s;
	char err[1024];

	(void)state;
	make_chain(&st);
	serve(NULL);
	assert_int_equal(ship(&st, 1, &s, err, sizeof(err)), -EREMOTEIO);
	assert_non_null(strstr(err, "started without --store"));
	stop();
	cleanup(&st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain_arrives_whole),
		cmocka_unit_test(test_damaged_never_published),
		cmocka_unit_test(test_hostile_sender),
		cmocka_unit_test(test_no_store_refused),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
