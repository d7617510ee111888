// SPDX-License-Identifier: GPL-2.0
/* The receiver's chain of per-round CRIU image sets: merging a round's runs
 * with what earlier rounds hold, and the files a chain leaves on disk (read
 * back: pagemaps, page data in pagemap order, parent links). */
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

#define P 4096ull
#define PE(a, n, f) { (a) * P, (n), (f) }

static void expect(const struct criu_pme *got, size_t n, const struct criu_pme *want, size_t wn)
{
	assert_int_equal(n, wn);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(got[i].vaddr, want[i].vaddr);
		assert_int_equal(got[i].nr_pages, want[i].nr_pages);
		assert_int_equal(got[i].flags, want[i].flags);
	}
}

static void test_merge_first_round(void **state)
{
	const struct criu_pme sent[] = { PE(16, 4, 0), PE(20, 2, 0), PE(40, 1, 0) };
	const struct criu_pme want[] = { PE(16, 6, CRIU_PE_PRESENT), PE(40, 1, CRIU_PE_PRESENT) };
	const struct criu_pme wantu[] = { PE(16, 6, 0), PE(40, 1, 0) };
	struct criu_pme *o, *u;
	size_t no, nu;

	(void)state;
	assert_int_equal(imgchain_merge(NULL, 0, sent, 3, &o, &no, &u, &nu), 0);
	expect(o, no, want, 2);
	expect(u, nu, wantu, 2);
	free(o);
	free(u);
}

static void test_merge_overlay(void **state)
{
	/* earlier rounds: [10,20) [30,35) [50,60); this round: 8-11, 12, 19-21,
	 * 33, 60-61 (touching the end of a cover run), 70 (new) */
	const struct criu_pme cover[] = { PE(10, 10, 0), PE(30, 5, 0), PE(50, 10, 0) };
	const struct criu_pme sent[] = { PE(8, 3, 0), PE(12, 1, 0), PE(19, 2, 0), PE(33, 1, 0),
					 PE(60, 1, 0), PE(70, 1, 0) };
	const struct criu_pme want[] = {
		PE(8, 3, CRIU_PE_PRESENT), PE(11, 1, CRIU_PE_PARENT), PE(12, 1, CRIU_PE_PRESENT),
		PE(13, 6, CRIU_PE_PARENT), PE(19, 2, CRIU_PE_PRESENT), PE(30, 3, CRIU_PE_PARENT),
		PE(33, 1, CRIU_PE_PRESENT), PE(34, 1, CRIU_PE_PARENT), PE(50, 10, CRIU_PE_PARENT),
		PE(60, 1, CRIU_PE_PRESENT), PE(70, 1, CRIU_PE_PRESENT),
	};
	const struct criu_pme wantu[] = { PE(8, 13, 0), PE(30, 5, 0), PE(50, 11, 0), PE(70, 1, 0) };
	struct criu_pme *o, *u;
	size_t no, nu;

	(void)state;
	assert_int_equal(imgchain_merge(cover, 3, sent, 6, &o, &no, &u, &nu), 0);
	expect(o, no, want, sizeof(want) / sizeof(want[0]));
	expect(u, nu, wantu, sizeof(wantu) / sizeof(wantu[0]));
	free(o);
	free(u);
}

static void test_merge_nothing_sent(void **state)
{
	const struct criu_pme cover[] = { PE(10, 10, 0), PE(30, 5, 0) };
	const struct criu_pme want[] = { PE(10, 10, CRIU_PE_PARENT), PE(30, 5, CRIU_PE_PARENT) };
	struct criu_pme *o, *u;
	size_t no, nu;

	(void)state;
	assert_int_equal(imgchain_merge(cover, 2, NULL, 0, &o, &no, &u, &nu), 0);
	expect(o, no, want, 2);
	assert_int_equal(nu, 2);
	free(o);
	free(u);
	/* a round that resends everything needs no parent at all */
	assert_int_equal(imgchain_merge(cover, 2, cover, 2, &o, &no, &u, &nu), 0);
	assert_int_equal(no, 2);
	assert_int_equal(o[0].flags, CRIU_PE_PRESENT);
	assert_int_equal(o[1].flags, CRIU_PE_PRESENT);
	free(o);
	free(u);
}

static void fill(uint8_t *buf, uint32_t n, uint8_t tag, uint64_t page)
{
	for (uint32_t i = 0; i < n; i++)
		memset(buf + i * P, (int)(tag ^ (page + i)), P);
}

static void check_page_file(const char *path, const uint8_t *want, size_t len)
{
	uint8_t *got = malloc(len + 1);
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(read(fd, got, len + 1), (ssize_t)len);
	close(fd);
	assert_memory_equal(got, want, len);
	free(got);
}

