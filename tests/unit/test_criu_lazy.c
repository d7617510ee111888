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
	assert_int_equal(criu_lazy_split(in, 5, v, 3, sp, 2, CRIU_LAZY_PARENT, &o, &n, &lazy), 0);
	assert_int_equal(lazy, 10 + 3 + 6);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(o[i].vaddr, want[i].vaddr);
		assert_int_equal(o[i].nr_pages, want[i].nr_pages);
		assert_int_equal(o[i].flags, want[i].flags);
	}
	free(o);
	/* no VMAs: nothing becomes lazy */
	assert_int_equal(criu_lazy_split(in, 5, NULL, 0, NULL, 0, CRIU_LAZY_PARENT, &o, &n, &lazy), 0);
	assert_int_equal(lazy, 0);
	free(o);
}

/* post-copy: the dump's own present pages become lazy too, with the same
 * exceptions (a file VMA, the stack pointer's page) */
static void test_split_own(void **state)
{
	const struct criu_lazy_vma v[] = {
		{ 10 * P, 20 * P, true }, { 20 * P, 30 * P, false }, { 40 * P, 60 * P, true },
	};
	const uint64_t sp[] = { 45 * P + 8 };
	const struct criu_pme in[] = {
		PE(10, 4, PRS), PE(14, 2, PAR), PE(20, 3, PRS), PE(45, 2, PRS),
	};
	const struct criu_pme want_own[] = {
		PE(10, 4, PRS | LZ), PE(14, 2, PAR), PE(20, 3, PRS), PE(45, 1, PRS),
		PE(46, 1, PRS | LZ),
	};
	const struct criu_pme want_both[] = {
		PE(10, 4, PRS | LZ), PE(14, 2, PAR | LZ), PE(20, 3, PRS), PE(45, 1, PRS),
		PE(46, 1, PRS | LZ),
	};
	struct criu_pme *o;
	uint64_t lazy;
	size_t n;

	(void)state;
	assert_int_equal(criu_lazy_split(in, 4, v, 3, sp, 1, CRIU_LAZY_OWN, &o, &n, &lazy), 0);
	assert_int_equal(lazy, 5);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(o[i].vaddr, want_own[i].vaddr);
		assert_int_equal(o[i].nr_pages, want_own[i].nr_pages);
		assert_int_equal(o[i].flags, want_own[i].flags);
	}
	free(o);
	assert_int_equal(criu_lazy_split(in, 4, v, 3, sp, 1, CRIU_LAZY_OWN | CRIU_LAZY_PARENT, &o,
					 &n, &lazy), 0);
	assert_int_equal(lazy, 7);
	assert_int_equal(n, 5);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(o[i].vaddr, want_both[i].vaddr);
		assert_int_equal(o[i].nr_pages, want_both[i].nr_pages);
		assert_int_equal(o[i].flags, want_both[i].flags);
	}
	free(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vma_ok),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_split_own),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
