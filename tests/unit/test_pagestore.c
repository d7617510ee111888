// SPDX-License-Identifier: GPL-2.0
/* Page store: the latest version of every page wins, pages of different
 * pids never mix, listings are sorted, the file grows only for new pages. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>
#include "pagestore.h"

#define PG PS_PAGE_SIZE

static void fill(uint8_t *p, uint32_t pid, uint64_t va, uint32_t version)
{
	for (uint32_t i = 0; i < PG; i += 4) {
		uint32_t v = pid ^ (uint32_t)(va >> 12) * 2654435761u ^ version * 40503u ^ i;

		memcpy(p + i, &v, 4);
	}
}

static void check(struct pagestore *ps, uint32_t pid, uint64_t va, uint32_t version)
{
	uint8_t want[PG], got[PG];

	fill(want, pid, va, version);
	assert_int_equal(pagestore_get(ps, pid, va, got), 0);
	assert_memory_equal(want, got, PG);
}

static void test_basic(void **state)
{
	char path[] = "/tmp/ferry-ps-XXXXXX";
	struct pagestore *ps;
	struct ps_stats st;
	uint8_t *buf = malloc(8 * PG), page[PG];
	struct stat sb;
	int fd = mkstemp(path);

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(pagestore_open(&ps, path), 0);
	/* 8 pages of pid 10 at 0x10000, version 1 */
	for (int i = 0; i < 8; i++)
		fill(buf + i * PG, 10, 0x10000 + i * PG, 1);
	assert_int_equal(pagestore_put(ps, 10, 0x10000, 8, buf), 0);
	/* same addresses for pid 11 */
	for (int i = 0; i < 8; i++)
		fill(buf + i * PG, 11, 0x10000 + i * PG, 1);
	assert_int_equal(pagestore_put(ps, 11, 0x10000, 8, buf), 0);
	/* pages 2..4 of pid 10 rewritten (version 2) */
	for (int i = 0; i < 3; i++)
		fill(buf + i * PG, 10, 0x12000 + i * PG, 2);
	assert_int_equal(pagestore_put(ps, 10, 0x12000, 3, buf), 0);
	/* a run overlapping old and new pages: 0x17000 (old) and 0x18000 (new) */
	fill(buf, 10, 0x17000, 3);
	fill(buf + PG, 10, 0x18000, 3);
	assert_int_equal(pagestore_put(ps, 10, 0x17000, 2, buf), 0);

	for (int i = 0; i < 9; i++) {
		uint64_t va = 0x10000 + i * PG;
		uint32_t v = (i >= 2 && i <= 4) ? 2 : (i >= 7) ? 3 : 1;

		check(ps, 10, va, v);
		if (i < 8)
			check(ps, 11, va, 1);
	}
	assert_int_equal(pagestore_get(ps, 11, 0x18000, page), -ENOENT);
	assert_int_equal(pagestore_get(ps, 12, 0x10000, page), -ENOENT);
	assert_int_equal(pagestore_put(ps, 1, 0x1001, 1, buf), -EINVAL);

	pagestore_stats(ps, &st);
	assert_int_equal(st.pages, 17);
	assert_int_equal(st.writes, 21);
	assert_int_equal(st.overwrites, 4);
	assert_int_equal(st.file_bytes, 17 * PG);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_size, 17 * PG);

	uint32_t *pids;
	size_t n;
	assert_int_equal(pagestore_pids(ps, &pids, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(pids[0], 10);
	assert_int_equal(pids[1], 11);
	free(pids);

	struct ps_ref *refs;
	assert_int_equal(pagestore_list(ps, 10, &refs, &n), 0);
	assert_int_equal(n, 9);
	for (size_t i = 0; i < n; i++) {
		uint8_t want[PG];

		assert_int_equal(refs[i].vaddr, 0x10000 + i * PG);
		assert_int_equal(pagestore_read_slot(ps, refs[i].slot, page, 1), 0);
		fill(want, 10, refs[i].vaddr, (i >= 2 && i <= 4) ? 2 : (i >= 7) ? 3 : 1);
		assert_memory_equal(want, page, PG);
	}
	free(refs);
	/* copying slots out: slots 2..4 of the file (pid 10, 0x12000..) */
	char cpath[] = "/tmp/ferry-ps-copy-XXXXXX";
	int cfd = mkstemp(cpath);
	assert_true(cfd >= 0);
	assert_int_equal(pagestore_copy_slots(ps, 2, 3, cfd), 0);
	assert_int_equal(pagestore_copy_slots(ps, 0, 1, cfd), 0);
	uint8_t want[PG];
	for (int k = 0; k < 4; k++) {
		uint64_t va = k < 3 ? 0x12000 + (uint64_t)k * PG : 0x10000;

		assert_int_equal(pread(cfd, page, PG, (off_t)k * PG), (ssize_t)PG);
		fill(want, 10, va, k < 3 ? 2 : 1);
		assert_memory_equal(want, page, PG);
	}
	close(cfd);
	unlink(cpath);
	assert_int_equal(pagestore_list(ps, 99, &refs, &n), 0);
	assert_int_equal(n, 0);
	free(refs);
	pagestore_close(ps, true);
	assert_int_equal(access(path, F_OK), -1);
	free(buf);
}

/* Many pages in random order force index growth; every page stays right. */
static void test_many(void **state)
{
	char path[] = "/tmp/ferry-ps-XXXXXX";
	struct pagestore *ps;
	uint8_t page[PG];
	const int N = 20000;
	int fd = mkstemp(path);
	uint32_t x = 1;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(pagestore_open(&ps, path), 0);
	for (int round = 1; round <= 3; round++) {
		for (int i = 0; i < N; i++) {
			x = x * 1103515245u + 12345u;
			/* round 1: every page; later rounds: a random third */
			int k = round == 1 ? i : (int)((x >> 8) % N);
			uint64_t va = 0x7f0000000000ull + (uint64_t)k * 3 * PG;

			fill(page, 7, va, (uint32_t)round);
			assert_int_equal(pagestore_put(ps, 7, va, 1, page), 0);
			if (round > 1 && i > N / 3)
				break;
		}
	}
	struct ps_ref *refs;
	size_t n;
	assert_int_equal(pagestore_list(ps, 7, &refs, &n), 0);
	assert_int_equal(n, (size_t)N);
	for (size_t i = 1; i < n; i++)
		assert_true(refs[i - 1].vaddr < refs[i].vaddr);
	free(refs);
	/* replay the random sequence to know each page's final version */
	uint32_t *ver = calloc(N, sizeof(*ver));
	x = 1;
	for (int round = 1; round <= 3; round++)
		for (int i = 0; i < N; i++) {
			x = x * 1103515245u + 12345u;
			ver[round == 1 ? i : (int)((x >> 8) % N)] = (uint32_t)round;
			if (round > 1 && i > N / 3)
				break;
		}
	for (int k = 0; k < N; k++)
		check(ps, 7, 0x7f0000000000ull + (uint64_t)k * 3 * PG, ver[k]);
	free(ver);
	pagestore_close(ps, true);
}

static void test_open_fail(void **state)
{
	struct pagestore *ps;

	(void)state;
	assert_int_equal(pagestore_open(&ps, "/nonexistent/dir/x"), -ENOENT);
}

/* Index-only store: remembers which pages exist, holds no data. */
static void test_index_only(void **state)
{
	struct pagestore *ps;
	struct ps_stats st;
	uint8_t page[2 * PG] = { 1 };
	struct ps_ref *refs;
	size_t n;

	(void)state;
	assert_int_equal(pagestore_open(&ps, NULL), 0);
	assert_int_equal(pagestore_put(ps, 5, 0x2000, 2, page), 0);
	assert_int_equal(pagestore_put(ps, 5, 0x3000, 1, page), 0);
	assert_int_equal(pagestore_get(ps, 5, 0x2000, NULL), 0);
	assert_int_equal(pagestore_get(ps, 5, 0x4000, NULL), -ENOENT);
	assert_int_equal(pagestore_get(ps, 5, 0x2000, page), -ENODATA);
	pagestore_stats(ps, &st);
	assert_int_equal(st.pages, 2);
	assert_int_equal(st.overwrites, 1);
	assert_int_equal(st.file_bytes, 0);
	assert_int_equal(pagestore_list(ps, 5, &refs, &n), 0);
	assert_int_equal(n, 2);
	free(refs);
	pagestore_close(ps, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_open_fail),
		cmocka_unit_test(test_index_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