static void test_chain_files(void **state)
{
	char dir[] = "/tmp/ferry-imgchain-XXXXXX", path[256], link[64];
	uint8_t buf[4 * P], want[4 * P];
	struct imgchain_stats st;
	struct imgchain *c;
	struct criu_pme *e;
	uint32_t id;
	size_t n;
	ssize_t l;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(imgchain_open(&c, dir, (char[128]){ 0 }, 128), 0);
	assert_null(imgchain_top(c));
	/* round 0: pid 7 pages 100-103 and 200; pid 9 page 300 */
	fill(buf, 4, 1, 100);
	assert_int_equal(imgchain_put(c, 7, 100 * P, 4, buf), 0);
	fill(buf, 1, 1, 300);
	assert_int_equal(imgchain_put(c, 9, 300 * P, 1, buf), 0);
	fill(buf, 1, 1, 200);
	assert_int_equal(imgchain_put(c, 7, 200 * P, 1, buf), 0);
	/* backwards within a round: refused, nothing written */
	assert_int_equal(imgchain_put(c, 7, 150 * P, 1, buf), -EPROTO);
	assert_non_null(strstr(imgchain_err(c), "ascending"));
	assert_int_equal(imgchain_end_round(c, false), 0);
	assert_string_equal(imgchain_top(c), "r0");
	/* an empty round writes nothing ... */
	assert_int_equal(imgchain_end_round(c, false), 0);
	assert_string_equal(imgchain_top(c), "r0");
	/* round 1: pid 7 resends 101-102 */
	fill(buf, 2, 2, 101);
	assert_int_equal(imgchain_put(c, 7, 101 * P, 2, buf), 0);
	assert_int_equal(imgchain_end_round(c, false), 0);
	assert_string_equal(imgchain_top(c), "r1");
	/* ... unless it is the last one */
	assert_int_equal(imgchain_end_round(c, true), 0);
	assert_string_equal(imgchain_top(c), "r2");
	imgchain_stats(c, &st);
	assert_int_equal(st.rounds, 3);
	assert_int_equal(st.pages, 8);
	assert_int_equal(st.cover_pages, 6);
	imgchain_close(c);

	/* r0: all present, data in address order */
	snprintf(path, sizeof(path), "%s/r0/pagemap-7.img", dir);
	assert_int_equal(criu_img_read_pagemap(path, &id, &e, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(e[0].vaddr, 100 * P);
	assert_int_equal(e[0].nr_pages, 4);
	assert_int_equal(e[0].flags, CRIU_PE_PRESENT);
	assert_int_equal(e[1].vaddr, 200 * P);
	free(e);
	fill(want, 4, 1, 100);
	{
		uint8_t all[5 * P];

		memcpy(all, want, 4 * P);
		fill(all + 4 * P, 1, 1, 200);
		snprintf(path, sizeof(path), "%s/r0/pages-%u.img", dir, id);
		check_page_file(path, all, sizeof(all));
	}
	snprintf(path, sizeof(path), "%s/r0/parent", dir);
	assert_int_equal(access(path, F_OK), -1);
	/* r1: 100 parent, 101-102 present, 103 and 200 parent; pid 9 parent */
	snprintf(path, sizeof(path), "%s/r1/pagemap-7.img", dir);
	assert_int_equal(criu_img_read_pagemap(path, &id, &e, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(e[0].flags, CRIU_PE_PARENT);
	assert_int_equal(e[1].vaddr, 101 * P);
	assert_int_equal(e[1].nr_pages, 2);
	assert_int_equal(e[1].flags, CRIU_PE_PRESENT);
	assert_int_equal(e[2].vaddr, 103 * P);
	assert_int_equal(e[2].nr_pages, 1);
	assert_int_equal(e[2].flags, CRIU_PE_PARENT);
	assert_int_equal(e[3].vaddr, 200 * P);
	assert_int_equal(e[3].flags, CRIU_PE_PARENT);
	free(e);
	fill(want, 2, 2, 101);
	snprintf(path, sizeof(path), "%s/r1/pages-%u.img", dir, id);
	check_page_file(path, want, 2 * P);
	snprintf(path, sizeof(path), "%s/r1/pagemap-9.img", dir);
	assert_int_equal(criu_img_read_pagemap(path, &id, &e, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(e[0].flags, CRIU_PE_PARENT);
	free(e);
	snprintf(path, sizeof(path), "%s/r1/pages-%u.img", dir, id);
	check_page_file(path, want, 0);
	snprintf(path, sizeof(path), "%s/r2/parent", dir);
	l = readlink(path, link, sizeof(link) - 1);
	assert_true(l > 0);
	link[l] = '\0';
	assert_string_equal(link, "../r1");
	snprintf(path, sizeof(path), "%s/r2/inventory.img", dir);
	assert_int_equal(access(path, R_OK), 0);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_first_round),
		cmocka_unit_test(test_merge_overlay),
		cmocka_unit_test(test_merge_nothing_sent),
		cmocka_unit_test(test_chain_files),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
