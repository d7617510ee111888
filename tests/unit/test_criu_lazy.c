// SPDX-License-Identifier: GPL-2.0
/* Which in-parent pages of a final dump are left to criu lazy-pages: only
 * those in VMAs CRIU registers with userfaultfd, never a thread's current
 * stack page, and never entries CRIU wrote itself. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <cmocka.h>
#include "criu_lazy.h"

#define P 4096ull
#define PE(a, n, f) { (a) * P, (n), (f) }
#define PAR CRIU_PE_PARENT
#define LZ CRIU_PE_LAZY
#define PRS CRIU_PE_PRESENT

static void test_vma_ok(void **state)
{
	(void)state;
	assert_true(criu_lazy_vma_ok(MAP_PRIVATE | MAP_ANONYMOUS, 1));
	assert_true(criu_lazy_vma_ok(MAP_PRIVATE | MAP_ANONYMOUS | MAP_GROWSDOWN, 1));
	assert_false(criu_lazy_vma_ok(MAP_PRIVATE, 1));			/* file */
	assert_false(criu_lazy_vma_ok(MAP_SHARED | MAP_ANONYMOUS, 1));
	assert_false(criu_lazy_vma_ok(MAP_PRIVATE | MAP_ANONYMOUS | MAP_LOCKED, 1));
	assert_false(criu_lazy_vma_ok(MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, 1));
	assert_false(criu_lazy_vma_ok(MAP_PRIVATE | MAP_ANONYMOUS, 1 | (1u << 3)));	/* vdso */
	assert_false(criu_lazy_vma_ok(MAP_PRIVATE | MAP_ANONYMOUS, 1 | (1u << 12)));	/* vvar */
}

static void test_split(void **state)
{
	/* VMAs: [10,20) anon, [20,30) file, [40,60) anon (a stack at 45) */
	const struct criu_lazy_vma v[] = {
		{ 10 * P, 20 * P, true }, { 20 * P, 30 * P, false }, { 40 * P, 60 * P, true },
	};
	const uint64_t sp[] = { 45 * P + 123, 5 * P };	/* one outside the entries */
	const struct criu_pme in[] = {
		PE(8, 17, PAR),		/* 8-9 outside, 10-19 lazy, 20-24 file */
		PE(30, 1, PAR),		/* between VMAs */
		PE(40, 2, PRS | LZ),	/* CRIU's own: untouched */
		PE(42, 10, PAR),	/* 42-44 lazy, 45 stack, 46-51 lazy */
		PE(52, 2, PAR | LZ),	/* already lazy */
	};
	const struct criu_pme want[] = {
		PE(8, 2, PAR), PE(10, 10, PAR | LZ), PE(20, 5, PAR), PE(30, 1, PAR),
		PE(40, 2, PRS | LZ), PE(42, 3, PAR | LZ), PE(45, 1, PAR), PE(46, 8, PAR | LZ),
	};
	struct criu_pme *o;
	uint64_t lazy;
	size_t n;

	(void)state;
	assert_int_equal(criu_lazy_split(in, 5, v, 3, sp, 2, &o, &n, &lazy), 0);
	assert_int_equal(lazy, 10 + 3 + 6);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(o[i].vaddr, want[i].vaddr);
		assert_int_equal(o[i].nr_pages, want[i].nr_pages);
		assert_int_equal(o[i].flags, want[i].flags);
	}
	free(o);
	/* no VMAs: nothing becomes lazy */
	assert_int_equal(criu_lazy_split(in, 5, NULL, 0, NULL, 0, &o, &n, &lazy), 0);
	assert_int_equal(lazy, 0);
	free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vma_ok),
		cmocka_unit_test(test_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
