// SPDX-License-Identifier: GPL-2.0
/* Unit tests: extent arrays, /proc/PID/maps and pagemap parsing. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "dirty_track.h"
#include "pagemap_scan.h"

#define P 4096ULL

static void test_add_coalesces(void **state)
{
	struct dirty_extents x;

	(void)state;
	dirty_extents_init(&x);
	assert_int_equal(dirty_extents_add(&x, 0x1000, 1, FERRY_EXTENT_F_ANON), 0);
	assert_int_equal(dirty_extents_add(&x, 0x2000, 2, FERRY_EXTENT_F_ANON), 0);
	assert_int_equal(x.n, 1);
	assert_int_equal(x.v[0].pages, 3);
	/* same address continuity, other flags: new extent */
	assert_int_equal(dirty_extents_add(&x, 0x4000, 1, FERRY_EXTENT_F_FILE), 0);
	assert_int_equal(x.n, 2);
	/* gap: new extent */
	assert_int_equal(dirty_extents_add(&x, 0x8000, 1, FERRY_EXTENT_F_FILE), 0);
	assert_int_equal(x.n, 3);
	/* zero pages: ignored */
	assert_int_equal(dirty_extents_add(&x, 0x9000, 0, FERRY_EXTENT_F_FILE), 0);
	assert_int_equal(x.n, 3);
	/* going backwards or overlapping is refused */
	assert_int_equal(dirty_extents_add(&x, 0x8000, 1, FERRY_EXTENT_F_FILE), -EINVAL);
	assert_int_equal(dirty_extents_add(&x, 0x1000, 1, FERRY_EXTENT_F_ANON), -EINVAL);
	assert_int_equal(dirty_extents_pages(&x), 5);
	dirty_extents_free(&x);
}

static void test_add_grows(void **state)
{
	struct dirty_extents x;

	(void)state;
	dirty_extents_init(&x);
	for (uint64_t i = 0; i < 10000; i++)
		assert_int_equal(dirty_extents_add(&x, i * 2 * P, 1, 0), 0);
	assert_int_equal(x.n, 10000);
	assert_true(x.cap >= 10000);
	assert_true(dirty_extents_contains(&x, 9998 * 2 * P));
	assert_false(dirty_extents_contains(&x, 9998 * 2 * P + P));
	assert_false(dirty_extents_contains(&x, 20000 * 2 * P));
	dirty_extents_reset(&x);
	assert_int_equal(x.n, 0);
	dirty_extents_free(&x);
	assert_null(x.v);
}

static void build(struct dirty_extents *x, const uint64_t (*e)[3], size_t n)
{
	dirty_extents_init(x);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(dirty_extents_add(x, e[i][0] * P, e[i][1], (uint32_t)e[i][2]), 0);
}

static void test_union(void **state)
{
	/* a: [0,4) f1, [10,12) f1;  b: [2,6) f2, [12,13) f1, [20,21) f4 */
	static const uint64_t ea[][3] = { { 0, 4, 1 }, { 10, 2, 1 } };
	static const uint64_t eb[][3] = { { 2, 4, 2 }, { 12, 1, 1 }, { 20, 1, 4 } };
	struct dirty_extents a, b, u;

	(void)state;
	build(&a, ea, 2);
	build(&b, eb, 3);
	dirty_extents_init(&u);
	assert_int_equal(dirty_extents_union(&a, &b, &u), 0);
	/* [0,2) 1, [2,4) 3, [4,6) 2, [10,13) 1, [20,21) 4 */
	assert_int_equal(u.n, 5);
	assert_int_equal(u.v[0].start, 0);
	assert_int_equal(u.v[0].pages, 2);
	assert_int_equal(u.v[0].flags, 1);
	assert_int_equal(u.v[1].start, 2 * P);
	assert_int_equal(u.v[1].pages, 2);
	assert_int_equal(u.v[1].flags, 3);
	assert_int_equal(u.v[2].start, 4 * P);
	assert_int_equal(u.v[2].pages, 2);
	assert_int_equal(u.v[2].flags, 2);
	assert_int_equal(u.v[3].start, 10 * P);
	assert_int_equal(u.v[3].pages, 3);
	assert_int_equal(u.v[4].start, 20 * P);
	assert_int_equal(u.v[4].flags, 4);
	assert_int_equal(dirty_extents_pages(&u), 2 + 2 + 2 + 3 + 1);

	/* union with an empty set is a copy; symmetric */
	dirty_extents_reset(&b);
	assert_int_equal(dirty_extents_union(&b, &a, &u), 0);
	assert_int_equal(u.n, 2);
	assert_int_equal(dirty_extents_pages(&u), 6);
	dirty_extents_free(&a);
	dirty_extents_free(&b);
	dirty_extents_free(&u);
}

