// SPDX-License-Identifier: GPL-2.0
/*
 * Post-copy's source side (mig_pc_src.h) over a real wire connection: the
 * destination (this test) must get every page of the final pages file
 * exactly once by the push, plus what it asked for, with the pages asked
 * for answered before the push goes on; a request outside the file is
 * refused and nothing is sent for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cmocka.h>
#include "mig_pc_src.h"
#include "util.h"
#include "wire.h"
#include "wire_pc.h"

#define NP 700ull
#define PG WIRE_PAGE_SIZE

static uint8_t byte_of(uint64_t page, size_t i)
{
	return (uint8_t)(page * 13 + i / 64);
}

/* The source: announce the file, then serve and push until the peer
 * closes. Exit 0, or the failure's step. */
static void source(int sk, const char *path)
{
	struct pc_src p = { 0 };
	struct wire_conn c;
	char err[256];
	int fd = open(path, O_RDONLY), ret;

	wire_init(&c, sk);
	if (pc_src_add(&p, &c, "pages-9.img", fd, err, sizeof(err)))
		_exit(2);
	for (;;) {
		struct wire_msg m;

		if (wire_readable(&c) || p.pushed) {
			if (wire_recv(&c, &m))
				break;	/* the peer is done */
			ret = pc_src_serve(&p, &c, &m, err, sizeof(err));
			if (ret == -EPROTO)
				continue;	/* refused: the test checks nothing came */
			if (ret)
				_exit(3);
			continue;
		}
		if (pc_src_push(&p, &c, err, sizeof(err)) < 0)
			_exit(4);
	}
	pc_src_free(&p);
	_exit(0);
}

