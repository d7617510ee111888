// SPDX-License-Identifier: GPL-2.0
/* The lazy-pages server's page map: runs of pages and where their data is,
 * kept right as the restored tree unmaps and moves memory, and resolved
 * through a real chain of image sets (every page's data read back). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "imgchain.h"
#include "lazy_server.h"

#define P 4096ull

static void expect_map(const struct lz_map *m, const struct lz_ext *want, size_t n)
{
	assert_int_equal(m->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(m->v[i].start, want[i].start);
		assert_int_equal(m->v[i].pages, want[i].pages);
		assert_int_equal(m->v[i].fd, want[i].fd);
		assert_int_equal(m->v[i].off, want[i].off);
	}
}

static void test_map_ops(void **state)
{
	struct lz_map m = { 0 }, rm = { 0 }, d;

	(void)state;
	assert_int_equal(lz_map_add(&m, 10 * P, 10, 3, 0), 0);
	assert_int_equal(lz_map_add(&m, 20 * P, 5, 3, 10 * P), 0);	/* joins */
	assert_int_equal(lz_map_add(&m, 25 * P, 5, 4, 0), 0);		/* other file */
	assert_int_equal(lz_map_add(&m, 40 * P, 2, 4, 5 * P), 0);
	assert_int_equal(lz_map_add(&m, 41 * P, 1, 4, 0), -EINVAL);	/* not above */
	expect_map(&m, (struct lz_ext[]){ { 10 * P, 15, 3, 0 }, { 25 * P, 5, 4, 0 },
					  { 40 * P, 2, 4, 5 * P } }, 3);
	assert_int_equal(lz_map_pages(&m), 22);
	assert_null(lz_map_find(&m, 9 * P));
	assert_int_equal(lz_map_find(&m, 24 * P + 5)->start, 10 * P);
	assert_null(lz_map_find(&m, 30 * P));
	assert_int_equal(lz_map_next(&m, 30 * P)->start, 40 * P);
	assert_null(lz_map_next(&m, 42 * P));

	/* munmap of [12, 27): two runs clipped, what was cut comes back */
	assert_int_equal(lz_map_cut(&m, 12 * P, 27 * P, &rm), 0);
	expect_map(&m, (struct lz_ext[]){ { 10 * P, 2, 3, 0 }, { 27 * P, 3, 4, 2 * P },
					  { 40 * P, 2, 4, 5 * P } }, 3);
	expect_map(&rm, (struct lz_ext[]){ { 12 * P, 13, 3, 2 * P }, { 25 * P, 2, 4, 0 } }, 2);
	lz_map_free(&rm);
	/* a cut inside one run splits it */
	assert_int_equal(lz_map_cut(&m, 28 * P, 29 * P, NULL), 0);
	expect_map(&m, (struct lz_ext[]){ { 10 * P, 2, 3, 0 }, { 27 * P, 1, 4, 2 * P },
					  { 29 * P, 1, 4, 4 * P }, { 40 * P, 2, 4, 5 * P } }, 4);
	/* mremap [27, 30) to 100: data moves with the addresses, and what was at
	 * the destination is replaced */
	assert_int_equal(lz_map_add(&m, 101 * P, 1, 9, 0), 0);
	assert_int_equal(lz_map_remap(&m, 27 * P, 100 * P, 3 * P), 0);
	expect_map(&m, (struct lz_ext[]){ { 10 * P, 2, 3, 0 }, { 40 * P, 2, 4, 5 * P },
					  { 100 * P, 1, 4, 2 * P }, { 102 * P, 1, 4, 4 * P } }, 4);
	/* a move downwards keeps the order */
	assert_int_equal(lz_map_remap(&m, 100 * P, 20 * P, 3 * P), 0);
	expect_map(&m, (struct lz_ext[]){ { 10 * P, 2, 3, 0 }, { 20 * P, 1, 4, 2 * P },
					  { 22 * P, 1, 4, 4 * P }, { 40 * P, 2, 4, 5 * P } }, 4);
	assert_int_equal(lz_map_dup(&m, &d), 0);
	assert_int_equal(lz_map_cut(&d, 0, 1000 * P, NULL), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(m.n, 4);	/* the copy is independent */
	lz_map_free(&d);
	lz_map_free(&m);
}