static void test_union_contained(void **state)
{
	/* b strictly inside a, same flags: one extent */
	static const uint64_t ea[][3] = { { 0, 100, 1 } };
	static const uint64_t eb[][3] = { { 10, 5, 1 }, { 50, 1, 1 } };
	struct dirty_extents a, b, u;

	(void)state;
	build(&a, ea, 1);
	build(&b, eb, 2);
	dirty_extents_init(&u);
	assert_int_equal(dirty_extents_union(&a, &b, &u), 0);
	assert_int_equal(u.n, 1);
	assert_int_equal(u.v[0].pages, 100);
	dirty_extents_free(&a);
	dirty_extents_free(&b);
	dirty_extents_free(&u);
}

static void test_pagemap_parse(void **state)
{
	uint64_t ent[8] = {
		PM_ENTRY_PRESENT | PM_ENTRY_SOFT_DIRTY | 0x1234,	/* 0 dirty */
		PM_ENTRY_PRESENT | PM_ENTRY_SOFT_DIRTY,			/* 1 dirty */
		PM_ENTRY_PRESENT,					/* 2 clean */
		PM_ENTRY_SWAP | PM_ENTRY_SOFT_DIRTY,			/* 3 swapped */
		PM_ENTRY_SOFT_DIRTY,					/* 4 hole, VMA sd */
		PM_ENTRY_SOFT_DIRTY,					/* 5 hole */
		0,							/* 6 none */
		PM_ENTRY_PRESENT | PM_ENTRY_FILE | PM_ENTRY_SOFT_DIRTY,	/* 7 dirty */
	};
	struct dirty_extents x;

	(void)state;
	dirty_extents_init(&x);
	assert_int_equal(dirty_pagemap_parse(ent, 8, 0x10000, FERRY_EXTENT_F_ANON, &x), 0);
	assert_int_equal(x.n, 4);
	assert_int_equal(x.v[0].start, 0x10000);
	assert_int_equal(x.v[0].pages, 2);
	assert_int_equal(x.v[0].flags, FERRY_EXTENT_F_ANON);
	assert_int_equal(x.v[1].start, 0x10000 + 3 * P);
	assert_int_equal(x.v[1].flags, FERRY_EXTENT_F_ANON | FERRY_EXTENT_F_SWAPPED);
	assert_int_equal(x.v[2].start, 0x10000 + 4 * P);
	assert_int_equal(x.v[2].pages, 2);
	assert_int_equal(x.v[2].flags, FERRY_EXTENT_F_ANON | FERRY_EXTENT_F_NOT_PRESENT);
	assert_int_equal(x.v[3].start, 0x10000 + 7 * P);
	assert_int_equal(dirty_extents_pages(&x), 6);
	/* a following chunk continues the last extent */
	assert_int_equal(dirty_pagemap_parse(ent, 1, 0x10000 + 8 * P, FERRY_EXTENT_F_ANON, &x), 0);
	assert_int_equal(x.n, 4);
	assert_int_equal(x.v[3].pages, 2);
	dirty_extents_free(&x);
}