static void test_serve_and_push(void **state)
{
	char path[] = "/tmp/ferry-pcsrc-XXXXXX";
	static uint8_t page[WIRE_MAX_PAGES * PG];
	unsigned int count[NP] = { 0 };
	struct wire_pc_file f;
	struct wire_pc_req q;
	struct wire_pages_hdr h;
	struct wire_conn c;
	struct wire_msg m;
	bool pushed = false, answered = false;
	int sp[2], fd, status;
	pid_t pid;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	for (uint64_t i = 0; i < NP; i++) {
		for (size_t k = 0; k < PG; k++)
			page[k] = byte_of(i, k);
		assert_int_equal(write(fd, page, PG), (ssize_t)PG);
	}
	close(fd);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(sp[0]);
		source(sp[1], path);
	}
	close(sp[1]);
	wire_init(&c, sp[0]);
	assert_int_equal(wire_expect(&c, WIRE_PC_FILE, &m), 0);
	assert_int_equal(wire_parse_pc_file(&c, &m, &f), 0);
	assert_string_equal(f.name, "pages-9.img");
	assert_true(f.size == NP * PG);
	/* a request outside the file, then one inside it, at once */
	q = (struct wire_pc_req){ .file = 0, .page = NP - 2, .npages = 3 };
	assert_int_equal(wire_send_pc_req(&c, &q), 0);
	q = (struct wire_pc_req){ .file = 0, .page = 650, .npages = 10 };
	assert_int_equal(wire_send_pc_req(&c, &q), 0);
	/* the source answers a request after PUSHED as well: on a loaded
	 * machine its push may end before it reads the request */
	while (!pushed || !answered) {
		assert_int_equal(wire_recv(&c, &m), 0);
		if (m.type == WIRE_PC_PUSHED) {
			assert_false(pushed);
			pushed = true;
			continue;
		}
		assert_int_equal(wire_parse_pages_as(&c, &m, WIRE_PC_DATA, &h, page, sizeof(page)),
				 0);
		assert_int_equal(h.pid, 0);
		for (uint32_t k = 0; k < h.npages; k++) {
			uint64_t pg = h.vaddr / PG + k;

			assert_true(pg < NP);
			for (size_t i = 0; i < PG; i += 511)
				assert_int_equal(page[k * PG + i], byte_of(pg, i));
			count[pg]++;
		}
		if (h.vaddr / PG == 650 && h.npages == 10)
			answered = true;
	}
	assert_true(answered);
	/* every page came; the push sent none twice, and 650-659 came once
	 * more only if the push had passed them before the request */
	for (uint64_t i = 0; i < NP; i++) {
		assert_true(count[i] >= 1);
		assert_true(count[i] <= (i >= 650 && i < 660 ? 2u : 1u));
	}
	close(sp[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	unlink(path);
}

/*
 * The push follows the tree: one push step (pages 0-255), a request for
 * 600-603, then the push goes on at 604, runs to the file's end, wraps
 * round to 256 and ends with 599: every page exactly once, in that order,
 * then PC_PUSHED. Driven step by step here (the source in this process),
 * a child reading the frames and writing (first page, count) records.
 */
#define NL 1024ull
static void test_push_follows_requests(void **state)
{
	char path[] = "/tmp/ferry-pcsrc-XXXXXX", rec[] = "/tmp/ferry-pcrec-XXXXXX";
	static const uint64_t want[][2] = { { 0, 256 }, { 600, 4 }, { 604, 256 }, { 860, 164 },
					    { 256, 256 }, { 512, 88 } };
	static uint8_t page[PG];
	struct pc_src p = { 0 };
	struct wire_conn c, qa, qb;
	struct wire_pc_req q = { .file = 0, .page = 600, .npages = 4 };
	struct wire_msg m;
	int sp[2], rq[2], fd, rfd, status, ret;
	uint64_t got[16][2];
	char err[256];
	ssize_t n;
	pid_t pid;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	memset(page, 0x5a, sizeof(page));
	for (uint64_t i = 0; i < NL; i++)
		assert_int_equal(write(fd, page, PG), (ssize_t)PG);
	rfd = mkstemp(rec);
	assert_true(rfd >= 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, rq), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {	/* the destination: records what comes, in order */
		static uint8_t buf[WIRE_MAX_PAGES * PG];
		struct wire_pages_hdr h;

		close(sp[0]);
		wire_init(&c, sp[1]);
		if (wire_expect(&c, WIRE_PC_FILE, &m))
			_exit(2);
		for (;;) {
			uint64_t r[2];

			if (wire_recv(&c, &m))
				_exit(3);
			if (m.type == WIRE_PC_PUSHED)
				_exit(0);
			if (wire_parse_pages_as(&c, &m, WIRE_PC_DATA, &h, buf, sizeof(buf)))
				_exit(4);
			r[0] = h.vaddr / PG;
			r[1] = h.npages;
			if (write(rfd, r, sizeof(r)) != sizeof(r))
				_exit(5);
		}
	}
	close(sp[1]);
	wire_init(&c, sp[0]);
	wire_init(&qa, rq[0]);
	wire_init(&qb, rq[1]);
	assert_int_equal(pc_src_add(&p, &c, "pages-3.img", fd, err, sizeof(err)), 0);
	assert_int_equal(pc_src_push(&p, &c, err, sizeof(err)), 0);
	assert_int_equal(wire_send_pc_req(&qa, &q), 0);
	assert_int_equal(wire_recv(&qb, &m), 0);
	assert_int_equal(pc_src_serve(&p, &c, &m, err, sizeof(err)), 0);
	while ((ret = pc_src_push(&p, &c, err, sizeof(err))) == 0)
		;
	assert_int_equal(ret, 1);
	assert_true(p.pushed);
	assert_true(p.unsent == 0);
	assert_true(p.on_push + p.on_request == NL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	n = pread(rfd, got, sizeof(got), 0);
	assert_int_equal(n, (ssize_t)sizeof(want));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_true(got[i][0] == want[i][0]);
		assert_true(got[i][1] == want[i][1]);
	}
	pc_src_free(&p);
	wire_free(&c);
	wire_free(&qa);
	wire_free(&qb);
	close(rq[0]);
	close(rq[1]);
	close(sp[0]);
	close(rfd);
	unlink(path);
	unlink(rec);
}

static void test_keeps(void **state)
{
	(void)state;
	assert_true(pc_src_keeps("pages-1.img"));
	assert_true(pc_src_keeps("pages-123.img"));
	assert_false(pc_src_keeps("pagemap-1.img"));
	assert_false(pc_src_keeps("pages-1.img.tmp"));
	assert_false(pc_src_keeps("pages-x.img"));
	assert_false(pc_src_keeps("core-1.img"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keeps),
		cmocka_unit_test(test_serve_and_push),
		cmocka_unit_test(test_push_follows_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