static void fill(uint8_t *buf, uint32_t n, uint8_t tag, uint64_t page)
{
	for (uint32_t i = 0; i < n; i++)
		memset(buf + i * P, (int)(uint8_t)(tag * 31 + page + i), P);
}

static void test_load_chain(void **state)
{
	char dir[] = "/tmp/ferry-lazysrv-XXXXXX", path[256], cmd[300];
	uint8_t buf[4 * P], got[P], want[P];
	struct lz_map m;
	struct imgchain *c;
	char err[256];
	int dfd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(imgchain_open(&c, dir, err, sizeof(err)), 0);
	fill(buf, 4, 1, 100);
	assert_int_equal(imgchain_put(c, 42, 100 * P, 4, buf), 0);	/* r0: 100-103 */
	assert_int_equal(imgchain_end_round(c, false), 0);
	fill(buf, 1, 2, 102);
	assert_int_equal(imgchain_put(c, 42, 102 * P, 1, buf), 0);	/* r1: 102 again */
	assert_int_equal(imgchain_end_round(c, true), 0);
	imgchain_close(c);
	/* a final dump: 100-101 lazy from the parent, 102 eager from the
	 * parent, 103 and 200 written by the dump (200 lazy) */
	snprintf(path, sizeof(path), "%s/final", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	dfd = open(path, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	{
		const struct criu_pme e[] = {
			{ 100 * P, 2, CRIU_PE_PARENT | CRIU_PE_LAZY },
			{ 102 * P, 1, CRIU_PE_PARENT },
			{ 103 * P, 1, CRIU_PE_PRESENT },
			{ 200 * P, 1, CRIU_PE_PRESENT | CRIU_PE_LAZY },
		};
		int fd;

		assert_int_equal(criu_img_write_pagemap_entries(dfd, "pagemap-42.img", 7, e, 4), 0);
		fd = openat(dfd, "pages-7.img", O_WRONLY | O_CREAT, 0600);
		fill(buf, 1, 3, 103);
		fill(buf + P, 1, 3, 200);
		assert_int_equal(write(fd, buf, 2 * P), (ssize_t)(2 * P));
		close(fd);
		assert_int_equal(symlinkat("../r1", dfd, "parent"), 0);
	}
	close(dfd);
	assert_int_equal(lz_map_load(path, 42, &m, err, sizeof(err)), 0);
	assert_int_equal(lz_map_pages(&m), 3);		/* 100, 101, 200 */
	for (uint64_t pg = 100; pg < 202; pg++) {
		const struct lz_ext *e = lz_map_find(&m, pg * P);
		uint8_t tag = pg == 200 ? 3 : 1;

		if (pg >= 102 && pg != 200) {
			assert_null(e);
			continue;
		}
		assert_non_null(e);
		assert_int_equal(pread(e->fd, got, P, (off_t)(e->off + pg * P - e->start)),
				 (ssize_t)P);
		fill(want, 1, tag, pg);
		assert_memory_equal(got, want, P);
	}
	lz_map_free(&m);
	lz_files_close();
	/* a lazy page no parent holds is an error, not a silent zero page */
	dfd = open(path, O_RDONLY | O_DIRECTORY);
	{
		const struct criu_pme e[] = { { 300 * P, 1, CRIU_PE_PARENT | CRIU_PE_LAZY } };

		assert_int_equal(criu_img_write_pagemap_entries(dfd, "pagemap-42.img", 7, e, 1), 0);
	}
	close(dfd);
	assert_int_equal(lz_map_load(path, 42, &m, err, sizeof(err)), -ENODATA);
	assert_non_null(strstr(err, "none of the parent images"));
	lz_map_free(&m);
	lz_files_close();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_ops),
		cmocka_unit_test(test_load_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