static void test_maps_line(void **state)
{
	struct dirty_vma v;

	(void)state;
	assert_true(dirty_parse_maps_line(
		"7f0e1c000000-7f0e1c021000 rw-p 00000000 00:00 0 \n", &v));
	assert_int_equal(v.start, 0x7f0e1c000000ULL);
	assert_int_equal(v.end, 0x7f0e1c021000ULL);
	assert_true(v.read && v.write && !v.shared);
	assert_string_equal(v.name, "");
	assert_int_equal(dirty_vma_flags(&v), FERRY_EXTENT_F_ANON);

	assert_true(dirty_parse_maps_line(
		"55d0c0a00000-55d0c0a21000 rw-s 00001000 fd:01 1234567   /usr/lib/x y.so\n", &v));
	assert_string_equal(v.name, "/usr/lib/x y.so");
	assert_int_equal(v.inode, 1234567);
	assert_true(v.shared);
	assert_int_equal(dirty_vma_flags(&v), FERRY_EXTENT_F_FILE | FERRY_EXTENT_F_SHARED);

	assert_true(dirty_parse_maps_line(
		"7ffd5a1b2000-7ffd5a1d3000 rw-p 00000000 00:00 0                          [stack]", &v));
	assert_string_equal(v.name, "[stack]");

	assert_false(dirty_parse_maps_line("garbage\n", &v));
	assert_false(dirty_parse_maps_line("2000-1000 rw-p 0 00:00 0\n", &v));
}

static void test_pmscan_flags(void **state)
{
	(void)state;
	assert_int_equal(dirty_pmscan_flags(PAGE_IS_PRESENT | PAGE_IS_SOFT_DIRTY),
			 FERRY_EXTENT_F_ANON);
	assert_int_equal(dirty_pmscan_flags(PAGE_IS_PRESENT | PAGE_IS_FILE | PAGE_IS_HUGE),
			 FERRY_EXTENT_F_FILE | FERRY_EXTENT_F_THP);
	assert_int_equal(dirty_pmscan_flags(PAGE_IS_SWAPPED),
			 FERRY_EXTENT_F_ANON | FERRY_EXTENT_F_SWAPPED);
	assert_int_equal(dirty_pmscan_flags(0),
			 FERRY_EXTENT_F_ANON | FERRY_EXTENT_F_NOT_PRESENT);
}

static void test_flags_str(void **state)
{
	char buf[128];

	(void)state;
	assert_string_equal(dirty_flags_str(0, buf, sizeof(buf)), "-");
	assert_string_equal(dirty_flags_str(FERRY_EXTENT_F_ANON | FERRY_EXTENT_F_THP |
					    FERRY_EXTENT_F_CLEARED, buf, sizeof(buf)),
			    "anon,thp,cleared");
	assert_string_equal(dirty_flags_str(1U << 20, buf, sizeof(buf)), "bit20");
	assert_string_equal(dirty_flags_str(FERRY_EXTENT_F_VMA_SOFTDIRTY, buf, 8), "-");
	assert_string_equal(dirty_flag_name(5), "not-present");
	assert_string_equal(dirty_flag_name(8), "untracked");
	assert_null(dirty_flag_name(9));
}

static void test_backend_names(void **state)
{
	enum dirty_backend b;

	(void)state;
	assert_true(dirty_backend_parse("pagemap-scan", &b));
	assert_int_equal(b, DIRTY_BACKEND_PAGEMAP_SCAN);
	assert_string_equal(dirty_backend_name(DIRTY_BACKEND_MODULE), "module");
	assert_false(dirty_backend_parse("kernel", &b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_coalesces),
		cmocka_unit_test(test_add_grows),
		cmocka_unit_test(test_union),
		cmocka_unit_test(test_union_contained),
		cmocka_unit_test(test_pagemap_parse),
		cmocka_unit_test(test_maps_line),
		cmocka_unit_test(test_pmscan_flags),
		cmocka_unit_test(test_flags_str),
		cmocka_unit_test(test_backend_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
